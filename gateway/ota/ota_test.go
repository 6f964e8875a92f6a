package ota

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/release"
)

var t0 = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

// slotWith makes slot s hold a runnable binary.
func slotWith(t *testing.T, d Dir, s string) {
	t.Helper()
	if err := os.MkdirAll(d.SlotDir(s), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.SlotDir(s), Binary), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestLaunch(t *testing.T) {
	d := Dir(t.TempDir())
	l, err := d.Launch(3, t0, true)
	if err != nil || l.Exe != "" || l.Slot != NoSlot {
		t.Fatalf("fresh: %+v %v", l, err)
	}
	slotWith(t, d, SlotA)
	if err := d.Switch(SlotA); err != nil {
		t.Fatal(err)
	}
	if l, _ = d.Launch(3, t0, true); l.Exe != filepath.Join(string(d), "current", Binary) || l.Slot != SlotA {
		t.Fatalf("slot a: %+v", l)
	}

	// A new version on trial in b: counted at each run start (not check),
	// rolled back after 3.
	slotWith(t, d, SlotB)
	p := &Pending{Slot: SlotB, Version: "2.0.0", Previous: SlotA, PreviousVersion: "1.0.0", SwitchedAt: t0, Deadline: t0.Add(time.Hour), CmdID: "c1"}
	if err := d.SetPending(p); err != nil {
		t.Fatal(err)
	}
	if err := d.Switch(SlotB); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if l, _ = d.Launch(3, t0, true); l.Slot != SlotB {
			t.Fatalf("start %d: %+v", i, l)
		}
		if l, _ = d.Launch(3, t0, false); l.Slot != SlotB {
			t.Fatalf("check %d: %+v", i, l)
		}
		if got, _ := d.Pending(); got == nil || got.Starts != i {
			t.Fatalf("start %d: pending %+v", i, got)
		}
	}
	l, _ = d.Launch(3, t0, true)
	if l.Slot != SlotA || len(l.Notes) != 1 || !strings.Contains(l.Notes[0], "crash loop") {
		t.Fatalf("4th start: %+v", l)
	}
	r, _ := d.Result()
	if got, _ := d.Pending(); got != nil || r == nil || r.Outcome != OutcomeRolledBack || r.CmdID != "c1" || r.From != "1.0.0" {
		t.Fatalf("after the crash loop: pending %+v result %+v", got, r)
	}

	// Past its deadline: rolled back at the next start.
	p.Starts, p.CmdID = 0, "c2"
	d.SetPending(p)
	d.Switch(SlotB)
	if l, _ = d.Launch(3, t0.Add(2*time.Hour), true); l.Slot != SlotA {
		t.Fatalf("past the deadline: %+v", l)
	}
	if r, _ := d.Result(); r.CmdID != "c2" || !strings.Contains(r.Reason, "deadline") {
		t.Fatalf("deadline result %+v", r)
	}

	// A marker whose slot is not current: the switch never happened.
	p.CmdID = "c3"
	d.SetPending(p)
	if l, _ = d.Launch(3, t0, true); l.Slot != SlotA {
		t.Fatalf("stale marker: %+v", l)
	}
	if r, _ := d.Result(); r.CmdID != "c3" || r.Outcome != OutcomeFailed || !strings.Contains(r.Reason, "before the switch") {
		t.Fatalf("stale result %+v", r)
	}
	if got, _ := d.Pending(); got != nil {
		t.Fatal("stale marker kept")
	}

	// A rollback killed after its switch, before clearing the marker:
	// its result stays.
	p.CmdID = "c4"
	d.SetResult(Result{CmdID: "c4", Version: "2.0.0", Outcome: OutcomeRolledBack, Reason: "crash loop", At: t0.Add(time.Minute)})
	d.SetPending(p)
	d.Launch(3, t0, true)
	if r, _ := d.Result(); r.Outcome != OutcomeRolledBack || r.Reason != "crash loop" {
		t.Fatalf("finished rollback's result overwritten: %+v", r)
	}

	// A slot without its binary: the packaged binary runs.
	os.Remove(filepath.Join(d.SlotDir(SlotA), Binary))
	if l, _ = d.Launch(3, t0, true); l.Exe != "" || l.Slot != NoSlot {
		t.Fatalf("empty slot: %+v", l)
	}
	// A link to somewhere else is removed.
	os.Symlink("/etc", filepath.Join(string(d), "current"))
	if l, err = d.Launch(3, t0, true); err != nil || l.Slot != NoSlot || l.Exe != "" {
		t.Fatalf("foreign link: %+v %v", l, err)
	}
	if _, err := os.Lstat(filepath.Join(string(d), "current")); err == nil {
		t.Fatal("foreign link kept")
	}
	// A leftover half-made link and temporary files are removed.
	os.Symlink("slots/b", filepath.Join(string(d), "current.new"))
	os.WriteFile(filepath.Join(string(d), ".pending.json.tmp-1"), nil, 0o600)
	d.Launch(3, t0, true)
	if ents, _ := filepath.Glob(filepath.Join(string(d), "*.new")); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
	if ents, _ := filepath.Glob(filepath.Join(string(d), ".*tmp-*")); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
}

// rangeServer serves body with Range support and counts ranged requests;
// ignoreRange answers every request whole.
func rangeServer(t *testing.T, body []byte, ignoreRange bool) (*httptest.Server, *atomic.Int32) {
	var ranged atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			ranged.Add(1)
			if ignoreRange {
				r.Header.Del("Range")
			}
		}
		http.ServeContent(w, r, "b", t0, bytes.NewReader(body))
	}))
	t.Cleanup(s.Close)
	return s, &ranged
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestDownloadResumes(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 100000)
	sum := hexSum(body)
	for _, ignore := range []bool{false, true} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, sum+".part"), body[:400000], 0o600)
		s, ranged := rangeServer(t, body, ignore)
		var last int64
		p, err := Download(context.Background(), s.Client(), s.URL, sum, int64(len(body)), dir, func(done, total int64) { last = done })
		if err != nil {
			t.Fatalf("ignore range %v: %v", ignore, err)
		}
		got, _ := os.ReadFile(p)
		if !bytes.Equal(got, body) || ranged.Load() != 1 || last != int64(len(body)) {
			t.Fatalf("ignore range %v: %d bytes, %d ranged requests, progress %d", ignore, len(got), ranged.Load(), last)
		}
		// Downloaded already: not fetched again.
		s.Close()
		if p2, err := Download(context.Background(), s.Client(), s.URL, sum, int64(len(body)), dir, nil); err != nil || p2 != p {
			t.Fatalf("cached: %v", err)
		}
	}
}

func TestDownloadRefuses(t *testing.T) {
	body := []byte("the bundle")
	s, _ := rangeServer(t, body, false)
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := Download(ctx, s.Client(), s.URL, hexSum([]byte("other")), int64(len(body)), dir, nil); !errors.Is(err, ErrChecksum) {
		t.Fatalf("wrong sum: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a bad download was kept: %v", ents)
	}
	if _, err := Download(ctx, s.Client(), s.URL, hexSum(body[:4]), 4, dir, nil); err == nil || !strings.Contains(err.Error(), "sends 10 bytes") {
		t.Fatalf("more than the size: %v", err)
	}
	if _, err := Download(ctx, s.Client(), s.URL, hexSum(body), 20, dir, nil); err == nil || !strings.Contains(err.Error(), "10 of 20") {
		t.Fatalf("short: %v", err)
	}
	if _, err := Download(ctx, s.Client(), s.URL+"/../x", "nothex", 20, dir, nil); err == nil {
		t.Fatal("bad sum accepted")
	}
}

// TestInstall: a signed bundle is unpacked into the inactive slot, marked
// pending and switched to; bad ones change nothing.
func TestInstall(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	bundle := func(version, arch string, key ed25519.PrivateKey, files map[string]string) []byte {
		src := t.TempDir()
		for n, c := range files {
			os.WriteFile(filepath.Join(src, n), []byte(c), 0o755)
		}
		var buf bytes.Buffer
		if _, err := release.Build(&buf, release.Manifest{Product: Product, Version: version, Arch: arch}, src, key, true); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	bins := map[string]string{Binary: "#!/bin/sh\n"}
	newInstaller := func() *Installer {
		return &Installer{Dir: Dir(t.TempDir()), Keys: []ed25519.PublicKey{priv.Public().(ed25519.PublicKey)}, Version: "1.0.0", Arch: "arm64",
			ConfirmTimeout: time.Minute, MaxBundle: 1 << 20, Client: http.DefaultClient, Log: slog.New(slog.DiscardHandler),
			Cameras: func() []string { return []string{"cam-1"} }}
	}
	install := func(in *Installer, b []byte, force bool) (string, error) {
		s, _ := rangeServer(t, b, false)
		var lines []string
		return in.Install(context.Background(), "cmd-1", wire.OTAInstallArgs{URL: s.URL + "/b", SHA256: hexSum(b), Size: int64(len(b)), Force: force},
			func(l string) { lines = append(lines, l) })
	}
	for _, c := range []struct {
		name, want string
		b          []byte
		force      bool
	}{
		{"wrong key", "not signed by a trusted key", bundle("2.0.0", "arm64", other, bins), false},
		{"other arch", "built for amd64", bundle("2.0.0", "amd64", priv, bins), false},
		{"downgrade", "downgrade refused", bundle("0.9.0", "arm64", priv, bins), false},
		{"same version", "the running version", bundle("1.0.0", "arm64", priv, bins), false},
		{"no binary", "has no bk-gateway", bundle("2.0.0", "arm64", priv, map[string]string{"other": "x"}), false},
		{"too large", "ota.max_bundle", bytes.Repeat([]byte{0}, 2<<20), false},
	} {
		in := newInstaller()
		if _, err := install(in, c.b, c.force); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		cur, _ := in.Dir.Current()
		p, _ := in.Dir.Pending()
		slots, _ := os.ReadDir(filepath.Join(string(in.Dir), "slots"))
		if cur != NoSlot || p != nil || len(slots) != 0 {
			t.Errorf("%s: current %q, pending %v, slots %v", c.name, cur, p, slots)
		}
		if st := in.Status(); st.State != wire.OTAIdle {
			t.Errorf("%s: state %q after a refusal", c.name, st.State)
		}
	}

	in := newInstaller()
	if _, err := install(in, bundle("0.9.0", "arm64", priv, bins), true); err != nil {
		t.Fatalf("forced downgrade: %v", err)
	}
	in = newInstaller()
	detail, err := install(in, bundle("2.0.0", "arm64", priv, bins), false)
	if err != nil || !strings.Contains(detail, "installed 2.0.0 into slot a") {
		t.Fatalf("install: %q %v", detail, err)
	}
	p, _ := in.Dir.Pending()
	if cur, _ := in.Dir.Current(); cur != SlotA || p == nil || p.Version != "2.0.0" || p.Previous != NoSlot || p.CmdID != "cmd-1" || len(p.Cameras) != 1 {
		t.Fatalf("after install: current %q pending %+v", cur, p)
	}
	if st := in.Status(); st.State != wire.OTARestarting || st.Target != "2.0.0" {
		t.Fatalf("status %+v", st)
	}
	if _, err := install(in, bundle("2.1.0", "arm64", priv, bins), false); err == nil || !strings.Contains(err.Error(), "on trial") {
		t.Fatalf("second install while pending: %v", err)
	}
	// The new version, started, is on trial; confirmed, it stays.
	trial := &Installer{Dir: in.Dir, Version: "2.0.0"}
	tp := trial.Trial()
	if tp == nil || trial.Status().State != wire.OTATrial {
		t.Fatalf("not on trial: %+v", trial.Status())
	}
	if (&Installer{Dir: in.Dir, Version: "1.0.0"}).Trial() != nil {
		t.Fatal("the old version thinks it is on trial")
	}
	if err := in.Dir.Confirm(tp, t0); err != nil {
		t.Fatal(err)
	}
	if st := trial.Status(); st.State != wire.OTAIdle || st.Slot != SlotA || st.Last == nil || st.Last.Outcome != wire.OTAConfirmed {
		t.Fatalf("after confirm: %+v", st)
	}
	// The next install goes to slot b.
	trial.Keys, trial.Arch, trial.MaxBundle, trial.Client, trial.Log, trial.ConfirmTimeout = in.Keys, "arm64", 1<<20, http.DefaultClient, in.Log, time.Minute
	if detail, err := install(trial, bundle("2.1.0", "arm64", priv, bins), false); err != nil || !strings.Contains(detail, "slot b") {
		t.Fatalf("second install: %q %v", detail, err)
	}
}
