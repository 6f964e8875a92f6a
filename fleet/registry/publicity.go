package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Public kitchens (网络厨房): a canteen takes part when it is active and
// has at least one camera published to everyone (AudienceEveryone) on a
// gateway bound to it; no separate opt-in flag, so a canteen leaves the
// public list the moment its last camera is unpublished. Each shows its
// public notice (公示), Publicity.

// Grades of 餐饮服务食品安全监督量化分级管理 (the catering food-safety
// quantified grading the market regulator gives and a canteen displays
// at its door): A 优秀 (excellent), B 良好 (good), C 一般 (fair).
const (
	GradeA = "A"
	GradeB = "B"
	GradeC = "C"
)

// Grades lists the grades, best first.
var Grades = []string{GradeA, GradeB, GradeC}

// Results of a routine supervisory inspection (《食品生产经营监督检查管理办法》,
// 2022): 符合 compliant, 基本符合 basically compliant, 不符合 non-compliant.
const (
	InspectionCompliant    = "compliant"
	InspectionBasically    = "basically_compliant"
	InspectionNonCompliant = "non_compliant"
)

// maxPersonInChargeRunes bounds the person in charge's name.
const maxPersonInChargeRunes = 32

// InspectionResults lists the inspection results, best first.
var InspectionResults = []string{InspectionCompliant, InspectionBasically, InspectionNonCompliant}

// licenceRE is a 食品经营许可证 number: JY and 14 digits (the type of
// business, the province, city and county codes, a serial and a check
// digit).
var licenceRE = regexp.MustCompile(`^JY[0-9]{14}$`)

// Publicity is a canteen's public notice (公示). The operator keeps the
// licence number and the person in charge; the regulator of its district
// keeps the grade and the latest inspection; the admin either. Empty
// fields are not yet given. The online rate beside it on the public pages
// is computed (fleet/rates), never typed.
type Publicity struct {
	CanteenID        string `json:"canteen_id"`
	LicenceNo        string `json:"licence_no"`
	PersonInCharge   string `json:"person_in_charge"`
	Grade            string `json:"grade"`
	InspectionResult string `json:"inspection_result"`
	// InspectedOn is the date of the latest inspection, "2006-01-02".
	InspectedOn string `json:"inspected_on"`
	// Who changed each part last, and when.
	OperatorBy  string    `json:"operator_by,omitempty"`
	OperatorAt  time.Time `json:"operator_at,omitzero"`
	RegulatorBy string    `json:"regulator_by,omitempty"`
	RegulatorAt time.Time `json:"regulator_at,omitzero"`
}

// PublicityPatch changes some fields of a Publicity; nil fields are kept.
type PublicityPatch struct {
	LicenceNo        *string `json:"licence_no"`
	PersonInCharge   *string `json:"person_in_charge"`
	Grade            *string `json:"grade"`
	InspectionResult *string `json:"inspection_result"`
	InspectedOn      *string `json:"inspected_on"`
}

// OperatorFields lists the operator's fields the patch sets.
func (p PublicityPatch) OperatorFields() []string {
	var out []string
	if p.LicenceNo != nil {
		out = append(out, "licence_no")
	}
	if p.PersonInCharge != nil {
		out = append(out, "person_in_charge")
	}
	return out
}

// RegulatorFields lists the regulator's fields the patch sets.
func (p PublicityPatch) RegulatorFields() []string {
	var out []string
	if p.Grade != nil {
		out = append(out, "grade")
	}
	if p.InspectionResult != nil {
		out = append(out, "inspection_result")
	}
	if p.InspectedOn != nil {
		out = append(out, "inspected_on")
	}
	return out
}

// apply sets the patch's fields on x and checks them, naming the first
// bad one; today is the date inspections may not be after.
func (p PublicityPatch) apply(x *Publicity, today string) error {
	if p.LicenceNo != nil {
		v := strings.ToUpper(strings.TrimSpace(*p.LicenceNo))
		if v != "" && !licenceRE.MatchString(v) {
			return fmt.Errorf("licence_no %q: want JY and 14 digits (食品经营许可证编号)", *p.LicenceNo)
		}
		x.LicenceNo = v
	}
	if p.PersonInCharge != nil {
		v := strings.TrimSpace(*p.PersonInCharge)
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxPersonInChargeRunes ||
			strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) }) {
			return fmt.Errorf("person_in_charge: want at most %d characters, no control characters", maxPersonInChargeRunes)
		}
		x.PersonInCharge = v
	}
	if p.Grade != nil {
		if *p.Grade != "" && !slices.Contains(Grades, *p.Grade) {
			return fmt.Errorf("grade %q: want one of %s (or \"\")", *p.Grade, strings.Join(Grades, ", "))
		}
		x.Grade = *p.Grade
	}
	if p.InspectionResult != nil {
		if *p.InspectionResult != "" && !slices.Contains(InspectionResults, *p.InspectionResult) {
			return fmt.Errorf("inspection_result %q: want one of %s (or \"\")", *p.InspectionResult, strings.Join(InspectionResults, ", "))
		}
		x.InspectionResult = *p.InspectionResult
	}
	if p.InspectedOn != nil {
		v := *p.InspectedOn
		if v != "" {
			d, err := time.Parse(time.DateOnly, v)
			if err != nil || d.Format(time.DateOnly) != v {
				return fmt.Errorf("inspected_on %q: want YYYY-MM-DD", v)
			}
			if v > today {
				return fmt.Errorf("inspected_on %s: after today (%s)", v, today)
			}
		}
		x.InspectedOn = v
	}
	if (x.InspectionResult == "") != (x.InspectedOn == "") {
		return errors.New("inspection_result and inspected_on: give both or neither")
	}
	return nil
}

const publicityCols = `canteen_id, licence_no, person_in_charge, grade, inspection_result, inspected_on,
	operator_by, operator_at, regulator_by, regulator_at`

func scanPublicity(row store.Row) (Publicity, error) {
	var x Publicity
	var opAt, regAt int64
	err := row.Scan(&x.CanteenID, &x.LicenceNo, &x.PersonInCharge, &x.Grade, &x.InspectionResult, &x.InspectedOn,
		&x.OperatorBy, &opAt, &x.RegulatorBy, &regAt)
	if opAt != 0 {
		x.OperatorAt = fromMs(opAt)
	}
	if regAt != 0 {
		x.RegulatorAt = fromMs(regAt)
	}
	return x, err
}

// Publicity returns canteen id's public notice: empty (its CanteenID
// set) when none was given; store.ErrNotFound for an unknown canteen.
func (s *Registry) Publicity(ctx context.Context, id string) (Publicity, error) {
	x, err := scanPublicity(s.r.QueryRowContext(ctx, `SELECT `+publicityCols+` FROM canteen_publicity WHERE canteen_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		if err := CheckCanteenExists(ctx, s.r, "canteen", id); err != nil {
			if errors.Is(err, store.ErrInvalid) {
				return Publicity{}, fmt.Errorf("publicity: canteen %q: %w", id, store.ErrNotFound)
			}
			return Publicity{}, fmt.Errorf("publicity: %w", err)
		}
		return Publicity{CanteenID: id}, nil
	} else if err != nil {
		return x, fmt.Errorf("publicity: %w", err)
	}
	return x, nil
}

// SetPublicity changes canteen id's public notice by patch, as by (who
// is recorded for the part the patch touches: the operator's, the
// regulator's or both) at now, and returns it. Who may change which part
// is the caller's check. store.ErrNotFound for an unknown canteen; a bad
// field is an error wrapping store.ErrInvalid that names it.
func (s *Registry) SetPublicity(ctx context.Context, id string, patch PublicityPatch, by string, now time.Time) (Publicity, error) {
	var out Publicity
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		x, err := scanPublicity(tx.QueryRowContext(ctx, `SELECT `+publicityCols+` FROM canteen_publicity WHERE canteen_id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			if err := CheckCanteenExists(ctx, tx, "canteen", id); errors.Is(err, store.ErrInvalid) {
				return fmt.Errorf("canteen %q: %w", id, store.ErrNotFound)
			} else if err != nil {
				return err
			}
			x = Publicity{CanteenID: id}
		} else if err != nil {
			return err
		}
		if err := patch.apply(&x, now.Format(time.DateOnly)); err != nil {
			return fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
		if len(patch.OperatorFields()) > 0 {
			x.OperatorBy, x.OperatorAt = by, now
		}
		if len(patch.RegulatorFields()) > 0 {
			x.RegulatorBy, x.RegulatorAt = by, now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO canteen_publicity (`+publicityCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (canteen_id) DO UPDATE SET licence_no = excluded.licence_no, person_in_charge = excluded.person_in_charge,
				grade = excluded.grade, inspection_result = excluded.inspection_result, inspected_on = excluded.inspected_on,
				operator_by = excluded.operator_by, operator_at = excluded.operator_at,
				regulator_by = excluded.regulator_by, regulator_at = excluded.regulator_at`,
			x.CanteenID, x.LicenceNo, x.PersonInCharge, x.Grade, x.InspectionResult, x.InspectedOn,
			x.OperatorBy, msOrZero(x.OperatorAt), x.RegulatorBy, msOrZero(x.RegulatorAt))
		out = x
		return err
	})
	if err != nil {
		return out, fmt.Errorf("set publicity: %w", err)
	}
	return out, nil
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// PublicCanteen is a participating canteen with its public notice.
type PublicCanteen struct {
	Canteen
	Publicity Publicity `json:"publicity"`
	// Cameras is how many of its cameras are published to everyone.
	Cameras int `json:"cameras"`
}

// PublicFilter selects participating canteens; zero fields do not
// filter. Name matches a part of the canteen's name. Limit is at most
// MaxPublicPage (0: DefaultPublicPage).
type PublicFilter struct {
	District, Category, Name string
	Offset, Limit            int
}

// Public list pages.
const (
	DefaultPublicPage = 20
	MaxPublicPage     = 100
)

// participates is the condition on canteens c that they take part.
// The published cameras are found through the partial index
// cameras_published (one pass over them, not a probe per canteen).
const participates = `c.active = TRUE AND c.id IN (SELECT g.canteen_id FROM cameras k JOIN gateways g ON g.id = k.gateway_id
	WHERE k.published = TRUE)`

// publicWhere is participates and PublicFilter's fields at $1 to $3.
const publicWhere = participates + ` AND ($1 = '' OR c.district = $1) AND ($2 = '' OR c.category = $2)
	AND ($3 = '' OR c.name LIKE $3 ESCAPE '\')`

// likeArg is "%v%" with LIKE's wildcards in v escaped; "" for "".
func likeArg(v string) string {
	if v == "" {
		return ""
	}
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v) + "%"
}

// qualifiedCanteenCols is canteenCols on canteens aliased c.
var qualifiedCanteenCols = func() string {
	cols := strings.Split(canteenCols, ",")
	for i, c := range cols {
		cols[i] = "c." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// PublicCanteens lists the participating canteens f selects, by
// district, name and id, a page of them, with the number f selects in
// all.
func (s *Registry) PublicCanteens(ctx context.Context, f PublicFilter) ([]PublicCanteen, int, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultPublicPage
	}
	f.Limit = min(f.Limit, MaxPublicPage)
	f.Offset = max(f.Offset, 0)
	args := []any{f.District, f.Category, likeArg(f.Name)}
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM canteens c WHERE `+publicWhere, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("public canteens: %w", err)
	}
	// The page's ids first, so that only its rows are read whole and
	// counted for cameras (a sort of whole rows would compute them all).
	out, err := store.All(ctx, s.r, scanPublicCanteen, `SELECT `+qualifiedCanteenCols+`, `+publicityJoinCols+`
		FROM (SELECT c.id AS pid, c.district AS pd, c.name AS pn FROM canteens c WHERE `+publicWhere+`
			ORDER BY c.district, c.name, c.id LIMIT $4 OFFSET $5) pg
		JOIN canteens c ON c.id = pg.pid LEFT JOIN canteen_publicity p ON p.canteen_id = c.id
		ORDER BY pg.pd, pg.pn, pg.pid`, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("public canteens: %w", err)
	}
	return out, total, nil
}

// publicityJoinCols are the publicity's columns from the LEFT JOIN p,
// empty when the canteen has none, and the cameras published.
const publicityJoinCols = `COALESCE(p.licence_no, ''), COALESCE(p.person_in_charge, ''), COALESCE(p.grade, ''),
	COALESCE(p.inspection_result, ''), COALESCE(p.inspected_on, ''),
	(SELECT COUNT(*) FROM gateways g JOIN cameras k ON k.gateway_id = g.id WHERE g.canteen_id = c.id AND k.published = TRUE)`

func scanPublicCanteen(row store.Row) (PublicCanteen, error) {
	var x PublicCanteen
	var sc canteenScan
	dest := append(sc.dest(), &x.Publicity.LicenceNo, &x.Publicity.PersonInCharge, &x.Publicity.Grade,
		&x.Publicity.InspectionResult, &x.Publicity.InspectedOn, &x.Cameras)
	if err := row.Scan(dest...); err != nil {
		return x, err
	}
	c, err := sc.canteen()
	x.Canteen, x.Publicity.CanteenID = c, c.ID
	return x, err
}

// PublicCanteen is one participating canteen with its notice, or
// store.ErrNotFound (also for a canteen that does not take part).
func (s *Registry) PublicCanteen(ctx context.Context, id string) (PublicCanteen, error) {
	x, err := scanPublicCanteen(s.r.QueryRowContext(ctx, `SELECT `+qualifiedCanteenCols+`, `+publicityJoinCols+`
		FROM canteens c LEFT JOIN canteen_publicity p ON p.canteen_id = c.id WHERE c.id = $1 AND `+participates, id))
	if errors.Is(err, sql.ErrNoRows) {
		return x, fmt.Errorf("public canteen %q: %w", id, store.ErrNotFound)
	} else if err != nil {
		return x, fmt.Errorf("public canteen: %w", err)
	}
	return x, nil
}

// PublicDistricts lists the districts with a participating canteen, of
// category when given, sorted.
func (s *Registry) PublicDistricts(ctx context.Context, category string) ([]string, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (string, error) {
		var d string
		return d, row.Scan(&d)
	}, `SELECT DISTINCT c.district FROM canteens c WHERE `+participates+` AND ($1 = '' OR c.category = $1) ORDER BY c.district`, category)
	if err != nil {
		return nil, fmt.Errorf("public districts: %w", err)
	}
	return out, nil
}

// PublishedCamera is a camera published to everyone, as the public page
// shows it.
type PublishedCamera struct {
	Key      string `json:"key"`
	CameraID string `json:"camera_id"`
	Area     string `json:"area"`
	Online   bool   `json:"online"`
}

// PublishedCameras lists canteen id's cameras published to everyone, by
// key.
func (s *Registry) PublishedCameras(ctx context.Context, id string) ([]PublishedCamera, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (PublishedCamera, error) {
		var c PublishedCamera
		var gw string
		err := row.Scan(&gw, &c.CameraID, &c.Area, &c.Online)
		c.Key = CameraKeyOf(gw, c.CameraID)
		return c, err
	}, `SELECT k.gateway_id, k.camera_id, k.area, k.online FROM cameras k JOIN gateways g ON g.id = k.gateway_id
		WHERE g.canteen_id = $1 AND k.published = TRUE AND k.public = TRUE ORDER BY k.gateway_id, k.camera_id`, id)
	if err != nil {
		return nil, fmt.Errorf("published cameras: %w", err)
	}
	return out, nil
}
