package release

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func jsonIndent(m *Manifest) ([]byte, error) { return json.MarshalIndent(m, "", "  ") }

func TestDecodeManifest(t *testing.T) {
	good := manifestFor(map[string]string{"bk-gateway": "b", "lib/x.so": "l"})
	gb, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if m, err := DecodeManifest(gb); err != nil || len(m.Files) != 2 {
		t.Fatalf("good: %v", err)
	}
	edit := func(f func(m *Manifest)) string {
		m := manifestFor(map[string]string{"bk-gateway": "b", "lib/x.so": "l"})
		f(m)
		b, _ := jsonIndent(m)
		return string(b)
	}
	cases := []struct{ name, in, msg string }{
		{"empty", "", "EOF"},
		{"not json", "{", "unexpected EOF"},
		{"unknown field", strings.Replace(string(gb), `"format"`, `"evil": 1, "format"`, 1), "unknown field"},
		{"trailing", string(gb) + "{}", "data after"},
		{"format", edit(func(m *Manifest) { m.Format = 2 }), "format 2"},
		{"product", edit(func(m *Manifest) { m.Product = "BK Gateway" }), "product"},
		{"version", edit(func(m *Manifest) { m.Version = "latest" }), "version"},
		{"min_version", edit(func(m *Manifest) { m.MinVersion = "1.0" }), "min_version"},
		{"arch", edit(func(m *Manifest) { m.Arch = "" }), "arch"},
		{"created", edit(func(m *Manifest) { m.Created = time.Time{} }), "created"},
		{"no files", edit(func(m *Manifest) { m.Files = nil }), "files: 0"},
		{"dot dot", edit(func(m *Manifest) { m.Files[0].Path = "../bk-gateway" }), "not a plain name"},
		{"absolute", edit(func(m *Manifest) { m.Files[0].Path = "/bin/sh" }), "not a plain name"},
		{"dot", edit(func(m *Manifest) { m.Files[0].Path = "./bk-gateway" }), "not a plain name"},
		{"hidden", edit(func(m *Manifest) { m.Files[0].Path = ".bashrc" }), "not a plain name"},
		{"double slash", edit(func(m *Manifest) { m.Files[0].Path = "lib//x" }), "not a plain name"},
		{"backslash", edit(func(m *Manifest) { m.Files[0].Path = `..\x` }), "not a plain name"},
		{"deep", edit(func(m *Manifest) { m.Files[0].Path = "a/b/c/d/e" }), "levels"},
		{"reserved", edit(func(m *Manifest) { m.Files[0].Path = ManifestName }), "reserved"},
		{"twice", edit(func(m *Manifest) { m.Files[1].Path = m.Files[0].Path }), "twice"},
		{"file and dir", edit(func(m *Manifest) { m.Files[0].Path = "lib" }), "both a file and the directory"},
		{"sum", edit(func(m *Manifest) { m.Files[0].SHA256 = strings.ToUpper(m.Files[0].SHA256) }), "sha256"},
		{"size", edit(func(m *Manifest) { m.Files[0].Size = -1 }), "negative"},
		{"setuid", edit(func(m *Manifest) { m.Files[0].Mode = "4755" }), "mode"},
		{"mode", edit(func(m *Manifest) { m.Files[0].Mode = "755" }), "mode"},
		{"too large", strings.Repeat(" ", MaxManifest+1), "over"},
	}
	for _, c := range cases {
		_, err := DecodeManifest([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.msg)
		}
		if err != nil && !errors.Is(err, ErrBadManifest) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v is neither ErrBadManifest nor ErrTooLarge", c.name, err)
		}
	}
}

func TestVersion(t *testing.T) {
	order := []string{"0.9.9", "1.0.0-rc1", "1.0.0-rc2", "v1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0"}
	for i := range order {
		for j := range order {
			a, err := ParseVersion(order[i])
			if err != nil {
				t.Fatal(err)
			}
			b, _ := ParseVersion(order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%s vs %s: %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, bad := range []string{"", "dev", "1", "1.2", "01.2.3", "1.2.3.4", "1.2.3-", "1.2.3+meta", "dev-abcdef012345", "99999999999.0.0"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
