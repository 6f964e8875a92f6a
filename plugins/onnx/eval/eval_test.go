package eval

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMatchingPerClass(t *testing.T) {
	e := New(0.5)
	truth := []Box{
		{Class: "person", X: 0.1, Y: 0.1, W: 0.2, H: 0.5},
		{Class: "person", X: 0.5, Y: 0.1, W: 0.2, H: 0.5},
		{Class: "chef_hat", X: 0.15, Y: 0.1, W: 0.05, H: 0.05},
	}
	preds := []Pred{
		{Box{Class: "person", X: 0.11, Y: 0.1, W: 0.2, H: 0.5}, 0.9},  // TP
		{Box{Class: "person", X: 0.12, Y: 0.1, W: 0.2, H: 0.5}, 0.8},  // duplicate: FP
		{Box{Class: "chef_hat", X: 0.5, Y: 0.1, W: 0.2, H: 0.5}, 0.9}, // right place of a person, wrong class: FP
		{Box{Class: "mask", X: 0.8, Y: 0.8, W: 0.1, H: 0.1}, 0.4},     // FP of a class with no truth
	}
	e.AddFrame(truth, preds, 3*time.Millisecond)
	r := e.Report()
	got := map[string]Row{}
	for _, x := range r.Classes {
		got[x.Name] = x
	}
	if p := got["person"]; p.TP != 1 || p.FP != 1 || p.FN != 1 || p.Precision != 0.5 || p.Recall != 0.5 {
		t.Errorf("person %+v", p)
	}
	if h := got["chef_hat"]; h.TP != 0 || h.FP != 1 || h.FN != 1 || h.F1 != 0 {
		t.Errorf("chef_hat %+v", h)
	}
	if m := got["mask"]; m.FP != 1 || m.Recall != 1 || m.Precision != 0 {
		t.Errorf("mask %+v", m)
	}
	if r.Frames != 1 || r.InferP50MS != 3 {
		t.Errorf("report %+v", r)
	}
}

func TestMatchingPrefersBestScore(t *testing.T) {
	e := New(0.5)
	truth := []Box{{Class: "rodent", X: 0.1, Y: 0.8, W: 0.05, H: 0.03}}
	// the better-scored prediction takes the label even though the other
	// overlaps it more
	e.AddFrame(truth, []Pred{
		{Box{Class: "rodent", X: 0.1, Y: 0.8, W: 0.05, H: 0.03}, 0.5},
		{Box{Class: "rodent", X: 0.105, Y: 0.8, W: 0.05, H: 0.03}, 0.9},
	}, 0)
	c := e.class["rodent"]
	if c.TP != 1 || c.FP != 1 || c.FN != 0 {
		t.Fatalf("%+v", *c)
	}
}

func TestClipTypes(t *testing.T) {
	e := New(0.5)
	e.AddClip([]string{"no_chef_hat"}, []string{"no_chef_hat"})
	e.AddClip([]string{"smoking", "no_mask"}, []string{"no_mask"})
	e.AddClip(nil, []string{"phone"})
	for range 3 {
		e.EndClip()
	}
	r := e.Report()
	want := map[string][3]int{"no_chef_hat": {1, 0, 0}, "smoking": {0, 0, 1}, "no_mask": {1, 0, 0}, "phone": {0, 1, 0}}
	if len(r.Types) != len(want) || r.Clips != 3 {
		t.Fatalf("%+v", r)
	}
	for _, x := range r.Types {
		if w := want[x.Name]; [3]int{x.TP, x.FP, x.FN} != w {
			t.Errorf("%s: %+v, want %v", x.Name, x, w)
		}
	}
	var b strings.Builder
	r.Print(&b)
	if !strings.Contains(b.String(), "smoking") || !strings.Contains(b.String(), "violation (clip)") {
		t.Fatal(b.String())
	}
}

func TestIoU(t *testing.T) {
	a := Box{X: 0, Y: 0, W: 0.2, H: 0.2}
	if v := IoU(a, a); v != 1 {
		t.Fatal(v)
	}
	if v := IoU(a, Box{X: 0.1, Y: 0, W: 0.2, H: 0.2}); math.Abs(v-1.0/3) > 1e-9 {
		t.Fatal(v)
	}
	if v := IoU(a, Box{X: 0.5, Y: 0.5, W: 0.1, H: 0.1}); v != 0 {
		t.Fatal(v)
	}
}

func TestParseLabelsRefusesBadInput(t *testing.T) {
	ok := `{"width":640,"height":360,"fps":10,"frames":[{"boxes":[{"class":"person","x":0.1,"y":0.1,"w":0.2,"h":0.5}],"violations":["no_chef_hat"]}]}`
	if _, err := ParseLabels([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"not json":     `{"width":`,
		"no frames":    `{"width":640,"height":360,"fps":10,"frames":[]}`,
		"zero size":    `{"width":0,"height":360,"fps":10,"frames":[{}]}`,
		"huge size":    `{"width":99999,"height":360,"fps":10,"frames":[{}]}`,
		"fps":          `{"width":640,"height":360,"fps":0,"frames":[{}]}`,
		"outside":      `{"width":640,"height":360,"fps":10,"frames":[{"boxes":[{"class":"p","x":0.9,"y":0.1,"w":0.2,"h":0.5}]}]}`,
		"negative":     `{"width":640,"height":360,"fps":10,"frames":[{"boxes":[{"class":"p","x":-0.1,"y":0.1,"w":0.2,"h":0.5}]}]}`,
		"empty box":    `{"width":640,"height":360,"fps":10,"frames":[{"boxes":[{"class":"p","x":0.1,"y":0.1,"w":0,"h":0.5}]}]}`,
		"class":        `{"width":640,"height":360,"fps":10,"frames":[{"boxes":[{"class":"","x":0.1,"y":0.1,"w":0.2,"h":0.5}]}]}`,
		"class spaces": `{"width":640,"height":360,"fps":10,"frames":[{"boxes":[{"class":"a b","x":0.1,"y":0.1,"w":0.2,"h":0.5}]}]}`,
		"unknown type": `{"width":640,"height":360,"fps":10,"frames":[{"violations":["sleeping"]}]}`,
		"too many boxes": `{"width":640,"height":360,"fps":10,"frames":[{"boxes":[` +
			strings.Repeat(`{"class":"p","x":0.1,"y":0.1,"w":0.2,"h":0.5},`, MaxBoxes) + `{"class":"p","x":0.1,"y":0.1,"w":0.2,"h":0.5}]}]}`,
	} {
		if _, err := ParseLabels([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseLabels(f *testing.F) {
	f.Add([]byte(`{"width":640,"height":360,"fps":10,"frames":[{"boxes":[{"class":"person","x":0.1,"y":0.1,"w":0.2,"h":0.5}]}]}`))
	f.Add([]byte(`{"frames":[{"violations":["rodent"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLabels(data)
		if err != nil {
			return
		}
		for _, fr := range l.Frames {
			for _, b := range fr.Boxes {
				if b.X < 0 || b.W <= 0 || b.X+b.W > 1+1e-6 || b.Y+b.H > 1+1e-6 {
					t.Fatalf("accepted box %+v", b)
				}
			}
		}
	})
}
