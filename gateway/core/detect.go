package core

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/detect"
	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// The environment a plugin is started with when the config's models section
// chooses its model: the model's file and the sha256 it must have (the
// plugin refuses a file that does not match). bk-plugin-onnx reads them.
const (
	envModel       = "BK_ONNX_MODEL"
	envModelSHA256 = "BK_ONNX_SHA256"
)

// pluginEnv is what the named plugin's environment gets on top of the
// gateway's own: its model, when the config chooses one (m).
func (g *Gateway) pluginEnv(name string) (env []string, m config.Model) {
	g.mu.Lock()
	m, path, ok := g.cfg.Model(name)
	g.mu.Unlock()
	if !ok {
		return nil, m
	}
	return []string{envModel + "=" + path, envModelSHA256 + "=" + m.SHA256}, m
}

// plugin returns the supervisor of the named plugin, starting it on first
// use. Plugins are shared by every camera that names them.
func (g *Gateway) plugin(name string) (*sdk.Supervisor, error) {
	g.pluginMu.Lock()
	defer g.pluginMu.Unlock()
	if s, ok := g.plugins[name]; ok {
		return s, nil
	}
	i := slices.IndexFunc(g.cfg.Plugins, func(p config.Plugin) bool { return p.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("plugin %q is not in the plugins list", name)
	}
	pc := g.cfg.Plugins[i]
	path := pc.Path
	if path == "" {
		path = filepath.Join(g.cfg.PluginDir, "bk-plugin-"+pc.Name)
	}
	log := g.log.With("component", "plugin", "plugin", pc.Name)
	env, _ := g.pluginEnv(name)
	s := &sdk.Supervisor{
		Name: pc.Name, Path: path,
		Deadline: pc.Deadline, PingEvery: pc.PingEvery, MaxRestarts: pc.MaxRestarts,
		Options: sdk.Options{Env: env},
		Logger:  log,
	}
	if err := s.Start(g.ctx); err != nil {
		return nil, fmt.Errorf("start plugin %s: %w", pc.Name, err)
	}
	g.plugins[name] = s
	return s, nil
}

// reconcilePlugins relaunches each started plugin whose environment the
// config now sets otherwise (its model changed); the others, and the
// cameras, are not touched.
func (g *Gateway) reconcilePlugins() {
	g.pluginMu.Lock()
	defer g.pluginMu.Unlock()
	for name, s := range g.plugins {
		env, m := g.pluginEnv(name)
		if slices.Equal(env, s.Env()) {
			continue
		}
		g.log.Info("plugin model changed; relaunching it", "plugin", name, "model", m.Name, "sha256", m.SHA256)
		s.Relaunch(env)
	}
}

// closePlugins stops every plugin; the cameras using them have stopped.
func (g *Gateway) closePlugins() {
	g.pluginMu.Lock()
	ps := g.plugins
	g.plugins = map[string]*sdk.Supervisor{}
	g.pluginMu.Unlock()
	for _, s := range ps {
		_ = s.Close()
	}
}

// pluginStates is every started plugin's condition, by name.
func (g *Gateway) pluginStates() []sdk.State {
	g.pluginMu.Lock()
	defer g.pluginMu.Unlock()
	out := make([]sdk.State, 0, len(g.plugins))
	for _, s := range g.plugins {
		out = append(out, s.State())
	}
	slices.SortFunc(out, func(a, b sdk.State) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// quarantined names the plugins in quarantine, for the heartbeat.
func (g *Gateway) quarantined() []string {
	var out []string
	for _, st := range g.pluginStates() {
		if st.Quarantined {
			out = append(out, st.Name)
		}
	}
	return out
}

// pluginErrors are the plugins that are not running and why, for the
// heartbeat: a plugin that failed (crashed, could not launch, refused its
// model in Describe) and is waiting to be relaunched or is quarantined.
func (g *Gateway) pluginErrors() []wire.PluginError {
	var out []wire.PluginError
	for _, st := range g.pluginStates() {
		if !st.Ready && st.LastError != "" {
			out = append(out, wire.PluginError{Name: st.Name, Error: cut(st.LastError, wire.MaxPluginError)})
		}
	}
	return out
}

// cut shortens s to at most n bytes, at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// startDetection starts the camera's detection pipeline, if its config has
// a detect section.
func (c *cameraRun) startDetection(ctx context.Context) error {
	if !c.cfg.Detect.IsSet() {
		return nil
	}
	d := c.cfg.Detect.Rules()
	engine, err := rules.NewEngine(c.cfg.ID, d)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	p := &detect.Pipeline{
		CameraID: c.cfg.ID,
		Source:   c.src,
		Engine:   engine,
		FPS:      d.FPS,
		Emit:     c.emitEpisode,
		Logger:   c.g.log.With("component", "detect", "camera_id", c.cfg.ID),
	}
	for _, ref := range d.Plugins {
		s, err := c.g.plugin(ref.Name)
		if err != nil {
			return err
		}
		// The supervisor enforces each plugin's deadline (and kills a plugin
		// that misses it); the pipeline's own bound only backs it up.
		p.Timeout = max(p.Timeout, s.Deadline+time.Second)
		p.Plugins = append(p.Plugins, detect.Use{Name: ref.Name, Plugin: s, Params: ref.Params})
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	c.pipe = p
	c.mu.Unlock()
	return nil
}

// pipeline is the camera's detection pipeline, nil without one.
func (c *cameraRun) pipeline() *detect.Pipeline {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pipe
}

// pictureOf maps the camera-health violation types to the picture state
// they stand for, worst first.
var pictureOf = []struct{ typ, picture string }{
	{wire.TypeCameraOccluded, wire.PictureOccluded},
	{wire.TypeCameraDark, wire.PictureDark},
	{wire.TypeCameraFrozen, wire.PictureFrozen},
	{wire.TypeCameraBlurred, wire.PictureBlurred},
}

// emitEpisode spools one episode transition as an event, with the start's
// snapshot in the same record, and keeps the camera's picture state in step
// with its open camera-health episodes.
func (c *cameraRun) emitEpisode(ctx context.Context, e detect.Episode) error {
	tr := e.Transition
	ev := wire.Event{
		V: wire.Version, EventID: tr.Episode, CameraID: c.cfg.ID, Type: tr.Type, Score: tr.Score,
		Boxes: tr.WireBoxes(), StartedAt: tr.StartedAt.UTC(), Phase: tr.Phase, Episode: tr.Episode,
	}
	if ev.Boxes == nil {
		ev.Boxes = []wire.Box{}
	}
	if tr.Phase != wire.PhaseStart {
		ev.EventID = ulid.Make().String()
	}
	if tr.Phase == wire.PhaseEnd {
		end := tr.EndedAt.UTC()
		if tr.EndedAt.IsZero() {
			end = tr.At.UTC()
		}
		ev.EndedAt = &end
	}
	if len(tr.Hits) > 0 {
		h := tr.Hits[0]
		ev.Attrs = make(map[string]string, len(h.Attrs)+1)
		for k, v := range h.Attrs {
			ev.Attrs[k] = v
		}
		ev.Attrs["plugin"] = h.Plugin
	}
	if tr.Track != "" {
		// the person the episode is about (rules.Transition.Track)
		if ev.Attrs == nil {
			ev.Attrs = map[string]string{}
		}
		ev.Attrs["track"] = tr.Track
	}
	if err := c.g.appendRecord(ctx, wire.KindEvent, ev, e.JPEG); err != nil {
		return err
	}
	c.g.alarm(tr)
	c.trackPicture(tr)
	return nil
}

// trackPicture updates the set of open camera-health episodes and, when
// the picture state changes, tells the reporter.
func (c *cameraRun) trackPicture(tr rules.Transition) {
	if !slices.ContainsFunc(pictureOf, func(p struct{ typ, picture string }) bool { return p.typ == tr.Type }) {
		return
	}
	c.mu.Lock()
	switch tr.Phase {
	case wire.PhaseStart:
		c.openHealth[tr.Type] = true
	case wire.PhaseEnd:
		delete(c.openHealth, tr.Type)
	}
	pic := wire.PictureOK
	for _, p := range pictureOf {
		if c.openHealth[p.typ] {
			pic = p.picture
			break
		}
	}
	changed := pic != c.picture
	c.picture = pic
	c.mu.Unlock()
	if changed {
		select {
		case c.pictures <- pic:
		default: // the reporter is behind; it reads the latest picture anyway
		}
	}
}
