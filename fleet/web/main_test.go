package web

import (
	"os"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/auth/authtest"
	"github.com/brightkitchen/brightkitchen/internal/headless"
)

// TestMain makes the password hashes of these tests cheap: at OWASP's cost
// under -race, each sign-in would take over a second of a core. It ends
// the tests' shared Chromium.
func TestMain(m *testing.M) {
	authtest.CheapHashes()
	code := m.Run()
	headless.Close()
	os.Exit(code)
}
