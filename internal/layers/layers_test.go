package layers

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestLayers checks this repository: no import crosses a layer.
func TestLayers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pkgs, err := Load(ctx, "../..")
	if err != nil {
		t.Fatal(err)
	}
	// The rules must have something to hold: each side is there.
	for _, want := range []string{"gateway/core", "fleet/api", "fleet/wire", "plugins/sdk", "hw/camsim", "e2e"} {
		if !slices.ContainsFunc(pkgs, func(p Package) bool { return p.Path == want }) {
			t.Errorf("package %s not listed", want)
		}
	}
	for _, v := range Check(Rules, pkgs) {
		t.Error(v)
	}
}

// TestLayersCatch runs the same check on a scratch module
// (testdata/scratch) that breaks every rule once, one of them in a test
// file, beside imports the rules allow.
func TestLayersCatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pkgs, err := Load(ctx, "testdata/scratch")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range Check(Rules, pkgs) {
		got = append(got, v.From+" -> "+v.To)
	}
	want := []string{
		"gateway/core -> fleet/api",      // the gateway beyond fleet/wire
		"fleet/api -> gateway/ok",        // the fleet into the gateway
		"plugins/sdk -> gateway/ok",      // the SDK beyond itself (plugins/sdk/pb is allowed)
		"hw/board -> fleet/wire",         // board support into a side, from its test
		"e2e -> gateway/cmd/tool",        // a command (e2e may import the rest)
		"fleet/registry -> fleet/alarms", // a storage floor reaching up
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("violations\n%q\nwant\n%q", got, want)
	}
}

func TestCheck(t *testing.T) {
	pkgs := []Package{
		{Path: "fleet/api", Imports: []string{"fleet/wire", "internal/version", "gateway/rules", "plugins/sdk"}},
		{Path: "fleetish", Imports: []string{"gateway/core"}}, // a prefix is a path, not a string
		{Path: "e2e", Imports: []string{"gateway/core", "fleet/api", "gateway/cmd/bk-gateway", "cmdline"}},
		{Path: "internal/x", Imports: []string{"hw/cmd/bk-camsim"}},
		{Path: "plugins/sdk", Imports: []string{"internal/backoff", "internal/wait"}, TestImports: []string{"internal/wait", "internal/rtc"}},
		{Path: "fleet/live", Imports: []string{"internal/rtc"}, TestImports: []string{"internal/rtc/rtctest"}},
		{Path: "gateway/live", Imports: []string{"internal/rtc/rtctest"}},
		{Path: "fleet/web", Imports: []string{"fleet/auth"}, TestImports: []string{"fleet/auth/authtest"}},
		{Path: "fleet/core", Imports: []string{"fleet/auth/authtest"}},
	}
	var got []string
	for _, v := range Check(Rules, pkgs) {
		got = append(got, v.From+" -> "+v.To)
	}
	want := []string{"fleet/api -> gateway/rules", "e2e -> gateway/cmd/bk-gateway", "internal/x -> hw/cmd/bk-camsim",
		"plugins/sdk -> internal/wait", // allowed in its tests only
		"plugins/sdk -> internal/rtc",
		"gateway/live -> internal/rtc/rtctest", // test peers outside a test
		"fleet/core -> fleet/auth/authtest"}    // cheap hashes outside a test
	if !slices.Equal(got, want) {
		t.Errorf("violations\n%q\nwant\n%q", got, want)
	}
}
