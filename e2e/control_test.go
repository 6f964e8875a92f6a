package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func (f *fleet) send(method, path, body string, v any) (int, error) {
	req, _ := http.NewRequest(method, "http://"+f.http+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if v != nil {
		_ = json.Unmarshal(buf.Bytes(), v)
	}
	return resp.StatusCode, nil
}

// Commands go to the gateway and their outcome comes back; a desired config
// pushed by the fleet is applied (a camera added) and reported.
func TestCommandsAndDesiredConfig(t *testing.T) {
	parallelScenario(t)
	s := startSpine(t, 2*time.Second)
	wait.For(t, 10*time.Second, "cameras online", func() bool {
		return s.fleetSees(map[string]bool{"cam-hot": true, "cam-wash": true})
	})

	var sent struct {
		CmdID string `json:"cmd_id"`
	}
	if code, err := s.fleet.send("POST", "/api/v1/gateways/gw-1/commands", `{"name":"camera.probe","args":{"camera_id":"cam-hot"}}`, &sent); err != nil || code != 202 {
		t.Fatalf("send command: %d %v", code, err)
	}
	var cmd struct{ Status, Detail string }
	wait.For(t, 10*time.Second, "camera.probe ok", func() bool {
		_, _ = s.fleet.send("GET", "/api/v1/gateways/gw-1/commands/"+sent.CmdID, "", &cmd)
		return cmd.Status == "ok"
	})
	if !strings.Contains(cmd.Detail, `"camera_id":"cam-hot"`) {
		t.Errorf("camera.probe detail %q", cmd.Detail)
	}
	if code, _ := s.fleet.send("POST", "/api/v1/gateways/gw-1/commands", `{"name":"self.destruct"}`, &sent); code != 202 {
		t.Fatalf("send unknown command: %d", code)
	}
	wait.For(t, 10*time.Second, "unknown command failed", func() bool {
		_, _ = s.fleet.send("GET", "/api/v1/gateways/gw-1/commands/"+sent.CmdID, "", &cmd)
		return cmd.Status == "failed"
	})

	// Push a config with a third camera.
	extra := startCamsim(t, camsim.Camera{Path: "cam-store", Scene: "empty"})
	cfg := fmt.Sprintf(`{"cameras":[
		{"id":"cam-hot","url":%q,"area":"area-cam-hot"},
		{"id":"cam-wash","url":%q,"area":"area-cam-wash"},
		{"id":"cam-store","url":%q,"area":"storage"}]}`,
		s.cam.URL("cam-hot"), s.cam.URL("cam-wash"), extra.URL("cam-store"))
	var ver struct{ Version int64 }
	if code, err := s.fleet.send("PUT", "/api/v1/gateways/gw-1/config", cfg, &ver); err != nil || code != 202 {
		t.Fatalf("put config: %d %v", code, err)
	}
	wait.For(t, 15*time.Second, "the new camera online at the fleet", func() bool {
		return s.fleetSees(map[string]bool{"cam-hot": true, "cam-wash": true, "cam-store": true})
	})
	wait.For(t, 10*time.Second, "config reported applied", func() bool {
		var out struct {
			Gateways []struct {
				ConfigReportedVersion int64 `json:"config_reported_version"`
				ConfigApplied         *bool `json:"config_applied"`
			} `json:"gateways"`
		}
		_ = s.fleet.get("/api/v1/gateways", &out)
		return len(out.Gateways) == 1 && out.Gateways[0].ConfigReportedVersion == ver.Version &&
			out.Gateways[0].ConfigApplied != nil && *out.Gateways[0].ConfigApplied
	})
	// A bad config is refused by the gateway, which says why.
	if code, _ := s.fleet.send("PUT", "/api/v1/gateways/gw-1/config", `{"cameras":[{"id":"x","url":"http://nope"}]}`, &ver); code != 202 {
		t.Fatalf("put bad config: %d", code)
	}
	wait.For(t, 10*time.Second, "bad config reported with its error", func() bool {
		var out struct {
			Gateways []struct {
				ConfigReportedVersion int64  `json:"config_reported_version"`
				ConfigError           string `json:"config_error"`
			} `json:"gateways"`
		}
		_ = s.fleet.get("/api/v1/gateways", &out)
		return len(out.Gateways) == 1 && out.Gateways[0].ConfigReportedVersion == ver.Version &&
			strings.Contains(out.Gateways[0].ConfigError, "cameras[0].url")
	})
}
