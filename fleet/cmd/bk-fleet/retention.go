package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/retention"
)

// retentionFlags are serve's retention settings (README "Retention").
type retentionFlags struct {
	every  *string
	fields []retentionFlag
}

type retentionFlag struct {
	name string
	val  *string
	dst  func(*retention.Policy) *time.Duration
}

func addRetentionFlags(fs flagSet) retentionFlags {
	def := retention.Default()
	days := func(d time.Duration) string { return fmt.Sprintf("%dd", d/retention.Day) }
	rf := retentionFlags{every: fs.str("retain-every", "1h", "how often retention runs (0 for never)")}
	for _, f := range []struct {
		name, help string
		def        time.Duration
		dst        func(*retention.Policy) *time.Duration
	}{
		{"retain-dismissed-snapshots", "keep the snapshot of an alarm dismissed as false this long after the review", def.DismissedSnapshots,
			func(r *retention.Policy) *time.Duration { return &r.DismissedSnapshots }},
		{"retain-snapshots", "keep other snapshots this long after the alarm closed (events that are not alarms: after they started)", def.Snapshots,
			func(r *retention.Policy) *time.Duration { return &r.Snapshots }},
		{"retain-photos", "keep rectification photos this long after the alarm closed", def.Photos,
			func(r *retention.Policy) *time.Duration { return &r.Photos }},
		{"retain-complaint-photos", "keep complaint photos this long after the ticket was replied to or rejected (open tickets keep theirs)", def.ComplaintPhotos,
			func(r *retention.Policy) *time.Duration { return &r.ComplaintPhotos }},
		{"retain-events", "keep events this long after they started (open cases are kept)", def.Events,
			func(r *retention.Policy) *time.Duration { return &r.Events }},
		{"retain-health", "keep camera statuses, health intervals and gateway sessions this long (whole months)", def.Health,
			func(r *retention.Policy) *time.Duration { return &r.Health }},
		{"retain-audit", "keep the audit log this long", def.Audit,
			func(r *retention.Policy) *time.Duration { return &r.Audit }},
		{"retain-logins", "keep expired user sessions and used or expired invites this long", def.Logins,
			func(r *retention.Policy) *time.Duration { return &r.Logins }},
	} {
		rf.fields = append(rf.fields, retentionFlag{f.name, fs.str(f.name, days(f.def), f.help+"; 30d, 720h, or 0 for forever"), f.dst})
	}
	return rf
}

// parse returns the retention and how often it runs (negative: never);
// false after writing to stderr what is wrong.
func (rf retentionFlags) parse(stderr io.Writer) (retention.Policy, time.Duration, bool) {
	var r retention.Policy
	for _, f := range rf.fields {
		d, err := retention.ParsePeriod(*f.val)
		if err != nil {
			fmt.Fprintf(stderr, "bk-fleet serve: --%s %v\n", f.name, err)
			return r, 0, false
		}
		*f.dst(&r) = d
	}
	every, err := retention.ParsePeriod(*rf.every)
	if err != nil || (every > 0 && every < time.Minute) {
		fmt.Fprintf(stderr, "bk-fleet serve: --retain-every %q: want a duration of a minute or more such as 1h, or 0 for never\n",
			strings.TrimSpace(*rf.every))
		return r, 0, false
	}
	if every == 0 {
		every = -1 // core: negative is never
	}
	return r, every, true
}
