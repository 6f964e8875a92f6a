package live

// Long file: one WHIP session's lifecycle (negotiate, pace, reconnect) shares
// its state; SDP and WHIP helpers are in files of their own.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/decode"
)

// Defaults of the Publisher settings.
const (
	DefaultHTTPTimeout    = 10 * time.Second
	DefaultStartTimeout   = 15 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultBuffer         = 64
	DefaultCatchUpBitrate = 20_000_000
)

const (
	// gatherTimeout bounds ICE candidate gathering before the offer is sent.
	gatherTimeout = 5 * time.Second
	// mediaWait bounds how long Start waits for a camera that has not been
	// described yet.
	mediaWait = 5 * time.Second
)

// Source is what a Publisher reads: a camera.Source.
type Source interface {
	// SubscribeGOP subscribes with the cached GOP first, then live units.
	SubscribeGOP(buf int) *camera.Subscription
	// Media is the camera's codec and parameter sets.
	Media() (camera.Media, bool)
}

var _ Source = (*camera.Source)(nil)

// Publisher is one WHIP session publishing one camera. Set the fields, then
// call Start; they must not change afterwards. The zero value of each
// optional field means its default.
type Publisher struct {
	// CameraID names the camera in logs. Required.
	CameraID string
	// Session is the fleet's name for this live session (logs only).
	Session string
	// Token is sent as "Authorization: Bearer" on the POST and the DELETE.
	Token string
	// WHIPURL is the endpoint to POST the offer to (http or https).
	// Required.
	WHIPURL string
	// Source is the camera. Required.
	Source Source
	// ICEServers are STUN/TURN servers. Default none.
	ICEServers []webrtc.ICEServer
	// Loopback gathers loopback candidates only, UDP4 (tests, one host).
	// Default false.
	Loopback bool
	// HTTPClient does the WHIP requests. Default: a client of its own with
	// a 10 s timeout, whose idle connections are closed with the session.
	HTTPClient *http.Client
	// StartTimeout bounds Start (gathering, POST, answer). Default 15 s.
	StartTimeout time.Duration
	// ConnectTimeout bounds the time from the answer to ICE and DTLS being
	// up; the session then ends with ErrConnect. Default 10 s.
	ConnectTimeout time.Duration
	// Buffer is the subscription's channel size beyond the cached GOP; when
	// it is full the camera drops units for this publisher (counted) and
	// the publisher resumes at the next IDR. Default 64.
	Buffer int
	// CatchUpBitrate caps the rate, in bits per second, at which the cached
	// GOP is sent after its IDR, so that a long GOP is not one burst on a
	// thin uplink. Default 20 Mbit/s; negative: no cap.
	CatchUpBitrate int
	// Logger receives session events. Default: discard.
	Logger *slog.Logger

	mu        sync.Mutex
	inited    bool
	started   bool
	running   bool // Start succeeded
	closed    bool
	ctx       context.Context // ends with Close
	cancel    context.CancelFunc
	startDone chan struct{}
	done      chan struct{}
	endOnce   sync.Once
	err       error
	closeOnce sync.Once

	log      *slog.Logger
	hc       *http.Client
	ownHC    bool
	endpoint *url.URL
	pc       *webrtc.PeerConnection
	resource *url.URL
	runWG    sync.WaitGroup // the sender
	rtcpWG   sync.WaitGroup // the RTCP reader, ends with the peer connection

	statsMu sync.Mutex
	stats   Stats
}

// Stats are a Publisher's counters.
type Stats struct {
	Units     uint64 // access units sent
	Packets   uint64 // RTP packets sent
	Bytes     uint64 // RTP payload bytes sent
	Keyframes uint64 // IDR units sent
	// Skipped units were not sent: before the first IDR, or after a gap
	// (dropped units, a camera reconnect) until the next IDR.
	Skipped uint64
	// Dropped units were dropped by the camera because this publisher's
	// subscription was full.
	Dropped uint64
	// Discontinuities are camera timestamp jumps (reconnects) smoothed over.
	Discontinuities uint64
	// ParamsInserted counts IDRs sent with SPS/PPS the camera left out.
	ParamsInserted uint64
	// WriteErrors are RTP writes that failed.
	WriteErrors uint64
	// PLIs are picture-loss and full-intra requests received (the camera's
	// GOP cannot be shortened, so they are only counted).
	PLIs uint64
	// StartedAt is when Start was called; Connected when ICE and DTLS were
	// up; FirstFrameAt when the first unit (a keyframe) was sent.
	StartedAt, Connected, FirstFrameAt time.Time
}

// initLocked makes the channels and the context. p.mu is held.
func (p *Publisher) initLocked() {
	if p.inited {
		return
	}
	p.inited = true
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.done = make(chan struct{})
	p.log = slog.New(slog.DiscardHandler)
}

// Done is closed when the session has ended: on its own (the peer
// connection failed or closed, the camera source closed, the camera turned
// H.265; Err says why), by a failed Start, or by Close. After it ends on
// its own, call Close to release the WHIP resource.
func (p *Publisher) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.initLocked()
	return p.done
}

// Err is why the session ended: nil while it runs and after Close.
func (p *Publisher) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// end records why the session ended, once, and closes Done.
func (p *Publisher) end(err error) {
	p.endOnce.Do(func() {
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	})
}

// Stats returns the counters.
func (p *Publisher) Stats() Stats {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	return p.stats
}

// settle checks the settings and fills in the defaults. p.mu is held.
func (p *Publisher) settle() error {
	if p.Logger != nil {
		p.log = p.Logger
	}
	p.log = p.log.With("camera_id", p.CameraID, "session", p.Session)
	if p.CameraID == "" {
		return errors.New("live: Publisher.CameraID: required")
	}
	if p.Source == nil {
		return errors.New("live: Publisher.Source: required")
	}
	u, err := url.Parse(p.WHIPURL)
	if err != nil {
		return fmt.Errorf("live: Publisher.WHIPURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("live: Publisher.WHIPURL: %q is not an http or https URL", redact(u))
	}
	p.endpoint = u
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.StartTimeout, DefaultStartTimeout)
	def(&p.ConnectTimeout, DefaultConnectTimeout)
	if p.Buffer <= 0 {
		p.Buffer = DefaultBuffer
	}
	if p.CatchUpBitrate == 0 {
		p.CatchUpBitrate = DefaultCatchUpBitrate
	}
	p.hc = p.HTTPClient
	if p.hc == nil {
		p.hc = &http.Client{Timeout: DefaultHTTPTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
		p.ownHC = true
	}
	return nil
}

// Start checks the camera's codec (waiting up to 5 s for a camera that has
// not been described yet), POSTs the SDP offer (application/sdp,
// with the bearer token) and applies the 201 answer; it returns then, and
// media flows in the background once ICE and DTLS are up. It is bounded by
// ctx and StartTimeout. On error nothing is left running and Done is
// closed; a refusal is a *StatusError with the server's status and message.
func (p *Publisher) Start(ctx context.Context) (err error) {
	p.mu.Lock()
	p.initLocked()
	switch {
	case p.closed:
		p.mu.Unlock()
		return ErrClosed
	case p.started:
		p.mu.Unlock()
		return ErrStarted
	}
	p.started = true
	p.startDone = make(chan struct{})
	defer close(p.startDone)
	serr := p.settle()
	p.mu.Unlock()
	p.statsMu.Lock()
	p.stats.StartedAt = time.Now()
	p.statsMu.Unlock()

	defer func() {
		if err != nil {
			p.release()
			p.end(err)
		}
	}()
	if serr != nil {
		return serr
	}
	ctx, cancel := context.WithTimeout(ctx, p.StartTimeout)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()

	m, err := p.media(ctx)
	if err != nil {
		return err
	}
	if m.Codec != camera.CodecH264 && m.Codec != camera.CodecH265 {
		return codecError(p.CameraID, m.Codec)
	}

	api, err := newAPI(p.Loopback, p.log)
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: p.ICEServers})
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	p.mu.Lock()
	p.pc = pc
	p.mu.Unlock()

	track, err := webrtc.NewTrackLocalStaticRTP(videoCodec.RTPCodecCapability, "video", "bk-"+p.CameraID)
	if err != nil {
		return fmt.Errorf("new track: %w", err)
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fmt.Errorf("add track: %w", err)
	}
	connected, lost := make(chan struct{}), make(chan struct{})
	var connOnce, lostOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "state", s.String())
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connOnce.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			lostOnce.Do(func() { close(lost) })
		}
	})

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	gt := time.NewTimer(gatherTimeout)
	select {
	case <-gathered:
	case <-gt.C: // offer what was gathered so far
	case <-ctx.Done():
		gt.Stop()
		return p.startErr(ctx)
	}
	gt.Stop()

	answer, resource, err := postOffer(ctx, p.hc, p.endpoint, p.Token, pc.LocalDescription().SDP)
	if err != nil {
		if p.ctx.Err() != nil {
			return ErrClosed
		}
		return err
	}
	p.mu.Lock()
	p.resource = resource
	p.mu.Unlock()
	if resource == nil {
		p.log.Warn("WHIP answer has no Location: the session cannot be deleted")
	}
	if err := checkAnswer(answer); err != nil {
		return err
	}
	if err := setAnswer(pc, answer); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return p.startErr(ctx)
	}

	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
	p.runWG.Go(func() { p.run(track, connected, lost) })
	p.rtcpWG.Go(func() { p.readRTCP(tr.Sender()) })
	p.log.Info("live session started", "whip", redact(p.endpoint))
	return nil
}

// startErr names why Start's ctx ended: Close, or the caller's deadline.
func (p *Publisher) startErr(ctx context.Context) error {
	if p.ctx.Err() != nil {
		return ErrClosed
	}
	return fmt.Errorf("start live session: %w", ctx.Err())
}

// media returns the camera's media, waiting up to mediaWait for a Source
// that has just been started (a live sub-stream opened for this viewer)
// to describe its camera.
func (p *Publisher) media(ctx context.Context) (camera.Media, error) {
	if m, ok := p.Source.Media(); ok {
		return m, nil
	}
	start := time.Now()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.ctx.Err() != nil {
				return camera.Media{}, ErrClosed
			}
		case <-t.C:
			if m, ok := p.Source.Media(); ok {
				return m, nil
			}
			if time.Since(start) < mediaWait {
				continue
			}
		}
		return camera.Media{}, fmt.Errorf("camera %s: %w (waited %v)", p.CameraID, ErrNoMedia,
			time.Since(start).Round(time.Millisecond))
	}
}

// transcodeFPS is the frame rate an H.265 camera is assumed to send, for
// the H.264 encoder's rate control.
const transcodeFPS = 25

// noParamSets: transcoded IDRs carry their own SPS and PPS.
func noParamSets() ([]byte, []byte) { return nil, nil }

// codecError refuses a camera that is neither H.264 nor H.265.
func codecError(cameraID, codec string) error {
	if codec == camera.CodecH265 {
		return fmt.Errorf("camera %s: %w", cameraID, ErrH265Unsupported)
	}
	return fmt.Errorf("camera %s: %w: %q", cameraID, ErrUnsupportedCodec, codec)
}

// setAnswer applies a WHIP answer; a malformed one is an error, never a
// panic.
func setAnswer(pc *webrtc.PeerConnection, answer string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrBadAnswer, r)
		}
	}()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	return nil
}

// Close ends the session: it stops the sender, DELETEs the WHIP resource
// (best effort, bounded), closes the peer connection and waits for every
// goroutine. It may be called more than once, before Start, during Start
// (which then fails with ErrClosed) and after the session ended.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.initLocked()
	p.closed = true
	startDone := p.startDone
	p.mu.Unlock()
	p.cancel()
	if startDone != nil {
		<-startDone
	}
	p.closeOnce.Do(func() {
		p.runWG.Wait()
		p.release()
		p.end(nil)
	})
	return nil
}

// release DELETEs the resource, closes the peer connection and the own
// HTTP client's idle connections, and waits for the RTCP reader. It runs
// once: from a failed Start or from Close.
func (p *Publisher) release() {
	p.mu.Lock()
	pc, resource, running := p.pc, p.resource, p.running
	p.pc, p.resource = nil, nil
	p.mu.Unlock()
	if resource != nil {
		if err := deleteResource(p.hc, resource, p.Token); err != nil {
			p.log.Info("WHIP DELETE failed", "err", err)
		}
	}
	if pc != nil {
		if err := pc.Close(); err != nil {
			p.log.Debug("close peer connection", "err", err)
		}
	}
	p.rtcpWG.Wait()
	if p.ownHC && p.hc != nil {
		p.hc.CloseIdleConnections()
	}
	if running {
		st := p.Stats()
		p.log.Info("live session ended", "units", st.Units, "keyframes", st.Keyframes,
			"bytes", st.Bytes, "skipped", st.Skipped, "dropped", st.Dropped, "write_errors", st.WriteErrors)
	}
}

// readRTCP reads the peer's RTCP (pion's interceptors answer NACKs from
// it) until the peer connection closes, counting picture-loss requests.
func (p *Publisher) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		n := 0
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				n++
			}
		}
		if n > 0 {
			p.statsMu.Lock()
			p.stats.PLIs += uint64(n)
			p.statsMu.Unlock()
		}
	}
}

// run waits for the connection, then sends the cached GOP and the live
// units until Close or the end of the session.
func (p *Publisher) run(track *webrtc.TrackLocalStaticRTP, connected, lost <-chan struct{}) {
	cause := p.stream(track, connected, lost)
	if cause == nil {
		return // Close
	}
	p.log.Warn("live session ended on its own", "err", cause)
	p.end(cause)
	// Stop ICE at once; Close still DELETEs the resource.
	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

// stream returns why the session ended, nil for Close.
func (p *Publisher) stream(track *webrtc.TrackLocalStaticRTP, connected, lost <-chan struct{}) error {
	t := time.NewTimer(p.ConnectTimeout)
	select {
	case <-connected:
		t.Stop()
	case <-lost:
		t.Stop()
		return fmt.Errorf("%w before connecting", ErrPeerClosed)
	case <-t.C:
		return fmt.Errorf("%w within %v", ErrConnect, p.ConnectTimeout)
	case <-p.ctx.Done():
		t.Stop()
		return nil
	}
	subAt := time.Now()
	p.statsMu.Lock()
	p.stats.Connected = subAt
	p.statsMu.Unlock()

	sub := p.Source.SubscribeGOP(p.Buffer)
	defer sub.Close()
	pk := newPacker(uint16(rand.Uint32()), rand.Uint32())
	// An H.265 camera is transcoded to H.264 while it is published.
	var tr *decode.Transcoder
	defer func() {
		if tr != nil {
			tr.Close()
		}
	}()
	var (
		burstStart time.Time
		burstBytes int
		pace       = time.NewTimer(time.Hour)
	)
	pace.Stop()
	defer pace.Stop()
	paramSets := func() ([]byte, []byte) {
		m, _ := p.Source.Media()
		return m.SPS, m.PPS
	}
	for {
		var (
			au camera.AccessUnit
			ok bool
		)
		select {
		case <-p.ctx.Done():
			return nil
		case <-lost:
			return ErrPeerClosed
		case au, ok = <-sub.C():
		}
		if !ok {
			return ErrSourceClosed
		}
		if sub.Gap() {
			pk.waitKey = true
		}
		m, _ := p.Source.Media()
		var pkts []*rtp.Packet
		switch m.Codec {
		case camera.CodecH264:
			if tr != nil { // the camera went back to H.264
				tr.Close()
				tr = nil
				pk.waitKey = true
			}
			pkts = pk.pack(au, paramSets)
		case camera.CodecH265:
			if tr == nil {
				var err error
				if tr, err = decode.NewTranscoder(decode.CodecH265, decode.LiveTranscodeOptions(transcodeFPS)); err != nil {
					return fmt.Errorf("camera %s: %w: %w", p.CameraID, ErrH265Unsupported, err)
				}
				p.log.Info("transcoding H.265 to H.264 for live view", "encoder", tr.Encoder())
			}
			out, err := tr.Transcode(au.NALUs, au.PTS)
			if err != nil && !errors.Is(err, decode.ErrCorrupt) {
				return fmt.Errorf("camera %s: transcode: %w", p.CameraID, err)
			}
			for _, u := range out {
				pkts = append(pkts, pk.pack(camera.AccessUnit{PTS: u.PTS, NTP: au.NTP, NALUs: u.NALUs, IDR: u.IDR}, noParamSets)...)
			}
		default:
			return codecError(p.CameraID, m.Codec)
		}
		writeErrs, err := writeAll(track, pkts)
		p.statsMu.Lock()
		first := p.stats.FirstFrameAt.IsZero() && len(pkts) > 0
		if first {
			p.stats.FirstFrameAt = time.Now()
		}
		p.stats.Units, p.stats.Packets, p.stats.Bytes = pk.units, pk.packets, pk.bytes
		p.stats.Keyframes, p.stats.Skipped, p.stats.Discontinuities = pk.keyframes, pk.skipped, pk.discontinuities
		p.stats.ParamsInserted, p.stats.Dropped = pk.paramsAdded, sub.Dropped()
		p.stats.WriteErrors += writeErrs
		st := p.stats
		p.statsMu.Unlock()
		if first {
			p.log.Info("first keyframe sent", "after_start", st.FirstFrameAt.Sub(st.StartedAt).Round(time.Millisecond),
				"after_connect", st.FirstFrameAt.Sub(st.Connected).Round(time.Millisecond))
		}
		if err != nil {
			return err
		}

		// Pace the cached GOP after its IDR; live units go out as they come.
		if len(pkts) == 0 || !au.NTP.Before(subAt) || p.CatchUpBitrate < 0 {
			continue
		}
		if burstStart.IsZero() {
			burstStart = time.Now()
			continue
		}
		burstBytes += au.Size()
		due := burstStart.Add(time.Duration(float64(burstBytes*8) / float64(p.CatchUpBitrate) * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			pace.Reset(wait)
			select {
			case <-p.ctx.Done():
				return nil
			case <-lost:
				return ErrPeerClosed
			case <-pace.C:
			}
		}
	}
}

// writeAll writes pkts; a closed peer connection ends the session, other
// write errors are counted.
func writeAll(track *webrtc.TrackLocalStaticRTP, pkts []*rtp.Packet) (errs uint64, err error) {
	for _, pkt := range pkts {
		if werr := track.WriteRTP(pkt); werr != nil {
			if errors.Is(werr, io.ErrClosedPipe) {
				return errs, fmt.Errorf("%w: %v", ErrPeerClosed, werr)
			}
			errs++
		}
	}
	return errs, nil
}
