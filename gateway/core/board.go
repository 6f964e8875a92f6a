package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/hw/board"
	"github.com/brightkitchen/brightkitchen/internal/sdnotify"
)

// mainLoop is the gateway's supervision loop and what it drives. Every
// tick it reads the gateway's state as the status page does (the uplink,
// and every camera under the core's lock), shows it on the status LED,
// and proves the gateway alive: to systemd (WATCHDOG=1, at half of
// WATCHDOG_USEC) and to the hardware watchdog, which asks healthy. A loop
// that sticks (a lock never released, a camera that does not answer)
// stops both proofs: systemd restarts the service, and past the board's
// grace the board reboots. The zero value is a loop not started.
type mainLoop struct {
	notify *sdnotify.Notifier
	sdHalf time.Duration // half of systemd's watchdog timeout; 0: no pings
	tick   time.Duration
	grace  time.Duration // uplink.offline_grace

	light  *board.StatusLight
	buzzer atomic.Pointer[board.Buzzer] // read by the cameras' detection
	dog    *board.Watchdog

	alive        atomic.Int64 // unix nanoseconds of the loop's last tick
	spoolFailing atomic.Bool  // the last spool write failed, not for lack of space

	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once

	// the loop's own
	settled       bool // past booting
	lastConnected time.Time
	state         board.State
	status        string
}

// stuckAfter is how many ticks without progress make the loop stuck.
const stuckAfter = 5

// startMain starts the board's parts the config names, then the loop, and
// tells systemd the gateway is ready. A part that fails to start is an
// error; Close stops those already started.
func (g *Gateway) startMain() error {
	m := &g.main
	log := g.log.With("component", "board")
	var err error
	if m.notify, err = sdnotify.FromEnv(os.Getenv); err != nil {
		log.Warn("not notifying systemd", "err", err)
	}
	sd, err := sdnotify.WatchdogInterval(os.Getenv, os.Getpid())
	if err != nil {
		log.Warn("not pinging systemd's watchdog", "err", err)
	}
	if m.notify != nil {
		m.sdHalf = sd / 2
	}
	b := g.cfg.Board
	m.tick = time.Second
	if m.sdHalf > 0 {
		m.tick = min(m.tick, m.sdHalf)
	}
	if b.Watchdog.Timeout > 0 {
		m.tick = min(m.tick, b.Watchdog.Timeout/4)
	}
	m.tick = max(m.tick, 50*time.Millisecond) // however short WATCHDOG_USEC is
	m.grace = g.cfg.Uplink.OfflineGrace
	m.lastConnected = g.started
	m.alive.Store(time.Now().UnixNano())

	if b.Watchdog.Device != "" {
		m.dog = &board.Watchdog{Device: b.Watchdog.Device, Timeout: b.Watchdog.Timeout, Grace: b.Watchdog.Grace,
			Healthy: g.healthy, Logger: log}
		if err := m.dog.Start(g.ctx); err != nil {
			m.dog = nil
			return fmt.Errorf("board.watchdog: %w", err)
		}
	}
	if b.StatusLED != "" {
		m.light = &board.StatusLight{LED: board.LEDDir(b.StatusLED), Logger: log}
		if err := m.light.Start(g.ctx); err != nil {
			m.light = nil
			return fmt.Errorf("board.status_led: %w", err)
		}
	}
	if b.Buzzer.Device != "" {
		bz := &board.Buzzer{Device: board.LEDDir(b.Buzzer.Device), MinGap: b.Buzzer.MinGap, Logger: log}
		if err := bz.Start(g.ctx); err != nil {
			return fmt.Errorf("board.buzzer: %w", err)
		}
		m.buzzer.Store(bz)
	}

	ctx, cancel := context.WithCancel(g.ctx)
	m.cancel, m.done = cancel, make(chan struct{})
	st, status := g.boardState(time.Now())
	m.state, m.status = st, status
	if m.light != nil {
		m.light.Show(st)
	}
	if err := m.notify.Ready(status); err != nil {
		log.Warn("notify systemd", "err", err)
	}
	go func() {
		defer close(m.done)
		g.supervise(ctx)
	}()
	return nil
}

// supervise is the loop: see mainLoop.
func (g *Gateway) supervise(ctx context.Context) {
	m := &g.main
	t := time.NewTicker(m.tick)
	defer t.Stop()
	var lastPing time.Time
	failing := false
	for {
		st, status := g.boardState(time.Now())
		m.alive.Store(time.Now().UnixNano()) // after the state could be read
		if st != m.state {
			g.log.Info("gateway state", "component", "board", "state", st.String(), "was", m.state.String())
			m.state = st
			if m.light != nil {
				m.light.Show(st)
			}
		}
		var errs []error
		if status != m.status {
			m.status = status
			errs = append(errs, m.notify.Status(status))
		}
		if m.sdHalf > 0 && time.Since(lastPing) > m.sdHalf-m.tick {
			lastPing = time.Now()
			errs = append(errs, m.notify.Watchdog())
		}
		err := errors.Join(errs...)
		if err != nil && !failing {
			g.log.Warn("notify systemd", "component", "board", "err", err)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// boardState is what the status LED shows now, and a line for systemd:
// booting until the fleet and every camera are up or the offline grace has
// passed since the start; then no fleet once the broker has been away
// past the grace, camera down while a camera does not stream, else all
// well.
func (g *Gateway) boardState(now time.Time) (board.State, string) {
	m := &g.main
	connected := g.uplink.Connected()
	cams := g.Cameras()
	online := 0
	for _, c := range cams {
		if c.Online {
			online++
		}
	}
	if connected {
		m.lastConnected = now
	}
	if !m.settled && (connected && online == len(cams) || now.Sub(g.started) >= m.grace) {
		m.settled = true
	}
	st := board.AllWell
	switch {
	case !m.settled:
		st = board.Booting
	case !connected && now.Sub(m.lastConnected) >= m.grace:
		st = board.NoFleet
	case online < len(cams):
		st = board.CameraDown
	}
	fleet := "connected"
	if !connected {
		fleet = "unreachable"
	}
	return st, fmt.Sprintf("%s: fleet %s, %d/%d cameras online", st, fleet, online, len(cams))
}

// healthy is the hardware watchdog's question: is the main loop ticking,
// and does the spool take writes?
func (g *Gateway) healthy() error {
	m := &g.main
	if since := time.Since(time.Unix(0, m.alive.Load())); since > stuckAfter*m.tick {
		return fmt.Errorf("main loop stuck for %v", since.Round(time.Millisecond))
	}
	if m.spoolFailing.Load() {
		return errors.New("spool writes failing")
	}
	return nil
}

// alarm sounds the buzzer, if there is one, when a detection episode
// starts; the camera's own picture checks (camera_dark when the lights go
// out...) do not sound it. It reports whether the buzzer sounds.
func (g *Gateway) alarm(tr rules.Transition) bool {
	bz := g.main.buzzer.Load()
	if bz == nil || tr.Phase != wire.PhaseStart ||
		slices.ContainsFunc(pictureOf, func(p struct{ typ, picture string }) bool { return p.typ == tr.Type }) {
		return false
	}
	return bz.Alarm()
}

// stopMain tells systemd the gateway is stopping, stops the loop and
// disarms the board's parts (the watchdog with its magic close, unless it
// has given up). It runs first in Close, so a slow stop of the rest
// neither reboots the board nor looks hung.
func (g *Gateway) stopMain() error {
	m := &g.main
	var errs []error
	m.stop.Do(func() {
		if m.cancel == nil {
			return
		}
		if err := m.notify.Stopping(); err != nil {
			g.log.Warn("notify systemd", "component", "board", "err", err)
		}
		m.cancel()
		<-m.done
	})
	if m.dog != nil {
		errs = append(errs, m.dog.Close())
	}
	if m.light != nil {
		errs = append(errs, m.light.Close())
	}
	if bz := m.buzzer.Load(); bz != nil {
		errs = append(errs, bz.Close())
	}
	return errors.Join(errs...)
}
