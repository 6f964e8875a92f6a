package eval

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"time"
)

// Pred is one detection of a frame, in the same terms as a Box, with its
// score.
type Pred struct {
	Box
	Score float64
}

// Counts are matches of one class or type.
type Counts struct {
	TP, FP, FN int
}

// Precision is TP/(TP+FP): 1 when nothing was claimed.
func (c Counts) Precision() float64 {
	if c.TP+c.FP == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FP)
}

// Recall is TP/(TP+FN): 1 when there was nothing to find.
func (c Counts) Recall() float64 {
	if c.TP+c.FN == 0 {
		return 1
	}
	return float64(c.TP) / float64(c.TP+c.FN)
}

// F1 is the harmonic mean of precision and recall.
func (c Counts) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Support is how many there were to find.
func (c Counts) Support() int { return c.TP + c.FN }

// Evaluator accumulates frames and clips. The zero value is not ready:
// use New.
type Evaluator struct {
	iou    float64
	class  map[string]*Counts
	typ    map[string]*Counts
	times  []time.Duration
	frames int
	clips  int
}

// New returns an evaluator matching boxes at IoU ≥ iou (0.5 is usual).
func New(iou float64) *Evaluator {
	return &Evaluator{iou: iou, class: map[string]*Counts{}, typ: map[string]*Counts{}}
}

func counts(m map[string]*Counts, k string) *Counts {
	c := m[k]
	if c == nil {
		c = &Counts{}
		m[k] = c
	}
	return c
}

// AddFrame matches one frame's predictions to its labels, class by class:
// best score first, each to the unmatched label of its class it overlaps
// most, if that overlap reaches the IoU threshold. took is the model's
// time on the frame.
func (e *Evaluator) AddFrame(truth []Box, preds []Pred, took time.Duration) {
	e.frames++
	e.times = append(e.times, took)
	preds = slices.Clone(preds)
	slices.SortStableFunc(preds, func(a, b Pred) int { return cmp.Compare(b.Score, a.Score) })
	used := make([]bool, len(truth))
	for _, p := range preds {
		best, bi := e.iou, -1
		for i, t := range truth {
			if used[i] || t.Class != p.Class {
				continue
			}
			if v := IoU(t, p.Box); v >= best {
				best, bi = v, i
			}
		}
		if bi < 0 {
			counts(e.class, p.Class).FP++
			continue
		}
		used[bi] = true
		counts(e.class, p.Class).TP++
	}
	for i, t := range truth {
		if !used[i] {
			counts(e.class, t.Class).FN++
		}
	}
}

// EndClip counts a clip evaluated.
func (e *Evaluator) EndClip() { e.clips++ }

// AddClip compares the violation types a clip shows with those raised.
func (e *Evaluator) AddClip(truth, raised []string) {
	for _, t := range truth {
		if slices.Contains(raised, t) {
			counts(e.typ, t).TP++
		} else {
			counts(e.typ, t).FN++
		}
	}
	for _, r := range raised {
		if !slices.Contains(truth, r) {
			counts(e.typ, r).FP++
		}
	}
}

// IoU is the intersection over union of two boxes.
func IoU(a, b Box) float64 {
	ix := min(a.X+a.W, b.X+b.W) - max(a.X, b.X)
	iy := min(a.Y+a.H, b.Y+b.H) - max(a.Y, b.Y)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	in := ix * iy
	return in / (a.W*a.H + b.W*b.H - in)
}

// Row is one class's or type's figures.
type Row struct {
	Name      string  `json:"name"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Report is what an evaluation found.
type Report struct {
	Clips   int   `json:"clips"`
	Frames  int   `json:"frames"`
	Classes []Row `json:"classes"`
	Types   []Row `json:"violation_types"`
	// Inference time per frame (the model's run only), milliseconds.
	InferP50MS  float64 `json:"infer_p50_ms"`
	InferMeanMS float64 `json:"infer_mean_ms"`
}

func rows(m map[string]*Counts) []Row {
	var out []Row
	for k, c := range m {
		out = append(out, Row{k, c.TP, c.FP, c.FN, c.Precision(), c.Recall(), c.F1()})
	}
	slices.SortFunc(out, func(a, b Row) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Report returns the figures so far.
func (e *Evaluator) Report() Report {
	r := Report{Clips: e.clips, Frames: e.frames, Classes: rows(e.class), Types: rows(e.typ)}
	if len(e.times) > 0 {
		ts := slices.Clone(e.times)
		slices.Sort(ts)
		var sum time.Duration
		for _, t := range ts {
			sum += t
		}
		r.InferP50MS = float64(ts[len(ts)/2].Microseconds()) / 1000
		r.InferMeanMS = float64(sum.Microseconds()) / 1000 / float64(len(ts))
	}
	return r
}

// Print writes the report as tables.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%d clips, %d frames; inference per frame: p50 %.1f ms, mean %.1f ms\n", r.Clips, r.Frames, r.InferP50MS, r.InferMeanMS)
	table := func(title string, rs []Row) {
		fmt.Fprintf(w, "\n%-16s %6s %6s %6s %9s %7s %6s\n", title, "TP", "FP", "FN", "precision", "recall", "F1")
		for _, x := range rs {
			fmt.Fprintf(w, "%-16s %6d %6d %6d %9.3f %7.3f %6.3f\n", x.Name, x.TP, x.FP, x.FN, x.Precision, x.Recall, x.F1)
		}
	}
	table("class (IoU)", r.Classes)
	if len(r.Types) > 0 {
		table("violation (clip)", r.Types)
	}
}
