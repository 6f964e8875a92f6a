package coverage_test

import (
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
)

// The registry's rows convert field for field; this stops compiling if either
// side changes shape.
func TestStoreTypesConvert(t *testing.T) {
	now := time.Now()
	iv := coverage.Interval(registry.Interval{Start: now, Online: true, Picture: "ok", Seq: 7})
	s := coverage.Session(registry.Session{Session: 3, Connected: now})
	if !iv.Start.Equal(now) || !iv.Online || iv.Picture != "ok" || iv.Seq != 7 || s.Session != 3 || !s.Connected.Equal(now) {
		t.Errorf("converted %+v %+v", iv, s)
	}
}
