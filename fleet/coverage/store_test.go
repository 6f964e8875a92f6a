package coverage_test

import (
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// The store's rows convert field for field; this stops compiling if either
// side changes shape.
func TestStoreTypesConvert(t *testing.T) {
	now := time.Now()
	iv := coverage.Interval(store.Interval{Start: now, Online: true, Picture: "ok", Seq: 7})
	s := coverage.Session(store.Session{Session: 3, Connected: now})
	if !iv.Start.Equal(now) || !iv.Online || iv.Picture != "ok" || iv.Seq != 7 || s.Session != 3 || !s.Connected.Equal(now) {
		t.Errorf("converted %+v %+v", iv, s)
	}
}
