package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunFlags(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"--help"}, 0, "Usage: bk-camsim", ""},
		{[]string{"--list"}, 0, "kitchen-1080   GOP 2 s", ""},
		{[]string{"--gop", "3"}, 2, "", "GOP 3 s"},
		{[]string{"--gop", "x"}, 2, "", "invalid value"},
		{[]string{"--camera", "cam1"}, 2, "", "want path=scene"},
		{[]string{"--camera", "cam1=garage", "--listen", "127.0.0.1:0"}, 2, "", `unknown scene: "garage"`},
		{[]string{"--bogus"}, 2, "", "not defined: -bogus"},
		{[]string{"extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"--log-level", "loud"}, 2, "", "--log-level"},
		{[]string{"--listen", "256.1.1.1:0"}, 1, "", "listen"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want %d, %q, %q",
				tc.args, code, stdout.String(), stderr.String(), tc.code, tc.out, tc.err)
		}
		if tc.code == 2 && strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("run(%q): stderr %q, want one line", tc.args, stderr.String())
		}
	}
}
