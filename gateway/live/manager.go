package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/backoff"
)

// Defaults of the Manager settings.
const (
	DefaultRepublish = 2
	// The wait before republishing doubles from republishBackoff up to
	// maxRepublishBackoff; a session that then stays up for stableAfter
	// gets its full count of republishes again.
	republishBackoff    = 500 * time.Millisecond
	maxRepublishBackoff = 5 * time.Second
	stableAfter         = 30 * time.Second
)

// StartArgs are the arguments of the live.start command.
type StartArgs struct {
	CameraID string `json:"camera_id"`
	Session  string `json:"session"`
	Token    string `json:"token"`
	WHIPURL  string `json:"whip_url"`
}

// StopArgs are the arguments of the live.stop command.
type StopArgs struct {
	CameraID string `json:"camera_id"`
	Session  string `json:"session"`
}

// CheckWHIP refuses a whip_url that is not on m.Fleet (ErrForeignWHIP).
func (m *Manager) CheckWHIP(whipURL string) error {
	u, err := url.Parse(whipURL)
	if err != nil {
		return fmt.Errorf("whip_url: %w", err)
	}
	if !m.Fleet.Allows(u) {
		return fmt.Errorf("%w: %s is not on %s", ErrForeignWHIP, redact(u), m.Fleet)
	}
	return nil
}

// Validate names the first missing argument.
func (a StartArgs) Validate() error {
	switch {
	case a.CameraID == "":
		return errors.New("camera_id: required")
	case a.Session == "":
		return errors.New("session: required")
	case a.WHIPURL == "":
		return errors.New("whip_url: required")
	}
	return nil
}

// Manager runs at most one Publisher per camera. The zero value is ready
// to use; the settings must not change after the first Start.
type Manager struct {
	// ICEServers, Loopback and HTTPClient are given to every Publisher.
	ICEServers []webrtc.ICEServer
	Loopback   bool
	HTTPClient *http.Client
	// Fleet is the only origin a whip_url may have; a live.start naming
	// another is refused with ErrForeignWHIP. Default: the zero Origin,
	// which allows none, so a gateway must say where its fleet is.
	Fleet Origin
	// Republish is how many times a session that ended on its own (the
	// peer connection failed) is published again with the same ticket,
	// backing off from 0.5 s; never after a refusal (4xx). The relay
	// accepts a re-POST with the same ticket, and re-sends live.start with
	// a new one when that does not come. Default 2; negative: never.
	Republish int
	// Logger receives the sessions' events. Default: discard.
	Logger *slog.Logger

	mu     sync.Mutex
	inited bool
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	pubs   map[string]*session // by camera
	wg     sync.WaitGroup
}

// session is one live.start: its publisher, republished on failure, owned
// by one goroutine.
type session struct {
	args   StartArgs
	src    Source
	ctx    context.Context // ends with Stop, a replacement or Close
	cancel context.CancelFunc
	ready  chan struct{} // closed when the first Start returned
	err    error         // of the first Start; read after ready
	done   chan struct{} // closed when the goroutine ended
}

func (m *Manager) initLocked() {
	if m.inited {
		return
	}
	m.inited = true
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.pubs = map[string]*session{}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Republish == 0 {
		m.Republish = DefaultRepublish
	}
}

// Start publishes src for a live.start command and returns once the WHIP
// answer is applied (or the attempt failed). Start for the session already
// running (or starting) on that camera does nothing and returns that
// session's outcome; a new session replaces the camera's older one.
func (m *Manager) Start(ctx context.Context, src Source, args StartArgs) error {
	if err := args.Validate(); err != nil {
		return fmt.Errorf("live.start: %w", err)
	}
	if err := m.CheckWHIP(args.WHIPURL); err != nil {
		return fmt.Errorf("live.start: %w", err)
	}
	if src == nil {
		return fmt.Errorf("live.start: camera %q: no source", args.CameraID)
	}
	m.mu.Lock()
	m.initLocked()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	old := m.pubs[args.CameraID]
	if old != nil && old.args.Session == args.Session {
		m.mu.Unlock()
		return waitReady(ctx, old)
	}
	s := &session{args: args, src: src, ready: make(chan struct{}), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(m.ctx)
	m.pubs[args.CameraID] = s
	m.wg.Go(func() { m.run(ctx, s, old) })
	m.mu.Unlock()
	return waitReady(ctx, s)
}

func waitReady(ctx context.Context, s *session) error {
	select {
	case <-s.ready:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop ends the camera's session for live.stop. An empty session stops
// whatever the camera publishes; a session that is not the camera's
// current one (already replaced or ended) is ignored. It waits until the
// publisher is closed.
func (m *Manager) Stop(cameraID, session string) {
	m.mu.Lock()
	m.initLocked()
	s := m.pubs[cameraID]
	if s == nil || (session != "" && s.args.Session != session) {
		m.mu.Unlock()
		return
	}
	delete(m.pubs, cameraID)
	m.mu.Unlock()
	s.cancel()
	<-s.done
}

// Active lists the cameras with a session, sorted.
func (m *Manager) Active() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.pubs))
	for id := range m.pubs {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Close stops every session and waits for them. Start fails afterwards.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.initLocked()
	m.closed = true
	m.pubs = map[string]*session{}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}

func (m *Manager) publisher(s *session) *Publisher {
	a := s.args
	return &Publisher{
		CameraID: a.CameraID, Session: a.Session, Token: a.Token, WHIPURL: a.WHIPURL,
		Source: s.src, ICEServers: m.ICEServers, Loopback: m.Loopback, HTTPClient: m.HTTPClient,
		Logger: m.Logger,
	}
}

// run owns the session's publishers: the first Start (bounded by the
// caller's ctx too), then republishing while the session lasts. old is the
// session it replaces, closed alongside.
func (m *Manager) run(ctx context.Context, s *session, old *session) {
	defer close(s.done)
	defer m.forget(s)
	if old != nil {
		old.cancel() // its goroutine closes its publisher meanwhile
	}

	p := m.publisher(s)
	sctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	s.err = p.Start(sctx)
	stop()
	cancel()
	close(s.ready)
	if s.err != nil {
		_ = p.Close()
		return
	}

	log := m.Logger.With("camera_id", s.args.CameraID, "session", s.args.Session)
	retry := backoff.Backoff{Min: republishBackoff, Max: maxRepublishBackoff}
	for attempt := 0; ; attempt++ {
		select {
		case <-s.ctx.Done():
			_ = p.Close()
			return
		case <-p.Done():
		}
		cause := p.Err()
		_ = p.Close()
		if st := p.Stats(); !st.Connected.IsZero() && time.Since(st.Connected) >= stableAfter {
			attempt = 0
			retry.Reset()
		}
		if cause == nil || Permanent(cause) || attempt >= m.Republish {
			if cause != nil {
				log.Info("live session over", "err", cause, "republished", attempt)
			}
			return
		}
		if !backoff.Sleep(s.ctx, retry.Next()) {
			return
		}
		log.Info("republishing live session", "after", cause, "attempt", attempt+1)
		p = m.publisher(s)
		if err := p.Start(s.ctx); err != nil {
			log.Info("republish failed", "err", err)
		}
		// a failed Start has closed Done: the loop decides again
	}
}

// forget removes s from the camera map if it is still there.
func (m *Manager) forget(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pubs[s.args.CameraID] == s {
		delete(m.pubs, s.args.CameraID)
	}
}
