package release

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzDecodeManifest(f *testing.F) {
	good, _ := manifestFor(map[string]string{"bk-gateway": "b", "lib/x.so": "l"}).Encode()
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":1,"files":[{"path":"../x"}]}`))
	f.Add([]byte(strings.Replace(string(good), "bk-gateway", "a/../b", 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		for _, file := range m.Files {
			if err := CheckPath(file.Path); err != nil {
				t.Fatalf("accepted %q: %v", file.Path, err)
			}
		}
		again, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded manifest does not encode: %v", err)
		}
		if _, err := DecodeManifest(again); err != nil {
			t.Fatalf("re-encoded manifest does not decode: %v", err)
		}
	})
}

// FuzzExtract feeds arbitrary bytes to Extract with the test key trusted:
// whatever they are, nothing may appear outside the destination, and the
// destination appears only whole, holding the manifest's files.
func FuzzExtract(f *testing.F) {
	pub, priv := testKey()
	files := map[string]string{"bk-gateway": "binary", "plugins/p": "plugin"}
	head := signedHead(f, manifestFor(files), priv)
	body := []entry{{name: "bk-gateway", body: "binary"}, {name: "plugins/p", body: "plugin"}}
	f.Add(rawBundle(f, false, append(head, body...)...))
	f.Add(rawBundle(f, true, append(head, body...)...))
	f.Add(rawBundle(f, false, append(head, entry{name: "../evil", body: "x"})...))
	f.Add(rawBundle(f, false, append(head, entry{name: "bk-gateway", typ: '2', linkname: "/etc"})...))
	f.Add(rawBundle(f, false, head...))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		dst := filepath.Join(parent, "slot")
		m, err := Extract(bytes.NewReader(b), dst, Options{Keys: []ed25519.PublicKey{pub}, Limits: Limits{MaxFile: 1 << 20, MaxTotal: 2 << 20}})
		ents, _ := os.ReadDir(parent)
		if err != nil {
			if len(ents) != 0 {
				t.Fatalf("failed (%v) but left %v", err, ents)
			}
			return
		}
		if len(ents) != 1 || ents[0].Name() != "slot" {
			t.Fatalf("extracted, leaving %v", ents)
		}
		want := map[string]bool{ManifestName: true, SignatureName: true}
		for _, f := range m.Files {
			want[f.Path] = true
		}
		filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(dst, p)
			if !want[filepath.ToSlash(rel)] {
				t.Errorf("unlisted file %s", rel)
			}
			if !d.Type().IsRegular() {
				t.Errorf("%s is not a regular file", rel)
			}
			return nil
		})
	})
}
