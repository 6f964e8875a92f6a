package camsim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
)

// maxLag is how far the writer may fall behind its schedule (a stalled
// machine) before it stops catching up and resumes at real time; frames are
// never skipped, so the stream stays decodable.
const maxLag = time.Second

// path is one served RTSP path. Its mutable fields are guarded by Server.mu.
type path struct {
	name            string
	clip            *ClipData
	aus             [][][]byte // what is sent, after the parameter-set policy
	paramsInSDPOnly bool

	stream *gortsplib.ServerStream // nil while stopped
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Server) newPath(name string, c *ClipData, paramsInSDPOnly bool) *path {
	aus := prepareAUs(c, paramsInSDPOnly)
	if s.loopFrames > 0 && s.loopFrames < len(aus) {
		aus = aus[:s.loopFrames]
	}
	return &path{
		name:            name,
		clip:            c,
		aus:             aus,
		paramsInSDPOnly: paramsInSDPOnly,
	}
}

// prepareAUs applies the parameter-set policy: stripped from every access
// unit (paramsInSDPOnly), or present before every IDR.
func prepareAUs(c *ClipData, paramsInSDPOnly bool) [][][]byte {
	var params [][]byte
	if c.VPS != nil {
		params = append(params, c.VPS)
	}
	params = append(params, c.SPS, c.PPS)

	out := make([][][]byte, len(c.AccessUnits))
	for i, au := range c.AccessUnits {
		switch {
		case paramsInSDPOnly:
			var n [][]byte
			for _, nalu := range au {
				if !isParamSet(c.Codec, nalu) {
					n = append(n, nalu)
				}
			}
			out[i] = n
		case isRandomAccess(c.Codec, au) && !hasParamSets(c.Codec, au):
			out[i] = append(append([][]byte{}, params...), au...)
		default:
			out[i] = au
		}
	}
	return out
}

func hasParamSets(codec Codec, au [][]byte) bool {
	var sps, pps bool
	for _, n := range au {
		sps = sps || isSPS(codec, n)
		pps = pps || isPPS(codec, n)
	}
	return sps && pps
}

// rtpEncoder is what rtph264.Encoder and rtph265.Encoder have in common.
type rtpEncoder interface {
	Encode(au [][]byte) ([]*rtp.Packet, error)
}

// start creates the path's stream and its writer goroutine. Called with
// Server.mu held, on a stopped path.
func (p *path) start(srv *gortsplib.Server, log *slog.Logger) error {
	var (
		forma format.Format
		enc   rtpEncoder
		err   error
	)
	switch p.clip.Codec {
	case CodecH265:
		f := &format.H265{PayloadTyp: 96, VPS: p.clip.VPS, SPS: p.clip.SPS, PPS: p.clip.PPS}
		forma = f
		enc, err = f.CreateEncoder()
	default:
		f := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: p.clip.SPS, PPS: p.clip.PPS}
		forma = f
		enc, err = f.CreateEncoder()
	}
	if err != nil {
		return fmt.Errorf("create RTP encoder: %w", err)
	}
	medi := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}
	stream := &gortsplib.ServerStream{
		Server: srv,
		Desc:   &description.Session{Title: "BrightKitchen camsim " + p.name, Medias: []*description.Media{medi}},
	}
	if err := stream.Initialize(); err != nil {
		return fmt.Errorf("initialize stream: %w", err)
	}

	var b [4]byte
	_, _ = rand.Read(b[:])
	w := &writer{
		stream: stream,
		media:  medi,
		enc:    enc,
		aus:    p.aus,
		fps:    uint64(p.clip.FPS),
		ts0:    binary.BigEndian.Uint32(b[:]),
		log:    log.With("path", p.name),
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stream, p.cancel, p.done = stream, cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		w.run(ctx)
	}(p.done)
	return nil
}

// detach marks the path stopped and returns what finishes stopping it: end
// the writer, then close the stream (which disconnects its readers). Called
// with Server.mu held; call the result without it, since closing waits.
// The result is nil when the path was not running.
func (p *path) detach() func() {
	if p.stream == nil {
		return nil
	}
	stream, cancel, done := p.stream, p.cancel, p.done
	p.stream, p.cancel, p.done = nil, nil, nil
	return func() {
		cancel()
		<-done
		stream.Close()
	}
}

// writer sends a clip in a loop at its frame rate.
type writer struct {
	stream *gortsplib.ServerStream
	media  *description.Media
	enc    rtpEncoder
	aus    [][][]byte
	fps    uint64
	ts0    uint32 // RTP timestamp of the first frame (random, as cameras do)
	log    *slog.Logger
}

// run writes frame n at start + n/fps, against the start time so that the
// pace does not drift, with RTP timestamp ts0 + n*90000/fps: timestamps keep
// increasing by one frame across the loop point.
func (w *writer) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C

	var errs, lagResets uint64
	start := time.Now()
	for n := uint64(0); ; n++ {
		due := start.Add(time.Duration(n * uint64(time.Second) / w.fps))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				w.report(errs, lagResets)
				return
			case <-timer.C:
			}
		} else {
			if ctx.Err() != nil {
				w.report(errs, lagResets)
				return
			}
			if -d > maxLag {
				start = start.Add(-d)
				due = due.Add(-d)
				lagResets++
			}
		}

		pkts, err := w.enc.Encode(w.aus[n%uint64(len(w.aus))])
		if err != nil {
			errs++
			continue
		}
		ts := w.ts0 + uint32(n*90000/w.fps)
		for _, pkt := range pkts {
			pkt.Timestamp = ts
			if err := w.stream.WritePacketRTPWithNTP(w.media, pkt, due); err != nil {
				errs++
			}
		}
	}
}

func (w *writer) report(errs, lagResets uint64) {
	if errs > 0 || lagResets > 0 {
		w.log.Warn("writer trouble", "write_errors", errs, "fell_behind", lagResets)
	}
}
