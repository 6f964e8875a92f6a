package core

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// TestSetupApplies: the setup page is on by default, made its password
// in the spool's directory, and a config it saved is applied without a
// restart; where the fleet had pushed a config, the kept copy's cameras
// follow, so the installer's cameras are there after a restart too.
func TestSetupApplies(t *testing.T) {
	cam := &camsim.Server{Listen: "127.0.0.1:0", GOP: 1, NoScenes: true,
		Cameras: []camsim.Camera{{Path: "k", Scene: "kitchen"}}, Logger: slog.New(slog.DiscardHandler)}
	if err := cam.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cam.Close() })
	dir := t.TempDir()
	file := filepath.Join(dir, "gateway.yaml")
	doc := fmt.Sprintf("gateway: {id: gw-t}\nbroker: {url: 'tcp://127.0.0.1:1', connect_timeout: 100ms}\n"+
		"spool: {path: %s}\nhttp: {listen: '127.0.0.1:0'}\n", filepath.Join(dir, "spool.db"))
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, f := range []string{"setup-password.txt", "setup-password.hash"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get("http://" + g.HTTPAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `href="/setup"`) {
		t.Fatal("the status page does not link to the setup page")
	}

	// The fleet pushed a config (no cameras) earlier.
	if err := g.applyConfig(context.Background(), desired(7, `{"cameras": []}`)); err != nil {
		t.Fatal(err)
	}
	next := doc + fmt.Sprintf("cameras:\n  - {id: stove, url: '%s', area: cooking, public: true}\n", cam.URL("k"))
	if err := os.WriteFile(file, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	saved, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.applyCameras(saved); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 20*time.Second, "the new camera online", func() bool {
		h := g.Cameras()
		return len(h) == 1 && h[0].CameraID == "stove" && h[0].Online && h[0].Area == "cooking" && h[0].Public
	})
	kept, err := g.spool.Meta(metaConfig)
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Version int64
		Config  struct{ Cameras []struct{ ID string } }
	}
	if err := json.Unmarshal(kept, &k); err != nil || k.Version != 7 || len(k.Config.Cameras) != 1 || k.Config.Cameras[0].ID != "stove" {
		t.Fatalf("kept fleet config %s: %v", kept, err)
	}
}
