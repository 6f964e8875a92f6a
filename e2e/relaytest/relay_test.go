package relaytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	fleetlive "github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/live"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/rtc"
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
	deadline := time.Now().Add(10 * time.Second)
	for len(src.GOP()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("camera has no GOP cached after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	v := newViewer(t)
	defer v.pc.Close()
	posted := time.Now()
	loc, err := v.watch(srv.URL + "/whep/cam")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("WHEP answered after %v", time.Since(posted).Round(time.Millisecond))

	var first []byte
	select {
	case first = <-v.firstKey:
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
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+loc, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline = time.Now().Add(5 * time.Second)
	for len(mgr.Active()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("gateway still publishing %v 5 s after the last viewer left", mgr.Active())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	n := len(starts)
	mu.Unlock()
	if n != 1 {
		t.Errorf("relay sent %d live.start, want 1", n)
	}
}

// viewer is a WHEP client: a receive-only pion peer connection that reports
// the NAL unit types of the first keyframe it reassembles.
type viewer struct {
	pc       *webrtc.PeerConnection
	firstKey chan []byte
}

func newViewer(t *testing.T) *viewer {
	t.Helper()
	api, err := rtc.BrowserAPI(nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &viewer{pc: pc, firstKey: make(chan []byte, 1)}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		dec := &rtph264.Decoder{PacketizationMode: 1}
		_ = dec.Init()
		sent := false
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			nalus, err := dec.Decode(p)
			if err != nil || sent {
				continue
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
				v.firstKey <- []byte(strings.Join(names, ","))
			}
		}
	})
	return v
}

// watch POSTs the viewer's offer and applies the answer; it returns the
// session's Location.
func (v *viewer) watch(url string) (string, error) {
	offer, err := v.pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(v.pc)
	if err := v.pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	<-gathered
	resp, err := http.Post(url, "application/sdp", strings.NewReader(v.pc.LocalDescription().SDP))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", errors.New("WHEP: " + resp.Status + ": " + string(body))
	}
	if err := v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return "", err
	}
	return resp.Header.Get("Location"), nil
}
