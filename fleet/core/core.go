// Package core builds and owns the fleet server's components: the store,
// the embedded MQTT broker (unless an external one is named), the ingest
// consumer and the HTTP API, and the background jobs (the webhook
// notifier and the instant push, the rollout engine, the rates' warming,
// retention). bk-fleet serve hands over to it.
package core

// Long file: the one place where the components are made in the order
// they depend on each other and closed in the reverse; Options, beside
// it, says what each is given.

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/api"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/broker"
	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/enrol"
	"github.com/brightkitchen/brightkitchen/fleet/ingest"
	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/notify"
	"github.com/brightkitchen/brightkitchen/fleet/ota"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/rates"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/retention"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// Options configure a fleet server; the zero value of each is its default.
type Options struct {
	// HTTP is the API's listen address (default 127.0.0.1:8080).
	HTTP string
	// MQTTListen is the embedded broker's address (default 127.0.0.1:1883);
	// ignored when Broker is set.
	MQTTListen string
	// Broker is an external broker URL (tcp://host:port); when set nothing is
	// embedded. BrokerUser and BrokerPassword authenticate the fleet there.
	Broker                     string
	BrokerUser, BrokerPassword string
	// MQTTTLSListen, when set, is the embedded broker's TLS address (default
	// none), with MQTTTLSCert and MQTTTLSKey (PEM files); MQTTTLSClientCA,
	// when set, requires client certificates signed by one of its CAs.
	MQTTTLSListen, MQTTTLSCert, MQTTTLSKey, MQTTTLSClientCA string
	// MQTTConnectTimeout and MQTTMaxPendingPerAddr bound the embedded
	// broker's connections before they authenticate (defaults 5 s and 20 per
	// remote address; see fleet/broker).
	MQTTConnectTimeout    time.Duration
	MQTTMaxPendingPerAddr int
	// MQTTGatewayBytesPerSec is the embedded broker's read rate per gateway
	// (default 8 MiB/s, negative: no limit; broker.GatewayBytesPerSec).
	MQTTGatewayBytesPerSec int
	// DataDir holds the SQLite database (default ./data).
	DataDir string
	// DB is the database URL (default SQLite in DataDir; postgres://... for
	// PostgreSQL).
	DB string
	// AdminToken, when set, is accepted as an admin bearer token.
	AdminToken string
	// PublicURL is the fleet's HTTP address as gateways reach it, for the
	// WHIP URL in live.start (default http:// and the bound HTTP address).
	PublicURL string
	// Live holds the live-view relay's settings (ICE servers, UDP port,
	// caps, linger); Start, Stop, Registerer and Logger are set here.
	Live live.Config
	// LiveRecheck is how often the live views are checked again against
	// their viewer's rights and viewing windows (0:
	// api.DefaultRecheckEvery).
	LiveRecheck time.Duration
	// Workflow holds the alarm deadlines (defaults:
	// alarms.DefaultReviewDeadline, alarms.DefaultRectifyDeadline);
	// Webhook is set from WebhookURL.
	Workflow alarms.Workflow
	// Complaints holds the complaint channel's deadlines and per-address
	// cap (complaints.Settings: accept within 1 working day, reply within
	// 7 days, 5 an hour per address); ComplaintBits its proof-of-work
	// difficulty (0: complaints.DefaultBits).
	Complaints    complaints.Settings
	ComplaintBits int
	// WebhookURL receives every notice to an operator as a signed JSON POST
	// (WebhookSecret is the HMAC key). Default none.
	WebhookURL, WebhookSecret string
	// GatewayAlarms are the thresholds of the gateway-level alarms
	// (alarms' defaults: offline 10m, 512 MiB free, 80 °C).
	GatewayAlarms alarms.GatewayThresholds
	// Push configures the instant push (fleet/push, notify.Pusher): the
	// robots' hosts (default the real ones), how long before a deadline
	// an alarm is pushed as due soon (default 2 h, negative never), how
	// often the outbox is polled (default 1 s; each commit wakes it
	// too). Disabled turns the push off.
	Push PushOptions
	// SecureCookies marks session cookies Secure on plain HTTP (behind a
	// TLS proxy).
	SecureCookies bool
	// TLSCert and TLSKey are PEM files: when set the API serves HTTPS on
	// HTTP (default plain HTTP, for a TLS-terminating proxy in front).
	TLSCert, TLSKey string
	// HTTPTimeouts bound reading requests, writing responses and idle
	// keep-alive connections (defaults: api.Timeouts).
	HTTPTimeouts api.Timeouts
	// EnrolBrokerURLs are the broker's URLs as a gateway that enrols is
	// told to use, preferred first; "{host}" stands for the host name the
	// gateway reached the fleet's HTTP(S) at. Default: with the embedded
	// broker, mqtts://{host}:<TLS port> when MQTTTLSListen is set, then
	// tcp://{host}:<port>; with an external one, Broker.
	EnrolBrokerURLs []string
	// EnrolCAFile, when set, is a PEM file of the CA certificate(s) that
	// sign the fleet's TLS certificates, handed to a gateway that enrols
	// (it then verifies the broker with them). Default none: the
	// gateway's system roots.
	EnrolCAFile string
	// MetricsListen, when set, serves /metrics unauthenticated on an
	// address of its own (a private network's Prometheus); on HTTP,
	// /metrics always takes an admin. Default none.
	MetricsListen string
	// MaxParentViewers caps concurrent parent viewers per school where the
	// registry sets none (default 50).
	MaxParentViewers int
	// MaxViewsPerParent caps the cameras one parent watches at once
	// (default 2).
	MaxViewsPerParent int
	// MaxPublicViewers caps the anonymous views of one canteen's cameras
	// published to everyone (default api.DefaultMaxPublicViewers, 200);
	// PublicViewsPerMinute the anonymous view requests from one address
	// a minute (default api.DefaultPublicViewsPerMinute, 20).
	MaxPublicViewers, PublicViewsPerMinute int
	// ParentURL is the fleet's address as parents' browsers reach it, in
	// join links and their QR codes (default: the scheme and host of the
	// request that makes the link). JoinsPerAddr caps the parents who join
	// through join links from one client address in 10 minutes (default
	// api.DefaultJoinsPerAddr).
	ParentURL    string
	JoinsPerAddr int
	// WarmRatesEvery is how often the rates' rollup is brought up to date
	// in the background (Rates.WarmCoverage over WarmRatesDays), so that
	// dashboards find the finished days kept; default 10 minutes,
	// negative for never.
	WarmRatesEvery time.Duration
	// Retention says how long records are kept (defaults:
	// retention.Default; a zero field there keeps forever).
	// RetainEvery is how often it is enforced (default 1 hour, negative
	// for never); see retain.go.
	Retention   *retention.Policy
	RetainEvery time.Duration
	// ReleaseKeys are the release keys the fleet trusts for uploaded
	// bundles (default none: uploads are refused); ReleasesDir holds the
	// bundles (default DataDir/releases); ReleaseMax is the largest
	// bundle (default ota.DefaultMaxBundle); RolloutTick is how often the
	// rollout engine runs (default 2 s, negative for never);
	// RolloutStallAfter is how long an updating gateway may show no
	// progress (default ota.DefaultStallAfter).
	ReleaseKeys       []ed25519.PublicKey
	ReleasesDir       string
	ReleaseMax        int64
	RolloutTick       time.Duration
	RolloutStallAfter time.Duration
	Logger            *slog.Logger
}

// PushOptions are the settings of the instant push.
type PushOptions struct {
	WeComBase, DingTalkBase string
	DueSoon                 time.Duration
	Every                   time.Duration
	Disabled                bool
}

// WarmRatesDays is the period the background warming covers: a month's
// dashboard, the longest common query.
const WarmRatesDays = 31

// Fleet is a running fleet server.
type Fleet struct {
	// DB is the fleet's database, and Registry, Auth, Alarms and Rates its
	// domains, wired to ingest, the API, the notifier and retention.
	DB       *store.DB
	Registry *registry.Registry
	Auth     *auth.Auth
	Alarms   *alarms.Alarms
	// Complaints is the public's complaint channel.
	Complaints *complaints.Complaints
	Rates      *rates.Rates
	Broker     *broker.Broker // nil with an external broker
	Ingest     *ingest.Consumer
	Live       *live.Relay
	OTA        *ota.OTA
	rollouts   *ota.Engine
	Notifier   *notify.Notifier
	// Push is the push domain, and Pusher its loop (nil when disabled).
	Push     *push.Push
	Pusher   *notify.Pusher
	httpSrv  *http.Server
	httpLn   net.Listener
	metrics  *http.Server
	metricLn net.Listener
	registry *prometheus.Registry
	log      *slog.Logger
	stopWarm func() // ends the rates' warming and waits for it (every)
	// The recheck of live views (api.Server.WatchViewers).
	stopRecheck context.CancelFunc
	recheckDone chan struct{}
	retainer    *retainer
}

// Start opens the store and starts the broker, the consumer and the API. If
// one fails, what already started is stopped.
func Start(ctx context.Context, o Options) (f *Fleet, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTP == "" {
		o.HTTP = "127.0.0.1:8080"
	}
	if o.MQTTListen == "" {
		o.MQTTListen = "127.0.0.1:1883"
	}
	if o.DataDir == "" {
		o.DataDir = "data"
	}
	f = &Fleet{log: o.Logger, registry: prometheus.NewRegistry()}
	f.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	started := f // the returns below set f to nil
	defer func() {
		if err != nil {
			started.Close()
		}
	}()

	dbURL := o.DB
	if dbURL == "" {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		dbURL = filepath.Join(o.DataDir, "fleet.db")
	}
	if f.DB, err = store.Open(ctx, dbURL); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	f.Registry, f.Auth, f.Alarms, f.Rates = registry.New(f.DB), auth.New(f.DB), alarms.New(f.DB), rates.New(f.DB)
	f.Alarms.Workflow = o.Workflow
	// Complaints (投诉举报).
	f.Complaints = complaints.New(f.DB)
	f.Complaints.Settings = o.Complaints
	f.Alarms.Workflow.Webhook = o.WebhookURL != ""
	f.Notifier = &notify.Notifier{Alarms: f.Alarms, URL: o.WebhookURL, Secret: o.WebhookSecret, Gateways: o.GatewayAlarms,
		Logger: o.Logger.With("component", "notify")}
	if err := f.Notifier.Start(ctx); err != nil {
		return nil, fmt.Errorf("start notifier: %w", err)
	}
	f.Push = push.New(f.DB)
	if !o.Push.Disabled {
		f.Pusher = &notify.Pusher{Alarms: f.Alarms, Auth: f.Auth, Push: f.Push, WeComBase: o.Push.WeComBase,
			DingTalkBase: o.Push.DingTalkBase, DueSoon: o.Push.DueSoon, Every: o.Push.Every, Logger: o.Logger.With("component", "push")}
		if err := f.Pusher.Start(ctx); err != nil {
			return nil, fmt.Errorf("start push: %w", err)
		}
	}
	if o.WarmRatesEvery >= 0 {
		f.startWarming(ctx, cmp.Or(o.WarmRatesEvery, 10*time.Minute))
	}
	if o.RetainEvery >= 0 {
		r := retention.Default()
		if o.Retention != nil {
			r = *o.Retention
		}
		f.retainer = f.startRetention(ctx, r, cmp.Or(o.RetainEvery, time.Hour))
	}

	brokerURL, user, pass := o.Broker, o.BrokerUser, o.BrokerPassword
	if brokerURL != "" && o.MQTTTLSListen != "" {
		return nil, errors.New("MQTTTLSListen: set with an external Broker, where nothing is embedded")
	}
	if brokerURL == "" {
		// The fleet's own client is in process (Ingest.InProcess): the
		// broker has no fleet account to log in with.
		f.Broker = &broker.Broker{
			Listen: o.MQTTListen, Auth: f.Registry,
			TLSListen: o.MQTTTLSListen, TLSCertFile: o.MQTTTLSCert, TLSKeyFile: o.MQTTTLSKey,
			TLSClientCAFile: o.MQTTTLSClientCA, ConnectTimeout: o.MQTTConnectTimeout,
			MaxPendingPerAddr: o.MQTTMaxPendingPerAddr, GatewayBytesPerSec: o.MQTTGatewayBytesPerSec,
			Logger: o.Logger.With("component", "broker"),
		}
		if err := f.Broker.Start(); err != nil {
			return nil, fmt.Errorf("start broker: %w", err)
		}
	}

	f.Ingest = &ingest.Consumer{
		BrokerURL: brokerURL, Username: user, Password: pass,
		Registry: f.Registry, Registerer: f.registry, Logger: o.Logger.With("component", "ingest"),
	}
	if f.Pusher != nil {
		f.Ingest.Committed = f.Pusher.Kick
	}
	if f.Broker != nil {
		// In process: each message reaches ingest as the broker read it,
		// not encoded, sent and read again (a flooding gateway's snapshots
		// were in memory five times on their way, not once).
		f.Ingest.InProcess = f.Broker
	}
	if err := f.Ingest.Start(ctx); err != nil {
		return nil, fmt.Errorf("start ingest: %w", err)
	}

	enrolURLs := o.EnrolBrokerURLs
	if len(enrolURLs) == 0 {
		enrolURLs = f.defaultEnrolURLs(brokerURL)
	}
	var enrolCA string
	if o.EnrolCAFile != "" {
		if enrolCA, err = readCA(o.EnrolCAFile); err != nil {
			return nil, fmt.Errorf("enrol-ca: %w", err)
		}
	}
	a := &api.Server{
		Enrol: enrol.New(f.DB), EnrolBrokerURLs: enrolURLs, EnrolCAPEM: enrolCA,
		Registry: f.Registry, Auth: f.Auth, Alarms: f.Alarms, Rates: f.Rates, Push: f.Push, MQTT: f.Ingest, AdminToken: o.AdminToken, Gatherer: f.registry,
		Ready: f.Ingest.Connected, SecureCookies: o.SecureCookies, MaxParentViewers: o.MaxParentViewers,
		Logger: o.Logger.With("component", "api"), MaxViewsPerParent: o.MaxViewsPerParent,
		Complaints: f.Complaints, ComplaintBits: o.ComplaintBits,
		MaxPublicViewers: o.MaxPublicViewers, PublicViewsPerMinute: o.PublicViewsPerMinute,
		ParentURL: o.ParentURL, JoinsPerAddr: o.JoinsPerAddr,
	}
	f.registry.MustRegister(a.PublicCollectors()...)
	var tlsConf *tls.Config
	if o.TLSCert != "" || o.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls-cert, tls-key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if f.httpLn, err = net.Listen("tcp", o.HTTP); err != nil {
		return nil, fmt.Errorf("listen http: %w", err)
	}
	scheme := "http://"
	if tlsConf != nil {
		f.httpLn, scheme = tls.NewListener(f.httpLn, tlsConf), "https://"
	}
	if o.PublicURL == "" {
		o.PublicURL = scheme + f.httpLn.Addr().String()
	}
	a.PublicURL = strings.TrimRight(o.PublicURL, "/")
	f.OTA = ota.New(f.DB, ota.Config{Dir: cmp.Or(o.ReleasesDir, filepath.Join(o.DataDir, "releases")), Keys: o.ReleaseKeys, MaxBundle: o.ReleaseMax})
	a.OTA = f.OTA
	if n, err := f.OTA.RemoveStale(ctx, time.Now()); err != nil {
		o.Logger.Warn("releases: remove what interrupted uploads left", "err", err)
	} else if n > 0 {
		o.Logger.Info("releases: removed what interrupted uploads left", "files", n)
	}
	if o.RolloutTick >= 0 {
		auditLog := o.Logger.With("component", "rollouts")
		f.rollouts = &ota.Engine{OTA: f.OTA, PublicURL: a.PublicURL, Tick: o.RolloutTick, StallAfter: o.RolloutStallAfter, Logger: auditLog,
			Send: func(ctx context.Context, gw, cmdID string, args wire.OTAInstallArgs, ttl time.Duration) error {
				_, err := a.CommandWithID(ctx, gw, cmdID, wire.CmdOTAInstall, args, ttl)
				return err
			},
			Audit: func(ctx context.Context, actor, canteen, detail string, serr error) {
				e := auth.AuditEntry{Actor: actor, Role: auth.RoleAdmin, Action: "command", CanteenID: canteen, Detail: detail}
				if serr != nil {
					e.Outcome, e.Detail = auth.OutcomeFailed, detail+": "+serr.Error()
				}
				if err := f.Auth.Audit(context.WithoutCancel(ctx), e); err != nil {
					auditLog.Error("write audit entry", "action", e.Action, "err", err)
				}
			},
		}
		f.rollouts.Start(context.WithoutCancel(ctx))
	}
	lc := o.Live
	lc.Start = func(ctx context.Context, camera string, t live.Ticket) error {
		return f.startLive(ctx, a, strings.TrimRight(o.PublicURL, "/"), camera, t)
	}
	lc.Stop = func(ctx context.Context, camera, session string) error { return f.stopLive(ctx, a, camera, session) }
	lc.OnViewerEnd = a.ViewerEnded
	lc.Registerer = f.registry
	lc.Logger = o.Logger.With("component", "live")
	if f.Live, err = live.New(lc); err != nil {
		return nil, fmt.Errorf("start live relay: %w", err)
	}
	a.Live = f.Live
	recheck, stopRecheck := context.WithCancel(context.Background())
	f.stopRecheck, f.recheckDone = stopRecheck, make(chan struct{})
	go func() { defer close(f.recheckDone); a.WatchViewers(recheck, o.LiveRecheck) }()
	if o.MetricsListen != "" {
		if f.metricLn, err = net.Listen("tcp", o.MetricsListen); err != nil {
			return nil, fmt.Errorf("listen metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.MetricsHandler())
		f.metrics = api.NewHTTPServer(mux, o.HTTPTimeouts)
		go f.serve(f.metrics, f.metricLn, "metrics")
	}
	f.httpSrv = api.NewHTTPServer(a.Handler(), o.HTTPTimeouts)
	f.httpSrv.TLSConfig = tlsConf
	go f.serve(f.httpSrv, f.httpLn, "http")
	o.Logger.Info("fleet started", "http", f.HTTPAddr(), "tls", tlsConf != nil, "metrics", f.MetricsAddr(),
		"broker", brokerURL, "db", redact(dbURL))
	return f, nil
}

// defaultEnrolURLs are the broker URLs given to enrolling gateways when
// none are configured (Options.EnrolBrokerURLs).
func (f *Fleet) defaultEnrolURLs(external string) []string {
	if f.Broker == nil {
		if external == "" {
			return nil
		}
		return []string{external}
	}
	var out []string
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	if a := f.Broker.TLSAddr(); a != "" {
		out = append(out, "mqtts://"+api.HostPlaceholder+":"+port(a))
	}
	return append(out, "tcp://"+api.HostPlaceholder+":"+port(f.Broker.Addr()))
}

// readCA reads a PEM file of CA certificates (at most 1 MiB, at least one
// certificate).
func readCA(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, 1<<20+1))
	if err != nil {
		return "", err
	}
	if len(b) > 1<<20 {
		return "", fmt.Errorf("%s: over 1 MiB", path)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return "", fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return string(b), nil
}

func (f *Fleet) serve(srv *http.Server, ln net.Listener, name string) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		f.log.Error(name+" server", "err", err)
	}
}

// MetricsAddr is the metrics listener's bound address ("" without one).
func (f *Fleet) MetricsAddr() string {
	if f.metricLn == nil {
		return ""
	}
	return f.metricLn.Addr().String()
}

// HTTPAddr is the API's bound address.
func (f *Fleet) HTTPAddr() string {
	if f.httpLn == nil {
		return ""
	}
	return f.httpLn.Addr().String()
}

// MQTTAddr is the embedded broker's bound address ("" with an external one).
func (f *Fleet) MQTTAddr() string {
	if f.Broker == nil {
		return ""
	}
	return f.Broker.Addr()
}

// MQTTTLSAddr is the embedded broker's bound TLS address ("" without one).
func (f *Fleet) MQTTTLSAddr() string {
	if f.Broker == nil {
		return ""
	}
	return f.Broker.TLSAddr()
}

// Close stops the API, the consumer, the broker and the store, in that order.
func (f *Fleet) Close() error {
	var errs []error
	if f.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, f.httpSrv.Shutdown(ctx))
		cancel()
	} else if f.httpLn != nil {
		errs = append(errs, f.httpLn.Close())
	}
	if f.metrics != nil {
		errs = append(errs, f.metrics.Close())
	} else if f.metricLn != nil {
		errs = append(errs, f.metricLn.Close())
	}
	if f.stopRecheck != nil {
		f.stopRecheck()
		<-f.recheckDone
	}
	if f.Live != nil {
		errs = append(errs, f.Live.Close())
	}
	if f.rollouts != nil {
		f.rollouts.Close()
	}
	if f.Ingest != nil {
		errs = append(errs, f.Ingest.Close())
	}
	if f.Pusher != nil {
		errs = append(errs, f.Pusher.Close())
	}
	if f.Notifier != nil {
		errs = append(errs, f.Notifier.Close())
	}
	if f.stopWarm != nil {
		f.stopWarm()
	}
	if f.retainer != nil {
		f.retainer.close()
	}
	if f.Broker != nil {
		errs = append(errs, f.Broker.Close())
	}
	if f.DB != nil {
		errs = append(errs, f.DB.Close())
	}
	return errors.Join(errs...)
}

// startWarming runs Rates.WarmCoverage every interval until Close, the
// first time a minute after start (or sooner, with a shorter interval):
// not to slow the start down, but soon, as a fleet started on an old
// database (or after a migration) has nothing kept yet.
func (f *Fleet) startWarming(ctx context.Context, interval time.Duration) {
	f.stopWarm = every(ctx, interval, func(ctx context.Context) {
		start := time.Now()
		if err := f.Rates.WarmCoverage(ctx, start, WarmRatesDays); err != nil && ctx.Err() == nil {
			f.log.Warn("warm the rates' rollup", "err", err)
		} else if err == nil {
			f.log.Debug("warmed the rates' rollup", "took", time.Since(start).Round(time.Millisecond))
		}
	})
}

// every runs fn in a goroutine every interval, the first time after a
// minute or the interval if shorter, until the returned stop is called;
// stop cancels fn's context and waits for it to return.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(min(interval, time.Minute))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				t.Reset(interval)
			}
			fn(ctx)
		}
	}()
	return func() { cancel(); <-done }
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redact hides a password in a database URL for logging.
func redact(u string) string {
	if i, j := strings.Index(u, "://"), strings.LastIndex(u, "@"); i >= 0 && j > i {
		return u[:i+3] + "…" + u[j:]
	}
	return u
}

// liveTTL is how long a live.start or live.stop command stays valid.
const liveTTL = 30 * time.Second

// startLive asks the camera's gateway to publish it over WHIP. The relay
// knows the camera by its key (gateway:camera), the gateway by its own id.
func (f *Fleet) startLive(ctx context.Context, a *api.Server, publicURL, camera string, t live.Ticket) error {
	home, err := f.Registry.CameraHome(ctx, camera)
	if err != nil {
		return err
	}
	_, err = a.Command(ctx, home.GatewayID, wire.CmdLiveStart, wire.LiveStart{
		CameraID: home.CameraID, Session: t.Session, Token: t.Token, WHIPURL: publicURL + "/whip/" + home.Key(),
	}, liveTTL)
	return err
}

// stopLive asks the camera's gateway to stop publishing a session.
func (f *Fleet) stopLive(ctx context.Context, a *api.Server, camera, session string) error {
	home, err := f.Registry.CameraHome(ctx, camera)
	if err != nil {
		return err
	}
	_, err = a.Command(ctx, home.GatewayID, wire.CmdLiveStop, wire.LiveStop{CameraID: home.CameraID, Session: session}, liveTTL)
	return err
}
