package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/enrol"
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
	if file != "" {
		g.setup.SetEnroller(setupEnroller{g: g, file: file})
	}
	g.setup.Register(mux)
	return nil
}

// setupEnroller enrols an unenrolled gateway from its setup page, as
// `bk-gateway enrol` does from a shell (package gateway/enrol): the config
// file is checked before the code is spent, the answer written into it,
// and the gateway restarts into its identity.
type setupEnroller struct {
	g    *Gateway
	file string
}

func (e setupEnroller) Enrol(ctx context.Context, fleet, code string) (setup.Enrolled, error) {
	e.g.mu.Lock()
	enrolled := e.g.cfg.Broker.Password != ""
	e.g.mu.Unlock()
	if enrolled {
		return setup.Enrolled{}, setup.ErrEnrolled
	}
	if err := enrol.CheckConfig(e.file); err != nil {
		return setup.Enrolled{}, fmt.Errorf("%w (fix the config first; the code was not used)", err)
	}
	r, err := enrol.Exchange(ctx, fleet, code, enrol.Options{})
	if errors.Is(err, enrol.ErrRefused) {
		return setup.Enrolled{}, fmt.Errorf("%w: %w", setup.ErrCodeRefused, err)
	} else if err != nil {
		return setup.Enrolled{}, err
	}
	if err := enrol.WriteConfig(e.file, r); err != nil {
		// The code is spent: the log keeps what it gave.
		e.g.log.Error("enrolled, but the config was not written: put these in it by hand", "component", "setup",
			"gateway_id", r.GatewayID, "broker_url", r.BrokerURLs[0], "username", r.Username, "password", r.Password, "err", err)
		return setup.Enrolled{}, fmt.Errorf("enrolled as gateway %s, but the config was not written (the gateway's log has what to write): %w", r.GatewayID, err)
	}
	e.g.requestRestart("enrolled as gateway " + r.GatewayID + " from the setup page")
	return setup.Enrolled{GatewayID: r.GatewayID, CanteenID: r.CanteenID}, nil
}

// SetupEnroller replaces the setup page's enrolment step (nil unplugs it;
// no-op when the page is off). The page has setupEnroller from the start
// when it can save: it then signs in with an enrolment code as well as
// with the setup password, while the gateway is not enrolled.
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
