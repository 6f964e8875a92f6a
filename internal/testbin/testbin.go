// Package testbin gives a test that builds programs (cross builds, the
// release builds the packaging tests pack) a directory to build them
// into. Under make test ($BK_TESTBIN, set by scripts/test.sh) it is kept
// between runs, so the go command links a program again only when what
// goes into it changed: it compares the build ID inside the file with
// the one it would make, as it does for the test binaries there.
// Otherwise it is the test's temporary directory.
package testbin

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// validName is what Dir accepts as a name: a single path element.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// Dir returns the directory named name (lower case, digits, dots and
// dashes) for t's builds: $BK_TESTBIN/builds/name, made if missing, or
// t.TempDir() without $BK_TESTBIN. Tests that may run at the same time
// must use different names.
func Dir(t testing.TB, name string) string {
	t.Helper()
	if !validName.MatchString(name) {
		t.Fatalf("testbin: bad name %q", name)
	}
	root := os.Getenv("BK_TESTBIN")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, "builds", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testbin: %v", err)
	}
	return dir
}
