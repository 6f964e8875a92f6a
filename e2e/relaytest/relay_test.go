package relaytest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
	"go.uber.org/goleak"

	fleetlive "github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/live"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger() *slog.Logger {
	if os.Getenv("BK_LIVE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// TestPublishIntoRelay: a browser-like WHEP viewer asks the fleet relay for
// a camera; the relay "sends live.start" (here: calls the gateway's
// Manager), the gateway publishes the camera over WHIP, and the viewer gets
// a keyframe with its parameter sets, soon, although the camera's GOP is
// 4 s, thanks to the GOP caches.
func TestPublishIntoRelay(t *testing.T) {
	sim := &camsim.Server{Listen: "127.0.0.1:0", GOP: 4, NoScenes: true, Logger: testLogger(),
		Cameras: []camsim.Camera{{Path: "cam", Scene: "kitchen"}}}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	src := &camera.Source{ID: "cam", URL: sim.URL("cam"), Transport: "tcp", Logger: testLogger()}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	// the gateway
	mgr := &live.Manager{Loopback: true, Logger: testLogger(), Fleet: live.Origin{Scheme: "http", Host: "127.0.0.1"}}
	defer mgr.Close()

	// the fleet: commands to the gateway are asynchronous, as over MQTT
	var (
		srvURL string
		cmds   sync.WaitGroup
		mu     sync.Mutex
		starts []fleetlive.Ticket
	)
	defer cmds.Wait()
	relay, err := fleetlive.New(fleetlive.Config{
		UDPListen: "127.0.0.1:0", Loopback: true, Linger: 300 * time.Millisecond, StartTimeout: 8 * time.Second,
		Logger: testLogger(),
		Start: func(_ context.Context, cameraID string, tk fleetlive.Ticket) error {
			mu.Lock()
			starts = append(starts, tk)
			mu.Unlock()
			cmds.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				err := mgr.Start(ctx, src, live.StartArgs{CameraID: cameraID, Session: tk.Session, Token: tk.Token,
					WHIPURL: srvURL + "/whip/" + cameraID})
				if err != nil {
					t.Errorf("gateway live.start: %v", err)
				}
			})
			return nil
		},
		Stop: func(_ context.Context, cameraID, session string) error {
			cmds.Go(func() { mgr.Stop(cameraID, session) })
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/whep/{camera}", func(w http.ResponseWriter, r *http.Request) {
		relay.WHEP(w, r, r.PathValue("camera"), fleetlive.Viewer{Principal: "parent-1", Role: "parent"})
	})
	mux.HandleFunc("/whep/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
		relay.WHEPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
	})
	mux.HandleFunc("/whip/{camera}", func(w http.ResponseWriter, r *http.Request) {
		relay.WHIP(w, r, r.PathValue("camera"))
	})
	mux.HandleFunc("/whip/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
		relay.WHIPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
	})
	srv := httptest.NewServer(mux)
	srvURL = srv.URL
	defer srv.Close()
	defer relay.Close()

	// the camera's GOP cache is what makes the first picture quick
	wait.For(t, 10*time.Second, "the camera's GOP cache", func() bool { return len(src.GOP()) > 0 })

	firstKey := make(chan []byte, 1)
	v := &rtctest.Viewer{OnRTP: firstKeyframe(firstKey)}
	defer v.Close()
	if _, err := v.Watch(srv.URL + "/whep/cam"); err != nil {
		t.Fatal(err)
	}
	posted := v.Posted
	t.Logf("WHEP answered after %v", time.Since(posted).Round(time.Millisecond))

	var first []byte
	select {
	case first = <-firstKey:
	case <-time.After(8 * time.Second):
		t.Fatal("the viewer got no keyframe within 8 s")
	}
	ttff := time.Since(posted)
	t.Logf("viewer's first keyframe %v after the WHEP POST (camera GOP 4 s)", ttff.Round(time.Millisecond))
	if ttff > 2500*time.Millisecond {
		t.Errorf("time to first frame %v, want < 2.5 s with a 4 s GOP", ttff)
	}
	if !strings.Contains(string(first), "SPS") || !strings.Contains(string(first), "PPS") || !strings.Contains(string(first), "IDR") {
		t.Errorf("first keyframe holds %s, want SPS, PPS and IDR", first)
	}
	if got := mgr.Active(); len(got) != 1 || got[0] != "cam" {
		t.Errorf("gateway Active = %v", got)
	}

	// the viewer leaves; after Linger the relay stops the gateway's session
	if code, err := v.Delete(); err != nil || code != http.StatusOK {
		t.Fatalf("WHEP DELETE: %d, %v", code, err)
	}
	http.DefaultClient.CloseIdleConnections()
	wait.For(t, 5*time.Second, "the gateway to stop publishing after the last viewer left",
		func() bool { return len(mgr.Active()) == 0 })
	mu.Lock()
	n := len(starts)
	mu.Unlock()
	if n != 1 {
		t.Errorf("relay sent %d live.start, want 1", n)
	}
}

// firstKeyframe is a viewer's OnRTP that reassembles H.264 and sends on
// ch the NAL unit types of the first keyframe, once.
func firstKeyframe(ch chan<- []byte) func(*rtp.Packet, time.Time) {
	dec := &rtph264.Decoder{PacketizationMode: 1}
	_ = dec.Init()
	sent := false
	return func(p *rtp.Packet, _ time.Time) {
		if sent {
			return
		}
		nalus, err := dec.Decode(p)
		if err != nil {
			return
		}
		var names []string
		key := false
		for _, n := range nalus {
			switch n[0] & 0x1f {
			case 7:
				names = append(names, "SPS")
			case 8:
				names = append(names, "PPS")
			case 5:
				names = append(names, "IDR")
				key = true
			default:
				names = append(names, fmt.Sprint(n[0]&0x1f))
			}
		}
		if key {
			sent = true
			ch <- []byte(strings.Join(names, ","))
		}
	}
}
