package rules

import (
	"crypto/rand"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/oklog/ulid/v2"
)

// Transition is one step of an episode: its start, an update, or its end.
type Transition struct {
	// Phase is wire.PhaseStart, wire.PhaseUpdate or wire.PhaseEnd.
	Phase string
	// Type is the violation type.
	Type string
	// Episode is the episode's id, a ULID made at its start; the start's
	// event carries it as its event_id, later events as their episode.
	Episode string
	// Score is the highest score seen in the episode so far.
	Score float64
	// Boxes are the boxes of this frame's hits (none for an end), at most
	// wire.MaxBoxes, highest score first.
	Boxes []Box
	// Hits are the detections behind Boxes, in the same order.
	Hits []Detection
	// StartedAt is the time of the first hit in the persistence window
	// that started the episode.
	StartedAt time.Time
	// EndedAt is the time of the episode's last hit; zero unless Phase is
	// end.
	EndedAt time.Time
	// At is when the transition was made: the frame's time, or the Tick's.
	At time.Time
	// Frame is true when the transition should carry a snapshot of this
	// frame: the start.
	Frame bool
}

// WireBoxes is Hits as the event payload's boxes, with label and score.
func (t Transition) WireBoxes() []wire.Box {
	if len(t.Hits) == 0 {
		return nil
	}
	out := make([]wire.Box, 0, min(len(t.Hits), wire.MaxBoxes))
	for _, d := range t.Hits[:min(len(t.Hits), wire.MaxBoxes)] {
		b := clampBox(d.Box)
		out = append(out, wire.Box{X: b.X, Y: b.Y, W: b.W, H: b.H, Label: d.Label, Score: d.Score})
	}
	return out
}

// Stats are an Engine's counters since it was made.
type Stats struct {
	Observed   uint64 // frames observed
	Detections uint64 // detections received
	Dropped    uint64 // detections dropped by Sanitize
	Hits       uint64 // detections that matched a rule
	Started    uint64 // episodes started
	Updated    uint64 // updates sent
	Ended      uint64 // episodes ended
	Suppressed uint64 // frames whose start was held back by a cooldown
}

// Engine applies one camera's rules to its frames. It is safe for
// concurrent use, though frames should be observed in time order.
type Engine struct {
	camera string

	mu      sync.Mutex
	hours   hours
	rules   []*rule
	types   []*episode // one per violation type, in order of first rule
	allowed map[string]bool
	entropy io.Reader
	stats   Stats
}

// rule is a Rule with defaults applied and its persistence window.
type rule struct {
	Rule
	zone polygon
	ep   *episode
	// ring of the last Window frames: hit or not, and when
	hit  []bool
	at   []time.Time
	pos  int
	hits int
}

func (r *rule) record(hit bool, at time.Time) {
	if r.hit[r.pos] {
		r.hits--
	}
	r.hit[r.pos], r.at[r.pos] = hit, at
	if hit {
		r.hits++
	}
	r.pos = (r.pos + 1) % len(r.hit)
}

// firstHit is the earliest hit time in the window.
func (r *rule) firstHit() time.Time {
	var first time.Time
	for i, h := range r.hit {
		if h && (first.IsZero() || r.at[i].Before(first)) {
			first = r.at[i]
		}
	}
	return first
}

func (r *rule) reset() {
	clear(r.hit)
	r.hits = 0
}

// episode is the state of one violation type on the camera.
type episode struct {
	typ                             string
	cooldown, endAfter, updateEvery time.Duration
	rules                           []*rule

	active     bool
	id         string
	startedAt  time.Time
	lastHit    time.Time
	lastUpdate time.Time
	score      float64
	coolUntil  time.Time

	frame []int // indexes of this frame's hits into the kept detections
}

// NewEngine builds the engine of camera cameraID from its detect section,
// which it validates. Rules of the same type share one episode; its
// cooldown, end_after and update_every come from the first of them.
func NewEngine(cameraID string, c CameraRules) (*Engine, error) {
	if err := c.Validate("detect"); err != nil {
		return nil, err
	}
	var l errorList
	h := c.Schedule.compile("detect.schedule", &l)
	e := &Engine{
		camera:  cameraID,
		hours:   h,
		allowed: make(map[string]bool),
		entropy: ulid.Monotonic(rand.Reader, 0),
	}
	byType := map[string]*episode{}
	for _, cr := range c.Rules {
		r := &rule{Rule: cr.WithDefaults()}
		r.zone = newPolygon(r.Zone)
		r.hit = make([]bool, r.Persistence.Window)
		r.at = make([]time.Time, r.Persistence.Window)
		ep := byType[r.Type]
		if ep == nil {
			ep = &episode{typ: r.Type, cooldown: r.Cooldown, endAfter: r.EndAfter, updateEvery: r.UpdateEvery}
			byType[r.Type] = ep
			e.types = append(e.types, ep)
		}
		ep.rules = append(ep.rules, r)
		r.ep = ep
		e.rules = append(e.rules, r)
		e.allowed[r.Label] = true
	}
	return e, nil
}

// CameraID is the camera the engine watches.
func (e *Engine) CameraID() string { return e.camera }

// AllowLabels adds labels a plugin declared, so that detections with them
// are not counted as dropped even when no rule uses them.
func (e *Engine) AllowLabels(labels ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range labels {
		if validLabel(l) {
			e.allowed[l] = true
		}
	}
}

// Labels are the labels the rules use, sorted.
func (e *Engine) Labels() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, r := range e.rules {
		if !slices.Contains(out, r.Label) {
			out = append(out, r.Label)
		}
	}
	slices.Sort(out)
	return out
}

// Operating reports whether at is inside the camera's operating hours.
func (e *Engine) Operating(at time.Time) bool { return e.hours.operating(at) }

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Observe takes the detections of the frame captured at at and returns the
// transitions it causes, in rule order.
func (e *Engine) Observe(at time.Time, ds []Detection) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Observed++
	e.stats.Detections += uint64(len(ds))
	kept, dropped := Sanitize(ds, e.allowed)
	e.stats.Dropped += uint64(dropped)

	operating := e.hours.operating(at)
	for _, ep := range e.types {
		ep.frame = ep.frame[:0]
	}
	for _, r := range e.rules {
		hit := false
		if r.applies(operating) {
			for i := range kept {
				if r.matches(&kept[i]) {
					hit = true
					if !slices.Contains(r.ep.frame, i) {
						r.ep.frame = append(r.ep.frame, i)
						e.stats.Hits++
					}
				}
			}
		}
		r.record(hit, at)
	}

	var out []Transition
	for _, ep := range e.types {
		hit := len(ep.frame) > 0
		switch {
		case ep.active && hit:
			ep.lastHit = at
			ep.score = math.Max(ep.score, e.frameScore(ep, kept))
			if at.Sub(ep.lastUpdate) >= ep.updateEvery {
				ep.lastUpdate = at
				e.stats.Updated++
				out = append(out, e.transition(ep, wire.PhaseUpdate, at, kept))
			}
		case ep.active:
			if t, ok := e.maybeEnd(ep, at); ok {
				out = append(out, t)
			}
		case hit:
			var started *rule
			for _, r := range ep.rules {
				if r.hits >= r.Persistence.Hits {
					started = r
					break
				}
			}
			if started == nil {
				break
			}
			if at.Before(ep.coolUntil) {
				e.stats.Suppressed++
				break
			}
			ep.active = true
			ep.id = e.newID(at)
			ep.startedAt = started.firstHit()
			ep.lastHit, ep.lastUpdate = at, at
			ep.score = e.frameScore(ep, kept)
			e.stats.Started++
			t := e.transition(ep, wire.PhaseStart, at, kept)
			t.Frame = true
			out = append(out, t)
		}
	}
	return out
}

// Tick ends the episodes that saw no hit for their end_after; call it
// periodically, so episodes end when frames stop arriving.
func (e *Engine) Tick(at time.Time) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	for _, ep := range e.types {
		if t, ok := e.maybeEnd(ep, at); ok {
			out = append(out, t)
		}
	}
	return out
}

// Flush ends every open episode now, e.g. before the engine is replaced by
// a reload or the gateway stops.
func (e *Engine) Flush(at time.Time) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	for _, ep := range e.types {
		if ep.active {
			out = append(out, e.end(ep, at))
		}
	}
	return out
}

func (e *Engine) maybeEnd(ep *episode, at time.Time) (Transition, bool) {
	if !ep.active || at.Sub(ep.lastHit) < ep.endAfter {
		return Transition{}, false
	}
	return e.end(ep, at), true
}

func (e *Engine) end(ep *episode, at time.Time) Transition {
	t := Transition{
		Phase: wire.PhaseEnd, Type: ep.typ, Episode: ep.id, Score: ep.score,
		StartedAt: ep.startedAt, EndedAt: ep.lastHit, At: at,
	}
	ep.active = false
	ep.coolUntil = at.Add(ep.cooldown)
	for _, r := range ep.rules {
		r.reset()
	}
	e.stats.Ended++
	return t
}

// transition describes ep with this frame's hits, highest score first.
func (e *Engine) transition(ep *episode, phase string, at time.Time, kept []Detection) Transition {
	hits := make([]Detection, len(ep.frame))
	for i, k := range ep.frame {
		hits[i] = kept[k]
	}
	slices.SortStableFunc(hits, func(a, b Detection) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	hits = hits[:min(len(hits), wire.MaxBoxes)]
	boxes := make([]Box, len(hits))
	for i, d := range hits {
		boxes[i] = d.Box
	}
	return Transition{
		Phase: phase, Type: ep.typ, Episode: ep.id, Score: ep.score,
		Boxes: boxes, Hits: hits, StartedAt: ep.startedAt, At: at,
	}
}

func (e *Engine) frameScore(ep *episode, kept []Detection) float64 {
	s := 0.0
	for _, k := range ep.frame {
		s = math.Max(s, kept[k].Score)
	}
	return s
}

// newID makes a ULID stamped with at (or now, when at cannot be one).
func (e *Engine) newID(at time.Time) string {
	if at.Unix() >= 0 {
		if id, err := ulid.New(ulid.Timestamp(at), e.entropy); err == nil {
			return id.String()
		}
	}
	return ulid.Make().String()
}

// applies reports whether the rule is in force given the schedule.
func (r *rule) applies(operating bool) bool {
	switch r.When {
	case WhenOperating:
		return operating
	case WhenAfterHours:
		return !operating
	}
	return true
}

// matches reports whether d is a hit for the rule.
func (r *rule) matches(d *Detection) bool {
	if d.Label != r.Label || d.Score < r.MinScore || r.Plugin != "" && d.Plugin != r.Plugin {
		return false
	}
	return r.zone.contains(d.Box.BottomCentre())
}
