// Package complaints is the public's complaint channel (投诉举报): a
// complaint filed with no login from the form at /complain (fleet/api)
// becomes a ticket, routed to the regulators of its canteen's district,
// who accept it, handle it and reply; its filer follows it with the code
// the form gave them.
//
// # States
//
//	received ──accept──▶ accepted ──handle──▶ handled ──reply──▶ replied
//	    │                   │  └──────────────reply─────────────▲
//	    └──reject───────────┴──reject──▶ rejected
//
// Every step is a regulator's (or an admin's), recorded in
// complaint_history with who, when and the note, and audited by the API.
// A reply may follow acceptance directly (handle records what was done
// when there is something to record). Reject is for abusive or
// nonsensical complaints and takes a reason, which the filer reads as the
// answer. The canteen's operator reads the complaints about its canteen
// (without the filer's contact) and may add its account of the matter
// while the ticket is open; it never replies.
//
// # Deadlines
//
// Set at filing from Settings, and stored with the ticket (a later change
// of the settings does not move the deadlines of tickets already filed):
// accept within AcceptWorkdays working days (default 1: the same time on
// the next Monday-to-Friday day, in Asia/Shanghai; public holidays are not
// known to the fleet), reply within ReplyDeadline (default 7 days).
//
// # Codes
//
// A ticket's code is 12 symbols of Crockford's base32 (60 random bits),
// shown "XXXX-XXXX-XXXX" and read back as internal/humancode reads codes.
// Only its SHA-256 is stored: a copy of the database does not let anyone
// read tickets as their filers.
//
// # Abuse
//
// File takes, in the ticket's own transaction: the challenge's id
// (inserted into complaint_challenges, whose primary key refuses a second
// use: ErrChallengeUsed) and the filer's address hash, counted against
// Settings.PerAddress within the last hour (ErrTooMany). The photo is in
// the ticket's row, so nothing is ever stored half. The challenge itself
// (a proof of work) is challenge.go's.
//
// # Retention
//
// fleet/retention deletes a ticket's photo once the ticket has been
// answered (replied or rejected) for longer than its ComplaintPhotos
// period (default 365 days); an open ticket keeps its photo. The ticket
// then reports PhotoExpired, and Photo returns store.ErrExpired.
package complaints

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/internal/humancode"
)

// States of a ticket.
const (
	StateReceived = "received"
	StateAccepted = "accepted"
	StateHandled  = "handled"
	StateReplied  = "replied"
	StateRejected = "rejected"
)

// Actions of the history.
const (
	ActionFile     = "file"
	ActionAccept   = "accept"
	ActionHandle   = "handle"
	ActionReply    = "reply"
	ActionReject   = "reject"
	ActionOperator = "operator_account"
)

// Limits of a complaint's fields, in characters (runes) except the photo.
const (
	MaxText    = 2000
	MinText    = 5
	MaxContact = 100
	MaxNote    = 2000
	MaxCamera  = 200
	MaxPhoto   = 8 << 20
	// CodeLen is the symbols of a ticket code.
	CodeLen = 12
)

// Defaults of Settings.
const (
	DefaultAcceptWorkdays = 1
	DefaultReplyDeadline  = 7 * 24 * time.Hour
	DefaultPerAddress     = 5
	// DeadlineTZ is the zone working days are counted in.
	DeadlineTZ = "Asia/Shanghai"
)

var (
	// ErrChallengeUsed: the challenge was already spent on a ticket.
	ErrChallengeUsed = errors.New("challenge already used")
	// ErrTooMany: the address filed Settings.PerAddress tickets in the
	// last hour.
	ErrTooMany = errors.New("too many complaints from this address")
)

// Settings are the complaint channel's; the zero value means the
// defaults.
type Settings struct {
	// AcceptWorkdays is how many working days (Monday to Friday) a
	// regulator has to accept a ticket; 0 means DefaultAcceptWorkdays (1).
	AcceptWorkdays int
	// ReplyDeadline is how long after filing a ticket must be replied
	// to; 0 means DefaultReplyDeadline (7 days).
	ReplyDeadline time.Duration
	// PerAddress caps the tickets one address files in an hour; 0 means
	// DefaultPerAddress (5).
	PerAddress int
}

func (s Settings) acceptWorkdays() int {
	if s.AcceptWorkdays > 0 {
		return s.AcceptWorkdays
	}
	return DefaultAcceptWorkdays
}

func (s Settings) replyDeadline() time.Duration {
	if s.ReplyDeadline > 0 {
		return s.ReplyDeadline
	}
	return DefaultReplyDeadline
}

func (s Settings) perAddress() int {
	if s.PerAddress > 0 {
		return s.PerAddress
	}
	return DefaultPerAddress
}

// AcceptDue is the acceptance deadline of a ticket received at t: the
// same time of day n working days later (Saturdays and Sundays skipped,
// in DeadlineTZ).
func AcceptDue(t time.Time, n int) time.Time {
	loc, err := time.LoadLocation(DeadlineTZ)
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	d := t.In(loc)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d.UTC()
}

// Complaints is the tickets of an open database. Safe for concurrent use;
// set Settings before use.
type Complaints struct {
	db       *store.DB
	r, w     *sql.DB
	Settings Settings
}

// New returns the complaints stored in db.
func New(db *store.DB) *Complaints {
	return &Complaints{db: db, r: db.Read(), w: db.Write()}
}

// Complaint is a ticket. Contact is the filer's and only regulators see
// it (the API blanks it for others).
type Complaint struct {
	ID          int64     `json:"id"`
	CanteenID   string    `json:"canteen_id"`
	CanteenName string    `json:"canteen_name"`
	District    string    `json:"district"`
	Category    string    `json:"category"`
	Text        string    `json:"text"`
	Camera      string    `json:"camera,omitempty"`
	ConcernsAt  time.Time `json:"concerns_at,omitzero"`
	Contact     string    `json:"contact,omitempty"`
	// FiledBy is the signed-in parent who filed it; "" if anonymous.
	FiledBy  string `json:"filed_by,omitempty"`
	HasPhoto bool   `json:"has_photo"`
	// PhotoExpired: retention deleted the photo (HasPhoto is then false;
	// PhotoType stays).
	PhotoExpired bool      `json:"photo_expired,omitempty"`
	PhotoType    string    `json:"photo_type,omitempty"`
	State        string    `json:"state"`
	ReceivedAt   time.Time `json:"received_at"`
	AcceptDue    time.Time `json:"accept_due"`
	ReplyDue     time.Time `json:"reply_due"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	AcceptedBy   string    `json:"accepted_by,omitempty"`
	HandledAt    time.Time `json:"handled_at,omitzero"`
	HandledBy    string    `json:"handled_by,omitempty"`
	// HandlingNote is the regulator's record of what was done.
	HandlingNote string    `json:"handling_note,omitempty"`
	RepliedAt    time.Time `json:"replied_at,omitzero"`
	RepliedBy    string    `json:"replied_by,omitempty"`
	Reply        string    `json:"reply,omitempty"`
	RejectedAt   time.Time `json:"rejected_at,omitzero"`
	RejectedBy   string    `json:"rejected_by,omitempty"`
	RejectReason string    `json:"reject_reason,omitempty"`
	// OperatorAccount is the canteen's account of the matter.
	OperatorAccount   string    `json:"operator_account,omitempty"`
	OperatorAccountBy string    `json:"operator_account_by,omitempty"`
	OperatorAccountAt time.Time `json:"operator_account_at,omitzero"`
	// Overdue is "accept" (still received after AcceptDue), "reply" (not
	// answered after ReplyDue) or "" as of the read.
	Overdue string `json:"overdue,omitempty"`
}

// Open says whether the ticket still waits for an answer.
func (c Complaint) Open() bool { return c.State != StateReplied && c.State != StateRejected }

// New is what a filer sends.
type NewComplaint struct {
	CanteenID  string
	Category   string
	Text       string
	Camera     string
	ConcernsAt time.Time
	Contact    string
	// FiledBy is the signed-in filer ("user:<login>"), "" if anonymous.
	FiledBy string
	// Addr is the filer's address (hashed before it is stored).
	Addr      string
	Photo     []byte
	PhotoType string
	// Challenge is the spent challenge's id and when it expires.
	Challenge        string
	ChallengeExpires time.Time
}

// Check validates c's fields; a failure wraps store.ErrInvalid and names
// the field.
func (c NewComplaint) Check() error {
	bad := func(field, msg string) error { return fmt.Errorf("%s: %s: %w", field, msg, store.ErrInvalid) }
	n := utf8.RuneCountInString(strings.TrimSpace(c.Text))
	switch {
	case c.CanteenID == "":
		return bad("canteen", "required")
	case !ValidCategory(c.Category):
		return bad("category", fmt.Sprintf("%q is not a complaint category", c.Category))
	case !utf8.ValidString(c.Text) || !utf8.ValidString(c.Contact) || !utf8.ValidString(c.Camera):
		return bad("text", "not UTF-8")
	case n < MinText:
		return bad("text", fmt.Sprintf("at least %d characters", MinText))
	case n > MaxText:
		return bad("text", fmt.Sprintf("%d characters, at most %d", n, MaxText))
	case utf8.RuneCountInString(c.Contact) > MaxContact:
		return bad("contact", fmt.Sprintf("at most %d characters", MaxContact))
	case len(c.Camera) > MaxCamera:
		return bad("camera", fmt.Sprintf("at most %d bytes", MaxCamera))
	case len(c.Photo) > MaxPhoto:
		return bad("photo", fmt.Sprintf("%d bytes, at most %d", len(c.Photo), MaxPhoto))
	case len(c.Photo) > 0 && c.PhotoType != "image/jpeg" && c.PhotoType != "image/png":
		return bad("photo", "want a JPEG or PNG image")
	case c.Challenge == "":
		return bad("challenge", "required")
	}
	return nil
}

// NormalizeCode reads a ticket code as typed; ok is false when it cannot
// be one.
func NormalizeCode(code string) (string, bool) { return humancode.Normalize(code, CodeLen) }

func codeHash(norm string) string {
	sum := sha256.Sum256([]byte("bk-complaint:" + norm))
	return hex.EncodeToString(sum[:])
}

// AddrHash is how a filer's address is stored: its SHA-256 under the
// database's own key, so that the per-address limit can be counted
// without keeping the address.
func AddrHash(key []byte, addr string) string {
	sum := sha256.Sum256(append(append([]byte{}, key...), addr...))
	return hex.EncodeToString(sum[:16])
}

// File stores a new ticket and returns it with its code (shown once: only
// its hash is kept). store.ErrInvalid (naming the field; an unknown or
// inactive canteen is "canteen"), ErrChallengeUsed, ErrTooMany.
func (s *Complaints) File(ctx context.Context, n NewComplaint, now time.Time) (Complaint, string, error) {
	if err := n.Check(); err != nil {
		return Complaint{}, "", fmt.Errorf("file complaint: %w", err)
	}
	if now.IsZero() {
		now = time.Now()
	}
	key, err := s.Key(ctx)
	if err != nil {
		return Complaint{}, "", fmt.Errorf("file complaint: %w", err)
	}
	code, err := humancode.New(CodeLen, 4)
	if err != nil {
		return Complaint{}, "", fmt.Errorf("file complaint: code: %w", err)
	}
	norm, _ := NormalizeCode(code)
	addr := ""
	if n.Addr != "" {
		addr = AddrHash(key, n.Addr)
	}
	var photo any
	if len(n.Photo) > 0 {
		photo = n.Photo
	} else {
		n.PhotoType = ""
	}
	acceptDue, replyDue := AcceptDue(now, s.Settings.acceptWorkdays()), now.Add(s.Settings.replyDeadline())
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var active bool
		if err := tx.QueryRowContext(ctx, `SELECT active FROM canteens WHERE id = $1`, n.CanteenID).Scan(&active); errors.Is(err, sql.ErrNoRows) || (err == nil && !active) {
			return fmt.Errorf("canteen: no active canteen %q: %w", n.CanteenID, store.ErrInvalid)
		} else if err != nil {
			return err
		}
		if addr != "" {
			var k int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM complaints WHERE addr_hash = $1 AND received_at > $2`,
				addr, store.Ms(now.Add(-time.Hour))).Scan(&k); err != nil {
				return err
			}
			if k >= s.Settings.perAddress() {
				return ErrTooMany
			}
		}
		// Spent challenges are kept until they expire; drop the expired.
		if _, err := tx.ExecContext(ctx, `DELETE FROM complaint_challenges WHERE expires_at < $1`, store.Ms(now)); err != nil {
			return err
		}
		// A concurrent filer of the same challenge waits for this row's
		// transaction (PostgreSQL) or the writer lock (SQLite), then
		// inserts nothing.
		res, err := tx.ExecContext(ctx, `INSERT INTO complaint_challenges (id, expires_at) VALUES ($1, $2)
			ON CONFLICT (id) DO NOTHING`, n.Challenge, store.Ms(n.ChallengeExpires))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 0 {
			return ErrChallengeUsed
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO complaints (code_hash, canteen_id, category, body, camera, concerns_at,
			contact, filed_by, addr_hash, photo, photo_type, state, received_at, accept_due, reply_due)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
			codeHash(norm), n.CanteenID, n.Category, strings.TrimSpace(n.Text), n.Camera, store.MsOrNil(n.ConcernsAt),
			strings.TrimSpace(n.Contact), n.FiledBy, addr, photo, n.PhotoType, StateReceived, store.Ms(now),
			store.Ms(acceptDue), store.Ms(replyDue)).Scan(&id); err != nil {
			return err
		}
		actor := n.FiledBy
		if actor == "" {
			actor = "anonymous"
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO complaint_history (complaint_id, at, actor, action, from_state, to_state)
			VALUES ($1, $2, $3, $4, '', $5)`, id, store.Ms(now), actor, ActionFile, StateReceived)
		return err
	})
	if err != nil {
		return Complaint{}, "", fmt.Errorf("file complaint: %w", err)
	}
	c, err := s.Get(ctx, id, now)
	return c, code, err
}

const cols = `x.id, x.canteen_id, c.name, c.district, x.category, x.body, x.camera, x.concerns_at, x.contact, x.filed_by,
	x.photo IS NOT NULL, x.photo_expired_at IS NOT NULL, x.photo_type, x.state, x.received_at, x.accept_due, x.reply_due,
	x.accepted_at, x.accepted_by, x.handled_at, x.handled_by, x.handling_note,
	x.replied_at, x.replied_by, x.reply, x.rejected_at, x.rejected_by, x.reject_reason,
	x.operator_account, x.operator_account_by, x.operator_account_at`

const from = ` FROM complaints x JOIN canteens c ON c.id = x.canteen_id`

func scanner(now time.Time) func(store.Row) (Complaint, error) {
	return func(row store.Row) (Complaint, error) {
		var c Complaint
		var concerns, accepted, handled, replied, rejected, opAt sql.NullInt64
		var received, acceptDue, replyDue int64
		err := row.Scan(&c.ID, &c.CanteenID, &c.CanteenName, &c.District, &c.Category, &c.Text, &c.Camera, &concerns,
			&c.Contact, &c.FiledBy, &c.HasPhoto, &c.PhotoExpired, &c.PhotoType, &c.State, &received, &acceptDue, &replyDue,
			&accepted, &c.AcceptedBy, &handled, &c.HandledBy, &c.HandlingNote,
			&replied, &c.RepliedBy, &c.Reply, &rejected, &c.RejectedBy, &c.RejectReason,
			&c.OperatorAccount, &c.OperatorAccountBy, &opAt)
		if err != nil {
			return c, err
		}
		c.ConcernsAt, c.ReceivedAt = store.FromNullMs(concerns), store.FromMs(received)
		c.AcceptDue, c.ReplyDue = store.FromMs(acceptDue), store.FromMs(replyDue)
		c.AcceptedAt, c.HandledAt = store.FromNullMs(accepted), store.FromNullMs(handled)
		c.RepliedAt, c.RejectedAt = store.FromNullMs(replied), store.FromNullMs(rejected)
		c.OperatorAccountAt = store.FromNullMs(opAt)
		switch {
		case c.State == StateReceived && now.After(c.AcceptDue):
			c.Overdue = "accept"
		case c.Open() && now.After(c.ReplyDue):
			c.Overdue = "reply"
		}
		return c, nil
	}
}

// Get returns ticket id as of now; store.ErrNotFound.
func (s *Complaints) Get(ctx context.Context, id int64, now time.Time) (Complaint, error) {
	c, err := store.One(ctx, s.w, scanner(orNow(now)), `SELECT `+cols+from+` WHERE x.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("complaint %d: %w", id, store.ErrNotFound)
	}
	return c, err
}

// ByCode returns the ticket whose code is code (as typed);
// store.ErrNotFound for an unknown or malformed code.
func (s *Complaints) ByCode(ctx context.Context, code string, now time.Time) (Complaint, error) {
	norm, ok := NormalizeCode(code)
	if !ok {
		return Complaint{}, fmt.Errorf("complaint code: %w", store.ErrNotFound)
	}
	c, err := store.One(ctx, s.r, scanner(orNow(now)), `SELECT `+cols+from+` WHERE x.code_hash = $1`, codeHash(norm))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("complaint code: %w", store.ErrNotFound)
	}
	return c, err
}

// Filter selects tickets; zero fields do not filter.
type Filter struct {
	// Scope is the principal's reach (registry.Scope).
	Scope     registry.Scope
	CanteenID string
	State     string
	// Open keeps only the tickets not yet answered.
	Open  bool
	Limit int
}

// List returns the tickets f selects, newest first, as of now.
func (s *Complaints) List(ctx context.Context, f Filter, now time.Time) ([]Complaint, error) {
	limit := f.Limit
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.DefaultLimit
	}
	args := append(registry.CanteenFilter{Scope: f.Scope}.Args(), f.CanteenID, f.State, f.Open, limit)
	out, err := store.All(ctx, s.r, scanner(orNow(now)), `SELECT `+cols+from+` WHERE `+registry.CanteenWhere+`
		AND ($6 = '' OR x.canteen_id = $6) AND ($7 = '' OR x.state = $7)
		AND ($8 = FALSE OR x.state NOT IN ('replied', 'rejected'))
		ORDER BY x.id DESC LIMIT $9`, args...)
	if err != nil {
		return nil, fmt.Errorf("list complaints: %w", err)
	}
	return out, nil
}

// HistoryEntry is one step of a ticket.
type HistoryEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// History returns ticket id's steps, oldest first.
func (s *Complaints) History(ctx context.Context, id int64) ([]HistoryEntry, error) {
	return store.All(ctx, s.r, func(row store.Row) (HistoryEntry, error) {
		var h HistoryEntry
		var at int64
		err := row.Scan(&at, &h.Actor, &h.Action, &h.From, &h.To, &h.Note)
		h.At = store.FromMs(at)
		return h, err
	}, `SELECT at, actor, action, from_state, to_state, note FROM complaint_history WHERE complaint_id = $1 ORDER BY id`, id)
}

// Photo returns ticket id's photo and its type; store.ErrExpired when
// retention deleted it (fleet/retention), store.ErrNotFound when it has
// none.
func (s *Complaints) Photo(ctx context.Context, id int64) ([]byte, string, error) {
	var b []byte
	var typ string
	var expired bool
	err := s.r.QueryRowContext(ctx, `SELECT photo, photo_type, photo_expired_at IS NOT NULL FROM complaints WHERE id = $1`,
		id).Scan(&b, &typ, &expired)
	switch {
	case err == nil && len(b) == 0 && expired:
		return nil, "", fmt.Errorf("complaint %d photo: %w", id, store.ErrExpired)
	case errors.Is(err, sql.ErrNoRows) || (err == nil && len(b) == 0):
		return nil, "", fmt.Errorf("complaint %d photo: %w", id, store.ErrNotFound)
	case err != nil:
		return nil, "", fmt.Errorf("complaint %d photo: %w", id, err)
	}
	return b, typ, nil
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
