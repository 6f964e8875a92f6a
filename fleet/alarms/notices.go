package alarms

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/store"
)

// Notice kinds.
const (
	// NoticeConfirmed: an alarm was confirmed; DueAt is its RectifyDue.
	NoticeConfirmed = "confirmed"
	// NoticeRectificationRejected: a rectification was rejected; DueAt is
	// the new RectifyDue.
	NoticeRectificationRejected = "rectification_rejected"
	// NoticeRectificationOverdue: an alarm passed its RectifyDue (DueAt)
	// unrectified (FlagOverdue).
	NoticeRectificationOverdue = "rectification_overdue"
)

// Notice tells a canteen's operators what the workflow wants of them. The
// notices of alarms without a canteen are not made.
type Notice struct {
	ID          int64  `json:"id"`
	CanteenID   string `json:"canteen_id"`
	CanteenName string `json:"canteen_name,omitempty"`
	// District is the canteen's.
	District      string `json:"district,omitempty"`
	ViolationID   int64  `json:"violation_id"`
	ViolationType string `json:"violation_type,omitempty"`
	// GatewayID names the gateway of a gateway-level alarm's notice
	// (gateways.go), which has no violation.
	GatewayID string `json:"gateway_id,omitempty"`
	// Kind is NoticeConfirmed, NoticeRectificationRejected,
	// NoticeRectificationOverdue, a due-soon warning's (NoticeReviewDueSoon,
	// NoticeRectificationDueSoon: push.go), or a gateway alarm's:
	// NoticeGatewayOffline, NoticeGatewayDisk, NoticeGatewayHot.
	Kind string `json:"kind"`
	// Text is a one-line English summary, with DueAt in the canteen's
	// time zone.
	Text   string    `json:"text"`
	DueAt  time.Time `json:"due_at,omitzero"`
	At     time.Time `json:"at"`
	ReadAt time.Time `json:"read_at,omitzero"`
	ReadBy string    `json:"read_by,omitempty"`
	// WebhookTries is how many deliveries to the webhook have failed.
	WebhookTries int `json:"-"`
}

// NoticeFilter selects notices.
type NoticeFilter struct {
	// Canteens keeps the notices of these canteens; nil means any, empty
	// none.
	Canteens []string
	// Unread keeps the notices nobody has read.
	Unread bool
	// Limit is at most DefaultNoticeLimit when 0, never more than
	// MaxNoticeLimit.
	Limit int
	// BeforeID keeps the notices older than this one, to page back.
	BeforeID int64
}

// Bounds of NoticeFilter.Limit, and of the notices FlagOverdue makes at
// once.
const (
	DefaultNoticeLimit = 100
	MaxNoticeLimit     = 1000
	maxFlagged         = 1000
)

// Webhook states of a notice.
const (
	webhookPending = "pending"
	webhookSent    = "sent"
	webhookFailed  = "failed"
)

// maxWebhookError bounds the delivery error stored.
const maxWebhookError = 500

// noticeText is a notice's Text.
func noticeText(id int64, kind, typ, camera string, due time.Time, tz string) string {
	loc, err := time.LoadLocation(tz)
	if tz == "" || err != nil {
		tz = coverage.DefaultTZ
		if loc, err = time.LoadLocation(tz); err != nil {
			loc, tz = time.UTC, "UTC"
		}
	}
	what := typ
	if camera != "" {
		what += ", " + camera
	}
	when := due.In(loc).Format("2006-01-02 15:04") + " (" + tz + ")"
	switch kind {
	case NoticeConfirmed:
		return fmt.Sprintf("Alarm %d (%s) confirmed: rectify by %s", id, what, when)
	case NoticeRectificationRejected:
		return fmt.Sprintf("Alarm %d (%s) rectification rejected: rectify by %s", id, what, when)
	case NoticeRectificationOverdue:
		return fmt.Sprintf("Alarm %d (%s) rectification overdue: was due by %s", id, what, when)
	case NoticeReviewDueSoon:
		return fmt.Sprintf("Alarm %d (%s) awaits review: due by %s", id, what, when)
	case NoticeRectificationDueSoon:
		return fmt.Sprintf("Alarm %d (%s) rectification due soon: rectify by %s", id, what, when)
	}
	return fmt.Sprintf("Alarm %d (%s): %s", id, what, kind)
}

// addNotice makes a notice of kind for violation id's canteen inside tx,
// unless it has no canteen or (an overdue notice) it exists already; it
// reports whether it made one.
func (s *Alarms) addNotice(ctx context.Context, tx *sql.Tx, id int64, kind string, due, now time.Time) (bool, error) {
	a := noticeAlarm{id: id}
	err := tx.QueryRowContext(ctx, `SELECT `+noticeAlarmCols+noticeAlarmFrom+` WHERE e.id = $1`, id).
		Scan(&a.canteen, &a.typ, &a.camera, &a.tz)
	if err != nil {
		return false, fmt.Errorf("add notice: %w", err)
	}
	return s.insertNotice(ctx, tx, a, kind, due, now)
}

// noticeAlarm is what a notice says of its alarm.
type noticeAlarm struct {
	id              int64
	canteen         sql.NullString
	typ, camera, tz string
}

// noticeAlarmCols and noticeAlarmFrom read a noticeAlarm (but its id)
// from events e.
const (
	noticeAlarmCols = `e.canteen_id, e.type, e.camera_id, COALESCE(c.tz, '')`
	noticeAlarmFrom = ` FROM events e LEFT JOIN canteens c ON c.id = e.canteen_id`
)

// insertNotice is addNotice for an alarm already read.
func (s *Alarms) insertNotice(ctx context.Context, tx *sql.Tx, a noticeAlarm, kind string, due, now time.Time) (bool, error) {
	if !a.canteen.Valid {
		return false, nil
	}
	state := ""
	if s.Workflow.Webhook {
		state = webhookPending
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO notices (canteen_id, violation_id, kind, text, due_at, at, webhook_state)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		a.canteen.String, a.id, kind, noticeText(a.id, kind, a.typ, a.camera, due, a.tz), msOrNil(due), ms(now), state)
	if err != nil {
		return false, fmt.Errorf("add notice: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

const noticeCols = `n.id, n.canteen_id, COALESCE(c.name, ''), COALESCE(c.district, ''), n.violation_id, COALESCE(e.type, ''), COALESCE(n.gateway_id, ''), n.kind, n.text,
	n.due_at, n.at, n.read_at, n.read_by, n.webhook_tries`

const noticeFrom = ` FROM notices n LEFT JOIN canteens c ON c.id = n.canteen_id LEFT JOIN events e ON e.id = n.violation_id`

func scanNotice(sc store.Row) (Notice, error) {
	var n Notice
	var violation, due, read sql.NullInt64
	var at, tries int64
	if err := sc.Scan(&n.ID, &n.CanteenID, &n.CanteenName, &n.District, &violation, &n.ViolationType, &n.GatewayID, &n.Kind, &n.Text,
		&due, &at, &read, &n.ReadBy, &tries); err != nil {
		return n, err
	}
	n.ViolationID, n.WebhookTries = violation.Int64, int(tries)
	n.DueAt, n.At, n.ReadAt = fromNullMs(due), fromMs(at), fromNullMs(read)
	return n, nil
}

func (s *Alarms) queryNotices(ctx context.Context, q string, args ...any) ([]Notice, error) {
	return store.All(ctx, s.r, scanNotice, `SELECT `+noticeCols+noticeFrom+q, args...)
}

// Notices lists the notices f selects, newest first.
func (s *Alarms) Notices(ctx context.Context, f NoticeFilter) ([]Notice, error) {
	if f.Canteens != nil && len(f.Canteens) == 0 {
		return []Notice{}, nil
	}
	where := []string{"1 = 1"}
	var args []any
	if f.Canteens != nil {
		where = append(where, "n.canteen_id IN ("+store.Placeholders(1, len(f.Canteens))+")")
		for _, c := range f.Canteens {
			args = append(args, c)
		}
	}
	if f.Unread {
		where = append(where, "n.read_at IS NULL")
	}
	if f.BeforeID > 0 {
		args = append(args, f.BeforeID)
		where = append(where, "n.id < $"+strconv.Itoa(len(args)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultNoticeLimit
	}
	limit = min(limit, MaxNoticeLimit)
	ns, err := s.queryNotices(ctx, ` WHERE `+strings.Join(where, " AND ")+` ORDER BY n.id DESC LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list notices: %w", err)
	}
	return ns, nil
}

// MarkNoticeRead records that actor read notice id (the first reading
// stays). With canteens non-nil, the notice must be of one of them:
// store.ErrNotFound otherwise, as when there is no such notice.
func (s *Alarms) MarkNoticeRead(ctx context.Context, id int64, canteens []string, actor string, now time.Time) error {
	if canteens != nil && len(canteens) == 0 {
		return fmt.Errorf("notice %d: %w", id, store.ErrNotFound)
	}
	args := []any{id, ms(orNow(now)), actor}
	q := `UPDATE notices SET read_at = COALESCE(read_at, $2), read_by = CASE WHEN read_at IS NULL THEN $3 ELSE read_by END
		WHERE id = $1`
	if canteens != nil {
		q += " AND canteen_id IN (" + store.Placeholders(4, len(canteens)) + ")"
		for _, c := range canteens {
			args = append(args, c)
		}
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("mark notice read: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark notice read: %w", err)
	} else if n == 0 {
		return fmt.Errorf("notice %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// FlagOverdue makes a NoticeRectificationOverdue notice for each alarm
// still confirmed or rectifying past its RectifyDue at now, once per alarm
// and due date (a rejected rectification's new due date is flagged again
// when it passes), at most 1000 in one call; it returns how many it made.
func (s *Alarms) FlagOverdue(ctx context.Context, now time.Time) (int, error) {
	now = orNow(now)
	made := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		made = 0
		type due struct {
			a  noticeAlarm
			at int64
		}
		// Read all before inserting: the transaction's one connection.
		dues, err := store.All(ctx, tx, func(row store.Row) (due, error) {
			var d due
			err := row.Scan(&d.a.id, &d.at, &d.a.canteen, &d.a.typ, &d.a.camera, &d.a.tz)
			return d, err
		}, `SELECT e.id, e.rectify_due, `+noticeAlarmCols+noticeAlarmFrom+`
			WHERE `+AlarmWhere+` AND e.status IN ($2, $3) AND e.rectify_due < $1 AND e.canteen_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.violation_id = e.id AND n.kind = $4 AND n.due_at = e.rectify_due)
			ORDER BY e.id LIMIT `+strconv.Itoa(maxFlagged),
			ms(now), StatusConfirmed, StatusRectifying, NoticeRectificationOverdue)
		if err != nil {
			return err
		}
		for _, d := range dues {
			ok, err := s.insertNotice(ctx, tx, d.a, NoticeRectificationOverdue, fromMs(d.at), now)
			if err != nil {
				return err
			}
			if ok {
				made++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("flag overdue: %w", err)
	}
	return made, nil
}

// PendingWebhooks returns, oldest first, at most limit (default 100)
// notices waiting for the webhook whose next try is due at now.
func (s *Alarms) PendingWebhooks(ctx context.Context, now time.Time, limit int) ([]Notice, error) {
	if limit <= 0 {
		limit = DefaultNoticeLimit
	}
	limit = min(limit, MaxNoticeLimit)
	ns, err := s.queryNotices(ctx, ` WHERE n.webhook_state = $1 AND (n.webhook_next_at IS NULL OR n.webhook_next_at <= $2)
		ORDER BY n.id LIMIT `+strconv.Itoa(limit), webhookPending, ms(orNow(now)))
	if err != nil {
		return nil, fmt.Errorf("pending webhooks: %w", err)
	}
	return ns, nil
}

// WebhookDone records a delivery of notice id to the webhook: err nil
// means it was delivered; else the failure is counted (WebhookTries) and
// the notice retried at next, or never again when giveUp. store.ErrNotFound if
// there is no such notice.
func (s *Alarms) WebhookDone(ctx context.Context, id int64, err error, next time.Time, giveUp bool) error {
	var res sql.Result
	var xerr error
	if err == nil {
		res, xerr = s.w.ExecContext(ctx, `UPDATE notices SET webhook_state = $2, webhook_error = '', webhook_next_at = NULL
			WHERE id = $1`, id, webhookSent)
	} else {
		state, msg := webhookPending, err.Error()
		if giveUp {
			state = webhookFailed
		}
		msg = store.Truncate(msg, maxWebhookError)
		res, xerr = s.w.ExecContext(ctx, `UPDATE notices SET webhook_state = $2, webhook_tries = webhook_tries + 1,
			webhook_error = $3, webhook_next_at = $4 WHERE id = $1`, id, state, msg, msOrNil(next))
	}
	if xerr != nil {
		return fmt.Errorf("webhook done: %w", xerr)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("webhook done: %w", err)
	} else if n == 0 {
		return fmt.Errorf("notice %d: %w", id, store.ErrNotFound)
	}
	return nil
}
