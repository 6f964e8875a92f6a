package store

import (
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// TestSpoolEpochs: a gateway whose spool is replaced starts its sessions and
// seqs at 1 again under a new epoch. The registry takes it online again, its
// camera statuses are stored although their seqs were used before, and a
// late Will of the old spool does not take it offline.
func TestSpoolEpochs(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		addGateway(t, s, "gw-a", "c1")
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		state := func(epoch string, session uint64, online bool, minute int) {
			t.Helper()
			if err := s.GatewayState(ctx, "gw-a", wire.State{V: 1, Online: online, Session: session, Epoch: epoch}, at(minute)); err != nil {
				t.Fatal(err)
			}
		}
		online := func(want bool, step string) {
			t.Helper()
			g, err := s.Gateway(ctx, "gw-a")
			if err != nil {
				t.Fatal(err)
			}
			if g.Online != want {
				t.Fatalf("%s: online = %v, want %v", step, g.Online, want)
			}
		}
		statuses := func(epoch string, minute int) int {
			t.Helper()
			var items []IngestItem
			for seq := uint64(1); seq <= 3; seq++ {
				items = append(items, IngestItem{GatewayID: "gw-a", Status: &wire.CameraStatus{V: 1, Seq: seq, CameraID: "cam1",
					At: at(minute + int(seq)), Online: seq%2 == 1, Picture: wire.PictureOK, Epoch: epoch}})
			}
			n, err := s.Ingest(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		state("AAAA", 7, true, 0)
		if n := statuses("AAAA", 0); n != 3 {
			t.Fatalf("first spool: %d statuses stored, want 3", n)
		}
		state("AAAA", 7, false, 10)
		online(false, "old spool offline")

		// New SD card: session 1 and seqs 1.. again, under a new epoch.
		state("BBBB", 1, true, 20)
		online(true, "new spool online")
		if n := statuses("BBBB", 20); n != 3 {
			t.Fatalf("new spool: %d of 3 statuses stored (taken for replays)", n)
		}
		if n := statuses("BBBB", 20); n != 0 {
			t.Fatalf("replay of the new spool's statuses stored %d again", n)
		}
		// The old spool's Will, delivered late, is stale.
		state("AAAA", 7, false, 21)
		online(true, "after the old spool's late Will")
		ivs, err := s.CameraIntervals(ctx, "gw-a", "cam1")
		if err != nil || len(ivs) != 6 {
			t.Fatalf("intervals %d (%v), want 6", len(ivs), err)
		}
		// Sessions stay ordered: the new spool's session 1 is the newest.
		sess, err := s.Sessions(ctx, "gw-a")
		if err != nil || len(sess) != 2 || sess[0].Disconnected.IsZero() || !sess[1].Disconnected.IsZero() {
			t.Fatalf("sessions %+v (%v)", sess, err)
		}
		// The old SD card put back: its epoch is current again and online.
		state("BBBB", 1, false, 30)
		state("AAAA", 8, true, 40)
		online(true, "old card back")
	})
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
		item := func(gw string, seq uint64) IngestItem {
			j := append([]byte(nil), jpeg...)
			j[0] = byte(seq)
			ev, j := withSnapshot(event(seq, "camera_occluded", t0), j)
			return IngestItem{GatewayID: gw, Event: ev, Snapshot: j, SnapshotQuota: 2500}
		}
		items := []IngestItem{item("gw-a", 1), item("gw-a", 2), item("gw-a", 3), item("gw-b", 1)}
		if _, err := s.Ingest(ctx, items); err != nil {
			t.Fatal(err)
		}
		if items[0].OverQuota || items[1].OverQuota || !items[2].OverQuota || items[3].OverQuota {
			t.Fatalf("over quota: %v %v %v %v, want only the third", items[0].OverQuota, items[1].OverQuota, items[2].OverQuota, items[3].OverQuota)
		}
		replay := []IngestItem{item("gw-a", 1)}
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
