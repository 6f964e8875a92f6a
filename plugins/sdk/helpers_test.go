package sdk_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

func TestCamerasForgetsLeastRecentlySeen(t *testing.T) {
	c := sdk.Cameras[int]{Max: 2}
	*c.Get("a") = 1
	*c.Get("b") = 2
	_ = c.Get("a") // a is now the most recent
	*c.Get("c") = 3
	if c.Len() != 2 || *c.Get("a") != 1 {
		t.Fatalf("len %d, a %d", c.Len(), *c.Get("a"))
	}
	if *c.Get("b") != 0 {
		t.Error("b was not forgotten")
	}
	var def sdk.Cameras[struct{}]
	for i := range sdk.DefaultMaxCameras + 10 {
		def.Get(fmt.Sprint(i))
	}
	if def.Len() != sdk.DefaultMaxCameras {
		t.Errorf("default bound: %d", def.Len())
	}
}

func TestParseParams(t *testing.T) {
	f, n := 1.5, 3
	err := sdk.ParseParams(map[string]string{"f": "0.25", "n": "7", "other": "x"},
		sdk.Float("f", &f, 1), sdk.Int("n", &n, 10))
	if err != nil || f != 0.25 || n != 7 {
		t.Fatalf("%v %v %v", err, f, n)
	}
	for _, bad := range []map[string]string{{"f": "NaN"}, {"f": "2"}, {"f": "0"}, {"n": "0"}, {"n": "1.5"}, {"c": "no"}} {
		err := sdk.ParseParams(bad, sdk.Float("f", &f, 1), sdk.Int("n", &n, 10),
			sdk.Custom("c", func(s string) error { return fmt.Errorf("%q is not yes", s) }))
		if err == nil || !strings.HasPrefix(err.Error(), "param ") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
