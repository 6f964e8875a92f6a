package rates

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// rollup is one Coverage call's state.
type rollup struct {
	s     *Rates
	f     registry.CanteenFilter
	q     coverage.Query
	dates []string

	marks map[string]int64 // canteen -> counter, as read first
	// frozen is retention's first month not frozen ("2006-01"): kept
	// months before it are final, whatever their basis. "" if none.
	frozen string
	in     coverage.Input // the registry (no intervals or sessions), then the violations
	fps    map[string]uint64

	scope []int          // indices in in.Canteens of the canteens in q's scope
	at    map[string]int // canteen id -> index in scope
	// days[k*len(dates)+d] is scope canteen k's date d; has says which are
	// filled.
	days   []coverage.CanteenDay
	has    []bool
	blocks map[string][]keptMonth // canteen -> its kept months (basis current)
	fresh  []coverage.CanteenDay  // computed now

	// spec is the last date's health of all gateways, loaded while the
	// registry is read (Coverage), for when that date is missing for many
	// canteens (the dashboard's today); wait for specWait before reading.
	spec     *specHealth
	specWait sync.WaitGroup
}

// specHealth is health loaded ahead for [lo, hi).
type specHealth struct {
	lo, hi int64
	h      *health
	err    error
}

// keptMonth is a row of coverage_months.
type keptMonth struct {
	month string
	days  []byte
}

// registry loads the canteens, gateways and cameras as CoverageInput
// does (ListCanteens, coverageGateways, coverageCameras), without sessions
// and intervals, and their fingerprints. It reads only the columns the
// rates need and joins in Go: a dashboard's every call pays for it.
func (r *rollup) registry(ctx context.Context) error {
	areas, hours := map[string][]string{}, map[string]coverage.Week{} // decoded once per distinct value
	ids := map[string]bool{}
	err := r.s.scanRows(ctx, `SELECT c.id, c.category, c.district, c.active, c.required_areas, c.hours, c.tz
		FROM canteens c WHERE `+registry.CanteenWhere, r.f.Args(), func(rows *sql.Rows) error {
		var c coverage.Canteen
		var a, h string
		if err := rows.Scan(&c.ID, &c.Category, &c.District, &c.Active, &a, &h, &c.TZ); err != nil {
			return fmt.Errorf("canteens: %w", err)
		}
		var ok bool
		if c.RequiredAreas, ok = areas[a]; !ok && a != "" {
			if err := json.Unmarshal([]byte(a), &c.RequiredAreas); err != nil {
				return fmt.Errorf("canteen %q: required_areas: %w", c.ID, err)
			}
			areas[a] = c.RequiredAreas
		}
		if len(c.RequiredAreas) == 0 { // as scanCanteen
			c.RequiredAreas = registry.DefaultRequiredAreas(c.Category)
		}
		if c.Hours, ok = hours[h]; !ok && h != "" {
			if err := json.Unmarshal([]byte(h), &c.Hours); err != nil {
				return fmt.Errorf("canteen %q: hours: %w", c.ID, err)
			}
			hours[h] = c.Hours
		}
		ids[c.ID] = true
		r.in.Canteens = append(r.in.Canteens, c)
		return nil
	})
	if err != nil {
		return err
	}
	// Every gateway stored is enrolled; its cameras are in its canteen.
	gws := map[string]bool{}
	err = r.s.scanRows(ctx, `SELECT id, canteen_id FROM gateways WHERE canteen_id IS NOT NULL`, nil, func(rows *sql.Rows) error {
		g := coverage.Gateway{Enrolled: true}
		if err := rows.Scan(&g.ID, &g.CanteenID); err != nil {
			return err
		}
		if ids[g.CanteenID] {
			gws[g.ID] = true
			r.in.Gateways = append(r.in.Gateways, g)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gateways: %w", err)
	}
	// 20,000 rows of few distinct strings: interned.
	intern := interner{}.of
	var gw, id, area sql.RawBytes
	err = r.s.scanRows(ctx, `SELECT gateway_id, camera_id, area FROM cameras`, nil, func(rows *sql.Rows) error {
		if err := rows.Scan(&gw, &id, &area); err != nil {
			return err
		}
		if gws[string(gw)] {
			r.in.Cameras = append(r.in.Cameras, coverage.Camera{GatewayID: intern(gw), ID: intern(id), Area: intern(area)})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cameras: %w", err)
	}
	r.fps = coverage.Fingerprints(r.in)
	r.at = map[string]int{}
	for i, c := range r.in.Canteens {
		if c.Active && (r.q.Category == "" || c.Category == r.q.Category) && (r.q.District == "" || c.District == r.q.District) {
			r.at[c.ID] = len(r.scope)
			r.scope = append(r.scope, i)
		}
	}
	n := len(r.scope) * len(r.dates)
	r.days, r.has = make([]coverage.CanteenDay, n), make([]bool, n)
	return nil
}

// interner shares one string among equal byte values read (ids repeated
// over thousands of rows).
type interner map[string]string

func (in interner) of(b []byte) string {
	if v, ok := in[string(b)]; ok {
		return v
	}
	v := string(b)
	in[v] = v
	return v
}

// scanRows runs a query on the readers and calls scan for each row.
func (s *Rates) scanRows(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	return store.Each(ctx, s.r, scan, q, args...)
}

// firstMidnight returns the earliest midnight of date (a midnight UTC)
// in the zones of the canteens f selects (Unix ms).
func (s *Rates) firstMidnight(ctx context.Context, f registry.CanteenFilter, date time.Time) (int64, error) {
	first := date.Add(14 * time.Hour).UnixMilli() // no zone is later
	var tz string
	err := s.scanRows(ctx, `SELECT DISTINCT c.tz FROM canteens c WHERE `+registry.CanteenWhere, f.Args(), func(rows *sql.Rows) error {
		if err := rows.Scan(&tz); err != nil {
			return err
		}
		loc, err := time.LoadLocation(cmp.Or(tz, coverage.DefaultTZ))
		if err != nil {
			loc = time.UTC // coverage reports the bad zone
		}
		first = min(first, time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, loc).UnixMilli())
		return nil
	})
	return first, err
}

// coverageMarks reads the counters of the canteens f selects.
func (s *Rates) coverageMarks(ctx context.Context, f registry.CanteenFilter) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.scanRows(ctx, `SELECT m.canteen_id, m.seq FROM coverage_marks m JOIN canteens c ON c.id = m.canteen_id
		WHERE `+registry.CanteenWhere, f.Args(), func(rows *sql.Rows) error {
		var id string
		var seq int64
		err := rows.Scan(&id, &seq)
		out[id] = seq
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("coverage marks: %w", err)
	}
	return out, nil
}
