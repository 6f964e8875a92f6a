package registry

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Gateway is an enrolled gateway with its cameras.
type Gateway struct {
	ID        string    `json:"id"`
	CanteenID string    `json:"canteen_id"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at"`
	Online    bool      `json:"online"`
	// Session is the gateway's connection counter (wire.State.Session)
	// plus its spool epoch's session base (epochs.go).
	Session uint64 `json:"session"`
	Version string `json:"version"`
	// Arch is the architecture the gateway last said it runs (wire.State.Arch;
	// "" from gateways that predate it).
	Arch      string    `json:"arch,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// LastHeartbeat is the latest wire.Heartbeat as received.
	LastHeartbeat json.RawMessage `json:"last_heartbeat,omitempty"`
	// ConfigVersion is the latest desired config version sent; the Reported
	// fields are the gateway's latest config/reported.
	ConfigVersion         int64    `json:"config_version"`
	ConfigReportedVersion int64    `json:"config_reported_version"`
	ConfigApplied         *bool    `json:"config_applied,omitempty"`
	ConfigError           string   `json:"config_error,omitempty"`
	Cameras               []Camera `json:"cameras"`
}

// Camera is one camera of a gateway as last reported (heartbeat or status).
type Camera struct {
	ID     string `json:"camera_id"`
	Area   string `json:"area"`
	Public bool   `json:"public"`
	// Audience is who may watch the camera live (Audience*): private,
	// parents (Public) or everyone (Public, and published by the fleet:
	// SetCameraAudience).
	Audience string `json:"audience"`
	// Mapped is set when the fleet set Area and Public (MapCamera): the
	// gateway's heartbeats no longer change them.
	Mapped  bool    `json:"mapped"`
	Online  bool    `json:"online"`
	Picture string  `json:"picture"`
	FPS     float64 `json:"fps"`
	Kbps    float64 `json:"kbps"`
	// StatusAt is the gateway's time of the health shown; UpdatedAt when the
	// fleet last wrote this row.
	StatusAt  time.Time `json:"status_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReservedGatewayID is the client id of the embedded broker's in-process
// client (mochi's "inline"), which the fleet's ingest uses: no gateway may
// have it.
const ReservedGatewayID = "inline"

// AddGateway enrols a gateway for a canteen and returns its MQTT
// credentials; the password is shown only now (only its hash is stored).
// The username is the gateway id. The canteen is created (with only its id)
// if it is not registered yet. store.ErrExists if the id is taken.
func (s *Registry) AddGateway(ctx context.Context, id, canteenID string) (username, password string, err error) {
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		username, password, err = InsertGateway(ctx, tx, id, canteenID)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("add gateway: %w", err)
	}
	return username, password, nil
}

// InsertGateway is AddGateway inside the caller's transaction tx, for a
// domain that creates a gateway together with its own rows (fleet/enrol
// claims a code and creates the gateway in one transaction). A bad id is
// an error wrapping store.ErrInvalid, a taken one store.ErrExists.
func InsertGateway(ctx context.Context, tx *sql.Tx, id, canteenID string) (username, password string, err error) {
	if !wire.ValidID(id) {
		return "", "", fmt.Errorf("%w: gateway id %q: want 1-64 letters, digits, '.', '_' or '-'", store.ErrInvalid, id)
	}
	if id == ReservedGatewayID {
		return "", "", fmt.Errorf("%w: gateway id %q is the embedded broker's own client: choose another", store.ErrInvalid, id)
	}
	if canteenID != "" && !wire.ValidID(canteenID) {
		return "", "", fmt.Errorf("%w: canteen id %q: want 1-64 letters, digits, '.', '_' or '-'", store.ErrInvalid, canteenID)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", "", err
	}
	username, password = id, hex.EncodeToString(secret)
	now := ms(time.Now())
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateways WHERE id = $1 OR username = $2`, id, username).Scan(&n); err != nil {
		return "", "", err
	}
	if n > 0 {
		return "", "", fmt.Errorf("gateway %q: %w", id, store.ErrExists)
	}
	var canteen any
	if canteenID != "" {
		canteen = canteenID
		if _, err := tx.ExecContext(ctx, `INSERT INTO canteens (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, canteenID, now); err != nil {
			return "", "", err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gateways (id, canteen_id, username, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id, canteen, username, store.HashSecret(password), now); err != nil {
		return "", "", err
	}
	return username, password, nil
}

// dummyHash is compared against when a username is unknown, so that the
// time taken does not tell whether it exists.
var dummyHash = store.HashSecret("no such user")

// GatewayByCredentials returns the gateway id for MQTT credentials; ok is
// false for an unknown user or a wrong password. It implements
// broker.Authenticator.
func (s *Registry) GatewayByCredentials(ctx context.Context, username, password string) (string, bool, error) {
	var id, hash string
	err := s.r.QueryRowContext(ctx, `SELECT id, password_hash FROM gateways WHERE username = $1`, username).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		subtle.ConstantTimeCompare([]byte(dummyHash), []byte(store.HashSecret(password)))
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up gateway credentials: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(store.HashSecret(password))) != 1 {
		return "", false, nil
	}
	return id, true, nil
}

// GatewayExists reports whether a gateway is enrolled.
func (s *Registry) GatewayExists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateways WHERE id = $1`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("look up gateway: %w", err)
	}
	return n > 0, nil
}

const gatewayCols = `id, COALESCE(canteen_id, ''), username, created_at, online, session, version, started_at, last_seen,
	last_heartbeat, config_version, config_reported_version, config_applied, config_error, arch`

func scanGateway(sc store.Row) (Gateway, error) {
	var g Gateway
	var created int64
	var started, seen sql.NullInt64
	var hb sql.NullString
	var applied sql.NullBool
	var session int64
	err := sc.Scan(&g.ID, &g.CanteenID, &g.Username, &created, &g.Online, &session, &g.Version, &started, &seen,
		&hb, &g.ConfigVersion, &g.ConfigReportedVersion, &applied, &g.ConfigError, &g.Arch)
	if err != nil {
		return g, err
	}
	g.Session = uint64(session)
	g.CreatedAt, g.StartedAt, g.LastSeen = fromMs(created), fromNullMs(started), fromNullMs(seen)
	if hb.Valid {
		g.LastHeartbeat = json.RawMessage(hb.String)
	}
	if applied.Valid {
		g.ConfigApplied = &applied.Bool
	}
	g.Cameras = []Camera{}
	return g, nil
}

// Gateway returns one gateway with its cameras; store.ErrNotFound if unknown.
func (s *Registry) Gateway(ctx context.Context, id string) (Gateway, error) {
	g, err := scanGateway(s.r.QueryRowContext(ctx, `SELECT `+gatewayCols+` FROM gateways WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return g, fmt.Errorf("gateway %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return g, fmt.Errorf("get gateway: %w", err)
	}
	cams, err := s.cameras(ctx, `gateway_id = $1`, id)
	if err != nil {
		return g, err
	}
	g.Cameras = cams[id]
	if g.Cameras == nil {
		g.Cameras = []Camera{}
	}
	g.maskCameras()
	return g, nil
}

// maskCameras shows the cameras of an offline gateway offline: nobody can
// see them, whatever they last reported.
func (g *Gateway) maskCameras() {
	if g.Online {
		return
	}
	for i := range g.Cameras {
		g.Cameras[i].Online = false
	}
}

// ListGateways returns every gateway, ordered by id, with its cameras.
func (s *Registry) ListGateways(ctx context.Context) ([]Gateway, error) {
	return s.listGateways(ctx, `TRUE`)
}

// GatewaysIn returns the gateways bound to the canteens f selects (by
// CanteenWhere: a principal's scope, a district, one canteen with
// Scope.Canteens), ordered by id, with their cameras: a parent's page
// reads its school's, not the city's.
func (s *Registry) GatewaysIn(ctx context.Context, f CanteenFilter) ([]Gateway, error) {
	return s.listGateways(ctx, `canteen_id IN (SELECT c.id FROM canteens c WHERE `+CanteenWhere+`)`, f.Args()...)
}

// listGateways lists the gateways where (over gateways' columns) holds.
func (s *Registry) listGateways(ctx context.Context, where string, args ...any) ([]Gateway, error) {
	gws, err := store.All(ctx, s.r, scanGateway, `SELECT `+gatewayCols+` FROM gateways WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list gateways: %w", err)
	}
	cams, err := s.cameras(ctx, `gateway_id IN (SELECT id FROM gateways WHERE `+where+`)`, args...)
	if err != nil {
		return nil, err
	}
	for i := range gws {
		if c := cams[gws[i].ID]; c != nil {
			gws[i].Cameras = c
		}
		gws[i].maskCameras()
	}
	return gws, nil
}

// cameras returns the cameras where (over cameras' columns) holds, by
// gateway.
func (s *Registry) cameras(ctx context.Context, where string, args ...any) (map[string][]Camera, error) {
	out := map[string][]Camera{}
	err := store.Each(ctx, s.r, func(rows *sql.Rows) error {
		var g string
		var c Camera
		var statusAt sql.NullInt64
		var updated int64
		var published bool
		if err := rows.Scan(&g, &c.ID, &c.Area, &c.Public, &published, &c.Mapped, &c.Online, &c.Picture, &c.FPS, &c.Kbps, &statusAt, &updated); err != nil {
			return err
		}
		c.Audience = AudienceOf(c.Public, published)
		c.StatusAt, c.UpdatedAt = fromNullMs(statusAt), fromMs(updated)
		out[g] = append(out[g], c)
		return nil
	}, `SELECT gateway_id, camera_id, area, public, published, mapped, online, picture, fps, kbps, status_at, updated_at
		FROM cameras WHERE `+where+` ORDER BY gateway_id, camera_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list cameras: %w", err)
	}
	return out, nil
}

// GatewayState records a gateway's state message (received at `at`).
//
// Sessions order the messages: one from a session older than the stored
// one is ignored (typically the Last Will of a connection the gateway has
// already replaced, delivered late), so a stale Will never marks a
// reconnected gateway offline. store.Each session is a row in gateway_sessions,
// opened by online:true and closed by online:false or by the next session.
//
// Sessions count within the gateway's spool epoch (epochs.go): the stored
// session is the fleet's, the epoch's session base plus the gateway's. An
// online state of a new epoch (a new spool) starts a session newer than
// every stored one; an offline state of another epoch than the current one
// is stale.
func (s *Registry) GatewayState(ctx context.Context, gwID string, st wire.State, at time.Time) error {
	now := ms(at)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var stored int64
		var storedEpoch string
		err := tx.QueryRowContext(ctx, `SELECT session, epoch FROM gateways WHERE id = $1`, gwID).Scan(&stored, &storedEpoch)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("gateway %q: %w", gwID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if !st.Online && st.Epoch != storedEpoch {
			return nil // the Will of a spool the gateway no longer runs on
		}
		base, err := epochBases(ctx, tx, gwID, st.Epoch, st.Online, storedEpoch, stored, now)
		if err != nil {
			return err
		}
		session := base.session + int64(st.Session)
		if session < stored {
			return nil // stale
		}
		if err := staleGateway(ctx, tx, gwID, now); err != nil {
			return err
		}
		if session > stored {
			// A new connection: whatever was open before ended by now.
			if _, err := tx.ExecContext(ctx, `UPDATE gateway_sessions SET disconnected_at = $2
				WHERE gateway_id = $1 AND disconnected_at IS NULL AND session < $3`, gwID, now, session); err != nil {
				return err
			}
		}
		if st.Online {
			if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_sessions (gateway_id, session, connected_at) VALUES ($1, $2, $3)
				ON CONFLICT (gateway_id, session) DO NOTHING`, gwID, session, now); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE gateways SET online = TRUE, session = $2, version = $3, started_at = $4, last_seen = $5,
				arch = CASE WHEN $6 = '' THEN arch ELSE $6 END WHERE id = $1`,
				gwID, session, st.Version, msOrNil(st.StartedAt), now, st.Arch)
			return err
		}
		// Offline (a Will or a clean shutdown) of the current session.
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_sessions (gateway_id, session, connected_at, disconnected_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (gateway_id, session) DO UPDATE SET disconnected_at = excluded.disconnected_at
			WHERE gateway_sessions.disconnected_at IS NULL`, gwID, session, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE gateways SET online = FALSE, session = $2 WHERE id = $1`, gwID, session)
		return err
	})
	if err != nil {
		return fmt.Errorf("gateway state: %w", err)
	}
	return nil
}

// Session is one connection of a gateway; Disconnected is zero while open.
type Session struct {
	Session      uint64    `json:"session"`
	Connected    time.Time `json:"connected_at"`
	Disconnected time.Time `json:"disconnected_at,omitzero"`
}

// Sessions returns a gateway's connection intervals, oldest first.
func (s *Registry) Sessions(ctx context.Context, gwID string) ([]Session, error) {
	out, err := store.All(ctx, s.r, scanSession, `SELECT session, connected_at, disconnected_at FROM gateway_sessions
		WHERE gateway_id = $1 ORDER BY session`, gwID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

func scanSession(row store.Row) (Session, error) {
	var x Session
	var session, conn int64
	var disc sql.NullInt64
	err := row.Scan(&session, &conn, &disc)
	x.Session, x.Connected, x.Disconnected = uint64(session), fromMs(conn), fromNullMs(disc)
	return x, err
}

// Heartbeat records a heartbeat received at `at`: the gateway's last_seen
// and latest heartbeat, and each camera's current health, and its area and
// public flag unless the fleet mapped the camera (MapCamera). A camera's
// online/picture is overwritten only if the heartbeat is not older than the
// camera status already applied (both are stamped by the gateway's clock).
func (s *Registry) Heartbeat(ctx context.Context, gwID string, hb wire.Heartbeat, at time.Time) error {
	raw, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	hbAt := hb.At
	if hbAt.IsZero() {
		hbAt = at
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE gateways SET last_seen = $2, last_heartbeat = $3 WHERE id = $1`, gwID, ms(at), string(raw))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("gateway %q: %w", gwID, store.ErrNotFound)
		}
		if len(hb.Cameras) == 0 {
			return nil
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO cameras (gateway_id, camera_id, area, public, online, picture, fps, kbps, status_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (gateway_id, camera_id) DO UPDATE SET
				area = CASE WHEN cameras.mapped THEN cameras.area WHEN excluded.area <> '' THEN excluded.area ELSE cameras.area END,
				public = CASE WHEN cameras.mapped THEN cameras.public ELSE excluded.public END,
				fps = excluded.fps,
				kbps = excluded.kbps,
				online = CASE WHEN cameras.status_at IS NULL OR cameras.status_at <= excluded.status_at THEN excluded.online ELSE cameras.online END,
				picture = CASE WHEN cameras.status_at IS NULL OR cameras.status_at <= excluded.status_at THEN excluded.picture ELSE cameras.picture END,
				status_at = CASE WHEN cameras.status_at IS NULL OR cameras.status_at <= excluded.status_at THEN excluded.status_at ELSE cameras.status_at END,
				updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, c := range hb.Cameras {
			pic := c.Picture
			if pic == "" {
				pic = wire.PictureUnknown
			}
			if _, err := stmt.ExecContext(ctx, gwID, c.CameraID, c.Area, c.Public, c.Online, pic, c.FPS, c.Kbps, ms(hbAt), ms(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// NextConfigVersion stores cfg as a gateway's desired config under the next
// version number and returns that version (1, 2, …).
func (s *Registry) NextConfigVersion(ctx context.Context, gwID string, cfg json.RawMessage) (int64, error) {
	var v int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE gateways SET config_version = config_version + 1, config_desired = $2 WHERE id = $1`, gwID, string(cfg))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("gateway %q: %w", gwID, store.ErrNotFound)
		}
		return tx.QueryRowContext(ctx, `SELECT config_version FROM gateways WHERE id = $1`, gwID).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("next config version: %w", err)
	}
	return v, nil
}

// DesiredConfig returns a gateway's latest desired config and its version
// (nil, 0 if none was set).
func (s *Registry) DesiredConfig(ctx context.Context, gwID string) (json.RawMessage, int64, error) {
	var cfg sql.NullString
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT config_desired, config_version FROM gateways WHERE id = $1`, gwID).Scan(&cfg, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("gateway %q: %w", gwID, store.ErrNotFound)
	} else if err != nil {
		return nil, 0, fmt.Errorf("desired config: %w", err)
	}
	if !cfg.Valid {
		return nil, v, nil
	}
	return json.RawMessage(cfg.String), v, nil
}

// ConfigBehind returns a gateway's desired config and its version, and
// whether the gateway has yet to report that version (behind is false when
// no config was ever set).
func (s *Registry) ConfigBehind(ctx context.Context, gwID string) (cfg json.RawMessage, version int64, behind bool, err error) {
	var c sql.NullString
	var reported int64
	err = s.r.QueryRowContext(ctx, `SELECT config_desired, config_version, config_reported_version FROM gateways WHERE id = $1`,
		gwID).Scan(&c, &version, &reported)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, false, fmt.Errorf("desired config: gateway %q: %w", gwID, store.ErrNotFound)
	} else if err != nil {
		return nil, 0, false, fmt.Errorf("desired config: %w", err)
	}
	if !c.Valid || version <= reported {
		return nil, version, false, nil
	}
	return json.RawMessage(c.String), version, true, nil
}

// ConfigReported records a gateway's config/reported.
func (s *Registry) ConfigReported(ctx context.Context, gwID string, r wire.ConfigReported) error {
	res, err := s.w.ExecContext(ctx, `UPDATE gateways SET config_reported_version = $2, config_applied = $3, config_error = $4 WHERE id = $1`,
		gwID, r.Version, r.Applied, r.Error)
	if err != nil {
		return fmt.Errorf("config reported: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("config reported: gateway %q: %w", gwID, store.ErrNotFound)
	}
	return nil
}

// BindGateway moves a gateway to a registered canteen, or with canteenID ""
// to none. store.ErrNotFound for an unknown gateway; store.ErrInvalid for a canteen
// that is not registered.
func (s *Registry) BindGateway(ctx context.Context, gatewayID, canteenID string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var canteen any
		if canteenID != "" {
			if !wire.ValidID(canteenID) {
				return fmt.Errorf("%w: canteen_id %q: want 1-64 letters, digits, '.', '_' or '-'", store.ErrInvalid, canteenID)
			}
			if err := CheckCanteenExists(ctx, tx, "canteen_id", canteenID); err != nil {
				return err
			}
			canteen = canteenID
		}
		if err := staleGateway(ctx, tx, gatewayID, noStale); err != nil { // the canteen it leaves
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE gateways SET canteen_id = $2 WHERE id = $1`, gatewayID, canteen)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("gateway %q: %w", gatewayID, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bind gateway: %w", err)
	}
	return nil
}
