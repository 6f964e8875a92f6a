package ota

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/release"
)

// Product is the bundle product the gateway installs.
const Product = "bk-gateway"

// Installer runs ota.install on a gateway and reports the update state.
// Its settings are read at the first call.
type Installer struct {
	Dir Dir
	// Keys are the trusted signing keys (config ota.trusted_keys).
	Keys []ed25519.PublicKey
	// Version is the running version; Arch the running GOARCH.
	Version string
	Arch    string
	// ConfirmTimeout is the new version's time to confirm.
	ConfirmTimeout time.Duration
	// MaxBundle bounds the download and the unpacked files.
	MaxBundle int64
	// AllowURL, when set, must accept a bundle's URL.
	AllowURL func(*url.URL) error
	// Cameras, when set, lists the cameras online now: the new version
	// must have them online again to confirm.
	Cameras func() []string
	Client  *http.Client
	Log     *slog.Logger

	mu    sync.Mutex
	state string
	tgt   string
	pct   int
	busy  bool
}

// Sentinel errors of Install.
var (
	ErrBusy      = errors.New("an update is already under way")
	ErrDowngrade = errors.New("downgrade refused")
	ErrNoKeys    = errors.New("no trusted release keys configured (ota.trusted_keys)")
)

// Install downloads, checks and unpacks a bundle into the inactive slot,
// marks it pending and switches the current link to it. The caller then
// restarts the process (the launcher starts the new version). progress
// gets lines to report as the command's progress. Nothing is switched
// unless every check passed.
func (in *Installer) Install(ctx context.Context, cmdID string, args wire.OTAInstallArgs, progress func(string)) (string, error) {
	if len(in.Keys) == 0 {
		return "", ErrNoKeys
	}
	u, err := url.Parse(args.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("url: want an http or https URL")
	}
	if in.AllowURL != nil {
		if err := in.AllowURL(u); err != nil {
			return "", fmt.Errorf("url: %w", err)
		}
	}
	if args.Size <= 0 || args.Size > in.MaxBundle {
		return "", fmt.Errorf("size: %d bytes: want 1 to %d (ota.max_bundle)", args.Size, in.MaxBundle)
	}
	if !sumRe.MatchString(args.SHA256) {
		return "", errors.New("sha256: want 64 lowercase hex digits")
	}
	in.mu.Lock()
	if in.busy {
		in.mu.Unlock()
		return "", ErrBusy
	}
	in.busy = true
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.busy = false
		if in.state != wire.OTARestarting {
			in.state, in.tgt, in.pct = wire.OTAIdle, "", 0
		}
		in.mu.Unlock()
	}()
	if err := in.Dir.Prepare(); err != nil {
		return "", err
	}
	if p, err := in.Dir.Pending(); err != nil || p != nil {
		if err == nil {
			err = fmt.Errorf("%w: %s is on trial", ErrBusy, p.Version)
		}
		return "", err
	}

	in.set(wire.OTADownloading, "", 0)
	last := -1
	path, err := Download(ctx, in.Client, args.URL, args.SHA256, args.Size, in.Dir.path("download"), func(done, total int64) {
		if done*2 >= total {
			killPoint("download-half")
		}
		pct := int(done * 100 / total)
		in.set(wire.OTADownloading, "", pct)
		if pct/10 != last/10 {
			last = pct
			progress(fmt.Sprintf("downloading %d%% (%d of %d bytes)", pct, done, total))
		}
	})
	if err != nil {
		return "", err
	}
	killPoint("downloaded")

	in.set(wire.OTAInstalling, "", 100)
	cur, err := in.Dir.Current()
	if err != nil {
		return "", err
	}
	slot := Other(cur)
	slotDir := in.Dir.SlotDir(slot)
	if err := removeSlot(slotDir); err != nil {
		return "", fmt.Errorf("clear slot %s: %w", slot, err)
	}
	if err := release.RemoveStaging(filepath.Dir(slotDir)); err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	m, err := release.Extract(f, slotDir, release.Options{Keys: in.Keys,
		Limits: release.Limits{MaxFile: in.MaxBundle, MaxTotal: in.MaxBundle},
		Check: func(m *release.Manifest) error {
			if err := in.check(m, args.Force); err != nil {
				return err
			}
			in.set(wire.OTAInstalling, m.Version, 100)
			progress(fmt.Sprintf("signature ok: installing %s into slot %s", m.Version, slot))
			return nil
		}})
	f.Close()
	if err != nil {
		os.Remove(path) // a bundle refused is not tried again from the cache
		return "", err
	}
	if !hasBinary(m) {
		removeSlot(slotDir)
		return "", fmt.Errorf("bundle %s has no %s at its top", m.Version, Binary)
	}
	killPoint("extracted")
	now := time.Now().UTC()
	var cams []string
	if in.Cameras != nil {
		cams = in.Cameras()
	}
	p := &Pending{Cameras: cams, Slot: slot, Version: m.Version, Previous: cur, PreviousVersion: in.Version,
		SwitchedAt: now, Deadline: now.Add(in.ConfirmTimeout), CmdID: cmdID}
	if err := in.Dir.SetPending(p); err != nil {
		return "", err
	}
	killPoint("pending")
	if err := in.Dir.Switch(slot); err != nil {
		in.Dir.SetPending(nil)
		return "", err
	}
	killPoint("switched")
	os.Remove(path)
	in.set(wire.OTARestarting, m.Version, 100)
	in.Log.Info("update installed: restarting into it", "version", m.Version, "slot", slot, "deadline", p.Deadline)
	return fmt.Sprintf("installed %s into slot %s; restarting", m.Version, slot), nil
}

// check refuses a bundle this gateway must not install.
func (in *Installer) check(m *release.Manifest, force bool) error {
	if m.Product != Product {
		return fmt.Errorf("bundle is %s, not %s", m.Product, Product)
	}
	if m.Arch != in.Arch {
		return fmt.Errorf("bundle is built for %s, this gateway is %s", m.Arch, in.Arch)
	}
	next, _ := release.ParseVersion(m.Version)
	running, err := release.ParseVersion(in.Version)
	if err != nil {
		// A development build ("dev", a git revision) has no order: any
		// release may replace it.
		return nil
	}
	if m.MinVersion != "" {
		if minV, _ := release.ParseVersion(m.MinVersion); running.Compare(minV) < 0 && !force {
			return fmt.Errorf("%s needs at least %s to install it; this gateway runs %s", m.Version, m.MinVersion, in.Version)
		}
	}
	if c := next.Compare(running); c <= 0 && !force {
		what := "an older version"
		if c == 0 {
			what = "the running version"
		}
		return fmt.Errorf("%w: %s is %s than %s (force to install it anyway)", ErrDowngrade, m.Version, what, in.Version)
	}
	return nil
}

func hasBinary(m *release.Manifest) bool {
	for _, f := range m.Files {
		if f.Path == Binary && f.Perm()&0o100 != 0 {
			return true
		}
	}
	return false
}

// removeSlot deletes a slot's directory: renamed aside first, so a crash
// midway leaves no half-deleted slot under the slot's name.
func removeSlot(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	trash := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+release.StagingMark+"old")
	os.RemoveAll(trash)
	if err := os.Rename(dir, trash); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}

func (in *Installer) set(state, target string, pct int) {
	in.mu.Lock()
	in.state, in.pct = state, pct
	if target != "" {
		in.tgt = target
	}
	in.mu.Unlock()
}

// Status is the update state for the heartbeat and the status page.
func (in *Installer) Status() wire.OTAStatus {
	st := wire.OTAStatus{Version: in.Version, State: wire.OTAIdle}
	st.Slot, _ = in.Dir.Current()
	in.mu.Lock()
	if in.state != "" {
		st.State, st.Target, st.Progress = in.state, in.tgt, in.pct
	}
	in.mu.Unlock()
	if st.State == wire.OTAIdle {
		if p, _ := in.Dir.Pending(); p != nil && p.Slot == st.Slot {
			st.State, st.Target = wire.OTATrial, p.Version
		}
	}
	if r, _ := in.Dir.Result(); r != nil {
		st.Last = &wire.OTAResult{CmdID: r.CmdID, Version: r.Version, From: r.From, Outcome: r.Outcome, Reason: r.Reason, At: r.At}
	}
	return st
}

// Trial is the pending update when this process is the version on trial:
// the marker's slot is current and its version is the running one.
func (in *Installer) Trial() *Pending {
	p, err := in.Dir.Pending()
	if err != nil || p == nil || p.Version != in.Version {
		return nil
	}
	if cur, err := in.Dir.Current(); err != nil || cur != p.Slot {
		return nil
	}
	return p
}

// killPoint kills the process with SIGKILL at a named step when
// BK_OTA_KILL_AT names it: the durability tests' hook, so that a crash
// between any two steps of an install can be shown to leave a gateway
// that starts.
func killPoint(step string) {
	if os.Getenv("BK_OTA_KILL_AT") == step {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute) // SIGKILL is not caught; never returns
	}
}
