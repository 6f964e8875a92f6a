package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/retention"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// TestRetentionExpiredSnapshot: a snapshot retention deleted answers 410
// expired, and the violation says so; a kept one is served.
func TestRetentionExpiredSnapshot(t *testing.T) {
	ctx := context.Background()
	st := dbtest.Fresh(t)
	if _, _, err := st.AddGateway(ctx, "gw-1", "canteen-1"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, at := range []time.Time{now.AddDate(0, 0, -60), now.AddDate(0, 0, -1)} {
		jpeg := []byte("jpeg " + at.String())
		sum := sha256.Sum256(jpeg)
		ev := &wire.Event{V: 1, EventID: "EV" + string(rune('A'+i)), Seq: uint64(i + 1), CameraID: "cam1", Type: "no_mask",
			Score: 0.9, StartedAt: at, Snapshot: &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(jpeg)}}
		if _, err := st.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-1", Event: ev, Snapshot: jpeg}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Review(ctx, int64(i+1), "admin", coverage.VerdictDismissed, "", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.Retain(ctx, retention.Default(), now); err != nil || n[retention.RetainedSnapshots] != 1 {
		t.Fatalf("Retain: %v, %v", n, err)
	}
	srv := httptest.NewServer((&Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "secret"}).Handler())
	defer srv.Close()
	for _, c := range []struct {
		path     string
		status   int
		contains string
	}{
		{"/api/v1/violations/1/snapshot", 410, `"code":"expired"`},
		{"/api/v1/violations/1", 200, `"snapshot_expired":true`},
		{"/api/v1/violations/2/snapshot", 200, "jpeg "},
	} {
		status, body := do(t, "GET", srv.URL+c.path, "secret", "")
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d %.200s; want %d containing %q", c.path, status, body, c.status, c.contains)
		}
	}
}
