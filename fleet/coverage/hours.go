package coverage

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Week is a canteen's operating hours: for each weekday, indexed by
// time.Weekday (Sunday is 0), the ranges "HH:MM-HH:MM" in the canteen's
// time zone, e.g. w[time.Monday] = []string{"06:00-09:00", "10:30-13:30"}.
// "24:00" may end a range; "00:00-24:00" is the whole day. A range whose
// end is not after its start runs past midnight ("22:00-02:00") and belongs
// to the weekday it is listed under. Overlapping ranges of one day are
// merged. A weekday with no ranges is closed.
type Week [7][]string

// EveryDay returns a Week with the same ranges on all seven days.
func EveryDay(ranges ...string) Week {
	var w Week
	for d := range w {
		w[d] = ranges
	}
	return w
}

// Validate reports the first malformed range, naming its weekday and index.
func (w Week) Validate() error {
	_, err := w.parse()
	return err
}

// span is a parsed range in minutes from the day's midnight; end > start,
// end > 1440 for a range past midnight.
type span struct{ start, end int }

type weekSpans [7][]span

func (w Week) parse() (weekSpans, error) {
	var out weekSpans
	for d, ranges := range w {
		for i, r := range ranges {
			sp, err := parseRange(r)
			if err != nil {
				return out, fmt.Errorf("hours[%s][%d] %q: %w", strings.ToLower(time.Weekday(d).String()[:3]), i, r, err)
			}
			out[d] = append(out[d], sp)
		}
	}
	return out, nil
}

func parseRange(r string) (span, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(r), "-")
	if !ok {
		return span{}, fmt.Errorf(`want "HH:MM-HH:MM"`)
	}
	start, err := parseClock(strings.TrimSpace(a))
	if err != nil {
		return span{}, err
	}
	if start == 24*60 {
		return span{}, fmt.Errorf("a range cannot start at 24:00")
	}
	end, err := parseClock(strings.TrimSpace(b))
	if err != nil {
		return span{}, err
	}
	switch {
	case end == start:
		return span{}, fmt.Errorf("empty range (use 00:00-24:00 for the whole day)")
	case end < start:
		end += 24 * 60 // past midnight
	}
	return span{start, end}, nil
}

func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q: no such time of day", s)
	}
	return h*60 + m, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// window is one stretch of operating hours, [s, e) in Unix milliseconds,
// belonging to query day `day`.
type window struct {
	s, e int64
	day  int32
}

// schedule is a canteen's operating hours over the query's days: windows
// sorted and disjoint, clipped at Query.Now; op is the operating time per
// day in milliseconds.
type schedule struct {
	wins []window
	op   []int64
}

// date is a calendar date.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

// add returns the date n days later, and its weekday.
func (dt date) add(n int) (date, time.Weekday) {
	t := time.Date(dt.y, dt.m, dt.d+n, 0, 0, 0, 0, time.UTC)
	return dateOf(t), t.Weekday()
}

func (dt date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", dt.y, int(dt.m), dt.d)
}

// unixDay numbers dates consecutively: days since 1970-01-01 (the
// proleptic Gregorian "days from civil" of H. Hinnant, without time.Date's
// cost, for every violation).
func (dt date) unixDay() int64 {
	y, m := int64(dt.y), int64(dt.m)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + int64(dt.d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// buildSchedule lays the week over ndays dates from `from` in loc. Each
// day's ranges are merged; a day's last window is cut where the next day's
// first begins; everything from now on is dropped.
func buildSchedule(loc *time.Location, w *weekSpans, from date, ndays int, now int64) *schedule {
	sch := &schedule{op: make([]int64, ndays)}
	var next []window // day i+1's windows, built one step ahead
	day := func(i int) []window {
		dt, wd := from.add(i)
		var out []window
		for _, sp := range w[wd] {
			s := time.Date(dt.y, dt.m, dt.d, 0, sp.start, 0, 0, loc).UnixMilli()
			e := time.Date(dt.y, dt.m, dt.d, 0, sp.end, 0, 0, loc).UnixMilli()
			if e > s {
				out = append(out, window{s, e, int32(i)})
			}
		}
		slices.SortFunc(out, func(a, b window) int { return cmpInt64(a.s, b.s) })
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
	next = day(0)
	for i := range ndays {
		cur := next
		next = day(i + 1)
		for _, x := range cur {
			if len(next) > 0 {
				x.e = min(x.e, next[0].s)
			}
			x.e = min(x.e, now)
			if x.e <= x.s {
				continue
			}
			sch.wins = append(sch.wins, x)
			sch.op[i] += x.e - x.s
		}
	}
	return sch
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// openAhead is how far ahead Open looks for the next range, and the
// furthest it follows a range that keeps running.
const openAhead = 8

// Open reports whether t falls inside one of w's ranges (in loc), and if
// so until when (the end of that range, merged with adjoining ones,
// including a range past midnight listed under the previous weekday); if
// not, when the next range starts within 8 days (zero if never).
//
// Ranges of neighbouring days are joined as listed: unlike the operating
// hours of the rates, a range past midnight is not cut where the next
// day's first range starts. A week that never closes reports until as the
// end of the days looked at, about 8 days ahead. A malformed week (see
// Validate) is never open. A nil loc is UTC. The times returned are in loc.
func (w Week) Open(t time.Time, loc *time.Location) (open bool, until, next time.Time) {
	ws, err := w.parse()
	if err != nil {
		return false, time.Time{}, time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	today := dateOf(t.In(loc))
	var wins []window
	// From yesterday, whose ranges may run past midnight into today.
	for i := -1; i <= openAhead; i++ {
		dt, wd := today.add(i)
		for _, sp := range ws[wd] {
			s := time.Date(dt.y, dt.m, dt.d, 0, sp.start, 0, 0, loc).UnixMilli()
			e := time.Date(dt.y, dt.m, dt.d, 0, sp.end, 0, 0, loc).UnixMilli()
			if e > s { // a range inside a skipped DST hour is empty
				wins = append(wins, window{s: s, e: e})
			}
		}
	}
	slices.SortFunc(wins, func(a, b window) int { return cmpInt64(a.s, b.s) })
	merged := wins[:0]
	for _, x := range wins {
		if n := len(merged); n > 0 && x.s <= merged[n-1].e {
			merged[n-1].e = max(merged[n-1].e, x.e)
			continue
		}
		merged = append(merged, x)
	}
	now := t.UnixMilli()
	for _, x := range merged {
		switch {
		case x.e <= now:
			continue
		case x.s <= now:
			return true, time.UnixMilli(x.e).In(loc), time.Time{}
		case x.s-now <= openAhead*24*time.Hour.Milliseconds():
			return false, time.Time{}, time.UnixMilli(x.s).In(loc)
		}
		break
	}
	return false, time.Time{}, time.Time{}
}
