package live

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerRole says who sent an offer: a viewer (WHEP, receives video) or a
// publisher (WHIP, sends video).
type offerRole int

const (
	roleViewer offerRole = iota
	rolePublisher
)

// maxMediaSections bounds the m-sections of an offer.
const maxMediaSections = 16

// offerInfo is what the relay learns from a valid offer.
type offerInfo struct {
	// h264 lists the offered H.264 payload types with packetization-mode=1
	// in the offerer's order, with their profile-level-id ("" if absent).
	h264 []h264Format
}

type h264Format struct {
	pt      uint8
	profile string
}

// readOffer checks the request's content type and reads its body, capped.
func readOffer(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "application/sdp" {
		return nil, fmt.Errorf("%w (got %q)", ErrContentType, req.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxOfferBytes))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxOfferBytes)
		}
		return nil, fmt.Errorf("%w: read body: %w", ErrBadSDP, err)
	}
	return body, nil
}

// parseOffer parses and validates an SDP offer without touching the
// network: it must hold a video m-section in the right direction for role
// with H.264 at packetization-mode=1.
func parseOffer(body []byte, role offerRole) (offerInfo, error) {
	var info offerInfo
	if len(strings.TrimSpace(string(body))) == 0 {
		return info, fmt.Errorf("%w: empty body", ErrBadSDP)
	}
	if len(body) > MaxOfferBytes {
		return info, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxOfferBytes)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return info, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	if len(sd.MediaDescriptions) > maxMediaSections {
		return info, fmt.Errorf("%w: %d m-sections (at most %d)", ErrBadSDP, len(sd.MediaDescriptions), maxMediaSections)
	}
	sessionDir := direction(sd.Attributes, "sendrecv")

	var (
		sawVideo, sawH264 bool
		wrongDir          string
	)
	for _, md := range sd.MediaDescriptions {
		if md == nil || !strings.EqualFold(md.MediaName.Media, "video") || md.MediaName.Port.Value == 0 {
			continue
		}
		sawVideo = true
		dir := direction(md.Attributes, sessionDir)
		if !directionOK(dir, role) {
			wrongDir = dir
			continue
		}
		formats, anyH264 := h264Formats(md)
		sawH264 = sawH264 || anyH264
		if len(formats) > 0 {
			info.h264 = formats
			return info, nil
		}
	}
	switch {
	case !sawVideo:
		return info, fmt.Errorf("%w: no video m-section with a non-zero port", ErrNoVideo)
	case sawH264:
		return info, fmt.Errorf("%w: H.264 is offered only without packetization-mode=1", ErrNoH264)
	case wrongDir != "":
		want := "recvonly or sendrecv (a WHEP viewer receives)"
		if role == rolePublisher {
			want = "sendonly or sendrecv (a WHIP publisher sends)"
		}
		return info, fmt.Errorf("%w: video is %s, want %s", ErrDirection, wrongDir, want)
	default:
		return info, fmt.Errorf("%w: the video m-section offers no H.264 payload type", ErrNoH264)
	}
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

func directionOK(dir string, role offerRole) bool {
	if role == rolePublisher {
		return dir == "sendonly" || dir == "sendrecv"
	}
	return dir == "recvonly" || dir == "sendrecv"
}

// h264Formats lists md's H.264/90000 payload types with packetization-mode=1,
// and whether any H.264 payload type was offered at all.
func h264Formats(md *sdp.MediaDescription) (out []h264Format, anyH264 bool) {
	fmtps := map[uint8]string{}
	var h264 []uint8
	for _, a := range md.Attributes {
		pt, rest, ok := payloadAttr(a.Value)
		if !ok {
			continue
		}
		switch a.Key {
		case "rtpmap":
			name, clock, _ := strings.Cut(rest, "/")
			clock, _, _ = strings.Cut(clock, "/")
			if strings.EqualFold(strings.TrimSpace(name), "H264") && strings.TrimSpace(clock) == "90000" {
				h264 = append(h264, pt)
			}
		case "fmtp":
			fmtps[pt] = rest
		}
	}
	for _, pt := range h264 {
		params := fmtpParams(fmtps[pt])
		if params["packetization-mode"] == "1" {
			out = append(out, h264Format{pt: pt, profile: strings.ToLower(params["profile-level-id"])})
		}
	}
	return out, len(h264) > 0
}

// payloadAttr splits "96 H264/90000" into 96 and "H264/90000".
func payloadAttr(v string) (uint8, string, bool) {
	num, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return 0, "", false
	}
	pt, err := strconv.ParseUint(num, 10, 7)
	if err != nil {
		return 0, "", false
	}
	return uint8(pt), strings.TrimSpace(rest), true
}

// fmtpParams parses "a=b;c=d" (keys lower-cased).
func fmtpParams(s string) map[string]string {
	m := map[string]string{}
	for kv := range strings.SplitSeq(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		m[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return m
}
