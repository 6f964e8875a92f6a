package registry

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
