package rules

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at is a time in Shanghai on Wednesday 2026-03-04 (plus days).
func at(day, hh, mm int) time.Time {
	return time.Date(2026, 3, 4+day, hh, mm, 0, 0, shanghai)
}

func det(label string, score float64, b Box) Detection {
	return Detection{Plugin: "p", Label: label, Score: score, Box: b}
}

var whole = Box{0.1, 0.1, 0.5, 0.5}

func TestZone(t *testing.T) {
	square := newPolygon([][]float64{{0.2, 0.2}, {0.8, 0.2}, {0.8, 0.8}, {0.2, 0.8}})
	// a U: the notch between x 0.4 and 0.6 above y 0.6 is outside
	u := newPolygon([][]float64{{0, 0}, {0.4, 0}, {0.4, 0.6}, {0.6, 0.6}, {0.6, 0}, {1, 0}, {1, 1}, {0, 1}})
	full := newPolygon([][]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}})
	cases := []struct {
		name string
		zone polygon
		box  Box
		want bool
	}{
		{"no zone: everywhere", nil, Box{0, 0, 0.1, 0.1}, true},
		{"bottom-centre inside", square, Box{0.4, 0.3, 0.2, 0.3}, true},
		{"box inside but bottom-centre below", square, Box{0.4, 0.5, 0.2, 0.45}, false},
		{"top outside, bottom-centre inside", square, Box{0.0, 0.0, 0.6, 0.5}, true},
		{"bottom-centre left of zone", square, Box{0.0, 0.3, 0.3, 0.3}, false},
		{"bottom-centre on the edge", square, Box{0.4, 0.3, 0.2, 0.5}, true},
		{"concave: in the notch", u, Box{0.45, 0.1, 0.1, 0.3}, false},
		{"concave: in the left arm", u, Box{0.1, 0.1, 0.1, 0.3}, true},
		{"concave: below the notch", u, Box{0.45, 0.5, 0.1, 0.3}, true},
		{"full frame, box to the bottom edge", full, Box{0, 0, 1, 1}, true},
		{"full frame, corner", full, Box{0.9, 0.9, 0.1, 0.1}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.zone.contains(c.box.BottomCentre()); got != c.want {
				t.Fatalf("contains(%v) = %v, want %v", c.box, got, c.want)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	cases := []struct {
		name string
		s    Schedule
		t    time.Time
		want bool
	}{
		{"no hours: always", Schedule{}, at(0, 3, 0), true},
		{"inside morning", Schedule{Hours: []string{"06:00-13:30", "16:00-20:00"}}, at(0, 6, 0), true},
		{"end is exclusive", Schedule{Hours: []string{"06:00-13:30"}}, at(0, 13, 30), false},
		{"between ranges", Schedule{Hours: []string{"06:00-13:30", "16:00-20:00"}}, at(0, 14, 0), false},
		{"evening", Schedule{Hours: []string{"06:00-13:30", "16:00-20:00"}}, at(0, 19, 59), true},
		{"overnight, evening part", Schedule{Hours: []string{"22:00-06:00"}}, at(0, 23, 0), true},
		{"overnight, morning part", Schedule{Hours: []string{"22:00-06:00"}}, at(0, 5, 59), true},
		{"overnight, outside", Schedule{Hours: []string{"22:00-06:00"}}, at(0, 6, 0), false},
		{"to midnight", Schedule{Hours: []string{"18:00-24:00"}}, at(0, 23, 59), true},
		{"all day", Schedule{Hours: []string{"00:00-24:00"}}, at(0, 0, 0), true},
		// 2026-03-04 is a Wednesday
		{"weekday listed", Schedule{Hours: []string{"06:00-20:00"}, Days: []string{"wed"}}, at(0, 10, 0), true},
		{"weekday not listed", Schedule{Hours: []string{"06:00-20:00"}, Days: []string{"mon", "tue"}}, at(0, 10, 0), false},
		{"overnight from a listed day into an unlisted one", Schedule{Hours: []string{"22:00-06:00"}, Days: []string{"wed"}}, at(1, 2, 0), true},
		{"overnight into a listed day from an unlisted one", Schedule{Hours: []string{"22:00-06:00"}, Days: []string{"thu"}}, at(1, 2, 0), false},
		{"weekend period", Schedule{Hours: []string{"06:00-20:00"}, Days: []string{"mon", "tue", "wed", "thu", "fri"},
			Periods: []Period{{Days: []string{"sat", "sun"}, Hours: []string{"08:00-12:00"}}}}, at(3, 9, 0), true},
		{"weekend period, outside", Schedule{Hours: []string{"06:00-20:00"}, Days: []string{"mon", "tue", "wed", "thu", "fri"},
			Periods: []Period{{Days: []string{"sat", "sun"}, Hours: []string{"08:00-12:00"}}}}, at(3, 13, 0), false},
		// 10:00 UTC is 18:00 in Shanghai
		{"default zone is Shanghai", Schedule{Hours: []string{"17:00-19:00"}}, time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), true},
		{"UTC zone", Schedule{Timezone: "UTC", Hours: []string{"17:00-19:00"}}, time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), false},
		{"other zone", Schedule{Timezone: "Europe/Berlin", Hours: []string{"10:00-12:00"}}, time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var l errorList
			h := c.s.compile("schedule", &l)
			if err := l.err(); err != nil {
				t.Fatal(err)
			}
			if got := h.operating(c.t); got != c.want {
				t.Fatalf("operating(%v) = %v, want %v", c.t, got, c.want)
			}
		})
	}
}

// engine builds an engine from a YAML detect section.
func engine(t testing.TB, doc string) *Engine {
	t.Helper()
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	e, err := NewEngine("cam1", c)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

func phases(trs []Transition) string {
	var s []string
	for _, t := range trs {
		s = append(s, t.Phase+":"+t.Type)
	}
	return strings.Join(s, ",")
}

func TestPersistence(t *testing.T) {
	const doc = `
plugins: [{name: p}]
rules:
  - type: no_mask
    when: always
    persistence: {hits: 3, window: 5}
`
	hit := []Detection{det("no_mask", 0.9, whole)}
	cases := []struct {
		name    string
		pattern string // one frame per character: x a hit, . none
		started bool
	}{
		{"2 of 5", "x..x.", false},
		{"2 of 5, spread out", "x...x...x", false}, // never 3 within 5 frames
		{"3 of 5", "x.x.x", true},
		{"3 in a row", "xxx", true},
		{"low scores do not count", "lll", false},
		{"other labels do not count", "ooo", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := engine(t, doc)
			e.AllowLabels("person")
			start := at(0, 10, 0)
			var all []Transition
			for i, ch := range c.pattern {
				var ds []Detection
				switch ch {
				case 'x':
					ds = hit
				case 'l':
					ds = []Detection{det("no_mask", 0.3, whole)}
				case 'o':
					ds = []Detection{det("person", 0.9, whole)}
				}
				all = append(all, e.Observe(start.Add(time.Duration(i)*time.Second), ds)...)
			}
			if got := len(all) > 0; got != c.started {
				t.Fatalf("started = %v (%s), want %v", got, phases(all), c.started)
			}
			if c.started {
				tr := all[0]
				if tr.Phase != wire.PhaseStart || !tr.Frame || tr.Episode == "" || len(tr.Boxes) != 1 || tr.Score != 0.9 {
					t.Fatalf("start = %+v", tr)
				}
				if !tr.StartedAt.Equal(start) {
					t.Fatalf("StartedAt = %v, want the first hit %v", tr.StartedAt, start)
				}
			}
		})
	}
}

// TestEpisodeLifecycle runs a 60 s episode at one frame a second: one
// start, rate-limited updates, one end after end_after, and no second start
// within the cooldown.
func TestEpisodeLifecycle(t *testing.T) {
	e := engine(t, `
plugins: [{name: tamper}]
rules:
  - type: camera_occluded
    plugin: tamper
    persistence: {hits: 2, window: 3}
    cooldown: 5m
    end_after: 30s
    update_every: 20s
`)
	t0 := at(0, 10, 0)
	var trs []Transition
	for i := range 60 {
		score := 0.6 + float64(i)/200
		trs = append(trs, e.Observe(t0.Add(time.Duration(i)*time.Second),
			[]Detection{{Plugin: "tamper", Label: "camera_occluded", Score: score, Box: Box{0, 0, 1, 1}}})...)
	}
	// frames stop; the episode ends 30 s after the last hit (59 s)
	for s := 60; s < 120; s++ {
		trs = append(trs, e.Tick(t0.Add(time.Duration(s)*time.Second))...)
	}
	got := phases(trs)
	want := "start:camera_occluded,update:camera_occluded,update:camera_occluded,end:camera_occluded"
	if got != want {
		t.Fatalf("transitions %s, want %s", got, want)
	}
	start, end := trs[0], trs[3]
	if !start.At.Equal(t0.Add(time.Second)) || !start.StartedAt.Equal(t0) {
		t.Fatalf("start at %v started %v", start.At, start.StartedAt)
	}
	if !trs[1].At.Equal(t0.Add(21*time.Second)) || !trs[2].At.Equal(t0.Add(41*time.Second)) {
		t.Fatalf("updates at %v and %v, want 20 s apart after the start", trs[1].At, trs[2].At)
	}
	for _, tr := range trs {
		if tr.Episode != start.Episode {
			t.Fatalf("episode id changed: %s vs %s", tr.Episode, start.Episode)
		}
		if tr.Frame != (tr.Phase == wire.PhaseStart) {
			t.Fatalf("%s Frame = %v", tr.Phase, tr.Frame)
		}
	}
	if !end.At.Equal(t0.Add(89*time.Second)) || !end.EndedAt.Equal(t0.Add(59*time.Second)) {
		t.Fatalf("end at %v, ended %v", end.At, end.EndedAt)
	}
	if want := 0.6 + 59.0/200; math.Abs(end.Score-want) > 1e-9 {
		t.Fatalf("end score %v, want the episode's max %v", end.Score, want)
	}

	// the lens is covered again within the cooldown: nothing
	again := t0.Add(3 * time.Minute)
	var more []Transition
	for i := range 30 {
		more = append(more, e.Observe(again.Add(time.Duration(i)*time.Second),
			[]Detection{{Plugin: "tamper", Label: "camera_occluded", Score: 0.9, Box: Box{0, 0, 1, 1}}})...)
	}
	if len(more) != 0 {
		t.Fatalf("within cooldown: %s", phases(more))
	}
	// after the cooldown (ended at 89 s + 5 m) a new episode may start
	later := t0.Add(89*time.Second + 5*time.Minute)
	more = append(more, e.Observe(later, []Detection{{Plugin: "tamper", Label: "camera_occluded", Score: 0.9, Box: Box{0, 0, 1, 1}}})...)
	if len(more) != 1 || more[0].Phase != wire.PhaseStart || more[0].Episode == start.Episode {
		t.Fatalf("after cooldown: %s", phases(more))
	}
	st := e.Stats()
	if st.Started != 2 || st.Updated != 2 || st.Ended != 1 || st.Suppressed == 0 || st.Observed != 91 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAfterHoursMotion(t *testing.T) {
	const doc = `
plugins: [{name: motion}]
schedule:
  hours: ["06:00-20:00"]
rules:
  - type: after_hours_motion
    zone: [[0,0.5],[1,0.5],[1,1],[0,1]]
`
	blob := []Detection{{Plugin: "motion", Label: "motion", Score: 0.8, Box: Box{0.4, 0.6, 0.1, 0.1}}}
	high := []Detection{{Plugin: "motion", Label: "motion", Score: 0.8, Box: Box{0.4, 0.1, 0.1, 0.1}}}
	cases := []struct {
		name  string
		start time.Time
		ds    []Detection
		fires bool
	}{
		{"night", at(0, 23, 0), blob, true},
		{"early morning", at(0, 5, 58), blob, true},
		{"operating hours", at(0, 12, 0), blob, false},
		{"night, outside the zone", at(0, 23, 0), high, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := engine(t, doc)
			var trs []Transition
			for i := range 5 {
				trs = append(trs, e.Observe(c.start.Add(time.Duration(i)*2*time.Second), c.ds)...)
			}
			if got := len(trs) > 0; got != c.fires {
				t.Fatalf("fired = %v (%s), want %v", got, phases(trs), c.fires)
			}
			if c.fires && trs[0].Type != "after_hours_motion" {
				t.Fatalf("type %s", trs[0].Type)
			}
		})
	}
	// an episode running into opening time ends: hits stop counting
	e := engine(t, doc)
	t0 := at(0, 5, 59)
	var trs []Transition
	for i := range 90 {
		trs = append(trs, e.Observe(t0.Add(time.Duration(i)*time.Second), blob)...)
	}
	if got := phases(trs); got != "start:after_hours_motion,end:after_hours_motion" {
		t.Fatalf("into opening time: %s", got)
	}
}

func TestEndAfterTick(t *testing.T) {
	e := engine(t, `
plugins: [{name: p}]
rules: [{type: rodent, persistence: {hits: 1}, end_after: 10s}]
`)
	t0 := at(0, 2, 0)
	if trs := e.Observe(t0, []Detection{det("rodent", 0.7, whole)}); phases(trs) != "start:rodent" {
		t.Fatalf("start: %s", phases(trs))
	}
	if trs := e.Tick(t0.Add(9 * time.Second)); len(trs) != 0 {
		t.Fatalf("ended early: %s", phases(trs))
	}
	trs := e.Tick(t0.Add(10 * time.Second))
	if phases(trs) != "end:rodent" || !trs[0].EndedAt.Equal(t0) {
		t.Fatalf("end: %+v", trs)
	}
	if trs := e.Tick(t0.Add(20 * time.Second)); len(trs) != 0 {
		t.Fatalf("ended twice: %s", phases(trs))
	}
}

func TestSameTypeSharesEpisode(t *testing.T) {
	e := engine(t, `
plugins: [{name: p}]
rules:
  - {type: pest, label: fly, persistence: {hits: 1}}
  - {type: pest, label: cockroach, persistence: {hits: 1}}
`)
	t0 := at(0, 2, 0)
	trs := e.Observe(t0, []Detection{det("fly", 0.7, whole), det("cockroach", 0.8, whole)})
	if phases(trs) != "start:pest" || len(trs[0].Boxes) != 2 || trs[0].Hits[0].Label != "cockroach" {
		t.Fatalf("%+v", trs)
	}
	if trs := e.Observe(t0.Add(time.Second), []Detection{det("fly", 0.9, whole)}); len(trs) != 0 {
		t.Fatalf("second rule of the type started another episode: %s", phases(trs))
	}
	if trs := e.Flush(t0.Add(2 * time.Second)); phases(trs) != "end:pest" || trs[0].Score != 0.9 {
		t.Fatalf("flush: %+v", trs)
	}
}

func TestSanitize(t *testing.T) {
	allowed := map[string]bool{"motion": true, "no_mask": true}
	good := Detection{Plugin: "motion", Label: "motion", Score: 0.5, Box: Box{0.1, 0.1, 0.2, 0.2}}
	with := func(f func(*Detection)) Detection { d := good; f(&d); return d }
	cases := []struct {
		name string
		d    Detection
		keep bool
	}{
		{"good", good, true},
		{"whole frame", with(func(d *Detection) { d.Box = Box{0, 0, 1, 1} }), true},
		{"zero-size box", with(func(d *Detection) { d.Box = Box{0.5, 0.5, 0, 0} }), true},
		{"rounding past the edge", with(func(d *Detection) { d.Box = Box{-1e-9, 0, 1 + 1e-9, 1} }), true},
		{"NaN score", with(func(d *Detection) { d.Score = math.NaN() }), false},
		{"Inf score", with(func(d *Detection) { d.Score = math.Inf(1) }), false},
		{"score above 1", with(func(d *Detection) { d.Score = 1.5 }), false},
		{"negative score", with(func(d *Detection) { d.Score = -0.1 }), false},
		{"NaN box", with(func(d *Detection) { d.Box.X = math.NaN() }), false},
		{"Inf box", with(func(d *Detection) { d.Box.H = math.Inf(1) }), false},
		{"box past the right edge", with(func(d *Detection) { d.Box = Box{0.9, 0, 0.2, 0.1} }), false},
		{"box above the top", with(func(d *Detection) { d.Box = Box{0.1, -0.1, 0.2, 0.2} }), false},
		{"negative width", with(func(d *Detection) { d.Box.W = -0.1 }), false},
		{"pixel coordinates", with(func(d *Detection) { d.Box = Box{10, 20, 100, 50} }), false},
		{"unknown label", with(func(d *Detection) { d.Label = "cat" }), false},
		{"empty label", with(func(d *Detection) { d.Label = "" }), false},
		{"label not UTF-8", with(func(d *Detection) { d.Label = "\xff" }), false},
		{"huge track id", with(func(d *Detection) { d.TrackID = strings.Repeat("t", 1000) }), false},
		{"huge attr", with(func(d *Detection) { d.Attrs = map[string]string{"k": strings.Repeat("v", 1000)} }), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kept, dropped := Sanitize([]Detection{c.d}, allowed)
			if (len(kept) == 1) != c.keep || len(kept)+dropped != 1 {
				t.Fatalf("kept %d dropped %d, want keep=%v", len(kept), dropped, c.keep)
			}
			for _, k := range kept {
				b := k.Box
				if b.X < 0 || b.Y < 0 || b.X+b.W > 1 || b.Y+b.H > 1 {
					t.Fatalf("kept box not clamped: %+v", b)
				}
			}
		})
	}
	t.Run("absurd count", func(t *testing.T) {
		ds := make([]Detection, 1000)
		for i := range ds {
			ds[i] = good
		}
		kept, dropped := Sanitize(ds, allowed)
		if len(kept) != MaxDetections || dropped != 1000-MaxDetections {
			t.Fatalf("kept %d dropped %d", len(kept), dropped)
		}
	})
	t.Run("nil allowed checks no labels", func(t *testing.T) {
		kept, _ := Sanitize([]Detection{with(func(d *Detection) { d.Label = "cat" })}, nil)
		if len(kept) != 1 {
			t.Fatal("dropped")
		}
	})
	t.Run("engine counts", func(t *testing.T) {
		e := engine(t, "plugins: [{name: p}]\nrules: [{type: no_mask, when: always}]")
		e.Observe(at(0, 10, 0), []Detection{good, det("no_mask", math.NaN(), whole), det("no_mask", 0.9, whole)})
		if st := e.Stats(); st.Dropped != 2 || st.Detections != 3 || st.Hits != 1 {
			t.Fatalf("stats %+v", st) // "motion" is not allowed until a plugin declares it
		}
		e.AllowLabels("motion")
		e.Observe(at(0, 10, 1), []Detection{good})
		if st := e.Stats(); st.Dropped != 2 {
			t.Fatalf("declared label dropped: %+v", st)
		}
	})
}

func TestExampleAndDefaults(t *testing.T) {
	doc, err := os.ReadFile("testdata/detect.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(doc)
	if err != nil {
		t.Fatalf("example: %v", err)
	}
	if len(c.Rules) != 5 || c.Plugins[1].Params["min_area"] != "0.002" {
		t.Fatalf("example parsed as %+v", c)
	}
	e, err := NewEngine("cam1", c)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Labels(), ","); got != "camera_blurred,camera_dark,camera_frozen,camera_occluded,motion" {
		t.Fatalf("labels %s", got)
	}
	ah := c.Rules[4].WithDefaults()
	if ah.Label != "motion" || ah.When != WhenAfterHours || ah.Persistence != (Persistence{2, 3}) {
		t.Fatalf("after_hours_motion defaults %+v", ah)
	}
	if d := RuleDefaults("no_mask"); d.When != WhenOperating || d.MinScore != 0.5 || d.Cooldown != 5*time.Minute {
		t.Fatalf("no_mask defaults %+v", d)
	}
	if d := RuleDefaults("camera_dark"); d.When != WhenAlways || d.Cooldown != 10*time.Minute {
		t.Fatalf("camera_dark defaults %+v", d)
	}
	if d := (Rule{Type: "rodent", Persistence: Persistence{Window: 2}}).WithDefaults(); d.Persistence != (Persistence{2, 2}) {
		t.Fatalf("window only: %+v", d.Persistence)
	}
}

func TestValidateNamesPaths(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"zone too small", "plugins: [{name: p}]\nrules: [{type: rodent}, {type: pest, zone: [[0,0],[1,1]]}]",
			"cameras[0].detect.rules[1].zone: polygon needs at least 3 points"},
		{"zone point outside", "plugins: [{name: p}]\nrules: [{type: pest, zone: [[0,0],[1,0],[1,1.5]]}]",
			"cameras[0].detect.rules[0].zone[2]: y 1.5 is outside 0..1"},
		{"zone point shape", "plugins: [{name: p}]\nrules: [{type: pest, zone: [[0,0],[1,0],[1]]}]",
			"cameras[0].detect.rules[0].zone[2]: want a point [x, y]"},
		{"unknown type", "plugins: [{name: p}]\nrules: [{type: cat}]", "cameras[0].detect.rules[0].type: unknown violation type"},
		{"type raised elsewhere", "plugins: [{name: p}]\nrules: [{type: camera_offline}]", "cameras[0].detect.rules[0].type: camera_offline is raised by the camera session"},
		{"missing type", "plugins: [{name: p}]\nrules: [{label: x}]", "cameras[0].detect.rules[0].type: required"},
		{"plugin not listed", "plugins: [{name: p}]\nrules: [{type: rodent, plugin: q}]", "cameras[0].detect.rules[0].plugin: \"q\" is not in plugins"},
		{"no plugins", "rules: [{type: rodent}]", "cameras[0].detect.plugins: the rules need at least one plugin"},
		{"duplicate plugin", "plugins: [{name: p}, {name: p}]", "cameras[0].detect.plugins[1].name: duplicate plugin"},
		{"bad plugin name", "plugins: [{name: 'P Q'}]", "cameras[0].detect.plugins[0].name:"},
		{"after hours without hours", "plugins: [{name: p}]\nrules: [{type: after_hours_motion}]",
			"cameras[0].detect.rules[0].when: after_hours needs operating hours"},
		{"bad when", "plugins: [{name: p}]\nrules: [{type: rodent, when: night}]", "cameras[0].detect.rules[0].when:"},
		{"hits over window", "plugins: [{name: p}]\nrules: [{type: rodent, persistence: {hits: 5, window: 3}}]",
			"cameras[0].detect.rules[0].persistence: hits 5 is more than window 3"},
		{"window too big", "plugins: [{name: p}]\nrules: [{type: rodent, persistence: {window: 100}}]", "cameras[0].detect.rules[0].persistence.window:"},
		{"score", "plugins: [{name: p}]\nrules: [{type: rodent, min_score: 2}]", "cameras[0].detect.rules[0].min_score: 2 is outside 0..1"},
		{"negative cooldown", "plugins: [{name: p}]\nrules: [{type: rodent, cooldown: -1s}]", "cameras[0].detect.rules[0].cooldown:"},
		{"fps", "fps: 100", "cameras[0].detect.fps: 100 is outside 0..30"},
		{"timezone", "schedule: {timezone: Mars/Olympus}", "cameras[0].detect.schedule.timezone:"},
		{"timezone path trick", "schedule: {timezone: ../../etc/passwd}", "cameras[0].detect.schedule.timezone:"},
		{"hours", "schedule: {hours: ['6-13']}", "cameras[0].detect.schedule.hours[0]:"},
		{"empty range", "schedule: {hours: ['06:00-06:00']}", "cameras[0].detect.schedule.hours[0]: \"06:00-06:00\": empty range"},
		{"bad day", "schedule: {hours: ['06:00-07:00'], days: [mon, funday]}", "cameras[0].detect.schedule.days[1]:"},
		{"days without hours", "schedule: {days: [mon]}", "cameras[0].detect.schedule.days: days without hours"},
		{"period without hours", "schedule: {periods: [{days: [sat]}]}", "cameras[0].detect.schedule.periods[0].hours: required"},
		{"bad label", "plugins: [{name: p}]\nrules: [{type: rodent, label: 'a b'}]", "cameras[0].detect.rules[0].label:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cr CameraRules
			if err := yamlUnmarshal([]byte(c.doc), &cr); err != nil {
				t.Fatal(err)
			}
			err := cr.Validate("cameras[0].detect")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %q", err, c.want)
			}
			var re *Error
			if !errors.As(err, &re) || !strings.HasPrefix(re.Path, "cameras[0].detect.") {
				t.Fatalf("not an *Error with a path: %#v", err)
			}
		})
	}
	t.Run("unknown key", func(t *testing.T) {
		_, err := Parse([]byte("rules: [{type: rodent, colour: red}]"))
		if err == nil || !strings.Contains(err.Error(), "colour") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("duration as a number", func(t *testing.T) {
		_, err := Parse([]byte("plugins: [{name: p}]\nrules: [{type: rodent, cooldown: 300}]"))
		if err == nil {
			t.Fatal("300 accepted as a duration")
		}
	})
}
