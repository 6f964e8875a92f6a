package live

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// checkAnswer checks, before pion applies it, that a WHIP answer is an SDP
// with a video m-section that accepts H.264 at packetization-mode=1 and
// receives it (recvonly or sendrecv).
func checkAnswer(answer string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrBadAnswer, r)
		}
	}()
	if strings.TrimSpace(answer) == "" {
		return fmt.Errorf("%w: empty body", ErrBadAnswer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	sessionDir := direction(sd.Attributes, "sendrecv")
	for _, md := range sd.MediaDescriptions {
		if md == nil || !strings.EqualFold(md.MediaName.Media, "video") {
			continue
		}
		if md.MediaName.Port.Value == 0 {
			return fmt.Errorf("%w: the video m-section is rejected (port 0)", ErrBadAnswer)
		}
		if d := direction(md.Attributes, sessionDir); d != "recvonly" && d != "sendrecv" {
			return fmt.Errorf("%w: video is %s, want recvonly", ErrBadAnswer, d)
		}
		if !hasH264Mode1(md) {
			return fmt.Errorf("%w: the video m-section accepts no H.264 with packetization-mode=1", ErrBadAnswer)
		}
		return nil
	}
	return fmt.Errorf("%w: no video m-section", ErrBadAnswer)
}

// direction returns the direction attribute among attrs, or def.
func direction(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}

// hasH264Mode1 reports whether md offers H.264/90000 with
// packetization-mode=1.
func hasH264Mode1(md *sdp.MediaDescription) bool {
	h264 := map[string]bool{}
	fmtp := map[string]string{}
	for _, a := range md.Attributes {
		pt, rest, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		if !ok {
			continue
		}
		switch a.Key {
		case "rtpmap":
			name, clock, _ := strings.Cut(rest, "/")
			clock, _, _ = strings.Cut(clock, "/")
			if strings.EqualFold(name, "H264") && clock == "90000" {
				h264[pt] = true
			}
		case "fmtp":
			fmtp[pt] = rest
		}
	}
	for pt := range h264 {
		for kv := range strings.SplitSeq(fmtp[pt], ";") {
			k, v, _ := strings.Cut(kv, "=")
			if strings.EqualFold(strings.TrimSpace(k), "packetization-mode") && strings.TrimSpace(v) == "1" {
				return true
			}
		}
	}
	return false
}
