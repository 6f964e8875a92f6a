package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnrolRefusesEarly: bk-gateway enrol says what is wrong, with its
// exit code, before any code reaches a fleet: missing flags, plain HTTP to
// another machine, a config that is already enrolled or that the check
// refuses. (The exchange itself: e2e/enrol_test.go, with the real fleet.)
func TestEnrolRefusesEarly(t *testing.T) {
	dir := t.TempDir()
	enrolled := filepath.Join(dir, "enrolled.yaml")
	if err := os.WriteFile(enrolled, []byte("gateway:\n  id: gw-1\nbroker:\n  password: secret\nspool:\n  path: "+
		filepath.Join(dir, "s.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("uplink:\n  heartbeat: 0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on 127.0.0.1:1: a run that got that far would say so.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--code", "X"}, 2, "--fleet and --code are required"},
		{[]string{"--fleet", "http://127.0.0.1:1", "--code", "X", "extra"}, 2, "unexpected argument"},
		{[]string{"--fleet", "http://192.0.2.1", "--code", "X", "--config", filepath.Join(dir, "new.yaml")}, 1, "--insecure"},
		{[]string{"--fleet", "http://127.0.0.1:1", "--code", "X", "--config", enrolled}, 1, "already enrolled as gateway gw-1"},
		{[]string{"--fleet", "http://127.0.0.1:1", "--code", "X", "--config", broken}, 1, "uplink.heartbeat"},
		{[]string{"--fleet", "http://127.0.0.1:1", "--code", "X", "--config", filepath.Join(dir, "new.yaml")}, 1, "reach the fleet"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"enrol"}, c.args...), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("enrol %v: exit %d, %q; want %d with %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new.yaml")); err == nil {
		t.Error("a failed enrolment wrote a config")
	}
}
