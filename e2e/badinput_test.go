package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// Malformed payloads on every topic the fleet consumes are rejected and
// counted, and the fleet keeps serving: a good event afterwards is stored and
// acknowledged.
func TestMalformedPayloadsRejected(t *testing.T) {
	parallelScenario(t)
	f := newFleet(t, "")
	f.start()
	user, pass := f.addGateway("gw-bad", "canteen-1")
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + f.mqtt).SetClientID("gw-bad").
		SetUsername(user).SetPassword(pass).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	acks := make(chan string, 16)
	if tok := c.Subscribe("bk/v1/gw/gw-bad/ack", 1, func(_ mqtt.Client, m mqtt.Message) { acks <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe ack: %v", tok.Error())
	}
	root := "bk/v1/gw/gw-bad/"
	garbage := [][]byte{[]byte(""), []byte("{"), []byte("null"), []byte(`{"v":2}`), []byte("\xff\xfe\x00"),
		[]byte(`{"v":1,"seq":"x"}`), []byte(strings.Repeat("[", 10000))}
	kinds := []string{"state", "heartbeat", "camera-status", "event", "cmd/ack", "config/reported"}
	sent := 0
	for _, k := range kinds {
		for _, g := range garbage {
			if k == "state" && len(g) == 0 {
				continue // an empty retained message clears the retained state: legal MQTT
			}
			tok := c.Publish(root+k, 1, false, g)
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("publish %s: %v", k, tok.Error())
			}
			sent++
		}
	}
	// An empty snapshot is malformed too.
	c.Publish(root+"snapshot/01J0000000000000000000000A", 1, false, []byte{}).WaitTimeout(5 * time.Second)
	sent++
	wait.For(t, 10*time.Second, "rejections counted in /metrics", func() bool {
		return f.metric("bk_fleet_ingest_rejected_total") >= float64(sent-len(kinds))
	})
	for _, k := range kinds {
		if f.metric("bk_fleet_ingest_rejected_total", `kind="`+k+`"`) < 1 {
			t.Errorf("no rejection counted for %s", k)
		}
	}
	// Still serving: a good event is stored and acked.
	good := `{"v":1,"event_id":"01J0000000000000000000000B","seq":1,"camera_id":"cam-1","type":"no_mask","score":0.8,"boxes":[],"started_at":"2026-11-28T08:00:00Z","historical":false}`
	c.Publish(root+"event", 1, false, []byte(good)).WaitTimeout(5 * time.Second)
	select {
	case a := <-acks:
		if !strings.Contains(a, `"seqs":[1]`) {
			t.Errorf("ack %s, want seqs [1]", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ack for a good event after the garbage")
	}
	vs, err := f.violations("gateway_id=gw-bad")
	if err != nil || len(vs) != 1 || vs[0].Type != "no_mask" {
		t.Fatalf("violations after garbage: %+v, %v", vs, err)
	}
}

// bk-gateway check names the key of a bad config and exits non-zero.
func TestGatewayCheckNamesKey(t *testing.T) {
	parallelScenario(t)
	cases := map[string]string{
		"unknown key":  "gateway:\n  id: gw-1\nbroker:\n  url: tcp://127.0.0.1:1883\ncameras:\n  - id: c1\n    url: rtsp://127.0.0.1/x\n    urll: rtsp://x\n",
		"bad scheme":   "gateway:\n  id: gw-1\nbroker:\n  url: tcp://127.0.0.1:1883\ncameras:\n  - id: c1\n    url: http://127.0.0.1/x\n",
		"no id":        "broker:\n  url: tcp://127.0.0.1:1883\n",
		"bad duration": "gateway:\n  id: gw-1\nbroker:\n  url: tcp://127.0.0.1:1883\nuplink:\n  heartbeat: soon\n",
	}
	want := map[string]string{
		"unknown key": "cameras[0]", "bad scheme": "cameras[0].url", "no id": "gateway.id", "bad duration": "uplink.heartbeat",
	}
	for name, body := range cases {
		path := filepath.Join(t.TempDir(), "bad.yaml")
		writeFile(t, path, body)
		out, err := exec.Command(filepath.Join(binDir, "bk-gateway"), "check", "--config", path).CombinedOutput()
		if err == nil {
			t.Errorf("%s: check exited 0: %s", name, out)
			continue
		}
		if !strings.Contains(string(out), want[name]) {
			t.Errorf("%s: output %q does not name %q", name, out, want[name])
		}
		if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n > 0 {
			t.Errorf("%s: want one line, got %d: %q", name, n+1, out)
		}
	}
	// The shipped example config passes.
	out, err := exec.Command(filepath.Join(binDir, "bk-gateway"), "check", "--config", "../gateway/config/example.yaml").CombinedOutput()
	if err != nil {
		t.Errorf("example config: %v: %s", err, out)
	}
}
