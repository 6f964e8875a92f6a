// Package ota installs signed releases on the gateway into A/B slots.
//
// Under the OTA directory (config ota.dir):
//
//	slots/a, slots/b  two unpacked release bundles (internal/release)
//	current           a symlink to slots/a or slots/b, switched by renaming a
//	                  new link over it; no link: the packaged binary runs
//	pending.json      the switch being tried: the new slot and version, the
//	                  previous slot, the deadline to confirm, starts so far
//	result.json       how the last update ended (confirmed, rolled back and why)
//	download/         bundles being downloaded, resumable
//
// The service starts `bk-gateway launch`, the packaged binary, which
// decides what runs (Launch): the slot `current` points to, or itself. It
// counts the starts of a version on trial and rolls back after too many or
// after the deadline, so a release that cannot even start is undone
// without its help. A version on trial confirms itself (Confirm) once it is
// back online with its cameras, or rolls back (RollBack) and exits when
// the deadline passes. Every step is ordered so that a process killed at
// any point leaves a link to a complete slot, or none, and a launcher
// that starts the right version.
package ota

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/atomicfile"
)

// Slot names. NoSlot is the packaged binary (no current link).
const (
	SlotA  = "a"
	SlotB  = "b"
	NoSlot = ""
)

// Binary is the gateway's executable inside a slot.
const Binary = "bk-gateway"

// Pending is the switch being tried.
type Pending struct {
	// Slot and Version are what runs on trial.
	Slot    string `json:"slot"`
	Version string `json:"version"`
	// Previous and PreviousVersion are what a rollback returns to
	// (Previous NoSlot: the packaged binary).
	Previous        string    `json:"previous"`
	PreviousVersion string    `json:"previous_version"`
	SwitchedAt      time.Time `json:"switched_at"`
	Deadline        time.Time `json:"deadline"`
	// Starts counts the launches of the new version so far.
	Starts int `json:"starts"`
	// CmdID is the ota.install command that asked for it.
	CmdID string `json:"cmd_id,omitempty"`
	// Cameras were online when the update was installed: the new version
	// confirms once it is connected to the fleet with these online.
	Cameras []string `json:"cameras,omitempty"`
}

// Outcomes of an update.
const (
	OutcomeConfirmed  = "confirmed"
	OutcomeRolledBack = "rolled_back"
	OutcomeFailed     = "failed"
)

// Result is how the last update ended.
type Result struct {
	CmdID   string    `json:"cmd_id,omitempty"`
	Version string    `json:"version"`
	From    string    `json:"from"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Dir is an OTA directory.
type Dir string

func (d Dir) path(parts ...string) string {
	return filepath.Join(append([]string{string(d)}, parts...)...)
}

// SlotDir is a slot's directory.
func (d Dir) SlotDir(slot string) string { return d.path("slots", slot) }

// Current is the slot the current link points to, NoSlot without one. A
// link to anything but slots/a or slots/b is an error.
func (d Dir) Current() (string, error) {
	target, err := os.Readlink(d.path("current"))
	if errors.Is(err, fs.ErrNotExist) {
		return NoSlot, nil
	}
	if err != nil {
		return NoSlot, err
	}
	switch target {
	case "slots/" + SlotA:
		return SlotA, nil
	case "slots/" + SlotB:
		return SlotB, nil
	}
	return NoSlot, fmt.Errorf("%s: points to %q, not a slot", d.path("current"), target)
}

// Other is the slot that is not s (slot a when s is NoSlot).
func Other(s string) string {
	if s == SlotA {
		return SlotB
	}
	return SlotA
}

// Switch points the current link at slot (NoSlot removes it) in one
// rename, and syncs the directory.
func (d Dir) Switch(slot string) error {
	link := d.path("current")
	if slot == NoSlot {
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return atomicfile.SyncDir(string(d))
	}
	if slot != SlotA && slot != SlotB {
		return fmt.Errorf("switch: no slot %q", slot)
	}
	tmp := d.path("current.new")
	os.Remove(tmp)
	if err := os.Symlink("slots/"+slot, tmp); err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("switch: %w", err)
	}
	return atomicfile.SyncDir(string(d))
}

// maxState bounds pending.json and result.json.
const maxState = 64 << 10

// Pending reads the pending marker; nil when there is none.
func (d Dir) Pending() (*Pending, error) {
	var p Pending
	ok, err := d.readJSON("pending.json", &p)
	if !ok {
		return nil, err
	}
	return &p, nil
}

// SetPending writes the pending marker atomically; nil removes it.
func (d Dir) SetPending(p *Pending) error {
	if p == nil {
		if err := os.Remove(d.path("pending.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return atomicfile.SyncDir(string(d))
	}
	return d.writeJSON("pending.json", p)
}

// Result reads how the last update ended; nil when none has.
func (d Dir) Result() (*Result, error) {
	var r Result
	ok, err := d.readJSON("result.json", &r)
	if !ok {
		return nil, err
	}
	return &r, nil
}

// SetResult writes result.json atomically.
func (d Dir) SetResult(r Result) error { return d.writeJSON("result.json", r) }

// readJSON reads name into v. A missing file is (false, nil); a broken one
// (a crash mid-write cannot make one, a bad disk can) is (false, err).
func (d Dir) readJSON(name string, v any) (bool, error) {
	b, err := os.ReadFile(d.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(b) > maxState {
		return false, fmt.Errorf("%s: %d bytes", name, len(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

func (d Dir) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(string(d), "."+name+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path(name))
	}
	if err == nil {
		err = atomicfile.SyncDir(string(d))
	}
	return err
}

// Prepare makes the directory's folders and removes what an interrupted
// step left: a half-made link, temporary files.
func (d Dir) Prepare() error {
	for _, p := range []string{string(d), d.path("slots"), d.path("download")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
	}
	os.Remove(d.path("current.new"))
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") {
			os.Remove(d.path(e.Name()))
		}
	}
	return nil
}
