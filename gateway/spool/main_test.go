package spool

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// Child of the kill -9 test: it runs until killed, no leak check.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}
