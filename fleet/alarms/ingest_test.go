package alarms

// The registry's ingest as the alarms read it: these tests store events
// through registry.Ingest and check them through Violations and Snapshot
// (the registry cannot import the alarms).

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func TestIngestIdempotent(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		var batch []registry.IngestItem
		jpegs := map[string][]byte{}
		for i := uint64(1); i <= 20; i++ {
			ev := event(i, "no_mask", t0.Add(time.Duration(i)*time.Second))
			var jpeg []byte
			if i%3 == 0 {
				ev, jpeg = withSnapshot(ev, []byte(fmt.Sprintf("\xff\xd8jpeg %d", i)))
				jpegs[ev.EventID] = jpeg
			}
			batch = append(batch, registry.IngestItem{GatewayID: "gw-a", Event: ev, Snapshot: jpeg})
		}
		batch = append(batch, registry.IngestItem{GatewayID: "gw-a", Status: &wire.CameraStatus{V: 1, Seq: 21, CameraID: "cam1", At: t0, Online: true, Picture: "ok"}})
		batch = append(batch, registry.IngestItem{GatewayID: "gw-a"}) // empty: skipped

		n, err := s.Ingest(ctx, batch)
		if err != nil || n != 21 {
			t.Fatalf("first Ingest = %d, %v; want 21", n, err)
		}
		n, err = s.Ingest(ctx, batch)
		if err != nil || n != 0 {
			t.Fatalf("replayed Ingest = %d, %v; want 0", n, err)
		}
		// A partial replay mixed with new records stores only the new ones.
		n, err = s.Ingest(ctx, append(batch[15:], registry.IngestItem{GatewayID: "gw-a", Event: event(22, "smoking", t0)}))
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
			} else if !errors.Is(err, store.ErrNotFound) || v.HasSnapshot {
				t.Fatalf("snapshot of %s without one: %v", v.EventID, err)
			}
		}
		if _, err := s.Snapshot(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
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
		_, err := s.Ingest(ctx, []registry.IngestItem{
			{GatewayID: "gw-a", Event: good, Snapshot: jpeg},
			{GatewayID: "gw-a", Event: bad, Snapshot: []byte("tampered")},
		})
		var ie *store.ItemError
		if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, store.ErrSnapshotMismatch) {
			t.Fatalf("Ingest with a bad snapshot: %v", err)
		}
		// A snapshot without a reference.
		_, err = s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-a", Event: event(3, "no_mask", t0), Snapshot: []byte("x")}})
		if !errors.Is(err, store.ErrSnapshotMismatch) {
			t.Fatalf("snapshot without reference: %v", err)
		}
		// An unknown gateway refuses the batch.
		_, err = s.Ingest(ctx, []registry.IngestItem{
			{GatewayID: "gw-a", Event: event(4, "no_mask", t0)},
			{GatewayID: "gw-x", Event: event(5, "no_mask", t0)},
		})
		if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown gateway: %v", err)
		}
		if n, _ := s.CountEvents(ctx, ""); n != 0 {
			t.Fatalf("%d events stored by refused batches", n)
		}
		// An event announcing a snapshot may come without it.
		if n, err := s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-a", Event: good}}); err != nil || n != 1 {
			t.Fatalf("event without its snapshot: %d, %v", n, err)
		}
		// ...and its replay with the snapshot fills it in.
		if n, err := s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-a", Event: good, Snapshot: jpeg}}); err != nil || n != 0 {
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
		var batch []registry.IngestItem
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
			batch = append(batch, registry.IngestItem{GatewayID: "gw-a", Event: ev})
		}
		// gw-b: seq 1..3, rodent.
		for i := uint64(1); i <= 3; i++ {
			batch = append(batch, registry.IngestItem{GatewayID: "gw-b", Event: event(i, "rodent", t0.Add(time.Duration(i)*time.Minute))})
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
		if _, err := s.Violation(ctx, 424242); !errors.Is(err, store.ErrNotFound) {
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
					var items []registry.IngestItem
					for i := start; i < start+50; i++ {
						seq := uint64(i + 25*(w/2))
						items = append(items, registry.IngestItem{GatewayID: gw, Event: event(seq, "no_mask", t0)})
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
	for _, be := range storetest.Backends() {
		for _, size := range []int{1, 100, 500} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.Name, size), func(b *testing.B) {
				s := open(b, be.Fresh(b))
				addGateway(b, s, "gw-a", "c1")
				attrs := map[string]string{"pad": strings.Repeat("x", 700)} // ~1 KB events
				seq := uint64(0)
				items := make([]registry.IngestItem, size)
				b.ResetTimer()
				for b.Loop() {
					for i := range items {
						seq++
						ev := event(seq, "no_mask", t0.Add(time.Duration(seq)*time.Millisecond))
						ev.Attrs = attrs
						items[i] = registry.IngestItem{GatewayID: "gw-a", Event: ev}
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

// TestSnapshotQuota: over a gateway's daily snapshot quota, an event is
// stored without its snapshot, marked snapshot_dropped, and OverQuota is
// set; another gateway's snapshots are not affected, and a replay of a
// stored snapshot is not counted again.
func TestSnapshotQuota(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		addGateway(t, s, "gw-b", "c1")
		jpeg := make([]byte, 1000)
		item := func(gw string, seq uint64) registry.IngestItem {
			j := append([]byte(nil), jpeg...)
			j[0] = byte(seq)
			ev, j := withSnapshot(event(seq, "camera_occluded", t0), j)
			return registry.IngestItem{GatewayID: gw, Event: ev, Snapshot: j, SnapshotQuota: 2500}
		}
		items := []registry.IngestItem{item("gw-a", 1), item("gw-a", 2), item("gw-a", 3), item("gw-b", 1)}
		if _, err := s.Ingest(ctx, items); err != nil {
			t.Fatal(err)
		}
		if items[0].OverQuota || items[1].OverQuota || !items[2].OverQuota || items[3].OverQuota {
			t.Fatalf("over quota: %v %v %v %v, want only the third", items[0].OverQuota, items[1].OverQuota, items[2].OverQuota, items[3].OverQuota)
		}
		replay := []registry.IngestItem{item("gw-a", 1)}
		if _, err := s.Ingest(ctx, replay); err != nil || replay[0].OverQuota {
			t.Fatalf("replay: over quota %v, %v", replay[0].OverQuota, err)
		}
		vs, err := s.Violations(ctx, ViolationFilter{GatewayID: "gw-a"})
		if err != nil || len(vs) != 3 {
			t.Fatalf("%d violations, %v", len(vs), err)
		}
		for _, v := range vs {
			over := v.EventID == "EV00000003"
			if v.HasSnapshot == over || v.SnapshotDropped != over {
				t.Errorf("%s: has snapshot %v, dropped %v", v.EventID, v.HasSnapshot, v.SnapshotDropped)
			}
		}
	})
}
