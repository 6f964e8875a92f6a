package registry

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// CameraHome is where a camera is: its gateway and that gateway's canteen.
type CameraHome struct {
	GatewayID string
	CameraID  string // the gateway's own id of the camera
	CanteenID string
	Area      string
	// Public: parents may watch it; Published: everyone may (Public too).
	Public    bool
	Published bool
}

// Audience is who may watch the camera (Audience*).
func (h CameraHome) Audience() string { return AudienceOf(h.Public, h.Published) }

// Who may watch a camera live: its canteen's staff only, its parents
// too (the camera is "public"), or everyone, with no login, on the public
// kitchen pages (published). Parents and everyone watch only inside the
// canteen's viewing windows.
const (
	AudiencePrivate  = "private"
	AudienceParents  = "parents"
	AudienceEveryone = "everyone"
)

// Audiences lists the audiences, narrowest first.
var Audiences = []string{AudiencePrivate, AudienceParents, AudienceEveryone}

// AudienceOf is the audience of a camera with the public and published
// flags given.
func AudienceOf(public, published bool) string {
	switch {
	case public && published:
		return AudienceEveryone
	case public:
		return AudienceParents
	}
	return AudiencePrivate
}

// Key is the camera's fleet-wide key, "gateway:camera": camera ids are
// unique per gateway only (installers name them cam1, cam2, … at every
// canteen). Live views and the registry address cameras by it.
func (h CameraHome) Key() string { return CameraKeyOf(h.GatewayID, h.CameraID) }

// CameraKeyOf is the key of camera on gateway.
func CameraKeyOf(gateway, camera string) string { return gateway + ":" + camera }

// ParseCameraKey splits "gateway:camera", or a bare "camera" (gateway ""),
// checking each id.
func ParseCameraKey(key string) (gateway, camera string, err error) {
	camera = key
	if i := strings.IndexByte(key, ':'); i >= 0 {
		gateway, camera = key[:i], key[i+1:]
		if !wire.ValidID(gateway) {
			return "", "", fmt.Errorf("%w: camera %q: gateway id: want 1-64 letters, digits, '.', '_' or '-'", store.ErrInvalid, key)
		}
	}
	if !wire.ValidID(camera) {
		return "", "", fmt.Errorf("%w: camera %q: want gateway:camera, each 1-64 letters, digits, '.', '_' or '-'", store.ErrInvalid, key)
	}
	return gateway, camera, nil
}

// CameraHome finds a camera by its key ("gateway:camera"), or by its bare
// id when only one gateway reports that id. store.ErrInvalid for a malformed
// key, store.ErrNotFound when no gateway has reported the camera, store.ErrAmbiguous
// (naming the gateways) for a bare id that several report.
func (s *Registry) CameraHome(ctx context.Context, key string) (CameraHome, error) {
	gw, cam, err := ParseCameraKey(key)
	if err != nil {
		return CameraHome{}, err
	}
	// By key through the primary key; a bare id by a scan of the cameras.
	q, args := `SELECT c.gateway_id, c.camera_id, g.canteen_id, c.area, c.public, c.published FROM cameras c
		JOIN gateways g ON g.id = c.gateway_id WHERE c.gateway_id = $1 AND c.camera_id = $2`, []any{gw, cam}
	if gw == "" {
		q, args = `SELECT c.gateway_id, c.camera_id, g.canteen_id, c.area, c.public, c.published FROM cameras c
		JOIN gateways g ON g.id = c.gateway_id WHERE c.camera_id = $1 ORDER BY c.gateway_id LIMIT 10`, []any{cam}
	}
	found, err := store.All(ctx, s.r, func(row store.Row) (CameraHome, error) {
		var h CameraHome
		var canteen sql.NullString
		err := row.Scan(&h.GatewayID, &h.CameraID, &canteen, &h.Area, &h.Public, &h.Published)
		h.CanteenID = canteen.String
		return h, err
	}, q, args...)
	switch {
	case err != nil:
		return CameraHome{}, fmt.Errorf("camera %q: %w", key, err)
	case len(found) == 0:
		return CameraHome{}, fmt.Errorf("camera %q: %w", key, store.ErrNotFound)
	case len(found) > 1:
		gws := make([]string, len(found))
		for i, h := range found {
			gws[i] = h.GatewayID
		}
		return CameraHome{}, fmt.Errorf("camera %q: %w: on gateways %s; use gateway:camera", key, store.ErrAmbiguous, strings.Join(gws, ", "))
	}
	return found[0], nil
}

// MapCamera sets the area ("" for none) and public flag of the camera
// key names (CameraHome) from the fleet side; from then on the gateway's
// heartbeats no longer change them. A camera published to everyone stays
// published while public stays true; public false makes it private.
// store.ErrNotFound for a camera no gateway has reported; store.ErrInvalid
// for a bad area or key; store.ErrAmbiguous for a bare id that several
// gateways report.
func (s *Registry) MapCamera(ctx context.Context, key, area string, public bool) error {
	return s.mapCamera(ctx, key, area, public, nil)
}

// SetCameraAudience sets the area and the audience (Audiences) of the
// camera key names from the fleet side, as MapCamera does: private,
// parents (public) or everyone (public and published).
func (s *Registry) SetCameraAudience(ctx context.Context, key, area, audience string) error {
	if !slices.Contains(Audiences, audience) {
		return fmt.Errorf("map camera: %w: audience %q: want one of %s", store.ErrInvalid, audience, strings.Join(Audiences, ", "))
	}
	published := audience == AudienceEveryone
	return s.mapCamera(ctx, key, area, audience != AudiencePrivate, &published)
}

// mapCamera is MapCamera; published nil keeps the published flag (cleared
// when public is false).
func (s *Registry) mapCamera(ctx context.Context, key, area string, public bool, published *bool) error {
	if area != "" && !wire.ValidID(area) {
		return fmt.Errorf("map camera: %w: area %q: want 1-64 letters, digits, '.', '_' or '-'", store.ErrInvalid, area)
	}
	h, err := s.CameraHome(ctx, key)
	if err != nil {
		return fmt.Errorf("map camera: %w", err)
	}
	q := `UPDATE cameras SET area = $3, public = $4, published = (published AND $4), mapped = TRUE WHERE gateway_id = $1 AND camera_id = $2`
	args := []any{h.GatewayID, h.CameraID, area, public}
	if published != nil {
		q = `UPDATE cameras SET area = $3, public = $4, published = $5, mapped = TRUE WHERE gateway_id = $1 AND camera_id = $2`
		args = append(args, *published && public)
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 { // forgotten meanwhile
			return fmt.Errorf("camera %q: %w", key, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("map camera: %w", err)
	}
	return nil
}
