package web

import (
	"os"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/auth/authtest"
)

// TestMain makes the password hashes of these tests cheap: at OWASP's cost
// under -race, each sign-in would take over a second of a core.
func TestMain(m *testing.M) {
	authtest.CheapHashes()
	os.Exit(m.Run())
}
