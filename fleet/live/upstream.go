package live

import (
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// mediaTimeout is how long an upstream may send nothing before it is
// treated as lost.
const mediaTimeout = 10 * time.Second

// upstream is one WHIP session: a publisher's peer connection for a camera.
type upstream struct {
	r        *Relay
	cam      *camera
	gen      uint64
	session  string // the ticket's
	resource string // this WHIP resource's id (the Location's last segment)
	pc       *webrtc.PeerConnection

	ssrc     atomic.Uint32
	gotTrack atomic.Bool
	once     sync.Once
}

func (u *upstream) close() {
	u.once.Do(func() { _ = u.pc.Close() })
}

// sendPLI asks the publisher for a keyframe.
func (u *upstream) sendPLI() {
	if ssrc := u.ssrc.Load(); ssrc != 0 {
		_ = u.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
}

// onTrack starts reading the first H.264 video track; other tracks are
// ignored.
func (u *upstream) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if track.Kind() != webrtc.RTPCodecTypeVideo || !strings.EqualFold(track.Codec().MimeType, webrtc.MimeTypeH264) ||
		!u.gotTrack.CompareAndSwap(false, true) {
		return
	}
	u.ssrc.Store(uint32(track.SSRC()))
	u.r.spawn(func() { u.readLoop(track) })
	u.r.spawn(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.Read(buf); err != nil {
				return
			}
		}
	})
}

// readLoop reads each upstream packet once into an immutable packet and
// pushes it into the camera's ring.
func (u *upstream) readLoop(track *webrtc.TrackRemote) {
	var (
		buf      = make([]byte, 1500)
		h        rtp.Header
		bytesIn  int
		deadline = time.Now()
	)
	defer func() { u.r.m.bytesIn.Add(float64(bytesIn)) }()
	_ = track.SetReadDeadline(deadline.Add(mediaTimeout))
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			why := "upstream closed"
			if errors.Is(err, os.ErrDeadlineExceeded) {
				why = "no media for " + mediaTimeout.String()
			}
			u.r.upstreamLost(u, why)
			return
		}
		if now := time.Now(); now.Sub(deadline) > time.Second {
			deadline = now
			_ = track.SetReadDeadline(now.Add(mediaTimeout))
		}
		hn, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		end := n
		if h.Padding {
			pad := int(buf[n-1])
			if pad == 0 || hn+pad > n {
				continue
			}
			end = n - pad
		}
		if end <= hn {
			continue // padding only
		}
		p := &packet{
			at:      u.r.clock(),
			seq:     h.SequenceNumber,
			ts:      h.Timestamp,
			marker:  h.Marker,
			payload: append([]byte(nil), buf[hn:end]...),
		}
		p.key = isKeyPayload(p.payload)
		if u.cam.push(u.gen, p) {
			u.r.markReady(u)
		}
		if bytesIn += n; bytesIn >= 64<<10 {
			u.r.m.bytesIn.Add(float64(bytesIn))
			bytesIn = 0
		}
	}
}
