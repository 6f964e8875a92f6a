package rtctest

import "strings"

// Canned SDP offers, for tests of what a WHIP or WHEP server accepts and
// refuses before any ICE. Their ICE never connects: the credentials and
// the fingerprint are made up. Lines end in CRLF, as browsers send them.
var (
	// OfferMinimal is the smallest recvonly H.264 offer a relay accepts:
	// one video section, one format.
	OfferMinimal = lines("v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
		"m=video 9 UDP/TLS/RTP/SAVPF 102", "c=IN IP4 0.0.0.0", "a=mid:0", "a=recvonly", "a=rtcp-mux",
		"a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx", Fingerprint,
		"a=setup:actpass", "a=rtpmap:102 H264/90000",
		"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")

	// OfferChrome is shaped like Chrome's WHEP offer: recvonly audio
	// (Opus, PCMU) and video (VP8 and five H.264 profiles and modes, with
	// RTX), H.264 first at payload type 102.
	OfferChrome = join(sessionHead, chromeAudio, chromeVideo("recvonly"))
	// OfferChromeSendrecv is OfferChrome with a sendrecv video section.
	OfferChromeSendrecv = join(sessionHead, chromeAudio, chromeVideo("sendrecv"))
	// OfferSendonly is OfferChrome with a sendonly video section: a viewer
	// that wants to send.
	OfferSendonly = join(sessionHead, chromeAudio, chromeVideo("sendonly"))
	// OfferPublisher is a WHIP publisher's offer: sendonly video only.
	OfferPublisher = join(sessionHead[:4], []string{"a=group:BUNDLE 1"}, chromeVideo("sendonly"))
	// OfferAudioOnly has no video section.
	OfferAudioOnly = join(sessionHead[:4], []string{"a=group:BUNDLE 0"}, chromeAudio)
	// OfferVP8Only has video, but no H.264.
	OfferVP8Only = join(sessionHead[:4], []string{"a=group:BUNDLE 1"},
		append(mediaHead("video", "96", "1", "recvonly"), "a=rtpmap:96 VP8/90000"))
	// OfferH264Mode0 has H.264 in packetization mode 0 only.
	OfferH264Mode0 = join(sessionHead[:4], []string{"a=group:BUNDLE 1"},
		append(mediaHead("video", "104", "1", "recvonly"), "a=rtpmap:104 H264/90000",
			"a=fmtp:104 packetization-mode=0;profile-level-id=42e01f"))
	// OfferVideoPort0 is OfferChrome with its video section rejected
	// (port 0).
	OfferVideoPort0 = strings.Replace(OfferChrome, "m=video 9 ", "m=video 0 ", 1)
	// OfferNoFingerprint is OfferChrome without DTLS fingerprints.
	OfferNoFingerprint = strings.ReplaceAll(OfferChrome, Fingerprint+"\r\n", "")
	// OfferFirefoxStyle is shaped like Firefox's: one recvonly video
	// section, H.264 at payload type 126 with its fmtp parameters in
	// another order, then one without packetization-mode.
	OfferFirefoxStyle = join(sessionHead[:4], []string{"a=group:BUNDLE 0"},
		append(mediaHead("video", "126 97", "0", "recvonly"),
			"a=rtpmap:126 H264/90000", "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
			"a=rtpmap:97 H264/90000", "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1"))
)

// Fingerprint is the made-up DTLS fingerprint line of the canned offers.
const Fingerprint = "a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"

// Join joins SDP lines, each ended by CRLF, and sections of them: for
// offers the canned ones do not cover.
func Join(sections ...[]string) string { return join(sections...) }

func lines(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }

func join(sections ...[]string) string {
	var all []string
	for _, s := range sections {
		all = append(all, s...)
	}
	return lines(all...)
}

// SessionHead is the session section of the canned offers up to the first
// m= line: version, origin, name and time (its first four lines), then the
// BUNDLE group of OfferChrome and its extmap and msid attributes.
func SessionHead() []string { return append([]string(nil), sessionHead...) }

var sessionHead = []string{
	"v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
	"a=group:BUNDLE 0 1", "a=extmap-allow-mixed", "a=msid-semantic: WMS",
}

func mediaHead(kind, formats, mid, dir string) []string {
	return []string{
		"m=" + kind + " 9 UDP/TLS/RTP/SAVPF " + formats, "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
		"a=ice-ufrag:Fw6d", "a=ice-pwd:aQg7yg0U6CqXHNXhM1M4rG7b", "a=ice-options:trickle",
		Fingerprint, "a=setup:actpass", "a=mid:" + mid, "a=" + dir, "a=rtcp-mux",
	}
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
