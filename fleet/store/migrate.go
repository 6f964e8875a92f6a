package store

// Long file: the schema's history, one migration after another, each
// with the comment that says what it is for; applied ones are never
// edited, so the file only grows.

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are applied in order, each in its own transaction, and recorded
// in schema_migrations; an applied migration is never edited, a change is a
// new one appended here. {{SERIAL}}, {{BLOB}}, {{BOOL}} and {{REAL}} are the
// dialect's type names. Times are BIGINT milliseconds since the epoch.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE canteens (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL DEFAULT '',
	category   TEXT NOT NULL DEFAULT 'other',
	district   TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);

CREATE TABLE gateways (
	id              TEXT PRIMARY KEY,
	canteen_id      TEXT REFERENCES canteens(id),
	username        TEXT NOT NULL UNIQUE,
	password_hash   TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	online          {{BOOL}} NOT NULL DEFAULT FALSE,
	session         BIGINT NOT NULL DEFAULT 0,
	version         TEXT NOT NULL DEFAULT '',
	started_at      BIGINT,
	last_seen       BIGINT,
	last_heartbeat  TEXT,
	config_version  BIGINT NOT NULL DEFAULT 0,
	config_desired  TEXT,
	config_reported_version BIGINT NOT NULL DEFAULT 0,
	config_applied  {{BOOL}},
	config_error    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX gateways_canteen ON gateways(canteen_id);

CREATE TABLE cameras (
	gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	camera_id  TEXT NOT NULL,
	area       TEXT NOT NULL DEFAULT '',
	public     {{BOOL}} NOT NULL DEFAULT FALSE,
	online     {{BOOL}} NOT NULL DEFAULT FALSE,
	picture    TEXT NOT NULL DEFAULT 'unknown',
	fps        {{REAL}} NOT NULL DEFAULT 0,
	kbps       {{REAL}} NOT NULL DEFAULT 0,
	status_at  BIGINT,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (gateway_id, camera_id)
);

CREATE TABLE events (
	id               {{SERIAL}},
	gateway_id       TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	canteen_id       TEXT,
	event_id         TEXT NOT NULL,
	seq              BIGINT NOT NULL,
	camera_id        TEXT NOT NULL DEFAULT '',
	type             TEXT NOT NULL,
	score            {{REAL}} NOT NULL,
	boxes            TEXT NOT NULL DEFAULT '[]',
	started_at       BIGINT NOT NULL,
	ended_at         BIGINT,
	phase            TEXT NOT NULL DEFAULT '',
	episode          TEXT NOT NULL DEFAULT '',
	historical       {{BOOL}} NOT NULL DEFAULT FALSE,
	attrs            TEXT,
	snapshot_sha256  TEXT,
	snapshot_bytes   BIGINT,
	snapshot_dropped {{BOOL}} NOT NULL DEFAULT FALSE,
	received_at      BIGINT NOT NULL,
	status           TEXT NOT NULL DEFAULT 'new',
	UNIQUE (gateway_id, event_id)
);
CREATE INDEX events_started ON events(started_at);
CREATE INDEX events_gateway_started ON events(gateway_id, started_at);
CREATE INDEX events_canteen_started ON events(canteen_id, started_at);
CREATE INDEX events_type_started ON events(type, started_at);
CREATE INDEX events_status ON events(status);

CREATE TABLE snapshots (
	gateway_id TEXT NOT NULL,
	event_id   TEXT NOT NULL,
	jpeg       {{BLOB}} NOT NULL,
	PRIMARY KEY (gateway_id, event_id),
	FOREIGN KEY (gateway_id, event_id) REFERENCES events(gateway_id, event_id) ON DELETE CASCADE
);

CREATE TABLE camera_status (
	gateway_id  TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	seq         BIGINT NOT NULL,
	camera_id   TEXT NOT NULL,
	at          BIGINT NOT NULL,
	online      {{BOOL}} NOT NULL,
	picture     TEXT NOT NULL,
	historical  {{BOOL}} NOT NULL DEFAULT FALSE,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (gateway_id, seq)
);
CREATE INDEX camera_status_camera_at ON camera_status(gateway_id, camera_id, at);

-- One interval per status: [start_at, end_at) with that status's health;
-- end_at is NULL for the camera's latest (open) interval. (start_at, seq)
-- orders statuses that share a millisecond.
CREATE TABLE camera_intervals (
	gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	camera_id  TEXT NOT NULL,
	start_at   BIGINT NOT NULL,
	seq        BIGINT NOT NULL,
	end_at     BIGINT,
	online     {{BOOL}} NOT NULL,
	picture    TEXT NOT NULL,
	PRIMARY KEY (gateway_id, camera_id, start_at, seq)
);
CREATE INDEX camera_intervals_end ON camera_intervals(end_at);

CREATE TABLE gateway_sessions (
	gateway_id      TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	session         BIGINT NOT NULL,
	connected_at    BIGINT NOT NULL,
	disconnected_at BIGINT,
	PRIMARY KEY (gateway_id, session)
);

CREATE TABLE cmds (
	cmd_id     TEXT PRIMARY KEY,
	gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	args       TEXT,
	expires_at BIGINT,
	status     TEXT NOT NULL DEFAULT 'sent',
	detail     TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX cmds_gateway ON cmds(gateway_id, created_at);
`,
	// 2: API tokens with a role and a canteen scope.
	`
CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	canteens   TEXT NOT NULL DEFAULT '',
	label      TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT
);
`,
	// 3: the registry: a canteen's address, whether it is active, its
	// required areas (a JSON array; '' means its category's defaults), its
	// operating hours (a JSON coverage.Week; '' means none declared) and
	// time zone.
	`
ALTER TABLE canteens ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE canteens ADD COLUMN active {{BOOL}} NOT NULL DEFAULT TRUE;
ALTER TABLE canteens ADD COLUMN required_areas TEXT NOT NULL DEFAULT '';
ALTER TABLE canteens ADD COLUMN hours TEXT NOT NULL DEFAULT '';
ALTER TABLE canteens ADD COLUMN tz TEXT NOT NULL DEFAULT 'Asia/Shanghai';
ALTER TABLE canteens ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX canteens_category_district ON canteens(category, district);
CREATE INDEX canteens_district ON canteens(district);
`,
	// 4: the regulator's product. Users (staff and parents) with cookie
	// sessions, parents' access codes, regulators' districts on tokens,
	// parent viewing windows on canteens, fleet-side camera mapping, the
	// audit log, and the alarm workflow: review and rectification state on
	// the alarm (the episode's first event), its history, rectifications
	// with their photos, and notices to operators (also sent to a webhook).
	`
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL DEFAULT '',
	role          TEXT NOT NULL,
	canteens      TEXT NOT NULL DEFAULT '',
	districts     TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	disabled      {{BOOL}} NOT NULL DEFAULT FALSE,
	invited_by    TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);

CREATE TABLE user_sessions (
	id_hash    TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions(user_id);

CREATE TABLE invites (
	code_hash  TEXT PRIMARY KEY,
	canteen_id TEXT NOT NULL REFERENCES canteens(id) ON DELETE CASCADE,
	label      TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_by    TEXT,
	used_at    BIGINT
);

ALTER TABLE api_tokens ADD COLUMN districts TEXT NOT NULL DEFAULT '';
ALTER TABLE canteens ADD COLUMN viewing TEXT NOT NULL DEFAULT '';
ALTER TABLE canteens ADD COLUMN max_parent_viewers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cameras ADD COLUMN mapped {{BOOL}} NOT NULL DEFAULT FALSE;

CREATE TABLE audit (
	id           {{SERIAL}},
	at           BIGINT NOT NULL,
	actor        TEXT NOT NULL,
	role         TEXT NOT NULL DEFAULT '',
	action       TEXT NOT NULL,
	outcome      TEXT NOT NULL DEFAULT 'ok',
	canteen_id   TEXT NOT NULL DEFAULT '',
	camera_id    TEXT NOT NULL DEFAULT '',
	violation_id BIGINT,
	from_at      BIGINT,
	to_at        BIGINT,
	detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_canteen_at ON audit(canteen_id, at);

ALTER TABLE events ADD COLUMN reviewed_at BIGINT;
ALTER TABLE events ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN verdict TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN review_note TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN rectify_due BIGINT;
ALTER TABLE events ADD COLUMN rectified_at BIGINT;
ALTER TABLE events ADD COLUMN closed_at BIGINT;

CREATE TABLE violation_history (
	id           {{SERIAL}},
	violation_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	at           BIGINT NOT NULL,
	actor        TEXT NOT NULL,
	action       TEXT NOT NULL,
	from_status  TEXT NOT NULL,
	to_status    TEXT NOT NULL,
	note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX violation_history_violation ON violation_history(violation_id, id);

CREATE TABLE rectifications (
	id            {{SERIAL}},
	violation_id  BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	submitted_by  TEXT NOT NULL,
	submitted_at  BIGINT NOT NULL,
	note          TEXT NOT NULL DEFAULT '',
	photo         {{BLOB}},
	photo_type    TEXT NOT NULL DEFAULT '',
	decision      TEXT NOT NULL DEFAULT '',
	decided_by    TEXT NOT NULL DEFAULT '',
	decided_at    BIGINT,
	decision_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rectifications_violation ON rectifications(violation_id, id);

CREATE TABLE notices (
	id              {{SERIAL}},
	canteen_id      TEXT NOT NULL,
	violation_id    BIGINT REFERENCES events(id) ON DELETE CASCADE,
	kind            TEXT NOT NULL,
	text            TEXT NOT NULL DEFAULT '',
	due_at          BIGINT,
	at              BIGINT NOT NULL,
	read_at         BIGINT,
	read_by         TEXT NOT NULL DEFAULT '',
	webhook_state   TEXT NOT NULL DEFAULT '',
	webhook_tries   BIGINT NOT NULL DEFAULT 0,
	webhook_next_at BIGINT,
	webhook_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notices_canteen ON notices(canteen_id, id);
CREATE INDEX notices_webhook ON notices(webhook_state, webhook_next_at);
-- One overdue notice per alarm and due date, even with several fleets.
CREATE UNIQUE INDEX notices_overdue_once ON notices(violation_id, due_at) WHERE kind = 'rectification_overdue';
`,
	// 5: the rates' rollup (rollup.go): per canteen and month, the
	// coverage.CanteenDay of each finished day, packed, with the canteen's
	// coverage.Fingerprints value they were computed under and the latest
	// end of their operating hours; a counter per canteen that late data
	// bumps; and an index to find the sessions open at a time, as
	// camera_intervals_end finds the intervals.
	`
CREATE TABLE coverage_months (
	canteen_id  TEXT NOT NULL REFERENCES canteens(id) ON DELETE CASCADE,
	month       TEXT NOT NULL,
	basis       BIGINT NOT NULL,
	ends_at     BIGINT NOT NULL,
	days        {{BLOB}} NOT NULL,
	computed_at BIGINT NOT NULL,
	PRIMARY KEY (canteen_id, month)
);

CREATE TABLE coverage_marks (
	canteen_id TEXT PRIMARY KEY REFERENCES canteens(id) ON DELETE CASCADE,
	seq        BIGINT NOT NULL
);

CREATE INDEX gateway_sessions_disconnected ON gateway_sessions(disconnected_at);
`,
	// 6: the rates read a period's violations (rollupViolations: 75,000
	// rows for a city's 30 days) from an index that holds every column
	// they read, instead of from the wide event rows. It starts with
	// started_at, so it replaces events_started.
	`
DROP INDEX events_started;
CREATE INDEX events_started_rates ON events(started_at, phase, canteen_id, verdict, reviewed_at, rectified_at, id);
`,
	// 7: spool epochs and snapshot quotas (ingest.go, gateways.go). A
	// gateway numbers its sessions and seqs within its spool's epoch; the
	// fleet adds the epoch's bases, so a new spool's numbers never collide
	// with an old one's. gateways.epoch is the epoch of the current
	// session. snapshot_usage counts the snapshot bytes stored per gateway
	// and UTC day, for the per-gateway quota.
	`
ALTER TABLE gateways ADD COLUMN epoch TEXT NOT NULL DEFAULT '';

CREATE TABLE gateway_epochs (
	gateway_id   TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	epoch        TEXT NOT NULL,
	session_base BIGINT NOT NULL,
	seq_base     BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (gateway_id, epoch)
);

CREATE TABLE snapshot_usage (
	gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	day        TEXT NOT NULL,
	bytes      BIGINT NOT NULL,
	PRIMARY KEY (gateway_id, day)
);
`,
	// 8: retention (retention.go): when a snapshot or a rectification
	// photo was dropped as expired, the raw statuses by time, a lease for
	// work one fleet does at a time, and the horizons retention has moved
	// (months whose rates are final, the oldest events kept).
	`
ALTER TABLE events ADD COLUMN snapshot_expired_at BIGINT;
ALTER TABLE rectifications ADD COLUMN photo_expired_at BIGINT;
CREATE INDEX camera_status_at ON camera_status(at);
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE TABLE retention_marks (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`,
	// 9: gateway enrolment (fleet/enrol): one-time codes an operator or
	// an admin makes for a canteen, stored as their SHA-256, exchanged
	// once by a new gateway for its identity and MQTT credentials.
	`
CREATE TABLE enrol_codes (
	id           TEXT PRIMARY KEY,
	code_hash    TEXT NOT NULL UNIQUE,
	canteen_id   TEXT NOT NULL REFERENCES canteens(id) ON DELETE CASCADE,
	gateway_name TEXT NOT NULL DEFAULT '',
	created_by   TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	used_at      BIGINT,
	used_from    TEXT NOT NULL DEFAULT '',
	gateway_id   TEXT NOT NULL DEFAULT '',
	hardware     TEXT NOT NULL DEFAULT '',
	revoked_at   BIGINT,
	revoked_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX enrol_codes_canteen ON enrol_codes(canteen_id, created_at);
`,
	// 10: remote operations and gateway alarms (registry/logs.go,
	// alarms/gateways.go): the logs a gateway uploaded on a logs.upload
	// command (gzip, the one-time token's hash until it is used); the
	// gateway-level alarms raised and not yet cleared (offline, disk,
	// temperature); and notices about a gateway rather than a violation.
	`
CREATE TABLE log_uploads (
	id          TEXT PRIMARY KEY,
	gateway_id  TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	cmd_id      TEXT NOT NULL,
	token_hash  TEXT NOT NULL,
	requested_by TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	uploaded_at BIGINT,
	bytes       BIGINT NOT NULL DEFAULT 0,
	data        {{BLOB}}
);
CREATE INDEX log_uploads_gateway ON log_uploads(gateway_id, created_at);
CREATE TABLE gateway_alarms (
	gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	raised_at  BIGINT NOT NULL,
	detail     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (gateway_id, kind)
);
ALTER TABLE notices ADD COLUMN gateway_id TEXT;
`,
	// 11: releases and staged rollouts (fleet/ota): the bundles uploaded
	// (stored by sha256 under the releases directory, one per version and
	// arch), the rollouts of a version to a target in stages, and each
	// target gateway's place in one (its stage, command, state, and the
	// hash of the token its download URL carries); the arch a gateway
	// reports in its state, which picks its bundle.
	`
ALTER TABLE gateways ADD COLUMN arch TEXT NOT NULL DEFAULT '';
CREATE TABLE releases (
	id         TEXT PRIMARY KEY,
	product    TEXT NOT NULL,
	version    TEXT NOT NULL,
	arch       TEXT NOT NULL,
	size       BIGINT NOT NULL,
	key_id     TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	UNIQUE (version, arch)
);
CREATE TABLE rollouts (
	id           TEXT PRIMARY KEY,
	version      TEXT NOT NULL,
	target       TEXT NOT NULL,
	stages       TEXT NOT NULL,
	stage        BIGINT NOT NULL DEFAULT 0,
	forced       {{BOOL}} NOT NULL DEFAULT FALSE,
	max_failures BIGINT NOT NULL DEFAULT 0,
	advance      TEXT NOT NULL,
	state        TEXT NOT NULL,
	reason       TEXT NOT NULL DEFAULT '',
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX rollouts_state ON rollouts(state);
CREATE TABLE rollout_targets (
	rollout_id TEXT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
	gateway_id TEXT NOT NULL,
	stage      BIGINT NOT NULL,
	release_id TEXT NOT NULL DEFAULT '',
	from_version TEXT NOT NULL DEFAULT '',
	cmd_id     TEXT NOT NULL DEFAULT '',
	attempts   BIGINT NOT NULL DEFAULT 0,
	token_hash TEXT NOT NULL DEFAULT '',
	state      TEXT NOT NULL,
	detail     TEXT NOT NULL DEFAULT '',
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (rollout_id, gateway_id)
);
CREATE INDEX rollout_targets_token ON rollout_targets(token_hash);
`,
	// 12: instant push (fleet/push): channels an admin or a user sets up
	// (企业微信 and 钉钉 group robots, an SMS gateway by HTTP template, a
	// signed webhook; config JSON with its secrets, never shown back),
	// per-user subscriptions to them, and the outbox: one row per pushed
	// item (an alarm or a notice) and destination (a channel, and for SMS
	// a phone), unique so that no item reaches a destination twice, with
	// a lease for the fleet sending it. push_cursors are how far each
	// source has been read. The due-soon notices are once per alarm, kind
	// and due date, like the overdue ones.
	`
CREATE TABLE push_channels (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	scope      TEXT NOT NULL,
	scope_id   TEXT NOT NULL DEFAULT '',
	config     TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX push_channels_scope ON push_channels(scope, scope_id);
CREATE TABLE push_subscriptions (
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	channel_id   TEXT NOT NULL REFERENCES push_channels(id) ON DELETE CASCADE,
	kinds        TEXT NOT NULL DEFAULT '',
	types        TEXT NOT NULL DEFAULT '',
	min_severity TEXT NOT NULL DEFAULT '',
	phone        TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (user_id, channel_id)
);
CREATE INDEX push_subscriptions_channel ON push_subscriptions(channel_id);
CREATE TABLE push_outbox (
	id           {{SERIAL}},
	item_key     TEXT NOT NULL,
	channel_id   TEXT NOT NULL REFERENCES push_channels(id) ON DELETE CASCADE,
	recipient    TEXT NOT NULL DEFAULT '',
	canteen_id   TEXT NOT NULL DEFAULT '',
	kind         TEXT NOT NULL,
	item         TEXT NOT NULL,
	committed_at BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	state        TEXT NOT NULL DEFAULT 'pending',
	tries        BIGINT NOT NULL DEFAULT 0,
	next_at      BIGINT NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	lease_holder TEXT NOT NULL DEFAULT '',
	lease_until  BIGINT NOT NULL DEFAULT 0,
	sent_at      BIGINT,
	UNIQUE (item_key, channel_id, recipient)
);
CREATE INDEX push_outbox_due ON push_outbox(state, next_at);
CREATE INDEX push_outbox_canteen ON push_outbox(canteen_id, id);
CREATE TABLE push_cursors (
	name  TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);
CREATE UNIQUE INDEX notices_due_soon_once ON notices(violation_id, kind, due_at) WHERE kind IN ('review_due_soon', 'rectification_due_soon');
`,
	// 13: complaints (fleet/complaints, 投诉举报): a ticket per
	// complaint filed from the no-login form, its optional photo in the
	// same row (so a ticket and its photo are stored in one statement),
	// the hash of the code its filer keeps, a salted hash of the filer's
	// address (counted by the per-address limit), the deadlines set at
	// filing, and each step's who and when; complaint_history is the
	// audit of its steps; complaint_challenges are the proof-of-work
	// challenges already spent (single use, kept until they expire);
	// complaint_keys holds the challenges' HMAC key, made once.
	`
CREATE TABLE complaints (
	id           {{SERIAL}},
	code_hash    TEXT NOT NULL UNIQUE,
	canteen_id   TEXT NOT NULL REFERENCES canteens(id),
	category     TEXT NOT NULL,
	body         TEXT NOT NULL,
	camera       TEXT NOT NULL DEFAULT '',
	concerns_at  BIGINT,
	contact      TEXT NOT NULL DEFAULT '',
	filed_by     TEXT NOT NULL DEFAULT '',
	addr_hash    TEXT NOT NULL DEFAULT '',
	photo        {{BLOB}},
	photo_type   TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL,
	received_at  BIGINT NOT NULL,
	accept_due   BIGINT NOT NULL,
	reply_due    BIGINT NOT NULL,
	accepted_at  BIGINT,
	accepted_by  TEXT NOT NULL DEFAULT '',
	handled_at   BIGINT,
	handled_by   TEXT NOT NULL DEFAULT '',
	handling_note TEXT NOT NULL DEFAULT '',
	replied_at   BIGINT,
	replied_by   TEXT NOT NULL DEFAULT '',
	reply        TEXT NOT NULL DEFAULT '',
	rejected_at  BIGINT,
	rejected_by  TEXT NOT NULL DEFAULT '',
	reject_reason TEXT NOT NULL DEFAULT '',
	operator_account    TEXT NOT NULL DEFAULT '',
	operator_account_by TEXT NOT NULL DEFAULT '',
	operator_account_at BIGINT
);
CREATE INDEX complaints_canteen ON complaints(canteen_id, received_at);
CREATE INDEX complaints_received ON complaints(received_at);
CREATE INDEX complaints_addr ON complaints(addr_hash, received_at);
CREATE TABLE complaint_history (
	id           {{SERIAL}},
	complaint_id BIGINT NOT NULL REFERENCES complaints(id) ON DELETE CASCADE,
	at         BIGINT NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	from_state TEXT NOT NULL DEFAULT '',
	to_state   TEXT NOT NULL DEFAULT '',
	note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX complaint_history_complaint ON complaint_history(complaint_id, at);
CREATE TABLE complaint_challenges (
	id         TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX complaint_challenges_expires ON complaint_challenges(expires_at);
CREATE TABLE complaint_keys (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`,
	// 14: public kitchen pages (网络厨房,
	// registry/publicity.go). cameras.published: the camera is shown to
	// everyone (no login) inside its canteen's viewing windows, set only
	// from the fleet (published implies public); canteen_publicity: the
	// canteen's public notice (公示), the parts the operator keeps
	// (licence, person in charge) and those the regulator keeps (量化等级
	// grade, latest inspection), each with who changed it last.
	`
ALTER TABLE cameras ADD COLUMN published {{BOOL}} NOT NULL DEFAULT FALSE;
CREATE INDEX cameras_published ON cameras(gateway_id) WHERE published = TRUE;
CREATE TABLE canteen_publicity (
	canteen_id        TEXT PRIMARY KEY REFERENCES canteens(id) ON DELETE CASCADE,
	licence_no        TEXT NOT NULL DEFAULT '',
	person_in_charge  TEXT NOT NULL DEFAULT '',
	grade             TEXT NOT NULL DEFAULT '',
	inspection_result TEXT NOT NULL DEFAULT '',
	inspected_on      TEXT NOT NULL DEFAULT '',
	operator_by       TEXT NOT NULL DEFAULT '',
	operator_at       BIGINT NOT NULL DEFAULT 0,
	regulator_by      TEXT NOT NULL DEFAULT '',
	regulator_at      BIGINT NOT NULL DEFAULT 0
);
`,
	// 15: join links (fleet/auth/joinlinks.go, issue 15 item 4): a
	// school's reusable link for parents, stored as its token's SHA-256,
	// with a cap counted in used (claimed by one UPDATE, so that the cap
	// holds under concurrent redemptions), an expiry and a revocation;
	// each redemption (the address as its SHA-256, for the per-address
	// limit); a parent's class label; and the device sessions: a sliding
	// lifetime (sliding_ms, 0 for a fixed one), when the session was last
	// seen and which device it is (from the User-Agent).
	`
CREATE TABLE join_links (
	id          TEXT PRIMARY KEY,
	token_hash  TEXT NOT NULL UNIQUE,
	canteen_id  TEXT NOT NULL REFERENCES canteens(id) ON DELETE CASCADE,
	class_label TEXT NOT NULL DEFAULT '',
	cap         BIGINT NOT NULL,
	used        BIGINT NOT NULL DEFAULT 0,
	created_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	revoked_at  BIGINT,
	revoked_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX join_links_canteen ON join_links(canteen_id, created_at);
CREATE TABLE join_redemptions (
	user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	link_id     TEXT NOT NULL REFERENCES join_links(id) ON DELETE CASCADE,
	addr_hash   TEXT NOT NULL,
	redeemed_at BIGINT NOT NULL
);
CREATE INDEX join_redemptions_addr ON join_redemptions(addr_hash, redeemed_at);
CREATE INDEX join_redemptions_link ON join_redemptions(link_id);
ALTER TABLE users ADD COLUMN class_label TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE user_sessions ADD COLUMN last_seen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_sessions ADD COLUMN sliding_ms BIGINT NOT NULL DEFAULT 0;
`,
	// 16: retention of complaint photos (fleet/retention,
	// RetainedComplaintPhotos): when a complaint's photo was dropped as
	// expired; its photo_type stays.
	`
ALTER TABLE complaints ADD COLUMN photo_expired_at BIGINT;
`,
}

// migrateLockID is the PostgreSQL advisory lock held while migrating.
const migrateLockID = 0x626b666c656574 // "bkfleet"

// migrate brings the schema up to date. Several processes may open the same
// database at once: PostgreSQL migrators queue on an advisory lock; SQLite's
// writers are serialised by the file lock (BEGIN IMMEDIATE, busy_timeout).
// Each migration re-checks the version inside its own transaction, so it is
// applied exactly once.
func (s *DB) migrate(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if s.d.name == "postgres" {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockID); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockID)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		if err := s.apply(ctx, conn, version, m); err != nil {
			return fmt.Errorf("migrate to version %d: %w", version, err)
		}
	}
	return nil
}

func (s *DB) apply(ctx context.Context, conn *sql.Conn, version int, m string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.d.expand(m)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, Ms(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion is the highest applied migration.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}
