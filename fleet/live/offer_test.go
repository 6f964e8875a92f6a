package live

import (
	"errors"
	"testing"

	"github.com/brightkitchen/brightkitchen/internal/rtc/rtctest"
)

func TestParseOffer(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		role  offerRole
		want  error
		first uint8
	}{
		{"chrome recvonly", rtctest.OfferChrome, roleViewer, nil, 102},
		{"chrome sendrecv", rtctest.OfferChromeSendrecv, roleViewer, nil, 102},
		{"firefox style", rtctest.OfferFirefoxStyle, roleViewer, nil, 126},
		{"publisher sendonly", rtctest.OfferPublisher, rolePublisher, nil, 102},
		{"viewer offer sent to WHIP", rtctest.OfferChrome, rolePublisher, ErrDirection, 0},
		{"publisher offer sent to WHEP", rtctest.OfferPublisher, roleViewer, ErrDirection, 0},
		{"audio only", rtctest.OfferAudioOnly, roleViewer, ErrNoVideo, 0},
		{"video port 0", rtctest.OfferVideoPort0, roleViewer, ErrNoVideo, 0},
		{"VP8 only", rtctest.OfferVP8Only, roleViewer, ErrNoH264, 0},
		{"H.264 mode 0 only", rtctest.OfferH264Mode0, roleViewer, ErrNoH264, 0},
		{"sendonly viewer", rtctest.OfferSendonly, roleViewer, ErrDirection, 0},
		{"empty", "", roleViewer, ErrBadSDP, 0},
		{"blank", " \r\n ", roleViewer, ErrBadSDP, 0},
		{"garbage", "\x00\x01\x02 not sdp at all", roleViewer, ErrBadSDP, 0},
		{"truncated before media", rtctest.OfferChrome[:40], roleViewer, ErrNoVideo, 0},
		{"too many sections", rtctest.Join(rtctest.SessionHead()[:4], repeatMedia(maxMediaSections+1)), roleViewer, ErrBadSDP, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := parseOffer([]byte(tc.body), tc.role)
			if !errors.Is(err, tc.want) {
				t.Fatalf("parseOffer() error = %v, want %v", err, tc.want)
			}
			if err != nil {
				if he := classify(err); he.status < 400 || he.status >= 500 {
					t.Fatalf("error %v maps to status %d, want 4xx", err, he.status)
				}
				return
			}
			if len(info.h264) == 0 || info.h264[0].pt != tc.first {
				t.Fatalf("H.264 formats = %+v, want first payload type %d", info.h264, tc.first)
			}
		})
	}
}

func repeatMedia(n int) []string {
	var out []string
	for range n {
		out = append(out, "m=video 9 UDP/TLS/RTP/SAVPF 102", "a=recvonly", "a=rtpmap:102 H264/90000",
			"a=fmtp:102 packetization-mode=1")
	}
	return out
}

// FuzzParseOffer feeds arbitrary bodies to the offer validation that runs
// before any ICE: it must never panic, and what it refuses must be a 4xx.
func FuzzParseOffer(f *testing.F) {
	for _, s := range []string{rtctest.OfferChrome, rtctest.OfferPublisher, rtctest.OfferAudioOnly, rtctest.OfferVP8Only, rtctest.OfferH264Mode0,
		rtctest.OfferFirefoxStyle, "", "v=0\r\n", "m=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, role := range []offerRole{roleViewer, rolePublisher} {
			info, err := parseOffer(body, role)
			if err != nil {
				if he := classify(err); he.status < 400 || he.status >= 500 {
					t.Fatalf("error %v maps to status %d, want 4xx", err, he.status)
				}
				continue
			}
			if len(info.h264) == 0 {
				t.Fatalf("accepted an offer without H.264 formats")
			}
		}
	})
}

func TestIsKeyPayload(t *testing.T) {
	cases := []struct {
		name string
		p    []byte
		want bool
	}{
		{"empty", nil, false},
		{"IDR", []byte{0x65, 0x88}, true},
		{"SPS", []byte{0x67, 0x42}, true},
		{"PPS", []byte{0x68, 0xce}, false},
		{"non-IDR slice", []byte{0x41, 0x9a}, false},
		{"SEI", []byte{0x06, 0x05}, false},
		{"STAP-A SPS PPS", []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"STAP-A PPS IDR", []byte{0x78, 0, 2, 0x68, 0xce, 0, 2, 0x65, 0x88}, true},
		{"STAP-A SEI only", []byte{0x78, 0, 2, 0x06, 0x05}, false},
		{"STAP-A bad length", []byte{0x78, 0, 9, 0x67}, false},
		{"STAP-A zero length", []byte{0x78, 0, 0, 0x67}, false},
		{"FU-A IDR start", []byte{0x7c, 0x85, 0x88}, true},
		{"FU-A IDR middle", []byte{0x7c, 0x05, 0x88}, false},
		{"FU-A non-IDR start", []byte{0x7c, 0x81, 0x9a}, false},
		{"FU-A truncated", []byte{0x7c}, false},
	}
	for _, tc := range cases {
		if got := isKeyPayload(tc.p); got != tc.want {
			t.Errorf("%s: isKeyPayload(% x) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}
