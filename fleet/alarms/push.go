package alarms

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// What the instant push (fleet/notify's Pusher) reads: the alarms and the
// notices committed after a cursor, in id order, and the notices of
// alarms about to go overdue.

// Due-soon notice kinds (FlagDueSoon): an alarm whose deadline is near.
const (
	// NoticeReviewDueSoon: a new alarm's review is due at DueAt, within
	// the warning time.
	NoticeReviewDueSoon = "review_due_soon"
	// NoticeRectificationDueSoon: a confirmed alarm's rectification is due
	// at DueAt, within the warning time.
	NoticeRectificationDueSoon = "rectification_due_soon"
)

// DefaultDueSoon is how long before a deadline FlagDueSoon warns when
// given 0.
const DefaultDueSoon = 2 * time.Hour

// NewAlarm is an alarm as the push reads it.
type NewAlarm struct {
	ID          int64
	CanteenID   string
	CanteenName string
	District    string
	GatewayID   string
	CameraID    string
	Type        string
	Score       float64
	StartedAt   time.Time
	// ReceivedAt is when the fleet committed it.
	ReceivedAt time.Time
}

// AlarmsSince returns, in id order, at most limit (1 to MaxNoticeLimit)
// alarms with an id above afterID that belong to a canteen, leaving out
// pictures taken on request and load-generator events.
func (s *Alarms) AlarmsSince(ctx context.Context, afterID int64, limit int) ([]NewAlarm, error) {
	return s.newAlarms(ctx, `e.id > $1`, limit, afterID)
}

// LateAlarms returns, as AlarmsSince, the alarms with an id at most upTo
// received at or after since: on PostgreSQL ids are handed out before
// commit, so a transaction that commits after a later one's may show an
// id below a cursor already moved past it; a reader looks back a few
// seconds to find them.
func (s *Alarms) LateAlarms(ctx context.Context, upTo int64, since time.Time, limit int) ([]NewAlarm, error) {
	return s.newAlarms(ctx, `e.id <= $1 AND e.received_at >= $4`, limit, upTo, ms(since))
}

func (s *Alarms) newAlarms(ctx context.Context, cond string, limit int, args ...any) ([]NewAlarm, error) {
	limit = max(1, min(limit, MaxNoticeLimit))
	args = append([]any{args[0], wire.TypeSnapshot, wire.TypeSynthetic}, args[1:]...)
	out, err := store.All(ctx, s.r, func(row store.Row) (NewAlarm, error) {
		var a NewAlarm
		var started, received int64
		err := row.Scan(&a.ID, &a.CanteenID, &a.CanteenName, &a.District, &a.GatewayID, &a.CameraID, &a.Type, &a.Score, &started, &received)
		a.StartedAt, a.ReceivedAt = fromMs(started), fromMs(received)
		return a, err
	}, `SELECT e.id, e.canteen_id, COALESCE(c.name, ''), COALESCE(c.district, ''), e.gateway_id, e.camera_id, e.type, e.score,
		e.started_at, e.received_at
		FROM events e LEFT JOIN canteens c ON c.id = e.canteen_id
		WHERE `+cond+` AND `+AlarmWhere+` AND e.canteen_id IS NOT NULL AND e.type NOT IN ($2, $3)
		ORDER BY e.id LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("new alarms: %w", err)
	}
	return out, nil
}

// NoticesSince returns, in id order, at most limit (1 to MaxNoticeLimit)
// notices with an id above afterID, with their canteen's district.
func (s *Alarms) NoticesSince(ctx context.Context, afterID int64, limit int) ([]Notice, error) {
	limit = max(1, min(limit, MaxNoticeLimit))
	ns, err := s.queryNotices(ctx, ` WHERE n.id > $1 ORDER BY n.id LIMIT `+strconv.Itoa(limit), afterID)
	if err != nil {
		return nil, fmt.Errorf("notices since %d: %w", afterID, err)
	}
	return ns, nil
}

// LateNotices is LateAlarms for notices: those with an id at most upTo
// made at or after since.
func (s *Alarms) LateNotices(ctx context.Context, upTo int64, since time.Time, limit int) ([]Notice, error) {
	limit = max(1, min(limit, MaxNoticeLimit))
	ns, err := s.queryNotices(ctx, ` WHERE n.id <= $1 AND n.at >= $2 ORDER BY n.id LIMIT `+strconv.Itoa(limit), upTo, ms(since))
	if err != nil {
		return nil, fmt.Errorf("late notices: %w", err)
	}
	return ns, nil
}

// LastIDs are the highest alarm (event) and notice ids: where a push
// that starts on an existing database begins, so that it does not push
// the past.
func (s *Alarms) LastIDs(ctx context.Context) (event, notice int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT MAX(id) FROM events), 0), COALESCE((SELECT MAX(id) FROM notices), 0)`).
		Scan(&event, &notice)
	if err != nil {
		return 0, 0, fmt.Errorf("last ids: %w", err)
	}
	return event, notice, nil
}

// FlagDueSoon makes a notice for each alarm whose deadline falls within
// warn after now (0: DefaultDueSoon): NoticeReviewDueSoon for a new alarm
// whose review is due (StartedAt + Workflow.ReviewDeadline),
// NoticeRectificationDueSoon for a confirmed one whose rectification is
// due. Each once per alarm, kind and due date (a unique index, so also
// with several fleets), at most 1000 in one call; it returns how many it
// made. An alarm already past its deadline gets no warning (FlagOverdue's
// notice says more).
func (s *Alarms) FlagDueSoon(ctx context.Context, warn time.Duration, now time.Time) (int, error) {
	now = orNow(now)
	if warn <= 0 {
		warn = DefaultDueSoon
	}
	reviewMs := s.Workflow.reviewDeadline().Milliseconds()
	made := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		made = 0
		type due struct {
			a    noticeAlarm
			at   int64
			kind string
		}
		scan := func(kind string) func(store.Row) (due, error) {
			return func(row store.Row) (due, error) {
				d := due{kind: kind}
				err := row.Scan(&d.a.id, &d.at, &d.a.canteen, &d.a.typ, &d.a.camera, &d.a.tz)
				return d, err
			}
		}
		lo, hi := ms(now), ms(now.Add(warn))
		review, err := store.All(ctx, tx, scan(NoticeReviewDueSoon), `SELECT e.id, e.started_at + $3, `+noticeAlarmCols+noticeAlarmFrom+`
			WHERE `+AlarmWhere+` AND e.status = $4 AND e.canteen_id IS NOT NULL AND e.type NOT IN ($5, $6)
			AND e.started_at + $3 > $1 AND e.started_at + $3 <= $2
			AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.violation_id = e.id AND n.kind = $7 AND n.due_at = e.started_at + $3)
			ORDER BY e.id LIMIT `+strconv.Itoa(maxFlagged),
			lo, hi, reviewMs, StatusNew, wire.TypeSnapshot, wire.TypeSynthetic, NoticeReviewDueSoon)
		if err != nil {
			return err
		}
		rectify, err := store.All(ctx, tx, scan(NoticeRectificationDueSoon), `SELECT e.id, e.rectify_due, `+noticeAlarmCols+noticeAlarmFrom+`
			WHERE `+AlarmWhere+` AND e.status = $3 AND e.canteen_id IS NOT NULL
			AND e.rectify_due > $1 AND e.rectify_due <= $2
			AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.violation_id = e.id AND n.kind = $4 AND n.due_at = e.rectify_due)
			ORDER BY e.id LIMIT `+strconv.Itoa(maxFlagged),
			lo, hi, StatusConfirmed, NoticeRectificationDueSoon)
		if err != nil {
			return err
		}
		for _, d := range append(review, rectify...) {
			ok, err := s.insertNotice(ctx, tx, d.a, d.kind, fromMs(d.at), now)
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
		return 0, fmt.Errorf("flag due soon: %w", err)
	}
	return made, nil
}
