package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/rules"
)

// Validate checks every key and reports each problem as an *Error naming
// its key path (several are joined with errors.Join).
func (c *Config) Validate() error {
	v := validator{origin: c.origin}

	v.id("gateway.id", c.Gateway.ID)

	v.brokerURL("broker.url", c.Broker.URL)
	if n := utf8.RuneCountInString(c.Broker.ClientID); n > 128 {
		v.fail("broker.client_id", "%d characters, limit 128", n)
	}
	v.duration("broker.keepalive", c.Broker.Keepalive, time.Second, 65535*time.Second)
	v.duration("broker.connect_timeout", c.Broker.ConnectTimeout, time.Millisecond, time.Hour)
	if c.Broker.TLS() {
		if _, err := c.Broker.TLSConfig(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				v.fail(e.Path, "%s", e.Msg)
			}
		} else if u, err := url.Parse(c.Broker.URL); err == nil && !slices.Contains(tlsSchemes, u.Scheme) {
			v.fail("broker.ca_file", "set, but broker.url is not a TLS URL (%s)", strings.Join(tlsSchemes, ", "))
		}
	}

	if c.Spool.Path == "" {
		v.fail("spool.path", "required")
	}
	if c.Spool.MaxBytes < MiB {
		v.fail("spool.max_bytes", "%s is too small, minimum 1MiB", c.Spool.MaxBytes)
	}

	if f := c.Live.FleetURL; f != "" {
		u, err := url.Parse(f)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
			v.fail("live.fleet_url", "want http(s)://host[:port], got %q", f)
		case u.Port() != "" && !validPort(u.Port()):
			v.fail("live.fleet_url", "port %q is not a number from 1 to 65535", u.Port())
		}
	}
	for i, u := range c.Live.ICEServers {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			v.fail(fmt.Sprintf("live.ice_servers[%d]", i), "%q: want a stun:, turn: or turns: URL", u)
		}
	}

	v.duration("uplink.heartbeat", c.Uplink.Heartbeat, time.Second, 24*time.Hour)
	v.intRange("uplink.max_inflight", c.Uplink.MaxInflight, 1, 65535)
	v.intRange("uplink.replay_rate", c.Uplink.ReplayRate, 0, math.MaxInt32)
	v.duration("uplink.ack_timeout", c.Uplink.AckTimeout, time.Second, 24*time.Hour)
	v.duration("uplink.offline_grace", c.Uplink.OfflineGrace, 0, 24*time.Hour)

	if l := c.HTTP.Listen; l != "" {
		host, port, err := net.SplitHostPort(l)
		_, perr := strconv.ParseUint(port, 10, 16)
		switch {
		case err != nil:
			v.fail("http.listen", "want host:port, a port or \"\" (off), got %q", l)
		case perr != nil:
			v.fail("http.listen", "port %q is not a number from 0 to 65535", port)
		case host != "" && net.ParseIP(host) == nil && !validHost(host):
			v.fail("http.listen", "host %q is not an IP address or host name", host)
		}
	}

	if d := c.HTTP.ONVIFDiscovery; d != "" {
		host, port, err := net.SplitHostPort(d)
		switch {
		case err != nil || host == "":
			v.fail("http.onvif_discovery", "want host:port, got %q", d)
		case !validPort(port):
			v.fail("http.onvif_discovery", "port %q is not a number from 1 to 65535", port)
		case net.ParseIP(host) == nil && !validHost(host):
			v.fail("http.onvif_discovery", "host %q is not an IP address or host name", host)
		}
	}

	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
	if fs := c.Log.FileSize; fs != 0 && (fs < 64*KiB || fs > GiB) {
		v.fail("log.file_size", "%d: want 0 (off) or 64KiB to 1GiB", fs)
	}

	if c.PluginDir == "" {
		v.fail("plugin_dir", "required")
	}
	plugins := make(map[string]int, len(c.Plugins))
	for i, pl := range c.Plugins {
		p := fmt.Sprintf("plugins[%d]", i)
		switch {
		case pl.Name == "":
			v.fail(p+".name", "required")
		case !validPluginName(pl.Name):
			v.fail(p+".name", "%q is not a valid plugin name (1 to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit)", pl.Name)
		default:
			if j, dup := plugins[pl.Name]; dup {
				v.fail(p+".name", "duplicate name %q (also plugins[%d])", pl.Name, j)
			} else {
				plugins[pl.Name] = i
			}
		}
		if pl.Path == "" {
			v.fail(p+".path", "required")
		}
		v.duration(p+".deadline", pl.Deadline, 50*time.Millisecond, time.Minute)
		v.duration(p+".ping_every", pl.PingEvery, 100*time.Millisecond, 10*time.Minute)
		v.intRange(p+".max_restarts", pl.MaxRestarts, 1, 100)
	}

	if c.ModelDir == "" {
		v.fail("model_dir", "required")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Models)) {
		v.model("models."+name, name, c.Models[name], plugins)
	}

	if len(c.Cameras) > MaxCameras {
		v.fail("cameras", "%d cameras, limit %d", len(c.Cameras), MaxCameras)
	}
	ids := make(map[string]int, len(c.Cameras))
	for i, cam := range c.Cameras {
		p := fmt.Sprintf("cameras[%d]", i)
		if v.id(p+".id", cam.ID) {
			if j, dup := ids[cam.ID]; dup {
				v.fail(p+".id", "duplicate id %q (also cameras[%d])", cam.ID, j)
			} else {
				ids[cam.ID] = i
			}
		}
		if cam.URL == "" {
			v.fail(p+".url", "required")
		} else {
			v.rtspURL(p+".url", cam.URL)
		}
		v.oneOf(p+".transport", cam.Transport, "tcp", "udp", "auto")
		if n := utf8.RuneCountInString(cam.Area); n > 64 {
			v.fail(p+".area", "%d characters, limit 64", n)
		}
		if cam.LiveURL != "" {
			v.rtspURL(p+".live_url", cam.LiveURL)
		}
		if n := utf8.RuneCountInString(cam.Name); n > 128 {
			v.fail(p+".name", "%d characters, limit 128", n)
		}
		if cam.Detect.IsSet() {
			v.detect(p+".detect", cam.Detect.Rules(), plugins)
		}
	}

	v.board(c.Board)
	v.ota(c.OTA)

	se := c.Debug.SyntheticEvents
	if se.Total < 0 {
		v.fail("debug.synthetic_events.total", "must not be negative")
	}
	if math.IsNaN(se.Rate) || math.IsInf(se.Rate, 0) || se.Rate < 0 {
		v.fail("debug.synthetic_events.rate", "must be a number of events per second, 0 or more")
	}

	// no string anywhere may carry invalid UTF-8 or control characters
	v.text(reflect.ValueOf(c).Elem(), "")
	return v.errs.err()
}

// detect checks a camera's detect section at path with package rules, and
// that every plugin it names is one of plugins.
func (v *validator) detect(path string, r rules.CameraRules, plugins map[string]int) {
	if err := r.Validate(path); err != nil {
		addRulesErrors(&v.errs, v.origin, path, path, err)
	}
	for j, ref := range r.Plugins {
		if !validPluginName(ref.Name) {
			continue // rules said why
		}
		if _, ok := plugins[ref.Name]; !ok {
			p := fmt.Sprintf("%s.plugins[%d].name", path, j)
			v.errs.add(p, where(v.origin, p), fmt.Sprintf("unknown plugin %q: not in the top-level plugins list", ref.Name))
		}
	}
}

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// model checks the model chosen for the plugin named name, at path.
func (v *validator) model(path, name string, m Model, plugins map[string]int) {
	switch {
	case !validPluginName(name):
		v.fail(path, "%q is not a valid plugin name (1 to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit)", name)
	default:
		if _, ok := plugins[name]; !ok {
			v.fail(path, "unknown plugin %q: not in the top-level plugins list", name)
		}
	}
	switch {
	case m.Name == "":
		v.fail(path+".name", "required")
	case strings.HasSuffix(m.Name, ".onnx"):
		v.fail(path+".name", "%q: give the name without .onnx", m.Name)
	case !validModelName(m.Name):
		v.fail(path+".name", "%q is not a valid model name (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, no \"..\"; a name in model_dir, not a path)", m.Name)
	}
	switch {
	case m.SHA256 == "":
		v.fail(path+".sha256", "required")
	case !sha256Re.MatchString(m.SHA256):
		v.fail(path+".sha256", "%q is not 64 lowercase hex digits", m.SHA256)
	}
}

// validModelName is a model's file name without .onnx: 1 to 64 of
// [A-Za-z0-9._-], starting with a letter or digit, without "..", so it
// names a file in the model directory and nothing else.
func validModelName(s string) bool {
	if s == "" || len(s) > 64 || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

// validPluginName is a plugin name: 1 to 64 of [a-z0-9_-], starting with a
// letter or digit (as package rules wants it).
func validPluginName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

type validator struct {
	errs   errorList
	origin map[string]string
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs.add(path, v.origin[path], fmt.Sprintf(format, args...))
}

func (v *validator) id(path, s string) bool {
	switch {
	case s == "":
		v.fail(path, "required")
	case !wire.ValidID(s):
		v.fail(path, "%q is not a valid id (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)", s)
	default:
		return true
	}
	return false
}

func (v *validator) oneOf(path, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fail(path, "%q is not one of %s", s, strings.Join(allowed, ", "))
}

func (v *validator) duration(path string, d, lo, hi time.Duration) {
	switch {
	case d < lo && lo == 0:
		v.fail(path, "must not be negative")
	case d < lo:
		v.fail(path, "%v is too short, minimum %v", d, lo)
	case d > hi:
		v.fail(path, "%v is too long, maximum %v", d, hi)
	}
}

func (v *validator) intRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.fail(path, "%d is out of range %d to %d", n, lo, hi)
	}
}

var (
	brokerSchemes = []string{"tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"}
	tlsSchemes    = []string{"ssl", "tls", "mqtts", "wss"}
)

func (v *validator) brokerURL(path, s string) {
	if s == "" {
		v.fail(path, "required")
		return
	}
	u, err := url.Parse(s)
	if err != nil {
		v.fail(path, "not a URL: %q", s)
		return
	}
	ok := false
	for _, sc := range brokerSchemes {
		ok = ok || u.Scheme == sc
	}
	switch {
	case !ok:
		v.fail(path, "scheme must be one of %s", strings.Join(brokerSchemes, ", "))
	case u.Host == "" || u.Hostname() == "":
		v.fail(path, "missing host")
	case u.Port() != "" && !validPort(u.Port()):
		v.fail(path, "port %q is not a number from 1 to 65535", u.Port())
	}
}

func (v *validator) rtspURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil {
		v.fail(path, "not a URL")
		return
	}
	switch {
	case u.Scheme != "rtsp" && u.Scheme != "rtsps":
		v.fail(path, "scheme must be rtsp or rtsps")
	case u.Host == "" || u.Hostname() == "":
		v.fail(path, "missing host")
	case u.Port() != "" && !validPort(u.Port()):
		v.fail(path, "port %q is not a number from 1 to 65535", u.Port())
	}
}

func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}

func validHost(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// text checks every string field, lists included.
func (v *validator) text(rv reflect.Value, path string) {
	switch rv.Kind() {
	case reflect.Struct:
		for _, f := range fieldList(rv.Type()) {
			v.text(rv.Field(f.index), join(path, f.name))
		}
	case reflect.Slice:
		for i := range rv.Len() {
			v.text(rv.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		s := rv.String()
		if !utf8.ValidString(s) {
			v.fail(path, "not valid UTF-8")
			return
		}
		if strings.ContainsFunc(s, unicode.IsControl) {
			v.fail(path, "contains a control character")
		}
	}
}
