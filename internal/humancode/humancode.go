// Package humancode makes and reads the codes people read out and type:
// parents' access codes and gateways' enrolment codes. They are random
// symbols of Crockford's base32 (no I, L, O or U), shown in dashed
// groups, and read back in any case, with or without the dashes and
// spaces, O as 0 and I or L as 1.
package humancode

import (
	"crypto/rand"
	"strings"
)

// Alphabet is Crockford's base32: 32 symbols, so a random byte's low five
// bits pick one uniformly.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// New returns n random symbols (5 bits each) with a dash after every
// group symbols, as shown: New(10, 5) is "XXXXX-XXXXX".
func New(n, group int) (string, error) {
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, r := range raw {
		if i > 0 && i%group == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(Alphabet[r&31])
	}
	return b.String(), nil
}

// Normalize reads a code of n symbols as a person may have typed it and
// returns its symbols alone; it returns "" and false if it cannot be
// such a code.
func Normalize(code string, n int) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch r {
		case '-', ' ', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(Alphabet, r) || b.Len() == n {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != n {
		return "", false
	}
	return b.String(), true
}
