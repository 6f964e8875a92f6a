package retention

// The rates' test city (registrytest.City), for the
// tests of what retention does to its health and rollup.

import (
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/registry/registrytest"
)

// cst and the test city are registrytest's (shared with fleet/rates).
var cst = registrytest.CST

func newRollupCity(t *testing.T, s *testStore) *registrytest.City {
	return registrytest.NewCity(t, s.Registry)
}

func keptMonths(t *testing.T, s *testStore) int {
	t.Helper()
	var n int
	if err := s.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM coverage_months`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
