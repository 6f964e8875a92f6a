// Command bk-fleet is the BrightKitchen fleet server and its admin tool.
//
//	bk-fleet serve [--http ADDR] [--tls-cert FILE --tls-key FILE] [--metrics-listen ADDR]
//		[--mqtt-listen ADDR [--mqtt-tls-listen ADDR --mqtt-tls-cert F --mqtt-tls-key F] | --broker URL] [--data DIR] [--db URL]
//		[--memory-limit MIB]
//	bk-fleet gateway add --id ID --canteen CANTEEN
//	bk-fleet gateway list
//	bk-fleet token add --role ROLE [--canteen C1,C2] [--label TEXT] [--ttl DURATION|never]
//	bk-fleet token list
//	bk-fleet token revoke ID...
//	bk-fleet release keygen|sign|verify
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/api"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/complaints"
	"github.com/brightkitchen/brightkitchen/fleet/core"
	"github.com/brightkitchen/brightkitchen/fleet/live"
	"github.com/brightkitchen/brightkitchen/fleet/ota"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/internal/logging"
	"github.com/brightkitchen/brightkitchen/internal/release"
	"github.com/brightkitchen/brightkitchen/internal/version"
)

const usage = `bk-fleet: BrightKitchen fleet server

Usage:
  bk-fleet serve [flags]                          run the server
  bk-fleet gateway add --id ID --canteen CANTEEN  create a gateway identity and print its MQTT credentials
  bk-fleet gateway list                           list gateways
  bk-fleet token add --role ROLE [--canteen C1,C2] [--district D1,D2] [--label TEXT] [--ttl 2160h|never]
                                                  create an API token (admin, regulator, operator or parent),
                                                  valid 90 days unless --ttl says otherwise
  bk-fleet token list                             list the API tokens (not their secrets)
  bk-fleet token revoke ID...                     revoke API tokens: they stop working at once
  bk-fleet user add --login L --role ROLE [--name N] [--canteen C1,C2] [--district D1,D2]
                                                  create a user for the web UI; the password is read from stdin
  bk-fleet user list | password --login L | delete --login L
  bk-fleet release keygen | sign | verify        make and check signed OTA bundles (bk-fleet release for help)
  bk-fleet --version

Every flag can also be set in the environment as BK_<FLAG> (e.g. BK_HTTP, BK_DB).
BK_ADMIN_TOKEN, when set, is accepted as an admin bearer token.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, "bk-fleet", version.String())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		return serve(args[1:], stderr)
	case "gateway":
		if len(args) < 2 {
			fmt.Fprintln(stderr, "bk-fleet gateway: want add or list")
			return 2
		}
		switch args[1] {
		case "add":
			return gatewayAdd(args[2:], stdout, stderr)
		case "list":
			return gatewayList(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "bk-fleet gateway: unknown command %q (want add or list)\n", args[1])
		return 2
	case "token":
		if len(args) < 2 {
			fmt.Fprintln(stderr, "bk-fleet token: want add, list or revoke")
			return 2
		}
		switch args[1] {
		case "add":
			return tokenAdd(args[2:], stdout, stderr)
		case "list":
			return tokenList(args[2:], stdout, stderr)
		case "revoke":
			return tokenRevoke(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "bk-fleet token: unknown command %q (want add, list or revoke)\n", args[1])
		return 2
	case "release":
		return releaseCmd(args[1:], stdout, stderr)
	case "user":
		if len(args) < 2 {
			fmt.Fprintln(stderr, "bk-fleet user: want add, list, password or delete")
			return 2
		}
		switch args[1] {
		case "add":
			return userAdd(args[2:], stdout, stderr)
		case "list":
			return userList(args[2:], stdout, stderr)
		case "password":
			return userPassword(args[2:], stdout, stderr)
		case "delete":
			return userDelete(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "bk-fleet user: unknown command %q (want add, list, password or delete)\n", args[1])
		return 2
	}
	fmt.Fprintf(stderr, "bk-fleet: unknown command %q (want serve, gateway, token, user, release or --version)\n", args[0])
	return 2
}

// flagSet makes a flag set whose defaults come from BK_* variables.
type flagSet struct {
	*flag.FlagSet
	*envFlags
}

// envFlags are the switches whose BK_* variable is set, read by Parse.
type envFlags struct{ envBools []envBool }

func newFlags(name string, stderr io.Writer) flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return flagSet{fs, &envFlags{}}
}

func (fs flagSet) str(name, def, help string) *string {
	if v, ok := os.LookupEnv(envName(name)); ok {
		def = v
	}
	return fs.String(name, def, help+" (env "+envName(name)+")")
}

// boolean is a switch: --name alone turns it on, --name=false off. Its
// BK_* variable, when set, must say true or false (or 1 or 0); it is read
// when the flags are parsed, so that a bad one is an error of the command.
func (fs flagSet) boolean(name string, help string) *bool {
	v := new(bool)
	fs.Var((*boolFlag)(v), name, help+" (env "+envName(name)+")")
	if env, ok := os.LookupEnv(envName(name)); ok {
		fs.envBools = append(fs.envBools, envBool{name, env, v})
	}
	return v
}

type envBool struct {
	name, value string
	v           *bool
}

type boolFlag bool

func (b *boolFlag) String() string {
	if b == nil {
		return "false"
	}
	return strconv.FormatBool(bool(*b))
}

func (b *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*b = boolFlag(v)
	return nil
}

func (b *boolFlag) IsBoolFlag() bool { return true }

// Parse reads the BK_* variables of the switches, then args: a flag given
// wins over its variable.
func (fs flagSet) Parse(args []string) error {
	for _, e := range fs.envBools {
		if err := (*boolFlag)(e.v).Set(e.value); err != nil {
			fmt.Fprintf(fs.Output(), "%s=%q: %v\n", envName(e.name), e.value, err)
			return err
		}
	}
	return fs.FlagSet.Parse(args)
}

// noArgs reports whether nothing is left after the flags of cmd, a
// command that takes no arguments, and says what is left on stderr if
// not: "--webrtc-loopback true", the old form of a switch, ends the flags
// at "true", which is refused rather than ignored.
func noArgs(fs flagSet, cmd string, stderr io.Writer) bool {
	if fs.NArg() == 0 {
		return true
	}
	fmt.Fprintf(stderr, "bk-fleet %s: unexpected argument %q (a switch takes no value: --name alone, or --name=false)\n", cmd, fs.Arg(0))
	return false
}

func envName(flag string) string {
	b := []byte("BK_")
	for _, c := range []byte(flag) {
		switch {
		case c == '-':
			b = append(b, '_')
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

type dbFlags struct{ data, db *string }

func addDBFlags(fs flagSet) dbFlags {
	return dbFlags{
		data: fs.str("data", "./data", "data directory"),
		db:   fs.str("db", "", "database URL (default SQLite in the data directory; postgres://... for PostgreSQL)"),
	}
}

// stores are the domains the commands work on, over one open database.
type stores struct {
	*store.DB
	*registry.Registry
	*auth.Auth
}

func (d dbFlags) open(ctx context.Context) (*stores, error) {
	url := *d.db
	if url == "" {
		if err := os.MkdirAll(*d.data, 0o750); err != nil {
			return nil, err
		}
		url = filepath.Join(*d.data, "fleet.db")
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	return &stores{db, registry.New(db), auth.New(db)}, nil
}

// run opens the store, runs fn with it and closes it: a command's exit
// code, 1 when the store does not open (cmd names the command).
func (d dbFlags) run(cmd string, stderr io.Writer, fn func(ctx context.Context, st *stores) int) int {
	ctx := context.Background()
	st, err := d.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet %s: open store: %v\n", cmd, err)
		return 1
	}
	defer st.Close()
	return fn(ctx, st)
}

// hours writes a whole number of hours as a flag's value: "24h".
func hours(d time.Duration) string { return fmt.Sprintf("%dh", d/time.Hour) }

func serve(args []string, stderr io.Writer) int {
	fs := newFlags("serve", stderr)
	httpAddr := fs.str("http", "127.0.0.1:8080", "HTTP listen address (host:port, :port for all interfaces, or a port on 127.0.0.1)")
	mqttListen := fs.str("mqtt-listen", "127.0.0.1:1883", "embedded MQTT broker listen address (as --http)")
	metricsListen := fs.str("metrics-listen", "", "serve /metrics to anyone on this address as well (default: only on --http, to an admin)")
	tlsCert := fs.str("tls-cert", "", "certificate file (PEM, chain included): serve HTTPS on --http (default plain HTTP, e.g. behind a TLS proxy)")
	tlsKey := fs.str("tls-key", "", "private key file (PEM) of --tls-cert")
	brokerURL := fs.str("broker", "", "external MQTT broker URL (tcp://host:port); nothing is embedded then")
	brokerUser := fs.str("broker-user", "", "username at the external broker")
	brokerPass := fs.str("broker-password", "", "password at the external broker")
	mqttTLSListen := fs.str("mqtt-tls-listen", "", "embedded broker's MQTT-over-TLS listen address, e.g. 0.0.0.0:8883 (default none)")
	mqttTLSCert := fs.str("mqtt-tls-cert", "", "PEM certificate chain for --mqtt-tls-listen")
	mqttTLSKey := fs.str("mqtt-tls-key", "", "PEM private key for --mqtt-tls-listen")
	mqttTLSClientCA := fs.str("mqtt-tls-client-ca", "", "PEM CA bundle: require TLS clients to present a certificate it signed (default: not required)")
	mqttConnectTimeout := fs.str("mqtt-connect-timeout", "5s", "time a new MQTT connection has for its TLS handshake and CONNECT")
	mqttMaxPending := fs.str("mqtt-max-pending-per-ip", "20", "MQTT connections one IP address may hold before they authenticate")
	mqttGatewayRate := fs.str("mqtt-gateway-rate", "8", "MiB a second the embedded broker reads from one gateway, beyond which TCP holds it back (0: no limit)")
	enrolURLs := fs.str("enrol-broker-url", "", "comma-separated broker URLs an enrolling gateway is told to use, preferred first; {host} is the host it reached the fleet at (default: the embedded broker's mqtts:// then tcp:// on {host}, or --broker)")
	enrolCA := fs.str("enrol-ca", "", "PEM file of the CA that signs the fleet's TLS certificates, handed to enrolling gateways (default none: their system roots)")
	publicURL := fs.str("public-url", "", "the fleet's URL as gateways reach it, for WHIP (default http://<--http>)")
	webrtcUDP := fs.str("webrtc-udp", "", "one UDP address for all WebRTC peers, e.g. 0.0.0.0:8189 (default: ephemeral ports)")
	iceServers := fs.str("ice-servers", "", "comma-separated STUN/TURN URLs for WebRTC peers")
	iceUser := fs.str("ice-username", "", "TURN username")
	icePass := fs.str("ice-credential", "", "TURN credential")
	publicIPs := fs.str("webrtc-public-ips", "", "comma-separated public IPs of a 1:1 NAT in front of the fleet")
	loopback := fs.boolean("webrtc-loopback", "offer loopback ICE candidates only (tests, one host)")
	linger := fs.str("live-linger", "10s", "how long a camera's upstream outlives its last viewer")
	recheck := fs.str("live-recheck", api.DefaultRecheckEvery.String(), "how often live views are checked again against their viewer's rights and viewing windows")
	noGOP := fs.boolean("live-no-gop-cache", "turn the relay's GOP cache off (a benchmark baseline)")
	perCamera := fs.str("live-max-viewers-per-camera", strconv.Itoa(live.DefaultMaxViewersPerCamera), "viewers of one camera at once, beyond which a viewer is refused (0: no cap)")
	perCanteen := fs.str("live-max-viewers-per-canteen", strconv.Itoa(live.DefaultMaxViewersPerCanteen), "viewers of one canteen's cameras at once (0: no cap)")
	reviewDeadline := fs.str("review-deadline", hours(alarms.DefaultReviewDeadline), "how soon an alarm must be reviewed")
	rectifyDeadline := fs.str("rectify-deadline", hours(alarms.DefaultRectifyDeadline), "how soon a confirmed alarm must be rectified")
	// Complaints (投诉举报).
	cpAccept := fs.str("complaint-accept-workdays", strconv.Itoa(complaints.DefaultAcceptWorkdays), "working days (Mon-Fri, Asia/Shanghai) a regulator has to accept a complaint")
	cpReply := fs.str("complaint-reply-deadline", hours(complaints.DefaultReplyDeadline), "how soon after filing a complaint must be replied to")
	cpPerAddr := fs.str("complaint-per-address", strconv.Itoa(complaints.DefaultPerAddress), "complaints one address may file in an hour")
	cpBits := fs.str("complaint-pow-bits", strconv.Itoa(complaints.DefaultBits), "the complaint form's proof of work, in leading zero bits of SHA-256 (each bit doubles the browser's work)")
	webhookURL := fs.str("webhook-url", "", "URL that receives each notice to an operator as signed JSON (SMS/WeChat gateways)")
	webhookSecret := fs.str("webhook-secret", "", "HMAC-SHA256 key for the webhook's X-BK-Signature")
	pushWeCom := fs.str("push-wecom-url", push.DefaultWeComBase, "base URL of the 企业微信 group robots (a channel's base_url wins)")
	pushDing := fs.str("push-dingtalk-url", push.DefaultDingTalkBase, "base URL of the 钉钉 group robots (a channel's base_url wins)")
	pushDueSoon := fs.str("push-due-soon", alarms.DefaultDueSoon.String(), "how long before its review or rectification deadline an alarm is pushed as due soon (0 for never)")
	gwOffline := fs.str("gateway-offline-grace", alarms.DefaultGatewayOfflineGrace.String(), "how long a gateway may be unheard of before its canteen's operators are told it is offline")
	gwDiskMiB := fs.str("gateway-disk-free-mb", strconv.Itoa(alarms.DefaultGatewayDiskFree>>20), "free disk (MiB) below which a gateway's disk is nearly full")
	gwTemp := fs.str("gateway-temp-c", strconv.Itoa(alarms.DefaultGatewayTempC), "board temperature (°C) at or above which a gateway is too hot")
	secureCookies := fs.boolean("secure-cookies", "mark session cookies Secure (behind a TLS proxy)")
	maxParents := fs.str("max-parent-viewers", strconv.Itoa(registry.DefaultMaxParentViewers), "parents watching one school at once, where the registry sets none")
	viewsPerParent := fs.str("max-views-per-parent", "2", "cameras one parent may watch at once")
	// Join links (issue 15 item 4).
	parentURL := fs.str("parent-url", "", "the fleet's URL as parents' browsers reach it, in join links and their QR codes (default: the address the operator who makes the link uses)")
	joinsPerAddr := fs.str("joins-per-addr", strconv.Itoa(api.DefaultJoinsPerAddr), "parents who may join through join links from one client address in 10 minutes")
	warmRates := fs.str("warm-rates-every", "10m", "how often the rates of the last 31 days are brought up to date in the background (0 for never)")
	releaseKeys := fs.str("release-keys", "", "comma-separated release public keys the fleet trusts for uploaded bundles (the base64 lines of bk-fleet release keygen, as a gateway's ota.trusted_keys); default none: uploads refused")
	releasesDir := fs.str("releases-dir", "", "directory of the uploaded bundles (default <--data>/releases)")
	releaseMax := fs.str("release-max", strconv.Itoa(ota.DefaultMaxBundle>>20), "largest bundle uploaded, in MiB")
	rolloutTick := fs.str("rollout-tick", "2s", "how often the rollout engine sends commands and follows the gateways (0 for never)")
	stallAfter := fs.str("rollout-stall-after", ota.DefaultStallAfter.String(), "how long a gateway updating may show no progress before its target is stalled (a failure)")
	retain := addRetentionFlags(fs)
	public := addPublicFlags(fs) // public kitchen pages
	db := addDBFlags(fs)
	memLimit := fs.str("memory-limit", strconv.Itoa(defaultMemoryLimitMiB),
		"soft memory limit in MiB: the Go collector works harder near it (0: none; default gives way to GOMEMLIMIT)")
	logFormat := fs.str("log-format", "text", "text or json")
	logLevel := fs.str("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !noArgs(fs, "serve", stderr) {
		return 2
	}
	log, err := logging.New(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet: %v\n", err)
		return 2
	}
	_, memSet := os.LookupEnv(envName("memory-limit"))
	fs.Visit(func(f *flag.Flag) { memSet = memSet || f.Name == "memory-limit" })
	memBytes, setMem, err := memoryLimit(*memLimit, memSet)
	if err != nil {
		fmt.Fprintf(stderr, "bk-fleet serve: %v\n", err)
		return 2
	}
	for _, l := range []struct {
		name string
		addr *string
	}{{"http", httpAddr}, {"mqtt-listen", mqttListen}, {"metrics-listen", metricsListen}} {
		if *l.addr == "" && l.name == "metrics-listen" {
			continue
		}
		if *l.addr, err = listenAddr(l.name, *l.addr, "127.0.0.1"); err != nil {
			fmt.Fprintf(stderr, "bk-fleet serve: %v\n", err)
			return 2
		}
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "bk-fleet serve: --tls-cert and --tls-key: set both or neither")
		return 2
	}
	lc := live.Config{UDPListen: *webrtcUDP, Loopback: *loopback, NoGOPCache: *noGOP}
	for _, c := range []struct {
		name, v string
		to      *int
	}{{"live-max-viewers-per-camera", *perCamera, &lc.MaxViewersPerCamera}, {"live-max-viewers-per-canteen", *perCanteen, &lc.MaxViewersPerCanteen}} {
		n, err := strconv.Atoi(c.v)
		if err != nil || n < 0 {
			fmt.Fprintf(stderr, "bk-fleet serve: --%s %q: want a number of viewers, 0 for no cap\n", c.name, c.v)
			return 2
		}
		if *c.to = n; n == 0 {
			*c.to = -1 // the relay's "no cap"
		}
	}
	if lc.Linger, err = time.ParseDuration(*linger); err != nil || lc.Linger <= 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --live-linger %q: want a positive duration such as 10s\n", *linger)
		return 2
	}
	liveRecheck, err := time.ParseDuration(*recheck)
	if err != nil || liveRecheck < time.Second {
		fmt.Fprintf(stderr, "bk-fleet serve: --live-recheck %q: want a duration of at least 1s such as 30s\n", *recheck)
		return 2
	}
	mqttTimeout, err := time.ParseDuration(*mqttConnectTimeout)
	if err != nil || mqttTimeout <= 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --mqtt-connect-timeout %q: want a positive duration such as 5s\n", *mqttConnectTimeout)
		return 2
	}
	mqttPending, err := strconv.Atoi(*mqttMaxPending)
	if err != nil || mqttPending < 1 {
		fmt.Fprintf(stderr, "bk-fleet serve: --mqtt-max-pending-per-ip %q: want a positive number\n", *mqttMaxPending)
		return 2
	}
	gwRate, err := strconv.ParseFloat(*mqttGatewayRate, 64)
	if err != nil || gwRate < 0 || gwRate > 1024 {
		fmt.Fprintf(stderr, "bk-fleet serve: --mqtt-gateway-rate %q: want MiB a second, 0 to 1024 (0: no limit)\n", *mqttGatewayRate)
		return 2
	}
	gwBytes := int(gwRate * (1 << 20))
	if gwBytes == 0 {
		gwBytes = -1 // no limit
	}
	if msg := checkMQTTTLS(*mqttTLSListen, *mqttTLSCert, *mqttTLSKey, *mqttTLSClientCA, *brokerURL); msg != "" {
		fmt.Fprintf(stderr, "bk-fleet serve: %s\n", msg)
		return 2
	}
	var wf alarms.Workflow
	if wf.ReviewDeadline, err = time.ParseDuration(*reviewDeadline); err != nil || wf.ReviewDeadline <= 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --review-deadline %q: want a positive duration such as 24h\n", *reviewDeadline)
		return 2
	}
	if wf.RectifyDeadline, err = time.ParseDuration(*rectifyDeadline); err != nil || wf.RectifyDeadline <= 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --rectify-deadline %q: want a positive duration such as 72h\n", *rectifyDeadline)
		return 2
	}
	var cps complaints.Settings
	var cpBitsN int
	if cps.AcceptWorkdays, err = strconv.Atoi(*cpAccept); err != nil || cps.AcceptWorkdays < 1 || cps.AcceptWorkdays > 30 {
		fmt.Fprintf(stderr, "bk-fleet serve: --complaint-accept-workdays %q: want 1 to 30\n", *cpAccept)
		return 2
	}
	if cps.ReplyDeadline, err = time.ParseDuration(*cpReply); err != nil || cps.ReplyDeadline <= 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --complaint-reply-deadline %q: want a positive duration such as 168h\n", *cpReply)
		return 2
	}
	if cps.PerAddress, err = strconv.Atoi(*cpPerAddr); err != nil || cps.PerAddress < 1 {
		fmt.Fprintf(stderr, "bk-fleet serve: --complaint-per-address %q: want a positive number\n", *cpPerAddr)
		return 2
	}
	if cpBitsN, err = strconv.Atoi(*cpBits); err != nil || cpBitsN < 1 || cpBitsN > complaints.MaxBits {
		fmt.Fprintf(stderr, "bk-fleet serve: --complaint-pow-bits %q: want 1 to %d\n", *cpBits, complaints.MaxBits)
		return 2
	}
	po := core.PushOptions{WeComBase: *pushWeCom, DingTalkBase: *pushDing}
	for name, v := range map[string]string{"push-wecom-url": *pushWeCom, "push-dingtalk-url": *pushDing} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			fmt.Fprintf(stderr, "bk-fleet serve: --%s %q: want an http:// or https:// base URL without a query\n", name, v)
			return 2
		}
	}
	if po.DueSoon, err = time.ParseDuration(*pushDueSoon); err != nil || po.DueSoon < 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --push-due-soon %q: want a duration such as 2h (0 for never)\n", *pushDueSoon)
		return 2
	}
	if po.DueSoon == 0 {
		po.DueSoon = -1 // never
	}
	var gwTh alarms.GatewayThresholds
	if gwTh.OfflineGrace, err = time.ParseDuration(*gwOffline); err != nil || gwTh.OfflineGrace <= 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --gateway-offline-grace %q: want a positive duration such as 10m\n", *gwOffline)
		return 2
	}
	if mib, err := strconv.ParseUint(*gwDiskMiB, 10, 32); err != nil || mib == 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --gateway-disk-free-mb %q: want a positive number of MiB\n", *gwDiskMiB)
		return 2
	} else {
		gwTh.DiskFree = mib << 20
	}
	if gwTh.TempC, err = strconv.ParseFloat(*gwTemp, 64); err != nil || gwTh.TempC <= 0 || gwTh.TempC > 200 {
		fmt.Fprintf(stderr, "bk-fleet serve: --gateway-temp-c %q: want a temperature in °C such as 80\n", *gwTemp)
		return 2
	}
	secure := *secureCookies
	parents, err := strconv.Atoi(*maxParents)
	if err != nil || parents < 1 {
		fmt.Fprintf(stderr, "bk-fleet serve: --max-parent-viewers %q: want a positive number\n", *maxParents)
		return 2
	}
	perParent, err := strconv.Atoi(*viewsPerParent)
	if err != nil || perParent < 1 {
		fmt.Fprintf(stderr, "bk-fleet serve: --max-views-per-parent %q: want a positive number\n", *viewsPerParent)
		return 2
	}
	joins, err := strconv.Atoi(*joinsPerAddr)
	if err != nil || joins < 1 {
		fmt.Fprintf(stderr, "bk-fleet serve: --joins-per-addr %q: want a positive number\n", *joinsPerAddr)
		return 2
	}
	warm, err := time.ParseDuration(*warmRates)
	if err != nil || warm < 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --warm-rates-every %q: want a duration such as 10m, or 0 for never\n", *warmRates)
		return 2
	}
	if warm == 0 {
		warm = -1 // core: negative is never
	}
	retention, retainEvery, ok := retain.parse(stderr)
	if !ok {
		return 2
	}
	maxPublic, publicPerMinute, ok := public.parse(stderr) // public kitchen pages
	if !ok {
		return 2
	}
	var keys []ed25519.PublicKey
	for i, k := range splitFlag(*releaseKeys) {
		pub, err := release.ParsePublicKey([]byte(k))
		if err != nil {
			fmt.Fprintf(stderr, "bk-fleet serve: --release-keys[%d]: %v\n", i, err)
			return 2
		}
		keys = append(keys, pub)
	}
	if len(keys) > release.MaxKeys {
		fmt.Fprintf(stderr, "bk-fleet serve: --release-keys: %d keys, at most %d\n", len(keys), release.MaxKeys)
		return 2
	}
	relMiB, err := strconv.ParseInt(*releaseMax, 10, 64)
	if err != nil || relMiB < 1 || relMiB > 4096 {
		fmt.Fprintf(stderr, "bk-fleet serve: --release-max %q: want MiB, 1 to 4096\n", *releaseMax)
		return 2
	}
	tick, err := time.ParseDuration(*rolloutTick)
	if err != nil || tick < 0 {
		fmt.Fprintf(stderr, "bk-fleet serve: --rollout-tick %q: want a duration such as 2s, or 0 for never\n", *rolloutTick)
		return 2
	}
	stall, err := time.ParseDuration(*stallAfter)
	if err != nil || stall < time.Minute {
		fmt.Fprintf(stderr, "bk-fleet serve: --rollout-stall-after %q: want a duration of at least 1m, such as 1h\n", *stallAfter)
		return 2
	}
	if tick == 0 {
		tick = -1 // core: negative is never
	}
	if *iceServers != "" {
		lc.ICEServers = []webrtc.ICEServer{{URLs: strings.Split(*iceServers, ","), Username: *iceUser, Credential: *icePass}}
	}
	if *publicIPs != "" {
		lc.PublicIPs = strings.Split(*publicIPs, ",")
	}
	if setMem {
		debug.SetMemoryLimit(memBytes)
	}
	if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
		log.Info("soft memory limit", "mib", l>>20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, err := core.Start(ctx, core.Options{
		HTTP: *httpAddr, MQTTListen: *mqttListen, Broker: *brokerURL,
		BrokerUser: *brokerUser, BrokerPassword: *brokerPass,
		MQTTTLSListen: *mqttTLSListen, MQTTTLSCert: *mqttTLSCert, MQTTTLSKey: *mqttTLSKey, MQTTTLSClientCA: *mqttTLSClientCA,
		MQTTConnectTimeout: mqttTimeout, MQTTMaxPendingPerAddr: mqttPending, MQTTGatewayBytesPerSec: gwBytes,
		DataDir: *db.data, DB: *db.db, AdminToken: os.Getenv("BK_ADMIN_TOKEN"),
		PublicURL: *publicURL, Live: lc, LiveRecheck: liveRecheck, Workflow: wf, Complaints: cps, ComplaintBits: cpBitsN, WebhookURL: *webhookURL, WebhookSecret: *webhookSecret, GatewayAlarms: gwTh, Push: po,
		SecureCookies: secure, MaxParentViewers: parents, MaxViewsPerParent: perParent, WarmRatesEvery: warm, Logger: log,
		ParentURL: *parentURL, JoinsPerAddr: joins,
		MetricsListen: *metricsListen, TLSCert: *tlsCert, TLSKey: *tlsKey,
		Retention: &retention, RetainEvery: retainEvery,
		EnrolBrokerURLs: splitFlag(*enrolURLs), EnrolCAFile: *enrolCA,
		ReleaseKeys: keys, ReleasesDir: *releasesDir, ReleaseMax: relMiB << 20, RolloutTick: tick, RolloutStallAfter: stall,
		MaxPublicViewers: maxPublic, PublicViewsPerMinute: publicPerMinute, // public kitchen pages
	})
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	<-ctx.Done()
	log.Info("stopping")
	if err := f.Close(); err != nil {
		log.Error("stop", "err", err)
		return 1
	}
	return 0
}

// checkMQTTTLS says what is wrong with the broker's TLS flags ("" if
// nothing).
func checkMQTTTLS(listen, cert, key, clientCA, external string) string {
	switch {
	case listen == "" && (cert != "" || key != "" || clientCA != ""):
		return "--mqtt-tls-cert, --mqtt-tls-key and --mqtt-tls-client-ca need --mqtt-tls-listen"
	case listen != "" && (cert == "" || key == ""):
		return "--mqtt-tls-listen needs --mqtt-tls-cert and --mqtt-tls-key"
	case listen != "" && external != "":
		return "--mqtt-tls-listen: nothing is embedded with --broker"
	}
	return ""
}
