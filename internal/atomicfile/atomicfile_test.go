package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gateway.yaml")
	if err := Write(p, []byte("a: 1\n"), 0o600, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "a: 1\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}

	// A refused check leaves the file as it was and no temporary behind.
	refused := errors.New("gateway.id: missing")
	var seen string
	err := Write(p, []byte("a: 2\n"), 0o600, func(tmp string) error {
		seen = tmp
		if b, _ := os.ReadFile(tmp); string(b) != "a: 2\n" {
			t.Errorf("check read %q", b)
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("err %v, want the check's", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "a: 1\n" {
		t.Fatalf("after a refused check: %q", b)
	}
	if _, err := os.Stat(seen); !os.IsNotExist(err) {
		t.Fatalf("temporary %s left behind: %v", seen, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d files in the directory, want 1", len(ents))
	}

	// A directory that is not there is an error, not a panic.
	if err := Write(filepath.Join(dir, "no", "such"), nil, 0o600, nil); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

// TestWriteKeepsOwner: root rewriting a file the service owns leaves it
// the service's.
func TestWriteKeepsOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), 0o600, nil); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Sys().(*syscall.Stat_t); s.Uid != 65534 || s.Gid != 65534 {
		t.Fatalf("owner %d:%d, want 65534:65534", s.Uid, s.Gid)
	}
}
