// Package sdktest is the conformance kit for detector plugins: a plugin
// author runs Run against the plugin's executable from an ordinary Go test,
// whatever language the plugin is written in:
//
//	func TestConformance(t *testing.T) {
//		sdktest.Run(t, "./bk-plugin-hat", sdktest.Config{})
//	}
//
// It checks that the plugin refuses to run without the handshake, describes
// itself well, answers a frame of each format it declares within the
// deadline with well-formed detections, rejects malformed frames without
// dying, and survives concurrent calls from several cameras.
package sdktest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// Config tunes Run; the zero value of each field means its default.
type Config struct {
	// Deadline is the most a Detect may take. Default 2s, the gateway's.
	Deadline time.Duration
	// Params are sent with every frame.
	Params map[string]string
	// Concurrency is how many calls run at once in the concurrency check,
	// each for its own camera. Default 8.
	Concurrency int
	// Frames is how many frames each concurrent caller sends. Default 10.
	Frames int
	// Options are passed to sdk.Launch.
	Options sdk.Options
}

// Run runs the conformance checks as subtests of t against the plugin
// executable at path.
func Run(t *testing.T, path string, c Config) {
	t.Helper()
	if c.Deadline <= 0 {
		c.Deadline = 2 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Frames <= 0 {
		c.Frames = 10
	}
	t.Run("refuses without handshake", func(t *testing.T) { checkNoHandshake(t, path) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := sdk.Launch(ctx, path, c.Options)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	defer conn.Close()
	var info sdk.Info
	if !t.Run("describe", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, c.Deadline)
		defer cancel()
		if info, err = conn.Describe(dctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("plugin %s %s: labels %v, input %+v", info.Name, info.Version, info.Labels, info.Input)
	}) {
		return
	}
	t.Run("frames of each format", func(t *testing.T) {
		for _, f := range info.Input.Formats {
			for _, size := range frameSizes(info.Input) {
				fr := TestFrame("conformance", f, size[0], size[1], 0)
				fr.Params = c.Params
				checkDetect(ctx, t, conn, info, fr, c.Deadline)
			}
		}
	})
	t.Run("rejects malformed frames", func(t *testing.T) {
		for _, bad := range malformedFrames(info.Input) {
			dctx, cancel := context.WithTimeout(ctx, c.Deadline)
			_, err := conn.Detect(dctx, bad.frame)
			cancel()
			if err == nil {
				t.Errorf("%s: accepted", bad.name)
			} else if code := status.Code(err); code == codes.Unavailable || code == codes.DeadlineExceeded {
				t.Errorf("%s: %v (want a refusal, not a dead or hung plugin)", bad.name, err)
			}
		}
		if err := conn.Ping(); err != nil {
			t.Fatalf("ping after malformed frames: %v", err)
		}
		fr := TestFrame("conformance", info.Input.Formats[0], 64, 36, 0)
		fr.Params = c.Params
		checkDetect(ctx, t, conn, info, fr, c.Deadline)
	})
	t.Run("concurrent calls", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, c.Concurrency*c.Frames)
		for i := range c.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := info.Input.Formats[i%len(info.Input.Formats)]
				w, h := fitSize(info.Input)
				for n := range c.Frames {
					fr := TestFrame(fmt.Sprintf("cam-%d", i), f, w, h, n)
					fr.Params = c.Params
					if err := detectOnce(ctx, conn, info, fr, c.Deadline); err != nil {
						errs <- fmt.Errorf("caller %d frame %d: %w", i, n, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if err := conn.Ping(); err != nil {
			t.Errorf("ping after concurrent calls: %v", err)
		}
	})
}

func checkNoHandshake(t *testing.T, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("run by hand without BK_PLUGIN=detector: still running after 10 s (want a message and a non-zero exit)")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("run by hand without the handshake: exited %v (want non-zero), output %q", err, out)
	}
}

func checkDetect(ctx context.Context, t *testing.T, conn *sdk.Conn, info sdk.Info, fr sdk.Frame, deadline time.Duration) {
	t.Helper()
	if err := detectOnce(ctx, conn, info, fr, deadline); err != nil {
		t.Errorf("%s %dx%d: %v", fr.Format, fr.Width, fr.Height, err)
	}
}

func detectOnce(ctx context.Context, conn *sdk.Conn, info sdk.Info, fr sdk.Frame, deadline time.Duration) error {
	dctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	start := time.Now()
	ds, err := conn.Detect(dctx, fr)
	if err != nil {
		return fmt.Errorf("detect (after %v): %w", time.Since(start).Round(time.Millisecond), err)
	}
	if len(ds) > sdk.MaxDetections {
		return fmt.Errorf("%d detections, at most %d", len(ds), sdk.MaxDetections)
	}
	for i, d := range ds {
		if err := sdk.ValidateDetection(info, d); err != nil {
			return fmt.Errorf("detection %d: %w", i, err)
		}
	}
	return nil
}

// fitSize is the largest frame the plugin asked for.
func fitSize(in sdk.Input) (w, h int) {
	w, h = in.MaxWidth, in.MaxHeight
	if w <= 0 || h <= 0 {
		w, h = 640, 360
	}
	return w, h
}

// frameSizes are the sizes each format is tried at: the largest, a small
// one and an odd one (I420 chroma rounding).
func frameSizes(in sdk.Input) [][2]int {
	w, h := fitSize(in)
	return [][2]int{{w, h}, {min(w, 64), min(h, 36)}, {min(w, 33), min(h, 17)}}
}

type badFrame struct {
	name  string
	frame sdk.Frame
}

func malformedFrames(in sdk.Input) []badFrame {
	f := in.Formats[0]
	good := TestFrame("conformance", f, 64, 36, 0)
	short := good
	short.Data = good.Data[:len(good.Data)/2]
	zero := good
	zero.Width, zero.Height = 0, 0
	unknown := good
	unknown.Format = 99
	huge := good
	huge.Width, huge.Height = 100000, 2
	notJPEG := good
	notJPEG.Format, notJPEG.Data = sdk.FormatJPEG, []byte("this is not a jpeg")
	return []badFrame{
		{"data shorter than width×height says", short},
		{"zero size", zero},
		{"unknown format 99", unknown},
		{"absurd width", huge},
		{"JPEG format with non-JPEG data", notJPEG},
		{"empty frame", sdk.Frame{}},
	}
}

// Build compiles the Go plugin in package directory pkg (as for go build)
// into a temporary directory and returns the executable's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plugin")
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("build plugin %s: %v\n%s", pkg, err, out)
	}
	return bin
}
