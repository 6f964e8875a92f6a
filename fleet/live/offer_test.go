package live

import (
	"errors"
	"strings"
	"testing"
)

const testFingerprint = "a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\n"

// sdpLines joins lines with CRLF, as browsers send them.
func sdpLines(lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\n"
}

var sessionHead = []string{
	"v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
	"a=group:BUNDLE 0 1", "a=extmap-allow-mixed", "a=msid-semantic: WMS",
}

func mediaHead(kind, formats, mid, dir string) []string {
	return []string{
		"m=" + kind + " 9 UDP/TLS/RTP/SAVPF " + formats, "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
		"a=ice-ufrag:Fw6d", "a=ice-pwd:aQg7yg0U6CqXHNXhM1M4rG7b", "a=ice-options:trickle",
		strings.TrimSuffix(testFingerprint, "\n"), "a=setup:actpass", "a=mid:" + mid, "a=" + dir, "a=rtcp-mux",
	}
}

func join(parts ...[]string) string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return sdpLines(all...)
}

var chromeAudio = append(mediaHead("audio", "111 0", "0", "recvonly"),
	"a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1", "a=rtpmap:0 PCMU/8000")

func chromeVideo(dir string) []string {
	return append(mediaHead("video", "96 97 102 103 104 106 108 127 39", "1", dir),
		"a=rtcp-rsize",
		"a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli",
		"a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
		"a=rtpmap:102 H264/90000", "a=rtcp-fb:102 goog-remb", "a=rtcp-fb:102 transport-cc", "a=rtcp-fb:102 ccm fir",
		"a=rtcp-fb:102 nack", "a=rtcp-fb:102 nack pli",
		"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
		"a=rtpmap:103 rtx/90000", "a=fmtp:103 apt=102",
		"a=rtpmap:104 H264/90000", "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
		"a=rtpmap:106 H264/90000", "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		"a=rtpmap:108 H264/90000", "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
		"a=rtpmap:127 H264/90000", "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
		"a=rtpmap:39 H264/90000", "a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f",
	)
}

// Offers shaped like a browser's WHEP offer (Chrome) and variants.
var (
	offerChrome       = join(sessionHead, chromeAudio, chromeVideo("recvonly"))
	offerChromeSendrv = join(sessionHead, chromeAudio, chromeVideo("sendrecv"))
	offerPublisher    = join(sessionHead[:4], []string{"a=group:BUNDLE 1"}, chromeVideo("sendonly"))
	offerAudioOnly    = join(sessionHead[:4], []string{"a=group:BUNDLE 0"}, chromeAudio)
	offerVP8Only      = join(sessionHead[:4], []string{"a=group:BUNDLE 1"},
		append(mediaHead("video", "96", "1", "recvonly"), "a=rtpmap:96 VP8/90000"))
	offerH264Mode0 = join(sessionHead[:4], []string{"a=group:BUNDLE 1"},
		append(mediaHead("video", "104", "1", "recvonly"), "a=rtpmap:104 H264/90000",
			"a=fmtp:104 packetization-mode=0;profile-level-id=42e01f"))
	offerSendonly     = join(sessionHead, chromeAudio, chromeVideo("sendonly"))
	offerVideoPort0   = strings.Replace(offerChrome, "m=video 9 ", "m=video 0 ", 1)
	offerNoFinger     = strings.ReplaceAll(offerChrome, testFingerprint[:len(testFingerprint)-1]+"\r\n", "")
	offerFirefoxStyle = join(sessionHead[:4], []string{"a=group:BUNDLE 0"},
		append(mediaHead("video", "126 97", "0", "recvonly"),
			"a=rtpmap:126 H264/90000", "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
			"a=rtpmap:97 H264/90000", "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1"))
)

func TestParseOffer(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		role  offerRole
		want  error
		first uint8
	}{
		{"chrome recvonly", offerChrome, roleViewer, nil, 102},
		{"chrome sendrecv", offerChromeSendrv, roleViewer, nil, 102},
		{"firefox style", offerFirefoxStyle, roleViewer, nil, 126},
		{"publisher sendonly", offerPublisher, rolePublisher, nil, 102},
		{"viewer offer sent to WHIP", offerChrome, rolePublisher, ErrDirection, 0},
		{"publisher offer sent to WHEP", offerPublisher, roleViewer, ErrDirection, 0},
		{"audio only", offerAudioOnly, roleViewer, ErrNoVideo, 0},
		{"video port 0", offerVideoPort0, roleViewer, ErrNoVideo, 0},
		{"VP8 only", offerVP8Only, roleViewer, ErrNoH264, 0},
		{"H.264 mode 0 only", offerH264Mode0, roleViewer, ErrNoH264, 0},
		{"sendonly viewer", offerSendonly, roleViewer, ErrDirection, 0},
		{"empty", "", roleViewer, ErrBadSDP, 0},
		{"blank", " \r\n ", roleViewer, ErrBadSDP, 0},
		{"garbage", "\x00\x01\x02 not sdp at all", roleViewer, ErrBadSDP, 0},
		{"truncated before media", offerChrome[:40], roleViewer, ErrNoVideo, 0},
		{"too many sections", join(sessionHead[:4], repeatMedia(maxMediaSections+1)), roleViewer, ErrBadSDP, 0},
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
	for _, s := range []string{offerChrome, offerPublisher, offerAudioOnly, offerVP8Only, offerH264Mode0,
		offerFirefoxStyle, "", "v=0\r\n", "m=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"} {
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
