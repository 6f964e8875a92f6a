package coverage_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
)

// TestAgainstReference checks Compute against a plain minute-by-minute
// reading of SPEC §5 on small random cities whose every time is on a whole
// minute: hours in several time zones, past midnight and split shifts,
// gateways that drop, cameras that flap, areas with zero to three cameras.
func TestAgainstReference(t *testing.T) {
	for seed := range uint64(30) {
		in := randomCity(seed, 12)
		q := coverage.Query{
			From:            cst("2026-03-02", "00:00"),
			To:              cst("2026-03-05", "00:00"),
			Now:             cst("2026-03-05", "00:00").Add(time.Duration(seed*37%1440) * time.Minute),
			OnlineThreshold: []float64{0, 0.5, 0.8, 0.9}[seed%4],
		}
		if seed%5 == 0 {
			q.Category = "school"
		}
		if seed%7 == 0 {
			q.District = "east"
		}
		got := compute(t, in, q)
		want := reference(in, got.Query)
		for d := range want.Days {
			if !reflect.DeepEqual(got.Days[d], want.Days[d]) {
				t.Errorf("seed %d day %d:\n got %+v\nwant %+v", seed, d, got.Days[d], want.Days[d])
			}
		}
		if !reflect.DeepEqual(got.Groups, want.Groups) {
			t.Errorf("seed %d groups:\n got %+v\nwant %+v", seed, got.Groups, want.Groups)
		}
		if got.Total != want.Total {
			t.Errorf("seed %d total:\n got %+v\nwant %+v", seed, got.Total, want.Total)
		}
	}
}

var (
	templates = []coverage.Week{
		coverage.EveryDay("08:00-18:00"),
		coverage.EveryDay("06:00-09:00", "10:30-13:30", "16:30-19:00"),
		coverage.EveryDay("22:00-02:00"),
		{nil, {"07:00-19:00"}, {"07:00-19:00"}, {"07:00-19:00"}, {"07:00-19:00"}, {"07:00-19:00"}, nil},
		{nil, {"20:00-03:00"}, {"01:00-05:00", "11:00-14:00", "12:00-15:00"}, nil, {"00:00-24:00"}, nil, nil},
		coverage.EveryDay("00:00-24:00"),
	}
	zones      = []string{"", "UTC", "Asia/Tokyo", "Asia/Kathmandu"}
	categories = []string{"school", "hospital", "elder_care"}
	districts  = []string{"east", "west"}
	areaNames  = []string{"rough", "cooking", "washing", "rough", "cooking", "washing", "storage", ""}
	pictures   = []string{"ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "occluded", "dark", "frozen", "unknown"}
)

// randomCity makes a small city on whole minutes around 1-5 March 2026.
func randomCity(seed uint64, canteens int) coverage.Input {
	rnd := rand.New(rand.NewPCG(seed, 0x5eed))
	start := cst("2026-02-28", "00:00")
	minute := func(lo, hi int) time.Time { return start.Add(time.Duration(lo+rnd.IntN(hi-lo)) * time.Minute) }
	const span = 7 * 1440
	var in coverage.Input
	for i := range canteens {
		c := coverage.Canteen{
			ID: fmt.Sprintf("c%d", i), Category: categories[rnd.IntN(len(categories))], District: districts[rnd.IntN(len(districts))],
			Active: rnd.IntN(10) > 0, Hours: templates[rnd.IntN(len(templates))], TZ: zones[rnd.IntN(len(zones))],
		}
		for _, a := range areaNames[:3] {
			if rnd.IntN(4) > 0 {
				c.RequiredAreas = append(c.RequiredAreas, a)
			}
		}
		in.Canteens = append(in.Canteens, c)
		for g := range 1 + rnd.IntN(2) {
			gw := coverage.Gateway{ID: fmt.Sprintf("g%d.%d", i, g), CanteenID: c.ID, Enrolled: rnd.IntN(8) > 0}
			at := rnd.IntN(1440)
			for s := uint64(1); at < span; s++ {
				x := coverage.Session{Session: s, Connected: start.Add(time.Duration(at) * time.Minute)}
				at += 1 + rnd.IntN(4000)
				if at < span || rnd.IntN(2) == 0 {
					x.Disconnected = start.Add(time.Duration(at) * time.Minute)
				}
				gw.Sessions = append(gw.Sessions, x)
				at += rnd.IntN(60)
			}
			in.Gateways = append(in.Gateways, gw)
			for k := range 1 + rnd.IntN(4) {
				cam := coverage.Camera{ID: fmt.Sprintf("cam%d", k), GatewayID: gw.ID, Area: areaNames[rnd.IntN(len(areaNames))]}
				if rnd.IntN(15) == 0 {
					cam.CanteenID = fmt.Sprintf("c%d", rnd.IntN(canteens))
				}
				var ss []st
				for at := rnd.IntN(3 * 1440); at < span; at += 1 + rnd.IntN(900) {
					pic := pictures[rnd.IntN(len(pictures))]
					if rnd.IntN(12) == 0 {
						pic = "offline"
					}
					ss = append(ss, st{start.Add(time.Duration(at) * time.Minute), pic})
					if rnd.IntN(10) == 0 { // a repeated instant: the later status wins
						ss = append(ss, st{start.Add(time.Duration(at) * time.Minute), "ok"})
					}
				}
				cam.Intervals = statuses(ss...)
				for i := range cam.Intervals { // ends past the next start, or none: the next start wins
					switch rnd.IntN(10) {
					case 0:
						cam.Intervals[i].End = cam.Intervals[i].End.Add(time.Duration(1+rnd.IntN(600)) * time.Minute)
					case 1:
						cam.Intervals[i].End = time.Time{}
					}
				}
				if n := len(cam.Intervals); n > 0 && rnd.IntN(3) == 0 {
					cam.Intervals[n-1].End = cam.Intervals[n-1].Start.Add(time.Duration(rnd.IntN(600)) * time.Minute)
				}
				in.Cameras = append(in.Cameras, cam)
			}
		}
		for range rnd.IntN(10) {
			v := coverage.Violation{CanteenID: c.ID, RaisedAt: minute(0, span)}
			switch rnd.IntN(5) {
			case 0: // unreviewed
			case 1:
				v.ReviewedAt, v.Verdict = v.RaisedAt.Add(24*time.Hour), coverage.VerdictConfirmed
			default:
				v.ReviewedAt = v.RaisedAt.Add(time.Duration(rnd.IntN(48*60)) * time.Minute)
				v.Verdict = []string{coverage.VerdictConfirmed, coverage.VerdictDismissed}[rnd.IntN(2)]
			}
			if v.Verdict == coverage.VerdictConfirmed && rnd.IntN(2) == 0 {
				v.RectificationAcceptedAt = v.ReviewedAt.Add(time.Duration(rnd.IntN(72*60)) * time.Minute)
			}
			in.Violations = append(in.Violations, v)
		}
	}
	return in
}

// reference computes the report minute by minute, straight from SPEC §5
// and the package's documented choices.
func reference(in coverage.Input, q coverage.Query) coverage.Report {
	y, m, d := q.From.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	y, m, d = q.To.Date()
	ndays := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(from).Hours()/24) + 1
	nowMin := q.Now.Unix() / 60
	tppm := int64(math.Round(q.OnlineThreshold * 1e6))

	type key struct{ cat, dist string }
	type acc struct {
		online, cam, hand, rect [][2]int64 // per day: num, den (cam in minutes)
		built, count            int64
	}
	groups := map[key]*acc{}
	inScope := map[string]coverage.Canteen{}
	for _, c := range in.Canteens {
		if c.Active && (q.Category == "" || c.Category == q.Category) && (q.District == "" || c.District == q.District) {
			inScope[c.ID] = c
		}
	}
	gws := map[string]coverage.Gateway{}
	for _, g := range in.Gateways {
		gws[g.ID] = g
	}
	group := func(c coverage.Canteen) *acc {
		k := key{c.Category, c.District}
		if groups[k] == nil {
			a := &acc{}
			a.online, a.cam, a.hand, a.rect = make([][2]int64, ndays), make([][2]int64, ndays), make([][2]int64, ndays), make([][2]int64, ndays)
			groups[k] = a
		}
		return groups[k]
	}
	locOf := func(c coverage.Canteen) *time.Location {
		if c.TZ == "" {
			return mustLoc(coverage.DefaultTZ)
		}
		return mustLoc(c.TZ)
	}
	for _, c := range in.Canteens {
		if _, ok := inScope[c.ID]; !ok {
			continue
		}
		a := group(c)
		a.count++
		loc := locOf(c)
		// Operating minutes: minute -> day.
		dayRanges := func(i int) [][2]int64 {
			dt := from.AddDate(0, 0, i)
			var out [][2]int64
			for _, rg := range c.Hours[dt.Weekday()] {
				s, e, _ := strings.Cut(rg, "-")
				sm, em := hm(s), hm(e)
				if em <= sm {
					em += 1440
				}
				out = append(out, [2]int64{
					time.Date(dt.Year(), dt.Month(), dt.Day(), 0, sm, 0, 0, loc).Unix() / 60,
					time.Date(dt.Year(), dt.Month(), dt.Day(), 0, em, 0, 0, loc).Unix() / 60,
				})
			}
			return out
		}
		op := map[int64]int{}
		for i := range ndays {
			cut := int64(math.MaxInt64)
			for _, rg := range dayRanges(i + 1) {
				cut = min(cut, rg[0])
			}
			for _, rg := range dayRanges(i) {
				for mm := rg[0]; mm < rg[1] && mm < cut && mm < nowMin; mm++ {
					op[mm] = i
				}
			}
		}
		// Cameras that count.
		var cams []coverage.Camera
		for _, cam := range in.Cameras {
			g, ok := gws[cam.GatewayID]
			cid := cam.CanteenID
			if cid == "" {
				cid = g.CanteenID
			}
			if ok && g.Enrolled && cid == c.ID {
				cams = append(cams, cam)
			}
		}
		healthy := func(cam coverage.Camera, mm int64) bool {
			connected := false
			for _, s := range gws[cam.GatewayID].Sessions {
				if s.Connected.Unix()/60 <= mm && (s.Disconnected.IsZero() || mm < s.Disconnected.Unix()/60) {
					connected = true
				}
			}
			for i, iv := range cam.Intervals {
				end := int64(math.MaxInt64)
				if !iv.End.IsZero() {
					end = iv.End.Unix() / 60
				}
				if i+1 < len(cam.Intervals) {
					end = min(end, cam.Intervals[i+1].Start.Unix()/60)
				}
				if iv.Start.Unix()/60 <= mm && mm < end {
					return connected && iv.Online && iv.Picture == "ok"
				}
			}
			return false
		}
		areas := map[string]bool{}
		for _, ar := range c.RequiredAreas {
			areas[ar] = true
		}
		built := len(areas) > 0
		for ar := range areas {
			found := false
			for _, cam := range cams {
				found = found || cam.Area == ar
			}
			built = built && found
		}
		if built {
			a.built++
		}
		opDay := make([]int64, ndays)
		covered := map[string][]int64{}
		for ar := range areas {
			covered[ar] = make([]int64, ndays)
		}
		for mm, day := range op {
			opDay[day]++
			for _, cam := range cams {
				if len(cam.Intervals) > 0 && cam.Intervals[0].Start.Unix()/60 <= mm {
					a.cam[day][1]++
					if healthy(cam, mm) {
						a.cam[day][0]++
					}
				}
			}
			for ar := range areas {
				for _, cam := range cams {
					if cam.Area == ar && healthy(cam, mm) {
						covered[ar][day]++
						break
					}
				}
			}
		}
		for day := range ndays {
			if opDay[day] == 0 {
				continue
			}
			a.online[day][1]++
			ok := built
			for ar := range areas {
				ok = ok && covered[ar][day]*1_000_000 >= tppm*opDay[day]
			}
			if ok {
				a.online[day][0]++
			}
		}
	}
	for _, v := range in.Violations {
		c, ok := inScope[v.CanteenID]
		if !ok || v.RaisedAt.After(q.Now) {
			continue
		}
		ly, lm, ld := v.RaisedAt.In(locOf(c)).Date()
		day := int(time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Sub(from).Hours() / 24)
		if day < 0 || day >= ndays {
			continue
		}
		a := group(c)
		a.hand[day][1]++
		reviewed := !v.ReviewedAt.IsZero() && !v.ReviewedAt.After(q.Now)
		if reviewed && v.ReviewedAt.Sub(v.RaisedAt) <= q.ReviewDeadline {
			a.hand[day][0]++
		}
		if v.Verdict == coverage.VerdictConfirmed && (reviewed || v.ReviewedAt.IsZero()) {
			a.rect[day][1]++
			if !v.RectificationAcceptedAt.IsZero() && !v.RectificationAcceptedAt.After(q.Now) {
				a.rect[day][0]++
			}
		}
	}

	rep := coverage.Report{Query: q, Days: make([]coverage.DayRates, ndays)}
	var keys []key
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].cat < keys[j].cat || (keys[i].cat == keys[j].cat && keys[i].dist < keys[j].dist)
	})
	ratio := func(x [2]int64) coverage.Ratio { return coverage.Ratio{Num: x[0], Den: x[1]} }
	secs := func(x [2]int64) coverage.Ratio { return coverage.Ratio{Num: x[0] * 60, Den: x[1] * 60} }
	add := func(r *coverage.Ratio, o coverage.Ratio) { r.Num += o.Num; r.Den += o.Den }
	for i := range rep.Days {
		rep.Days[i].Day = from.AddDate(0, 0, i).Format("2006-01-02")
	}
	for _, k := range keys {
		a := groups[k]
		g := coverage.GroupRates{Category: k.cat, District: k.dist, Days: make([]coverage.DayRates, ndays)}
		g.Total.Built = coverage.Ratio{Num: a.built, Den: a.count}
		for i := range ndays {
			day := coverage.DayRates{Day: rep.Days[i].Day, Online: ratio(a.online[i]), CameraOnline: secs(a.cam[i]),
				Handling: ratio(a.hand[i]), Rectification: ratio(a.rect[i])}
			g.Days[i] = day
			for _, p := range []struct{ dst, src *coverage.Ratio }{
				{&g.Total.Online, &day.Online}, {&g.Total.CameraOnline, &day.CameraOnline}, {&g.Total.Handling, &day.Handling}, {&g.Total.Rectification, &day.Rectification},
				{&rep.Days[i].Online, &day.Online}, {&rep.Days[i].CameraOnline, &day.CameraOnline}, {&rep.Days[i].Handling, &day.Handling}, {&rep.Days[i].Rectification, &day.Rectification},
			} {
				add(p.dst, *p.src)
			}
		}
		rep.Groups = append(rep.Groups, g)
		add(&rep.Total.Built, g.Total.Built)
		add(&rep.Total.Online, g.Total.Online)
		add(&rep.Total.CameraOnline, g.Total.CameraOnline)
		add(&rep.Total.Handling, g.Total.Handling)
		add(&rep.Total.Rectification, g.Total.Rectification)
	}
	return rep
}

func hm(s string) int {
	t, err := time.Parse("15:04", s)
	if s == "24:00" {
		return 1440
	}
	if err != nil {
		panic(err)
	}
	return t.Hour()*60 + t.Minute()
}
