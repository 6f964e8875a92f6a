package humancode

import (
	"strings"
	"testing"
)

func TestNewAndNormalize(t *testing.T) {
	for range 50 {
		code, err := New(16, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != 19 || strings.Count(code, "-") != 3 || code[4] != '-' {
			t.Fatalf("New(16, 4) = %q: want XXXX-XXXX-XXXX-XXXX", code)
		}
		norm, ok := Normalize(strings.ToLower(code), 16)
		if !ok || norm != strings.ReplaceAll(code, "-", "") {
			t.Fatalf("Normalize(%q) = %q, %v", code, norm, ok)
		}
	}
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"ab0il-o1 23\t4", "AB01101234", true}, // O is 0, I and L are 1, separators dropped
		{"AB012-3456", "", false},              // one short
		{"AB012-345678", "", false},            // one long
		{"AB012-3456U", "", false},             // U is not a symbol
		{"AB012-3456é", "", false},             // nor anything beyond ASCII
	} {
		if got, ok := Normalize(c.in, 10); got != c.want || ok != c.ok {
			t.Errorf("Normalize(%q, 10) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
