package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func TestGatewayCredentials(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		user, pass, err := s.AddGateway(ctx, "gw-a", "canteen-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(pass) != 64 {
			t.Fatalf("password %q: want 64 hex characters", pass)
		}
		if _, _, err := s.AddGateway(ctx, "gw-a", "canteen-2"); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second AddGateway: %v, want store.ErrExists", err)
		}
		if _, _, err := s.AddGateway(ctx, ReservedGatewayID, "canteen-1"); err == nil {
			t.Fatal("a gateway took the embedded broker's in-process client id")
		}
		if _, _, err := s.AddGateway(ctx, "bad/id", "canteen-1"); err == nil {
			t.Fatal("bad id accepted")
		}
		cases := []struct {
			user, pass string
			ok         bool
		}{
			{user, pass, true},
			{user, pass + "x", false},
			{user, "", false},
			{"gw-b", pass, false},
		}
		for _, c := range cases {
			id, ok, err := s.GatewayByCredentials(ctx, c.user, c.pass)
			if err != nil || ok != c.ok || (ok && id != "gw-a") {
				t.Errorf("GatewayByCredentials(%q, %q) = %q, %v, %v; want ok=%v", c.user, c.pass, id, ok, err, c.ok)
			}
		}
		gws, err := s.ListGateways(ctx)
		if err != nil || len(gws) != 1 || gws[0].ID != "gw-a" || gws[0].CanteenID != "canteen-1" || gws[0].Online {
			t.Fatalf("ListGateways = %+v, %v", gws, err)
		}
		b, _ := json.Marshal(gws[0])
		if strings.Contains(string(b), pass) {
			t.Fatal("gateway JSON contains the password")
		}
		cs, err := s.ListCanteens(ctx, CanteenFilter{})
		if err != nil || len(cs) != 1 || cs[0].ID != "canteen-1" {
			t.Fatalf("Canteens = %+v, %v", cs, err)
		}
	})
}

// status is a camera status for the interval tests: seq, minute offset from
// t0, and whether the camera was healthy.
type status struct {
	seq    uint64
	minute int
	ok     bool
}

// iv is an expected interval: [from, to) in minutes, to -1 while open.
type iv struct {
	from, to int
	ok       bool
}

// ingestStatuses ingests statuses of one camera; seqBase keeps seqs unique
// per gateway (they are the gateway's spool sequence).
func ingestStatuses(t *testing.T, s *testStore, gw, cam string, seqBase uint64, batches [][]status) {
	t.Helper()
	for _, b := range batches {
		var items []IngestItem
		for _, st := range b {
			pic := wire.PictureOK
			if !st.ok {
				pic = wire.PictureOccluded
			}
			items = append(items, IngestItem{GatewayID: gw, Status: &wire.CameraStatus{V: 1, Seq: seqBase + st.seq, CameraID: cam,
				At: t0.Add(time.Duration(st.minute) * time.Minute), Online: true, Picture: pic}})
		}
		if _, err := s.Ingest(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
}

func intervalsInMinutes(ivs []Interval) []iv {
	var out []iv
	for _, x := range ivs {
		to := -1
		if !x.End.IsZero() {
			to = int(x.End.Sub(t0) / time.Minute)
		}
		out = append(out, iv{int(x.Start.Sub(t0) / time.Minute), to, x.Healthy()})
	}
	return out
}

func TestCameraIntervals(t *testing.T) {
	cases := []struct {
		name    string
		batches [][]status // each inner slice is one Ingest call, in arrival order
		want    []iv
	}{
		{"in order",
			[][]status{{{1, 0, true}}, {{2, 10, false}}, {{3, 25, true}}},
			[]iv{{0, 10, true}, {10, 25, false}, {25, -1, true}}},
		{"one batch, reversed",
			[][]status{{{3, 25, true}, {2, 10, false}, {1, 0, true}}},
			[]iv{{0, 10, true}, {10, 25, false}, {25, -1, true}}},
		{"historical statuses after an outage land between live ones",
			// live: 0 ok, 60 ok; the spooled 20 (occluded) and 40 (ok)
			// arrive after the gateway reconnects.
			[][]status{{{1, 0, true}}, {{4, 60, true}}, {{2, 20, false}, {3, 40, true}}},
			[]iv{{0, 20, true}, {20, 40, false}, {40, 60, true}, {60, -1, true}}},
		{"late status before everything",
			[][]status{{{5, 30, false}}, {{6, 45, true}}, {{1, 5, true}}},
			[]iv{{5, 30, true}, {30, 45, false}, {45, -1, true}}},
		{"replay changes nothing",
			[][]status{{{1, 0, true}, {2, 10, false}}, {{1, 0, true}, {2, 10, false}}, {{2, 10, false}}},
			[]iv{{0, 10, true}, {10, -1, false}}},
		{"same minute: seq orders",
			[][]status{{{2, 10, true}}, {{1, 10, false}}, {{3, 20, false}}},
			[]iv{{10, 10, false}, {10, 20, true}, {20, -1, false}}},
	}
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		for i, c := range cases {
			cam := fmt.Sprintf("cam%d", i)
			ingestStatuses(t, s, "gw-a", cam, uint64(1000*i), c.batches)
			got, err := s.CameraIntervals(ctx, "gw-a", cam)
			if err != nil {
				t.Fatal(err)
			}
			if g := intervalsInMinutes(got); !slices.Equal(g, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, g, c.want)
			}
		}
		// Statuses of one camera never touch another's intervals, and the
		// camera shows its latest status.
		gw, err := s.Gateway(ctx, "gw-a")
		if err != nil || len(gw.Cameras) != len(cases) {
			t.Fatalf("Gateway: %+v, %v", gw, err)
		}
		if c := gw.Cameras[2]; c.ID != "cam2" || c.Picture != wire.PictureOK || !c.StatusAt.Equal(t0.Add(60*time.Minute)) {
			t.Fatalf("cam2 shows %+v, want its 60-minute status", c)
		}
	})
}

// TestCameraIntervalsAnyOrder: whatever order and batching statuses arrive
// in, the intervals are those of the statuses sorted by time.
func TestCameraIntervalsAnyOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		rng := rand.New(rand.NewPCG(1, 2))
		for round := range 10 {
			var sts []status
			for i := range 12 {
				sts = append(sts, status{seq: uint64(i + 1), minute: rng.IntN(50), ok: rng.IntN(2) == 0})
			}
			sorted := slices.Clone(sts)
			sort.SliceStable(sorted, func(i, j int) bool {
				if sorted[i].minute != sorted[j].minute {
					return sorted[i].minute < sorted[j].minute
				}
				return sorted[i].seq < sorted[j].seq
			})
			var want []iv
			for i, st := range sorted {
				to := -1
				if i+1 < len(sorted) {
					to = sorted[i+1].minute
				}
				want = append(want, iv{st.minute, to, st.ok})
			}
			rng.Shuffle(len(sts), func(i, j int) { sts[i], sts[j] = sts[j], sts[i] })
			var batches [][]status
			for len(sts) > 0 {
				n := min(1+rng.IntN(4), len(sts))
				batches = append(batches, sts[:n])
				sts = sts[n:]
			}
			cam := fmt.Sprintf("r%d", round)
			ingestStatuses(t, s, "gw-a", cam, uint64(1000*round), batches)
			got, err := s.CameraIntervals(ctx, "gw-a", cam)
			if err != nil {
				t.Fatal(err)
			}
			if g := intervalsInMinutes(got); !slices.Equal(g, want) {
				t.Fatalf("round %d: got %v, want %v", round, g, want)
			}
		}
	})
}

func TestGatewayStateStaleWill(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		steps := []struct {
			st         wire.State
			minute     int
			wantOnline bool
		}{
			{wire.State{V: 1, Online: true, Session: 1, Version: "1.0", StartedAt: t0}, 0, true},
			// The gateway reconnects (session 2) before the broker noticed
			// session 1 died; session 1's Will arrives late.
			{wire.State{V: 1, Online: true, Session: 2, Version: "1.1", StartedAt: t0}, 10, true},
			{wire.State{V: 1, Online: false, Session: 1}, 11, true},
			// A late duplicate of session 1's online state is ignored too.
			{wire.State{V: 1, Online: true, Session: 1, Version: "1.0"}, 12, true},
			{wire.State{V: 1, Online: false, Session: 2}, 20, false},
			// The retained offline state delivered again: no change.
			{wire.State{V: 1, Online: false, Session: 2}, 21, false},
			{wire.State{V: 1, Online: true, Session: 3, Version: "1.1"}, 30, true},
		}
		for i, st := range steps {
			if err := s.GatewayState(ctx, "gw-a", st.st, at(st.minute)); err != nil {
				t.Fatal(err)
			}
			g, err := s.Gateway(ctx, "gw-a")
			if err != nil {
				t.Fatal(err)
			}
			if g.Online != st.wantOnline {
				t.Fatalf("step %d: online = %v, want %v", i, g.Online, st.wantOnline)
			}
		}
		g, _ := s.Gateway(ctx, "gw-a")
		if g.Session != 3 || g.Version != "1.1" || !g.LastSeen.Equal(at(30)) {
			t.Fatalf("gateway %+v", g)
		}
		sess, err := s.Sessions(ctx, "gw-a")
		if err != nil {
			t.Fatal(err)
		}
		want := []Session{
			{1, at(0), at(10)}, // closed when session 2 began
			{2, at(10), at(20)},
			{3, at(30), time.Time{}},
		}
		if !slices.EqualFunc(sess, want, func(a, b Session) bool {
			return a.Session == b.Session && a.Connected.Equal(b.Connected) && a.Disconnected.Equal(b.Disconnected)
		}) {
			t.Fatalf("sessions %+v, want %+v", sess, want)
		}
		if err := s.GatewayState(ctx, "gw-x", wire.State{V: 1, Online: true, Session: 1}, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown gateway: %v", err)
		}
	})
}

func TestHeartbeat(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		if err := s.GatewayState(ctx, "gw-a", wire.State{V: 1, Online: true, Session: 1}, t0); err != nil {
			t.Fatal(err)
		}
		hb := wire.Heartbeat{V: 1, At: t0, Session: 1, Cameras: []wire.CameraHealth{
			{CameraID: "cam1", Online: true, FPS: 25, Kbps: 2048, Picture: "ok", Area: "cooking", Public: true},
			{CameraID: "cam2", Online: false, Picture: ""},
		}}
		if err := s.Heartbeat(ctx, "gw-a", hb, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// A camera status newer than the next heartbeat wins over it.
		if _, err := s.Ingest(ctx, []IngestItem{{GatewayID: "gw-a", Status: &wire.CameraStatus{V: 1, Seq: 1, CameraID: "cam1",
			At: t0.Add(2 * time.Minute), Online: true, Picture: "dark"}}}); err != nil {
			t.Fatal(err)
		}
		hb.At = t0.Add(time.Minute)
		hb.Cameras[0].Area = "" // not reported: kept
		if err := s.Heartbeat(ctx, "gw-a", hb, t0.Add(61*time.Second)); err != nil {
			t.Fatal(err)
		}
		gws, err := s.ListGateways(ctx)
		if err != nil || len(gws) != 1 || len(gws[0].Cameras) != 2 {
			t.Fatalf("ListGateways: %+v, %v", gws, err)
		}
		g := gws[0]
		c1, c2 := g.Cameras[0], g.Cameras[1]
		if c1.ID != "cam1" || c1.Area != "cooking" || !c1.Public || !c1.Online || c1.Picture != "dark" || c1.FPS != 25 {
			t.Fatalf("cam1 %+v", c1)
		}
		if c2.ID != "cam2" || c2.Online || c2.Picture != wire.PictureUnknown {
			t.Fatalf("cam2 %+v", c2)
		}
		if !g.LastSeen.Equal(t0.Add(61*time.Second)) || len(g.LastHeartbeat) == 0 {
			t.Fatalf("gateway %+v", g)
		}
		// The cameras of a gateway that went offline read offline.
		if err := s.GatewayState(ctx, "gw-a", wire.State{V: 1, Online: false, Session: 1}, t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if g, err := s.Gateway(ctx, "gw-a"); err != nil || g.Online || g.Cameras[0].Online {
			t.Fatalf("offline gateway %+v, %v: want it and its cameras offline", g, err)
		}
		if err := s.Heartbeat(ctx, "gw-x", hb, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown gateway: %v", err)
		}
	})
}

func TestCmdsAndConfig(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		addGateway(t, s, "gw-b", "c1")
		c := wire.Cmd{V: 1, CmdID: "cmd-1", Name: wire.CmdLiveStart, Args: json.RawMessage(`{"camera_id":"cam1"}`), ExpiresAt: t0}
		if err := s.RecordCmd(ctx, "gw-a", c); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordCmd(ctx, "gw-a", c); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate cmd: %v", err)
		}
		if err := s.RecordCmd(ctx, "gw-x", wire.Cmd{CmdID: "cmd-2", Name: "ping"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown gateway: %v", err)
		}
		for _, st := range []string{wire.CmdReceived, wire.CmdOK, wire.CmdRunning} { // the late "running" is ignored
			if err := s.UpdateCmd(ctx, "gw-a", "cmd-1", st, "detail "+st); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Cmd(ctx, "cmd-1")
		if err != nil || got.Status != wire.CmdOK || got.Detail != "detail ok" || string(got.Args) != `{"camera_id":"cam1"}` || !got.ExpiresAt.Equal(t0) {
			t.Fatalf("Cmd = %+v, %v", got, err)
		}
		if err := s.UpdateCmd(ctx, "gw-b", "cmd-1", wire.CmdFailed, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ack from another gateway: %v", err)
		}
		if err := s.UpdateCmd(ctx, "gw-a", "nope", wire.CmdOK, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown cmd: %v", err)
		}
		if cs, err := s.Cmds(ctx, "gw-a", 0); err != nil || len(cs) != 1 {
			t.Fatalf("Cmds = %+v, %v", cs, err)
		}

		for want := int64(1); want <= 3; want++ {
			v, err := s.NextConfigVersion(ctx, "gw-a", json.RawMessage(fmt.Sprintf(`{"n":%d}`, want)))
			if err != nil || v != want {
				t.Fatalf("NextConfigVersion = %d, %v; want %d", v, err, want)
			}
		}
		cfg, v, err := s.DesiredConfig(ctx, "gw-a")
		if err != nil || v != 3 || string(cfg) != `{"n":3}` {
			t.Fatalf("DesiredConfig = %s, %d, %v", cfg, v, err)
		}
		if _, err := s.NextConfigVersion(ctx, "gw-x", json.RawMessage(`{}`)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown gateway: %v", err)
		}
		if err := s.ConfigReported(ctx, "gw-a", wire.ConfigReported{V: 1, Version: 3, Applied: false, Error: "cameras[0].url: bad"}); err != nil {
			t.Fatal(err)
		}
		g, _ := s.Gateway(ctx, "gw-a")
		if g.ConfigVersion != 3 || g.ConfigReportedVersion != 3 || g.ConfigApplied == nil || *g.ConfigApplied || g.ConfigError == "" {
			t.Fatalf("gateway config fields %+v", g)
		}
	})
}
