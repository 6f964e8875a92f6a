package rules

import (
	"fmt"
	"strings"
	"time"
)

// span is one range of minutes of the day on some weekdays.
type span struct {
	days       uint8 // bit d set: starts on time.Weekday d
	start, end int   // minutes since midnight; end < start runs past midnight
}

// hours is a compiled Schedule.
type hours struct {
	loc   *time.Location
	spans []span
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

const allDays = 0x7f

// parseClock reads "HH:MM" (00:00..24:00) as minutes since midnight.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	d := func(c byte) (int, bool) { return int(c - '0'), c >= '0' && c <= '9' }
	h1, ok1 := d(s[0])
	h2, ok2 := d(s[1])
	m1, ok3 := d(s[3])
	m2, ok4 := d(s[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	h, m := h1*10+h2, m1*10+m2
	if m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, false
	}
	return h*60 + m, true
}

// parseRange reads "HH:MM-HH:MM".
func parseRange(s string) (start, end int, msg string) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Sprintf("%.40q: want a range like \"06:00-13:30\"", s)
	}
	start, ok1 := parseClock(strings.TrimSpace(a))
	end, ok2 := parseClock(strings.TrimSpace(b))
	switch {
	case !ok1 || !ok2:
		return 0, 0, fmt.Sprintf("%.40q: want a range like \"06:00-13:30\" (HH:MM, 00:00 to 24:00)", s)
	case start == 24*60:
		return 0, 0, fmt.Sprintf("%.40q: a range cannot start at 24:00", s)
	case start == end:
		return 0, 0, fmt.Sprintf("%.40q: empty range (for all day use \"00:00-24:00\")", s)
	}
	if end == 24*60 {
		end = 0 // runs to midnight
	}
	return start, end, ""
}

// compileDays reads weekday names into a bitmask; none means every day.
func compileDays(p string, days []string, l *errorList) uint8 {
	if len(days) == 0 {
		return allDays
	}
	var mask uint8
	if len(days) > 7 {
		l.fail(p, "%d days, a week has 7", len(days))
		return allDays
	}
	for i, s := range days {
		d, ok := weekdays[strings.ToLower(strings.TrimSpace(s))]
		switch {
		case !ok:
			l.fail(fmt.Sprintf("%s[%d]", p, i), "%.40q: want mon, tue, wed, thu, fri, sat or sun", s)
		case mask&(1<<d) != 0:
			l.fail(fmt.Sprintf("%s[%d]", p, i), "%s listed twice", s)
		}
		mask |= 1 << d
	}
	return mask
}

// compileHours reads ranges into spans on days.
func compileHours(p string, ranges []string, days uint8, l *errorList) []span {
	if len(ranges) > MaxHourRanges {
		l.fail(p, "%d ranges, limit %d", len(ranges), MaxHourRanges)
		return nil
	}
	out := make([]span, 0, len(ranges))
	for i, s := range ranges {
		start, end, msg := parseRange(s)
		if msg != "" {
			l.fail(fmt.Sprintf("%s[%d]", p, i), "%s", msg)
			continue
		}
		out = append(out, span{days: days, start: start, end: end})
	}
	return out
}

// compile checks the schedule and builds it; problems go to l.
func (s Schedule) compile(p string, l *errorList) hours {
	tz := s.Timezone
	if tz == "" {
		tz = DefaultTZ
	}
	var h hours
	loc, err := loadLocation(tz)
	if err != nil {
		l.fail(p+".timezone", "%.70q: unknown time zone (want an IANA name like Asia/Shanghai)", tz)
		loc = time.UTC
	}
	h.loc = loc
	if len(s.Days) > 0 && len(s.Hours) == 0 {
		l.fail(p+".days", "days without hours: add hours")
	}
	days := compileDays(p+".days", s.Days, l)
	h.spans = compileHours(p+".hours", s.Hours, days, l)
	if len(s.Periods) > MaxPeriods {
		l.fail(p+".periods", "%d periods, limit %d", len(s.Periods), MaxPeriods)
		return h
	}
	for i, per := range s.Periods {
		pp := fmt.Sprintf("%s.periods[%d]", p, i)
		if len(per.Hours) == 0 {
			l.fail(pp+".hours", "required")
		}
		d := compileDays(pp+".days", per.Days, l)
		h.spans = append(h.spans, compileHours(pp+".hours", per.Hours, d, l)...)
	}
	return h
}

// validate checks the schedule and says whether it has any hours.
func (s Schedule) validate(p string, l *errorList) bool {
	return len(s.compile(p, l).spans) > 0 || len(s.Hours) > 0 || len(s.Periods) > 0
}

// loadLocation is time.LoadLocation for names that look like zone names
// (no path tricks, bounded length).
func loadLocation(name string) (*time.Location, error) {
	if len(name) > 64 || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\x00\\") {
		return nil, fmt.Errorf("bad zone name")
	}
	return time.LoadLocation(name)
}

// operating reports whether t is inside the hours; no hours means always.
func (h *hours) operating(t time.Time) bool {
	if len(h.spans) == 0 {
		return true
	}
	lt := t.In(h.loc)
	m := lt.Hour()*60 + lt.Minute()
	d := lt.Weekday()
	prev := (d + 6) % 7
	for _, s := range h.spans {
		if s.end == 0 || s.start < s.end { // same day (end 0 is midnight)
			if s.days&(1<<d) != 0 && m >= s.start && (s.end == 0 || m < s.end) {
				return true
			}
			continue
		}
		// past midnight: the evening part today, the morning part from yesterday
		if s.days&(1<<d) != 0 && m >= s.start || s.days&(1<<prev) != 0 && m < s.end {
			return true
		}
	}
	return false
}
