// Package releasetest makes release bundles for tests, good and bad: a
// signed bundle of files given as text, and raw tars of any entries
// (unsigned, traversing, tampered), so the fleet's upload and the
// gateway's installer are tested against the same hostile shapes.
package releasetest

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/release"
)

// Key makes a key pair from a fixed seed byte, so tests are repeatable.
func Key(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

// Manifest is a valid manifest of product, version and arch listing
// files (path → content).
func Manifest(product, version, arch string, files map[string]string) release.Manifest {
	m := release.Manifest{Format: release.Format, Product: product, Version: version, Arch: arch,
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, p := range sortedKeys(files) {
		sum := sha256.Sum256([]byte(files[p]))
		m.Files = append(m.Files, release.File{Path: p, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(files[p])), Mode: "0755"})
	}
	return m
}

// Entry is one tar entry: a name and its content.
type Entry struct{ Name, Body string }

// Head is the manifest and signature entries of m signed by priv.
func Head(t testing.TB, m release.Manifest, priv ed25519.PrivateKey) []Entry {
	t.Helper()
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return []Entry{{release.ManifestName, string(mb)}, {release.SignatureName, string(release.Sign(priv, mb))}}
}

// Bundle is a signed bundle of files (path → content), as Build makes
// one.
func Bundle(t testing.TB, priv ed25519.PrivateKey, product, version, arch string, files map[string]string) []byte {
	t.Helper()
	m := Manifest(product, version, arch, files)
	entries := Head(t, m, priv)
	for _, p := range sortedKeys(files) {
		entries = append(entries, Entry{p, files[p]})
	}
	return Tar(t, entries...)
}

// Tar is a tar of the entries as given, regular files, in order.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.Name, Size: int64(len(e.Body)), Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
