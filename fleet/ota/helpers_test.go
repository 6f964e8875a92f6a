package ota

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/release/releasetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	ctx = context.Background()
	t0  = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
)

// rig is a database with the OTA domain over it, a trusted key, and a
// sender that records commands as the API's command path does (in cmds)
// without MQTT; acks are written as ingest writes them.
type rig struct {
	t    *testing.T
	url  string
	db   *store.DB
	reg  *registry.Registry
	ota  *OTA
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	dir  string
	eng  *Engine

	mu   sync.Mutex
	sent []sentCmd
	// fail, when set, makes Send fail.
	fail error
}

type sentCmd struct {
	gw, cmdID string
	args      wire.OTAInstallArgs
}

func newRig(t *testing.T, dbURL string) *rig {
	r := &rig{t: t, url: dbURL, dir: filepath.Join(t.TempDir(), "releases")}
	r.pub, r.priv = releasetest.Key(1)
	r.open()
	return r
}

// open (re)opens the database and makes a new engine, as a restarted
// fleet does.
func (r *rig) open() {
	r.db = storetest.Open(r.t, r.url)
	r.reg = registry.New(r.db)
	r.ota = New(r.db, Config{Dir: r.dir, Keys: []ed25519.PublicKey{r.pub}, MaxBundle: 1 << 20})
	r.eng = &Engine{OTA: r.ota, PublicURL: "http://fleet.test:8080/", Send: r.send, CmdTTL: time.Minute}
}

func (r *rig) send(ctx context.Context, gw, cmdID string, args wire.OTAInstallArgs, ttl time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	b, _ := json.Marshal(args)
	if err := r.reg.RecordCmd(ctx, gw, wire.Cmd{V: 1, CmdID: cmdID, Name: wire.CmdOTAInstall, Args: b, ExpiresAt: time.Now().Add(ttl)}); err != nil {
		return err
	}
	r.sent = append(r.sent, sentCmd{gw, cmdID, args})
	return nil
}

// sentTo lists the gateways sent a command so far, in order.
func (r *rig) sentTo() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.sent {
		out = append(out, s.gw)
	}
	return out
}

func (r *rig) lastCmd(gw string) sentCmd {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.sent) - 1; i >= 0; i-- {
		if r.sent[i].gw == gw {
			return r.sent[i]
		}
	}
	r.t.Fatalf("no command sent to %s", gw)
	return sentCmd{}
}

// gateway adds a gateway of canteen, online with version and arch.
func (r *rig) gateway(id, canteen, version, arch string) {
	r.t.Helper()
	if _, _, err := r.reg.AddGateway(ctx, id, canteen); err != nil {
		r.t.Fatal(err)
	}
	r.state(id, true, version, arch)
}

var sessions = map[string]uint64{}

func (r *rig) state(id string, online bool, version, arch string) {
	r.t.Helper()
	if online {
		sessions[r.url+id]++
	}
	if err := r.reg.GatewayState(ctx, id, wire.State{V: 1, Online: online, Session: max(sessions[r.url+id], 1), Version: version, Arch: arch}, t0); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) canteen(id, district, category string) {
	r.t.Helper()
	if _, err := r.reg.PutCanteen(ctx, registry.Canteen{ID: id, Name: id, District: district, Category: category}); err != nil {
		r.t.Fatal(err)
	}
}

// upload stores a bundle of version for arch.
func (r *rig) upload(version, arch string) Release {
	r.t.Helper()
	b := releasetest.Bundle(r.t, r.priv, Product, version, arch, map[string]string{"bk-gateway": "#!/bin/sh\necho " + version + " " + arch + "\n"})
	rel, _, err := r.ota.Upload(ctx, bytes.NewReader(b), "user:admin", t0)
	if err != nil {
		r.t.Fatal(err)
	}
	return rel
}

func (r *rig) create(spec Spec) Rollout {
	r.t.Helper()
	ro, err := r.ota.Create(ctx, spec, "user:admin", t0)
	if err != nil {
		r.t.Fatal(err)
	}
	return ro
}

// step runs the engine once at now.
func (r *rig) step(now time.Time) {
	r.t.Helper()
	if err := r.eng.Step(ctx, now); err != nil {
		r.t.Fatal(err)
	}
}

// ack answers gw's last command as ingest records a cmd/ack.
func (r *rig) ack(gw, status, detail string) {
	r.t.Helper()
	if err := r.reg.UpdateCmd(ctx, gw, r.lastCmd(gw).cmdID, status, detail); err != nil {
		r.t.Fatal(err)
	}
}

// heartbeat stores a heartbeat of gw with an OTA state.
func (r *rig) heartbeat(gw string, o *wire.OTAStatus) {
	r.t.Helper()
	if err := r.reg.Heartbeat(ctx, gw, wire.Heartbeat{V: 1, At: t0, Session: sessions[r.url+gw], OTA: o}, t0); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) targets(id string) map[string]TargetRow {
	r.t.Helper()
	ts, err := r.ota.Targets(ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]TargetRow{}
	for _, t := range ts {
		out[t.GatewayID] = t
	}
	return out
}

func (r *rig) rollout(id string) Rollout {
	r.t.Helper()
	ro, err := r.ota.Rollout(ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return ro
}

// token is the download token in a command's URL.
func token(t *testing.T, c sentCmd) string {
	u, err := url.Parse(c.args.URL)
	if err != nil || !strings.HasPrefix(u.Path, DownloadPath) {
		t.Fatalf("command URL %q: not a download URL", c.args.URL)
	}
	return strings.TrimPrefix(u.Path, DownloadPath)
}
