package ota

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Launch is what the launcher should run.
type Launch struct {
	// Exe is the slot's binary, through the current link; "" runs the
	// packaged binary (the launcher itself).
	Exe  string
	Slot string
	// Notes say what the launcher did on the way (a rollback, a stale
	// marker cleared), for its log.
	Notes []string
}

// Launch decides what runs, and does the launcher's part of an update:
// when a version on trial is started (counting, the subcommand is run),
// its start is counted, and after maxStarts starts without a confirmation,
// or past its deadline, the launcher rolls back. A marker whose slot is not
// the current one is a switch that never happened (or a rollback that
// finished) and is cleared.
func (d Dir) Launch(maxStarts int, now time.Time, counting bool) (Launch, error) {
	var l Launch
	if err := d.Prepare(); err != nil {
		return l, err
	}
	cur, err := d.Current()
	if err != nil {
		l.Notes = append(l.Notes, fmt.Sprintf("%v: removed", err))
		if err := d.Switch(NoSlot); err != nil {
			return l, err
		}
	}
	p, err := d.Pending()
	if err != nil {
		l.Notes = append(l.Notes, fmt.Sprintf("pending marker unreadable (%v): removed", err))
		if err := d.SetPending(nil); err != nil {
			return l, err
		}
	}
	if p != nil {
		switch {
		case p.Slot != cur:
			if r, _ := d.Result(); r == nil || r.Version != p.Version || r.CmdID != p.CmdID || r.At.Before(p.SwitchedAt) {
				reason := "interrupted before the switch"
				if err := d.SetResult(Result{CmdID: p.CmdID, Version: p.Version, From: p.PreviousVersion, Outcome: OutcomeFailed, Reason: reason, At: now}); err != nil {
					return l, err
				}
			}
			l.Notes = append(l.Notes, fmt.Sprintf("update to %s did not switch: marker cleared", p.Version))
			if err := d.SetPending(nil); err != nil {
				return l, err
			}
		case counting:
			p.Starts++
			var reason string
			switch {
			case p.Starts > maxStarts:
				reason = fmt.Sprintf("started %d times without confirming (crash loop)", p.Starts-1)
			case now.After(p.Deadline):
				reason = fmt.Sprintf("not confirmed by its deadline %s", p.Deadline.Format(time.RFC3339))
			}
			if reason != "" {
				if err := d.RollBack(p, reason, now); err != nil {
					return l, err
				}
				l.Notes = append(l.Notes, fmt.Sprintf("rolled back from %s to %s: %s", p.Version, p.PreviousVersion, reason))
			} else if err := d.SetPending(p); err != nil {
				return l, err
			}
		}
	}
	if cur, err = d.Current(); err != nil {
		return l, err
	}
	l.Slot = cur
	if cur == NoSlot {
		return l, nil
	}
	exe := d.path("current", Binary)
	if info, err := os.Stat(exe); err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		// An unpacked slot always has its binary; a disk that lost it
		// runs the packaged binary rather than nothing.
		l.Notes = append(l.Notes, fmt.Sprintf("slot %s has no runnable %s: running the packaged binary", cur, Binary))
		if p, _ := d.Pending(); p != nil && p.Slot == cur {
			return l, d.RollBack(p, "its slot has no runnable binary", now)
		}
		l.Slot = NoSlot
		return l, d.Switch(NoSlot)
	}
	l.Exe = exe
	return l, nil
}

// RollBack ends the trial of p: it records why, switches back to the
// previous slot and clears the marker, in that order, so a crash between
// two steps is finished by the next Launch.
func (d Dir) RollBack(p *Pending, reason string, now time.Time) error {
	if p == nil {
		return errors.New("rollback: no update on trial")
	}
	if err := d.SetResult(Result{CmdID: p.CmdID, Version: p.Version, From: p.PreviousVersion, Outcome: OutcomeRolledBack, Reason: reason, At: now}); err != nil {
		return err
	}
	if err := d.Switch(p.Previous); err != nil {
		return err
	}
	return d.SetPending(nil)
}

// Confirm ends the trial of p: the new version stays.
func (d Dir) Confirm(p *Pending, now time.Time) error {
	if err := d.SetResult(Result{CmdID: p.CmdID, Version: p.Version, From: p.PreviousVersion, Outcome: OutcomeConfirmed, At: now}); err != nil {
		return err
	}
	return d.SetPending(nil)
}
