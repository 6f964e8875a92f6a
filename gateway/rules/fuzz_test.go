package rules

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

func yamlUnmarshal(b []byte, v any) error { return yaml.Unmarshal(b, v) }

// FuzzRulesConfig feeds arbitrary documents to Parse: no panic; every
// validation error is an *Error whose path is under "detect"; an accepted
// section builds an Engine that takes frames. Seeds live in
// testdata/fuzz/FuzzRulesConfig.
func FuzzRulesConfig(f *testing.F) {
	for _, name := range []string{"testdata/detect.yaml", "testdata/ai.yaml"} {
		if ex, err := os.ReadFile(name); err == nil {
			f.Add(ex)
		}
	}
	f.Add([]byte("plugins: [{name: p, labels: {hat: {role: attribute, region: head, means: chef_hat}}}]\ntracker: {max_age: 3s}\nrules: [{type: no_chef_hat}, {type: off_post, absent_for: 1s}]"))
	f.Add([]byte("plugins: [{name: p}]\nrules: [{type: pest, zone: [[0,0],[1,1]]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			checkErrors(t, err)
			return
		}
		e, err := NewEngine("cam", c)
		if err != nil {
			t.Fatalf("NewEngine of a section Parse accepted: %v", err)
		}
		t0 := time.Date(2026, 3, 4, 22, 0, 0, 0, time.UTC)
		labels := append(e.Labels(), "person", "hat")
		e.AllowLabels(labels...)
		for i := range 8 {
			var ds []Detection
			for j, l := range labels {
				ds = append(ds, Detection{Plugin: "p", Label: l, Score: 0.9, Box: Box{float64(j%4) / 4, 0.5, 0.2, 0.4},
					Attrs: map[string]string{"role": [...]string{"person", "attribute", "object", "x"}[(i+j)%4], "violation": l}})
			}
			e.Observe(t0.Add(time.Duration(i)*time.Second), ds)
		}
		e.Tick(t0.Add(2 * time.Hour))
		e.Flush(t0.Add(3 * time.Hour))
	})
}

func checkErrors(t *testing.T, err error) {
	t.Helper()
	if err.Error() == "" {
		t.Fatal("empty error")
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var re *Error
		if !errors.As(e, &re) {
			t.Fatalf("not an *Error: %#v", e)
		}
		if strings.HasPrefix(re.Msg, "invalid YAML") {
			continue
		}
		if re.Path != "detect" && !strings.HasPrefix(re.Path, "detect.") {
			t.Fatalf("error without a path under detect: %q", e)
		}
	}
}

// FuzzSanitize: whatever a plugin returns, Sanitize does not panic, keeps
// at most MaxDetections, accounts for every detection, and keeps only boxes
// inside the picture with finite scores in 0..1.
func FuzzSanitize(f *testing.F) {
	f.Add("motion", 0.5, 0.1, 0.1, 0.2, 0.2, uint16(1))
	f.Add("motion", math.NaN(), 0.1, 0.1, 0.2, 0.2, uint16(3))
	f.Add("cat", 0.5, -0.1, 0.1, 2.0, 0.2, uint16(300))
	f.Add("", 1.0, 0.0, 0.0, 1.0, 1.0000001, uint16(2))
	f.Fuzz(func(t *testing.T, label string, score, x, y, w, h float64, n uint16) {
		n %= 600
		ds := make([]Detection, n)
		for i := range ds {
			ds[i] = Detection{Plugin: "p", Label: label, Score: score, Box: Box{x, y, w, h}}
			if i%3 == 1 {
				ds[i].Label = "motion"
			}
		}
		kept, dropped := Sanitize(ds, map[string]bool{"motion": true})
		if len(kept)+dropped != len(ds) || len(kept) > MaxDetections {
			t.Fatalf("kept %d + dropped %d != %d", len(kept), dropped, len(ds))
		}
		for _, d := range kept {
			b := d.Box
			if !finite(d.Score, b.X, b.Y, b.W, b.H) || d.Score < 0 || d.Score > 1 ||
				b.X < 0 || b.Y < 0 || b.W < 0 || b.H < 0 || b.X+b.W > 1 || b.Y+b.H > 1 || d.Label != "motion" {
				t.Fatalf("kept a bad detection: %+v", d)
			}
		}
	})
}

// FuzzPeople: whatever roles, regions, violations and boxes a plugin
// returns, the rules about people do not panic, every episode of a type
// about people names its track, and the tracker stays bounded.
func FuzzPeople(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23})
	f.Add([]byte("person person hat phone rodent"))
	e0 := func() *Engine {
		c, err := Parse([]byte(`
plugins: [{name: p, labels: {hat: {role: attribute, region: head, means: chef_hat}}}]
tracker: {max_age: 2s}
rules:
  - {type: no_chef_hat, persistence: {hits: 1}}
  - {type: no_mask, persistence: {hits: 1}}
  - {type: phone, persistence: {hits: 1}}
  - {type: smoking, persistence: {hits: 1}}
  - {type: rodent, persistence: {hits: 1}}
  - {type: off_post, absent_for: 1s}
  - {type: intruder, persistence: {hits: 1}}
`))
		if err != nil {
			f.Fatal(err)
		}
		e, err := NewEngine("cam", c)
		if err != nil {
			f.Fatal(err)
		}
		return e
	}
	labels := []string{"person", "hat", "mask", "phone", "smoking", "rodent", "no_chef_hat", "x"}
	roles := []string{"", "person", "attribute", "object", "bogus"}
	regions := []string{"", "head", "body", "hands", "feet"}
	viols := []string{"", "no_chef_hat", "smoking", "rodent", "no_mask"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		e := e0()
		e.AllowLabels(labels...)
		t0 := time.Date(2026, 3, 4, 2, 0, 0, 0, time.UTC)
		frame := 0
		for len(data) >= 6 && frame < 64 {
			var ds []Detection
			n := int(data[0] % 8)
			data = data[1:]
			for range n {
				if len(data) < 6 {
					break
				}
				b := data[:6]
				data = data[6:]
				d := Detection{Plugin: "p", Label: labels[int(b[0])%len(labels)], Score: float64(b[1]) / 255,
					Box:   Box{float64(b[2]%200) / 200, float64(b[3]%200) / 200, float64(b[4]) / 255, float64(b[5]) / 255},
					Attrs: map[string]string{"role": roles[int(b[0]/8)%len(roles)], "region": regions[int(b[1])%len(regions)], "violation": viols[int(b[2])%len(viols)]}}
				d.Box = clampBox(d.Box)
				ds = append(ds, d)
			}
			for _, tr := range e.Observe(t0.Add(time.Duration(frame)*time.Second), ds) {
				if (attributeOf[tr.Type] != "" || withPerson[tr.Type]) != (tr.Track != "") {
					t.Fatalf("%s episode with track %q", tr.Type, tr.Track)
				}
			}
			if len(e.tracker.tracks) > MaxTracks {
				t.Fatalf("%d tracks", len(e.tracker.tracks))
			}
			frame++
		}
		e.Tick(t0.Add(time.Hour))
		e.Flush(t0.Add(2 * time.Hour))
	})
}
