package rules

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// cook is a person at x, a box 0.2 wide and 0.6 high.
func cook(x float64) Detection {
	return Detection{Plugin: "ai", Label: "person", Score: 0.9, Box: Box{x, 0.3, 0.2, 0.6}}
}

// worn is attribute means on person p, in its region, with the manifest's
// attrs.
func worn(p Detection, means, region string) Detection {
	b := p.Box
	switch region {
	case RegionHead:
		b = Box{b.X + 0.05, b.Y, 0.1, 0.1}
	case RegionHands:
		b = Box{b.X, b.Y + 0.3, 0.05, 0.05}
	default:
		b = Box{b.X + 0.02, b.Y + 0.2, 0.16, 0.3}
	}
	return Detection{Plugin: "ai", Label: means, Score: 0.8, Box: b, Attrs: map[string]string{"role": "attribute", "region": region}}
}

// run observes frames at 1 fps from t0 and returns every transition.
func run(e *Engine, t0 time.Time, frames int, ds func(i int) []Detection) []Transition {
	var out []Transition
	for i := range frames {
		out = append(out, e.Observe(t0.Add(time.Duration(i)*time.Second), ds(i))...)
	}
	return out
}

func starts(trs []Transition) []Transition {
	var out []Transition
	for _, t := range trs {
		if t.Phase == wire.PhaseStart {
			out = append(out, t)
		}
	}
	return out
}

// TestPersonAttributes: of two cooks in the same frame, the one with the
// attribute raises nothing and the one without raises one episode, on his
// track, with his box; every attribute type, in its region.
func TestPersonAttributes(t *testing.T) {
	cases := []struct{ typ, means, region string }{
		{"no_chef_hat", "chef_hat", RegionHead},
		{"no_mask", "mask", RegionHead},
		{"no_uniform", "uniform", RegionBody},
		{"no_gloves", "gloves", RegionHands},
		{"shirtless", "shirt", RegionBody},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			e := engine(t, "plugins: [{name: ai}]\nrules: [{type: "+c.typ+"}]")
			e.AllowLabels("person", c.means)
			a, b := cook(0.1), cook(0.6)
			trs := run(e, at(0, 10, 0), 10, func(int) []Detection { return []Detection{a, worn(a, c.means, c.region), b} })
			if got := phases(trs); got != "start:"+c.typ {
				t.Fatalf("transitions %s, want one start", got)
			}
			if tr := trs[0]; tr.Track == "" || len(tr.Boxes) != 1 || tr.Boxes[0] != b.Box {
				t.Fatalf("start %+v, want the second cook's box on a track", tr)
			}
		})
	}
	t.Run("model cannot see the attribute", func(t *testing.T) {
		e := engine(t, "plugins: [{name: ai}]\nrules: [{type: no_chef_hat}]")
		e.AllowLabels("person") // no chef_hat class
		if trs := run(e, at(0, 10, 0), 10, func(int) []Detection { return []Detection{cook(0.1)} }); len(trs) != 0 {
			t.Fatalf("a model without hats raised %s", phases(trs))
		}
	})
	t.Run("hat held at the waist", func(t *testing.T) {
		e := engine(t, "plugins: [{name: ai}]\nrules: [{type: no_chef_hat}]")
		e.AllowLabels("person", "chef_hat")
		a := cook(0.1)
		held := worn(a, "chef_hat", RegionHead)
		held.Box.Y = 0.6 // in the hands, not on the head
		if got := phases(run(e, at(0, 10, 0), 5, func(int) []Detection { return []Detection{a, held} })); got != "start:no_chef_hat" {
			t.Fatalf("transitions %q", got)
		}
	})
	t.Run("faint hat still counts", func(t *testing.T) {
		e := engine(t, "plugins: [{name: ai}]\nrules: [{type: no_chef_hat, attribute_score: 0.2}]")
		e.AllowLabels("person", "chef_hat")
		a := cook(0.1)
		h := worn(a, "chef_hat", RegionHead)
		h.Score = 0.25
		if trs := run(e, at(0, 10, 0), 5, func(int) []Detection { return []Detection{a, h} }); len(trs) != 0 {
			t.Fatalf("transitions %s", phases(trs))
		}
	})
	t.Run("outside operating hours", func(t *testing.T) {
		e := engine(t, "plugins: [{name: ai}]\nschedule: {hours: ['06:00-10:00']}\nrules: [{type: no_chef_hat}]")
		e.AllowLabels("person", "chef_hat")
		if trs := run(e, at(0, 12, 0), 5, func(int) []Detection { return []Detection{cook(0.1)} }); len(trs) != 0 {
			t.Fatalf("transitions %s", phases(trs))
		}
	})
}

// TestPersonWithoutClass: a model with a "person without a hat" class,
// declared by the manifest (attrs violation) or by the camera's label map.
func TestPersonWithoutClass(t *testing.T) {
	head := func(p Detection, attrs map[string]string, label string) Detection {
		return Detection{Plugin: "ai", Label: label, Score: 0.8, Box: Box{p.Box.X + 0.05, p.Box.Y, 0.1, 0.1}, Attrs: attrs}
	}
	a, b := cook(0.1), cook(0.6)
	cases := []struct {
		name, doc string
		frame     []Detection
		want      string
	}{
		{"manifest: head box on a person", "plugins: [{name: ai}]\nrules: [{type: no_chef_hat}]",
			[]Detection{a, b, head(b, map[string]string{"role": "attribute", "region": "head", "violation": "no_chef_hat"}, "head_nohat")}, "b"},
		{"manifest: a person box of its own", "plugins: [{name: ai}]\nrules: [{type: no_chef_hat}]",
			[]Detection{a, {Plugin: "ai", Label: "person_nohat", Score: 0.8, Box: b.Box, Attrs: map[string]string{"role": "person", "violation": "no_chef_hat"}}}, "b"},
		{"onnx plugin: role person_without (an object here), labelled as the type", "plugins: [{name: ai}]\nrules: [{type: no_chef_hat}]",
			[]Detection{a, {Plugin: "ai", Label: "no_chef_hat", Score: 0.8, Box: b.Box, Attrs: map[string]string{"role": "person_without"}}}, "b"},
		{"label map", "plugins: [{name: ai, labels: {head_nohat: {role: attribute, region: head, violation: no_chef_hat}}}]\nrules: [{type: no_chef_hat}]",
			[]Detection{a, b, head(b, nil, "head_nohat")}, "b"},
		{"class named as the type, nobody around it", "plugins: [{name: ai}]\nrules: [{type: no_chef_hat}]",
			[]Detection{{Plugin: "ai", Label: "no_chef_hat", Score: 0.8, Box: Box{0.4, 0.1, 0.1, 0.1}}}, "self"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := engine(t, c.doc)
			e.AllowLabels("person", "head_nohat", "person_nohat")
			trs := run(e, at(0, 10, 0), 6, func(int) []Detection { return c.frame })
			if got := phases(trs); got != "start:no_chef_hat" {
				t.Fatalf("transitions %q, want one start", got)
			}
			if trs[0].Track == "" {
				t.Fatal("no track")
			}
		})
	}
}

// TestObjectsWithPerson: a phone or a cigarette counts when a person holds
// it (at least min_overlap of its box inside the person's), not lying on a
// counter.
func TestObjectsWithPerson(t *testing.T) {
	p := cook(0.5)
	obj := func(label string, b Box) Detection { return Detection{Plugin: "ai", Label: label, Score: 0.7, Box: b} }
	cases := []struct {
		name, typ string
		frame     []Detection
		fires     bool
	}{
		{"phone in hand", "phone", []Detection{p, obj("phone", Box{0.55, 0.5, 0.04, 0.06})}, true},
		{"phone on the counter", "phone", []Detection{p, obj("phone", Box{0.1, 0.5, 0.04, 0.06})}, false},
		{"phone with nobody", "phone", []Detection{obj("phone", Box{0.55, 0.5, 0.04, 0.06})}, false},
		{"phone three quarters on the person", "phone", []Detection{p, obj("phone", Box{0.67, 0.5, 0.04, 0.06})}, true}, // 0.75 inside
		{"phone mostly off the person", "phone", []Detection{p, obj("phone", Box{0.69, 0.5, 0.04, 0.06})}, false},       // 0.25 inside
		{"cigarette at the mouth", "smoking", []Detection{p, obj("smoking", Box{0.6, 0.38, 0.03, 0.01})}, true},         //
		{"cigarette in an ashtray", "smoking", []Detection{p, obj("smoking", Box{0.9, 0.9, 0.03, 0.01})}, false},        //
		{"a person smoking class", "smoking", []Detection{{Plugin: "ai", Label: "person_smoking", Score: 0.7, Box: p.Box, Attrs: map[string]string{"role": "person", "violation": "smoking"}}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := engine(t, "plugins: [{name: ai}]\nrules: [{type: "+c.typ+"}]")
			e.AllowLabels("person", "person_smoking")
			trs := run(e, at(0, 10, 0), 6, func(int) []Detection { return c.frame })
			if got := len(trs) > 0; got != c.fires {
				t.Fatalf("fired %v (%s), want %v", got, phases(trs), c.fires)
			}
			if c.fires && (trs[0].Type != c.typ || trs[0].Track == "") {
				t.Fatalf("start %+v", trs[0])
			}
			if c.fires && len(c.frame) == 2 && len(trs[0].Boxes) != 2 {
				t.Fatalf("boxes %v, want the object's and the person's", trs[0].Boxes)
			}
		})
	}
}

// TestObjectsAlone: a rodent is a violation at any hour and anywhere, even
// at noon outside the camera's operating hours and outside the zones of
// its other rules; an uncovered bin is one too.
func TestObjectsAlone(t *testing.T) {
	e := engine(t, `
plugins: [{name: ai}]
schedule: {hours: ["06:00-10:00"]}
rules:
  - {type: no_chef_hat, zone: [[0, 0.5], [0.3, 0.5], [0.3, 1], [0, 1]]}
  - {type: rodent}
  - {type: bin_uncovered, when: operating}
`)
	rat := Detection{Plugin: "ai", Label: "rodent", Score: 0.7, Box: Box{0.8, 0.1, 0.05, 0.03}}
	trs := run(e, at(0, 12, 0), 5, func(int) []Detection { return []Detection{rat} })
	if phases(trs) != "start:rodent" {
		t.Fatalf("rodent at noon: %s", phases(trs))
	}
	bin := Detection{Plugin: "ai", Label: "bin_uncovered", Score: 0.7, Box: Box{0.1, 0.7, 0.1, 0.2}}
	trs = run(e, at(1, 8, 0), 5, func(int) []Detection { return []Detection{bin} })
	if trs = starts(trs); phases(trs) != "start:bin_uncovered" || trs[0].Track != "" {
		t.Fatalf("bin: %+v", trs)
	}
	if _, err := Parse([]byte("plugins: [{name: ai}]\nschedule: {hours: ['06:00-10:00']}\nrules: [{type: rodent, when: operating}]")); err == nil ||
		!strings.Contains(err.Error(), "rules[0].when: rodent is a violation at any hour") {
		t.Fatalf("rodent limited to operating hours: %v", err)
	}
}

// TestOffPost: nobody at the stove for absent_for inside operating hours
// is one off_post episode, however long it lasts; counting starts at
// opening time; a person coming back ends it.
func TestOffPost(t *testing.T) {
	const doc = `
plugins: [{name: ai}]
schedule: {hours: ["06:00-20:00"]}
rules:
  - type: off_post
    absent_for: 2m
    end_after: 5s
    zone: [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]]
`
	atStove, away := cook(0.1), cook(0.7)
	e := engine(t, doc)
	t0 := at(0, 10, 0)
	// 10 minutes with the cook away from the stove, then back for a minute
	trs := run(e, t0, 11*60, func(i int) []Detection {
		if i < 10*60 {
			return []Detection{away}
		}
		return []Detection{atStove}
	})
	s := starts(trs)
	if len(s) != 1 || !s[0].At.Equal(t0.Add(2*time.Minute)) || s[0].Type != "off_post" || len(s[0].Boxes) != 1 {
		t.Fatalf("starts %+v, want one at 10:02", s)
	}
	if last := trs[len(trs)-1]; last.Phase != wire.PhaseEnd || !last.At.Equal(t0.Add(10*time.Minute+4*time.Second)) {
		t.Fatalf("last %+v, want the end 5 s after the last frame without him", last)
	}

	// before opening nobody is expected: the count starts at 06:00
	e = engine(t, doc)
	trs = run(e, at(0, 5, 50), 13*60, func(int) []Detection { return nil })
	if s := starts(trs); len(s) != 1 || !s[0].At.Equal(at(0, 6, 2)) {
		t.Fatalf("starts %+v, want one at 06:02", s)
	}
	// the detector failing is not nobody: its frames restart the count
	e = engine(t, doc)
	var failing []Transition
	for i := range 600 {
		var failed []string
		if i%60 == 59 {
			failed = []string{"ai"}
		}
		failing = append(failing, e.ObservePartial(t0.Add(time.Duration(i)*time.Second), []Detection{away}, failed)...)
	}
	if len(failing) != 0 {
		t.Fatalf("with the detector failing once a minute: %s", phases(failing))
	}
	// someone at the stove all along: nothing
	e = engine(t, doc)
	if trs := run(e, t0, 600, func(int) []Detection { return []Detection{atStove} }); len(trs) != 0 {
		t.Fatalf("present: %s", phases(trs))
	}
}

// TestIntruder: a person in the store room when nobody may be there (the
// rule's own hours, or after hours by default).
func TestIntruder(t *testing.T) {
	e := engine(t, `
plugins: [{name: ai}]
schedule: {hours: ["06:00-20:00"]}
rules:
  - {type: intruder, hours: ["13:30-16:00"], zone: [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]]}
`)
	inRoom, outside := cook(0.7), cook(0.1)
	if trs := run(e, at(0, 12, 0), 10, func(int) []Detection { return []Detection{inRoom} }); len(trs) != 0 {
		t.Fatalf("allowed hours: %s", phases(trs))
	}
	if trs := run(e, at(0, 14, 0), 10, func(int) []Detection { return []Detection{outside} }); len(trs) != 0 {
		t.Fatalf("outside the zone: %s", phases(trs))
	}
	if trs := run(e, at(0, 14, 10), 10, func(int) []Detection { return []Detection{inRoom} }); phases(trs) != "start:intruder" {
		t.Fatalf("intruder: %s", phases(trs))
	}
	e = engine(t, "plugins: [{name: ai}]\nschedule: {hours: ['06:00-20:00']}\nrules: [{type: intruder, when: after_hours}]")
	if trs := run(e, at(0, 23, 0), 5, func(int) []Detection { return []Detection{inRoom} }); phases(trs) != "start:intruder" {
		t.Fatalf("after hours: %s", phases(trs))
	}
}

// jitter moves a box by up to 2% of the picture each way.
func jitter(r *rand.Rand, d Detection) Detection {
	j := func() float64 { return (r.Float64() - 0.5) * 0.04 }
	d.Box = clampBox(Box{d.Box.X + j(), d.Box.Y + j(), d.Box.W + j(), d.Box.H + j()})
	return d
}

// TestTrackerEpisodes: one cook without a hat for a minute at 1 fps, his
// box jittering, is one episode with updates; two cooks are two; a cook
// who leaves for longer than the tracker's max_age and comes back is a new
// episode.
func TestTrackerEpisodes(t *testing.T) {
	const doc = `
plugins: [{name: ai}]
tracker: {max_age: 5s}
rules: [{type: no_chef_hat, end_after: 3s, update_every: 20s, cooldown: 1m}]
`
	r := rand.New(rand.NewPCG(1, 2))
	t0 := at(0, 10, 0)

	t.Run("one cook", func(t *testing.T) {
		e := engine(t, doc)
		e.AllowLabels("person", "chef_hat")
		trs := run(e, t0, 60, func(int) []Detection { return []Detection{jitter(r, cook(0.3))} })
		if got := phases(trs); got != "start:no_chef_hat,update:no_chef_hat,update:no_chef_hat" {
			t.Fatalf("transitions %s", got)
		}
		for _, tr := range trs {
			if tr.Episode != trs[0].Episode || tr.Track != trs[0].Track {
				t.Fatalf("episode or track changed: %+v", tr)
			}
		}
		if st := e.Stats(); st.Tracks != 1 {
			t.Fatalf("%d tracks", st.Tracks)
		}
	})
	t.Run("two cooks", func(t *testing.T) {
		e := engine(t, doc)
		e.AllowLabels("person", "chef_hat")
		trs := run(e, t0, 60, func(int) []Detection { return []Detection{jitter(r, cook(0.1)), jitter(r, cook(0.6))} })
		s := starts(trs)
		if len(s) != 2 || s[0].Track == s[1].Track || s[0].Episode == s[1].Episode || len(trs) != 6 {
			t.Fatalf("transitions %s, starts %+v", phases(trs), s)
		}
	})
	t.Run("leaves and comes back", func(t *testing.T) {
		e := engine(t, doc)
		e.AllowLabels("person", "chef_hat")
		// 20 s there, 10 s away (longer than max_age 5s), 20 s back
		var trs []Transition
		for i := range 50 {
			now := t0.Add(time.Duration(i) * time.Second)
			var ds []Detection
			if i < 20 || i >= 30 {
				ds = []Detection{jitter(r, cook(0.3))}
			}
			trs = append(trs, e.Observe(now, ds)...)
			trs = append(trs, e.Tick(now)...)
		}
		s := starts(trs)
		if len(s) != 2 || s[0].Episode == s[1].Episode || s[0].Track == s[1].Track {
			t.Fatalf("transitions %s", phases(trs))
		}
		// and back within max_age: the same track, the same episode
		e = engine(t, doc)
		e.AllowLabels("person", "chef_hat")
		trs = run(e, t0, 40, func(i int) []Detection {
			if i >= 20 && i < 22 {
				return nil
			}
			return []Detection{jitter(r, cook(0.3))}
		})
		if len(starts(trs)) != 1 {
			t.Fatalf("short absence: %s", phases(trs))
		}
	})
}

func TestTracker(t *testing.T) {
	tr := tracker{minIoU: 0.3, maxAge: 5 * time.Second}
	t0 := at(0, 10, 0)
	a, b := Box{0.1, 0.1, 0.2, 0.4}, Box{0.5, 0.1, 0.2, 0.4}
	ids := tr.update(t0, []Box{a, b})
	if ids[0] == ids[1] {
		t.Fatal("two boxes, one track")
	}
	// swapped order, moved a little: each keeps its id
	ids2 := tr.update(t0.Add(time.Second), []Box{{0.52, 0.1, 0.2, 0.4}, {0.12, 0.1, 0.2, 0.4}})
	if ids2[0] != ids[1] || ids2[1] != ids[0] {
		t.Fatalf("ids %v then %v", ids, ids2)
	}
	// greedy: the better overlap wins the track, the other box starts one
	ids3 := tr.update(t0.Add(2*time.Second), []Box{{0.2, 0.1, 0.2, 0.4}, {0.13, 0.1, 0.2, 0.4}})
	if ids3[1] != ids[0] || ids3[0] == ids[0] || ids3[0] == ids[1] {
		t.Fatalf("greedy: %v", ids3)
	}
	// after max_age a box in the same place is a new track
	ids4 := tr.update(t0.Add(10*time.Second), []Box{{0.13, 0.1, 0.2, 0.4}})
	if ids4[0] == ids3[1] {
		t.Fatal("old track revived")
	}
	// bounded
	many := make([]Box, 200)
	for i := range many {
		many[i] = Box{float64(i%20) / 20, float64(i/20) / 10, 0.01, 0.01}
	}
	tr.update(t0.Add(11*time.Second), many)
	if len(tr.tracks) > MaxTracks {
		t.Fatalf("%d tracks", len(tr.tracks))
	}
}

func TestPeopleConfigErrors(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"plugins: [{name: ai, labels: {hat: {role: hat}}}]", "detect.plugins[0].labels.hat.role: \"hat\": want person, attribute or object"},
		{"plugins: [{name: ai, labels: {hat: {}}}]", "detect.plugins[0].labels.hat.role: required"},
		{"plugins: [{name: ai, labels: {hat: {role: attribute, region: feet}}}]", "detect.plugins[0].labels.hat.region:"},
		{"plugins: [{name: ai, labels: {cup: {role: object, region: head}}}]", "detect.plugins[0].labels.cup.region: only an attribute"},
		{"plugins: [{name: ai, labels: {x: {role: person, violation: rodent}}}]", "detect.plugins[0].labels.x.violation:"},
		{"plugins: [{name: ai, labels: {'a b': {role: person}}}]", "detect.plugins[0].labels: label"},
		{"tracker: {min_iou: 2}", "detect.tracker.min_iou: 2 is outside 0..1"},
		{"tracker: {max_age: 1h}", "detect.tracker.max_age:"},
		{"tracker: {min_score: -1}", "detect.tracker.min_score:"},
		{"plugins: [{name: ai}]\nrules: [{type: rodent, attribute: hat}]", "detect.rules[0].attribute: only for"},
		{"plugins: [{name: ai}]\nrules: [{type: phone, attribute_score: 0.2}]", "detect.rules[0].attribute_score: only for"},
		{"plugins: [{name: ai}]\nrules: [{type: no_mask, min_overlap: 0.2}]", "detect.rules[0].min_overlap: only for smoking and phone"},
		{"plugins: [{name: ai}]\nrules: [{type: phone, min_overlap: 1.5}]", "detect.rules[0].min_overlap: 1.5 is outside 0..1"},
		{"plugins: [{name: ai}]\nrules: [{type: intruder, absent_for: 5m}]", "detect.rules[0].absent_for: only for off_post"},
		{"plugins: [{name: ai}]\nrules: [{type: off_post, absent_for: 48h}]", "detect.rules[0].absent_for:"},
		{"plugins: [{name: ai}]\nrules: [{type: intruder, hours: ['25:00-26:00']}]", "detect.rules[0].hours[0]:"},
		{"plugins: [{name: ai}]\nrules: [{type: intruder, when: always, hours: ['01:00-02:00']}]", "detect.rules[0].when: give when or hours"},
		{"plugins: [{name: ai}]\nrules: [{type: rodent, hours: ['01:00-02:00']}]", "detect.rules[0].hours: rodent is a violation at any hour"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %q", err, c.want)
			}
			checkErrors(t, err)
		})
	}
}

// TestAIExample: testdata/ai.yaml parses and its engine finds a cook
// without a hat through the label map (hat means chef_hat).
func TestAIExample(t *testing.T) {
	doc, err := os.ReadFile("testdata/ai.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := engine(t, string(doc))
	e.AllowLabels("person", "hat", "mask", "apron", "head_nohat", "cigarette", "cell_phone", "rat")
	a, b := cook(0.1), cook(0.3)
	a.Plugin, b.Plugin = "onnx", "onnx"
	hat := Detection{Plugin: "onnx", Label: "hat", Score: 0.9, Box: Box{0.15, 0.3, 0.1, 0.08}}
	mask := Detection{Plugin: "onnx", Label: "mask", Score: 0.9, Box: Box{0.15, 0.4, 0.1, 0.05}}
	apron := Detection{Plugin: "onnx", Label: "apron", Score: 0.9, Box: Box{0.12, 0.5, 0.16, 0.3}}
	maskB, apronB := mask, apron
	maskB.Box.X += 0.2
	apronB.Box.X += 0.2
	trs := run(e, at(0, 10, 0), 5, func(int) []Detection { return []Detection{a, hat, mask, apron, b, maskB, apronB} })
	if got := phases(trs); got != "start:no_chef_hat" || trs[0].Boxes[0] != b.Box {
		t.Fatalf("transitions %s %+v", got, trs)
	}
}

// BenchmarkObservePeople: one frame of testdata/ai.yaml's rules with 8
// people, half of them with hat, mask and apron, and two objects.
func BenchmarkObservePeople(b *testing.B) {
	doc, err := os.ReadFile("testdata/ai.yaml")
	if err != nil {
		b.Fatal(err)
	}
	e := engine(b, string(doc))
	e.AllowLabels("person", "hat", "mask", "apron", "head_nohat", "cigarette", "cell_phone", "rat")
	var ds []Detection
	for i := range 8 {
		p := cook(float64(i) * 0.1)
		p.Plugin = "onnx"
		p.Box.W = 0.09
		ds = append(ds, p)
		if i%2 == 0 {
			for _, l := range []string{"hat", "mask", "apron"} {
				a := worn(p, l, defaultRegion(l))
				a.Plugin, a.Attrs = "onnx", nil
				ds = append(ds, a)
			}
		}
	}
	ds = append(ds, Detection{Plugin: "onnx", Label: "cell_phone", Score: 0.8, Box: Box{0.02, 0.5, 0.02, 0.03}},
		Detection{Plugin: "onnx", Label: "rat", Score: 0.8, Box: Box{0.9, 0.9, 0.05, 0.03}})
	r := rand.New(rand.NewPCG(3, 4))
	t0 := at(0, 10, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		frame := make([]Detection, len(ds))
		for k, d := range ds {
			frame[k] = jitter(r, d)
		}
		e.Observe(t0.Add(time.Duration(i)*time.Second), frame)
	}
}

// TestSubjectsBounded: a tracker that loses people every frame leaves
// subjects cooling down; the engine remembers at most maxSubjects.
func TestSubjectsBounded(t *testing.T) {
	e := engine(t, "plugins: [{name: ai}]\ntracker: {max_age: 1s}\nrules: [{type: no_chef_hat, persistence: {hits: 1}, end_after: 1s, cooldown: 1h}]")
	e.AllowLabels("person", "chef_hat")
	t0 := at(0, 10, 0)
	started := 0
	for i := range 1000 {
		p := cook(float64(i%2) * 0.5) // jumps: a new track each frame
		p.Box.Y = float64(i%3) * 0.1
		started += len(starts(e.Observe(t0.Add(time.Duration(i)*2*time.Second), []Detection{p})))
	}
	if n := len(e.types[0].order); n > maxSubjects || started < 900 {
		t.Fatalf("%d subjects remembered, %d started", n, started)
	}
}
