package e2e

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func startCamsim(t testing.TB, cams ...camsim.Camera) *camsim.Server {
	t.Helper()
	s := &camsim.Server{Listen: "127.0.0.1:0", GOP: 1, Cameras: cams, NoScenes: true,
		Logger: slog.New(slog.DiscardHandler)}
	if err := s.Start(); err != nil {
		t.Fatalf("camsim: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// spine starts camsim with two cameras, a fleet and one gateway.
type spine struct {
	cam    *camsim.Server
	fleet  *fleet
	gw     *proc
	gwHTTP string
}

func startSpine(t *testing.T, grace time.Duration) *spine {
	s := &spine{cam: startCamsim(t,
		camsim.Camera{Path: "cam-hot", Scene: "kitchen"},
		camsim.Camera{Path: "cam-wash", Scene: "empty"})}
	s.fleet = newFleet(t, "")
	s.fleet.start()
	user, pass := s.fleet.addGateway("gw-1", "canteen-1")
	s.gwHTTP = freePort(t)
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-1", Broker: "tcp://" + s.fleet.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: s.gwHTTP, Grace: grace,
		Cameras: map[string]string{"cam-hot": s.cam.URL("cam-hot"), "cam-wash": s.cam.URL("cam-wash")},
	})
	s.gw = startProc(t, "gateway", nil, "bk-gateway", "run", "--config", cfg)
	return s
}

// camerasOnline reports whether the fleet shows gw-1 online with the given
// cameras' online state.
func (s *spine) fleetSees(online map[string]bool) bool {
	for _, g := range s.fleet.gateways() {
		if g.ID != "gw-1" || !g.Online {
			continue
		}
		seen := 0
		for _, c := range g.Cameras {
			if want, ok := online[c.CameraID]; ok {
				if c.Online != want {
					return false
				}
				seen++
			}
		}
		return seen == len(online)
	}
	return false
}

func TestEndToEndOnline(t *testing.T) {
	parallelScenario(t)
	start := time.Now()
	s := startSpine(t, 2*time.Second)
	took := wait.For(t, 10*time.Second, "gateway and both cameras online at the fleet", func() bool {
		return s.fleetSees(map[string]bool{"cam-hot": true, "cam-wash": true})
	})
	t.Logf("gateway and cameras online at the fleet %s after the fleet was up (%s after test start)", took, time.Since(start))
	for _, g := range s.fleet.gateways() {
		for _, c := range g.Cameras {
			if c.Area != "area-"+c.CameraID {
				t.Errorf("camera %s area %q, want %q", c.CameraID, c.Area, "area-"+c.CameraID)
			}
		}
	}
	// The heartbeat carries the board's health.
	wait.For(t, 5*time.Second, "a heartbeat with system health", func() bool {
		var out struct {
			Gateways []struct {
				LastHeartbeat struct {
					System struct {
						MemTotal uint64 `json:"mem_total_bytes"`
						DiskFree uint64 `json:"disk_free_bytes"`
						UptimeS  int64  `json:"uptime_s"`
					} `json:"system"`
					Cameras []struct{ FPS float64 } `json:"cameras"`
				} `json:"last_heartbeat"`
			} `json:"gateways"`
		}
		if s.fleet.get("/api/v1/gateways", &out) != nil || len(out.Gateways) != 1 {
			return false
		}
		hb := out.Gateways[0].LastHeartbeat
		return hb.System.MemTotal > 0 && hb.System.DiskFree > 0 && len(hb.Cameras) == 2 && hb.Cameras[0].FPS > 0
	})
	if err := s.gw.stop(); err != nil {
		t.Errorf("gateway clean stop: %v", err)
	}
	wait.For(t, 10*time.Second, "gateway and its cameras offline at the fleet after a clean stop", func() bool {
		for _, g := range s.fleet.gateways() {
			if g.ID == "gw-1" {
				return !g.Online && len(g.Cameras) == 2 && !g.Cameras[0].Online && !g.Cameras[1].Online
			}
		}
		return false
	})
}

func TestCameraOfflineAndFlaps(t *testing.T) {
	parallelScenario(t)
	const grace = 2 * time.Second
	s := startSpine(t, grace)
	wait.For(t, 10*time.Second, "cameras online", func() bool {
		return s.fleetSees(map[string]bool{"cam-hot": true, "cam-wash": true})
	})

	// A stopped path becomes a camera_offline event within grace + 5 s.
	if err := s.cam.StopPath("cam-wash"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	wait.For(t, grace+5*time.Second, "camera_offline stored", func() bool {
		vs, err := s.fleet.violations("gateway_id=gw-1&type=camera_offline")
		if err != nil {
			return false
		}
		for _, v := range vs {
			if v.CameraID == "cam-wash" && v.Phase == "start" {
				return true
			}
		}
		return false
	})
	t.Logf("camera_offline stored %s after the path stopped (grace %s)", time.Since(stopped), grace)
	if !s.fleetSees(map[string]bool{"cam-hot": true, "cam-wash": false}) {
		t.Errorf("fleet does not show cam-wash offline and cam-hot online")
	}

	// Restarted: online again within 2 s plus the current backoff (at most
	// the 30 s cap; the gateway reports its backoff on its status page).
	if err := s.cam.StartPath("cam-wash"); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	wait.For(t, 32*time.Second, "cam-wash online at the gateway", func() bool {
		st, err := getGatewayStatus(s.gwHTTP)
		return err == nil && camOnline(st, "cam-wash")
	})
	t.Logf("cam-wash online at the gateway %s after the path restarted", time.Since(restarted))
	wait.For(t, 5*time.Second, "cam-wash online at the fleet", func() bool {
		return s.fleetSees(map[string]bool{"cam-wash": true})
	})

	// 12 flaps: the gateway's goroutine count does not grow (a goroutine
	// left per flap would show as 12, over the +5 allowed).
	st, err := getGatewayStatus(s.gwHTTP)
	if err != nil {
		t.Fatal(err)
	}
	before := st.Goroutines
	for i := range 12 {
		if err := s.cam.StopPath("cam-hot"); err != nil {
			t.Fatal(err)
		}
		wait.For(t, 10*time.Second, "cam-hot offline", func() bool {
			st, err := getGatewayStatus(s.gwHTTP)
			return err == nil && !camOnline(st, "cam-hot")
		})
		if err := s.cam.StartPath("cam-hot"); err != nil {
			t.Fatal(err)
		}
		wait.For(t, 35*time.Second, "cam-hot back online", func() bool {
			st, err := getGatewayStatus(s.gwHTTP)
			return err == nil && camOnline(st, "cam-hot")
		})
		_ = i
	}
	time.Sleep(time.Second)
	st, _ = getGatewayStatus(s.gwHTTP)
	t.Logf("gateway goroutines before 12 flaps %d, after %d", before, st.Goroutines)
	if st.Goroutines > before+5 {
		t.Errorf("goroutines grew from %d to %d over 12 flaps", before, st.Goroutines)
	}
	// Both cameras' flaps reached the fleet as camera-status intervals.
	wait.For(t, 10*time.Second, "fleet shows both online after flaps", func() bool {
		return s.fleetSees(map[string]bool{"cam-hot": true, "cam-wash": true})
	})
}

func camOnline(st gatewayStatus, id string) bool {
	for _, c := range st.Cameras {
		if c.CameraID == id {
			return c.Online
		}
	}
	return false
}
