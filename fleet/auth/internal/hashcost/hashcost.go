// Package hashcost is the argon2id cost of new password hashes. fleet/auth
// reads it; only fleet/auth/authtest lowers it, for test binaries, where
// -race makes one hash at OWASP's cost take over a second of a core and
// every sign-in a test makes pays it again. Go's rule for internal
// packages keeps the rest of the module out.
package hashcost

import "sync/atomic"

// Cost is argon2id's memory (KiB) and passes; the lanes stay one.
type Cost struct {
	Memory, Time uint32
}

// OWASP is the cost of every hash a binary makes: OWASP's minimum for
// argon2id, 19 MiB and 2 passes.
var OWASP = Cost{Memory: 19456, Time: 2}

var cur atomic.Pointer[Cost]

// Get is the cost of the next hash: OWASP unless a test lowered it.
func Get() Cost {
	if c := cur.Load(); c != nil {
		return *c
	}
	return OWASP
}

// Set changes the cost of the hashes made from now on.
func Set(c Cost) { cur.Store(&c) }
