package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/retention"
)

// TestRetentionFlags: the defaults are retention.Default, hourly;
// flags and BK_RETAIN_* set them (--retain-complaint-photos and
// BK_RETAIN_COMPLAINT_PHOTOS among them), 0 keeps forever or never runs, and a
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
	// The complaint photos' flag in its three spellings, then its
	// variable (the flag wins over it); a bad value names the flag.
	for _, tc := range []struct {
		env  string
		args []string
		want time.Duration
	}{
		{"", []string{"--retain-complaint-photos", "30d"}, 30 * retention.Day},
		{"", []string{"--retain-complaint-photos", "720h"}, 720 * time.Hour},
		{"", []string{"--retain-complaint-photos=0"}, 0},
		{"90d", nil, 90 * retention.Day},
		{"90d", []string{"--retain-complaint-photos", "10d"}, 10 * retention.Day},
	} {
		if tc.env != "" {
			t.Setenv("BK_RETAIN_COMPLAINT_PHOTOS", tc.env)
		}
		r, _, ok, msg := parse(tc.args...)
		if !ok || r.ComplaintPhotos != tc.want || r.Photos != retention.Default().Photos {
			t.Errorf("env %q, %v: complaint photos %v, photos %v, ok %v %q; want %v", tc.env, tc.args, r.ComplaintPhotos, r.Photos, ok, msg, tc.want)
		}
	}
	if _, _, ok, msg := parse("--retain-complaint-photos", "1y"); ok || !strings.Contains(msg, "--retain-complaint-photos") {
		t.Fatalf("bad complaint photos: ok %v, %q", ok, msg)
	}
	if _, _, ok, msg := parse("--retain-health", "-3d"); ok || !strings.Contains(msg, "--retain-health") {
		t.Fatalf("bad value: ok %v, %q", ok, msg)
	}
	if _, _, ok, msg := parse("--retain-every", "1s"); ok || !strings.Contains(msg, "--retain-every") {
		t.Fatalf("bad interval: ok %v, %q", ok, msg)
	}
}
