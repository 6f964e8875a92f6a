package core

import (
	"context"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/detect"
)

// cameraRun is one configured camera: its RTSP source, and the reporting of
// its health changes as spooled camera-status records and, after a grace
// period offline, a camera_offline event (ended when it comes back).
type cameraRun struct {
	g    *Gateway
	cfg  config.Camera
	src  *camera.Source
	pipe *detect.Pipeline // nil without a detect section
	sub  *camera.Source   // the live sub-stream, while it has been asked for

	changes  chan camera.Health
	pictures chan string
	cancel   context.CancelFunc
	done     chan struct{}

	mu         sync.Mutex
	picture    string
	openHealth map[string]bool // open camera-health episodes, by type
}

func newCameraRun(g *Gateway, cc config.Camera) *cameraRun {
	c := &cameraRun{g: g, cfg: cc, picture: wire.PictureUnknown, openHealth: map[string]bool{},
		changes: make(chan camera.Health, 64), pictures: make(chan string, 8), done: make(chan struct{})}
	c.src = &camera.Source{
		ID:        cc.ID,
		URL:       cc.URL,
		Transport: cc.Transport,
		Logger:    g.log.With("component", "camera"),
		OnHealth: func(h camera.Health) {
			select {
			case c.changes <- h:
			default: // the reporter is behind; the latest state is still read from Health()
			}
		},
	}
	return c
}

func (c *cameraRun) start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	if err := c.src.Start(ctx); err != nil {
		c.g.log.Error("start camera", "camera_id", c.cfg.ID, "err", err)
	}
	if err := c.startDetection(ctx); err != nil {
		c.g.log.Error("start detection; the camera streams without it", "camera_id", c.cfg.ID, "err", err)
	}
	go func() {
		defer close(c.done)
		c.report(ctx)
	}()
}

func (c *cameraRun) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	_ = c.src.Close()
	c.mu.Lock()
	sub := c.sub
	c.mu.Unlock()
	if sub != nil {
		_ = sub.Close()
	}
	if p := c.pipeline(); p != nil {
		_ = p.Close() // after the session: its decoder is freed last
	}
	<-c.done
}

func (c *cameraRun) wireHealth() wire.CameraHealth {
	h := c.src.Health()
	pic := wire.PictureUnknown
	if h.Online {
		pic = c.currentPicture()
	}
	return wire.CameraHealth{
		CameraID:       c.cfg.ID,
		Online:         h.Online,
		FPS:            h.FPS,
		Kbps:           h.Kbps,
		LastFrameAgeMs: h.LastFrameAge.Milliseconds(),
		Picture:        pic,
		Area:           c.cfg.Area,
		Public:         c.cfg.Public,
	}
}

// report turns health changes into spooled records. It is the only writer of
// this camera's records, so they are spooled in the order they happened.
func (c *cameraRun) report(ctx context.Context) {
	grace := c.g.cfg.Uplink.OfflineGrace
	var (
		online     = false
		known      = false
		offSince   = time.Now()
		graceTimer *time.Timer
		graceC     <-chan time.Time
		episode    string // the open camera_offline event, if any
	)
	defer func() {
		if graceTimer != nil {
			graceTimer.Stop()
		}
	}()
	// A camera that never connects is offline from the start.
	graceTimer = time.NewTimer(grace)
	graceC = graceTimer.C
	for {
		select {
		case <-ctx.Done():
			return
		case h := <-c.changes:
			if known && h.Online == online {
				continue
			}
			known, online = true, h.Online
			at := h.Since
			if at.IsZero() {
				at = time.Now()
			}
			pic := wire.PictureUnknown
			if online {
				pic = c.currentPicture()
			}
			st := wire.CameraStatus{V: wire.Version, CameraID: c.cfg.ID, At: at.UTC(), Online: online, Picture: pic}
			if err := c.g.appendRecord(ctx, wire.KindCameraStatus, st, nil); err != nil {
				c.g.log.Error("spool camera status", "camera_id", c.cfg.ID, "err", err)
			}
			if online {
				graceTimer.Stop()
				graceC = nil
				if episode != "" {
					c.offlineEvent(ctx, episode, offSince, &at)
					episode = ""
				}
			} else {
				offSince = at
				graceTimer.Reset(grace)
				graceC = graceTimer.C
			}
		case pic := <-c.pictures:
			if !online {
				continue // an offline camera's picture is unknown
			}
			st := wire.CameraStatus{V: wire.Version, CameraID: c.cfg.ID, At: time.Now().UTC(), Online: true, Picture: pic}
			if err := c.g.appendRecord(ctx, wire.KindCameraStatus, st, nil); err != nil {
				c.g.log.Error("spool camera status", "camera_id", c.cfg.ID, "err", err)
			}
		case <-graceC:
			graceC = nil
			if !online && episode == "" {
				episode = ulid.Make().String()
				c.offlineEvent(ctx, episode, offSince, nil)
			}
		}
	}
}

// offlineEvent spools the start (ended nil) or the end of an offline episode.
func (c *cameraRun) offlineEvent(ctx context.Context, episode string, since time.Time, ended *time.Time) {
	ev := wire.Event{
		V: wire.Version, EventID: episode, CameraID: c.cfg.ID, Type: wire.TypeCameraOffline,
		Score: 1, Boxes: []wire.Box{}, StartedAt: since.UTC(), Phase: wire.PhaseStart, Episode: episode,
	}
	if ended != nil {
		e := ended.UTC()
		ev.EventID = ulid.Make().String()
		ev.EndedAt = &e
		ev.Phase = wire.PhaseEnd
	}
	if err := c.g.appendRecord(ctx, wire.KindEvent, ev, nil); err != nil {
		c.g.log.Error("spool camera_offline", "camera_id", c.cfg.ID, "err", err)
	}
}

func (c *cameraRun) currentPicture() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.picture == wire.PictureUnknown {
		// Until a tamper detector says otherwise, a streaming camera is ok.
		return wire.PictureOK
	}
	return c.picture
}
