package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/retention"
)

// TestRetentionFlags: the defaults are retention.Default, hourly;
// flags and BK_RETAIN_* set them, 0 keeps forever or never runs, and a
// bad value names its flag.
func TestRetentionFlags(t *testing.T) {
	parse := func(args ...string) (retention.Policy, time.Duration, bool, string) {
		fs := newFlags("serve", io.Discard)
		rf := addRetentionFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var errs strings.Builder
		r, every, ok := rf.parse(&errs)
		return r, every, ok, errs.String()
	}
	r, every, ok, _ := parse()
	if !ok || r != retention.Default() || every != time.Hour {
		t.Fatalf("defaults: %+v every %v, %v", r, every, ok)
	}
	t.Setenv("BK_RETAIN_AUDIT", "0")
	r, every, ok, _ = parse("--retain-snapshots", "90d", "--retain-every", "0")
	if !ok || r.Snapshots != 90*retention.Day || r.Audit != 0 || r.Events != 1095*retention.Day || every >= 0 {
		t.Fatalf("set: %+v every %v, %v", r, every, ok)
	}
	if _, _, ok, msg := parse("--retain-health", "-3d"); ok || !strings.Contains(msg, "--retain-health") {
		t.Fatalf("bad value: ok %v, %q", ok, msg)
	}
	if _, _, ok, msg := parse("--retain-every", "1s"); ok || !strings.Contains(msg, "--retain-every") {
		t.Fatalf("bad interval: ok %v, %q", ok, msg)
	}
}
