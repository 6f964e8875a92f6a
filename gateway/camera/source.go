// Package camera reads one camera: one RTSP session per camera (gortsplib
// v5), H.264 or H.265, reconnected with capped exponential backoff, with its
// health measured, its access units fanned out to any number of bounded
// subscribers, and its current GOP cached so a new viewer or decoder can
// start at once.
//
// A Source is the only connection to its camera: detection and live view
// both subscribe to it (ARCHITECTURE.md). Per-packet trouble (lost packets,
// undecodable packets) is counted in Stats and logged as a periodic summary,
// never per packet.
package camera

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"github.com/brightkitchen/brightkitchen/internal/backoff"
)

// Defaults of the Source settings.
const (
	DefaultBackoffMin  = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultReadTimeout = 5 * time.Second
	DefaultGOPMaxBytes = 8 << 20
	DefaultGOPMaxUnits = 300
)

// stableAfter is how long a session must stay up for the backoff to reset
// even when it delivered no frames.
const stableAfter = 10 * time.Second

// summaryEvery is how often per-packet trouble is logged while it happens.
const summaryEvery = time.Minute

// Source is one camera's RTSP session, kept up for as long as it runs.
// Settings are read by Start and must not change afterwards; the zero value
// of each means its default.
type Source struct {
	// ID names the camera in logs.
	ID string
	// URL is rtsp:// or rtsps://, with user:password@ if the camera needs it.
	URL string
	// Transport is "tcp", "udp" or "auto" (UDP, falling back to TCP when UDP
	// gets nothing). Default auto.
	Transport string
	// BackoffMin and BackoffMax bound the wait between connection attempts,
	// which doubles after each failure. Defaults 500ms and 30s.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// ReadTimeout: a session that delivers no access unit for this long is
	// closed and reconnected. It also bounds each RTSP request. Default 5s.
	ReadTimeout time.Duration
	// GOPMaxBytes and GOPMaxUnits bound the GOP cache. Defaults 8 MiB, 300.
	GOPMaxBytes int
	GOPMaxUnits int
	// OnHealth, if set, is called with the new Health on each change of
	// Online, in order, from one goroutine, never concurrently. It may call
	// the Source's methods. The queue of pending changes is bounded (64);
	// a callback that blocks for long loses the oldest.
	OnHealth func(Health)
	// Logger receives connection events and summaries. Default: discard.
	Logger *slog.Logger

	mu        sync.Mutex
	started   bool
	closed    bool
	cancel    context.CancelFunc
	done      chan struct{}
	log       *slog.Logger
	url       *base.URL
	protocol  *gortsplib.Protocol
	backoff   time.Duration
	online    bool
	since     time.Time
	startedAt time.Time
	lastFrame time.Time
	lastErr   string
	win       window
	media     Media
	haveMedia bool
	gop       gopCache
	subs      map[*Subscription]struct{}
	stats     Stats // Attempts, Sessions, Frames, Bytes, Dropped, GOPOverflows
	healthQ   []Health
	healthSig chan struct{}

	packetsLost  atomic.Uint64
	decodeErrors atomic.Uint64
}

// Start checks the settings and starts the run loop, returning at once: the
// connection is made in the background, and a failed first connection is
// retried like any other. ctx ends the loop like Close does, but only Close
// waits for it and closes the subscriptions.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return ErrStarted
	}
	if err := s.settle(); err != nil {
		return err
	}
	s.started = true
	now := time.Now()
	s.startedAt, s.since = now, now
	s.backoff = s.BackoffMin
	s.healthSig = make(chan struct{}, 1)
	s.done = make(chan struct{})
	ctx, s.cancel = context.WithCancel(ctx)
	go s.run(ctx)
	return nil
}

// settle checks the settings and fills in the defaults. s.mu is held.
func (s *Source) settle() error {
	u, err := base.ParseURL(s.URL)
	if err != nil {
		return fmt.Errorf("camera %s: url: %w", s.ID, err)
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return fmt.Errorf("camera %s: url: scheme must be rtsp or rtsps", s.ID)
	}
	if u.Host == "" {
		return fmt.Errorf("camera %s: url: missing host", s.ID)
	}
	s.url = u
	switch s.Transport {
	case "", "auto":
		s.Transport, s.protocol = "auto", nil
	case "tcp":
		p := gortsplib.ProtocolTCP
		s.protocol = &p
	case "udp":
		p := gortsplib.ProtocolUDP
		s.protocol = &p
	default:
		return fmt.Errorf("camera %s: transport %q is not tcp, udp or auto", s.ID, s.Transport)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.BackoffMin, DefaultBackoffMin)
	def(&s.BackoffMax, DefaultBackoffMax)
	def(&s.ReadTimeout, DefaultReadTimeout)
	s.BackoffMax = max(s.BackoffMax, s.BackoffMin)
	if s.GOPMaxBytes <= 0 {
		s.GOPMaxBytes = DefaultGOPMaxBytes
	}
	if s.GOPMaxUnits <= 0 {
		s.GOPMaxUnits = DefaultGOPMaxUnits
	}
	s.gop.maxBytes, s.gop.maxUnits = s.GOPMaxBytes, s.GOPMaxUnits
	s.log = s.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("camera_id", s.ID)
	return nil
}

// Close stops the run loop, waits for every goroutine of the Source to end,
// and closes all subscriptions. It may be called more than once, and before
// Start.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.mu.Lock()
	for sub := range s.subs {
		sub.closeLocked()
	}
	s.mu.Unlock()
	return nil
}

// Media is the video track of the current or last session; false before
// the first successful DESCRIBE.
func (s *Source) Media() (Media, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.media.clone(), s.haveMedia
}

// Backoff is the wait before the next connection attempt: BackoffMin while
// the camera is up, doubling after each failed attempt up to BackoffMax.
func (s *Source) Backoff() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backoff
}

// Stats are the Source's counters.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	s.mu.Unlock()
	st.PacketsLost = s.packetsLost.Load()
	st.DecodeErrors = s.decodeErrors.Load()
	return st
}

// run keeps a session up until ctx ends.
func (s *Source) run(ctx context.Context) {
	stopNotify := make(chan struct{})
	var wg sync.WaitGroup
	if s.OnHealth != nil {
		wg.Go(func() { s.notify(stopNotify) })
	}
	defer func() {
		close(stopNotify)
		wg.Wait()
		close(s.done)
	}()

	// Up to 20% off each wait, so that cameras behind one recorder do not
	// retry in step.
	retry := backoff.Backoff{Min: s.BackoffMin, Max: s.BackoffMax, Jitter: 0.2}
	prevErr := ""
	for {
		begun := time.Now()
		frames, err := s.session(ctx)
		up := time.Since(begun)

		s.mu.Lock()
		wasOnline := s.online
		s.setOnline(false, time.Now())
		s.gop.reset()
		if err != nil && ctx.Err() == nil {
			s.lastErr = err.Error()
		}
		if frames > 0 || up >= stableAfter {
			retry.Reset()
		}
		delay := retry.Peek()
		s.backoff = delay
		s.mu.Unlock()

		if ctx.Err() != nil {
			return
		}
		switch {
		case wasOnline:
			s.log.Warn("camera offline", "err", err, "frames", frames, "up", up.Round(time.Millisecond))
		case err.Error() != prevErr:
			s.log.Warn("camera connect failed", "err", err, "retry_in", delay)
		default:
			s.log.Debug("camera connect failed", "err", err, "retry_in", delay)
		}
		prevErr = err.Error()

		if !backoff.Sleep(ctx, retry.Next()) {
			return
		}
	}
}

// session runs one RTSP session and returns how many access units it
// delivered and why it ended (never nil).
func (s *Source) session(ctx context.Context) (frames uint64, err error) {
	s.mu.Lock()
	s.stats.Attempts++
	s.mu.Unlock()

	c := &gortsplib.Client{
		Scheme:       s.url.Scheme,
		Host:         s.url.Host,
		ReadTimeout:  s.ReadTimeout,
		WriteTimeout: s.ReadTimeout,
		Protocol:     s.protocol,
		// gortsplib logs these with the standard logger unless set
		OnPacketsLost: func(n uint64) { s.packetsLost.Add(n) },
		OnDecodeError: func(error) { s.decodeErrors.Add(1) },
		OnTransportSwitch: func(err error) {
			s.log.Debug("camera transport switch", "reason", err)
		},
	}
	if err := c.Start(); err != nil {
		return 0, fmt.Errorf("start rtsp client: %w", err)
	}

	// Client.Describe, Setup and Play do not take a context: closing the
	// client is what interrupts them.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	wg.Go(func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-stop:
		}
	})

	desc, _, err := c.Describe(s.url)
	if err != nil {
		return 0, fmt.Errorf("describe: %w", err)
	}
	tr, err := pickTrack(desc)
	if err != nil {
		return 0, err
	}
	if _, err := c.Setup(desc.BaseURL, tr.media, 0, 0); err != nil {
		return 0, fmt.Errorf("setup: %w", err)
	}

	s.mu.Lock()
	s.media, s.haveMedia = tr.params, true
	s.mu.Unlock()

	in := &ingest{src: s, track: tr, client: c}
	c.OnPacketRTP(tr.media, tr.format, in.onPacket)

	if _, err := c.Play(nil); err != nil {
		return 0, fmt.Errorf("play: %w", err)
	}
	transport := "?"
	if tp := c.Transport(); tp != nil && tp.Session != nil {
		transport = tp.Session.Protocol.String()
	}
	s.mu.Lock()
	s.stats.Sessions++
	s.mu.Unlock()
	s.log.Debug("camera session playing", "codec", tr.params.Codec, "transport", transport)

	waitErr := make(chan error, 1)
	wg.Go(func() { waitErr <- c.Wait() })

	playAt := time.Now()
	tick := time.NewTicker(max(min(s.ReadTimeout/4, 250*time.Millisecond), time.Millisecond))
	defer tick.Stop()
	lastSummary := playAt
	lost0, dec0 := s.packetsLost.Load(), s.decodeErrors.Load()
	announced := false
	defer func() {
		lost, dec := s.packetsLost.Load()-lost0, s.decodeErrors.Load()-dec0
		if lost > 0 || dec > 0 {
			s.log.Info("camera packet trouble", "lost", lost, "decode_errors", dec)
		}
	}()
	for {
		select {
		case err := <-waitErr:
			return in.frames.Load(), fmt.Errorf("session: %w", err)
		case <-ctx.Done():
			return in.frames.Load(), ctx.Err()
		case now := <-tick.C:
			last := playAt
			s.mu.Lock()
			if s.lastFrame.After(last) {
				last = s.lastFrame
			}
			m := s.media
			s.mu.Unlock()
			if now.Sub(last) > s.ReadTimeout {
				return in.frames.Load(), fmt.Errorf("%w for %v", ErrNoFrames, s.ReadTimeout)
			}
			if !announced && in.frames.Load() > 0 {
				announced = true
				s.log.Info("camera online", "codec", m.Codec, "width", m.Width, "height", m.Height, "transport", transport)
			}
			if now.Sub(lastSummary) >= summaryEvery {
				lost, dec := s.packetsLost.Load(), s.decodeErrors.Load()
				if lost > lost0 || dec > dec0 {
					s.log.Info("camera packet trouble", "lost", lost-lost0, "decode_errors", dec-dec0, "over", now.Sub(lastSummary).Round(time.Second))
				}
				lost0, dec0, lastSummary = lost, dec, now
			}
		}
	}
}
