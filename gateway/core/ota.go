package core

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/ota"
	"github.com/brightkitchen/brightkitchen/gateway/uplink"
	"github.com/brightkitchen/brightkitchen/internal/version"
)

// newInstaller is the gateway's updater (package gateway/ota), trusting
// the local config's keys only.
func (g *Gateway) newInstaller() *ota.Installer {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second}).DialContext
	if tc, err := g.cfg.Broker.TLSConfig(); err == nil && tc != nil && tc.RootCAs != nil {
		// the fleet's own CA, as for the broker
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: tc.RootCAs}
	}
	return &ota.Installer{
		Dir:            ota.Dir(g.cfg.OTA.Dir),
		Keys:           g.cfg.OTA.Keys(),
		Version:        version.String(),
		Arch:           runtime.GOARCH,
		ConfirmTimeout: g.cfg.OTA.ConfirmTimeout,
		MaxBundle:      int64(g.cfg.OTA.MaxBundle),
		AllowURL: func(u *url.URL) error {
			o, err := fleetOrigin(g.cfg)
			if err != nil {
				return err
			}
			if !o.Allows(u) {
				return fmt.Errorf("%s is not on the fleet this gateway is enrolled with (%s)", u.Redacted(), o)
			}
			return nil
		},
		Cameras: func() []string {
			var out []string
			for _, c := range g.Cameras() {
				if c.Online {
					out = append(out, c.CameraID)
				}
			}
			return out
		},
		Client: &http.Client{Transport: tr},
		Log:    g.log.With("component", "ota"),
	}
}

// otaInstall runs ota.install. On success the gateway restarts into the
// new version, and the command's outcome is answered when that version
// confirms, or by the old one when it comes back after a rollback.
func (g *Gateway) otaInstall(ctx context.Context, cmd wire.Cmd) (string, error) {
	var args wire.OTAInstallArgs
	dec := json.NewDecoder(bytes.NewReader(cmd.Args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&args); err != nil {
		return "", fmt.Errorf("args: %w", err)
	}
	// The same command again (the fleet repeats it; this process has
	// no memory of the one before the restart) is answered from disk.
	if r, _ := g.ota.Dir.Result(); r != nil && r.CmdID == cmd.CmdID {
		return resultText(r), resultErr(r)
	}
	if p, _ := g.ota.Dir.Pending(); p != nil && p.CmdID == cmd.CmdID {
		return "", fmt.Errorf("%w: %s is on trial", uplink.ErrAnswerLater, p.Version)
	}
	detail, err := g.ota.Install(ctx, cmd.CmdID, args, func(s string) { uplink.Progress(ctx, s) })
	if err != nil {
		return "", err
	}
	uplink.Progress(ctx, detail)
	g.requestRestart("update installed: " + detail)
	return "", fmt.Errorf("%w: %s", uplink.ErrAnswerLater, detail)
}

func resultText(r *ota.Result) string {
	if r.Outcome == ota.OutcomeConfirmed {
		return fmt.Sprintf("%s confirmed (from %s)", r.Version, r.From)
	}
	return fmt.Sprintf("%s %s, running %s: %s", r.Version, strings.ReplaceAll(r.Outcome, "_", " "), r.From, r.Reason)
}

func resultErr(r *ota.Result) error {
	if r.Outcome == ota.OutcomeConfirmed {
		return nil
	}
	return fmt.Errorf("%s", resultText(r))
}

// requestRestart asks main to stop the gateway so that the service
// manager starts it again through the launcher.
func (g *Gateway) requestRestart(why string) {
	select {
	case g.otaRestart <- why:
	default:
	}
}

// Restarts delivers a reason when the gateway must be restarted (an update
// was installed or rolled back): main then closes it and exits, and the
// service manager (Restart=always) starts the launcher again.
func (g *Gateway) Restarts() <-chan string { return g.otaRestart }

// startOTA watches the trial of a new version, or reports how the last
// update ended.
func (g *Gateway) startOTA() {
	p := g.ota.Trial()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if p != nil {
			g.watchTrial(g.ctx, p)
			return
		}
		g.reportResult(g.ctx)
	}()
}

// watchTrial confirms the version on trial once it is connected to the
// fleet with the cameras that were online before the update, or rolls
// back and asks for a restart at the deadline.
func (g *Gateway) watchTrial(ctx context.Context, p *ota.Pending) {
	log := g.log.With("component", "ota", "version", p.Version, "previous", p.PreviousVersion)
	log.Info("new version on trial", "deadline", p.Deadline, "start", p.Starts, "cameras", p.Cameras)
	deadline := time.NewTimer(time.Until(p.Deadline))
	defer deadline.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			reason := "not back online within " + g.cfg.OTA.ConfirmTimeout.String() + ": " + g.trialMissing(p)
			log.Warn("update not confirmed: rolling back", "reason", reason)
			if err := g.ota.Dir.RollBack(p, reason, time.Now().UTC()); err != nil {
				log.Error("rollback", "err", err)
			}
			g.requestRestart("update rolled back: " + reason)
			return
		case <-tick.C:
			if g.trialMissing(p) != "" {
				continue
			}
			if err := g.ota.Dir.Confirm(p, time.Now().UTC()); err != nil {
				log.Error("confirm", "err", err)
				continue
			}
			log.Info("update confirmed")
			g.reportResult(ctx)
			return
		}
	}
}

// trialMissing says what the version on trial still lacks; "" when
// nothing.
func (g *Gateway) trialMissing(p *ota.Pending) string {
	var miss []string
	if !g.uplink.Connected() {
		miss = append(miss, "the fleet not reached")
	}
	online := map[string]bool{}
	for _, c := range g.Cameras() {
		online[c.CameraID] = c.Online
	}
	var down []string
	for _, id := range p.Cameras {
		if !online[id] {
			down = append(down, id)
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		miss = append(miss, "cameras offline: "+strings.Join(down, ", "))
	}
	return strings.Join(miss, "; ")
}

const metaOTAAcked = "ota.acked"

// reportResult answers the ota.install command of the last update with
// its outcome once the fleet is reached, once per outcome.
func (g *Gateway) reportResult(ctx context.Context) {
	r, err := g.ota.Dir.Result()
	if err != nil || r == nil || r.CmdID == "" {
		return
	}
	key := r.CmdID + " " + r.Outcome
	if b, _ := g.spool.Meta(metaOTAAcked); string(b) == key {
		return
	}
	status := wire.CmdOK
	if r.Outcome != ota.OutcomeConfirmed {
		status = wire.CmdFailed
		g.log.Warn("last update did not stay", "component", "ota", "version", r.Version, "outcome", r.Outcome, "reason", r.Reason)
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		if g.uplink.Connected() {
			if err := g.uplink.AckCommand(r.CmdID, status, resultText(r)); err == nil {
				if err := g.spool.SetMeta(metaOTAAcked, []byte(key)); err != nil {
					g.log.Warn("remember the update's answer", "err", err)
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
