package rtctest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/rtc"
)

// whepServer answers WHEP with a pion peer that sends RTP packets, every
// third one ending a frame, until the test ends; it refuses a request
// without the bearer token "t" and records the DELETEs.
type whepServer struct {
	*httptest.Server
	mu      sync.Mutex
	deletes []string
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newWHEPServer(t *testing.T) *whepServer {
	api, err := rtc.BrowserAPI(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &whepServer{stop: make(chan struct{})}
	var pcs []*webrtc.PeerConnection
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep/cam", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" || r.Header.Get("Content-Type") != "application/sdp" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		offer, _ := io.ReadAll(r.Body)
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		pcs = append(pcs, pc)
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "cam")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if _, err := pc.AddTrack(track); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		answer, err := pc.CreateAnswer(nil)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(answer); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		<-gathered
		s.wg.Go(func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for i := uint16(0); i < 2000; i++ {
				select {
				case <-s.stop:
					return
				case <-tick.C:
				}
				p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: i, Timestamp: uint32(i/3) * 3000, Marker: i%3 == 2},
					Payload: []byte{0x41, 0x9a, byte(i)}}
				_ = track.WriteRTP(p)
			}
		})
		w.Header().Set("Location", "/whep/cam/s1")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, pc.LocalDescription().SDP)
	})
	mux.HandleFunc("DELETE /whep/cam/{session}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.deletes = append(s.deletes, r.PathValue("session")+" "+r.Header.Get("Authorization"))
		s.mu.Unlock()
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(s.stop)
		s.wg.Wait()
		for _, pc := range pcs {
			_ = pc.Close()
		}
		s.Close()
	})
	return s
}

// TestViewer: the viewer watches, counts packets and frames, its OnRTP
// sees each packet, and Delete ends the session with its header; a
// refused POST is an error with the status and the body.
func TestViewer(t *testing.T) {
	srv := newWHEPServer(t)

	refused := &Viewer{}
	status, err := refused.Watch(srv.URL + "/whep/cam")
	if status != http.StatusForbidden || err == nil || !strings.Contains(err.Error(), "403 Forbidden: no") {
		t.Fatalf("without a token: %d, %v", status, err)
	}
	if _, err := refused.Delete(); err == nil {
		t.Error("Delete without a session: no error")
	}

	var mu sync.Mutex
	var seqs []uint16
	v := &Viewer{Header: Bearer("t"), OnRTP: func(p *rtp.Packet, _ time.Time) {
		mu.Lock()
		seqs = append(seqs, p.SequenceNumber)
		mu.Unlock()
	}}
	defer v.Close()
	if status, err := v.Watch(srv.URL + "/whep/cam"); status != http.StatusCreated || err != nil {
		t.Fatalf("watch: %d, %v", status, err)
	}
	if v.Location != "/whep/cam/s1" || v.Posted.IsZero() || v.PC() == nil {
		t.Errorf("after Watch: %+v", v)
	}
	if _, err := v.Watch(srv.URL + "/whep/cam"); err == nil {
		t.Error("a second Watch: no error")
	}
	select {
	case <-v.First():
	case <-time.After(10 * time.Second):
		t.Fatal("no first packet in 10 s")
	}
	v.WaitFrames(t, 10, 10*time.Second)
	v.WaitPackets(t, 31, 10*time.Second)
	mu.Lock()
	n := len(seqs)
	mu.Unlock()
	if p, f := v.Packets(), v.Frames(); n < p || f < 10 || f > p/3+1 {
		t.Errorf("OnRTP saw %d packets, Packets %d, Frames %d", n, p, f)
	}
	if code, err := v.Delete(); code != http.StatusOK || err != nil {
		t.Errorf("Delete: %d, %v", code, err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.deletes) != 1 || srv.deletes[0] != "s1 Bearer t" {
		t.Errorf("DELETEs %q", srv.deletes)
	}
}

// TestOffers: each canned offer is SDP that parses, with the sections and
// directions its name says.
func TestOffers(t *testing.T) {
	for _, tc := range []struct {
		name, offer string
		media       string // kind:direction:port of each section
		fingerprint bool
	}{
		{"minimal", OfferMinimal, "video:recvonly:9", true},
		{"chrome", OfferChrome, "audio:recvonly:9 video:recvonly:9", true},
		{"chrome sendrecv", OfferChromeSendrecv, "audio:recvonly:9 video:sendrecv:9", true},
		{"sendonly", OfferSendonly, "audio:recvonly:9 video:sendonly:9", true},
		{"publisher", OfferPublisher, "video:sendonly:9", true},
		{"audio only", OfferAudioOnly, "audio:recvonly:9", true},
		{"VP8 only", OfferVP8Only, "video:recvonly:9", true},
		{"H.264 mode 0", OfferH264Mode0, "video:recvonly:9", true},
		{"video port 0", OfferVideoPort0, "audio:recvonly:9 video:recvonly:0", true},
		{"no fingerprint", OfferNoFingerprint, "audio:recvonly:9 video:recvonly:9", false},
		{"firefox style", OfferFirefoxStyle, "video:recvonly:9", true},
	} {
		var d sdp.SessionDescription
		if err := d.UnmarshalString(tc.offer); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var media []string
		for _, m := range d.MediaDescriptions {
			dir := ""
			for _, a := range []string{"recvonly", "sendrecv", "sendonly", "inactive"} {
				if _, ok := m.Attribute(a); ok {
					dir = a
				}
			}
			media = append(media, strings.Join([]string{m.MediaName.Media, dir, strconv.Itoa(m.MediaName.Port.Value)}, ":"))
		}
		if got := strings.Join(media, " "); got != tc.media {
			t.Errorf("%s: sections %s, want %s", tc.name, got, tc.media)
		}
		if has := strings.Contains(tc.offer, "a=fingerprint:"); has != tc.fingerprint {
			t.Errorf("%s: fingerprint %v", tc.name, has)
		}
		if !strings.HasSuffix(tc.offer, "\r\n") || strings.Contains(strings.ReplaceAll(tc.offer, "\r\n", ""), "\n") {
			t.Errorf("%s: lines not ended by CRLF", tc.name)
		}
	}
}
