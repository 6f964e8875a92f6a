// Package authtest is for tests of code that signs users in: CheapHashes
// makes the password hashes of the test binary cost almost nothing, where
// OWASP's cost under -race is over a second per sign-in. Stored hashes
// name their cost, so verification follows whatever made them. Only tests
// may import this package (internal/layers).
package authtest

import "github.com/brightkitchen/brightkitchen/fleet/auth/internal/hashcost"

// CheapHashes lowers the cost of every password hash the test binary makes
// from now on to 64 KiB and one pass. Call it from TestMain.
func CheapHashes() { hashcost.Set(hashcost.Cost{Memory: 64, Time: 1}) }
