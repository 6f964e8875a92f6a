package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// cmdPublisher keeps the commands sent.
type cmdPublisher struct {
	mu   sync.Mutex
	cmds []wire.Cmd
}

func (p *cmdPublisher) Publish(_ string, _ bool, b []byte, _ time.Duration) error {
	c, err := wire.DecodeCmd(b)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmds = append(p.cmds, c)
	return nil
}

func (p *cmdPublisher) last() wire.Cmd {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmds[len(p.cmds)-1]
}

func gz(t *testing.T, s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

// TestRemoteOperations: who may send which command to which gateway, the
// history each may see (tokens blanked), and a log upload from request to
// download, its token good once.
func TestRemoteOperations(t *testing.T) {
	w := newWorld(t)
	pub := &cmdPublisher{}
	w.api.MQTT = pub
	cmds := "/api/v1/gateways/gw-A/commands"
	for _, c := range []struct {
		who, method, path, body string
		status                  int
		contains                string
	}{
		{"operatorA", "POST", cmds, `{"name":"restart"}`, 202, `"status":"sent"`},
		{"operatorA", "POST", cmds, `{"name":"snapshot","args":{"camera_id":"pub-A"}}`, 202, `"status":"sent"`},
		{"operatorA", "POST", cmds, `{"name":"snapshot","args":{}}`, 400, `camera_id`},
		{"operatorA", "POST", cmds, `{"name":"camera.config","args":{"camera_id":"pub-A","url":"http://x/"}}`, 400, `rtsp://`},
		{"operatorA", "POST", cmds, `{"name":"live.start","args":{}}`, 403, "may send only ping, restart, reboot"},
		{"operatorA", "POST", cmds, `{"name":"camera.config","args":{"camera_id":"pub-A","area":"cooking"}}`, 202, `"status":"sent"`},
		{"operatorA", "POST", "/api/v1/gateways/gw-B/commands", `{"name":"restart"}`, 403, "forbidden"},
		{"operatorA", "POST", "/api/v1/gateways/nope/commands", `{"name":"restart"}`, 403, "forbidden"},
		{"admin", "POST", "/api/v1/gateways/nope/commands", `{"name":"restart"}`, 404, "no gateway"},
		{"regulator", "POST", cmds, `{"name":"restart"}`, 403, "may not do this"},
		{"operatorA", "POST", cmds, `{"name":"logs.upload","args":{"max_bytes":-1}}`, 400, "max_bytes"},
		{"regulator", "GET", cmds, "", 200, `"name":"restart"`},
		{"regulator", "GET", "/api/v1/gateways/gw-B/commands", "", 403, "forbidden"},
		{"regulator", "GET", "/api/v1/gateways/gw-A/logs", "", 403, "may not do this"},
		{"operatorA", "GET", "/api/v1/gateways/gw-B/logs", "", 403, "forbidden"},
		{"operatorA", "GET", "/api/v1/gateways/gw-A/snapshots/ev-none", "", 404, "not arrived"},
	} {
		status, body := w.req(t, c.who, c.method, c.path, "application/json", []byte(c.body))
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s %s %s: %d %.300s; want %d with %q", c.who, c.method, c.path, c.body, status, body, c.status, c.contains)
		}
	}

	// A log upload: the command carries the URL and a token; the gateway
	// PUTs its gzip there once; the operator lists and downloads it.
	if status, body := w.req(t, "operatorA", "POST", cmds, "application/json", []byte(`{"name":"logs.upload","args":{"max_bytes":65536}}`)); status != 202 {
		t.Fatalf("logs.upload: %d %s", status, body)
	}
	cmd := pub.last()
	up, err := wire.DecodeLogsUpload(cmd.Args)
	if err != nil || up.MaxBytes != 65536 || !strings.HasPrefix(up.URL, w.srv.URL+"/api/v1/gateways/gw-A/logs/log-") {
		t.Fatalf("logs.upload args %s: %v", cmd.Args, err)
	}
	path := strings.TrimPrefix(up.URL, w.srv.URL)
	if status, body := doCT(t, "PUT", up.URL, "wrong-token", "application/gzip", gz(t, "x")); status != 401 {
		t.Errorf("a wrong token: %d %s", status, body)
	}
	if status, body := doCT(t, "PUT", up.URL, up.Token, "application/gzip", "not gzip"); status != 400 {
		t.Errorf("not gzip: %d %s", status, body)
	}
	if status, body := doCT(t, "PUT", up.URL, up.Token, "application/gzip", gz(t, "level=INFO msg=hello\n")); status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	if status, body := doCT(t, "PUT", up.URL, up.Token, "application/gzip", gz(t, "again")); status != 410 {
		t.Errorf("the token used twice: %d %s", status, body)
	}
	if status, body := w.req(t, "operatorA", "GET", "/api/v1/gateways/gw-A/logs", "", nil); status != 200 ||
		!strings.Contains(body, `"cmd_id":"`+cmd.CmdID+`"`) {
		t.Errorf("list uploads: %d %s", status, body)
	}
	status, body := w.req(t, "operatorA", "GET", path, "", nil)
	if status != 200 {
		t.Fatalf("download: %d %s", status, body)
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.ReadFrom(zr)
	if plain.String() != "level=INFO msg=hello\n" {
		t.Errorf("downloaded %q", plain.String())
	}

	// The history never shows the token; the audit log has every command.
	status, body = w.req(t, "operatorA", "GET", cmds+"/"+cmd.CmdID, "", nil)
	if status != 200 || strings.Contains(body, up.Token) || !strings.Contains(body, `"token":"…"`) {
		t.Errorf("the command as shown: %d %s", status, body)
	}
	var hist struct{ Commands []struct{ Name string } }
	_, body = w.req(t, "admin", "GET", cmds, "", nil)
	if json.Unmarshal([]byte(body), &hist); len(hist.Commands) != 4 || strings.Contains(body, up.Token) {
		t.Errorf("history %s", body)
	}
	es, err := w.st.AuditLog(context.Background(), auth.AuditFilter{Action: "command"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Errorf("%d audited commands, want 4: %+v", len(es), es)
	}
	for _, e := range es {
		if strings.Contains(e.Detail, up.Token) || e.Actor == "" || e.CanteenID != "A" {
			t.Errorf("audit entry %+v", e)
		}
	}
	if es, _ := w.st.AuditLog(context.Background(), auth.AuditFilter{Action: "logs_download"}); len(es) != 1 {
		t.Errorf("downloads audited: %+v", es)
	}
}

// TestGatewayAlarmsVisible: a gateway alarm is the operator's notice and
// in the regulator's list, within their scopes.
func TestGatewayAlarmsVisible(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	now := time.Now()
	for gw, temp := range map[string]float64{"gw-A": 91, "gw-B": 92} {
		if err := w.st.Heartbeat(ctx, gw, wire.Heartbeat{V: wire.Version, At: now, System: wire.System{TempC: temp}}, now); err != nil {
			t.Fatal(err)
		}
		if err := w.st.GatewayState(ctx, gw, wire.State{V: wire.Version, Online: true, Session: 1}, now); err != nil {
			t.Fatal(err)
		}
	}
	if r, _, err := w.st.FlagGateways(ctx, alarms.GatewayThresholds{}, now); err != nil || r != 2 {
		t.Fatalf("raised %d: %v", r, err)
	}
	for who, want := range map[string]string{"regulator": "gw-A", "operatorA": "gw-A", "city": "gw-A gw-B", "admin": "gw-A gw-B"} {
		status, body := w.req(t, who, "GET", "/api/v1/gateway-alarms", "", nil)
		var res struct{ Alarms []alarms.GatewayAlarm }
		if status != 200 || json.Unmarshal([]byte(body), &res) != nil {
			t.Fatalf("%s: %d %s", who, status, body)
		}
		var got []string
		for _, a := range res.Alarms {
			if a.Kind != alarms.NoticeGatewayHot {
				t.Errorf("%s: %+v", who, a)
			}
			got = append(got, a.GatewayID)
		}
		slices.Sort(got)
		if strings.Join(got, " ") != want {
			t.Errorf("%s sees %v, want %s", who, got, want)
		}
	}
	status, body := w.req(t, "operatorA", "GET", "/api/v1/notices", "", nil)
	if status != 200 || !strings.Contains(body, `"kind":"gateway_hot"`) || !strings.Contains(body, `"gateway_id":"gw-A"`) ||
		strings.Contains(body, "gw-B") {
		t.Errorf("operator's notices: %d %s", status, body)
	}
}
