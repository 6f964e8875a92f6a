package testbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDir(t *testing.T) {
	root := t.TempDir()
	t.Setenv("BK_TESTBIN", root)
	d := Dir(t, "cross-arm64")
	if want := filepath.Join(root, "builds", "cross-arm64"); d != want {
		t.Fatalf("Dir = %s, want %s", d, want)
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Fatalf("not made: %v", err)
	}
	// Kept: a second call returns it with what was built there.
	if err := os.WriteFile(filepath.Join(d, "bin"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(Dir(t, "cross-arm64"), "bin")); err != nil {
		t.Fatalf("second call: %v", err)
	}

	t.Setenv("BK_TESTBIN", "")
	if d := Dir(t, "cross-arm64"); d == "" || strings.HasPrefix(d, root) {
		t.Fatalf("without BK_TESTBIN: %s, want a temporary directory", d)
	}
}

func TestDirBadName(t *testing.T) {
	t.Setenv("BK_TESTBIN", t.TempDir())
	for _, name := range []string{"", "../x", "a/b", "X", ".hidden"} {
		ft := &fatalT{TB: t}
		func() {
			defer func() { _ = recover() }()
			Dir(ft, name)
		}()
		if !ft.failed {
			t.Errorf("Dir(%q) accepted", name)
		}
	}
}

// fatalT records Fatalf and stops the caller, as testing's would.
type fatalT struct {
	testing.TB
	failed bool
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
