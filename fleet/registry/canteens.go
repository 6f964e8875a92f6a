package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Canteen categories (SPEC.md §4).
const (
	CategorySchool         = "school"
	CategoryKindergarten   = "kindergarten"
	CategoryHospital       = "hospital"
	CategoryElderCare      = "elder_care"
	CategoryScenic         = "scenic"
	CategoryConstruction   = "construction"
	CategoryCentralKitchen = "central_kitchen"
	CategoryOther          = "other"
)

// Categories lists the canteen categories.
var Categories = []string{CategorySchool, CategoryKindergarten, CategoryHospital, CategoryElderCare,
	CategoryScenic, CategoryConstruction, CategoryCentralKitchen, CategoryOther}

// Kitchen areas every canteen must have a camera on unless it declares its
// own list.
const (
	AreaRoughProcessing = "rough_processing"
	AreaCooking         = "cooking"
	// AreaWashing is washing and disinfection.
	AreaWashing = "washing"
)

// DefaultRequiredAreas returns the required areas of a canteen of category
// that declares none. Today they are the same for every category.
func DefaultRequiredAreas(category string) []string {
	return []string{AreaRoughProcessing, AreaCooking, AreaWashing}
}

// Canteen is a registered canteen.
type Canteen struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	District string `json:"district"`
	Address  string `json:"address"`
	// Active canteens are counted by the rates.
	Active bool `json:"active"`
	// RequiredAreas are the kitchen areas that must each have a camera;
	// PutCanteen fills in DefaultRequiredAreas when empty.
	RequiredAreas []string `json:"required_areas"`
	// Hours are the operating hours in TZ; none declared means closed.
	Hours coverage.Week `json:"operating_hours"`
	// TZ is an IANA time zone; PutCanteen fills in coverage.DefaultTZ.
	TZ string `json:"tz"`
	// Viewing are the windows in TZ when parents may watch the canteen's
	// public cameras live; none means never.
	Viewing coverage.Week `json:"viewing_windows"`
	// MaxParentViewers caps the parents watching at once, 0 to
	// MaxMaxParentViewers; 0 means the server's default
	// (DefaultMaxParentViewers unless configured).
	MaxParentViewers int       `json:"max_parent_viewers"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`
}

// Parent viewer caps: the default, and the most a canteen may set.
const (
	DefaultMaxParentViewers = 50
	MaxMaxParentViewers     = 10000
)

// checkViewing checks parent viewing windows and their cap.
func checkViewing(w coverage.Week, maxParents int) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("viewing_windows: %w", err)
	}
	if maxParents < 0 || maxParents > MaxMaxParentViewers {
		return fmt.Errorf("max_parent_viewers %d: want 0 (the default) to %d", maxParents, MaxMaxParentViewers)
	}
	return nil
}

// viewingArg stores viewing windows: the empty string for none, else JSON.
func viewingArg(w coverage.Week) (string, error) {
	if !slices.ContainsFunc(w[:], func(d []string) bool { return len(d) > 0 }) {
		return "", nil
	}
	b, err := json.Marshal(w)
	return string(b), err
}

// Normalize fills in the defaults (category other, the category's
// required areas, Asia/Shanghai) and checks every field, naming the first
// bad one. PutCanteen and ImportCanteens call it.
func (c Canteen) Normalize() (Canteen, error) {
	if !wire.ValidID(c.ID) {
		return c, fmt.Errorf("id %q: want 1-64 letters, digits, '.', '_' or '-'", c.ID)
	}
	if c.Category == "" {
		c.Category = CategoryOther
	}
	if !slices.Contains(Categories, c.Category) {
		return c, fmt.Errorf("category %q: want one of %s", c.Category, strings.Join(Categories, ", "))
	}
	if len(c.RequiredAreas) == 0 {
		c.RequiredAreas = DefaultRequiredAreas(c.Category)
	}
	for i, a := range c.RequiredAreas {
		if !wire.ValidID(a) {
			return c, fmt.Errorf("required_areas[%d] %q: want 1-64 letters, digits, '.', '_' or '-'", i, a)
		}
		if slices.Contains(c.RequiredAreas[:i], a) {
			return c, fmt.Errorf("required_areas[%d] %q: listed twice", i, a)
		}
	}
	if err := c.Hours.Validate(); err != nil {
		return c, fmt.Errorf("operating_hours: %w", err)
	}
	if c.TZ == "" {
		c.TZ = coverage.DefaultTZ
	}
	if _, err := time.LoadLocation(c.TZ); err != nil || c.TZ == "Local" {
		return c, fmt.Errorf("tz %q: not an IANA time zone", c.TZ)
	}
	if err := checkViewing(c.Viewing, c.MaxParentViewers); err != nil {
		return c, err
	}
	return c, nil
}

// ImportError is ImportCanteens' refusal: every bad row, by index.
type ImportError struct {
	Rows []*store.ItemError
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("import canteens: %d bad rows, first: %v", len(e.Rows), e.Rows[0])
}

func (e *ImportError) Unwrap() error { return store.ErrInvalid }

// canteenUpsertHead is the insert both upserts share, up to the columns
// they update differently.
const canteenUpsertHead = `INSERT INTO canteens (id, name, category, district, address, active, required_areas, hours, tz,
		viewing, max_parent_viewers, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
	ON CONFLICT (id) DO UPDATE SET name = excluded.name, category = excluded.category, district = excluded.district,
		address = excluded.address, active = excluded.active, required_areas = excluded.required_areas,
		hours = excluded.hours, tz = excluded.tz, updated_at = excluded.updated_at, `

const canteenUpsert = canteenUpsertHead + `viewing = excluded.viewing, max_parent_viewers = excluded.max_parent_viewers`

// canteenImportUpsert is canteenUpsert for ImportCanteens: a row without
// viewing windows or a parent cap (a CSV has no columns for them) keeps
// the stored ones.
const canteenImportUpsert = canteenUpsertHead + `
		viewing = CASE WHEN excluded.viewing = '' THEN canteens.viewing ELSE excluded.viewing END,
		max_parent_viewers = CASE WHEN excluded.max_parent_viewers = 0 THEN canteens.max_parent_viewers ELSE excluded.max_parent_viewers END`

func canteenArgs(c Canteen, now int64) ([]any, error) {
	areas, err := json.Marshal(c.RequiredAreas)
	if err != nil {
		return nil, err
	}
	hours, err := json.Marshal(c.Hours)
	if err != nil {
		return nil, err
	}
	viewing, err := viewingArg(c.Viewing)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.Name, c.Category, c.District, c.Address, c.Active, string(areas), string(hours), c.TZ,
		viewing, c.MaxParentViewers, now}, nil
}

// PutCanteen creates or updates a canteen (created_at is kept) and returns
// it as stored. A bad field is an error wrapping store.ErrInvalid.
func (s *Registry) PutCanteen(ctx context.Context, c Canteen) (Canteen, error) {
	c, err := c.Normalize()
	if err != nil {
		return c, fmt.Errorf("put canteen: %w: %w", store.ErrInvalid, err)
	}
	args, err := canteenArgs(c, ms(time.Now()))
	if err != nil {
		return c, fmt.Errorf("put canteen: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, canteenUpsert, args...); err != nil {
		return c, fmt.Errorf("put canteen: %w", err)
	}
	return s.Canteen(ctx, c.ID)
}

// ImportCanteens creates or updates all the canteens in one transaction:
// if any row is bad (an *ImportError lists each) or the database refuses
// one, nothing is stored. It fills in each row's defaults (Normalize) in cs.
// A row without viewing windows (or without a parent cap) keeps the
// canteen's stored ones; SetViewing clears them.
func (s *Registry) ImportCanteens(ctx context.Context, cs []Canteen) error {
	var bad ImportError
	for i := range cs {
		c, err := cs[i].Normalize()
		if err != nil {
			bad.Rows = append(bad.Rows, &store.ItemError{Index: i, Err: err})
			continue
		}
		if slices.ContainsFunc(cs[:i], func(o Canteen) bool { return o.ID == c.ID }) {
			bad.Rows = append(bad.Rows, &store.ItemError{Index: i, Err: fmt.Errorf("id %q: listed twice", c.ID)})
			continue
		}
		cs[i] = c
	}
	if len(bad.Rows) > 0 {
		return &bad
	}
	now := ms(time.Now())
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, canteenImportUpsert)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, c := range cs {
			args, err := canteenArgs(c, now)
			if err == nil {
				_, err = stmt.ExecContext(ctx, args...)
			}
			if err != nil {
				return &store.ItemError{Index: i, Err: err}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import canteens: %w", err)
	}
	return nil
}

// CanteenFilter selects canteens; zero fields do not filter.
type CanteenFilter struct {
	Category, District string
	// ActiveOnly leaves out inactive canteens.
	ActiveOnly bool
	// Scope restricts to a principal's reach: nil fields do not restrict.
	Scope Scope
}

// Scope is the part of the registry a principal may see: canteens in
// Districts (regulators) or the Canteens listed (operators, parents). A nil
// field does not restrict; a non-nil empty one matches nothing.
type Scope struct {
	Districts []string
	Canteens  []string
}

// scopeArg encodes a scope list for CanteenWhere: "" for nil (any), ","
// for empty (none), else ",a,b,".
func scopeArg(list []string) string {
	if list == nil {
		return ""
	}
	return "," + strings.Join(list, ",") + ","
}

const canteenCols = `id, name, category, district, address, active, required_areas, hours, tz, viewing, max_parent_viewers,
	created_at, updated_at`

func scanCanteen(row store.Row) (Canteen, error) {
	var sc canteenScan
	if err := row.Scan(sc.dest()...); err != nil {
		return sc.c, err
	}
	return sc.canteen()
}

// canteenScan is a canteen row (canteenCols) being scanned: dest are
// the Scan destinations, canteen decodes them.
type canteenScan struct {
	c                          Canteen
	areas, hours, viewing      string
	created, updated, maxViews int64
}

func (sc *canteenScan) dest() []any {
	c := &sc.c
	return []any{&c.ID, &c.Name, &c.Category, &c.District, &c.Address, &c.Active, &sc.areas, &sc.hours, &c.TZ,
		&sc.viewing, &sc.maxViews, &sc.created, &sc.updated}
}

func (sc *canteenScan) canteen() (Canteen, error) {
	c := sc.c
	c.MaxParentViewers = int(sc.maxViews)
	if sc.viewing != "" {
		if err := json.Unmarshal([]byte(sc.viewing), &c.Viewing); err != nil {
			return c, fmt.Errorf("canteen %q: viewing: %w", c.ID, err)
		}
	}
	if sc.areas != "" {
		if err := json.Unmarshal([]byte(sc.areas), &c.RequiredAreas); err != nil {
			return c, fmt.Errorf("canteen %q: required_areas: %w", c.ID, err)
		}
	}
	if len(c.RequiredAreas) == 0 { // rows from before the registry
		c.RequiredAreas = DefaultRequiredAreas(c.Category)
	}
	if sc.hours != "" {
		if err := json.Unmarshal([]byte(sc.hours), &c.Hours); err != nil {
			return c, fmt.Errorf("canteen %q: hours: %w", c.ID, err)
		}
	}
	c.CreatedAt = fromMs(sc.created)
	if sc.updated != 0 {
		c.UpdatedAt = fromMs(sc.updated)
	}
	return c, nil
}

// Canteen returns one canteen, or store.ErrNotFound.
func (s *Registry) Canteen(ctx context.Context, id string) (Canteen, error) {
	c, err := scanCanteen(s.r.QueryRowContext(ctx, `SELECT `+canteenCols+` FROM canteens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("canteen %q: %w", id, store.ErrNotFound)
	} else if err != nil {
		return c, fmt.Errorf("get canteen: %w", err)
	}
	return c, nil
}

// CanteenWhere is the WHERE clause of a CanteenFilter on canteens aliased
// c, with its parameters at $1 to $5 (CanteenFilter.args); a query's own
// parameters start at $6. District names and canteen ids hold no commas.
const CanteenWhere = `($1 = '' OR c.category = $1) AND ($2 = '' OR c.district = $2) AND ($3 = FALSE OR c.active = TRUE)
	AND ($4 = '' OR $4 LIKE '%,' || ` + escDistrict + ` || ',%' ESCAPE '\')
	AND ($5 = '' OR $5 LIKE '%,' || ` + escID + ` || ',%' ESCAPE '\')`

// escDistrict and escID are c.district and c.id with LIKE's wildcards (and
// its escape) escaped, so that canteen "c_1" matches only itself.
const (
	escDistrict = `replace(replace(replace(c.district, '\', '\\'), '%', '\%'), '_', '\_')`
	escID       = `replace(replace(replace(c.id, '\', '\\'), '%', '\%'), '_', '\_')`
)

// CityWide reports whether f selects by no district and no principal's
// scope: most of a city's canteens (all, or a category of them).
func (f CanteenFilter) CityWide() bool {
	return f.District == "" && f.Scope.Districts == nil && f.Scope.Canteens == nil
}

// Args are the parameters of CanteenWhere ($1 to $5) for f.
func (f CanteenFilter) Args() []any {
	return []any{f.Category, f.District, f.ActiveOnly, scopeArg(f.Scope.Districts), scopeArg(f.Scope.Canteens)}
}

// ListCanteens lists the canteens f selects, by id.
func (s *Registry) ListCanteens(ctx context.Context, f CanteenFilter) ([]Canteen, error) {
	out, err := store.All(ctx, s.r, scanCanteen, `SELECT `+canteenCols+` FROM canteens c WHERE `+CanteenWhere+` ORDER BY id`, f.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list canteens: %w", err)
	}
	return out, nil
}

// SetViewing sets a canteen's parent viewing windows (in its time zone;
// none means parents never watch) and the cap on parents watching at once
// (0 for the default). store.ErrNotFound; a bad field is an error wrapping
// store.ErrInvalid that names it.
func (s *Registry) SetViewing(ctx context.Context, canteenID string, w coverage.Week, maxParents int) error {
	if err := checkViewing(w, maxParents); err != nil {
		return fmt.Errorf("set viewing: %w: %w", store.ErrInvalid, err)
	}
	viewing, err := viewingArg(w)
	if err != nil {
		return fmt.Errorf("set viewing: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE canteens SET viewing = $2, max_parent_viewers = $3, updated_at = $4 WHERE id = $1`,
		canteenID, viewing, maxParents, ms(time.Now()))
	if err != nil {
		return fmt.Errorf("set viewing: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set viewing: %w", err)
	} else if n == 0 {
		return fmt.Errorf("set viewing: canteen %q: %w", canteenID, store.ErrNotFound)
	}
	return nil
}

// CheckCanteenExists is store.ErrInvalid, naming field, when canteen id is not
// registered.
func CheckCanteenExists(ctx context.Context, q store.RowQuerier, field, id string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM canteens WHERE id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s %q: no such canteen", store.ErrInvalid, field, id)
	}
	return nil
}
