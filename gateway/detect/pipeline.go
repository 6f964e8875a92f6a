// Package detect runs detection for one camera: it subscribes to the
// camera's access units, decodes what the sampling policy asks for (IDR
// frames only by default), scales each frame to what every plugin's
// Describe asked for, calls the plugins through their supervisors, drops
// malformed detections, and turns the rest into violation episodes with
// the rules engine. Each episode's start carries an annotated snapshot.
package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/decode"
	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/gateway/snapshot"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// Plugin is a detector plugin as the pipeline sees it; *sdk.Supervisor is
// one.
type Plugin interface {
	Info() (sdk.Info, bool)
	Detect(ctx context.Context, f sdk.Frame) ([]sdk.Detection, error)
}

// Source is what the pipeline reads from; *camera.Source is one.
type Source interface {
	Subscribe(buf int) *camera.Subscription
	Media() (camera.Media, bool)
}

// Episode is a rules transition ready to be spooled, with the snapshot of
// the frame that started it (nil for updates and ends).
type Episode struct {
	CameraID   string
	Transition rules.Transition
	JPEG       []byte
}

// Pipeline is detection for one camera. Set the fields, then Start.
type Pipeline struct {
	// CameraID names the camera in frames and events; required.
	CameraID string
	// Source delivers the camera's access units; required.
	Source Source
	// Plugins are the detectors this camera runs, by name, with the params
	// passed in each frame.
	Plugins []Use
	// Engine turns detections into episodes; required.
	Engine *rules.Engine
	// FPS is the sampling rate: 0 decodes IDR frames only (the default);
	// N decodes every frame and samples N per second.
	FPS float64
	// Emit receives every episode transition, in order; required. It runs
	// on the pipeline's goroutine: spool and return.
	Emit func(ctx context.Context, e Episode) error
	// Timeout bounds each plugin call (default 2 s; the supervisor has its
	// own deadline too).
	Timeout time.Duration
	// SnapshotWidth is the width snapshots are encoded at (default 640).
	SnapshotWidth int
	Logger        *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	sub    *camera.Subscription // set by Start
	stats  counters
}

// Use is one plugin on one camera.
type Use struct {
	Name   string
	Plugin Plugin
	Params map[string]string
}

// Stats counts what the pipeline did.
type Stats struct {
	Units        uint64 `json:"units"`         // access units received
	Decoded      uint64 `json:"decoded"`       // pictures decoded
	Sampled      uint64 `json:"sampled"`       // pictures sent to the plugins
	Corrupt      uint64 `json:"corrupt"`       // units the decoder refused
	Missed       uint64 `json:"missed"`        // units lost while the pipeline was behind (a full channel)
	Skipped      uint64 `json:"skipped"`       // units not decoded while waiting for an IDR (at the start, after a gap or a corrupt unit)
	PluginCalls  uint64 `json:"plugin_calls"`  // Detect calls
	PluginErrors uint64 `json:"plugin_errors"` // failed calls (plugin down, deadline, refusal)
	Detections   uint64 `json:"detections"`    // well-formed detections
	Dropped      uint64 `json:"dropped"`       // malformed detections dropped
	Episodes     uint64 `json:"episodes"`      // transitions emitted
}

type counters struct {
	units, decoded, sampled, corrupt        atomic.Uint64
	skipped                                 atomic.Uint64
	pluginCalls, pluginErrors               atomic.Uint64
	detections, dropped, episodes, emitErrs atomic.Uint64
}

// Stats returns the counters.
func (p *Pipeline) Stats() Stats {
	c := &p.stats
	var missed uint64
	if p.sub != nil {
		missed = p.sub.Dropped()
	}
	return Stats{
		Units: c.units.Load(), Decoded: c.decoded.Load(), Sampled: c.sampled.Load(), Corrupt: c.corrupt.Load(),
		Missed: missed, Skipped: c.skipped.Load(),
		PluginCalls: c.pluginCalls.Load(), PluginErrors: c.pluginErrors.Load(),
		Detections: c.detections.Load(), Dropped: c.dropped.Load(), Episodes: c.episodes.Load(),
	}
}

// Start subscribes and runs until Close.
func (p *Pipeline) Start(ctx context.Context) error {
	if p.CameraID == "" || p.Source == nil || p.Engine == nil || p.Emit == nil {
		return errors.New("detect: CameraID, Source, Engine and Emit are required")
	}
	if p.Timeout <= 0 {
		p.Timeout = 2 * time.Second
	}
	if p.SnapshotWidth <= 0 {
		p.SnapshotWidth = 640
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	p.sub = p.Source.Subscribe(32)
	go func() {
		defer close(p.done)
		defer p.sub.Close()
		p.run(ctx, p.sub)
	}()
	return nil
}

// Close stops the pipeline and waits for it; the decoder is freed after
// the subscription that fed it is closed.
func (p *Pipeline) Close() error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	<-p.done
	return nil
}

func (p *Pipeline) run(ctx context.Context, sub *camera.Subscription) {
	var (
		dec     *decode.Decoder
		codec   string
		sampler = decode.Sampler{FPS: p.FPS}
		tick    = time.NewTicker(time.Second)
	)
	defer tick.Stop()
	defer func() {
		if dec != nil {
			dec.Close()
		}
		// Open episodes end with the pipeline, spooled on a context of
		// their own: ctx is already done.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		p.emit(fctx, p.Engine.Flush(time.Now()), nil)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			p.emit(ctx, p.Engine.Tick(now), nil)
		case au, ok := <-sub.C():
			if !ok {
				return
			}
			p.stats.units.Add(1)
			if sub.Gap() && dec != nil {
				// Units were lost while this pipeline was behind (a slow
				// plugin, a starved core): decoded, the P units after the
				// gap would be smeared pictures for the detectors to see
				// things in. Decoding starts again at the next IDR.
				dec.Reset()
			}
			if !sampler.Feed(au.IDR, au.PTS) {
				continue // IDR-only, or no picture left in this GOP is wanted
			}
			m, ok := p.Source.Media()
			if !ok {
				continue
			}
			if dec == nil || m.Codec != codec {
				if dec != nil {
					dec.Close()
				}
				var err error
				if dec, err = decode.New(decode.Codec(m.Codec)); err != nil {
					p.Logger.Error("decoder", "err", err)
					dec = nil
					continue
				}
				codec = m.Codec
			}
			skipped := dec.Stats().Skipped
			got, err := dec.Decode(au.NALUs, au.PTS)
			p.stats.skipped.Add(dec.Stats().Skipped - skipped)
			if err != nil {
				p.stats.corrupt.Add(1)
				continue
			}
			if !got {
				continue
			}
			p.stats.decoded.Add(1)
			if !sampler.Want(au.IDR, au.PTS) {
				continue
			}
			p.stats.sampled.Add(1)
			p.detect(ctx, dec, au.NTP)
			if p.FPS <= 0 {
				// IDR-only: the next picture needs no reference, so the
				// decoder and its picture pool (about 12 MB at 1080p) are
				// freed until then and made again, which costs far less
				// than decoding the IDR.
				dec.Close()
				dec = nil
			}
		}
	}
}

// frameKey is one scaled rendition of the current picture.
type frameKey struct {
	f    decode.PixFmt
	w, h int
}

var toDecode = map[sdk.Format]decode.PixFmt{
	sdk.FormatGRAY8: decode.GRAY8,
	sdk.FormatI420:  decode.I420,
	sdk.FormatRGB24: decode.RGB24,
}

// pickFormat is the cheapest raw format the plugin accepts.
func pickFormat(in sdk.Input) (sdk.Format, bool) {
	for _, want := range []sdk.Format{sdk.FormatGRAY8, sdk.FormatI420, sdk.FormatRGB24} {
		for _, f := range in.Formats {
			if f == want {
				return f, true
			}
		}
	}
	return 0, false
}

// detect runs every plugin on the decoded picture, concurrently, then the
// rules.
func (p *Pipeline) detect(ctx context.Context, dec *decode.Decoder, at time.Time) {
	scaled := map[frameKey]decode.Frame{}
	type job struct {
		use   Use
		frame sdk.Frame
		info  sdk.Info
	}
	var jobs []job
	for _, u := range p.Plugins {
		info, ok := u.Plugin.Info()
		if !ok {
			continue // relaunching or quarantined: the camera goes on
		}
		p.Engine.AllowLabels(info.Labels...)
		f, ok := pickFormat(info.Input)
		if !ok {
			continue
		}
		maxW, maxH := info.Input.MaxWidth, info.Input.MaxHeight
		if maxW <= 0 || maxH <= 0 {
			maxW, maxH = 640, 360
		}
		k := frameKey{toDecode[f], maxW, maxH}
		fr, ok := scaled[k]
		if !ok {
			var err error
			if fr, err = dec.Scale(k.f, maxW, maxH); err != nil {
				p.Logger.Warn("scale frame", "err", err)
				continue
			}
			scaled[k] = fr
		}
		jobs = append(jobs, job{use: u, info: info, frame: sdk.Frame{
			CameraID: p.CameraID, CapturedAt: at, Width: fr.Width, Height: fr.Height,
			Format: f, Data: fr.Data, Params: u.Params,
		}})
	}
	results := make([][]rules.Detection, len(jobs))
	failed := make([]bool, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, p.Timeout)
			defer cancel()
			p.stats.pluginCalls.Add(1)
			ds, err := j.use.Plugin.Detect(cctx, j.frame)
			if err != nil {
				p.stats.pluginErrors.Add(1)
				failed[i] = true
				return
			}
			valid, dropped := sdk.ValidateDetections(j.info, ds)
			p.stats.dropped.Add(uint64(dropped))
			out := make([]rules.Detection, len(valid))
			for k, d := range valid {
				out[k] = rules.Detection{Plugin: j.use.Name, Label: d.Label, Score: d.Score,
					Box: rules.Box{X: d.Box.X, Y: d.Box.Y, W: d.Box.W, H: d.Box.H}, TrackID: d.TrackID, Attrs: d.Attrs}
			}
			results[i] = out
		}()
	}
	wg.Wait()
	var all []rules.Detection
	for _, r := range results {
		all = append(all, r...)
	}
	// the plugins that did not answer, skipped ones included: the rules
	// must not read their silence as "nobody there"
	var missed []string
	for _, u := range p.Plugins {
		i := slices.IndexFunc(jobs, func(j job) bool { return j.use.Name == u.Name })
		if i < 0 || failed[i] {
			missed = append(missed, u.Name)
		}
	}
	p.stats.detections.Add(uint64(len(all)))
	trs := p.Engine.ObservePartial(at, all, missed)
	p.emit(ctx, trs, dec)
}

// emit hands transitions over; a start gets the annotated snapshot of the
// current picture.
func (p *Pipeline) emit(ctx context.Context, trs []rules.Transition, dec *decode.Decoder) {
	for _, tr := range trs {
		e := Episode{CameraID: p.CameraID, Transition: tr}
		if tr.Frame && dec != nil {
			jpeg, err := p.snapshot(dec, tr)
			if err != nil {
				p.Logger.Warn("snapshot", "type", tr.Type, "err", err)
			}
			e.JPEG = jpeg
		}
		p.stats.episodes.Add(1)
		if err := p.Emit(ctx, e); err != nil {
			p.stats.emitErrs.Add(1)
			p.Logger.Error("emit episode", "type", tr.Type, "err", err)
		}
	}
}

func (p *Pipeline) snapshot(dec *decode.Decoder, tr rules.Transition) ([]byte, error) {
	fr, err := dec.Scale(decode.I420, p.SnapshotWidth, p.SnapshotWidth)
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	img := snapshot.FromI420(fr.Width, fr.Height, fr.Data)
	return snapshot.Annotate(img, labeled(tr), 0)
}

// labeled are the boxes a transition's snapshot shows, each tagged with
// the violation's type (ASCII, so the built-in font draws it) and the score
// of its own detection: the person without a hat, the phone and the person
// holding it.
func labeled(tr rules.Transition) []snapshot.Labeled {
	boxes := make([]snapshot.Labeled, len(tr.Boxes))
	for i, b := range tr.Boxes {
		score := tr.Score
		if i < len(tr.Hits) {
			score = tr.Hits[i].Score
		}
		boxes[i] = snapshot.Labeled{Box: b, Label: tr.Type, Score: score}
	}
	return boxes
}
