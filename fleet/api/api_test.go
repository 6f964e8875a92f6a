package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
)

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	st := dbtest.Fresh(t)
	if _, _, err := st.AddGateway(context.Background(), "gw-1", "canteen-1"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "secret"}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuthAndErrors(t *testing.T) {
	srv := newTestServer(t)
	cases := []struct {
		method, path, token, body string
		status                    int
		contains                  string
	}{
		{"GET", "/healthz", "", "", 200, "ok"},
		{"GET", "/api/v1/gateways", "", "", 401, `"code":"unauthenticated"`},
		{"GET", "/api/v1/gateways", "wrong", "", 401, "invalid token"},
		{"GET", "/api/v1/gateways", "secret", "", 200, `"id":"gw-1"`},
		{"GET", "/api/v1/violations?since=yesterday", "secret", "", 400, "since"},
		{"GET", "/api/v1/violations?limit=0", "secret", "", 400, "limit"},
		{"GET", "/api/v1/violations", "secret", "", 200, `"violations"`},
		{"GET", "/api/v1/violations/abc", "secret", "", 400, "positive number"},
		{"GET", "/api/v1/violations/99", "secret", "", 404, "no such violation"},
		{"GET", "/api/v1/violations/99/snapshot", "secret", "", 404, "no such violation"},
		{"POST", "/api/v1/gateways/nope/commands", "secret", `{"name":"ping"}`, 404, "no gateway"},
		{"POST", "/api/v1/gateways/gw-1/commands", "secret", `{"name":`, 400, "body"},
		{"POST", "/api/v1/gateways/gw-1/commands", "secret", `{"name":"ping","extra":1}`, 400, "unknown field"},
		{"POST", "/api/v1/gateways/gw-1/commands", "secret", `{"name":"ping","args":"` + strings.Repeat("x", MaxBody) + `"}`, 413, "too_large"},
		{"POST", "/api/v1/gateways/gw-1/commands", "secret", `{"name":"ping"}`, 503, "MQTT"},
		{"PUT", "/api/v1/gateways/gw-1/config", "secret", `[1]`, 400, "JSON object"},
		{"GET", "/api/v1/nothing", "secret", "", 404, "no such endpoint"},
		{"GET", "/", "", "", 200, "明厨亮灶"},
		{"GET", "/status", "", "", 404, ""}, // the legacy page is gone: the UI is at /
		{"GET", "/api/v1/violation-types", "", "", 401, "unauthenticated"},
		{"GET", "/api/v1/violation-types", "secret", "", 200, `{"id":"no_mask","zh":"未戴口罩","en":"No mask","kind":"detection"}`},
	}
	for _, c := range cases {
		status, body := do(t, c.method, srv.URL+c.path, c.token, c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s: %d %.200s; want %d containing %q", c.method, c.path, status, body, c.status, c.contains)
		}
	}
}

type recordingPublisher struct {
	mu     sync.Mutex
	topics []string
}

func (p *recordingPublisher) Publish(topic string, _ bool, _ []byte, _ time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.topics = append(p.topics, topic)
	return nil
}

// TestCommandAudited: every command sent through the API is audited with
// who sent it, to which gateway, its name and its arguments (the ticket
// blanked), and so is one that could not be sent.
func TestCommandAudited(t *testing.T) {
	ctx := context.Background()
	st := dbtest.Fresh(t)
	if _, _, err := st.AddGateway(ctx, "gw-1", "canteen-1"); err != nil {
		t.Fatal(err)
	}
	pub := &recordingPublisher{}
	api := &Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, AdminToken: "secret", MQTT: pub}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)

	body := `{"name":"live.start","args":{"camera_id":"cam-3","session":"s1","token":"TICKET-SECRET","whip_url":"https://evil.example/whip"}}`
	if code, b := do(t, "POST", srv.URL+"/api/v1/gateways/gw-1/commands", "secret", body); code != 202 {
		t.Fatalf("%d %s", code, b)
	}
	api.MQTT = nil // then a command that cannot be sent
	if code, b := do(t, "POST", srv.URL+"/api/v1/gateways/gw-1/commands", "secret", `{"name":"ping"}`); code != 503 {
		t.Fatalf("%d %s", code, b)
	}
	es, err := st.AuditLog(ctx, auth.AuditFilter{Action: "command"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%d command entries, want 2: %+v", len(es), es)
	}
	var sent, failed auth.AuditEntry
	for _, e := range es {
		if e.Outcome == auth.OutcomeFailed {
			failed = e
		} else {
			sent = e
		}
	}
	for _, want := range []string{"gateway gw-1: live.start", `"camera_id":"cam-3"`, `"whip_url":"https://evil.example/whip"`, "(cmd "} {
		if !strings.Contains(sent.Detail, want) {
			t.Errorf("detail %q lacks %q", sent.Detail, want)
		}
	}
	if strings.Contains(sent.Detail, "TICKET-SECRET") {
		t.Errorf("ticket in the audit log: %q", sent.Detail)
	}
	if sent.Actor != "admin-token" || sent.CanteenID != "canteen-1" || sent.Outcome != auth.OutcomeOK {
		t.Errorf("sent entry %+v", sent)
	}
	if !strings.Contains(failed.Detail, "gateway gw-1: ping") || !strings.Contains(failed.Detail, "MQTT") {
		t.Errorf("failed entry %+v", failed)
	}
}
