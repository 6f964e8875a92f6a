package main

import (
	"testing"

	"github.com/brightkitchen/brightkitchen/plugins/sdk/sdktest"
)

// TestConformance builds the plugin and runs the conformance kit on it, as
// an outside author would.
func TestConformance(t *testing.T) {
	sdktest.Run(t, sdktest.Build(t, "."), sdktest.Config{})
}
