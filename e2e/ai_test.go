package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// demoModel is the demo model and the runtime's library, or a fatal
// error naming what to run.
func demoModel(t testing.TB) (model, lib string) {
	t.Helper()
	model, _ = filepath.Abs("../models/demo/camsim-demo.onnx")
	lib, _ = filepath.Abs("../third_party/onnxruntime/linux-" + runtime.GOARCH + "/libonnxruntime.so.1")
	for _, f := range []string{model, lib} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v (scripts/deps.sh fetches the runtime; the model is in git)", err)
		}
	}
	return model, lib
}

// demoDetect is models/demo/rules.yaml as a camera's detect section.
func demoDetect(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("../models/demo/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("    detect:\n")
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		b.WriteString("      " + l + "\n")
	}
	return b.String()
}

// onnxPluginYAML is a gateway's plugins section with bk-plugin-onnx.
func onnxPluginYAML() string {
	return "plugins:\n  - name: onnx\n    path: " + filepath.Join(binDir, "bk-plugin-onnx") + "\n"
}

// aiScenes are camsim's AI scenes and the violation types each must raise
// (smoking cooks wear no mask); the staff kitchen must raise none.
var aiScenes = map[string][]string{
	"staff": nil, "no-hat": {"no_chef_hat"}, "no-mask": {"no_mask"}, "no-uniform": {"no_uniform"},
	"phone": {"phone"}, "smoking": {"no_mask", "smoking"}, "rodent": {"rodent"}, "bin-open": {"bin_uncovered"},
}

// TestAIScenes runs the demo model in bk-plugin-onnx on each of camsim's
// AI scenes through the real gateway and fleet: every violation scene
// raises its violation types, each stored with a snapshot and the boxes
// of its hits (the person, the object held), and nothing else; the compliant
// kitchen raises nothing.
//
// It does not run alongside the other scenarios (not parallelScenario), and
// make test runs it in a go test of its own, at a higher priority than
// every other package (scripts/test.sh): the model's inference for eight
// cameras takes most of a core, and starved of it the plugin misses its
// deadline and is quarantined. Inside the e2e run, last, at equal
// priority, it overlapped other packages' compiling on a fresh machine
// and saw a rodent where there is none: its pipelines fell behind and
// decoded the units after a gap without their references (mended in
// gateway/detect; TestGapWaitsForIDR).
func TestAIScenes(t *testing.T) {
	model, lib := demoModel(t)
	var cams []camsim.Camera
	detect := map[string]string{}
	section := demoDetect(t)
	for sc := range aiScenes {
		cams = append(cams, camsim.Camera{Path: sc, Scene: sc, GOP: 2})
		detect[sc] = section
	}
	r := startDetectRig(t, cams, onnxPluginYAML(), detect, "BK_ONNX_MODEL="+model, "BK_ONNXRUNTIME_LIB="+lib)
	r.waitOnline(t, len(cams), 30*time.Second)
	online := time.Now()
	for sc, types := range aiScenes {
		for _, typ := range types {
			var got []apiViolation
			wait.For(t, 60*time.Second, sc+" "+typ, func() bool {
				got = r.events(t, sc, typ, "start")
				return len(got) > 0 && got[0].HasSnapshot
			})
			v := got[0]
			t.Logf("%s: %s stored %v after the cameras came online, boxes %+v", sc, typ,
				v.ReceivedAt.Sub(online).Round(10*time.Millisecond), v.Boxes)
			if len(v.Boxes) == 0 {
				t.Errorf("%s: %s without the boxes of its hits", sc, typ)
			}
			if w, h := r.snapshot(t, v.ID); w != 640 || h != 360 {
				t.Errorf("%s: snapshot %dx%d", sc, w, h)
			}
		}
	}
	// every scene has looped at least twice by now: no other type, and one
	// episode per type (one cook, one rodent, one bin)
	time.Sleep(time.Until(online.Add(20 * time.Second)))
	vs, err := r.fleet.violations("gateway_id=gw-d&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	starts := map[string]int{}
	for _, v := range vs {
		if v.Phase != "start" {
			continue
		}
		starts[v.CameraID+" "+v.Type]++
		if !slices.Contains(aiScenes[v.CameraID], v.Type) {
			t.Errorf("%s raised %s, which it does not show", v.CameraID, v.Type)
		}
	}
	for k, n := range starts {
		if n > 1 {
			t.Errorf("%s: %d episodes, want 1", k, n)
		}
	}
	// What each camera's detection saw, for a failure's log: units lost
	// while it was behind, and skipped until the next IDR after that.
	if st, err := getGatewayStatus(r.gwHTTP); err == nil {
		for sc := range aiScenes {
			d := st.Detection[sc]
			t.Logf("%s: %d pictures sampled, %d plugin errors, %d units missed, %d skipped", sc, d.Sampled, d.PluginErrors, d.Missed, d.Skipped)
		}
	}
}
