package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// wecomRobot is a 企业微信 group robot on loopback: it keeps each POST to
// /cgi-bin/webhook/send by key and answers {"errcode":0,"errmsg":"ok"}.
type wecomRobot struct {
	mu  sync.Mutex
	got map[string][]robotPost
	srv *httptest.Server
}

type robotPost struct {
	body  []byte
	ctype string
	at    time.Time
}

func newWeComRobot(t *testing.T) *wecomRobot {
	r := &wecomRobot{got: map[string][]robotPost{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if req.Method != http.MethodPost || req.URL.Path != "/cgi-bin/webhook/send" {
			http.Error(w, "not the robot's path", http.StatusNotFound)
			return
		}
		r.mu.Lock()
		key := req.URL.Query().Get("key")
		r.got[key] = append(r.got[key], robotPost{body: body, ctype: req.Header.Get("Content-Type"), at: time.Now()})
		r.mu.Unlock()
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *wecomRobot) posts(key string) []robotPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]robotPost(nil), r.got[key]...)
}

// TestPushCoveredCamera is issue 15's must-show with real processes: a
// camsim camera with its lens covered, a real bk-gateway whose tamper
// plugin raises camera_occluded, a real bk-fleet (its robots' host set to
// a fake 企业微信 robot on loopback) with the canteen's group channel that
// one operator subscribed to. The alarm reaches the robot within 5 s of
// its commit as the documented markdown JSON; the robot of an operator
// who did not subscribe gets nothing; the delivery log says sent.
func TestPushCoveredCamera(t *testing.T) {
	parallelScenario(t)
	robot := newWeComRobot(t)
	f := newFleet(t, "")
	f.args = []string{"--push-wecom-url", robot.srv.URL}
	f.start()
	must := func(method, path, body string, v any) {
		t.Helper()
		if status, err := f.send(method, path, body, v); err != nil || status/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, status, err)
		}
	}
	must("POST", "/api/v1/canteens", `{"id":"canteen-p","name":"徐汇一中食堂","category":"school","district":"徐汇区","active":true}`, nil)
	for _, u := range []string{"op.sub", "op.not"} {
		must("POST", "/api/v1/users", `{"id":"`+u+`","role":"operator","canteens":["canteen-p"],"password":"long enough 1"}`, nil)
	}
	var group, own struct {
		ID string `json:"id"`
	}
	must("POST", "/api/v1/push/channels", `{"kind":"wecom","name":"后厨群","scope":"canteen","scope_id":"canteen-p","config":{"key":"group-key"}}`, &group)
	must("POST", "/api/v1/push/channels", `{"kind":"wecom","name":"op.not's robot","scope":"user","scope_id":"op.not","config":{"key":"not-key"}}`, &own)
	must("PUT", "/api/v1/push/subscriptions/"+group.ID+"?user=op.sub", `{"kinds":["alarm"]}`, nil)

	user, pass := f.addGateway("gw-p", "canteen-p")
	cam := startCamsim(t, camsim.Camera{Path: "covered", Scene: "covered"})
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-p", Broker: "tcp://" + f.mqtt, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: freePort(t), Grace: 3 * time.Second,
		Cameras: map[string]string{"covered": cam.URL("covered")}, CameraYAML: map[string]string{"covered": tamperDetect},
		YAML: pluginsYAML(""),
	})
	startProc(t, "gateway", nil, "bk-gateway", "run", "--config", cfg)

	var alarm apiViolation
	wait.For(t, 60*time.Second, "camera_occluded committed", func() bool {
		vs, err := f.violations("gateway_id=gw-p&type=camera_occluded&alarms=1")
		if err != nil || len(vs) == 0 {
			return false
		}
		alarm = vs[0]
		return true
	})
	wait.For(t, 10*time.Second, "the push", func() bool { return len(robot.posts("group-key")) > 0 })
	p := robot.posts("group-key")[0]
	took := p.at.Sub(alarm.ReceivedAt)
	t.Logf("camera_occluded %d committed → 企业微信 robot in %v", alarm.ID, took)
	if took > 5*time.Second {
		t.Errorf("pushed %v after the commit, want ≤ 5 s", took)
	}
	var msg struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	dec := json.NewDecoder(strings.NewReader(string(p.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil || msg.MsgType != "markdown" || p.ctype != "application/json" {
		t.Fatalf("robot got %q (%s): %v", p.body, p.ctype, err)
	}
	for _, want := range []string{"### 明厨亮灶 · 摄像头遮挡\n", "> 食堂：徐汇一中食堂\n", "> 区域：徐汇区\n",
		"> 类型：摄像头遮挡 (camera_occluded)\n", "> 级别：高\n", "> 摄像头：covered\n", "> 网关：gw-p\n"} {
		if !strings.Contains(msg.Markdown.Content, want) {
			t.Errorf("markdown lacks %q:\n%s", want, msg.Markdown.Content)
		}
	}
	if len(msg.Markdown.Content) > 4096 {
		t.Errorf("markdown of %d bytes, over the robot's 4096", len(msg.Markdown.Content))
	}
	var log struct {
		Deliveries []struct {
			ChannelID string `json:"channel_id"`
			State     string `json:"state"`
			Tries     int    `json:"tries"`
		} `json:"deliveries"`
	}
	// The robot has the post; the pusher records it as sent once the
	// robot's answer is back.
	wait.For(t, 5*time.Second, "the delivery to the group's robot logged as sent", func() bool {
		must("GET", "/api/v1/push/deliveries", "", &log)
		n := len(log.Deliveries)
		return n > 0 && log.Deliveries[n-1].ChannelID == group.ID && log.Deliveries[n-1].State == "sent"
	})
	for _, d := range log.Deliveries {
		if d.ChannelID == own.ID {
			t.Errorf("a delivery to op.not's robot: %+v", d)
		}
	}
	if n := len(robot.posts("not-key")); n != 0 {
		t.Errorf("op.not, not subscribed, got %d pushes", n)
	}
}
