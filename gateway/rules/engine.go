package rules

// Long file: the engine's per-camera state machine (tracks, persistence,
// cooldown, episodes) is one piece of state that every method touches.

import (
	"cmp"
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
	// Track is the person the episode is about, for the types about people
	// (no_chef_hat, ..., smoking, phone): the tracker's id ("t12"), or
	// "p:<plugin>:<id>" for a plugin's own track id. Empty for the types
	// watched on the camera as a whole.
	Track string
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
	Tracks     uint64 // tracks of people started
}

// Engine applies one camera's rules to its frames. It is safe for
// concurrent use, though frames should be observed in time order.
type Engine struct {
	camera string

	mu       sync.Mutex
	hours    hours
	rules    []*rule
	types    []*typeState // one per violation type, in order of first rule
	allowed  map[string]bool
	entropy  io.Reader
	stats    Stats
	tracking Tracker
	tracker  tracker
	// labelRoles are the camera's label maps, by plugin name.
	labelRoles map[string]map[string]LabelRole
	// declared are the attributes some plugin on the camera can see.
	declared map[string]bool
	// directLabels are the labels of "person without X" rules.
	directLabels map[string]bool
}

// kind is how a rule finds its hits.
type kind int

const (
	kindLabel      kind = iota // a detection of the label, anywhere (objects alone, motion, camera health)
	kindAttribute              // a person without the attribute, or a "person without X" class
	kindWithPerson             // an object on a person
	kindAbsent                 // nobody in the zone for a while (off_post)
	kindPresent                // anybody in the zone (intruder)
)

func kindOf(typ string) kind {
	switch {
	case attributeOf[typ] != "":
		return kindAttribute
	case withPerson[typ]:
		return kindWithPerson
	case typ == "off_post":
		return kindAbsent
	case typ == "intruder":
		return kindPresent
	}
	return kindLabel
}

// rule is a Rule with defaults applied, its zone and hours compiled, and
// its persistence windows, one per subject: a tracked person, or "" for the
// camera as a whole.
type rule struct {
	Rule
	kind  kind
	zone  polygon
	hours *hours // nil: When decides
	st    *typeState
	wins  map[string]*window
	// off_post: since when nobody was in the zone, and the zone's
	// bounding box (drawn on its snapshot)
	absentSince time.Time
	zoneBox     Box
}

// window is a persistence window: the last Window frames, hit or not, and
// when.
type window struct {
	hit  []bool
	at   []time.Time
	pos  int
	hits int
}

func newWindow(n int) *window { return &window{hit: make([]bool, n), at: make([]time.Time, n)} }

func (w *window) record(hit bool, at time.Time) {
	if w.hit[w.pos] {
		w.hits--
	}
	w.hit[w.pos], w.at[w.pos] = hit, at
	if hit {
		w.hits++
	}
	w.pos = (w.pos + 1) % len(w.hit)
}

// firstHit is the earliest hit time in the window.
func (w *window) firstHit() time.Time {
	var first time.Time
	for i, h := range w.hit {
		if h && (first.IsZero() || w.at[i].Before(first)) {
			first = w.at[i]
		}
	}
	return first
}

// typeState is one violation type on the camera: its rules and its
// episodes, one per subject.
type typeState struct {
	typ                             string
	cooldown, endAfter, updateEvery time.Duration
	tracked                         bool // episodes per person
	rules                           []*rule
	eps                             map[string]*episode
	order                           []*episode // eps in the order they were made
}

// episode is the state of one violation type for one subject.
type episode struct {
	key        string // the subject's track; "" for the camera as a whole
	active     bool
	id         string
	startedAt  time.Time
	lastHit    time.Time
	lastUpdate time.Time
	score      float64
	coolUntil  time.Time

	frame []int // indexes of this frame's hits into the frame's detections
}

func (st *typeState) episode(key string) *episode {
	ep := st.eps[key]
	if ep == nil {
		ep = &episode{key: key}
		st.eps[key] = ep
		st.order = append(st.order, ep)
	}
	return ep
}

// NewEngine builds the engine of camera cameraID from its detect section,
// which it validates. Rules of the same type share episodes (one per
// camera, or one per person for the types about people); their cooldown,
// end_after and update_every come from the first of them.
func NewEngine(cameraID string, c CameraRules) (*Engine, error) {
	if err := c.Validate("detect"); err != nil {
		return nil, err
	}
	var l errorList
	h := c.Schedule.compile("detect.schedule", &l)
	tc := c.Tracker.WithDefaults()
	e := &Engine{
		camera:       cameraID,
		hours:        h,
		allowed:      make(map[string]bool),
		entropy:      ulid.Monotonic(rand.Reader, 0),
		tracking:     tc,
		tracker:      tracker{minIoU: tc.MinIoU, maxAge: tc.MaxAge},
		labelRoles:   make(map[string]map[string]LabelRole),
		declared:     make(map[string]bool),
		directLabels: make(map[string]bool),
	}
	for _, p := range c.Plugins {
		if len(p.Labels) == 0 {
			continue
		}
		e.labelRoles[p.Name] = p.Labels
		for label, lr := range p.Labels {
			e.allowed[label] = true
			if lr.Role == RoleAttribute {
				e.declared[cmp.Or(lr.Means, label)] = true
			}
		}
	}
	byType := map[string]*typeState{}
	for _, cr := range c.Rules {
		r := &rule{Rule: cr.WithDefaults(), wins: make(map[string]*window)}
		r.kind = kindOf(r.Type)
		r.zone = newPolygon(r.Zone)
		r.zoneBox = r.zone.bounds()
		if len(r.Hours) > 0 {
			rh := hours{loc: h.loc, spans: compileHours("", r.Hours, allDays, &l)}
			r.hours = &rh
		}
		st := byType[r.Type]
		if st == nil {
			st = &typeState{typ: r.Type, cooldown: r.Cooldown, endAfter: r.EndAfter, updateEvery: r.UpdateEvery,
				tracked: r.kind == kindAttribute || r.kind == kindWithPerson, eps: make(map[string]*episode)}
			byType[r.Type] = st
			e.types = append(e.types, st)
		}
		st.rules = append(st.rules, r)
		r.st = st
		e.rules = append(e.rules, r)
		e.allowed[r.Label] = true
		if r.kind != kindLabel {
			e.allowed["person"] = true // the default person label
		}
		if r.kind == kindAttribute {
			e.directLabels[r.Label] = true
		}
	}
	return e, nil
}

// CameraID is the camera the engine watches.
func (e *Engine) CameraID() string { return e.camera }

// AllowLabels adds labels a plugin declared, so that detections with them
// are not counted as dropped even when no rule uses them. A declared label
// also tells the rules about people which attributes the camera's models
// can see: a rule checks people for an attribute only when some label
// means it (the label itself, or its means in the label map).
func (e *Engine) AllowLabels(labels ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range labels {
		if validLabel(l) {
			e.allowed[l] = true
			e.declared[l] = true
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
// transitions it causes, in rule order (and, within a type, in the order
// its subjects were first seen).
func (e *Engine) Observe(at time.Time, ds []Detection) []Transition {
	return e.ObservePartial(at, ds, nil)
}

// ObservePartial is Observe for a frame that the plugins named in failed
// did not answer (an error, a deadline, a relaunch). A rule that concludes
// from what is missing, off_post, cannot tell nobody from a blind plugin:
// such a frame restarts its count.
func (e *Engine) ObservePartial(at time.Time, ds []Detection, failed []string) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Observed++
	e.stats.Detections += uint64(len(ds))
	kept, dropped := Sanitize(ds, e.allowed)
	e.stats.Dropped += uint64(dropped)

	next := e.tracker.next
	f := e.prepare(at, kept)
	e.stats.Tracks += e.tracker.next - next

	operating := e.hours.operating(at)
	for _, st := range e.types {
		for _, ep := range st.order {
			ep.frame = ep.frame[:0]
		}
	}
	for _, r := range e.rules {
		var hits []subjectHits
		blind := r.kind == kindAbsent && len(failed) > 0 && (r.Plugin == "" || slices.Contains(failed, r.Plugin))
		if r.applies(at, operating) && !blind {
			hits = r.evaluate(e, f, at)
		} else {
			r.absentSince = time.Time{}
		}
		for _, h := range hits {
			ep := r.st.episode(h.key)
			for _, i := range h.idx {
				if !slices.Contains(ep.frame, i) {
					ep.frame = append(ep.frame, i)
					e.stats.Hits++
				}
			}
			w := r.wins[h.key]
			if w == nil {
				w = newWindow(r.Persistence.Window)
				r.wins[h.key] = w
			}
			w.record(true, at)
		}
		for key, w := range r.wins {
			if !slices.ContainsFunc(hits, func(h subjectHits) bool { return h.key == key }) {
				w.record(false, at)
			}
		}
	}

	var out []Transition
	for _, st := range e.types {
		for _, ep := range st.order {
			out = e.step(st, ep, at, f.dets, out)
		}
		e.forget(st, at)
	}
	return out
}

// step moves one episode on by one frame.
func (e *Engine) step(st *typeState, ep *episode, at time.Time, dets []Detection, out []Transition) []Transition {
	hit := len(ep.frame) > 0
	switch {
	case ep.active && hit:
		ep.lastHit = at
		ep.score = math.Max(ep.score, frameScore(ep, dets))
		if at.Sub(ep.lastUpdate) >= st.updateEvery {
			ep.lastUpdate = at
			e.stats.Updated++
			out = append(out, e.transition(st, ep, wire.PhaseUpdate, at, dets))
		}
	case ep.active:
		if t, ok := e.maybeEnd(st, ep, at); ok {
			out = append(out, t)
		}
	case hit:
		var started *window
		for _, r := range st.rules {
			if w := r.wins[ep.key]; w != nil && w.hits >= r.Persistence.Hits {
				started = w
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
		ep.score = frameScore(ep, dets)
		e.stats.Started++
		t := e.transition(st, ep, wire.PhaseStart, at, dets)
		t.Frame = true
		out = append(out, t)
	}
	return out
}

// forget drops the state of subjects that have nothing left to remember:
// windows without hits, and episodes not running, not cooling down and
// without a window.
func (e *Engine) forget(st *typeState, at time.Time) {
	for _, r := range st.rules {
		for key, w := range r.wins {
			if w.hits == 0 {
				delete(r.wins, key)
			}
		}
	}
	st.order = slices.DeleteFunc(st.order, func(ep *episode) bool {
		if ep.active || at.Before(ep.coolUntil) {
			return false
		}
		for _, r := range st.rules {
			if r.wins[ep.key] != nil {
				return false
			}
		}
		delete(st.eps, ep.key)
		return true
	})
	// a tracker that keeps losing people could leave many subjects cooling
	// down: past maxSubjects, the oldest that are not running go
	for i := 0; len(st.order) > maxSubjects && i < len(st.order); {
		ep := st.order[i]
		if ep.active {
			i++
			continue
		}
		for _, r := range st.rules {
			delete(r.wins, ep.key)
		}
		delete(st.eps, ep.key)
		st.order = slices.Delete(st.order, i, i+1)
	}
}

// maxSubjects bounds the subjects one type remembers on one camera.
const maxSubjects = 4 * MaxTracks

// Tick ends the episodes that saw no hit for their end_after; call it
// periodically, so episodes end when frames stop arriving.
func (e *Engine) Tick(at time.Time) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	for _, st := range e.types {
		for _, ep := range st.order {
			if t, ok := e.maybeEnd(st, ep, at); ok {
				out = append(out, t)
			}
		}
		e.forget(st, at)
	}
	return out
}

// Flush ends every open episode now, e.g. before the engine is replaced by
// a reload or the gateway stops.
func (e *Engine) Flush(at time.Time) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	for _, st := range e.types {
		for _, ep := range st.order {
			if ep.active {
				out = append(out, e.end(st, ep, at))
			}
		}
	}
	return out
}

func (e *Engine) maybeEnd(st *typeState, ep *episode, at time.Time) (Transition, bool) {
	if !ep.active || at.Sub(ep.lastHit) < st.endAfter {
		return Transition{}, false
	}
	return e.end(st, ep, at), true
}

func (e *Engine) end(st *typeState, ep *episode, at time.Time) Transition {
	t := Transition{
		Phase: wire.PhaseEnd, Type: st.typ, Episode: ep.id, Track: ep.key, Score: ep.score,
		StartedAt: ep.startedAt, EndedAt: ep.lastHit, At: at,
	}
	ep.active = false
	ep.coolUntil = at.Add(st.cooldown)
	for _, r := range st.rules {
		delete(r.wins, ep.key)
	}
	e.stats.Ended++
	return t
}

// transition describes ep with this frame's hits, highest score first.
func (e *Engine) transition(st *typeState, ep *episode, phase string, at time.Time, dets []Detection) Transition {
	hits := make([]Detection, len(ep.frame))
	for i, k := range ep.frame {
		hits[i] = dets[k]
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
		Phase: phase, Type: st.typ, Episode: ep.id, Track: ep.key, Score: ep.score,
		Boxes: boxes, Hits: hits, StartedAt: ep.startedAt, At: at,
	}
}

func frameScore(ep *episode, dets []Detection) float64 {
	s := 0.0
	for _, k := range ep.frame {
		s = math.Max(s, dets[k].Score)
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

// applies reports whether the rule is in force at at, given whether the
// camera is operating then.
func (r *rule) applies(at time.Time, operating bool) bool {
	if r.hours != nil {
		return r.hours.operating(at)
	}
	switch r.When {
	case WhenOperating:
		return operating
	case WhenAfterHours:
		return !operating
	}
	return true
}

// subjectHits are the detections behind one subject's hit in one frame.
type subjectHits struct {
	key string
	idx []int
}

// evaluate finds the rule's hits in frame f, by subject, in detection
// order. An off_post hit is a detection the rule makes (label off_post,
// the zone's bounding box), appended to f.dets.
func (r *rule) evaluate(e *Engine, f *frame, at time.Time) []subjectHits {
	var out []subjectHits
	add := func(key string, idx ...int) {
		for k := range out {
			if out[k].key == key {
				out[k].idx = append(out[k].idx, idx...)
				return
			}
		}
		out = append(out, subjectHits{key, idx})
	}
	from := func(d *Detection) bool { return r.Plugin == "" || d.Plugin == r.Plugin }
	inZone := func(i int) bool { return r.zone.contains(f.dets[i].Box.BottomCentre()) }

	switch r.kind {
	case kindLabel:
		for i := range f.dets {
			d := &f.dets[i]
			if d.Label == r.Label && d.Score >= r.MinScore && from(d) && inZone(i) {
				add("", i)
			}
		}

	case kindAttribute:
		// a "person without X" class: on the person it belongs to
		for i := range f.dets {
			d := &f.dets[i]
			if (f.roles[i].violation == r.Type || d.Label == r.Label) &&
				d.Score >= r.MinScore && from(d) {
				s, key := f.subject(i)
				if key != "" && inZone(s) {
					add(key, i)
				}
			}
		}
		// a person without the attribute, when the camera's models can see it
		if !e.declared[r.Attribute] {
			break
		}
		for _, p := range f.people {
			if f.roles[p].violation != "" || !from(&f.dets[p]) || !inZone(p) || f.track[p] == "" {
				continue
			}
			if !f.hasAttribute(p, r.Attribute, r.AttributeScore) {
				add(f.track[p], p)
			}
		}

	case kindWithPerson:
		for i := range f.dets {
			d := &f.dets[i]
			if d.Score < r.MinScore || !from(d) {
				continue
			}
			if f.roles[i].violation == r.Type { // a "person smoking" class
				if s, key := f.subject(i); key != "" && inZone(s) {
					add(key, i)
				}
				continue
			}
			if d.Label != r.Label || f.roles[i].kind == RolePerson {
				continue
			}
			if p := f.holder(d.Box, r.MinOverlap); p >= 0 && f.track[p] != "" && inZone(p) {
				add(f.track[p], i, p)
			}
		}

	case kindPresent:
		for i := range f.dets {
			d := &f.dets[i]
			person := f.roles[i].kind == RolePerson && d.Score >= e.tracking.MinScore
			if (person || d.Label == r.Label) && d.Score >= r.MinScore && from(d) && inZone(i) {
				add("", i)
			}
		}

	case kindAbsent:
		for _, p := range f.people {
			if from(&f.dets[p]) && inZone(p) {
				r.absentSince = time.Time{}
				return nil
			}
		}
		if r.absentSince.IsZero() {
			r.absentSince = at
		}
		if at.Sub(r.absentSince) >= r.AbsentFor {
			f.dets = append(f.dets, Detection{Label: r.Type, Score: 1, Box: r.zoneBox,
				Attrs: map[string]string{"absent_since": r.absentSince.UTC().Format(time.RFC3339)}})
			f.roles = append(f.roles, role{kind: RoleObject})
			f.owner = append(f.owner, -1)
			f.track = append(f.track, "")
			add("", len(f.dets)-1)
		}
	}
	return out
}
