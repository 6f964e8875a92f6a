package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestListenAddr(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"18080", "127.0.0.1:18080", ""},
		{"0", "127.0.0.1:0", ""},
		{":8080", ":8080", ""},
		{"0.0.0.0:8080", "0.0.0.0:8080", ""},
		{"localhost:1883", "localhost:1883", ""},
		{"[::1]:8080", "[::1]:8080", ""},
		{"", "", "not an address"},
		{"localhost", "", "not an address"},
		{"70000", "", "not an address"},
		{"host:http", "", `port "http" is not a number`},
		{"host:99999", "", "is not a number from 0 to 65535"},
		{"-1", "", "not an address"},
	} {
		got, err := listenAddr("http", c.in, "127.0.0.1")
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("listenAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "--http")) {
			t.Errorf("listenAddr(%q) = %q, %v; want an error naming --http with %q", c.in, got, err, c.err)
		}
	}
}

// TestListenFlags: a bad listen flag stops bk-fleet serve before anything
// starts, with an error that names it.
func TestListenFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--http", "localhost"},
		{"--mqtt-listen", "1883x"},
		{"--metrics-listen", "nope"},
	} {
		var stderr bytes.Buffer
		code := run(append([]string{"serve", "--data", t.TempDir()}, args...), &stderr, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), args[0]+" ") {
			t.Errorf("serve %v = %d %q; want 2 naming %s", args, code, stderr.String(), args[0])
		}
	}
}
