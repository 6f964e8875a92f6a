package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/brightkitchen/brightkitchen/internal/backoff"
)

// Supervisor keeps one plugin process running for the gateway: it launches
// it, asks it to Describe itself, pings it, enforces a deadline on each
// Detect, relaunches it with backoff when it crashes, stops answering or
// misses a deadline, and quarantines it when it fails MaxRestarts times
// within Window. Detect calls made meanwhile fail at once with ErrNotReady
// or ErrQuarantined, so a camera never waits on a broken plugin.
//
// Set the fields, then Start; the zero value of each setting means its
// default.
type Supervisor struct {
	// Name is the plugin's name in the gateway config; required.
	Name string
	// Path is the plugin executable; required.
	Path string
	// Deadline bounds each Detect call. Default 2s.
	Deadline time.Duration
	// PingEvery is how often the plugin is pinged. Default 5s.
	PingEvery time.Duration
	// MaxRestarts failures within Window quarantine the plugin. Defaults 5
	// and 10m.
	MaxRestarts int
	Window      time.Duration
	// BackoffMin and BackoffMax bound the wait before a relaunch, which
	// doubles after each failure. Defaults 200ms and 30s.
	BackoffMin, BackoffMax time.Duration
	// QuarantineFor is how long a quarantined plugin waits before one more
	// try. Default 30m.
	QuarantineFor time.Duration
	// Options are passed to Launch. Relaunch replaces Options.Env.
	Options Options
	// OnChange, if set, is called with the new State whenever the plugin
	// becomes ready, fails or is quarantined; never concurrently.
	OnChange func(State)
	// Logger receives launches, failures and quarantines. Default: discard.
	Logger *slog.Logger

	mu          sync.Mutex
	conn        *Conn
	info        Info
	ready       bool
	quarantined bool
	pid         int
	restarts    int
	lastErr     string
	failures    []time.Time
	kick        chan failure
	relaunch    chan struct{}
	cancel      context.CancelFunc
	done        chan struct{}
	closed      bool
	calls       atomic.Uint64
	errs        atomic.Uint64
	deadlines   atomic.Uint64
	// answered Detect calls: their total and last time, and the last
	// inference time a plugin reported in a detection's "infer_ms" attr
	answered, answerNanos, lastNanos, inferMicros atomic.Int64
}

// State is a plugin's condition, for the heartbeat and status page.
type State struct {
	Name        string `json:"name"`
	Ready       bool   `json:"ready"`
	Quarantined bool   `json:"quarantined"`
	Pid         int    `json:"pid"`
	Version     string `json:"version"`
	// Restarts counts relaunches after a failure since Start.
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
	// Calls, Errors and Deadlines count Detect calls, those that failed, and
	// those cut off at the deadline.
	Calls     uint64 `json:"calls"`
	Errors    uint64 `json:"errors"`
	Deadlines uint64 `json:"deadlines"`
	// DetectMeanMS and DetectLastMS are the time a frame took, sent to the
	// plugin and answered (milliseconds): mean since Start, and the last.
	DetectMeanMS float64 `json:"detect_mean_ms"`
	DetectLastMS float64 `json:"detect_last_ms"`
	// InferLastMS is the model's own time on the last frame that had a
	// detection saying it (attr "infer_ms", as bk-plugin-onnx reports);
	// 0 when the plugin says nothing of it.
	InferLastMS float64 `json:"infer_last_ms,omitempty"`
}

// Start launches the plugin in the background and returns at once.
func (s *Supervisor) Start(ctx context.Context) error {
	if s.Name == "" || s.Path == "" {
		return errors.New("plugin supervisor: Name and Path are required")
	}
	if s.Deadline <= 0 {
		s.Deadline = 2 * time.Second
	}
	if s.PingEvery <= 0 {
		s.PingEvery = 5 * time.Second
	}
	if s.MaxRestarts <= 0 {
		s.MaxRestarts = 5
	}
	if s.Window <= 0 {
		s.Window = 10 * time.Minute
	}
	if s.BackoffMin <= 0 {
		s.BackoffMin = 200 * time.Millisecond
	}
	if s.BackoffMax <= 0 {
		s.BackoffMax = 30 * time.Second
	}
	if s.QuarantineFor <= 0 {
		s.QuarantineFor = 30 * time.Minute
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Options.Logger == nil {
		s.Options.Logger = s.Logger
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return errors.New("plugin supervisor: already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.kick = make(chan failure, 1)
	s.relaunch = make(chan struct{}, 1)
	s.done = make(chan struct{})
	go s.run(ctx)
	return nil
}

// Close stops the plugin and waits for it.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return nil
}

// Relaunch replaces the plugin process: the running one is stopped and a
// new one launched at once with env in place of Options.Env (the gateway's
// environment is still passed), whatever state the plugin is in; a
// quarantine ends. It is not a failure: it counts toward neither Restarts
// nor quarantine. Meanwhile Detect fails with ErrNotReady. For a change of
// what the plugin runs, such as its model.
func (s *Supervisor) Relaunch(env []string) {
	s.mu.Lock()
	s.Options.Env = slices.Clone(env)
	ch := s.relaunch
	s.mu.Unlock()
	if ch == nil {
		return // not started: Start launches with env
	}
	select {
	case ch <- struct{}{}:
	default: // one is pending already; it launches with the newest env
	}
}

// Env is the environment the plugin is launched with on top of the
// caller's own: Options.Env, or what the last Relaunch gave.
func (s *Supervisor) Env() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Options.Env)
}

// Info is the plugin's Describe answer while it is ready.
func (s *Supervisor) Info() (Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info, s.ready
}

// Quarantined reports whether the plugin is quarantined.
func (s *Supervisor) Quarantined() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quarantined
}

// State returns the plugin's condition.
func (s *Supervisor) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *Supervisor) stateLocked() State {
	return State{
		Name: s.Name, Ready: s.ready, Quarantined: s.quarantined, Pid: s.pid, Version: s.info.Version,
		Restarts: s.restarts, LastError: s.lastErr,
		Calls: s.calls.Load(), Errors: s.errs.Load(), Deadlines: s.deadlines.Load(),
		DetectMeanMS: ms(s.answerNanos.Load(), s.answered.Load()), DetectLastMS: ms(s.lastNanos.Load(), 1),
		InferLastMS: float64(s.inferMicros.Load()) / 1000,
	}
}

// ms is nanos/n in milliseconds, 0 for no n.
func ms(nanos, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(nanos) / float64(n) / 1e6
}

// Detect sends a frame to the plugin within the deadline. The detections
// are as the plugin returned them: check them with ValidateDetections and
// Info. A missed deadline or a broken connection fails the plugin, which
// is then killed and relaunched.
func (s *Supervisor) Detect(ctx context.Context, f Frame) ([]Detection, error) {
	s.mu.Lock()
	conn, ready, quarantined, closed := s.conn, s.ready, s.quarantined, s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case quarantined:
		return nil, fmt.Errorf("%s: %w", s.Name, ErrQuarantined)
	case !ready:
		return nil, fmt.Errorf("%s: %w", s.Name, ErrNotReady)
	}
	s.calls.Add(1)
	// The deadline is the plugin's fault only when it is ours: a caller
	// whose own deadline comes first gave up on its own.
	ours := true
	if dl, ok := ctx.Deadline(); ok && !dl.After(time.Now().Add(s.Deadline)) {
		ours = false
	}
	dctx, cancel := context.WithTimeout(ctx, s.Deadline)
	defer cancel()
	t0 := time.Now()
	ds, err := conn.Detect(dctx, f)
	if err == nil {
		took := int64(time.Since(t0))
		s.answered.Add(1)
		s.answerNanos.Add(took)
		s.lastNanos.Store(took)
		for _, d := range ds {
			if v, perr := strconv.ParseFloat(d.Attrs["infer_ms"], 64); perr == nil && v >= 0 && v < 1e6 {
				s.inferMicros.Store(int64(v * 1000))
				break
			}
		}
		return ds, nil
	}
	s.errs.Add(1)
	switch code := status.Code(err); {
	case code == codes.DeadlineExceeded && ours && ctx.Err() == nil:
		s.deadlines.Add(1)
		s.fail(conn, fmt.Sprintf("no answer within the %v deadline", s.Deadline))
		return nil, fmt.Errorf("%s: %w (%v)", s.Name, ErrDeadline, s.Deadline)
	case code == codes.Unavailable, code == codes.Canceled && ctx.Err() == nil:
		s.fail(conn, "connection to the plugin broke: "+status.Convert(err).Message())
	}
	return nil, fmt.Errorf("%s: detect: %w", s.Name, err)
}

// failure is why a plugin process is given up.
type failure struct {
	conn   *Conn
	reason string
}

// fail marks conn broken, if it is still the current one, and wakes the
// run loop to replace it.
func (s *Supervisor) fail(conn *Conn, reason string) {
	s.mu.Lock()
	current := s.conn == conn && s.ready
	if current {
		s.ready = false
	}
	s.mu.Unlock()
	if current {
		select {
		case s.kick <- failure{conn, reason}:
		default:
		}
	}
}

func (s *Supervisor) setState(f func()) {
	s.mu.Lock()
	f()
	st := s.stateLocked()
	s.mu.Unlock()
	if s.OnChange != nil {
		s.OnChange(st)
	}
}

func (s *Supervisor) run(ctx context.Context) {
	defer close(s.done)
	retry := backoff.Backoff{Min: s.BackoffMin, Max: s.BackoffMax}
	for ctx.Err() == nil {
		started := time.Now()
		reason, relaunch := s.serve(ctx)
		if ctx.Err() != nil {
			return
		}
		if relaunch {
			s.relaunched()
			retry.Reset()
			continue
		}
		if time.Since(started) > 2*s.Window/time.Duration(s.MaxRestarts) {
			retry.Reset() // it ran well for a while
		}
		now := time.Now()
		quarantine := false
		s.setState(func() {
			s.ready, s.conn, s.pid, s.lastErr = false, nil, 0, reason
			s.restarts++
			s.failures = append(s.failures, now)
			for len(s.failures) > 0 && now.Sub(s.failures[0]) > s.Window {
				s.failures = s.failures[1:]
			}
			quarantine = len(s.failures) >= s.MaxRestarts
			s.quarantined = quarantine
		})
		var wait time.Duration
		if quarantine {
			s.Logger.Error("plugin quarantined", "plugin", s.Name, "failures", s.MaxRestarts, "window", s.Window, "err", reason)
			wait = s.QuarantineFor
		} else {
			wait = retry.Next()
			s.Logger.Warn("plugin failed; relaunching", "plugin", s.Name, "err", reason, "backoff", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.relaunch:
			t.Stop()
			s.relaunched()
			s.Logger.Info("plugin relaunched with new settings", "plugin", s.Name)
			retry.Reset()
			continue
		case <-t.C:
		}
		if quarantine {
			s.setState(func() { s.quarantined, s.failures = false, s.failures[:0] })
			s.Logger.Info("plugin quarantine over; one more try", "plugin", s.Name)
		}
	}
}

// relaunched forgets the failures before a Relaunch: what failed then is
// not what runs now.
func (s *Supervisor) relaunched() {
	s.setState(func() {
		s.ready, s.conn, s.pid, s.lastErr = false, nil, 0, ""
		s.quarantined, s.failures = false, s.failures[:0]
	})
}

// serve launches the plugin and watches it until it fails (the reason is
// returned), Relaunch is called (relaunch is true) or ctx ends.
func (s *Supervisor) serve(ctx context.Context) (reason string, relaunch bool) {
	s.mu.Lock()
	opts := s.Options
	s.mu.Unlock()
	conn, err := Launch(ctx, s.Path, opts)
	if err != nil {
		return err.Error(), false
	}
	defer conn.Kill()
	dctx, cancel := context.WithTimeout(ctx, opts.startTimeout())
	info, err := conn.Describe(dctx)
	cancel()
	if err != nil {
		return err.Error(), false
	}
	if info.Name != s.Name {
		s.Logger.Warn("plugin describes itself under another name", "plugin", s.Name, "described", info.Name)
	}
	s.setState(func() { s.conn, s.info, s.ready, s.pid = conn, info, true, conn.Pid() })
	s.Logger.Info("plugin ready", "plugin", s.Name, "version", info.Version, "pid", conn.Pid())
	poll := time.NewTicker(min(s.PingEvery, 250*time.Millisecond))
	defer poll.Stop()
	lastPing := time.Now()
	for {
		select {
		case <-ctx.Done():
			s.setState(func() { s.ready, s.conn = false, nil })
			conn.Close()
			return "", false
		case <-s.relaunch:
			s.setState(func() { s.ready, s.conn = false, nil })
			conn.Close()
			s.Logger.Info("plugin relaunched with new settings", "plugin", s.Name)
			return "", true
		case f := <-s.kick:
			if f.conn != conn {
				continue // a stale failure of an earlier process
			}
			return exitedOr(conn, f.reason), false
		case now := <-poll.C:
			if conn.Exited() {
				return "plugin exited", false
			}
			if now.Sub(lastPing) >= s.PingEvery {
				lastPing = now
				if err := pingWithin(conn, s.Deadline); err != nil {
					return exitedOr(conn, "ping: "+err.Error()), false
				}
			}
		}
	}
}

// exitedOr names a failure: a broken connection is most often the process
// having died, which go-plugin notices a moment after the socket breaks; so
// give it up to 500 ms to say so before blaming the transport.
func exitedOr(conn *Conn, reason string) string {
	for i := 0; i < 50; i++ {
		if conn.Exited() {
			return "plugin exited"
		}
		time.Sleep(10 * time.Millisecond)
	}
	return reason
}

// pingWithin pings, giving up after d (go-plugin's Ping takes no context).
func pingWithin(conn *Conn, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- conn.Ping() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("no answer within %v", d)
	}
}

func (o Options) startTimeout() time.Duration {
	if o.StartTimeout <= 0 {
		return 10 * time.Second
	}
	return o.StartTimeout
}
