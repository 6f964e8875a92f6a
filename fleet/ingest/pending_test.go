package ingest

import (
	"fmt"
	"testing"
	"time"
)

// A gateway's pending snapshots are bounded in count and bytes, and going
// over evicts that gateway's oldest, never another's.
func TestPendingPerGateway(t *testing.T) {
	pend := map[string]*pending{}
	now := time.Now()
	pendingOf(pend, "good").addSnap("ev-good", []byte("jpeg"), now, 4, 100)
	bad := pendingOf(pend, "bad")
	evicted := 0
	for i := range 1000 {
		evicted += bad.addSnap(fmt.Sprintf("ev-%d", i), make([]byte, 10), now, 4, 100)
	}
	if len(bad.snaps) != 4 || bad.snapBytes != 40 || evicted != 996 {
		t.Fatalf("bad gateway keeps %d snapshots, %d bytes, evicted %d", len(bad.snaps), bad.snapBytes, evicted)
	}
	if _, ok := bad.snaps["ev-999"]; !ok {
		t.Fatal("the newest snapshot was evicted")
	}
	if _, ok := pendingOf(pend, "good").takeSnap("ev-good"); !ok {
		t.Fatal("another gateway's snapshot was lost")
	}
	// By bytes: one large snapshot pushes out the older ones.
	bad.addSnap("big", make([]byte, 95), now, 4, 100)
	if len(bad.snaps) != 1 || bad.snapBytes != 95 {
		t.Fatalf("after a large one: %d snapshots, %d bytes", len(bad.snaps), bad.snapBytes)
	}
	bad.expire(now.Add(time.Second))
	if !bad.empty() || bad.snapBytes != 0 {
		t.Fatalf("expired snapshots kept: %d", len(bad.snaps))
	}
}
