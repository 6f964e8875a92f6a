package live

// Long file: the relay's camera and viewer lifecycle shares one lock and its
// invariants; the WebRTC plumbing and HTTP handlers are in files of their
// own.

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/internal/backoff"
	"github.com/brightkitchen/brightkitchen/internal/logging"
)

const (
	// connectTimeout bounds the time from a WHEP answer to the viewer's
	// SRTP session being up.
	connectTimeout = 30 * time.Second
	// gatherTimeout bounds ICE gathering before answering.
	gatherTimeout = 10 * time.Second
	// stopTimeout bounds a Config.Stop call.
	stopTimeout = 10 * time.Second
	// After an upstream fails while viewers watch, the relay first gives
	// the gateway restartGrace to re-publish with the same ticket, then
	// re-Starts with a new ticket up to maxRestarts times, waiting
	// StartTimeout plus a backoff (restartBackoff doubling up to
	// maxRestartBackoff) for each.
	restartGrace      = 2 * time.Second
	restartBackoff    = time.Second
	maxRestartBackoff = 30 * time.Second
	maxRestarts       = 5
)

// restartPolicy holds the re-Start timings (the constants; tests shorten them).
type restartPolicy struct {
	grace, backoff, maxBackoff time.Duration
	max                        int
}

// Relay relays cameras' WHIP upstreams to WHEP viewers. Create it with New
// and release it with Close.
type Relay struct {
	cfg       Config
	log       *slog.Logger
	m         *metrics
	viewerAPI *webrtc.API
	upAPI     *webrtc.API
	udp       net.PacketConn
	mux       ice.UDPMux
	epoch     time.Time
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	cameras  map[string]*camera
	sessions map[string]*viewer
	canteens map[string]int
	nextGen  uint64
	upCount  int

	restart restartPolicy
}

// New builds a relay from cfg; with cfg.UDPListen set it binds that port.
func New(cfg Config) (*Relay, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Relay{
		cfg:      cfg,
		log:      cfg.Logger,
		m:        m,
		epoch:    time.Now(),
		cameras:  map[string]*camera{},
		sessions: map[string]*viewer{},
		canteens: map[string]int{},
		restart:  restartPolicy{restartGrace, restartBackoff, maxRestartBackoff, maxRestarts},
	}
	if cfg.UDPListen != "" {
		network := "udp"
		if cfg.Loopback {
			network = "udp4"
		}
		conn, err := net.ListenPacket(network, cfg.UDPListen)
		if err != nil {
			m.unregister()
			return nil, fmt.Errorf("live.Config.UDPListen: %w", err)
		}
		if uc, ok := conn.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(4 << 20)
			_ = uc.SetWriteBuffer(4 << 20)
		}
		r.udp = conn
		r.mux = webrtc.NewICEUDPMux(logging.Pion{Log: r.log}.NewLogger("udpmux"), conn)
	}
	if err := r.buildAPIs(); err != nil {
		r.closeMux()
		m.unregister()
		return nil, err
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// UDPAddr is the shared ICE UDP address (nil without Config.UDPListen).
func (r *Relay) UDPAddr() net.Addr {
	if r.udp == nil {
		return nil
	}
	return r.udp.LocalAddr()
}

// Viewers returns the number of viewer sessions of cameraID.
func (r *Relay) Viewers(cameraID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.cameras[cameraID]; c != nil {
		return len(c.viewers)
	}
	return 0
}

// Session returns who watches through a viewer session of a camera; ok
// is false when there is no such session.
func (r *Relay) Session(cameraID, session string) (who Viewer, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v := r.sessions[session]; v != nil && v.cam.id == cameraID {
		return v.who, true
	}
	return Viewer{}, false
}

// ViewerSession is one viewer session as Sessions lists it.
type ViewerSession struct {
	// ID is the session's id (the WHEP resource's last path element).
	ID string
	// Camera is the watched camera's id in the relay.
	Camera string
	Viewer Viewer
	// Since is when the session was accepted.
	Since time.Time
	// HLS is true for an HLS session, false for WHEP.
	HLS bool
}

// Sessions lists the viewer sessions.
func (r *Relay) Sessions() []ViewerSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ViewerSession, 0, len(r.sessions))
	for id, v := range r.sessions {
		out = append(out, ViewerSession{ID: id, Camera: v.cam.id, Viewer: v.who, Since: v.created, HLS: v.hls != nil})
	}
	return out
}

// EndViewers ends the viewer sessions for which end is true (the owner's
// user was deleted, logged out or lost the right to watch) and returns how
// many it ended; OnViewerEnd is called for each. end runs without the
// relay's lock, so it may be slow (a database lookup).
func (r *Relay) EndViewers(end func(ViewerSession) bool) int {
	n := 0
	for _, s := range r.Sessions() {
		if !end(s) {
			continue
		}
		r.mu.Lock()
		v := r.sessions[s.ID]
		r.mu.Unlock()
		if v != nil {
			r.removeViewer(v, reasonRevoked)
			n++
		}
	}
	return n
}

// Upstreams returns the number of cameras with a publisher connected.
func (r *Relay) Upstreams() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.upCount
}

// Close ends every viewer and upstream, asks the gateways to stop, and
// waits for the relay's goroutines.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	viewers := make([]*viewer, 0, len(r.sessions))
	for _, v := range r.sessions {
		viewers = append(viewers, v)
	}
	for _, c := range r.cameras {
		c.signalLocked()
	}
	r.mu.Unlock()
	r.cancel()

	var wg sync.WaitGroup
	for _, v := range viewers {
		wg.Go(func() { r.removeViewer(v, reasonShutdown) })
	}
	wg.Wait()
	r.mu.Lock()
	var cleanups []func()
	for _, c := range r.cameras {
		cleanups = append(cleanups, r.teardownLocked(c))
	}
	r.mu.Unlock()
	for _, f := range cleanups {
		wg.Go(f)
	}
	wg.Wait()
	r.wg.Wait()
	r.closeMux()
	r.m.unregister()
	return nil
}

func (r *Relay) closeMux() {
	if r.mux != nil {
		_ = r.mux.Close()
	}
	if r.udp != nil {
		_ = r.udp.Close()
	}
}

// clock is the relay's monotonic clock in nanoseconds.
func (r *Relay) clock() int64 { return int64(time.Since(r.epoch)) }

// spawnLocked runs f in a goroutine that Close waits for; it refuses once
// the relay is closed. Relay.mu must be held.
func (r *Relay) spawnLocked(f func()) bool {
	if r.closed {
		return false
	}
	r.wg.Go(f)
	return true
}

func (r *Relay) spawn(f func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spawnLocked(f)
}

// newTicket returns a fresh session (128 random bits) and token (256).
func newTicket() *Ticket {
	return &Ticket{Session: rand.Text(), Token: rand.Text() + rand.Text()}
}

// reserve admits one more viewer of cameraID under the caps, creating the
// camera if needed.
func (r *Relay) reserve(cameraID string, v Viewer) (*camera, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	c := r.cameras[cameraID]
	if max := r.cfg.MaxViewersPerCamera; max > 0 && c != nil && c.active() >= max {
		return nil, fmt.Errorf("%w (%d viewers of camera %q)", ErrCameraFull, max, cameraID)
	}
	if max := r.cfg.MaxViewersPerCanteen; max > 0 && v.CanteenID != "" && r.canteens[v.CanteenID] >= max {
		return nil, fmt.Errorf("%w (%d viewers of canteen %q)", ErrCanteenFull, max, v.CanteenID)
	}
	if c == nil {
		c = newCamera(cameraID, r.cfg.NoGOPCache)
		r.cameras[cameraID] = c
		for _, sh := range c.shards {
			r.spawnLocked(func() { sh.run(r.ctx.Done(), r.failViewer) })
		}
	}
	c.pending++
	if v.CanteenID != "" {
		r.canteens[v.CanteenID]++
	}
	r.stopLingerLocked(c)
	return c, nil
}

// ensureStarted asks c's gateway to publish unless it has been asked.
func (r *Relay) ensureStarted(c *camera) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.ticket == nil && !r.closed {
		r.issueTicketLocked(c)
	}
}

// unreserve gives back a reservation that did not become a viewer.
func (r *Relay) unreserve(c *camera, v Viewer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.pending--
	r.releaseCanteenLocked(v.CanteenID)
	r.checkIdleLocked(c)
}

func (r *Relay) releaseCanteenLocked(id string) {
	if id == "" {
		return
	}
	if r.canteens[id]--; r.canteens[id] <= 0 {
		delete(r.canteens, id)
	}
}

// issueTicketLocked gives c a new ticket and calls Config.Start with it.
func (r *Relay) issueTicketLocked(c *camera) {
	t := newTicket()
	c.ticket, c.startErr = t, nil
	c.signalLocked()
	r.spawnLocked(func() { r.callStart(c, *t) })
}

func (r *Relay) callStart(c *camera, t Ticket) {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.StartTimeout)
	defer cancel()
	err := r.cfg.Start(ctx, c.id, t)
	if err == nil {
		r.m.starts.WithLabelValues("ok").Inc()
		r.log.Debug("asked gateway to publish", "camera_id", c.id, "session", t.Session)
		return
	}
	r.m.starts.WithLabelValues("error").Inc()
	r.log.Warn("ask gateway to publish", "camera_id", c.id, "err", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.ticket != nil && c.ticket.Session == t.Session {
		c.startErr = fmt.Errorf("%w for camera %q: %w", ErrStartFailed, c.id, err)
		c.signalLocked()
	}
}

func (r *Relay) callStop(cameraID, session string) {
	if r.cfg.Stop == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := r.cfg.Stop(ctx, cameraID, session); err != nil {
		r.log.Warn("ask gateway to stop", "camera_id", cameraID, "session", session, "err", err)
	}
}

// waitReady waits until c's upstream has delivered a keyframe, bounded by
// Config.StartTimeout and ctx.
func (r *Relay) waitReady(ctx context.Context, c *camera) error {
	timer := time.NewTimer(r.cfg.StartTimeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		closed, ready, err, ch := r.closed, c.ready, c.startErr, c.changed
		r.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case ready:
			return nil
		case err != nil:
			return err
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%w: no keyframe from camera %q within %v", ErrStartTimeout, c.id, r.cfg.StartTimeout)
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrStartTimeout, ctx.Err())
		}
	}
}

// markReady records that u delivered its first keyframe.
func (r *Relay) markReady(u *upstream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := u.cam; c.up == u {
		c.ready, c.everReady = true, true
		c.signalLocked()
		r.log.Info("upstream ready", "camera_id", c.id, "session", u.session)
	}
}

// checkIdleLocked stops a camera nobody watches: at once if it never
// streamed, after Config.Linger otherwise.
func (r *Relay) checkIdleLocked(c *camera) {
	if r.closed {
		return
	}
	if c.active() > 0 {
		r.stopLingerLocked(c)
		return
	}
	if !c.everReady || (c.ticket == nil && c.up == nil) {
		r.spawnLocked(r.teardownLocked(c))
		return
	}
	if c.linger != nil {
		return
	}
	c.lingerSeq++
	seq := c.lingerSeq
	c.linger = time.AfterFunc(r.cfg.Linger, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.closed || c.lingerSeq != seq || c.active() > 0 {
			return
		}
		c.linger = nil
		r.log.Info("stopping camera after linger", "camera_id", c.id)
		r.spawnLocked(r.teardownLocked(c))
	})
}

func (r *Relay) stopLingerLocked(c *camera) {
	if c.linger != nil {
		c.linger.Stop()
		c.linger = nil
	}
	c.lingerSeq++
}

// teardownLocked forgets c's ticket and upstream and returns what is left
// to do outside the lock: close the upstream and call Config.Stop.
func (r *Relay) teardownLocked(c *camera) func() {
	r.stopLingerLocked(c)
	t, up := c.ticket, c.up
	c.ticket, c.up, c.ready, c.everReady, c.startErr = nil, nil, false, false, nil
	r.nextGen++
	c.setGen(r.nextGen, nil)
	c.signalLocked()
	if up != nil {
		r.upCount--
		r.m.upstreams.Dec()
	}
	if c.active() == 0 && r.cameras[c.id] == c {
		delete(r.cameras, c.id)
		close(c.stop)
	}
	return func() {
		if up != nil {
			up.close()
		}
		if t != nil {
			r.callStop(c.id, t.Session)
		}
	}
}

// installUpstream makes u the camera's upstream, replacing any other.
func (r *Relay) installUpstream(u *upstream, profile string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := u.cam
	if r.closed {
		return ErrClosed
	}
	if r.cameras[c.id] != c || c.ticket == nil || c.ticket.Session != u.session {
		return fmt.Errorf("%w: the session ended while the offer was answered", ErrNoTicket)
	}
	old := c.up
	c.up, c.ready, c.profile, c.startErr = u, false, profile, nil
	c.setGen(u.gen, u)
	c.signalLocked()
	if old == nil {
		r.upCount++
		r.m.upstreams.Inc()
	} else {
		r.log.Info("upstream replaced", "camera_id", c.id, "session", u.session)
		r.spawnLocked(old.close)
	}
	return nil
}

// upstreamLost handles an upstream that closed, failed or went silent.
// Viewers stay attached; if there are any, the relay waits for the gateway
// to re-publish and re-Starts it otherwise.
func (r *Relay) upstreamLost(u *upstream, why string) {
	r.mu.Lock()
	c := u.cam
	if c.up != u {
		r.mu.Unlock()
		u.close()
		return
	}
	c.up, c.ready = nil, false
	r.upCount--
	r.m.upstreams.Dec()
	r.nextGen++
	c.setGen(r.nextGen, nil)
	c.signalLocked()
	r.log.Info("upstream lost", "camera_id", c.id, "session", u.session, "why", why, "viewers", len(c.viewers))
	switch {
	case c.active() > 0 && !c.restarting && c.ticket != nil:
		c.restarting = true
		r.spawnLocked(func() { r.restartLoop(c) })
	case c.active() == 0:
		r.checkIdleLocked(c)
	}
	r.mu.Unlock()
	u.close()
}

// restartLoop brings back the upstream of a camera that has viewers.
func (r *Relay) restartLoop(c *camera) {
	defer func() {
		r.mu.Lock()
		c.restarting = false
		r.mu.Unlock()
	}()
	p := r.restart
	wait, retry := p.grace, backoff.Backoff{Min: p.backoff, Max: p.maxBackoff}
	for attempt := 1; ; attempt++ {
		if r.waitReadyFor(c, wait) {
			return
		}
		r.mu.Lock()
		if r.closed || c.active() == 0 || c.ticket == nil || r.cameras[c.id] != c {
			r.mu.Unlock()
			return
		}
		if attempt > p.max {
			victims := make([]*viewer, 0, len(c.viewers))
			for _, v := range c.viewers {
				victims = append(victims, v)
			}
			r.mu.Unlock()
			r.log.Warn("giving up on camera upstream", "camera_id", c.id, "attempts", p.max)
			for _, v := range victims {
				r.removeViewer(v, reasonUpstreamLost)
			}
			return
		}
		if c.up == nil {
			old := c.ticket
			r.issueTicketLocked(c)
			r.spawnLocked(func() { r.callStop(c.id, old.Session) })
			r.log.Info("re-starting camera upstream", "camera_id", c.id, "attempt", attempt)
		}
		r.mu.Unlock()
		wait = r.cfg.StartTimeout + retry.Next()
	}
}

// waitReadyFor waits up to d for c to be ready; false if it is not, if the
// relay closes or if nobody watches c any more.
func (r *Relay) waitReadyFor(c *camera, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		r.mu.Lock()
		closed, ready, idle, ch := r.closed, c.ready, c.active() == 0, c.changed
		r.mu.Unlock()
		switch {
		case ready:
			return true
		case closed, idle:
			return false
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		case <-r.ctx.Done():
			return false
		}
	}
}

// register turns a reservation into a viewer session.
func (r *Relay) register(v *viewer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	c := v.cam
	c.pending--
	c.viewers[v.id] = v
	r.sessions[v.id] = v
	v.registered = true
	v.created = time.Now()
	r.m.viewers.Inc()
	ttl, reason := r.cfg.ViewerTTL, reasonTTL
	if !v.who.Until.IsZero() && time.Until(v.who.Until) < ttl {
		ttl, reason = max(time.Until(v.who.Until), 0), reasonUntil
	}
	v.ttl = time.AfterFunc(ttl, func() { r.removeViewer(v, reason) })
	if v.hls != nil {
		// An HLS session has no connection to wait for; its timer ends it
		// once it stops fetching.
		v.connectTimer = time.AfterFunc(r.cfg.HLSIdle, func() { r.hlsIdleCheck(v) })
		c.hlsViewers++
		if c.hls == nil {
			c.hls = r.newHLSMuxerLocked(c)
		}
		return nil
	}
	v.connectTimer = time.AfterFunc(connectTimeout, func() { r.removeViewer(v, reasonConnectTimeout) })
	return nil
}

// attachViewer adds a connected viewer to its camera's fan-out and starts
// its writer.
func (r *Relay) attachViewer(v *viewer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v.removed || !v.registered || r.closed {
		return false
	}
	v.attached = true
	v.connectTimer.Stop()
	v.cam.attach(v)
	return r.spawnLocked(v.catchUp)
}

// failViewer removes a viewer whose write failed, off the shard's goroutine.
func (r *Relay) failViewer(v *viewer) {
	r.spawn(func() { r.removeViewer(v, v.writeFailure()) })
}

// removeViewer ends a viewer session; it is idempotent.
func (r *Relay) removeViewer(v *viewer, reason string) {
	r.mu.Lock()
	if !v.registered || v.removed {
		r.mu.Unlock()
		return
	}
	v.removed = true
	c := v.cam
	delete(c.viewers, v.id)
	delete(r.sessions, v.id)
	r.releaseCanteenLocked(v.who.CanteenID)
	v.ttl.Stop()
	v.connectTimer.Stop()
	if v.attached {
		c.detach(v)
	}
	r.m.viewers.Dec()
	if reason != reasonDeleted && reason != reasonShutdown {
		r.m.viewerDrops.WithLabelValues(reason).Inc()
	}
	var muxer *hlsMuxer
	if v.hls != nil {
		if c.hlsViewers--; c.hlsViewers == 0 {
			muxer, c.hls = c.hls, nil
		}
	}
	r.checkIdleLocked(c)
	r.mu.Unlock()

	if muxer != nil {
		muxer.close()
	}
	if v.pc != nil {
		_ = v.pc.Close()
	}
	end := time.Now()
	r.log.Info("viewer left", "camera_id", c.id, "viewer", v.id, "principal", v.who.Principal,
		"reason", reason, "watched", end.Sub(v.created).Round(time.Millisecond))
	if r.cfg.OnViewerEnd != nil {
		r.cfg.OnViewerEnd(v.who, c.id, v.created, end)
	}
}
