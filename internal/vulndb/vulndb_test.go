package vulndb

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const osvA = `{"id":"GO-2099-0001","modified":"2099-01-02T00:00:00Z","aliases":["CVE-2099-1"],
 "affected":[{"package":{"name":"stdlib"}},{"package":{"name":"example.com/m"}},{"package":{"name":"stdlib"}}]}`
const osvB = `{"id":"GO-2099-0002","modified":"2099-03-04T00:00:00Z",
 "affected":[{"package":{"name":"example.com/m"}}]}`

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuild(t *testing.T) {
	src, out := t.TempDir(), filepath.Join(t.TempDir(), "db")
	write(t, src, "GO-2099-0001.json", osvA)
	write(t, src, "GO-2099-0002.json", osvB)
	st, err := Build(src, out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 2 || st.Modules != 2 {
		t.Fatalf("stats %+v", st)
	}
	var mods []module
	read(t, filepath.Join(out, "index", "modules.json"), &mods)
	if len(mods) != 2 || mods[0].Path != "example.com/m" || len(mods[0].Vulns) != 2 ||
		mods[1].Path != "stdlib" || len(mods[1].Vulns) != 1 || mods[1].Vulns[0].ID != "GO-2099-0001" {
		t.Fatalf("modules %+v", mods)
	}
	var db struct{ Modified string }
	read(t, filepath.Join(out, "index", "db.json"), &db)
	if db.Modified != "2099-03-04T00:00:00Z" {
		t.Fatalf("db modified %q", db.Modified)
	}
	var vulns []vuln
	read(t, filepath.Join(out, "index", "vulns.json"), &vulns)
	if len(vulns) != 2 || vulns[0].Aliases[0] != "CVE-2099-1" {
		t.Fatalf("vulns %+v", vulns)
	}
	b, err := os.ReadFile(filepath.Join(out, "ID", "GO-2099-0002.json"))
	if err != nil || string(b) != osvB {
		t.Fatalf("entry copied as %q, %v", b, err)
	}
	// Building again replaces the database.
	if _, err := Build(src, out); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	// A directory that is not a database is left alone.
	other := t.TempDir()
	write(t, other, "precious.txt", "keep me")
	if _, err := Build(src, other); err == nil {
		t.Fatal("built over a directory that is not a database")
	}
	if b, err := os.ReadFile(filepath.Join(other, "precious.txt")); err != nil || string(b) != "keep me" {
		t.Fatalf("the other directory's file: %q, %v", b, err)
	}
}

func TestBuildRefuses(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"empty":          {},
		"not json":       {"GO-1.json": "{"},
		"id not file":    {"GO-1.json": `{"id":"GO-2"}`},
		"id with a path": {"x.json": `{"id":"../x"}`},
	} {
		src := t.TempDir()
		for n, b := range files {
			write(t, src, n, b)
		}
		if _, err := Build(src, filepath.Join(t.TempDir(), "db")); err == nil {
			t.Errorf("%s: built", name)
		}
	}
	src := t.TempDir()
	write(t, src, "GO-1.json", `{"id":"GO-1","details":"`+strings.Repeat("x", maxEntry)+`"}`)
	if _, err := Build(src, filepath.Join(t.TempDir(), "db")); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized entry: %v", err)
	}
}

func read(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
