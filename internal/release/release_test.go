package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testKey is a fixed key, so fuzz seeds stay valid between runs.
func testKey() (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func otherKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
}

var created = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// entry is one tar entry of a hand-made bundle.
type entry struct {
	name     string
	body     string
	typ      byte
	size     int64 // -1: len(body)
	linkname string
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// manifestFor lists files (path → content) in a manifest.
func manifestFor(files map[string]string) *Manifest {
	m := &Manifest{Format: Format, Product: "bk-gateway", Version: "1.2.0", Arch: "amd64", Created: created}
	for _, p := range sortedKeys(files) {
		m.Files = append(m.Files, File{Path: p, SHA256: sum(files[p]), Size: int64(len(files[p])), Mode: "0755"})
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// rawBundle writes entries as a tar, gzip'd when asked.
func rawBundle(t testing.TB, gz bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	var tw *tar.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.body))
		if typ != tar.TypeReg {
			size = 0
		}
		if e.size > 0 {
			size = e.size
		}
		hdr := &tar.Header{Typeflag: typ, Name: e.name, Size: size, Mode: 0o755, Linkname: e.linkname, ModTime: created}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil && e.size == 0 {
				t.Fatal(err)
			}
		}
	}
	tw.Flush() // Close would refuse a short entry
	if e := entries; len(e) > 0 && e[len(e)-1].size > int64(len(e[len(e)-1].body)) {
		if zw != nil {
			zw.Close()
		}
		return buf.Bytes()
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

// signedHead is manifest.json and manifest.sig for m, signed by priv.
func signedHead(t testing.TB, m *Manifest, priv ed25519.PrivateKey) []entry {
	t.Helper()
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return []entry{{name: ManifestName, body: string(mb)}, {name: SignatureName, body: string(Sign(priv, mb))}}
}

func buildDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "bk-gateway"), []byte("#!/bin/sh\necho gateway\n"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "plugins"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "plugins", "bk-plugin-motion"), []byte("motion"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "lib", "libx.so.1"), bytes.Repeat([]byte("L"), 100000), 0o644))
	return dir
}

func TestBuildExtract(t *testing.T) {
	pub, priv := testKey()
	for _, gz := range []bool{false, true} {
		src := buildDir(t)
		var buf bytes.Buffer
		m, err := Build(&buf, Manifest{Product: "bk-gateway", Version: "v2.0.0", Arch: "arm64", MinVersion: "1.0.0"}, src, priv, gz)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Files) != 3 || m.Files[0].Path != "bk-gateway" || m.Files[1].Path != "lib/libx.so.1" {
			t.Fatalf("files %+v", m.Files)
		}
		if _, err := Verify(bytes.NewReader(buf.Bytes()), Options{Keys: []ed25519.PublicKey{pub}}); err != nil {
			t.Fatalf("verify (gzip %v): %v", gz, err)
		}
		dst := filepath.Join(t.TempDir(), "slot")
		var checked *Manifest
		got, err := Extract(bytes.NewReader(buf.Bytes()), dst, Options{Keys: []ed25519.PublicKey{otherKey().Public().(ed25519.PublicKey), pub},
			Check: func(m *Manifest) error { checked = m; return nil }})
		if err != nil {
			t.Fatalf("extract (gzip %v): %v", gz, err)
		}
		if checked == nil || got.Version != "v2.0.0" {
			t.Fatalf("check %v, manifest %+v", checked, got)
		}
		info, err := os.Stat(filepath.Join(dst, "plugins", "bk-plugin-motion"))
		if err != nil || info.Mode().Perm() != 0o755 {
			t.Fatalf("plugin: %v %v", info, err)
		}
		if info, err := os.Stat(filepath.Join(dst, "lib", "libx.so.1")); err != nil || info.Mode().Perm() != 0o644 || info.Size() != 100000 {
			t.Fatalf("lib: %v %v", info, err)
		}
		mb, err := os.ReadFile(filepath.Join(dst, ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		if again, err := DecodeManifest(mb); err != nil || again.Version != "v2.0.0" {
			t.Fatalf("kept manifest: %v %v", again, err)
		}
		if _, err := Extract(bytes.NewReader(buf.Bytes()), dst, Options{Keys: []ed25519.PublicKey{pub}}); err == nil {
			t.Fatal("extract over an existing directory succeeded")
		}
	}
}

func TestBuildRefusesLinks(t *testing.T) {
	_, priv := testKey()
	src := buildDir(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "passwd")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Build(&buf, Manifest{Product: "bk-gateway", Version: "1.0.0", Arch: "amd64"}, src, priv, false); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
}

// TestRefused: every bad bundle is refused with a clear error, before or
// while extracting, and leaves nothing behind.
func TestRefused(t *testing.T) {
	pub, priv := testKey()
	good := map[string]string{"bk-gateway": "binary", "plugins/p": "plugin"}
	head := signedHead(t, manifestFor(good), priv)
	files := []entry{{name: "bk-gateway", body: "binary"}, {name: "plugins/p", body: "plugin"}}
	cat := func(parts ...[]entry) []entry {
		var out []entry
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tampered := manifestFor(good)
	tampered.Version = "9.9.9"
	tb, _ := tampered.Encode()
	signedTraversal := manifestFor(map[string]string{"bk-gateway": "binary"})
	signedTraversal.Files = append(signedTraversal.Files, File{Path: "../evil", SHA256: sum("x"), Size: 1, Mode: "0644"})
	stb, _ := jsonIndent(signedTraversal)
	huge := manifestFor(map[string]string{"bk-gateway": "binary"})
	huge.Files[0].Size = 300 << 20
	bomb := strings.Repeat("\x00", 3<<20)
	bombHead := signedHead(t, manifestFor(map[string]string{"bk-gateway": bomb}), priv)

	cases := []struct {
		name    string
		bundle  []byte
		limits  Limits
		want    error
		message string
	}{
		{"unsigned", rawBundle(t, false, cat(head[:1], files)...), Limits{}, ErrUnsigned, "where manifest.sig must be"},
		{"no entries", rawBundle(t, false), Limits{}, ErrBadBundle, "no manifest.json"},
		{"not a tar", []byte("hello, this is not a tar archive at all"), Limits{}, ErrBadBundle, ""},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, Limits{}, ErrBadBundle, "gzip"},
		{"wrong key", rawBundle(t, true, cat(signedHead(t, manifestFor(good), otherKey()), files)...), Limits{}, ErrUnsigned, "none of the 1 trusted keys"},
		{"tampered manifest", rawBundle(t, false, cat([]entry{{name: ManifestName, body: string(tb)}, head[1]}, files)...), Limits{}, ErrUnsigned, ""},
		{"garbage signature", rawBundle(t, false, cat([]entry{head[0], {name: SignatureName, body: "AAAA"}}, files)...), Limits{}, ErrUnsigned, "base64 of 64"},
		{"corrupted file", rawBundle(t, true, cat(head, []entry{{name: "bk-gateway", body: "binarY"}, files[1]})...), Limits{}, ErrBadBundle, "has sha256"},
		{"truncated file", rawBundle(t, false, cat(head, []entry{files[1], {name: "bk-gateway", body: "bin", size: 6}})...), Limits{}, ErrBadBundle, ""},
		{"traversal entry", rawBundle(t, false, cat(head, files, []entry{{name: "../evil", body: "x"}})...), Limits{}, ErrBadBundle, "not in the manifest"},
		{"absolute entry", rawBundle(t, false, cat(head, []entry{{name: "/bk-gateway", body: "binary"}}, files)...), Limits{}, ErrBadBundle, "not in the manifest"},
		{"signed traversal", rawBundle(t, false, cat([]entry{{name: ManifestName, body: string(stb)}, {name: SignatureName, body: string(Sign(priv, stb))}}, files)...), Limits{}, ErrBadManifest, "not a plain name"},
		{"symlink", rawBundle(t, false, cat(head, []entry{{name: "bk-gateway", typ: tar.TypeSymlink, linkname: "/etc/passwd"}}, files)...), Limits{}, ErrBadBundle, "only regular files"},
		{"hardlink", rawBundle(t, false, cat(head, []entry{{name: "bk-gateway", typ: tar.TypeLink, linkname: "../../etc/passwd"}}, files)...), Limits{}, ErrBadBundle, "only regular files"},
		{"device", rawBundle(t, false, cat(head, []entry{{name: "bk-gateway", typ: tar.TypeChar}}, files)...), Limits{}, ErrBadBundle, "only regular files"},
		{"directory", rawBundle(t, false, cat(head, []entry{{name: "plugins/", typ: tar.TypeDir}}, files)...), Limits{}, ErrBadBundle, "only regular files"},
		{"fifo", rawBundle(t, false, cat(head, []entry{{name: "bk-gateway", typ: tar.TypeFifo}}, files)...), Limits{}, ErrBadBundle, "only regular files"},
		{"duplicate", rawBundle(t, false, cat(head, files, files[:1])...), Limits{}, ErrBadBundle, "twice"},
		{"missing", rawBundle(t, false, cat(head, files[:1])...), Limits{}, ErrBadBundle, "not in the bundle"},
		{"size differs from manifest", rawBundle(t, false, cat(head, []entry{{name: "bk-gateway", body: "binary!"}}, files[1:])...), Limits{}, ErrBadBundle, "the manifest says 6"},
		{"manifest not first", rawBundle(t, false, cat(files, head)...), Limits{}, ErrBadBundle, "where manifest.json must be"},
		{"oversized manifest", rawBundle(t, false, entry{name: ManifestName, body: strings.Repeat(" ", MaxManifest+1)}), Limits{}, ErrTooLarge, "manifest.json"},
		{"oversized file", rawBundle(t, false, cat(signedHead(t, huge, priv), files[:1])...), Limits{}, ErrTooLarge, "over 268435456"},
		{"over a small limit", rawBundle(t, false, cat(head, files)...), Limits{MaxFile: 5}, ErrTooLarge, "bk-gateway of 6 bytes"},
		{"over the total", rawBundle(t, false, cat(head, files)...), Limits{MaxTotal: 10}, ErrTooLarge, "together"},
		{"gzip bomb", rawBundle(t, true, cat(bombHead, []entry{{name: "bk-gateway", body: bomb}})...), Limits{MaxFile: 1 << 20}, ErrTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := Options{Keys: []ed25519.PublicKey{pub}, Limits: c.limits}
			if _, err := Verify(bytes.NewReader(c.bundle), opt); !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("verify: got %v, want %v containing %q", err, c.want, c.message)
			}
			parent := t.TempDir()
			dst := filepath.Join(parent, "slot")
			_, err := Extract(bytes.NewReader(c.bundle), dst, opt)
			if !errors.Is(err, c.want) {
				t.Fatalf("extract: got %v, want %v", err, c.want)
			}
			ents, _ := os.ReadDir(parent)
			if len(ents) != 0 {
				t.Fatalf("left behind: %v", ents)
			}
			if _, err := os.Lstat(filepath.Join(parent, "..", "evil")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatal("wrote outside the destination")
			}
		})
	}
}

func TestCheckRefusesBeforeWriting(t *testing.T) {
	pub, priv := testKey()
	good := map[string]string{"bk-gateway": "binary"}
	b := rawBundle(t, false, append(signedHead(t, manifestFor(good), priv), entry{name: "bk-gateway", body: "binary"})...)
	parent := t.TempDir()
	wrote := false
	_, err := Extract(bytes.NewReader(b), filepath.Join(parent, "slot"), Options{Keys: []ed25519.PublicKey{pub},
		Check: func(m *Manifest) error {
			ents, _ := os.ReadDir(parent)
			for _, e := range ents {
				sub, _ := os.ReadDir(filepath.Join(parent, e.Name()))
				wrote = wrote || len(sub) > 0
			}
			return errors.New("arch arm64 wanted")
		}})
	if err == nil || err.Error() != "arch arm64 wanted" || wrote {
		t.Fatalf("got %v, wrote %v", err, wrote)
	}
}

func TestRemoveStaging(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".b.staging-123", "lib"), 0o755)
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	if err := RemoveStaging(dir); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "a" {
		t.Fatalf("left %v", ents)
	}
}

func TestKeys(t *testing.T) {
	pub, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParsePrivateKey(pb); err != nil || !got.Equal(priv) {
		t.Fatalf("private key round trip: %v", err)
	}
	pp, _ := MarshalPublicKey(pub)
	for _, form := range [][]byte{pp, []byte(FormatPublicKey(pub) + "\n")} {
		if got, err := ParsePublicKey(form); err != nil || !got.Equal(pub) {
			t.Fatalf("public key %q: %v", form, err)
		}
	}
	for _, bad := range []string{"", "AAAA", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := ParsePublicKey([]byte(bad)); err == nil {
			t.Fatalf("public key %q accepted", bad)
		}
	}
	if _, err := ParsePrivateKey(pp); err == nil {
		t.Fatal("a public key read as a private key")
	}
	sig := Sign(priv, []byte("m"))
	if _, err := VerifySignature(nil, []byte("m"), sig); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("no keys: %v", err)
	}
	if _, err := VerifySignature([]ed25519.PublicKey{pub}, []byte("n"), sig); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("other message: %v", err)
	}
}
