package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// TestSwitches: a switch is on when named, off with =false, set by its
// BK_* variable unless the flag is given; a value after it, or a variable
// that is not a boolean, is refused.
func TestSwitches(t *testing.T) {
	parse := func(args ...string) (*bool, error) {
		fs := newFlags("test", io.Discard)
		v := fs.boolean("secure-cookies", "test")
		return v, fs.Parse(args)
	}
	for _, c := range []struct {
		env  string // BK_SECURE_COOKIES, "" unset
		args []string
		want bool
	}{
		{"", nil, false},
		{"", []string{"--secure-cookies"}, true},
		{"", []string{"--secure-cookies=false"}, false},
		{"true", nil, true},
		{"1", []string{"--secure-cookies=false"}, false},
		{"false", []string{"--secure-cookies"}, true},
	} {
		if c.env != "" {
			t.Setenv("BK_SECURE_COOKIES", c.env)
		}
		v, err := parse(c.args...)
		if err != nil || *v != c.want {
			t.Errorf("env %q, args %v: %v, %v; want %v", c.env, c.args, *v, err, c.want)
		}
	}
	t.Setenv("BK_SECURE_COOKIES", "yes please")
	if _, err := parse(); err == nil {
		t.Error("BK_SECURE_COOKIES=\"yes please\" accepted")
	}
	os.Unsetenv("BK_SECURE_COOKIES") // t.Setenv puts it back at the end
	if _, err := parse("--secure-cookies=maybe"); err == nil || !strings.Contains(err.Error(), "want true or false") {
		t.Errorf("--secure-cookies=maybe: %v", err)
	}
}

// TestServeSwitchValue: "--webrtc-loopback true", the old form, is refused
// with a hint instead of serving with "true" taken as an argument.
func TestServeSwitchValue(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"serve", "--data", t.TempDir(), "--webrtc-loopback", "true"}, &bytes.Buffer{}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `unexpected argument "true"`) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
