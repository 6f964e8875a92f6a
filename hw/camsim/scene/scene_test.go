package scene_test

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
	"testing"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/hw/camsim/scene"
)

// Each named scene shows what its name says, in every frame, and nothing
// else; the staff kitchen shows no violation at all.
func TestNamedScenesShowTheirViolation(t *testing.T) {
	want := map[string][]string{
		"staff": nil, "no-hat": {"no_chef_hat"}, "no-mask": {"no_mask"}, "no-uniform": {"no_uniform"},
		"phone": {"phone"}, "smoking": {"no_mask", "smoking"}, "rodent": {"rodent"}, "bin-open": {"bin_uncovered"},
	}
	if got := scene.Names(); !slices.Equal(got, []string{"bin-open", "no-hat", "no-mask", "no-uniform", "phone", "rodent", "smoking", "staff"}) {
		t.Fatalf("Names() = %v", got)
	}
	for name, w := range want {
		for _, seed := range []uint64{0, 7} {
			for i := range scene.Frames(name) {
				img, tr, err := scene.Render(name, seed, i)
				if err != nil {
					t.Fatal(err)
				}
				if img.Rect.Dx() != scene.Width || img.Rect.Dy() != scene.Height {
					t.Fatalf("%s: size %v", name, img.Rect)
				}
				if !slices.Equal(tr.Violations, w) {
					t.Fatalf("%s seed %d frame %d: violations %v, want %v", name, seed, i, tr.Violations, w)
				}
				checkBoxes(t, name, tr)
			}
		}
	}
}

func checkBoxes(t *testing.T, name string, tr scene.Truth) {
	t.Helper()
	for _, b := range tr.Boxes {
		if !slices.Contains(scene.Classes, b.Class) || b.X0 < 0 || b.Y0 < 0 || b.X1 > scene.Width || b.Y1 > scene.Height ||
			b.X1-b.X0 < 3 || b.Y1-b.Y0 < 3 {
			t.Fatalf("%s: box %+v", name, b)
		}
	}
}

// Rendering is deterministic, seeds differ, and random kitchens show every
// class over a few hundred frames.
func TestRenderDeterministicAndVaried(t *testing.T) {
	a, ta, _ := scene.Render(scene.Random, 3, 11)
	b, tb, _ := scene.Render(scene.Random, 3, 11)
	if !bytes.Equal(a.Pix, b.Pix) || !slices.Equal(ta.Violations, tb.Violations) || len(ta.Boxes) != len(tb.Boxes) {
		t.Fatal("the same frame rendered twice differs")
	}
	c, _, _ := scene.Render(scene.Random, 4, 11)
	if bytes.Equal(a.Pix, c.Pix) {
		t.Fatal("seeds 3 and 4 render the same frame")
	}
	n, _, _ := scene.Render("no-hat", 0, 0)
	j, _, _ := scene.Render("no-hat", 9, 0)
	if bytes.Equal(n.Pix, j.Pix) {
		t.Fatal("a seed does not change a named scene")
	}
	seen := map[string]int{}
	for i := range 300 {
		_, tr, _ := scene.Render(scene.Random, 1, i)
		checkBoxes(t, "random", tr)
		for _, b := range tr.Boxes {
			seen[b.Class]++
		}
	}
	for _, c := range scene.Classes {
		if seen[c] < 10 {
			t.Errorf("class %s in %d boxes of 300 random frames", c, seen[c])
		}
	}
	if _, _, err := scene.Render("garage", 0, 0); err == nil {
		t.Fatal("unknown scene rendered")
	}
}

// The clips camsim serves for the named scenes are these scenes (seed 0)
// as Encode makes them, so their truth is Render's: a drift means
// scripts/make-clips.sh must be run again.
func TestServedClipsAreTheScenes(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/deps.sh installs it)")
	}
	for _, name := range scene.Names() {
		clip, ts, err := scene.Encode(context.Background(), name, 0, scene.Frames(name), 20)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != scene.Frames(name) {
			t.Fatalf("%s: %d truths", name, len(ts))
		}
		aus, err := camsim.SplitAccessUnits(camsim.CodecH264, clip)
		if err != nil {
			t.Fatal(err)
		}
		served, err := camsim.Clip(name, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(aus) != len(served.AccessUnits) {
			t.Fatalf("%s: %d access units rendered, %d served", name, len(aus), len(served.AccessUnits))
		}
		for i := range aus {
			if !slices.EqualFunc(aus[i], served.AccessUnits[i], bytes.Equal) {
				t.Fatalf("%s: access unit %d differs from the served clip: run scripts/make-clips.sh", name, i)
			}
		}
	}
}
