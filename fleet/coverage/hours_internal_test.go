package coverage

import (
	"testing"
	"time"
)

func TestUnixDay(t *testing.T) {
	for d := time.Date(-801, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2801; d = d.AddDate(0, 0, 13) {
		if got, want := dateOf(d).unixDay(), d.Unix()/86400; got != want {
			t.Fatalf("%v: %d, want %d", d, got, want)
		}
	}
}

func TestFirstAfter(t *testing.T) {
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for n := range 70 {
		ivs := make([]Interval, n)
		for i := range ivs {
			ivs[i].Start = base.Add(time.Duration(i/2*2) * time.Minute) // pairs share a start
		}
		for m := -1; m <= n+1; m++ {
			at := base.Add(time.Duration(m) * time.Minute).UnixMilli()
			want := 0
			for want < n && ivs[want].Start.UnixMilli() <= at {
				want++
			}
			if got := firstAfter(ivs, at); got != want {
				t.Fatalf("n %d, minute %d: %d, want %d", n, m, got, want)
			}
		}
	}
}
