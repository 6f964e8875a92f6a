package registry

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// IngestItem is one record of a batch: an event (with its snapshot JPEG
// when the event announces one) or a camera status. Items with neither are
// skipped.
type IngestItem struct {
	GatewayID string
	Event     *wire.Event
	Snapshot  []byte
	Status    *wire.CameraStatus
	// SnapshotQuota is the most snapshot bytes the gateway may store per
	// UTC day (counted in snapshot_usage); 0 means no limit. An event whose
	// snapshot would go over it is stored without the snapshot, marked
	// snapshot_dropped, and Ingest sets OverQuota.
	SnapshotQuota int64
	// OverQuota is set by Ingest when it left the snapshot out for the quota.
	OverQuota bool
}

// Ingest commits a batch in one transaction and returns how many records
// (events and camera statuses) were new. It is idempotent: an event already
// stored under (gateway_id, event_id), or a status under (gateway_id, seq),
// is skipped, so a replay stores nothing twice and returns 0.
//
// Every snapshot is checked against its event's reference (SHA-256 and
// size). A mismatch, or a snapshot without a reference, refuses the whole
// batch with an *store.ItemError naming the item (wrapping store.ErrSnapshotMismatch),
// and nothing is stored: the caller drops that item and commits the rest
// again. An event that announces a snapshot but comes without one is stored
// without it.
//
// A camera status is stored under the fleet's seq: the gateway's plus its
// spool epoch's seq base (epochs.go), so a new spool's seqs, which start
// at 1 again, are not taken for replays.
//
// Camera statuses also maintain camera_intervals (see CameraIntervals) and,
// when newer than what the camera shows, the camera's online/picture.
func (s *Registry) Ingest(ctx context.Context, items []IngestItem) (inserted int, err error) {
	for i, it := range items {
		if it.Snapshot == nil {
			continue
		}
		if err := checkSnapshot(it.Event, it.Snapshot); err != nil {
			return 0, &store.ItemError{Index: i, Err: err}
		}
	}
	now := time.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		in := ingester{ctx: ctx, tx: tx, now: ms(now), day: now.UTC().Format(time.DateOnly),
			canteens: map[string]sql.NullString{}, bases: map[[2]string]int64{}, usage: map[string]int64{}}
		defer in.close()
		for i, it := range items {
			var n int
			var err error
			switch {
			case it.Event != nil:
				items[i].OverQuota = false
				n, err = in.event(&items[i])
			case it.Status != nil:
				n, err = in.status(it.GatewayID, it.Status)
			default:
				continue
			}
			if err != nil {
				return &store.ItemError{Index: i, Err: err}
			}
			inserted += n
		}
		return in.flushStale()
	})
	if err != nil {
		return 0, fmt.Errorf("ingest: %w", err)
	}
	return inserted, nil
}

func checkSnapshot(ev *wire.Event, jpeg []byte) error {
	if ev == nil || ev.Snapshot == nil {
		return fmt.Errorf("%w: no snapshot reference", store.ErrSnapshotMismatch)
	}
	sum := sha256.Sum256(jpeg)
	if hex.EncodeToString(sum[:]) != ev.Snapshot.SHA256 || len(jpeg) != ev.Snapshot.Bytes {
		return fmt.Errorf("%w: event %s", store.ErrSnapshotMismatch, ev.EventID)
	}
	return nil
}

// ingester holds one Ingest transaction's prepared statements, made on
// first use.
type ingester struct {
	ctx      context.Context
	tx       *sql.Tx
	now      int64
	day      string                    // UTC day of now, for snapshot_usage
	canteens map[string]sql.NullString // gateway id -> canteen id
	bases    map[[2]string]int64       // (gateway, epoch) -> seq base
	usage    map[string]int64          // gateway -> snapshot bytes stored today

	insEvent, insSnap, insStatus          *sql.Stmt
	nextIv, prevIv, closeIv, insIv, upCam *sql.Stmt
	stmts                                 []*sql.Stmt
	stale                                 map[string]int64 // canteen -> earliest new status (stale.go)
}

func (in *ingester) prepare(p **sql.Stmt, q string) error {
	if *p != nil {
		return nil
	}
	st, err := in.tx.PrepareContext(in.ctx, q)
	if err != nil {
		return err
	}
	*p = st
	in.stmts = append(in.stmts, st)
	return nil
}

func (in *ingester) close() {
	for _, st := range in.stmts {
		st.Close()
	}
}

// canteen returns the gateway's canteen (stored with each event, so an
// event stays with the canteen it happened in if the gateway moves).
func (in *ingester) canteen(gw string) (sql.NullString, error) {
	if c, ok := in.canteens[gw]; ok {
		return c, nil
	}
	var c sql.NullString
	err := in.tx.QueryRowContext(in.ctx, `SELECT canteen_id FROM gateways WHERE id = $1`, gw).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("gateway %q: %w", gw, store.ErrNotFound)
	}
	if err != nil {
		return c, err
	}
	in.canteens[gw] = c
	return c, nil
}

// seqBase returns the seq base of a gateway's epoch (epochs.go).
func (in *ingester) seqBase(gw, epoch string) (int64, error) {
	if epoch == "" {
		return 0, nil
	}
	if b, ok := in.bases[[2]string{gw, epoch}]; ok {
		return b, nil
	}
	var session int64
	var current string
	if err := in.tx.QueryRowContext(in.ctx, `SELECT session, epoch FROM gateways WHERE id = $1`, gw).Scan(&session, &current); err != nil {
		return 0, fmt.Errorf("gateway %q: %w", gw, err)
	}
	b, err := epochBases(in.ctx, in.tx, gw, epoch, false, current, session, in.now)
	if err != nil {
		return 0, fmt.Errorf("epoch of gateway %q: %w", gw, err)
	}
	in.bases[[2]string{gw, epoch}] = b.seq
	return b.seq, nil
}

// quotaAllows reports whether n more snapshot bytes fit the gateway's quota
// today, and if so counts them.
func (in *ingester) quotaAllows(gw string, n int, quota int64) (bool, error) {
	used, ok := in.usage[gw]
	if !ok {
		err := in.tx.QueryRowContext(in.ctx, `SELECT bytes FROM snapshot_usage WHERE gateway_id = $1 AND day = $2`, gw, in.day).Scan(&used)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("snapshot usage: %w", err)
		}
	}
	if quota > 0 && used+int64(n) > quota {
		in.usage[gw] = used
		return false, nil
	}
	in.usage[gw] = used + int64(n)
	_, err := in.tx.ExecContext(in.ctx, `INSERT INTO snapshot_usage (gateway_id, day, bytes) VALUES ($1, $2, $3)
		ON CONFLICT (gateway_id, day) DO UPDATE SET bytes = snapshot_usage.bytes + excluded.bytes`, gw, in.day, int64(n))
	if err != nil {
		return false, fmt.Errorf("snapshot usage: %w", err)
	}
	return true, nil
}

func (in *ingester) event(it *IngestItem) (int, error) {
	gw, ev, jpeg := it.GatewayID, it.Event, it.Snapshot
	canteen, err := in.canteen(gw)
	if err != nil {
		return 0, err
	}
	dropped := ev.SnapshotDropped
	if jpeg != nil && it.SnapshotQuota > 0 {
		// A replay whose snapshot is stored already is not counted again.
		var have int
		if err := in.tx.QueryRowContext(in.ctx, `SELECT COUNT(*) FROM snapshots WHERE gateway_id = $1 AND event_id = $2`,
			gw, ev.EventID).Scan(&have); err != nil {
			return 0, fmt.Errorf("look up snapshot %s: %w", ev.EventID, err)
		}
		if have == 0 {
			ok, err := in.quotaAllows(gw, len(jpeg), it.SnapshotQuota)
			if err != nil {
				return 0, err
			}
			if !ok {
				jpeg, dropped, it.OverQuota = nil, true, true
			}
		}
	}
	if err := in.prepare(&in.insEvent, `INSERT INTO events (gateway_id, canteen_id, event_id, seq, camera_id, type, score, boxes,
		started_at, ended_at, phase, episode, historical, attrs, snapshot_sha256, snapshot_bytes, snapshot_dropped, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (gateway_id, event_id) DO NOTHING`); err != nil {
		return 0, err
	}
	boxes := ev.Boxes
	if boxes == nil {
		boxes = []wire.Box{}
	}
	bj, err := json.Marshal(boxes)
	if err != nil {
		return 0, err
	}
	var attrs, sha, size, ended any
	if len(ev.Attrs) > 0 {
		b, err := json.Marshal(ev.Attrs)
		if err != nil {
			return 0, err
		}
		attrs = string(b)
	}
	if ev.Snapshot != nil {
		sha, size = ev.Snapshot.SHA256, ev.Snapshot.Bytes
	}
	if ev.EndedAt != nil {
		ended = ms(*ev.EndedAt)
	}
	res, err := in.insEvent.ExecContext(in.ctx, gw, canteen, ev.EventID, int64(ev.Seq), ev.CameraID, ev.Type, ev.Score, string(bj),
		ms(ev.StartedAt), ended, ev.Phase, ev.Episode, ev.Historical, attrs, sha, size, dropped, in.now)
	if err != nil {
		return 0, fmt.Errorf("insert event %s: %w", ev.EventID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if jpeg != nil {
		// Also for a replayed event: the first copy may have come without.
		if err := in.prepare(&in.insSnap, `INSERT INTO snapshots (gateway_id, event_id, jpeg) VALUES ($1, $2, $3)
			ON CONFLICT (gateway_id, event_id) DO NOTHING`); err != nil {
			return 0, err
		}
		if _, err := in.insSnap.ExecContext(in.ctx, gw, ev.EventID, jpeg); err != nil {
			return 0, fmt.Errorf("insert snapshot %s: %w", ev.EventID, err)
		}
	}
	return int(n), nil
}

// status stores a camera status and splits the camera's intervals.
//
// Intervals are kept by insert-and-split, ordered by (at, seq): the new
// status starts an interval that ends where the next later status starts
// (or stays open if it is the latest), and the interval of the status just
// before it is cut at its `at`. A status arriving late (historical, replayed
// after an outage) thus lands in the right place; the result is the same as
// sorting all statuses by time and pairing each with the next, whatever the
// arrival order.
func (in *ingester) status(gw string, st *wire.CameraStatus) (int, error) {
	if _, err := in.canteen(gw); err != nil { // the gateway must exist
		return 0, err
	}
	if err := in.prepare(&in.insStatus, `INSERT INTO camera_status (gateway_id, seq, camera_id, at, online, picture, historical, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (gateway_id, seq) DO NOTHING`); err != nil {
		return 0, err
	}
	pic := st.Picture
	if pic == "" {
		pic = wire.PictureUnknown
	}
	base, err := in.seqBase(gw, st.Epoch)
	if err != nil {
		return 0, err
	}
	at, seq := ms(st.At), base+int64(st.Seq)
	res, err := in.insStatus.ExecContext(in.ctx, gw, seq, st.CameraID, at, st.Online, pic, st.Historical, in.now)
	if err != nil {
		return 0, fmt.Errorf("insert camera status %d: %w", st.Seq, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err // a replay: intervals already include it
	}
	in.staleAt(gw, at)

	for _, q := range []struct {
		p **sql.Stmt
		q string
	}{
		{&in.nextIv, `SELECT start_at FROM camera_intervals WHERE gateway_id = $1 AND camera_id = $2
			AND (start_at > $3 OR (start_at = $3 AND seq > $4)) ORDER BY start_at, seq LIMIT 1`},
		{&in.prevIv, `SELECT start_at, seq FROM camera_intervals WHERE gateway_id = $1 AND camera_id = $2
			AND (start_at < $3 OR (start_at = $3 AND seq < $4)) ORDER BY start_at DESC, seq DESC LIMIT 1`},
		{&in.closeIv, `UPDATE camera_intervals SET end_at = $5 WHERE gateway_id = $1 AND camera_id = $2 AND start_at = $3 AND seq = $4`},
		{&in.insIv, `INSERT INTO camera_intervals (gateway_id, camera_id, start_at, seq, end_at, online, picture) VALUES ($1, $2, $3, $4, $5, $6, $7)`},
		{&in.upCam, `INSERT INTO cameras (gateway_id, camera_id, online, picture, status_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (gateway_id, camera_id) DO UPDATE SET online = excluded.online, picture = excluded.picture,
				status_at = excluded.status_at, updated_at = excluded.updated_at
			WHERE cameras.status_at IS NULL OR cameras.status_at <= excluded.status_at`},
	} {
		if err := in.prepare(q.p, q.q); err != nil {
			return 0, err
		}
	}
	var end sql.NullInt64
	if err := in.nextIv.QueryRowContext(in.ctx, gw, st.CameraID, at, seq).Scan(&end); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("camera intervals: %w", err)
	}
	var prevStart, prevSeq int64
	err = in.prevIv.QueryRowContext(in.ctx, gw, st.CameraID, at, seq).Scan(&prevStart, &prevSeq)
	switch {
	case err == nil:
		if _, err := in.closeIv.ExecContext(in.ctx, gw, st.CameraID, prevStart, prevSeq, at); err != nil {
			return 0, fmt.Errorf("camera intervals: %w", err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("camera intervals: %w", err)
	}
	var endArg any
	if end.Valid {
		endArg = end.Int64
	}
	if _, err := in.insIv.ExecContext(in.ctx, gw, st.CameraID, at, seq, endArg, st.Online, pic); err != nil {
		return 0, fmt.Errorf("camera intervals: %w", err)
	}
	if _, err := in.upCam.ExecContext(in.ctx, gw, st.CameraID, st.Online, pic, at, in.now); err != nil {
		return 0, fmt.Errorf("update camera: %w", err)
	}
	return 1, nil
}

// Interval is a span of one camera's health: [Start, End), End zero while
// the interval is open (the camera's latest status).
type Interval struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Online  bool      `json:"online"`
	Picture string    `json:"picture"`
	// Seq is the camera status that started the interval.
	Seq uint64 `json:"seq"`
}

// Healthy reports whether the camera was online with a good picture.
func (iv Interval) Healthy() bool { return iv.Online && iv.Picture == wire.PictureOK }

// CameraIntervals returns a camera's health intervals in time order.
func (s *Registry) CameraIntervals(ctx context.Context, gwID, camID string) ([]Interval, error) {
	out, err := store.All(ctx, s.r, scanInterval, `SELECT start_at, end_at, online, picture, seq FROM camera_intervals
		WHERE gateway_id = $1 AND camera_id = $2 ORDER BY start_at, seq`, gwID, camID)
	if err != nil {
		return nil, fmt.Errorf("camera intervals: %w", err)
	}
	return out, nil
}

func scanInterval(row store.Row) (Interval, error) {
	var iv Interval
	var start, seq int64
	var end sql.NullInt64
	err := row.Scan(&start, &end, &iv.Online, &iv.Picture, &seq)
	iv.Start, iv.End, iv.Seq = fromMs(start), fromNullMs(end), uint64(seq)
	return iv, err
}

// CountEvents counts a gateway's stored events ("" counts all).
func (s *Registry) CountEvents(ctx context.Context, gwID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE $1 = '' OR gateway_id = $1`, gwID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// EventSeqs returns a gateway's event seqs in the order they were stored.
func (s *Registry) EventSeqs(ctx context.Context, gwID string) ([]uint64, error) {
	out, err := store.All(ctx, s.r, func(row store.Row) (uint64, error) {
		var seq int64
		err := row.Scan(&seq)
		return uint64(seq), err
	}, `SELECT seq FROM events WHERE gateway_id = $1 ORDER BY id`, gwID)
	if err != nil {
		return nil, fmt.Errorf("event seqs: %w", err)
	}
	return out, nil
}
