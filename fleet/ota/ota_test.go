package ota

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/release"
	"github.com/brightkitchen/brightkitchen/internal/release/releasetest"
)

func TestStageEnds(t *testing.T) {
	for _, c := range []struct {
		n      int
		stages []int
		want   []int
	}{
		{3, []int{67, 100}, []int{2, 3}},
		{3, []int{10, 100}, []int{1, 3}},
		{10, []int{10, 50, 100}, []int{1, 5, 10}},
		{1, []int{50, 100}, []int{1, 1}},
		{0, []int{50, 100}, []int{0, 0}},
		{200, []int{1, 2, 100}, []int{2, 4, 200}},
		{7, []int{100}, []int{7}},
	} {
		if got := stageEnds(c.n, c.stages); !slices.Equal(got, c.want) {
			t.Errorf("stageEnds(%d, %v) = %v, want %v", c.n, c.stages, got, c.want)
		}
	}
}

func TestSpecCheck(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Version: "x", Target: Target{All: true}}, "version"},
		{Spec{Version: "1.0.0"}, "exactly one"},
		{Spec{Version: "1.0.0", Target: Target{All: true, District: "d"}}, "exactly one"},
		{Spec{Version: "1.0.0", Target: Target{All: true}, Stages: []int{50, 40, 100}}, "increasing"},
		{Spec{Version: "1.0.0", Target: Target{All: true}, Stages: []int{50}}, "last must be 100"},
		{Spec{Version: "1.0.0", Target: Target{All: true}, Stages: []int{0, 100}}, "increasing"},
		{Spec{Version: "1.0.0", Target: Target{All: true}, MaxFailures: -1}, "max_failures"},
		{Spec{Version: "1.0.0", Target: Target{All: true}, Advance: "soon"}, "advance"},
		{Spec{Version: "1.0.0", Target: Target{Gateways: []string{""}}}, "gateways[0]"},
	} {
		if err := c.spec.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.spec, err, c.want)
		}
	}
	s := Spec{Version: "1.0.0", Target: Target{All: true}}
	if err := s.Check(); err != nil || !slices.Equal(s.Stages, []int{100}) || s.Advance != AdvanceManual {
		t.Errorf("defaults: %v %+v", err, s)
	}
}

// TestUpload: a good bundle is stored by its sha256 (again: the same
// release); bad ones are refused with the reason and leave no file.
func TestUpload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		r := newRig(t, url)
		good := releasetest.Bundle(t, r.priv, Product, "2.0.0", "arm64", map[string]string{"bk-gateway": "#!/bin/sh\n"})
		rel, created, err := r.ota.Upload(ctx, bytes.NewReader(good), "user:admin", t0)
		if err != nil || !created {
			t.Fatalf("upload: %v %v", created, err)
		}
		if rel.Version != "2.0.0" || rel.Arch != "arm64" || rel.Size != int64(len(good)) || rel.KeyID != KeyID(r.pub) || len(rel.ID) != 64 {
			t.Errorf("release %+v", rel)
		}
		if b, err := os.ReadFile(r.ota.path(rel.ID)); err != nil || !bytes.Equal(b, good) {
			t.Fatalf("stored bundle: %v", err)
		}
		again, created, err := r.ota.Upload(ctx, bytes.NewReader(good), "user:other", t0.Add(time.Hour))
		if err != nil || created || again != rel {
			t.Errorf("same bundle again: %+v %v %v", again, created, err)
		}

		_, otherPriv := releasetest.Key(2)
		files := map[string]string{"bk-gateway": "#!/bin/sh\necho good\n"}
		m := releasetest.Manifest(Product, "2.1.0", "arm64", files)
		head := releasetest.Head(t, m, r.priv)
		corrupt := releasetest.Tar(t, append(head, releasetest.Entry{Name: "bk-gateway", Body: "#!/bin/sh\necho evil\n"})...)
		traversal := releasetest.Tar(t, append(head, releasetest.Entry{Name: "bk-gateway", Body: files["bk-gateway"]},
			releasetest.Entry{Name: "../../etc/cron.d/evil", Body: "x"})...)
		mb, _ := m.Encode()
		unsigned := releasetest.Tar(t, releasetest.Entry{Name: release.ManifestName, Body: string(mb)}, releasetest.Entry{Name: "bk-gateway", Body: files["bk-gateway"]})
		for _, c := range []struct {
			name   string
			body   []byte
			target error
			want   string
		}{
			{"unsigned", unsigned, ErrRefused, "where manifest.sig must be"},
			{"wrong key", releasetest.Bundle(t, otherPriv, Product, "2.1.0", "arm64", files), ErrRefused, "not signed by a trusted key"},
			{"corrupted", corrupt, ErrRefused, "has sha256"},
			{"traversal", traversal, ErrRefused, `"../../etc/cron.d/evil" is not in the manifest`},
			{"oversized", releasetest.Bundle(t, r.priv, Product, "2.1.0", "arm64", map[string]string{"bk-gateway": strings.Repeat("x", 1<<20)}), ErrTooLarge, "over 1048576 bytes"},
			{"other product", releasetest.Bundle(t, r.priv, "bk-other", "2.1.0", "arm64", files), ErrRefused, "bk-gateway releases only"},
			{"not a tar", []byte("hello, this is not a bundle"), ErrRefused, "bad bundle"},
			{"empty", nil, ErrRefused, "empty"},
			{"bad manifest", releasetest.Tar(t, releasetest.Entry{Name: release.ManifestName, Body: `{"format":1,"product":"bk-gateway"}`},
				releasetest.Entry{Name: release.SignatureName, Body: string(release.Sign(r.priv, []byte(`{"format":1,"product":"bk-gateway"}`)))}), ErrRefused, "bad manifest"},
			{"same version, other bundle", releasetest.Bundle(t, r.priv, Product, "2.0.0", "arm64", files), store.ErrExists, "another bundle"},
		} {
			_, _, err := r.ota.Upload(ctx, bytes.NewReader(c.body), "user:admin", t0)
			if !errors.Is(err, c.target) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: err %v, want %v with %q", c.name, err, c.target, c.want)
			}
		}
		ents, _ := os.ReadDir(r.dir)
		if len(ents) != 1 || ents[0].Name() != rel.ID+".bundle" {
			t.Errorf("releases dir after refusals: %v", ents)
		}
		rels, err := r.ota.Releases(ctx)
		if err != nil || len(rels) != 1 {
			t.Errorf("releases: %v %v", rels, err)
		}

		// What a crash left: an old temporary file and an old bundle
		// with no row go; the stored bundle and a fresh upload stay.
		for _, name := range []string{".upload-123", strings.Repeat("ab", 32) + ".bundle", ".upload-fresh"} {
			p := filepath.Join(r.dir, name)
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if name != ".upload-fresh" {
				old := time.Now().Add(-48 * time.Hour)
				os.Chtimes(p, old, old)
			}
		}
		old := time.Now().Add(-48 * time.Hour)
		os.Chtimes(r.ota.path(rel.ID), old, old)
		if n, err := r.ota.RemoveStale(ctx, time.Now()); err != nil || n != 2 {
			t.Errorf("RemoveStale: %d %v, want 2", n, err)
		}
		if ents, _ := os.ReadDir(r.dir); len(ents) != 2 {
			t.Errorf("after RemoveStale: %v", ents)
		}

		noKeys := New(r.db, Config{Dir: r.dir})
		if _, _, err := noKeys.Upload(ctx, bytes.NewReader(good), "x", t0); !errors.Is(err, ErrNoKeys) {
			t.Errorf("no keys: %v", err)
		}
	})
}

// TestStagesAndSkips: each gateway gets the bundle of its arch or is
// skipped with the reason; the others are split into stages by a hash
// of the rollout's and their ids.
func TestStagesAndSkips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		r := newRig(t, url)
		r.canteen("school-1", "徐汇区", "school")
		r.canteen("hosp-1", "黄浦区", "hospital")
		arm := r.upload("2.0.0", "arm64")
		amd := r.upload("2.0.0", "amd64")
		for _, g := range []string{"gw-a", "gw-b", "gw-c", "gw-d"} {
			r.gateway(g, "school-1", "1.0.0", "arm64")
		}
		r.gateway("gw-x86", "school-1", "1.5.0", "amd64")
		r.gateway("gw-armhf", "school-1", "1.0.0", "arm")
		r.gateway("gw-old", "school-1", "0.9.0", "")
		r.gateway("gw-same", "school-1", "2.0.0", "arm64")
		r.gateway("gw-newer", "school-1", "2.1.0", "arm64")
		r.gateway("gw-hosp", "hosp-1", "1.0.0", "arm64")

		ro := r.create(Spec{Version: "2.0.0", Target: Target{District: "徐汇区"}, Stages: []int{50, 100}})
		ts := r.targets(ro.ID)
		if len(ts) != 9 || ts["gw-hosp"].GatewayID != "" {
			t.Fatalf("targets %v", ts)
		}
		for g, want := range map[string]string{"gw-armhf": "no arm bundle", "gw-old": "arch unknown", "gw-same": "already on 2.0.0", "gw-newer": "newer"} {
			if ts[g].State != TargetSkipped || !strings.Contains(ts[g].Detail, want) {
				t.Errorf("%s: %s %q, want skipped %q", g, ts[g].State, ts[g].Detail, want)
			}
		}
		stages := map[int]int{}
		for _, g := range []string{"gw-a", "gw-b", "gw-c", "gw-d", "gw-x86"} {
			tr := ts[g]
			if tr.State != TargetPending {
				t.Errorf("%s: %s", g, tr.State)
			}
			stages[tr.Stage]++
			wantRel := arm.ID
			if g == "gw-x86" {
				wantRel = amd.ID
			}
			if tr.ReleaseID != wantRel {
				t.Errorf("%s: release %s, want %s", g, tr.ReleaseID, wantRel)
			}
		}
		if stages[1] != 3 || stages[2] != 2 { // round(5×0.5) = 3 (2.5 rounds up), then the rest
			t.Errorf("stages %v, want 3 then 2", stages)
		}
		if ro.Counts[TargetPending] != 5 || ro.Counts[TargetSkipped] != 4 {
			t.Errorf("counts %v", ro.Counts)
		}

		// Another rollout over the same gateways is refused while this
		// one is on; forced, by category, it would take the skipped ones.
		if _, err := r.ota.Create(ctx, Spec{Version: "2.0.0", Target: Target{Category: "school"}}, "u", t0); !errors.Is(err, ErrConflict) {
			t.Errorf("overlapping rollout: %v", err)
		}
		if _, err := r.ota.Act(ctx, ro.ID, ActionAbort, "user:admin", t0); err != nil {
			t.Fatal(err)
		}
		forced := r.create(Spec{Version: "2.0.0", Target: Target{Gateways: []string{"gw-same", "gw-newer"}}, Force: true})
		if ts := r.targets(forced.ID); ts["gw-same"].State != TargetPending || ts["gw-newer"].State != TargetPending {
			t.Errorf("forced: %v", ts)
		}
		for _, c := range []struct {
			spec Spec
			want string
		}{
			{Spec{Version: "3.0.0", Target: Target{All: true}}, "no release 3.0.0"},
			{Spec{Version: "2.0.0", Target: Target{Gateways: []string{"gw-nope"}}}, `no gateway "gw-nope"`},
			{Spec{Version: "2.0.0", Target: Target{District: "nowhere"}}, "no gateways"},
		} {
			if _, err := r.ota.Create(ctx, c.spec, "u", t0); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: %v, want %q", c.spec, err, c.want)
			}
		}
		// The stages are the ids' hash order: the same rollout id and
		// gateways give the same split.
		ro2 := r.create(Spec{Version: "2.0.0", Target: Target{Category: "hospital"}})
		if got := r.targets(ro2.ID)["gw-hosp"]; got.Stage != 1 || got.State != TargetPending {
			t.Errorf("hospital: %+v", got)
		}
	})
}

// TestRollout: the engine sends to the online gateways of the stage
// reached, follows them to confirmed, waits for "next" (manual), then
// finishes; the fleet restarted in between carries on from the store.
func TestRollout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		r := newRig(t, url)
		r.canteen("school-1", "徐汇区", "school")
		rel := r.upload("2.0.0", "arm64")
		for _, g := range []string{"gw-1", "gw-2", "gw-3"} {
			r.gateway(g, "school-1", "1.0.0", "arm64")
		}
		ro := r.create(Spec{Version: "2.0.0", Target: Target{All: true}, Stages: []int{67, 100}})
		ts := r.targets(ro.ID)
		var first, second []string
		for g, tr := range ts {
			if tr.Stage == 1 {
				first = append(first, g)
			} else {
				second = append(second, g)
			}
		}
		slices.Sort(first)
		if len(first) != 2 || len(second) != 1 {
			t.Fatalf("stages: %v then %v", first, second)
		}
		// one of stage 1 offline: nothing is sent to it yet
		r.state(first[1], false, "1.0.0", "arm64")
		now := t0.Add(time.Second)
		r.step(now)
		if got := r.sentTo(); !slices.Equal(got, first[:1]) {
			t.Fatalf("sent to %v, want %v", got, first[:1])
		}
		c := r.lastCmd(first[0])
		if c.args.SHA256 != rel.ID || c.args.Size != rel.Size || c.args.Force || !strings.HasPrefix(c.args.URL, "http://fleet.test:8080"+DownloadPath) {
			t.Errorf("args %+v", c.args)
		}
		d, err := r.ota.DownloadFor(ctx, token(t, c))
		if err != nil || d.Release.ID != rel.ID || d.GatewayID != first[0] || d.RolloutID != ro.ID {
			t.Errorf("download: %+v %v", d, err)
		}
		if _, err := r.ota.DownloadFor(ctx, strings.Repeat("0", 64)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("wrong token: %v", err)
		}
		r.state(first[1], true, "1.0.0", "arm64")
		r.step(now)
		if got := r.sentTo(); !slices.Equal(got, first) {
			t.Fatalf("sent to %v, want %v", got, first)
		}

		// The fleet restarts: the state is in the store.
		r.db.Close()
		r.open()
		later := now.Add(time.Minute) // the old engine's lease has expired

		r.ack(first[0], "running", "downloading 40%")
		r.heartbeat(first[0], &wire.OTAStatus{Version: "1.0.0", State: wire.OTADownloading, Progress: 40, Target: "2.0.0"})
		r.ack(first[1], "running", "installing")
		r.heartbeat(first[1], &wire.OTAStatus{Version: "1.0.0", State: wire.OTATrial, Target: "2.0.0"})
		r.step(later)
		ts = r.targets(ro.ID)
		if ts[first[0]].State != TargetDownloading || ts[first[0]].Progress != 40 || ts[first[1]].State != TargetTrial {
			t.Errorf("in flight: %+v / %+v", ts[first[0]], ts[first[1]])
		}
		r.ack(first[0], wire.CmdOK, "2.0.0 confirmed (from 1.0.0)")
		r.ack(first[1], wire.CmdOK, "2.0.0 confirmed (from 1.0.0)")
		r.step(later)
		ts = r.targets(ro.ID)
		if ts[first[0]].State != TargetConfirmed || ts[first[1]].State != TargetConfirmed || ts[second[0]].State != TargetPending {
			t.Fatalf("after stage 1: %v", ts)
		}
		if _, err := r.ota.DownloadFor(ctx, token(t, c)); !errors.Is(err, ErrGone) {
			t.Errorf("download after confirming: %v", err)
		}
		// manual advance: stage 2 waits for "next"
		r.step(later)
		if ro := r.rollout(ro.ID); ro.Stage != 1 || ro.State != StateRunning || len(r.sentTo()) != 2 {
			t.Fatalf("before next: %+v, sent %v", ro, r.sentTo())
		}
		if _, err := r.ota.Act(ctx, ro.ID, ActionNext, "user:admin", later); err != nil {
			t.Fatal(err)
		}
		r.step(later)
		if got := r.sentTo(); len(got) != 3 || got[2] != second[0] {
			t.Fatalf("after next: sent %v", got)
		}
		if _, err := r.ota.Act(ctx, ro.ID, ActionNext, "user:admin", later); !errors.Is(err, ErrWrongState) {
			t.Errorf("next past the last stage: %v", err)
		}
		r.ack(second[0], wire.CmdOK, "2.0.0 confirmed (from 1.0.0)")
		r.step(later)
		ro = r.rollout(ro.ID)
		if ro.State != StateDone || ro.Counts[TargetConfirmed] != 3 {
			t.Errorf("end: %+v", ro)
		}
		if _, err := r.ota.DeleteRelease(ctx, rel.ID); err != nil {
			t.Errorf("delete after done: %v", err)
		}
	})
}

// TestPauseOnFailures: more failures in a stage than allowed pause the
// rollout with the reason; resumed, it goes on until the next failure;
// a release in use cannot be deleted; abort sends nothing more, skips
// the pending, refuses downloads and still follows those in flight.
func TestPauseOnFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		r := newRig(t, url)
		rel := r.upload("2.0.0", "arm64")
		gws := []string{"gw-1", "gw-2", "gw-3", "gw-4", "gw-5"}
		for _, g := range gws {
			r.gateway(g, "", "1.0.0", "arm64")
		}
		ro := r.create(Spec{Version: "2.0.0", Target: Target{Gateways: gws}, Advance: AdvanceAuto, MaxFailures: 0})
		r.eng.MaxSends = 2
		now := t0.Add(time.Second)
		r.step(now)
		sent := r.sentTo()
		if len(sent) != 2 {
			t.Fatalf("sent %v, want 2 (MaxSends)", sent)
		}
		if _, err := r.ota.DeleteRelease(ctx, rel.ID); !errors.Is(err, ErrInUse) {
			t.Errorf("delete in use: %v", err)
		}
		r.ack(sent[0], wire.CmdFailed, "3.0.0 rolled back, running 1.0.0: crash loop")
		r.step(now)
		ro = r.rollout(ro.ID)
		if ro.State != StatePaused || !strings.Contains(ro.Reason, "1 failed, over the limit of 0") || !strings.Contains(ro.Reason, "crash loop") {
			t.Fatalf("after a failure: %+v", ro)
		}
		if ts := r.targets(ro.ID); ts[sent[0]].State != TargetRolledBack {
			t.Errorf("target %+v", ts[sent[0]])
		}
		r.step(now)
		if len(r.sentTo()) != 2 {
			t.Fatalf("paused, yet sent %v", r.sentTo())
		}
		if _, err := r.ota.Act(ctx, ro.ID, ActionPause, "user:admin", now); !errors.Is(err, ErrWrongState) {
			t.Errorf("pause a paused rollout: %v", err)
		}
		if _, err := r.ota.Act(ctx, ro.ID, ActionResume, "user:admin", now); err != nil {
			t.Fatal(err)
		}
		r.step(now)
		if ro := r.rollout(ro.ID); ro.State != StateRunning || len(r.sentTo()) != 4 {
			t.Fatalf("resumed: %+v, sent %v", ro, r.sentTo())
		}
		// A send that fails puts the target back to pending.
		r.fail = errors.New("MQTT is not connected")
		r.step(now)
		r.fail = nil
		if ts := r.targets(ro.ID); ts[r.pendingOne(ro.ID)].Detail == "" {
			t.Errorf("no detail after a failed send")
		}
		// Abort: the in-flight one is followed, the pending skipped,
		// downloads refused.
		inflight := r.sentTo()[3]
		ro, err := r.ota.Act(ctx, ro.ID, ActionAbort, "user:admin", now)
		if err != nil || ro.State != StateAborted {
			t.Fatalf("abort: %+v %v", ro, err)
		}
		if _, err := r.ota.DownloadFor(ctx, token(t, r.lastCmd(inflight))); !errors.Is(err, ErrGone) {
			t.Errorf("download after abort: %v", err)
		}
		r.step(now)
		if len(r.sentTo()) != 4 {
			t.Errorf("aborted, yet sent %v", r.sentTo())
		}
		r.ack(inflight, wire.CmdOK, "2.0.0 confirmed (from 1.0.0)")
		r.step(now)
		ts := r.targets(ro.ID)
		if ts[inflight].State != TargetConfirmed || ts[gws[4]].State != TargetSkipped && ts[gws[4]].State != TargetConfirmed {
			t.Errorf("after abort: %v", ts)
		}
		if n := r.rollout(ro.ID).Counts[TargetSkipped]; n != 1 {
			t.Errorf("skipped %d, want the one never sent", n)
		}
		if _, err := r.ota.Act(ctx, ro.ID, ActionResume, "user:admin", now); !errors.Is(err, ErrWrongState) {
			t.Errorf("resume an aborted rollout: %v", err)
		}
	})
}

func (r *rig) pendingOne(id string) string {
	for g, tr := range r.targets(id) {
		if tr.State == TargetPending {
			return g
		}
	}
	r.t.Fatal("no pending target")
	return ""
}

// TestResend: a command not received before it expires is sent again,
// at most MaxAttempts times, then the target fails.
func TestResend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		r := newRig(t, url)
		r.upload("2.0.0", "arm64")
		r.gateway("gw-1", "", "1.0.0", "arm64")
		ro := r.create(Spec{Version: "2.0.0", Target: Target{All: true}, MaxFailures: 1})
		now := time.Now()
		for i := range MaxAttempts + 1 {
			r.step(now)
			if n := len(r.sentTo()); n != min(i+1, MaxAttempts) {
				t.Fatalf("step %d: sent %d", i+1, n)
			}
			now = now.Add(2 * time.Minute) // past the command's TTL (1 minute)
		}
		tr := r.targets(ro.ID)["gw-1"]
		if tr.State != TargetFailed || tr.Attempts != MaxAttempts || !strings.Contains(tr.Detail, "not received") {
			t.Errorf("target %+v", tr)
		}
		if ro := r.rollout(ro.ID); ro.State != StateDone {
			t.Errorf("rollout %+v (one failure allowed: done)", ro)
		}
	})
}

// TestStall: a target whose gateway received the install and then went
// quiet is "stalled" after StallAfter without progress, which counts as a
// failure (the rollout pauses over its limit) and keeps the gateway busy;
// a progress report resets the clock, and a result that comes after the
// stall is taken.
func TestStall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		r := newRig(t, url)
		r.upload("2.0.0", "arm64")
		r.gateway("gw-1", "", "1.0.0", "arm64")
		r.gateway("gw-2", "", "1.0.0", "arm64")
		ro := r.create(Spec{Version: "2.0.0", Target: Target{Gateways: []string{"gw-1"}}, MaxFailures: 0})
		r.eng.StallAfter = 10 * time.Minute
		now := time.Now()
		r.step(now)
		r.ack("gw-1", wire.CmdRunning, "downloading 10% (1 of 10 bytes)")
		r.step(now)
		if tr := r.targets(ro.ID)["gw-1"]; tr.State != TargetDownloading {
			t.Fatalf("after the first report: %+v", tr)
		}
		// Progress within StallAfter of the last: not stalled.
		now = now.Add(8 * time.Minute)
		r.ack("gw-1", wire.CmdRunning, "downloading 50% (5 of 10 bytes)")
		r.step(now)
		now = now.Add(8 * time.Minute)
		r.step(now)
		if tr := r.targets(ro.ID)["gw-1"]; tr.State != TargetDownloading {
			t.Fatalf("16 min after the start, 8 after the last progress: %+v", tr)
		}
		// Quiet past StallAfter: stalled, a failure over the limit of 0.
		now = now.Add(3 * time.Minute)
		r.step(now)
		tr := r.targets(ro.ID)["gw-1"]
		if tr.State != TargetStalled || !strings.Contains(tr.Detail, "no progress for 10m0s while downloading") {
			t.Fatalf("quiet for 11 min: %+v", tr)
		}
		if ro := r.rollout(ro.ID); ro.State != StatePaused || !strings.Contains(ro.Reason, "gw-1") {
			t.Fatalf("rollout after the stall: %+v", ro)
		}
		// Still busy: another rollout cannot take the gateway; its
		// download is still served, should it come back.
		if _, err := r.ota.Create(ctx, Spec{Version: "2.0.0", Target: Target{All: true}, Force: true}, "u", now); !errors.Is(err, ErrConflict) {
			t.Errorf("a rollout over a stalled gateway: %v", err)
		}
		if _, err := r.ota.DownloadFor(ctx, token(t, r.lastCmd("gw-1"))); err != nil {
			t.Errorf("download of a stalled target: %v", err)
		}
		// A later progress report does not undo the stall; the result does.
		r.ack("gw-1", wire.CmdRunning, "downloading 60% (6 of 10 bytes)")
		r.step(now.Add(time.Minute))
		if tr := r.targets(ro.ID)["gw-1"]; tr.State != TargetStalled {
			t.Fatalf("progress after the stall: %+v", tr)
		}
		r.ack("gw-1", wire.CmdOK, "2.0.0 confirmed (from 1.0.0)")
		r.step(now.Add(2 * time.Minute))
		if tr := r.targets(ro.ID)["gw-1"]; tr.State != TargetConfirmed {
			t.Fatalf("result after the stall: %+v", tr)
		}
	})
}
