package coverage

// Long file: the rates are one computation over the same intervals and
// calendars; each rate's function sits next to the ones it shares steps with.

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"
	_ "time/tzdata" // canteens' zones must resolve on hosts without zoneinfo

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

const forever = math.MaxInt64

// newComputation normalizes q and indexes in's canteens and cameras for
// it; withEnds keeps each canteen-day's end (ComputeDays).
func newComputation(in Input, q Query, withEnds bool) (*computation, error) {
	q, from, ndays, err := q.normalize()
	if err != nil {
		return nil, err
	}
	c := &computation{q: q, from: from, ndays: ndays, now: q.Now.UnixMilli(), withEnds: withEnds}
	if err := c.canteens(in.Canteens); err != nil {
		return nil, err
	}
	if err := c.cameras(in.Gateways, in.Cameras); err != nil {
		return nil, err
	}
	return c, nil
}

// Compute answers a query over the input. The input is only read, so one
// Input may serve concurrent queries. It fails with ErrQuery or ErrInput.
func Compute(in Input, q Query) (Report, error) {
	c, err := newComputation(in, q, false)
	if err != nil {
		return Report{}, err
	}
	t, err := c.health()
	if err != nil {
		return Report{}, err
	}
	c.violations(&t, in.Violations)
	c.complaints(&t, in.Complaints)
	return c.report(t), nil
}

// computation is one Compute call's state.
type computation struct {
	q     Query
	from  date
	ndays int
	now   int64 // Unix ms

	groups []groupKey
	byID   map[string]int32 // every canteen id: its index in runs, -1 when out of scope
	runs   []canteenRun     // in scope, in input order
	lo, hi int64            // span of all operating windows
	// withEnds asks canteens for each day's end (ComputeDays).
	withEnds bool
}

type groupKey struct{ category, district string }

// canteenRun is a canteen in scope with what its rates need.
type canteenRun struct {
	c     *Canteen
	group int
	loc   *time.Location
	sched *schedule
	ends  []int64 // per day, CanteenDay.End in Unix ms (only withEnds)
	cams  []camRun
}

// camRun is a camera that counts: its gateway is enrolled.
type camRun struct {
	cam  *Camera
	sess []span64 // its gateway's merged sessions
}

type span64 struct{ s, e int64 }

// seg is a healthy stretch of a camera, [s, e) in Unix ms, inside one
// operating window of day `day`.
type seg struct {
	s, e int64
	day  int32
}

// schedEntry is a schedule built for a zone and hours, for canteens that
// share them.
type schedEntry struct {
	tz    string
	hours *Week
	sched *schedule
	ends  []int64
}

var hashSeed = maphash.MakeSeed()

func hoursHash(tz string, w *Week) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.WriteString(tz)
	for _, ranges := range w {
		h.WriteByte(0)
		for _, r := range ranges {
			h.WriteString(r)
			h.WriteByte(1)
		}
	}
	return h.Sum64()
}

func (c *computation) canteens(canteens []Canteen) error {
	c.byID = make(map[string]int32, len(canteens))
	c.lo, c.hi = forever, math.MinInt64
	groups := map[groupKey]int{}
	locs := map[string]*time.Location{}
	scheds := map[uint64][]schedEntry{}
	for i := range canteens {
		ct := &canteens[i]
		if _, dup := c.byID[ct.ID]; dup {
			return fmt.Errorf("%w: canteen %q listed twice", ErrInput, ct.ID)
		}
		c.byID[ct.ID] = -1
		if !ct.Active || (c.q.Category != "" && ct.Category != c.q.Category) || (c.q.District != "" && ct.District != c.q.District) {
			continue
		}
		tz := cmp.Or(ct.TZ, DefaultTZ)
		loc, ok := locs[tz]
		if !ok {
			var err error
			if tz == "Local" {
				err = fmt.Errorf("want a named zone, not the host's")
			} else {
				loc, err = time.LoadLocation(tz)
			}
			if err != nil {
				return fmt.Errorf("%w: canteen %q: tz %q: %w", ErrInput, ct.ID, tz, err)
			}
			locs[tz] = loc
		}
		h := hoursHash(tz, &ct.Hours)
		var sch *schedule
		var ends []int64
		for _, e := range scheds[h] {
			if e.tz == tz && slices.EqualFunc(e.hours[:], ct.Hours[:], slices.Equal) {
				sch, ends = e.sched, e.ends
				break
			}
		}
		if sch == nil {
			ws, err := ct.Hours.parse()
			if err != nil {
				return fmt.Errorf("%w: canteen %q: %w", ErrInput, ct.ID, err)
			}
			sch = buildSchedule(loc, &ws, c.from, c.ndays, c.now)
			if c.withEnds {
				ends = dayEnds(loc, &ws, c.from, c.ndays)
			}
			scheds[h] = append(scheds[h], schedEntry{tz, &ct.Hours, sch, ends})
		}
		gk := groupKey{ct.Category, ct.District}
		g, ok := groups[gk]
		if !ok {
			g = len(c.groups)
			groups[gk] = g
			c.groups = append(c.groups, gk)
		}
		c.byID[ct.ID] = int32(len(c.runs))
		c.runs = append(c.runs, canteenRun{c: ct, group: g, loc: loc, sched: sch, ends: ends})
		if n := len(sch.wins); n > 0 {
			c.lo, c.hi = min(c.lo, sch.wins[0].s), max(c.hi, sch.wins[n-1].e)
		}
	}
	return nil
}

// run returns the canteen in scope with that id, or nil.
func (c *computation) run(id string) *canteenRun {
	if i, ok := c.byID[id]; ok && i >= 0 {
		return &c.runs[i]
	}
	return nil
}

// cameras attaches each counting camera to its canteen in scope, with its
// gateway's sessions merged once.
func (c *computation) cameras(gateways []Gateway, cameras []Camera) error {
	gwIdx := make(map[string]int32, len(gateways))
	sess := make([][]span64, len(gateways))
	ready := make([]bool, len(gateways))
	for i := range gateways {
		if _, dup := gwIdx[gateways[i].ID]; dup {
			return fmt.Errorf("%w: gateway %q listed twice", ErrInput, gateways[i].ID)
		}
		gwIdx[gateways[i].ID] = int32(i)
	}
	// Two passes, so that all canteens' cameras share one allocation.
	type owner struct{ run, gw int32 }
	owners := make([]owner, len(cameras))
	count := make([]int32, len(c.runs))
	total := 0
	for i := range cameras {
		owners[i] = owner{-1, -1}
		g, ok := gwIdx[cameras[i].GatewayID]
		if !ok || !gateways[g].Enrolled {
			continue
		}
		r, ok := c.byID[cmp.Or(cameras[i].CanteenID, gateways[g].CanteenID)]
		if !ok || r < 0 {
			continue
		}
		owners[i] = owner{r, g}
		count[r]++
		total++
	}
	all := make([]camRun, 0, total)
	for r := range c.runs {
		c.runs[r].cams = all[len(all) : len(all) : len(all)+int(count[r])]
		all = all[:len(all)+int(count[r])]
	}
	for i, o := range owners {
		if o.run < 0 {
			continue
		}
		if !ready[o.gw] {
			sess[o.gw], ready[o.gw] = mergeSessions(gateways[o.gw].Sessions, c.lo, c.hi), true
		}
		r := &c.runs[o.run]
		r.cams = append(r.cams, camRun{cam: &cameras[i], sess: sess[o.gw]})
	}
	return nil
}

// mergeSessions returns the sessions overlapping [lo, hi), sorted and
// merged; an open session lasts forever (windows stop at Query.Now).
func mergeSessions(ss []Session, lo, hi int64) []span64 {
	var out []span64
	for _, x := range ss {
		s, e := x.Connected.UnixMilli(), int64(forever)
		if !x.Disconnected.IsZero() {
			e = x.Disconnected.UnixMilli()
		}
		if e <= s || e <= lo || s >= hi {
			continue
		}
		out = append(out, span64{s, e})
	}
	slices.SortFunc(out, func(a, b span64) int { return cmp.Compare(a.s, b.s) })
	merged := out[:0]
	for _, x := range out {
		if n := len(merged); n > 0 && x.s <= merged[n-1].e {
			merged[n-1].e = max(merged[n-1].e, x.e)
			continue
		}
		merged = append(merged, x)
	}
	return merged
}

// cell is what one (group, day) adds up; camera time in ms.
type cell struct {
	onNum, onDen     int64
	camOK, camAll    int64
	handNum, handDen int64
	rectNum, rectDen int64
	// Complaints: replied (and in time) of received.
	replyNum, replyOnTime, replyDen int64
}

func (a *cell) add(b cell) {
	a.onNum += b.onNum
	a.onDen += b.onDen
	a.camOK += b.camOK
	a.camAll += b.camAll
	a.handNum += b.handNum
	a.handDen += b.handDen
	a.rectNum += b.rectNum
	a.rectDen += b.rectDen
	a.replyNum += b.replyNum
	a.replyOnTime += b.replyOnTime
	a.replyDen += b.replyDen
}

// addDay adds one canteen-day: the canteen is online-covered that day when
// it is built and its least covered area was covered for at least the
// threshold (in parts per million) of its operating time.
func (a *cell) addDay(built bool, x dayTotals, tppm int64) {
	a.camOK += x.healthy
	a.camAll += x.camera
	if x.open > 0 {
		a.onDen++
		if built && x.covered*1_000_000 >= tppm*x.open {
			a.onNum++
		}
	}
}

// tally is the sums of a set of canteens: cells[group*ndays+day], and per
// group the canteens in scope and those built-covered.
type tally struct {
	cells []cell
	count []int64
	built []int64
}

func newTally(groups, ndays int) tally {
	return tally{cells: make([]cell, groups*ndays), count: make([]int64, groups), built: make([]int64, groups)}
}

func (t *tally) add(o tally) {
	for i := range t.cells {
		t.cells[i].add(o.cells[i])
	}
	for g := range t.count {
		t.count[g] += o.count[g]
		t.built[g] += o.built[g]
	}
}

// health computes built coverage, online coverage and camera online rate
// of every canteen in scope, sharing the canteens among GOMAXPROCS workers.
func (c *computation) health() (tally, error) {
	const perWorker = 256
	nw := max(1, min(runtime.GOMAXPROCS(0), (len(c.runs)+perWorker-1)/perWorker))
	tallies := make([]tally, nw)
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for k := range nw {
		wg.Go(func() {
			w := newWorker(c.ndays)
			w.t, w.tppm = newTally(len(c.groups), c.ndays), c.tppm()
			for j := k; j < len(c.runs); j += nw {
				if err := w.canteen(&c.runs[j]); err != nil {
					errs[k] = err
					return
				}
			}
			tallies[k] = w.t
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return tally{}, err
		}
	}
	t := tallies[0]
	for _, o := range tallies[1:] {
		t.add(o)
	}
	return t, nil
}

// tppm is the online threshold in parts per million.
func (c *computation) tppm() int64 { return int64(math.Round(c.q.OnlineThreshold * 1e6)) }

// worker computes canteens one by one, reusing its buffers; for Compute,
// into its own tally.
type worker struct {
	t     tally
	ndays int
	tppm  int64 // online threshold in parts per million

	out   []dayTotals // the current canteen's days
	segs  []seg       // the current canteen's cameras' healthy segments
	camAt []int       // camera k's are segs[camAt[k]:camAt[k+1]]
	tmp   []seg
	tmp2  []seg
	cover []int64 // per day, ms an area was covered
	areas []string
}

func newWorker(ndays int) *worker {
	return &worker{ndays: ndays, out: make([]dayTotals, ndays), cover: make([]int64, ndays)}
}

// dayTotals is what the rates need of one canteen-day, in ms: its
// operating time, how long its least covered required area was covered
// (0 unless the canteen is built), and its cameras' healthy and total
// camera-time within operating hours.
type dayTotals struct {
	open, covered, healthy, camera int64
}

func (w *worker) canteen(r *canteenRun) error {
	built, err := w.days(r)
	if err != nil {
		return err
	}
	w.t.count[r.group]++
	if built {
		w.t.built[r.group]++
	}
	cells := w.t.cells[r.group*w.ndays : (r.group+1)*w.ndays]
	for d := range cells {
		cells[d].addDay(built, w.out[d], w.tppm)
	}
	return nil
}

// days computes a canteen's days into w.out, and whether it is built.
func (w *worker) days(r *canteenRun) (built bool, err error) {
	sch := r.sched
	for d := range w.out {
		w.out[d] = dayTotals{open: sch.op[d]}
	}

	// Each camera's healthy segments, and its camera-time.
	w.segs, w.camAt = w.segs[:0], w.camAt[:0]
	for _, cr := range r.cams {
		at := len(w.segs)
		w.camAt = append(w.camAt, at)
		ivs := cr.cam.Intervals
		if len(sch.wins) == 0 || len(ivs) == 0 {
			continue
		}
		var err error
		if w.segs, err = sweep(w.segs, ivs, cr.sess, sch.wins); err != nil {
			return false, fmt.Errorf("%w: camera %q of gateway %q: %w", ErrInput, cr.cam.ID, cr.cam.GatewayID, err)
		}
		for _, s := range w.segs[at:] {
			w.out[s.day].healthy += s.e - s.s
		}
		// Camera-seconds start at the camera's first status.
		if first := ivs[0].Start.UnixMilli(); first <= sch.wins[0].s {
			for d := range w.out {
				w.out[d].camera += sch.op[d]
			}
		} else {
			for _, x := range sch.wins {
				if x.e > first {
					w.out[x.day].camera += x.e - max(x.s, first)
				}
			}
		}
	}
	w.camAt = append(w.camAt, len(w.segs))

	// Built coverage: every required area has a camera.
	built, w.areas = isBuilt(r, w.areas)
	if !built || len(sch.wins) == 0 {
		return built, nil
	}

	// Online coverage: each area's union of healthy time, per day; the
	// least covered area decides.
	for k, a := range w.areas {
		w.tmp = w.tmp[:0]
		n := 0
		for j, cr := range r.cams {
			if cr.cam.Area == a {
				w.tmp = append(w.tmp, w.segs[w.camAt[j]:w.camAt[j+1]]...)
				n++
			}
		}
		// w.tmp is n sorted runs, one per camera.
		if n > 1 {
			w.tmp, w.tmp2 = union(w.tmp, w.tmp2)
		}
		clear(w.cover)
		for _, s := range w.tmp {
			w.cover[s.day] += s.e - s.s
		}
		for d, c := range w.cover {
			if k == 0 || c < w.out[d].covered {
				w.out[d].covered = c
			}
		}
	}
	return true, nil
}

// sweep appends to out the camera's healthy time (online, picture ok)
// inside its gateway's sessions and the operating windows, walking the
// three sorted lists once. Intervals before the first window are skipped
// by binary search.
func sweep(out []seg, ivs []Interval, sess []span64, wins []window) ([]seg, error) {
	lo, hi := wins[0].s, wins[len(wins)-1].e
	i := firstAfter(ivs, lo)
	if i > 0 {
		i-- // the interval that may cover lo
	}
	base := len(out)
	p, w := 0, 0 // first session, window that may still matter
	s := ivs[i].Start.UnixMilli()
	for ; i < len(ivs) && s < hi; i++ {
		iv := &ivs[i]
		e := int64(forever)
		if !iv.End.IsZero() {
			e = iv.End.UnixMilli()
		}
		next := int64(forever)
		if i+1 < len(ivs) {
			if next = ivs[i+1].Start.UnixMilli(); next < s {
				return out, fmt.Errorf("intervals out of order: seq %d at %s after seq %d at %s",
					ivs[i+1].Seq, ivs[i+1].Start.UTC().Format(time.RFC3339), iv.Seq, iv.Start.UTC().Format(time.RFC3339))
			}
			e = min(e, next) // a status holds until the next
		}
		if iv.Online && iv.Picture == wire.PictureOK {
			a0, b0 := max(s, lo), min(e, hi)
			for p < len(sess) && sess[p].e <= a0 {
				p++
			}
			for q := p; q < len(sess) && sess[q].s < b0; q++ {
				a, b := max(a0, sess[q].s), min(b0, sess[q].e)
				if a >= b {
					continue
				}
				for w < len(wins) && wins[w].e <= a {
					w++
				}
				for x := w; x < len(wins) && wins[x].s < b; x++ {
					cs, ce := max(a, wins[x].s), min(b, wins[x].e)
					if cs >= ce {
						continue
					}
					if n := len(out); n > base && out[n-1].e == cs && out[n-1].day == wins[x].day {
						out[n-1].e = ce
						continue
					}
					out = append(out, seg{cs, ce, wins[x].day})
				}
			}
		}
		s = next
	}
	return out, nil
}

// firstAfter returns the index of the first interval that starts after t.
// It gallops back from the end before searching: dashboard queries ask for
// the latest days, whose intervals are the last few of a long history.
func firstAfter(ivs []Interval, t int64) int {
	hi := len(ivs) // ivs[hi:] all start after t
	for step := 1; ; step *= 2 {
		lo := hi - step
		if lo < 0 {
			return sort.Search(hi, func(i int) bool { return ivs[i].Start.UnixMilli() > t })
		}
		if ivs[lo].Start.UnixMilli() <= t {
			lo++
			return lo + sort.Search(hi-lo, func(i int) bool { return ivs[lo+i].Start.UnixMilli() > t })
		}
		hi = lo
	}
}

// union merges the sorted runs that make up ss (one per camera, each
// sorted and disjoint) into one sorted list of disjoint segments, using buf
// as scratch; it returns the result and the other buffer. Segments that
// overlap lie in the same window, so in the same day; touching segments of
// different days stay apart.
func union(ss, buf []seg) (out, spare []seg) {
	run := func(from int) int { // the end of the sorted, disjoint run at from
		i := from + 1
		for i < len(ss) && ss[i].s >= ss[i-1].e {
			i++
		}
		return i
	}
	for end := run(0); end < len(ss); {
		next := run(end)
		buf = mergeRuns(buf[:0], ss[:end], ss[end:next])
		merged := len(buf)
		buf = append(buf, ss[next:]...)
		ss, buf = buf, ss
		end = merged
	}
	return ss, buf
}

// mergeRuns appends the union of two sorted, disjoint runs to out.
func mergeRuns(out, a, b []seg) []seg {
	base := len(out)
	push := func(x seg) {
		if n := len(out); n > base && (x.s < out[n-1].e || (x.s == out[n-1].e && x.day == out[n-1].day)) {
			out[n-1].e = max(out[n-1].e, x.e)
			return
		}
		out = append(out, x)
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && a[i].s <= b[j].s) {
			push(a[i])
			i++
		} else {
			push(b[j])
			j++
		}
	}
	return out
}

// violations adds the handling and rectification rates: each violation of
// a canteen in scope counts on the local date it was raised, as of Now.
func (c *computation) violations(t *tally, vs []Violation) {
	fromDay := c.from.unixDay()
	// Local dates From..To lie within these instants in any zone (UTC-12
	// to UTC+14): a cheap test before the canteen's.
	lo := (fromDay*86400 - 14*3600) * 1000
	hi := min(((fromDay+int64(c.ndays))*86400+12*3600)*1000, c.now+1)
	for i := range vs {
		v := &vs[i]
		if at := v.RaisedAt.UnixMilli(); at < lo || at >= hi {
			continue
		}
		r := c.run(v.CanteenID)
		if r == nil {
			continue
		}
		d := dateOf(v.RaisedAt.In(r.loc)).unixDay() - fromDay
		if d < 0 || d >= int64(c.ndays) {
			continue
		}
		cl := &t.cells[r.group*c.ndays+int(d)]
		reviewed := !v.ReviewedAt.IsZero() && !v.ReviewedAt.After(c.q.Now)
		cl.handDen++
		if reviewed && v.ReviewedAt.Sub(v.RaisedAt) <= c.q.ReviewDeadline {
			cl.handNum++
		}
		if v.Verdict == VerdictConfirmed && (reviewed || v.ReviewedAt.IsZero()) {
			cl.rectDen++
			if a := v.RectificationAcceptedAt; !a.IsZero() && !a.After(c.q.Now) {
				cl.rectNum++
			}
		}
	}
}

// complaints adds the reply rates: each ticket about a canteen in scope
// counts on the local date it was received, as of Now; it is replied when
// answered (replied or rejected) by Now, and in time when that was not
// after its ReplyDue.
func (c *computation) complaints(t *tally, cs []Complaint) {
	fromDay := c.from.unixDay()
	lo := (fromDay*86400 - 14*3600) * 1000
	hi := min(((fromDay+int64(c.ndays))*86400+12*3600)*1000, c.now+1)
	for i := range cs {
		x := &cs[i]
		if at := x.ReceivedAt.UnixMilli(); at < lo || at >= hi {
			continue
		}
		r := c.run(x.CanteenID)
		if r == nil {
			continue
		}
		d := dateOf(x.ReceivedAt.In(r.loc)).unixDay() - fromDay
		if d < 0 || d >= int64(c.ndays) {
			continue
		}
		cl := &t.cells[r.group*c.ndays+int(d)]
		cl.replyDen++
		if a := x.AnsweredAt; !a.IsZero() && !a.After(c.q.Now) {
			cl.replyNum++
			if !a.After(x.ReplyDue) {
				cl.replyOnTime++
			}
		}
	}
}

func (c *computation) report(t tally) Report {
	rep := Report{Query: c.q, Days: make([]DayRates, c.ndays)}
	labels := make([]string, c.ndays)
	for d := range labels {
		dt, _ := c.from.add(d)
		labels[d] = dt.String()
	}
	order := make([]int, len(c.groups))
	for g := range order {
		order[g] = g
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(c.groups[a].category, c.groups[b].category), cmp.Compare(c.groups[a].district, c.groups[b].district))
	})
	days := make([]cell, c.ndays)
	var all cell
	for _, g := range order {
		gr := GroupRates{Category: c.groups[g].category, District: c.groups[g].district, Days: make([]DayRates, c.ndays)}
		var sum cell
		for d := range c.ndays {
			cl := t.cells[g*c.ndays+d]
			gr.Days[d] = cl.day(labels[d])
			sum.add(cl)
			days[d].add(cl)
		}
		gr.Total = sum.rates(t.built[g], t.count[g])
		rep.Groups = append(rep.Groups, gr)
		all.add(sum)
		rep.Total.Built.add(gr.Total.Built)
	}
	for d := range days {
		rep.Days[d] = days[d].day(labels[d])
	}
	rep.Total = all.rates(rep.Total.Built.Num, rep.Total.Built.Den)
	return rep
}

func (a cell) day(label string) DayRates {
	return DayRates{
		Day:           label,
		Online:        Ratio{a.onNum, a.onDen},
		CameraOnline:  Ratio{seconds(a.camOK), seconds(a.camAll)},
		Handling:      Ratio{a.handNum, a.handDen},
		Rectification: Ratio{a.rectNum, a.rectDen},
		Reply:         Ratio{a.replyNum, a.replyDen},
		ReplyOnTime:   Ratio{a.replyOnTime, a.replyDen},
	}
}

func (a cell) rates(built, canteens int64) Rates {
	d := a.day("")
	return Rates{Built: Ratio{built, canteens}, Online: d.Online, CameraOnline: d.CameraOnline,
		Handling: d.Handling, Rectification: d.Rectification, Reply: d.Reply, ReplyOnTime: d.ReplyOnTime}
}

// seconds rounds milliseconds to the nearest second.
func seconds(ms int64) int64 { return (ms + 500) / 1000 }
