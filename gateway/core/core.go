// Package core builds and owns every component of the gateway: the spool,
// one camera source per configured camera, the uplink to the fleet, the
// health reporter, the local status page, and the main loop that shows the
// gateway's state on the board and proves it alive to systemd and to the
// hardware watchdog (board.go). main hands over to it and waits; Close
// stops everything in reverse order, the main loop first.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/live"
	"github.com/brightkitchen/brightkitchen/gateway/ota"
	"github.com/brightkitchen/brightkitchen/gateway/setup"
	"github.com/brightkitchen/brightkitchen/gateway/spool"
	"github.com/brightkitchen/brightkitchen/gateway/uplink"
	"github.com/brightkitchen/brightkitchen/hw/sysinfo"
	"github.com/brightkitchen/brightkitchen/internal/version"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// Gateway is a running gateway.
type Gateway struct {
	cfg    config.Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	spool   *spool.Queue
	uplink  *uplink.Client
	httpSrv *http.Server
	httpLn  net.Listener
	started time.Time
	sys     *sysinfo.Reader

	mu      sync.Mutex
	cameras map[string]*cameraRun

	pluginMu sync.Mutex
	plugins  map[string]*sdk.Supervisor

	live *live.Manager

	// setup is the setup page (nil when http.setup is off).
	setup *setup.Page

	// writeErrs counts spool writes that failed; diskFull is set while the
	// last one failed for lack of space. Both go in the heartbeat.
	writeErrs atomic.Uint64
	diskFull  atomic.Bool

	// main is the supervision loop, the status LED, the buzzer and the
	// watchdogs (board.go).
	main mainLoop

	// restarting is closed when the fleet's restart command was answered
	// (Restarting).
	restarting  chan struct{}
	restartOnce sync.Once

	// applyMu makes desired configs, the fleet's camera edits and the
	// setup page's saves apply one at a time.
	applyMu sync.Mutex

	// ota installs updates; otaRestart carries main the reason to restart
	// (an update installed or rolled back).
	ota        *ota.Installer
	otaRestart chan string

	// level is the logger's level, which log.level in a desired config
	// sets at once; nil when the caller gave none.
	level *slog.LevelVar
}

// New opens the spool and starts every component. A component that fails to
// start stops the ones already started. level is log's level: New sets it
// from the config the fleet last pushed, and so does each push; nil means
// log's level cannot change, and a push that would change it is refused.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, level *slog.LevelVar) (_ *Gateway, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// g is not the named result: a failed New returns nil, and the
	// cleanup below and the goroutines already started need g itself.
	g := &Gateway{cfg: cfg, log: log, level: level, started: time.Now(), cameras: map[string]*cameraRun{},
		restarting: make(chan struct{}), otaRestart: make(chan string, 1),
		plugins: map[string]*sdk.Supervisor{},
		sys:     &sysinfo.Reader{DataPath: filepath.Dir(cfg.Spool.Path)}}
	g.ctx, g.cancel = context.WithCancel(ctx)
	g.ota = g.newInstaller()
	defer func() {
		if err != nil {
			g.Close()
		}
	}()

	g.spool, err = spool.Open(spool.Options{
		Path:     cfg.Spool.Path,
		MaxBytes: int64(cfg.Spool.MaxBytes),
		Logger:   log.With("component", "spool"),
	})
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	var configVersion int64
	if applied, v, ok := g.loadAppliedConfig(); ok {
		g.cfg, configVersion = applied, v
	}
	if g.level != nil {
		g.level.Set(g.cfg.Log.SlogLevel())
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.reportDrops(g.ctx)
	}()

	if g.live, err = g.newLive(); err != nil {
		return nil, err
	}
	for _, cc := range g.cfg.Cameras {
		g.startCamera(cc)
	}

	tlsConfig, err := cfg.Broker.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("broker TLS: %w", err)
	}
	g.uplink = &uplink.Client{
		GatewayID:      cfg.Gateway.ID,
		BrokerURL:      cfg.Broker.URL,
		TLSConfig:      tlsConfig,
		Username:       cfg.Broker.Username,
		Password:       cfg.Broker.Password,
		ClientID:       cfg.Broker.ClientID,
		Version:        version.String(),
		StartedAt:      g.started,
		KeepAlive:      cfg.Broker.Keepalive,
		ConnectTimeout: cfg.Broker.ConnectTimeout,
		HeartbeatEvery: g.cfg.Uplink.Heartbeat,
		AckTimeout:     g.cfg.Uplink.AckTimeout,
		MaxInflight:    g.cfg.Uplink.MaxInflight,
		ReplayRate:     replayRate(g.cfg.Uplink.ReplayRate),
		ConfigVersion:  configVersion,
		Outbox:         outbox{g.spool},
		Heartbeat:      g.heartbeat,
		OnCommand:      g.command,
		AfterCommand:   g.afterCommand,
		OnConfig:       g.applyConfig,
		Logger:         log.With("component", "uplink"),
	}
	if err := g.uplink.Start(g.ctx); err != nil {
		return nil, fmt.Errorf("start uplink: %w", err)
	}

	if se := cfg.Debug.SyntheticEvents; se.Total > 0 {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.synthesize(g.ctx, se.Total, se.Rate)
		}()
	}

	if cfg.HTTP.Listen != "" {
		if err := g.startHTTP(cfg.HTTP.Listen, cfg.File()); err != nil {
			return nil, fmt.Errorf("start status page: %w", err)
		}
	}
	if err := g.startMain(); err != nil {
		return nil, err
	}
	g.startOTA()
	log.Info("gateway started", "gateway_id", cfg.Gateway.ID, "cameras", len(g.cfg.Cameras), "version", version.String())
	return g, nil
}

// httpDrain bounds how long Close lets HTTP replies in flight finish.
const httpDrain = 2 * time.Second

// Close stops every component and waits for them.
func (g *Gateway) Close() error {
	mainErr := g.stopMain()
	g.cancel()
	if g.httpSrv != nil {
		// Replies in flight finish first (the setup page's enrolment
		// answer is written just as the restart it asked for begins);
		// what is still open after a moment is cut.
		ctx, cancel := context.WithTimeout(context.Background(), httpDrain)
		if g.httpSrv.Shutdown(ctx) != nil {
			_ = g.httpSrv.Close()
		}
		cancel()
	}
	if g.live != nil {
		_ = g.live.Close() // before the cameras it reads from
	}
	g.mu.Lock()
	cams := g.cameras
	g.cameras = map[string]*cameraRun{}
	g.mu.Unlock()
	for _, c := range cams {
		c.stop()
	}
	g.closePlugins()
	g.wg.Wait()
	errs := []error{mainErr}
	if g.uplink != nil {
		errs = append(errs, g.uplink.Close())
	}
	if g.spool != nil {
		errs = append(errs, g.spool.Close())
	}
	return errors.Join(errs...)
}

// HTTPAddr is the status page's bound address ("" when off).
func (g *Gateway) HTTPAddr() string {
	if g.httpLn == nil {
		return ""
	}
	return g.httpLn.Addr().String()
}

// Cameras is each camera's current health, in config order.
func (g *Gateway) Cameras() []wire.CameraHealth {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]wire.CameraHealth, 0, len(g.cameras))
	for _, cc := range g.cfg.Cameras {
		if c, ok := g.cameras[cc.ID]; ok {
			out = append(out, c.wireHealth())
		}
	}
	return out
}

func (g *Gateway) heartbeat() wire.Heartbeat {
	st := g.spool.Stats()
	return wire.Heartbeat{
		Cameras: g.Cameras(),
		Spool: wire.SpoolStats{Depth: st.Depth, Bytes: st.Bytes,
			DroppedSnapshots: st.DroppedBlobs, DroppedRecords: st.DroppedRecords,
			WriteErrors: g.writeErrs.Load(), DiskFull: g.diskFull.Load()},
		System:       g.systemStats(),
		Quarantined:  g.quarantined(),
		PluginErrors: g.pluginErrors(),
		OTA:          new(g.ota.Status()),
	}
}

// appendRecord spools one contract payload.
func (g *Gateway) appendRecord(ctx context.Context, kind string, payload any, blob []byte) error {
	b, err := wire.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s: %w", kind, err)
	}
	_, err = g.spool.Append(ctx, spool.Item{Kind: kind, Payload: b, Blob: blob})
	if err := g.noteWrite(err); err != nil {
		return fmt.Errorf("spool %s: %w", kind, err)
	}
	return nil
}

// noteWrite counts a failed spool write for the heartbeat (a write cut
// short by shutdown is not a failure) and returns err.
func (g *Gateway) noteWrite(err error) error {
	switch {
	case err == nil:
		g.diskFull.Store(false)
		g.main.spoolFailing.Store(false)
	case errors.Is(err, context.Canceled) || errors.Is(err, spool.ErrClosed):
	default:
		g.writeErrs.Add(1)
		g.diskFull.Store(errors.Is(err, syscall.ENOSPC))
		g.main.spoolFailing.Store(!errors.Is(err, syscall.ENOSPC))
	}
	return err
}

func (g *Gateway) startCamera(cc config.Camera) {
	c := newCameraRun(g, cc)
	g.mu.Lock()
	g.cameras[cc.ID] = c
	g.mu.Unlock()
	c.start(g.ctx)
}

// replayRate maps the config's "0 = no limit" to the uplink's "negative =
// no cap".
func replayRate(r int) float64 {
	if r <= 0 {
		return -1
	}
	return float64(r)
}
