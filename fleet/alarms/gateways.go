package alarms

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Gateway-level alarms: a gateway offline past its grace, its disk nearly
// full, its board too hot. FlagGateways raises each once, as a notice to
// the canteen's operators (a notice about a gateway, with no violation),
// keeps it open in gateway_alarms while the condition lasts and clears it
// when the condition ends; the next time it starts, a new notice.
const (
	NoticeGatewayOffline = "gateway_offline"
	NoticeGatewayDisk    = "gateway_disk"
	NoticeGatewayHot     = "gateway_hot"
)

// Defaults of GatewayThresholds.
const (
	DefaultGatewayOfflineGrace = 10 * time.Minute
	DefaultGatewayDiskFree     = 512 << 20
	DefaultGatewayTempC        = 80
)

// GatewayThresholds say when a gateway is in trouble; zero fields take
// the defaults.
type GatewayThresholds struct {
	// OfflineGrace is how long a gateway may be offline (from its last
	// message) before it is alarmed. Default 10m.
	OfflineGrace time.Duration
	// DiskFree is the free disk, in bytes, below which an online
	// gateway's disk is nearly full (as is one whose spool reports the
	// disk full). Default 512 MiB.
	DiskFree uint64
	// TempC is the board temperature, °C, at or above which an online
	// gateway is too hot. Default 80.
	TempC float64
}

func (t GatewayThresholds) withDefaults() GatewayThresholds {
	if t.OfflineGrace <= 0 {
		t.OfflineGrace = DefaultGatewayOfflineGrace
	}
	if t.DiskFree == 0 {
		t.DiskFree = DefaultGatewayDiskFree
	}
	if t.TempC == 0 {
		t.TempC = DefaultGatewayTempC
	}
	return t
}

// GatewayAlarm is one open gateway-level alarm.
type GatewayAlarm struct {
	GatewayID string    `json:"gateway_id"`
	CanteenID string    `json:"canteen_id,omitempty"`
	Kind      string    `json:"kind"`
	RaisedAt  time.Time `json:"raised_at"`
	Detail    string    `json:"detail"`
}

// gwState is what FlagGateways reads of a gateway.
type gwState struct {
	id, canteen, tz string
	online          bool
	lastSeen        sql.NullInt64
	heartbeat       sql.NullString
}

// troubles are the alarm kinds a gateway is in at now, with their detail.
func (g gwState) troubles(th GatewayThresholds, now time.Time) map[string]string {
	out := map[string]string{}
	if !g.online {
		if g.lastSeen.Valid && now.Sub(fromMs(g.lastSeen.Int64)) >= th.OfflineGrace {
			out[NoticeGatewayOffline] = "last seen " + when(fromMs(g.lastSeen.Int64), g.tz)
		}
		return out // an offline gateway's last heartbeat is old news
	}
	if !g.heartbeat.Valid {
		return out
	}
	var hb wire.Heartbeat
	if json.Unmarshal([]byte(g.heartbeat.String), &hb) != nil {
		return out
	}
	switch {
	case hb.Spool.DiskFull:
		out[NoticeGatewayDisk] = "disk full: the spool cannot write"
	case hb.System.DiskFree > 0 && hb.System.DiskFree < th.DiskFree:
		out[NoticeGatewayDisk] = fmt.Sprintf("%d MiB free", hb.System.DiskFree>>20)
	}
	if hb.System.TempC >= th.TempC {
		out[NoticeGatewayHot] = fmt.Sprintf("%.1f °C", hb.System.TempC)
	}
	return out
}

// when is t in the canteen's time zone, as notices write it.
func when(t time.Time, tz string) string {
	loc, err := time.LoadLocation(tz)
	if tz == "" || err != nil {
		tz = coverage.DefaultTZ
		if loc, err = time.LoadLocation(tz); err != nil {
			loc, tz = time.UTC, "UTC"
		}
	}
	return t.In(loc).Format("2006-01-02 15:04") + " (" + tz + ")"
}

func gatewayNoticeText(gw, kind, detail string) string {
	switch kind {
	case NoticeGatewayOffline:
		return fmt.Sprintf("Gateway %s offline: %s", gw, detail)
	case NoticeGatewayDisk:
		return fmt.Sprintf("Gateway %s disk nearly full: %s", gw, detail)
	case NoticeGatewayHot:
		return fmt.Sprintf("Gateway %s board too hot: %s", gw, detail)
	}
	return fmt.Sprintf("Gateway %s: %s %s", gw, kind, detail)
}

// FlagGateways raises the gateway-level alarms of the gateways bound to a
// canteen at now, each once while it lasts, with a notice to the
// canteen's operators, and clears those that ended. It returns how many
// it raised and cleared. Safe with several fleets: an alarm is raised
// (and its notice made) by the one whose insert took.
func (s *Alarms) FlagGateways(ctx context.Context, th GatewayThresholds, now time.Time) (raised, cleared int, err error) {
	th, now = th.withDefaults(), orNow(now)
	gws, err := store.All(ctx, s.r, func(row store.Row) (gwState, error) {
		var g gwState
		err := row.Scan(&g.id, &g.canteen, &g.tz, &g.online, &g.lastSeen, &g.heartbeat)
		return g, err
	}, `SELECT g.id, g.canteen_id, COALESCE(c.tz, ''), g.online, g.last_seen, g.last_heartbeat
		FROM gateways g JOIN canteens c ON c.id = g.canteen_id ORDER BY g.id`)
	if err != nil {
		return 0, 0, fmt.Errorf("flag gateways: %w", err)
	}
	open, err := s.GatewayAlarms(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	isOpen := map[[2]string]bool{}
	for _, a := range open {
		isOpen[[2]string{a.GatewayID, a.Kind}] = true
	}
	seen := map[string]bool{}
	for _, g := range gws {
		seen[g.id] = true
		now := now
		tr := g.troubles(th, now)
		for _, kind := range []string{NoticeGatewayOffline, NoticeGatewayDisk, NoticeGatewayHot} {
			detail, in := tr[kind]
			switch {
			case in && !isOpen[[2]string{g.id, kind}]:
				ok, err := s.raiseGateway(ctx, g, kind, detail, now)
				if err != nil {
					return raised, cleared, err
				}
				if ok {
					raised++
				}
			case !in && isOpen[[2]string{g.id, kind}]:
				if _, err := s.w.ExecContext(ctx, `DELETE FROM gateway_alarms WHERE gateway_id = $1 AND kind = $2`, g.id, kind); err != nil {
					return raised, cleared, fmt.Errorf("clear gateway alarm: %w", err)
				}
				cleared++
			}
		}
	}
	for _, a := range open { // a gateway unbound since: its alarms end
		if !seen[a.GatewayID] {
			if _, err := s.w.ExecContext(ctx, `DELETE FROM gateway_alarms WHERE gateway_id = $1`, a.GatewayID); err != nil {
				return raised, cleared, fmt.Errorf("clear gateway alarm: %w", err)
			}
			cleared++
		}
	}
	return raised, cleared, nil
}

// raiseGateway opens one gateway alarm and makes its notice, in one
// transaction; false when another fleet opened it first.
func (s *Alarms) raiseGateway(ctx context.Context, g gwState, kind, detail string, now time.Time) (bool, error) {
	made := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		made = false
		res, err := tx.ExecContext(ctx, `INSERT INTO gateway_alarms (gateway_id, kind, raised_at, detail) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, g.id, kind, ms(now), detail)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		state := ""
		if s.Workflow.Webhook {
			state = webhookPending
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notices (canteen_id, gateway_id, kind, text, at, webhook_state)
			VALUES ($1, $2, $3, $4, $5, $6)`, g.canteen, g.id, kind, gatewayNoticeText(g.id, kind, detail), ms(now), state); err != nil {
			return err
		}
		made = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("raise gateway alarm: %w", err)
	}
	return made, nil
}

// GatewayAlarms lists the open gateway alarms, of the gateways bound to
// canteens when canteens is not nil (empty: none), oldest first.
func (s *Alarms) GatewayAlarms(ctx context.Context, canteens []string) ([]GatewayAlarm, error) {
	if canteens != nil && len(canteens) == 0 {
		return []GatewayAlarm{}, nil
	}
	q := `SELECT a.gateway_id, COALESCE(g.canteen_id, ''), a.kind, a.raised_at, a.detail
		FROM gateway_alarms a JOIN gateways g ON g.id = a.gateway_id`
	var args []any
	if canteens != nil {
		q += ` WHERE g.canteen_id IN (` + store.Placeholders(1, len(canteens)) + `)`
		for _, c := range canteens {
			args = append(args, c)
		}
	}
	out, err := store.All(ctx, s.r, func(row store.Row) (GatewayAlarm, error) {
		var a GatewayAlarm
		var at int64
		err := row.Scan(&a.GatewayID, &a.CanteenID, &a.Kind, &at, &a.Detail)
		a.RaisedAt = fromMs(at)
		return a, err
	}, q+` ORDER BY a.raised_at, a.gateway_id, a.kind`, args...)
	if err != nil {
		return nil, fmt.Errorf("gateway alarms: %w", err)
	}
	return out, nil
}
