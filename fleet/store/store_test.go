package store

// Long file: the registry and ingest methods' tests, each on both SQLite and
// PostgreSQL.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend opens fresh, empty databases of one kind; reopen opens the same
// database again.
type backend struct {
	name string
	// fresh returns a URL for a new empty database.
	fresh func(t testing.TB) string
}

// backends are SQLite always, and PostgreSQL when BK_TEST_POSTGRES_URL is
// set (see postgres_test.go).
var backends = []backend{{name: "sqlite", fresh: func(t testing.TB) string {
	return filepath.Join(t.TempDir(), "fleet.db")
}}}

// eachDB runs f against every backend.
func eachDB(t *testing.T, f func(t *testing.T, url string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.fresh(t)) })
	}
}

func open(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var ctx = context.Background()

func addGateway(t testing.TB, s *Store, id, canteen string) {
	t.Helper()
	if _, _, err := s.AddGateway(ctx, id, canteen); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func event(seq uint64, typ string, at time.Time) *wire.Event {
	return &wire.Event{V: 1, EventID: fmt.Sprintf("EV%08d", seq), Seq: seq, CameraID: "cam1", Type: typ, Score: 0.9,
		Boxes: []wire.Box{{X: 0.1, Y: 0.2, W: 0.3, H: 0.4, Label: "head"}}, StartedAt: at}
}

func withSnapshot(ev *wire.Event, jpeg []byte) (*wire.Event, []byte) {
	sum := sha256.Sum256(jpeg)
	ev.Snapshot = &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(jpeg)}
	return ev, jpeg
}

func TestMigrationsIdempotent(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		addGateway(t, s, "gw-a", "canteen-1")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			s = open(t, url)
			v, err := s.SchemaVersion(ctx)
			if err != nil || v != len(migrations) {
				t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
			}
			if ok, err := s.GatewayExists(ctx, "gw-a"); !ok || err != nil {
				t.Fatalf("gateway lost on reopen: %v %v", ok, err)
			}
			s.Close()
		}
	})
}

func TestConcurrentOpen(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				s, err := Open(ctx, url)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"", filepath.Join(dir, "a.db"), "sqlite://" + filepath.Join(dir, "b.db"), filepath.Join(dir, "with space?x.db")} {
		s, err := Open(ctx, u)
		if err != nil {
			t.Fatalf("%q: %v", u, err)
		}
		addGateway(t, s, "gw", "c")
		if s.Dialect() != "sqlite" {
			t.Fatalf("%q: dialect %s", u, s.Dialect())
		}
		s.Close()
	}
	if _, err := Open(ctx, "mysql://x"); err == nil {
		t.Fatal("mysql:// accepted")
	}
}

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
		if _, _, err := s.AddGateway(ctx, "gw-a", "canteen-2"); !errors.Is(err, ErrExists) {
			t.Fatalf("second AddGateway: %v, want ErrExists", err)
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

func TestIngestIdempotent(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		var batch []IngestItem
		jpegs := map[string][]byte{}
		for i := uint64(1); i <= 20; i++ {
			ev := event(i, "no_mask", t0.Add(time.Duration(i)*time.Second))
			var jpeg []byte
			if i%3 == 0 {
				ev, jpeg = withSnapshot(ev, []byte(fmt.Sprintf("\xff\xd8jpeg %d", i)))
				jpegs[ev.EventID] = jpeg
			}
			batch = append(batch, IngestItem{GatewayID: "gw-a", Event: ev, Snapshot: jpeg})
		}
		batch = append(batch, IngestItem{GatewayID: "gw-a", Status: &wire.CameraStatus{V: 1, Seq: 21, CameraID: "cam1", At: t0, Online: true, Picture: "ok"}})
		batch = append(batch, IngestItem{GatewayID: "gw-a"}) // empty: skipped

		n, err := s.Ingest(ctx, batch)
		if err != nil || n != 21 {
			t.Fatalf("first Ingest = %d, %v; want 21", n, err)
		}
		n, err = s.Ingest(ctx, batch)
		if err != nil || n != 0 {
			t.Fatalf("replayed Ingest = %d, %v; want 0", n, err)
		}
		// A partial replay mixed with new records stores only the new ones.
		n, err = s.Ingest(ctx, append(batch[15:], IngestItem{GatewayID: "gw-a", Event: event(22, "smoking", t0)}))
		if err != nil || n != 1 {
			t.Fatalf("mixed Ingest = %d, %v; want 1", n, err)
		}
		if c, err := s.CountEvents(ctx, "gw-a"); err != nil || c != 21 {
			t.Fatalf("CountEvents = %d, %v; want 21", c, err)
		}
		seqs, err := s.EventSeqs(ctx, "gw-a")
		want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22}
		if err != nil || !slices.Equal(seqs, want) {
			t.Fatalf("EventSeqs = %v, %v", seqs, err)
		}
		if ivs, _ := s.CameraIntervals(ctx, "gw-a", "cam1"); len(ivs) != 1 {
			t.Fatalf("replayed status made %d intervals", len(ivs))
		}
		// Snapshots: stored with their events, served by violation id.
		vs, err := s.Violations(ctx, ViolationFilter{GatewayID: "gw-a", Limit: 100})
		if err != nil || len(vs) != 21 {
			t.Fatalf("Violations = %d, %v", len(vs), err)
		}
		for _, v := range vs {
			jpeg, err := s.Snapshot(ctx, v.ID)
			if want, ok := jpegs[v.EventID]; ok {
				if err != nil || string(jpeg) != string(want) || !v.HasSnapshot || v.Snapshot == nil || v.Snapshot.Bytes != len(want) {
					t.Fatalf("snapshot of %s: %q, %v, %+v", v.EventID, jpeg, err, v)
				}
			} else if !errors.Is(err, ErrNotFound) || v.HasSnapshot {
				t.Fatalf("snapshot of %s without one: %v", v.EventID, err)
			}
		}
		if _, err := s.Snapshot(ctx, 999999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Snapshot(999999): %v", err)
		}
	})
}

func TestIngestRefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		good, jpeg := withSnapshot(event(1, "no_mask", t0), []byte("jpeg"))
		bad, _ := withSnapshot(event(2, "no_mask", t0), []byte("other"))
		_, err := s.Ingest(ctx, []IngestItem{
			{GatewayID: "gw-a", Event: good, Snapshot: jpeg},
			{GatewayID: "gw-a", Event: bad, Snapshot: []byte("tampered")},
		})
		var ie *ItemError
		if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, ErrSnapshotMismatch) {
			t.Fatalf("Ingest with a bad snapshot: %v", err)
		}
		// A snapshot without a reference.
		_, err = s.Ingest(ctx, []IngestItem{{GatewayID: "gw-a", Event: event(3, "no_mask", t0), Snapshot: []byte("x")}})
		if !errors.Is(err, ErrSnapshotMismatch) {
			t.Fatalf("snapshot without reference: %v", err)
		}
		// An unknown gateway refuses the batch.
		_, err = s.Ingest(ctx, []IngestItem{
			{GatewayID: "gw-a", Event: event(4, "no_mask", t0)},
			{GatewayID: "gw-x", Event: event(5, "no_mask", t0)},
		})
		if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown gateway: %v", err)
		}
		if n, _ := s.CountEvents(ctx, ""); n != 0 {
			t.Fatalf("%d events stored by refused batches", n)
		}
		// An event announcing a snapshot may come without it.
		if n, err := s.Ingest(ctx, []IngestItem{{GatewayID: "gw-a", Event: good}}); err != nil || n != 1 {
			t.Fatalf("event without its snapshot: %d, %v", n, err)
		}
		// ...and its replay with the snapshot fills it in.
		if n, err := s.Ingest(ctx, []IngestItem{{GatewayID: "gw-a", Event: good, Snapshot: jpeg}}); err != nil || n != 0 {
			t.Fatalf("replay with snapshot: %d, %v", n, err)
		}
		vs, _ := s.Violations(ctx, ViolationFilter{})
		if b, err := s.Snapshot(ctx, vs[0].ID); err != nil || string(b) != "jpeg" {
			t.Fatalf("snapshot after replay: %q %v", b, err)
		}
	})
}

func TestViolationsFilter(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		addGateway(t, s, "gw-b", "c2")
		ended := t0.Add(time.Hour)
		var batch []IngestItem
		// gw-a: seq 1..6 at t0+0h..5h, alternating no_mask / smoking.
		for i := uint64(1); i <= 6; i++ {
			typ := "no_mask"
			if i%2 == 0 {
				typ = "smoking"
			}
			ev := event(i, typ, t0.Add(time.Duration(i-1)*time.Hour))
			if i == 1 {
				ev.EndedAt, ev.Phase, ev.Attrs, ev.Historical = &ended, wire.PhaseEnd, map[string]string{"k": "v"}, true
			}
			batch = append(batch, IngestItem{GatewayID: "gw-a", Event: ev})
		}
		// gw-b: seq 1..3, rodent.
		for i := uint64(1); i <= 3; i++ {
			batch = append(batch, IngestItem{GatewayID: "gw-b", Event: event(i, "rodent", t0.Add(time.Duration(i)*time.Minute))})
		}
		if _, err := s.Ingest(ctx, batch); err != nil {
			t.Fatal(err)
		}
		all, err := s.Violations(ctx, ViolationFilter{})
		if err != nil || len(all) != 9 {
			t.Fatalf("all: %d, %v", len(all), err)
		}
		if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].ID > all[j].ID }) {
			t.Fatal("not newest first")
		}
		first, err := s.Violation(ctx, all[len(all)-1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if first.GatewayID != "gw-a" || first.CanteenID != "c1" || first.Seq != 1 || !first.EndedAt.Equal(ended) || first.Phase != "end" ||
			first.Attrs["k"] != "v" || !first.Historical || len(first.Boxes) != 1 || first.Boxes[0].Label != "head" ||
			first.Status != StatusNew || !first.StartedAt.Equal(t0) || first.ReceivedAt.IsZero() {
			t.Fatalf("violation round trip: %+v", first)
		}
		if _, err := s.Violation(ctx, 424242); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Violation(424242): %v", err)
		}
		seqs := func(vs []Violation) []string {
			var out []string
			for _, v := range vs {
				out = append(out, fmt.Sprintf("%s/%d", v.GatewayID, v.Seq))
			}
			return out
		}
		cases := []struct {
			name string
			f    ViolationFilter
			want []string
		}{
			{"canteen", ViolationFilter{CanteenID: "c2"}, []string{"gw-b/3", "gw-b/2", "gw-b/1"}},
			{"gateway+type", ViolationFilter{GatewayID: "gw-a", Type: "smoking"}, []string{"gw-a/6", "gw-a/4", "gw-a/2"}},
			{"since/until", ViolationFilter{GatewayID: "gw-a", Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}, []string{"gw-a/3", "gw-a/2"}},
			{"since", ViolationFilter{Since: t0.Add(5 * time.Hour)}, []string{"gw-a/6"}},
			{"limit", ViolationFilter{Limit: 2}, []string{"gw-b/3", "gw-b/2"}},
			{"after", ViolationFilter{AfterID: all[2].ID, Limit: 10}, []string{"gw-b/2", "gw-b/3"}},
			{"before", ViolationFilter{BeforeID: all[6].ID}, []string{"gw-a/2", "gw-a/1"}},
			{"status", ViolationFilter{Status: "confirmed"}, nil},
			{"no match", ViolationFilter{CanteenID: "c9"}, nil},
		}
		for _, c := range cases {
			got, err := s.Violations(ctx, c.f)
			if err != nil || !slices.Equal(seqs(got), c.want) {
				t.Errorf("%s: got %v, %v; want %v", c.name, seqs(got), err, c.want)
			}
		}
		if err := s.SetViolationStatus(ctx, first.ID, "confirmed"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Violations(ctx, ViolationFilter{Status: "confirmed"}); len(got) != 1 || got[0].ID != first.ID {
			t.Fatalf("status filter after review: %v", seqs(got))
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
func ingestStatuses(t *testing.T, s *Store, gw, cam string, seqBase uint64, batches [][]status) {
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
		if err := s.GatewayState(ctx, "gw-x", wire.State{V: 1, Online: true, Session: 1}, t0); !errors.Is(err, ErrNotFound) {
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
		if err := s.Heartbeat(ctx, "gw-x", hb, t0); !errors.Is(err, ErrNotFound) {
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
		if err := s.RecordCmd(ctx, "gw-a", c); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate cmd: %v", err)
		}
		if err := s.RecordCmd(ctx, "gw-x", wire.Cmd{CmdID: "cmd-2", Name: "ping"}); !errors.Is(err, ErrNotFound) {
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
		if err := s.UpdateCmd(ctx, "gw-b", "cmd-1", wire.CmdFailed, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ack from another gateway: %v", err)
		}
		if err := s.UpdateCmd(ctx, "gw-a", "nope", wire.CmdOK, ""); !errors.Is(err, ErrNotFound) {
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
		if _, err := s.NextConfigVersion(ctx, "gw-x", json.RawMessage(`{}`)); !errors.Is(err, ErrNotFound) {
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

func TestConcurrentIngest(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		addGateway(t, s, "gw-b", "c1")
		const workers, perWorker = 6, 200
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				gw := []string{"gw-a", "gw-b"}[w%2]
				// Workers of the same gateway overlap: seqs 1..perWorker+50*w.
				for start := 1; start <= perWorker; start += 50 {
					var items []IngestItem
					for i := start; i < start+50; i++ {
						seq := uint64(i + 25*(w/2))
						items = append(items, IngestItem{GatewayID: gw, Event: event(seq, "no_mask", t0)})
					}
					n, err := s.Ingest(ctx, items)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}
				// Readers run beside the writers.
				if _, err := s.Violations(ctx, ViolationFilter{GatewayID: gw, Limit: 10}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Per gateway, workers cover seqs 1..200, 26..225, 51..250: 250 distinct.
		for _, gw := range []string{"gw-a", "gw-b"} {
			if n, err := s.CountEvents(ctx, gw); err != nil || n != 250 {
				t.Fatalf("%s: %d events, %v; want 250", gw, n, err)
			}
		}
		if total != 500 {
			t.Fatalf("Ingest reported %d inserted, want 500", total)
		}
	})
}

func BenchmarkIngest(b *testing.B) {
	for _, be := range backends {
		for _, size := range []int{1, 100, 500} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, size), func(b *testing.B) {
				s := open(b, be.fresh(b))
				addGateway(b, s, "gw-a", "c1")
				attrs := map[string]string{"pad": strings.Repeat("x", 700)} // ~1 KB events
				seq := uint64(0)
				items := make([]IngestItem, size)
				b.ResetTimer()
				for b.Loop() {
					for i := range items {
						seq++
						ev := event(seq, "no_mask", t0.Add(time.Duration(seq)*time.Millisecond))
						ev.Attrs = attrs
						items[i] = IngestItem{GatewayID: "gw-a", Event: ev}
					}
					if n, err := s.Ingest(ctx, items); err != nil || n != size {
						b.Fatalf("Ingest = %d, %v", n, err)
					}
				}
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/batch")
			})
		}
	}
}
