package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/live"
)

// newLive makes the live-view publisher manager from the config.
func (g *Gateway) newLive() (*live.Manager, error) {
	fleet, err := fleetOrigin(g.cfg)
	if err != nil {
		return nil, err
	}
	m := &live.Manager{Loopback: g.cfg.Live.Loopback, Fleet: fleet, Logger: g.log.With("component", "live")}
	if len(g.cfg.Live.ICEServers) > 0 {
		m.ICEServers = []webrtc.ICEServer{{URLs: g.cfg.Live.ICEServers}}
	}
	return m, nil
}

// fleetOrigin is where live.start may publish: live.fleet_url's scheme,
// host and port, or by default the broker's host (http or https, any
// port): the fleet this gateway is enrolled with.
func fleetOrigin(cfg config.Config) (live.Origin, error) {
	if cfg.Live.FleetURL != "" {
		o, err := live.OriginOf(cfg.Live.FleetURL)
		if err != nil {
			return live.Origin{}, fmt.Errorf("live.fleet_url: %w", err)
		}
		return o, nil
	}
	u, err := url.Parse(cfg.Broker.URL)
	if err != nil || u.Hostname() == "" {
		return live.Origin{}, fmt.Errorf("broker.url: no host in %q", cfg.Broker.URL)
	}
	return live.Origin{Host: u.Hostname()}, nil
}

// liveStart runs live.start: publish the camera's stream, from its one
// RTSP session (or its live sub-stream when one is configured), over WHIP
// to the fleet.
func (g *Gateway) liveStart(ctx context.Context, raw json.RawMessage) (string, error) {
	var args live.StartArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		return "", fmt.Errorf("args: %w", err)
	}
	if err := g.live.CheckWHIP(args.WHIPURL); err != nil {
		g.log.Warn("live.start refused", "camera_id", args.CameraID, "err", err)
		return "", err
	}
	src, err := g.liveSource(args.CameraID)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := g.live.Start(ctx, src, args); err != nil {
		return "", err
	}
	return "publishing " + args.CameraID, nil
}

// liveStop runs live.stop.
func (g *Gateway) liveStop(raw json.RawMessage) (string, error) {
	var args live.StopArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		return "", fmt.Errorf("args: %w", err)
	}
	g.live.Stop(args.CameraID, args.Session)
	return "stopped " + args.CameraID, nil
}

// liveSource is what a camera is published from: its live sub-stream when
// the config names one (opened while someone watches), else the main
// stream's session that detection reads too.
func (g *Gateway) liveSource(id string) (live.Source, error) {
	g.mu.Lock()
	c, ok := g.cameras[id]
	g.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("camera %q is not configured", id)
	}
	if c.cfg.LiveURL == "" {
		return c.src, nil
	}
	return c.subStream(g.ctx)
}

// subStream returns the camera's live sub-stream source, starting it on
// first use; it runs until the camera stops.
func (c *cameraRun) subStream(ctx context.Context) (*camera.Source, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sub != nil {
		return c.sub, nil
	}
	s := &camera.Source{ID: c.cfg.ID + "/live", URL: c.cfg.LiveURL, Transport: c.cfg.Transport,
		Logger: c.g.log.With("component", "camera", "stream", "live")}
	if err := s.Start(ctx); err != nil {
		return nil, fmt.Errorf("live sub-stream of %s: %w", c.cfg.ID, err)
	}
	c.sub = s
	return s, nil
}
