package rules

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// tracker follows boxes (people) across frames by IoU: each frame, every
// pair of a live track and a new box that overlap by at least minIoU is a
// candidate; the pairs are taken greedily, best IoU first, each track and
// each box at most once; a box left over starts a new track. A track not
// matched for longer than maxAge is forgotten, so a person who comes back
// later gets a new id. At most MaxTracks live at once (the least recently
// seen goes first).
type tracker struct {
	minIoU float64
	maxAge time.Duration
	tracks []*track
	next   uint64
}

type track struct {
	id   string
	box  Box
	seen time.Time
}

// update matches boxes, seen at at, to the tracks and returns each box's
// track id.
func (t *tracker) update(at time.Time, boxes []Box) []string {
	t.tracks = slices.DeleteFunc(t.tracks, func(tr *track) bool { return at.Sub(tr.seen) > t.maxAge })
	ids := make([]string, len(boxes))
	type pair struct {
		tr, box int
		iou     float64
	}
	var pairs []pair
	for i, tr := range t.tracks {
		for j, b := range boxes {
			if v := iou(tr.box, b); v >= t.minIoU && v > 0 {
				pairs = append(pairs, pair{i, j, v})
			}
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		switch {
		case a.iou > b.iou:
			return -1
		case a.iou < b.iou:
			return 1
		}
		return 0
	})
	usedTrack := make([]bool, len(t.tracks))
	for _, p := range pairs {
		if usedTrack[p.tr] || ids[p.box] != "" {
			continue
		}
		usedTrack[p.tr] = true
		tr := t.tracks[p.tr]
		tr.box, tr.seen = boxes[p.box], at
		ids[p.box] = tr.id
	}
	for j, b := range boxes {
		if ids[j] != "" {
			continue
		}
		t.next++
		tr := &track{id: "t" + strconv.FormatUint(t.next, 10), box: b, seen: at}
		t.tracks = append(t.tracks, tr)
		ids[j] = tr.id
	}
	if len(t.tracks) > MaxTracks {
		slices.SortStableFunc(t.tracks, func(a, b *track) int { return b.seen.Compare(a.seen) })
		t.tracks = t.tracks[:MaxTracks]
	}
	return ids
}

// area of a box; 0 for an empty or degenerate one.
func area(b Box) float64 { return math.Max(b.W, 0) * math.Max(b.H, 0) }

// intersection is the area two boxes share.
func intersection(a, b Box) float64 {
	w := math.Min(a.X+a.W, b.X+b.W) - math.Max(a.X, b.X)
	h := math.Min(a.Y+a.H, b.Y+b.H) - math.Max(a.Y, b.Y)
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// iou is the intersection over union of two boxes, 0 when both are empty.
func iou(a, b Box) float64 {
	i := intersection(a, b)
	u := area(a) + area(b) - i
	if u <= 0 {
		return 0
	}
	return i / u
}

// inside is the fraction of a that lies in b: 1 when a is wholly inside.
// A box of no area counts by its centre.
func inside(a, b Box) float64 {
	if ar := area(a); ar > 0 {
		return intersection(a, b) / ar
	}
	cx, cy := a.X+a.W/2, a.Y+a.H/2
	if cx >= b.X && cx <= b.X+b.W && cy >= b.Y && cy <= b.Y+b.H {
		return 1
	}
	return 0
}
