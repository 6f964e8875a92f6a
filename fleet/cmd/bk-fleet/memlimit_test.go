package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		mib      string
		explicit bool
		env      string // GOMEMLIMIT; "" unset
		limit    int64
		ok       bool
	}{
		{"256", false, "", 256 << 20, true},
		{"64", true, "", 64 << 20, true},
		{"0", true, "", math.MaxInt64, true},
		{"256", false, "1GiB", 0, false}, // the default gives way to GOMEMLIMIT
		{"128", true, "1GiB", 128 << 20, true},
	} {
		if c.env != "" {
			t.Setenv("GOMEMLIMIT", c.env)
		}
		limit, ok, err := memoryLimit(c.mib, c.explicit)
		if err != nil || limit != c.limit || ok != c.ok {
			t.Errorf("memoryLimit(%q, %v) GOMEMLIMIT=%q: %d %v %v; want %d %v", c.mib, c.explicit, c.env, limit, ok, err, c.limit, c.ok)
		}
	}
	for _, bad := range []string{"-1", "lots", "1.5", "9223372036854775807"} {
		if _, _, err := memoryLimit(bad, true); err == nil {
			t.Errorf("memoryLimit(%q): no error", bad)
		}
	}
}

func TestServeMemoryLimitFlag(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"serve", "--data", t.TempDir(), "--memory-limit", "-5"}, &bytes.Buffer{}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--memory-limit") {
		t.Fatalf("exit %d, stderr %q; want 2 and --memory-limit", code, stderr.String())
	}
}
