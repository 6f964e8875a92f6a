package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// cameraIntervals counts a camera's health intervals in the fleet's
// database (one per camera status stored).
func (f *fleet) cameraIntervals(t *testing.T, gw, cam string) int {
	t.Helper()
	st, err := dbtest.Open(context.Background(), filepath.Join(f.data, "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ivs, err := st.CameraIntervals(context.Background(), gw, cam)
	if err != nil {
		t.Fatal(err)
	}
	return len(ivs)
}

// A gateway whose spool is replaced (new SD card, deleted file) starts its
// sessions and seqs at 1 again. The fleet takes it online again, stores
// its camera statuses although their seqs were used before, and stores
// all of 1,000 events that follow.
func TestSpoolResetNewEpoch(t *testing.T) {
	parallelScenario(t)
	const events = 1000
	cam := startCamsim(t, camsim.Camera{Path: "cam-1", Scene: "empty"})
	f := newFleet(t, "")
	f.start()
	user, pass := f.addGateway("gw-sd", "canteen-1")
	spool := filepath.Join(t.TempDir(), "spool.db")
	conf := gatewayConfig{ID: "gw-sd", Broker: "tcp://" + f.mqtt, User: user, Pass: pass, Spool: spool,
		HTTP: freePort(t), Cameras: map[string]string{"cam-1": cam.URL("cam-1")}}
	online := func() bool {
		gws := f.gateways()
		return len(gws) == 1 && gws[0].Online
	}
	// The first spool: two runs, so its session counter is past 1.
	var before int
	for run := range 2 {
		gw := startProc(t, "gateway-old", nil, "bk-gateway", "run", "--config", writeGatewayConfig(t, conf))
		wait.For(t, 20*time.Second, "gateway online", online)
		wait.For(t, 20*time.Second, "camera status stored", func() bool {
			before = f.cameraIntervals(t, "gw-sd", "cam-1")
			return before > run
		})
		if err := gw.stop(); err != nil {
			t.Fatal(err)
		}
		wait.For(t, 20*time.Second, "gateway offline", func() bool { return !online() })
	}

	// New SD card: the spool is gone.
	if err := os.Remove(spool); err != nil {
		t.Fatal(err)
	}
	gw := startProc(t, "gateway-new", nil, "bk-gateway", "run", "--config", writeGatewayConfig(t, conf))
	wait.For(t, 20*time.Second, "gateway online again with a new spool", online)
	wait.For(t, 20*time.Second, "the new spool's camera status stored", func() bool {
		return f.cameraIntervals(t, "gw-sd", "cam-1") > before
	})
	if err := gw.stop(); err != nil {
		t.Fatal(err)
	}
	conf.SyntheticTotal, conf.SyntheticRate = events, 1000
	startProc(t, "gateway-new-2", nil, "bk-gateway", "run", "--config", writeGatewayConfig(t, conf))
	wait.For(t, 60*time.Second, "1,000 events of the new spool stored", func() bool {
		vs, err := f.violations("gateway_id=gw-sd&type=synthetic&limit=10000")
		return err == nil && len(vs) == events
	})
	wait.For(t, 10*time.Second, "gateway online", online)
}

// A desired config pushed while the gateway is offline survives a fleet
// restart (the embedded broker's retained message does not): the fleet
// sends it again when the gateway connects, and the gateway applies it.
func TestDesiredConfigSurvivesFleetRestart(t *testing.T) {
	parallelScenario(t)
	f := newFleet(t, "")
	f.start()
	user, pass := f.addGateway("gw-cfg", "canteen-1")
	var ver struct{ Version int64 }
	if code, err := f.send("PUT", "/api/v1/gateways/gw-cfg/config", `{"log":{"level":"info"}}`, &ver); err != nil || code != 202 {
		t.Fatalf("put config: %d %v", code, err)
	}
	f.p.kill()
	f.start()

	cfg := writeGatewayConfig(t, gatewayConfig{ID: "gw-cfg", Broker: "tcp://" + f.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: freePort(t)})
	startProc(t, "gateway", nil, "bk-gateway", "run", "--config", cfg)
	wait.For(t, 20*time.Second, "config reported applied", func() bool {
		var out struct {
			Gateways []struct {
				ConfigReportedVersion int64 `json:"config_reported_version"`
				ConfigApplied         *bool `json:"config_applied"`
			} `json:"gateways"`
		}
		_ = f.get("/api/v1/gateways", &out)
		return len(out.Gateways) == 1 && out.Gateways[0].ConfigReportedVersion == ver.Version &&
			out.Gateways[0].ConfigApplied != nil && *out.Gateways[0].ConfigApplied
	})
}
