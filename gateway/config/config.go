// Package config is the gateway's one configuration file: its schema, its
// defaults, the BK_* environment overrides and the checks that run before the
// gateway starts.
//
// A config is built in four steps: Default, then the YAML file, then the
// environment (BK_GATEWAY_ID, BK_SPOOL_MAX_BYTES, ...), then Validate. Unknown
// keys and bad values are errors that name the key path and, where there is
// one, the line: `cameras[2].url: scheme must be rtsp or rtsps (line 14)`.
//
// example.yaml, next to this file, is the reference: every key with its
// default and its meaning. The fleet pushes the same document as JSON on
// config/desired; FromJSON reads it with the same rules and JSON writes it.
//
// A camera's detect section (Camera.Detect) belongs to package rules: this
// package finds it, hands it to rules.Parse and checks it with
// rules.CameraRules.Validate, naming its keys under the camera's path.
package config

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// MaxFileBytes is the largest config document Parse accepts.
const MaxFileBytes = 1 << 20

// MaxCameras is the most cameras one gateway may have (a heartbeat carries at
// most this many).
const MaxCameras = 256

// Config is the whole gateway configuration. The yaml tags are the key names
// in both the YAML file and the JSON form.
type Config struct {
	Gateway Gateway `yaml:"gateway"`
	Broker  Broker  `yaml:"broker"`
	Spool   Spool   `yaml:"spool"`
	Uplink  Uplink  `yaml:"uplink"`
	HTTP    HTTP    `yaml:"http"`
	Log     Log     `yaml:"log"`
	// PluginDir is where a plugin without a path is found, as
	// bk-plugin-<name>. Loaded with Load, a relative directory is taken
	// from the config file's directory. Local only: the fleet's desired
	// config cannot set it (gateway/core refuses it). Default
	// /usr/lib/bk-gateway/plugins.
	PluginDir string `yaml:"plugin_dir"`
	// Plugins are the detector plugins cameras may name in
	// detect.plugins. Local only, like PluginDir: they are executables on
	// this machine. Default none.
	Plugins []Plugin `yaml:"plugins"`
	// ModelDir is where the models that Models names are found, as
	// <name>.onnx with the model's manifest next to it. Loaded with Load,
	// a relative directory is taken from the config file's directory.
	// Local only, like PluginDir. Default /usr/lib/bk-gateway/models.
	ModelDir string `yaml:"model_dir"`
	// Models chooses the model a plugin runs, by plugin name (a plugin in
	// Plugins). The fleet's desired config may set it, which is how a model
	// is rolled out to some gateways first; a change relaunches that
	// plugin only. Default none: each plugin runs the model it finds on
	// its own.
	Models  map[string]Model `yaml:"models"`
	Cameras []Camera         `yaml:"cameras"`
	Live    Live             `yaml:"live"`
	Board   Board            `yaml:"board"`
	OTA     OTA              `yaml:"ota"`
	Debug   Debug            `yaml:"debug"`

	// where each key path came from, for error messages: a line in the file
	// or an environment variable. Nil for a Config built in Go.
	origin map[string]string
	// file is the path Load read ("" otherwise).
	file string
}

// File is the path of the file Load read the config from, absolute; ""
// for a config built otherwise. The setup page writes its cameras there.
func (c Config) File() string { return c.file }

// Gateway identifies this gateway to the fleet.
type Gateway struct {
	// ID is the gateway's id (wire.ValidID). Required; no default.
	ID string `yaml:"id"`
}

// Broker is the MQTT connection to the fleet.
type Broker struct {
	// URL of the broker; scheme tcp, ssl, tls, mqtt, mqtts, ws or wss.
	// Default tcp://127.0.0.1:1883.
	URL string `yaml:"url"`
	// Username and Password are the gateway's MQTT credentials. Default empty.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// ClientID is the MQTT client id. Default: the gateway id.
	ClientID string `yaml:"client_id"`
	// Keepalive is the MQTT keepalive interval. Default 30s.
	Keepalive time.Duration `yaml:"keepalive"`
	// ConnectTimeout bounds one connection attempt. Default 10s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// CAFile is a PEM file of the CA certificates that verify the broker's
	// certificate on a TLS URL (ssl, tls, mqtts, wss). Default empty: the
	// system's roots. Loaded with Load, a relative path is taken from the
	// config file's directory.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for a
	// broker that requires one. Both or neither. Default empty (none).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Spool is the on-disk outbox of events waiting for the fleet's ack.
type Spool struct {
	// Path of the bbolt file. Default /var/lib/brightkitchen/spool.db.
	Path string `yaml:"path"`
	// MaxBytes is the spool's byte budget. Default 256MiB.
	MaxBytes ByteSize `yaml:"max_bytes"`
}

// Uplink tunes the MQTT uplink.
type Uplink struct {
	// Heartbeat is the interval between heartbeats. Default 30s.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// MaxInflight is the most unacknowledged records at once. Default 256.
	MaxInflight int `yaml:"max_inflight"`
	// ReplayRate caps records per second sent after a reconnect; 0 means no
	// cap. Default 10000.
	ReplayRate int `yaml:"replay_rate"`
	// AckTimeout is how long a record may wait for the fleet's ack before it
	// is sent again. Default 15s.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// OfflineGrace is how long the broker may be away before the gateway
	// reports itself offline locally (status LED, status page). Default 30s.
	OfflineGrace time.Duration `yaml:"offline_grace"`
}

// HTTP is the local status page for installers.
type HTTP struct {
	// Listen is the host:port to serve on; a bare port ("8081") means
	// 127.0.0.1 and that port; "" turns it off. Default 127.0.0.1:8081.
	Listen string `yaml:"listen"`
	// Setup turns on the setup page for installers (/setup on Listen,
	// behind the setup password; package gateway/setup). Default true.
	Setup bool `yaml:"setup"`
	// ONVIFDiscovery is where the setup page's ONVIF discovery probe is
	// sent, host:port: WS-Discovery's multicast group, or one camera's
	// (or a test responder's) unicast address. Default
	// 239.255.255.250:3702.
	ONVIFDiscovery string `yaml:"onvif_discovery"`
}

// Log sets up the gateway's logger.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
	// FileSize bounds the log file the gateway keeps beside its spool
	// (gateway.log in the spool's directory, besides stderr), which the
	// fleet's logs.upload command sends from: at this size it is renamed
	// gateway.log.1 (replacing the older one) and a new one begun, so at
	// most twice this is on disk. 0 turns the file off; else 64KiB to
	// 1GiB. Default 8MiB.
	FileSize ByteSize `yaml:"file_size"`
}

// LogFile is the path of the gateway's log file, "" when it is off.
func (c Config) LogFile() string {
	if c.Log.FileSize == 0 || c.Spool.Path == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(c.Spool.Path), "gateway.log")
}

// SlogLevel is Level as a slog.Level (info when Level is not valid).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Camera is one camera the gateway reads.
type Camera struct {
	// ID is the camera's id (wire.ValidID), unique in this file. Required.
	ID string `yaml:"id"`
	// URL is the camera's main stream, rtsp:// or rtsps://. Required.
	URL string `yaml:"url"`
	// Transport is tcp, udp or auto. Default auto.
	Transport string `yaml:"transport"`
	// Area is the kitchen area this camera watches (e.g. cooking). Default empty
	// (not mapped yet).
	Area string `yaml:"area"`
	// Public says whether parents may watch this camera. Default false.
	Public bool `yaml:"public"`
	// LiveURL is an optional sub-stream for live view, rtsp:// or rtsps://.
	// Default empty (live view uses URL).
	LiveURL string `yaml:"live_url"`
	// Name is a human label. Default empty.
	Name string `yaml:"name"`
	// Detect is the camera's detection section, as package rules defines
	// it; every plugin it names must be in Config.Plugins. Default: absent,
	// no detection on this camera.
	Detect Detect `yaml:"detect"`
}

// Plugin is a detector plugin the gateway may run: one executable, started
// once and shared by the cameras that name it.
type Plugin struct {
	// Name is what cameras call it in detect.plugins[].name: 1 to 64
	// lowercase letters, digits, '_' or '-', starting with a letter or
	// digit; unique. Required.
	Name string `yaml:"name"`
	// Path is the plugin's executable. Loaded with Load, a relative path is
	// taken from the config file's directory and stored absolute.
	// Default: PluginDir/bk-plugin-<name>.
	Path string `yaml:"path"`
	// Deadline bounds the plugin's answer for one frame, 50ms to 60s.
	// Default 2s.
	Deadline time.Duration `yaml:"deadline"`
	// PingEvery is how often the plugin is checked for life, 100ms to 10m.
	// Default 5s.
	PingEvery time.Duration `yaml:"ping_every"`
	// MaxRestarts is how many failures (a crash, a missed ping or deadline)
	// within 10 minutes put the plugin in quarantine, 1 to 100. Default 5.
	MaxRestarts int `yaml:"max_restarts"`
}

// Model is the model a plugin runs: ModelDir/<Name>.onnx, which must have
// the checksum SHA256. The gateway starts the plugin with the path in
// BK_ONNX_MODEL and the checksum in BK_ONNX_SHA256; the plugin refuses a
// file that does not match (bk-plugin-onnx does), and the gateway shows
// its error and sends it no frames.
type Model struct {
	// Name is the model's file name in ModelDir without ".onnx": 1 to 64
	// letters, digits, '.', '_' or '-', starting with a letter or digit,
	// without "..": a name, never a path. Required.
	Name string `yaml:"name"`
	// SHA256 is the checksum of the .onnx file, 64 lowercase hex digits
	// (sha256sum prints it). Required.
	SHA256 string `yaml:"sha256"`
}

// Live is the gateway's side of live view: when the fleet asks
// (live.start), a camera is published over WebRTC (WHIP) to the fleet.
type Live struct {
	// ICEServers are STUN/TURN URLs (stun:host:port, turn:host:port) for
	// reaching the fleet's relay through NAT. Default none: the relay's own
	// candidates are enough when the fleet has a public address.
	ICEServers []string `yaml:"ice_servers"`
	// Loopback offers loopback ICE candidates only (tests, everything on
	// one host). Default false.
	Loopback bool `yaml:"loopback"`
	// FleetURL is the fleet's web address (scheme://host[:port]): live.start
	// publishes only to a whip_url of this scheme, host and port, so a
	// command cannot send a camera anywhere else. Default empty: a whip_url
	// on the broker's host, over http or https, any port.
	FleetURL string `yaml:"fleet_url"`
}

// Debug holds settings for tests and benchmarks.
type Debug struct {
	SyntheticEvents SyntheticEvents `yaml:"synthetic_events"`
}

// SyntheticEvents is a load generator: it spools Total synthetic events at
// Rate per second. Total 0 (the default) turns it off; Rate 0 means as fast as
// the spool takes them.
type SyntheticEvents struct {
	Total int     `yaml:"total"`
	Rate  float64 `yaml:"rate"`
}

// Default is the configuration before the file is read. It does not validate
// on its own: the gateway id has no default.
func Default() Config {
	return Config{
		Broker: Broker{
			URL:            "tcp://127.0.0.1:1883",
			Keepalive:      30 * time.Second,
			ConnectTimeout: 10 * time.Second,
		},
		Spool: Spool{
			Path:     "/var/lib/brightkitchen/spool.db",
			MaxBytes: 256 * MiB,
		},
		Uplink: Uplink{
			Heartbeat:    30 * time.Second,
			MaxInflight:  256,
			ReplayRate:   10000,
			AckTimeout:   15 * time.Second,
			OfflineGrace: 30 * time.Second,
		},
		HTTP:      HTTP{Listen: "127.0.0.1:8081", Setup: true, ONVIFDiscovery: "239.255.255.250:3702"},
		Log:       Log{Level: "info", Format: "text", FileSize: 8 * MiB},
		PluginDir: "/usr/lib/bk-gateway/plugins",
		ModelDir:  "/usr/lib/bk-gateway/models",
		Board:     defaultBoard(),
		OTA:       defaultOTA(),
	}
}

// defaultCamera is what each entry of cameras starts from.
func defaultCamera() Camera { return Camera{Transport: "auto"} }

// defaultPlugin is what each entry of plugins starts from.
func defaultPlugin() Plugin {
	return Plugin{Deadline: 2 * time.Second, PingEvery: 5 * time.Second, MaxRestarts: 5}
}

// Load reads the file at path, applies the BK_* environment and validates.
// Relative plugin paths and directories are taken from the file's
// directory.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := parse(data, os.LookupEnv, dir)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	c.file = filepath.Join(dir, filepath.Base(path))
	return c, nil
}

// Parse builds a Config from a YAML document: defaults, then data, then the
// environment looked up through env (nil for none), then Validate. Relative
// plugin paths are kept as written; Load resolves them.
func Parse(data []byte, env func(string) (string, bool)) (Config, error) {
	return parse(data, env, "")
}

// parse is Parse with relative plugin paths taken from dir ("" leaves them).
func parse(data []byte, env func(string) (string, bool), dir string) (Config, error) {
	if len(data) > MaxFileBytes {
		return Config{}, &Error{Msg: fmt.Sprintf("document is %d bytes, limit %d", len(data), MaxFileBytes)}
	}
	root, err := parseYAML(data)
	if err != nil {
		return Config{}, err
	}
	return build(root, env, dir)
}

// FromJSON builds a Config from its JSON form (as pushed by the fleet on
// config/desired): defaults, then b, then Validate, with the same key names
// and rules as the YAML file. The environment is not consulted; call
// ApplyEnv and Validate to lay local overrides over a pushed config.
func FromJSON(b []byte) (Config, error) {
	if len(b) > MaxFileBytes {
		return Config{}, &Error{Msg: fmt.Sprintf("document is %d bytes, limit %d", len(b), MaxFileBytes)}
	}
	root, err := parseJSON(b)
	if err != nil {
		return Config{}, err
	}
	return build(root, nil, "")
}

func build(root *yaml.Node, env func(string) (string, bool), dir string) (Config, error) {
	c := Default()
	if err := c.decodeNode(root); err != nil {
		return Config{}, err
	}
	if env != nil {
		if err := c.ApplyEnv(env); err != nil {
			return Config{}, err
		}
	}
	c.fill(dir)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// fill sets the defaults that depend on other keys, and takes relative
// plugin paths from dir ("" leaves them relative).
func (c *Config) fill(dir string) {
	if len(c.Live.ICEServers) == 0 {
		c.Live.ICEServers = nil // "ice_servers: []" is the default, as in JSON
	}
	if len(c.OTA.TrustedKeys) == 0 {
		c.OTA.TrustedKeys = nil
	}
	if len(c.Models) == 0 {
		c.Models = nil // "models: {}" is the default, as in JSON
	}
	if c.Broker.ClientID == "" {
		c.Broker.ClientID = c.Gateway.ID
	}
	c.HTTP.Listen = ListenAddr(c.HTTP.Listen)
	abs := func(p string) string {
		if dir == "" || p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.PluginDir = abs(c.PluginDir)
	c.ModelDir = abs(c.ModelDir)
	c.OTA.Dir = abs(c.OTA.Dir)
	c.Broker.CAFile = abs(c.Broker.CAFile)
	c.Broker.CertFile = abs(c.Broker.CertFile)
	c.Broker.KeyFile = abs(c.Broker.KeyFile)
	for i := range c.Plugins {
		p := &c.Plugins[i]
		if p.Path == "" {
			p.Path = filepath.Join(c.PluginDir, "bk-plugin-"+p.Name)
		}
		p.Path = abs(p.Path)
	}
}

// Plugin returns the plugin with the given name.
func (c *Config) Plugin(name string) (Plugin, bool) {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// Model returns the model that Models chooses for the named plugin, and
// its file, ModelDir/<name>.onnx; false when it chooses none.
func (c *Config) Model(plugin string) (m Model, path string, ok bool) {
	m, ok = c.Models[plugin]
	if !ok {
		return Model{}, "", false
	}
	return m, filepath.Join(c.ModelDir, m.Name+".onnx"), true
}

// Camera returns the camera with the given id.
func (c *Config) Camera(id string) (Camera, bool) {
	for _, cam := range c.Cameras {
		if cam.ID == id {
			return cam, true
		}
	}
	return Camera{}, false
}

// Redacted is a copy with secrets (the broker password, passwords in camera
// URLs) replaced by "xxxxx", for logs and the status page.
func (c Config) Redacted() Config {
	r := c
	if r.Broker.Password != "" {
		r.Broker.Password = redacted
	}
	r.Plugins = slices.Clone(c.Plugins)
	r.Models = maps.Clone(c.Models)
	r.Cameras = make([]Camera, len(c.Cameras))
	for i, cam := range c.Cameras {
		cam.URL = redactURL(cam.URL)
		cam.LiveURL = redactURL(cam.LiveURL)
		r.Cameras[i] = cam
	}
	if c.Cameras == nil {
		r.Cameras = nil
	}
	return r
}

const redacted = "xxxxx"

// redactURL hides the password of a URL with user info.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	return u.String()
}

// DefaultListenHost is the host a listen setting given as a bare port binds:
// loopback, so nothing is exposed by accident.
const DefaultListenHost = "127.0.0.1"

// ListenAddr turns a bare port ("8081") into DefaultListenHost:port and
// returns anything else as given (Validate judges it).
func ListenAddr(s string) string {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return s
	}
	return net.JoinHostPort(DefaultListenHost, s)
}
