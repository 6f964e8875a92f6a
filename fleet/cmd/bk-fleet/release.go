package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/brightkitchen/brightkitchen/internal/release"
)

// The release subcommands make and check signed OTA bundles
// (internal/release): keygen writes a key pair, sign packs a directory
// into a signed bundle, verify checks one against public keys, upload
// sends one to a running fleet (release_upload.go).

const releaseUsage = `bk-fleet release keygen --out PREFIX      write PREFIX.key (private, mode 0600) and PREFIX.pub;
                                          prints the public key line for a gateway's ota.trusted_keys
bk-fleet release sign --key FILE --dir DIR --version V --arch A [--product bk-gateway]
                      [--min-version V] [--gzip] --out BUNDLE
                                          pack every regular file under DIR into a signed bundle
bk-fleet release verify --pub FILE[,FILE] BUNDLE
                                          check a bundle's signature, manifest and checksums
bk-fleet release upload [--fleet URL] [--token T] BUNDLE
                                          send a bundle to a running fleet (an admin's token,
                                          default $BK_ADMIN_TOKEN); it checks and keeps it
`

func releaseCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "bk-fleet release: want keygen, sign, verify or upload\n\n"+releaseUsage)
		return 2
	}
	switch args[0] {
	case "keygen":
		return releaseKeygen(args[1:], stdout, stderr)
	case "sign":
		return releaseSign(args[1:], stdout, stderr)
	case "verify":
		return releaseVerify(args[1:], stdout, stderr)
	case "upload":
		return releaseUpload(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "bk-fleet release: unknown command %q (want keygen, sign, verify or upload)\n", args[0])
	return 2
}

func releaseKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("release keygen", stderr)
	out := fs.String("out", "", "path prefix: writes PREFIX.key and PREFIX.pub")
	if err := fs.Parse(args); err != nil || !noArgs(fs, "release keygen", stderr) {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "bk-fleet release keygen: --out is required")
		return 2
	}
	pub, priv, err := release.GenerateKey(nil)
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet release keygen: %v\n", err)
		return 1
	}
	pk, err := release.MarshalPrivateKey(priv)
	if err == nil {
		err = writeNew(*out+".key", pk, 0o600)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet release keygen: %v\n", err)
		return 1
	}
	pp, _ := release.MarshalPublicKey(pub)
	if err := writeNew(*out+".pub", pp, 0o644); err != nil {
		os.Remove(*out + ".key")
		fmt.Fprintf(stderr, "bk-fleet release keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "private key: %s (keep it off the fleet and the gateways)\npublic key:  %s\nfor a gateway's config:\n  ota:\n    trusted_keys: [%q]\n",
		*out+".key", *out+".pub", release.FormatPublicKey(pub))
	return 0
}

// writeNew writes a file that must not exist yet, with perm, and syncs it.
func writeNew(path string, b []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func releaseSign(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("release sign", stderr)
	keyPath := fs.String("key", "", "the private key file (from release keygen)")
	dir := fs.String("dir", "", "the directory to pack: bk-gateway at its top, plugins/, lib/ ...")
	ver := fs.String("version", "", "the release's version, like 1.4.2 (must match the binary's -ldflags stamp)")
	arch := fs.String("arch", "", "the Go architecture of the binaries: amd64, arm64 or arm")
	product := fs.String("product", "bk-gateway", "what the bundle installs")
	minVer := fs.String("min-version", "", "the oldest version that may install it (default: any)")
	compress := fs.Bool("gzip", false, "gzip the bundle")
	out := fs.String("out", "", "the bundle file to write")
	if err := fs.Parse(args); err != nil || !noArgs(fs, "release sign", stderr) {
		return 2
	}
	for _, req := range []struct{ name, v string }{{"key", *keyPath}, {"dir", *dir}, {"version", *ver}, {"arch", *arch}, {"out", *out}} {
		if req.v == "" {
			fmt.Fprintf(stderr, "bk-fleet release sign: --%s is required\n", req.name)
			return 2
		}
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "bk-fleet release sign: %v\n", err)
		return 1
	}
	info, err := os.Stat(*keyPath)
	if err != nil {
		return fail(err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fail(fmt.Errorf("%s: mode %04o lets others read the private key; chmod 600 it", *keyPath, info.Mode().Perm()))
	}
	kb, err := os.ReadFile(*keyPath)
	if err != nil {
		return fail(err)
	}
	priv, err := release.ParsePrivateKey(kb)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", *keyPath, err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".tmp-")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	m, err := release.Build(bw, release.Manifest{Product: *product, Version: *ver, Arch: *arch, MinVersion: *minVer}, *dir, priv, *compress)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), *out)
	}
	if err != nil {
		return fail(err)
	}
	info, err = os.Stat(*out)
	if err != nil {
		return fail(err)
	}
	sum, _, err := fileSHA256(*out)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "%s: %s %s for %s, %d files, %d bytes\nsha256 %s\n", *out, m.Product, m.Version, m.Arch, len(m.Files), info.Size(), sum)
	return 0
}

func releaseVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("release verify", stderr)
	pubs := fs.String("pub", "", "public key files (PEM or base64), comma-separated")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *pubs == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "bk-fleet release verify: want --pub FILE and one bundle")
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "bk-fleet release verify: %v\n", err)
		return 1
	}
	var keys []ed25519.PublicKey
	for _, p := range strings.Split(*pubs, ",") {
		b, err := os.ReadFile(p)
		if err != nil {
			return fail(err)
		}
		k, err := release.ParsePublicKey(b)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", p, err))
		}
		keys = append(keys, k)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	m, err := release.Verify(f, release.Options{Keys: keys})
	if err != nil {
		return fail(fmt.Errorf("%s: %w", fs.Arg(0), err))
	}
	fmt.Fprintf(stdout, "%s: ok: %s %s for %s (min_version %q), %d files, %d bytes, created %s\n", fs.Arg(0), m.Product, m.Version, m.Arch,
		m.MinVersion, len(m.Files), m.Total(), m.Created.Format("2006-01-02T15:04:05Z07:00"))
	for _, file := range m.Files {
		fmt.Fprintf(stdout, "  %s %s %10d %s\n", file.Mode, file.SHA256, file.Size, file.Path)
	}
	return 0
}

// fileSHA256 is a file's sha256 in hex and its size.
func fileSHA256(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}
