package logging

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A log file rotates at its size, keeps one older part, and Tail reads the
// newest bytes across both at a whole line.
func TestFileRotatesAndTails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	l, err := OpenFile(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		fmt.Fprintf(l, "line %04d %s\n", i, strings.Repeat("x", 20))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cur, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.Stat(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	if cur.Size() > 4096 || old.Size() > 4096 {
		t.Fatalf("sizes %d and %d over 4096", cur.Size(), old.Size())
	}
	if _, err := os.Stat(path + ".2"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a second older part: %v", err)
	}

	tail, err := Tail(path, 6000)
	if err != nil {
		t.Fatal(err)
	}
	if len(tail) > 6000 || len(tail) < 5000 {
		t.Fatalf("tail of %d bytes", len(tail))
	}
	if !bytes.HasPrefix(tail, []byte("line ")) || !bytes.HasSuffix(tail, []byte("line 0299 "+strings.Repeat("x", 20)+"\n")) {
		t.Fatalf("tail does not run from a whole line to the newest: %q … %q", tail[:30], tail[len(tail)-30:])
	}
	lines := strings.Split(strings.TrimSuffix(string(tail), "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		var a, b int
		fmt.Sscanf(lines[i-1], "line %d", &a)
		fmt.Sscanf(lines[i], "line %d", &b)
		if b != a+1 {
			t.Fatalf("lines out of order at %d: %q then %q", i, lines[i-1], lines[i])
		}
	}
	small, err := Tail(path, 100)
	if err != nil || len(small) > 100 || !bytes.HasSuffix(small, []byte("\n")) {
		t.Fatalf("tail 100: %q %v", small, err)
	}

	// Reopened, it appends.
	l, err = OpenFile(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(l, "after reopen")
	l.Close()
	if tail, _ := Tail(path, 50); !bytes.HasSuffix(tail, []byte("after reopen\n")) {
		t.Fatalf("after reopen: %q", tail)
	}
	if _, err := Tail(filepath.Join(t.TempDir(), "none.log"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := OpenFile(path, 10); err == nil {
		t.Fatal("a 10-byte log file opened")
	}
}

// A write that cannot reach the disk does not fail the logger.
func TestFileWriteNeverFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.log")
	l, err := OpenFile(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil { // the path is now a directory
		t.Fatal(err)
	}
	if n, err := l.Write([]byte("lost\n")); n != 5 || err != nil {
		t.Fatalf("write %d %v", n, err)
	}
	if l.Lost() != 5 {
		t.Fatalf("lost %d", l.Lost())
	}
}
