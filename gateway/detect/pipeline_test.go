package detect

import (
	"bytes"
	"context"
	"image/jpeg"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// fakePlugin is an in-process Plugin: it records the frames it is sent and
// answers what reply says.
type fakePlugin struct {
	info   sdk.Info
	ready  atomic.Bool
	mu     sync.Mutex
	frames []sdk.Frame
	reply  func(sdk.Frame) []sdk.Detection
}

func (f *fakePlugin) Info() (sdk.Info, bool) { return f.info, f.ready.Load() }

func (f *fakePlugin) Detect(_ context.Context, fr sdk.Frame) ([]sdk.Detection, error) {
	f.mu.Lock()
	f.frames = append(f.frames, sdk.Frame{Width: fr.Width, Height: fr.Height, Format: fr.Format, Params: fr.Params})
	f.mu.Unlock()
	if f.reply == nil {
		return nil, nil
	}
	return f.reply(fr), nil
}

func (f *fakePlugin) calls() []sdk.Frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sdk.Frame(nil), f.frames...)
}

func newFake(formats ...sdk.Format) *fakePlugin {
	f := &fakePlugin{info: sdk.Info{Name: "fake", Labels: []string{"thing"},
		Input: sdk.Input{Formats: formats, MaxWidth: 160, MaxHeight: 160}}}
	f.ready.Store(true)
	return f
}

// startSource serves scene at GOP 1 s and returns a connected camera source.
func startSource(t *testing.T, scene string) *camera.Source {
	t.Helper()
	srv := &camsim.Server{Listen: "127.0.0.1:0", GOP: 1, NoScenes: true,
		Cameras: []camsim.Camera{{Path: "cam", Scene: scene}}, Logger: slog.New(slog.DiscardHandler)}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	src := &camera.Source{ID: "cam", URL: srv.URL("cam"), Transport: "tcp"}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func engine(t *testing.T, doc string) *rules.Engine {
	t.Helper()
	c, err := rules.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	e, err := rules.NewEngine("cam", c)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const thingRules = "plugins: [{name: fake}]\nrules: [{type: intruder, label: thing, persistence: {hits: 2, window: 3}}]\n"

// TestIDROnlyEpisodeWithSnapshot: IDR frames only are decoded and sent to
// the plugin, scaled to its size in the cheapest format it takes; two hits
// start one episode carrying a JPEG of the frame with the box drawn;
// malformed detections are dropped and counted.
func TestIDROnlyEpisodeWithSnapshot(t *testing.T) {
	t.Parallel()
	src := startSource(t, "kitchen")
	fake := newFake(sdk.FormatRGB24, sdk.FormatGRAY8)
	fake.reply = func(sdk.Frame) []sdk.Detection {
		return []sdk.Detection{
			{Label: "thing", Score: 0.9, Box: sdk.Box{X: 0.2, Y: 0.3, W: 0.2, H: 0.4}},
			{Label: "thing", Score: math.NaN()},
			{Label: "undeclared", Score: 0.9},
		}
	}
	var mu sync.Mutex
	var eps []Episode
	p := &Pipeline{CameraID: "cam", Source: src, Engine: engine(t, thingRules),
		Plugins: []Use{{Name: "fake", Plugin: fake, Params: map[string]string{"k": "v"}}},
		Emit: func(_ context.Context, e Episode) error {
			mu.Lock()
			defer mu.Unlock()
			eps = append(eps, e)
			return nil
		}}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	wait.For(t, 15*time.Second, "an episode", func() bool { mu.Lock(); defer mu.Unlock(); return len(eps) > 0 })
	// Three GOPs' worth of units, so the decoded share below means something.
	wait.For(t, 15*time.Second, "30 units", func() bool { return p.Stats().Units >= 30 })
	st := p.Stats()
	frames := fake.calls()
	if st.Sampled == 0 || st.Decoded != st.Sampled || uint64(len(frames)) != st.PluginCalls {
		t.Errorf("stats %+v, %d plugin frames", st, len(frames))
	}
	// GOP 1 s at 10 fps: about one picture in 10 units is decoded.
	if st.Decoded*5 > st.Units {
		t.Errorf("decoded %d of %d units: not IDR-only", st.Decoded, st.Units)
	}
	for _, f := range frames {
		if f.Format != sdk.FormatGRAY8 || f.Width != 160 || f.Height != 90 || f.Params["k"] != "v" {
			t.Fatalf("frame %+v: want GRAY8 160x90 with the params", f)
		}
	}
	if st.Dropped != 2*st.PluginCalls || st.Detections != st.PluginCalls {
		t.Errorf("dropped %d, kept %d, of %d calls", st.Dropped, st.Detections, st.PluginCalls)
	}
	mu.Lock()
	first := eps[0]
	n := len(eps)
	mu.Unlock()
	if n != 1 || first.Transition.Phase != "start" || first.Transition.Type != "intruder" || len(first.Transition.Boxes) != 1 {
		t.Fatalf("%d episodes, first %+v", n, first.Transition)
	}
	img, err := jpeg.Decode(bytes.NewReader(first.JPEG))
	if err != nil || img.Bounds().Dx() != 640 {
		t.Fatalf("snapshot: %v %v", err, img.Bounds())
	}
	// Close ends the open episode.
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	if last := eps[len(eps)-1]; last.Transition.Phase != "end" || last.JPEG != nil {
		t.Errorf("after Close: %+v", last.Transition)
	}
}

// TestSampledFPS: with FPS set, every unit is decoded and pictures reach
// the plugin at about that rate; a plugin that is not ready is skipped.
// The rate is of the stream's time (PTS), so it is counted against the
// units received, not against the wall clock: camsim sends 10 pictures a
// second, so at FPS 5 every other one goes to the plugin, however busy the
// machine is.
func TestSampledFPS(t *testing.T) {
	t.Parallel()
	src := startSource(t, "kitchen")
	fake := newFake(sdk.FormatI420)
	down := newFake(sdk.FormatGRAY8)
	down.ready.Store(false)
	p := &Pipeline{CameraID: "cam", Source: src, Engine: engine(t, thingRules), FPS: 5,
		Plugins: []Use{{Name: "fake", Plugin: fake}, {Name: "down", Plugin: down}},
		Emit:    func(context.Context, Episode) error { return nil }}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	wait.For(t, 10*time.Second, "frames", func() bool { return len(fake.calls()) > 0 })
	s0 := p.Stats()
	wait.For(t, 20*time.Second, "30 more units", func() bool { return p.Stats().Units >= s0.Units+30 })
	st := p.Stats()
	// A snapshot can count a unit whose picture is not sampled yet: one
	// off at each end.
	units, sampled := st.Units-s0.Units, st.Sampled-s0.Sampled
	if sampled*10 < units*4 || sampled*10 > units*6 {
		t.Errorf("%d of %d units sent to the plugin at fps 5 from a 10 fps camera, want about half", sampled, units)
	}
	if st.Decoded < st.Units*8/10 {
		t.Errorf("decoded %d of %d units at fps 5: want (nearly) all", st.Decoded, st.Units)
	}
	if f := fake.calls()[0]; f.Format != sdk.FormatI420 || f.Width != 160 || f.Height != 90 {
		t.Errorf("frame %+v", f)
	}
	if len(down.calls()) != 0 {
		t.Error("a plugin that is not ready was called")
	}
}

// TestGapWaitsForIDR: units lost while the pipeline is behind (here its
// plugin's first answer takes until the subscription has overflowed) leave
// the P units after the gap without their references. Decoding starts
// again at the next IDR rather than handing on smeared pictures, in which
// a model saw a rodent that no scene had (e2e TestAIScenes under load).
func TestGapWaitsForIDR(t *testing.T) {
	t.Parallel()
	src := startSource(t, "kitchen")
	release := make(chan struct{})
	var first atomic.Bool
	fake := newFake(sdk.FormatGRAY8)
	fake.reply = func(sdk.Frame) []sdk.Detection {
		if first.CompareAndSwap(false, true) {
			<-release
		}
		return nil
	}
	p := &Pipeline{CameraID: "cam", Source: src, Engine: engine(t, thingRules), FPS: 5,
		Plugins: []Use{{Name: "fake", Plugin: fake}},
		Emit:    func(context.Context, Episode) error { return nil }}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	wait.For(t, 20*time.Second, "units dropped for the stalled pipeline", func() bool { return src.Stats().Dropped > 0 })
	s0 := p.Stats()
	close(release)
	// 40 units at 10 fps with a 1 s GOP: the queued ones, then live ones
	// past at least one IDR
	wait.For(t, 20*time.Second, "40 more units", func() bool { return p.Stats().Units >= s0.Units+40 })
	st := p.Stats()
	if st.Missed == 0 {
		t.Errorf("missed %d units, want the dropped ones counted", st.Missed)
	}
	if st.Skipped == s0.Skipped {
		t.Errorf("no unit skipped after the gap (%d before, %d after): P units decoded without their references", s0.Skipped, st.Skipped)
	}
	if st.Decoded <= s0.Decoded || st.Corrupt != 0 {
		t.Errorf("decoding did not resume cleanly: %+v", st)
	}
}

// TestOffPostNotWhileBlind: a plugin that does not answer is not "nobody
// there": off_post waits until every plugin answers again.
func TestOffPostNotWhileBlind(t *testing.T) {
	t.Parallel()
	src := startSource(t, "kitchen")
	seer := newFake(sdk.FormatGRAY8)
	down := newFake(sdk.FormatGRAY8)
	down.ready.Store(false)
	var mu sync.Mutex
	var eps []Episode
	p := &Pipeline{CameraID: "cam", Source: src,
		Engine:  engine(t, "plugins: [{name: seer}, {name: down}]\nrules: [{type: off_post, absent_for: 1s}]\n"),
		Plugins: []Use{{Name: "seer", Plugin: seer}, {Name: "down", Plugin: down}},
		Emit: func(_ context.Context, e Episode) error {
			mu.Lock()
			defer mu.Unlock()
			eps = append(eps, e)
			return nil
		}}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	wait.For(t, 15*time.Second, "4 frames", func() bool { return len(seer.calls()) >= 4 })
	mu.Lock()
	n := len(eps)
	mu.Unlock()
	if n != 0 {
		t.Fatalf("%d episodes while a plugin was down", n)
	}
	down.ready.Store(true)
	wait.For(t, 15*time.Second, "off_post once both answer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(eps) > 0 && eps[0].Transition.Type == "off_post"
	})
}

// TestSnapshotLabels: a phone episode's snapshot tags the phone and the
// person holding it with the violation type, each with its own score.
func TestSnapshotLabels(t *testing.T) {
	e := engine(t, "plugins: [{name: ai}]\nrules: [{type: phone, persistence: {hits: 1}}]")
	e.AllowLabels("person", "phone")
	person := rules.Detection{Plugin: "ai", Label: "person", Score: 0.9, Box: rules.Box{X: 0.4, Y: 0.2, W: 0.2, H: 0.6}}
	phone := rules.Detection{Plugin: "ai", Label: "phone", Score: 0.7, Box: rules.Box{X: 0.45, Y: 0.5, W: 0.04, H: 0.06}}
	trs := e.Observe(time.Date(2026, 3, 4, 2, 0, 0, 0, time.UTC), []rules.Detection{person, phone})
	if len(trs) != 1 || !trs[0].Frame {
		t.Fatalf("transitions %+v", trs)
	}
	got := labeled(trs[0])
	if len(got) != 2 || got[0].Label != "phone" || got[1].Label != "phone" || got[0].Score != 0.9 || got[1].Score != 0.7 ||
		got[0].Box != person.Box || got[1].Box != phone.Box {
		t.Fatalf("labeled %+v", got)
	}
}
