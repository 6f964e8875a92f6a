package core

import (
	"encoding/json"
	"net/http"
	"path/filepath"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/onvif"
	"github.com/brightkitchen/brightkitchen/gateway/setup"
)

// startSetup makes the setup page (package setup) and adds it to mux:
// first start makes its password. file is the config file it saves to.
func (g *Gateway) startSetup(mux *http.ServeMux, file string) error {
	g.setup = &setup.Page{
		ConfigFile: file,
		DataDir:    filepath.Dir(g.cfg.Spool.Path),
		Current: func() config.Config {
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.cfg
		},
		Apply:     g.applyCameras,
		Discovery: onvif.Discovery{Target: g.cfg.HTTP.ONVIFDiscovery},
		Logger:    g.log.With("component", "setup"),
	}
	if err := g.setup.Init(); err != nil {
		return err
	}
	g.setup.Register(mux)
	return nil
}

// SetupEnroller plugs the enrolment step into the setup page (nil
// unplugs it; no-op when the page is off): the page then signs in with an
// enrolment code as well as with the setup password.
func (g *Gateway) SetupEnroller(e setup.Enroller) {
	if g.setup != nil {
		g.setup.SetEnroller(e)
	}
}

// applyCameras applies the cameras of a config the setup page saved, at
// once: changed and removed cameras stop, new ones start, as for a
// desired config from the fleet. When the fleet has pushed a config (it
// is kept in the spool and wins over the file at start), its cameras are
// replaced too, so the installer's cameras survive a restart.
func (g *Gateway) applyCameras(next config.Config) error {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	if b, err := g.spool.Meta(metaConfig); err == nil && len(b) > 0 {
		var saved struct {
			Version int64                      `json:"version"`
			Config  map[string]json.RawMessage `json:"config"`
		}
		if json.Unmarshal(b, &saved) == nil && saved.Config["cameras"] != nil {
			full, err := next.JSON()
			if err != nil {
				return err
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(full, &m); err != nil {
				return err
			}
			saved.Config["cameras"] = m["cameras"]
			nb, err := json.Marshal(saved)
			if err != nil {
				return err
			}
			if err := g.spool.SetMeta(metaConfig, nb); err != nil {
				return err
			}
		}
	}
	g.reconcileCameras(next.Cameras)
	g.mu.Lock()
	g.cfg.Cameras = next.Cameras
	g.mu.Unlock()
	g.log.Info("applied cameras from the setup page", "cameras", len(next.Cameras))
	return nil
}
