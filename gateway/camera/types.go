package camera

import (
	"errors"
	"time"
)

// Codecs a Source reads.
const (
	CodecH264 = "H264"
	CodecH265 = "H265"
)

// Errors.
var (
	// ErrNoFrames ends a session that delivered no access unit for ReadTimeout.
	ErrNoFrames = errors.New("no frames")
	// ErrNoVideo ends a session whose camera offers neither H.264 nor H.265.
	ErrNoVideo = errors.New("no H.264 or H.265 video track")
	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("camera source already started")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("camera source closed")
)

// AccessUnit is one picture of the stream. Its NALUs are shared by every
// subscriber and the GOP cache: read them, never modify them.
type AccessUnit struct {
	// PTS is the presentation time relative to the start of the session;
	// it starts again near zero after a reconnect.
	PTS time.Duration
	// NTP is the wall clock when the unit was received.
	NTP time.Time
	// NALUs without start codes. A random-access unit always begins with its
	// parameter sets ([VPS,] SPS, PPS), re-inserted from the SDP or from
	// earlier in-band copies when the camera did not send them with it.
	NALUs [][]byte
	// IDR is true for a random-access unit: an H.264 IDR, an H.265 IDR or CRA.
	IDR bool
}

// Size is the total size of the unit's NALUs in bytes.
func (au AccessUnit) Size() int {
	n := 0
	for _, nalu := range au.NALUs {
		n += len(nalu)
	}
	return n
}

// Media describes the video track of the current (or last) session.
type Media struct {
	// Codec is CodecH264 or CodecH265.
	Codec string
	// Parameter sets, from the SDP and updated from in-band NALUs; VPS is
	// H.265 only. Nil when not known yet.
	SPS, PPS, VPS []byte
	// Width and Height from the SPS; zero when it does not parse.
	Width, Height int
}

func (m Media) clone() Media {
	m.SPS, m.PPS, m.VPS = clone(m.SPS), clone(m.PPS), clone(m.VPS)
	return m
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Health is the camera's state as the gateway reports it.
type Health struct {
	// Online is true while access units arrive: from the first unit of a
	// session until the session ends (it fails, or no unit came for
	// ReadTimeout).
	Online bool
	// FPS and Kbps over the last few seconds (zero when offline).
	FPS  float64
	Kbps float64
	// LastFrameAge is the time since the last access unit, or since Start
	// when none has arrived yet.
	LastFrameAge time.Duration
	// Since is when Online last changed (Start, at first).
	Since time.Time
	// Err is the error that ended the last session or connection attempt;
	// cleared when the camera comes online.
	Err string
}

// Stats are running counters since Start.
type Stats struct {
	Attempts     uint64 // connection attempts
	Sessions     uint64 // sessions that reached PLAY
	Frames       uint64 // access units received
	Bytes        uint64 // bytes of NALUs received
	PacketsLost  uint64 // RTP packets lost, as reported by the RTP receiver
	DecodeErrors uint64 // RTP packets or access units that could not be decoded
	Dropped      uint64 // units dropped across all subscribers, all time
	GOPOverflows uint64 // times the GOP cache outgrew its bounds and was cleared
}
