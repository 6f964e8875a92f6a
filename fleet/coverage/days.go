package coverage

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// CanteenDay is what the online-coverage and camera-online rates need of
// one canteen's day, so that finished days can be kept (a rollup) and
// summed again by Aggregate instead of being recomputed from the health
// intervals. Durations are whole milliseconds.
//
// A CanteenDay depends only on the canteen's hours, zone and required
// areas, its cameras (Fingerprints), its gateways' sessions and its
// cameras' intervals up to End; not on the query's threshold, period or
// filters, nor on Query.Now once Now is at or after End.
type CanteenDay struct {
	CanteenID string `json:"canteen_id"`
	// Day is the date, "2006-01-02", in the canteen's time zone.
	Day string `json:"day"`
	// Open is the operating time that day (up to Query.Now); zero for a day
	// the canteen was closed or that had not begun, which online coverage
	// leaves out.
	Open time.Duration `json:"open"`
	// Built is whether every required area is mapped to a camera that
	// counts (as of the Input: the registry keeps no history).
	Built bool `json:"built"`
	// Covered is how long the least covered required area was covered
	// within operating hours; zero unless Built. The canteen is online
	// covered that day when Covered ≥ OnlineThreshold × Open.
	Covered time.Duration `json:"covered"`
	// Healthy and Camera are the healthy camera-time and all camera-time
	// of the canteen's cameras within operating hours.
	Healthy time.Duration `json:"healthy"`
	Camera  time.Duration `json:"camera"`
	// End is when the day's operating hours end (the last window's end,
	// which may be on the next date; the day's midnight when it has none):
	// from End on, only data stamped before End that arrives late (a
	// replayed status, a session recorded late) or a change of the registry
	// can change the day.
	End time.Time `json:"end"`
}

// Normalize returns the query with its defaults filled in, as
// Report.Query shows it, or an error wrapping ErrQuery.
func (q Query) Normalize() (Query, error) {
	q, _, _, err := q.normalize()
	return q, err
}

// Dates returns the dates From..To, "2006-01-02", of a valid query.
func (q Query) Dates() []string {
	if q.To.IsZero() {
		q.To = q.From
	}
	from, to := dateOf(q.From), dateOf(q.To)
	n := max(0, int(to.unixDay()-from.unixDay())+1)
	out := make([]string, n)
	for d := range out {
		dt, _ := from.add(d)
		out[d] = dt.String()
	}
	return out
}

// ComputeDays returns a CanteenDay for each canteen in scope and each date
// of the query, canteens in input order and each canteen's days in date
// order. The query's threshold, review deadline and the violations are
// not used. Aggregate(in, ComputeDays(in, q), q) equals Compute(in, q).
func ComputeDays(in Input, q Query) ([]CanteenDay, error) {
	c, err := newComputation(in, q, true)
	if err != nil {
		return nil, err
	}
	from, ndays := c.from, c.ndays
	labels := make([]string, ndays)
	for d := range labels {
		dt, _ := from.add(d)
		labels[d] = dt.String()
	}
	out := make([]CanteenDay, len(c.runs)*ndays)
	const perWorker = 256
	nw := max(1, min(runtime.GOMAXPROCS(0), (len(c.runs)+perWorker-1)/perWorker))
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for k := range nw {
		wg.Go(func() {
			w := newWorker(ndays)
			for j := k; j < len(c.runs); j += nw {
				r := &c.runs[j]
				built, err := w.days(r)
				if err != nil {
					errs[k] = err
					return
				}
				for d, x := range w.out {
					cd := CanteenDay{CanteenID: r.c.ID, Day: labels[d], Open: msDuration(x.open), Built: built,
						Covered: msDuration(x.covered), Healthy: msDuration(x.healthy), Camera: msDuration(x.camera),
						End: time.UnixMilli(r.ends[d])}
					out[j*ndays+d] = cd
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Aggregate answers q as Compute does, taking the online-coverage and
// camera-online rates of each canteen-day from days (as ComputeDays gives
// them, from any query whose dates include them, as long as each day's End
// is not after q.Now) instead of the intervals. Built coverage comes from
// in's canteens, gateways and cameras, and the handling and rectification
// rates from in's violations; intervals and sessions in in are not used.
//
// days must hold each canteen in scope on each date of the query exactly
// once; entries of other canteens or dates are ignored. A missing or
// repeated one is ErrInput.
func Aggregate(in Input, days []CanteenDay, q Query) (Report, error) {
	c, err := newComputation(in, q, false)
	if err != nil {
		return Report{}, err
	}
	from, ndays := c.from, c.ndays
	t := newTally(len(c.groups), ndays)
	built := make([]bool, len(c.runs))
	var areas []string
	for j := range c.runs {
		r := &c.runs[j]
		built[j], areas = isBuilt(r, areas)
		t.count[r.group]++
		if built[j] {
			t.built[r.group]++
		}
	}
	fromDay := from.unixDay()
	seen := make([]bool, len(c.runs)*ndays)
	tppm := c.tppm()
	for i := range days {
		x := &days[i]
		j, ok := c.byID[x.CanteenID]
		if !ok || j < 0 {
			continue
		}
		dt, ok := parseDate(x.Day)
		if !ok {
			return Report{}, fmt.Errorf("%w: canteen %q: day %q: want YYYY-MM-DD", ErrInput, x.CanteenID, x.Day)
		}
		d := dt.unixDay() - fromDay
		if d < 0 || d >= int64(ndays) {
			continue
		}
		k := int(j)*ndays + int(d)
		if seen[k] {
			return Report{}, fmt.Errorf("%w: canteen %q: day %s given twice", ErrInput, x.CanteenID, x.Day)
		}
		seen[k] = true
		r := &c.runs[j]
		t.cells[r.group*ndays+int(d)].addDay(built[j], dayTotals{open: x.Open.Milliseconds(),
			covered: x.Covered.Milliseconds(), healthy: x.Healthy.Milliseconds(), camera: x.Camera.Milliseconds()}, tppm)
	}
	if k := slices.Index(seen, false); k >= 0 {
		dt, _ := from.add(k % ndays)
		return Report{}, fmt.Errorf("%w: canteen %q: no result for day %s", ErrInput, c.runs[k/ndays].c.ID, dt)
	}
	c.violations(&t, in.Violations)
	c.complaints(&t, in.Complaints)
	return c.report(t), nil
}

// isBuilt reports whether every required area of r has a camera that
// counts; areas is scratch space, returned for reuse.
func isBuilt(r *canteenRun, areas []string) (bool, []string) {
	areas = areas[:0]
	for _, a := range r.c.RequiredAreas {
		if !slices.Contains(areas, a) {
			areas = append(areas, a)
		}
	}
	for _, a := range areas {
		if !slices.ContainsFunc(r.cams, func(cr camRun) bool { return cr.cam.Area == a }) {
			return false, areas
		}
	}
	return len(areas) > 0, areas
}

// fingerprintVersion changes when the engine's results for the same data
// change, so that days kept under an older fingerprint are recomputed.
const fingerprintVersion = 1

// Fingerprints returns, for every canteen of in (in scope or not), a hash
// of everything besides sessions and intervals that its CanteenDays depend
// on: its zone, hours and required areas, and its cameras that count with
// their gateway, id and area (and this engine's version). A kept
// CanteenDay whose canteen's fingerprint has changed is stale. Intervals
// and sessions in in are not read. The hash is stable across processes
// and releases (FNV-1a, 64 bits).
func Fingerprints(in Input) map[string]uint64 {
	gws := make(map[string]*Gateway, len(in.Gateways))
	for i := range in.Gateways {
		if _, dup := gws[in.Gateways[i].ID]; !dup {
			gws[in.Gateways[i].ID] = &in.Gateways[i]
		}
	}
	type camKey struct{ gw, id, area string }
	cams := map[string][]camKey{}
	for i := range in.Cameras {
		cam := &in.Cameras[i]
		g, ok := gws[cam.GatewayID]
		if !ok || !g.Enrolled {
			continue
		}
		owner := cmp.Or(cam.CanteenID, g.CanteenID)
		cams[owner] = append(cams[owner], camKey{cam.GatewayID, cam.ID, cam.Area})
	}
	out := make(map[string]uint64, len(in.Canteens))
	h := fnv.New64a()
	var buf []byte
	str := func(s string) {
		buf = strconv.AppendInt(buf[:0], int64(len(s)), 10)
		buf = append(buf, ':')
		buf = append(buf, s...)
		h.Write(buf)
	}
	for i := range in.Canteens {
		ct := &in.Canteens[i]
		h.Reset()
		str(strconv.Itoa(fingerprintVersion))
		str(cmp.Or(ct.TZ, DefaultTZ))
		for _, day := range ct.Hours {
			str(strconv.Itoa(len(day)))
			for _, r := range day {
				str(r)
			}
		}
		str(strconv.Itoa(len(ct.RequiredAreas)))
		for _, a := range ct.RequiredAreas {
			str(a)
		}
		cs := cams[ct.ID]
		slices.SortFunc(cs, func(a, b camKey) int { return cmp.Or(cmp.Compare(a.gw, b.gw), cmp.Compare(a.id, b.id)) })
		str(strconv.Itoa(len(cs)))
		for _, k := range cs {
			str(k.gw)
			str(k.id)
			str(k.area)
		}
		out[ct.ID] = h.Sum64()
	}
	return out
}

// dayEnds returns, for ndays dates from `from`, when each date's
// operating hours end (Unix ms): the end of its last window, cut where the
// next date's first begins as buildSchedule cuts it, or the date's
// midnight when it has none.
func dayEnds(loc *time.Location, w *weekSpans, from date, ndays int) []int64 {
	full := buildSchedule(loc, w, from, ndays, math.MaxInt64)
	ends := make([]int64, ndays)
	for d := range ends {
		ends[d] = math.MinInt64
	}
	for _, x := range full.wins {
		ends[x.day] = max(ends[x.day], x.e)
	}
	for d, e := range ends {
		if e == math.MinInt64 {
			dt, _ := from.add(d)
			ends[d] = time.Date(dt.y, dt.m, dt.d, 0, 0, 0, 0, loc).UnixMilli()
		}
	}
	return ends
}

// parseDate reads "2006-01-02".
func parseDate(s string) (date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s[:4]) || !digits(s[5:7]) || !digits(s[8:]) {
		return date{}, false
	}
	num := func(b string) int {
		n := 0
		for i := 0; i < len(b); i++ {
			n = n*10 + int(b[i]-'0')
		}
		return n
	}
	dt := date{num(s[:4]), time.Month(num(s[5:7])), num(s[8:])}
	if dt.m < 1 || dt.m > 12 || dt.d < 1 || dt.d > 31 {
		return date{}, false
	}
	if n, _ := dt.add(0); n != dt { // 31 April
		return date{}, false
	}
	return dt, true
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
