package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

// TestPushAPI: channels with their secrets never shown back (answers
// and the audit log), hostile configs refused with the field named, who
// may make and see which channel, subscriptions, and the delivery log by
// scope. SQLite and PostgreSQL.
func TestPushAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		ctx := context.Background()
		st := dbtest.Of(storetest.Open(t, u))
		for _, c := range []registry.Canteen{{ID: "A", Name: "School A", District: "xuhui", Active: true},
			{ID: "B", Name: "School B", District: "minhang", Active: true}} {
			if _, err := st.PutCanteen(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []auth.User{{ID: "op1", Role: auth.RoleOperator, Canteens: []string{"A"}},
			{ID: "reg1", Role: auth.RoleRegulator, Districts: []string{"xuhui"}}} {
			if _, err := st.AddUser(ctx, u, "correct horse battery"); err != nil {
				t.Fatal(err)
			}
		}
		tok, _, err := st.AddToken(ctx, auth.Token{Role: auth.RoleOperator, Canteens: []string{"A"}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer((&Server{Registry: st.Registry, Auth: st.Auth, Alarms: st.Alarms, Rates: st.Rates, Push: st.Push,
			AdminToken: "secret"}).Handler())
		defer srv.Close()
		admin := func(method, path, body string) (int, string) { return do(t, method, srv.URL+path, "secret", body) }

		// An admin's shared channels: the secrets go in and never come out.
		status, body := admin("POST", "/api/v1/push/channels",
			`{"kind":"wecom","name":"A kitchen","scope":"canteen","scope_id":"A","config":{"key":"WECOMSECRETKEY"}}`)
		if status != 201 || strings.Contains(body, "WECOMSECRETKEY") || !strings.Contains(body, push.Hidden) {
			t.Fatalf("add channel: %d %s", status, body)
		}
		var chA push.Channel
		_ = json.Unmarshal([]byte(body), &chA)
		status, body = admin("POST", "/api/v1/push/channels",
			`{"kind":"wecom","name":"B kitchen","scope":"canteen","scope_id":"B","config":{"key":"BKEY"}}`)
		if status != 201 {
			t.Fatalf("add B channel: %d %s", status, body)
		}
		var chB push.Channel
		_ = json.Unmarshal([]byte(body), &chB)
		status, body = admin("POST", "/api/v1/push/channels",
			`{"kind":"sms","name":"sms","scope":"all","config":{"url":"https://sms.example/send?apikey=SMSURLSECRET&to={{phone}}",
			"headers":{"Authorization":"Bearer SMSHEADERSECRET"},"body":"{\"msg\":\"{{text}}\"}"}}`)
		if status != 201 || strings.Contains(body, "SMSURLSECRET") || strings.Contains(body, "SMSHEADERSECRET") {
			t.Fatalf("add SMS channel: %d %s", status, body)
		}

		// Hostile input: each refused, naming the field.
		for _, tc := range []struct{ body, want string }{
			{`{"kind":"sms","name":"x","scope":"all","config":{"url":"https://h/","headers":{"Authorization":"Bearer SMSHEADERSECRET"},"body":"` +
				strings.Repeat("x", push.MaxTemplate+1) + `"}}`, "config.body: over 4096"},
			{`{"kind":"wecom","name":"x","scope":"all","config":{"key":"k","base_url":"file:///etc/passwd"}}`, "scheme must be http or https"},
			{`{"kind":"webhook","name":"x","scope":"all","config":{"url":"ftp://h/x"}}`, "scheme must be http or https"},
			{`{"kind":"sms","name":"x","scope":"all","config":{"url":"https://h/","body":"{{secret}}"}}`, "unknown placeholder"},
			{`{"kind":"wecom","name":"x","scope":"canteen","scope_id":"nowhere","config":{"key":"k"}}`, "no canteen"},
			{`{"kind":"wecom",`, "bad_request"},
			{`{"kind":"wecom","name":"x","scope":"all","config":{"key":"k"},"extra":1}`, "bad_request"},
		} {
			if status, body := admin("POST", "/api/v1/push/channels", tc.body); status != 400 || !strings.Contains(body, tc.want) {
				t.Errorf("%.60s…: %d %s, want 400 with %q", tc.body, status, body, tc.want)
			}
		}

		// An operator signed in: sees its canteen's channel, not B's; makes
		// a robot of its own; may not make a shared one or aim at its own host.
		op := newBrowser(t, srv.URL)
		if status, body := op.do("POST", "/api/v1/login", `{"login":"op1","password":"correct horse battery"}`); status != 200 {
			t.Fatalf("login: %d %s", status, body)
		}
		_, body = op.do("GET", "/api/v1/push/channels", "")
		if !strings.Contains(body, chA.ID) || strings.Contains(body, chB.ID) || strings.Contains(body, "WECOMSECRETKEY") {
			t.Fatalf("operator's channels: %s", body)
		}
		status, body = op.do("POST", "/api/v1/push/channels",
			`{"kind":"dingtalk","name":"my robot","config":{"access_token":"DINGTOKEN","secret":"SECDINGSIGN"}}`)
		if status != 201 || strings.Contains(body, "DINGTOKEN") || strings.Contains(body, "SECDINGSIGN") {
			t.Fatalf("own channel: %d %s", status, body)
		}
		var own push.Channel
		_ = json.Unmarshal([]byte(body), &own)
		if own.Scope != push.ScopeUser || own.ScopeID != "op1" {
			t.Fatalf("own channel scope %s:%s", own.Scope, own.ScopeID)
		}
		for _, b := range []string{
			`{"kind":"wecom","name":"x","scope":"canteen","scope_id":"A","config":{"key":"k"}}`,
			`{"kind":"wecom","name":"x","config":{"key":"k","base_url":"http://127.0.0.1:9/"}}`,
			`{"kind":"webhook","name":"x","config":{"url":"http://127.0.0.1:9/"}}`,
		} {
			if status, body := op.do("POST", "/api/v1/push/channels", b); status != 403 {
				t.Errorf("operator %s: %d %s", b, status, body)
			}
		}
		// An update from the UI sends the hidden values back: the secrets stay.
		if status, body := op.do("PUT", "/api/v1/push/channels/"+own.ID,
			`{"kind":"dingtalk","name":"renamed","config":{"access_token":"`+push.Hidden+`","secret":"`+push.Hidden+`"}}`); status != 200 {
			t.Fatalf("update own channel: %d %s", status, body)
		}
		if c, err := st.Push.Channel(ctx, own.ID); err != nil || c.Name != "renamed" || c.Config.AccessToken != "DINGTOKEN" || c.Config.Secret != "SECDINGSIGN" {
			t.Fatalf("stored after update: %+v, %v", c, err)
		}
		// The operator may not change the admin's channel.
		if status, _ := op.do("PUT", "/api/v1/push/channels/"+chA.ID, `{"kind":"wecom","name":"mine now","scope":"canteen","scope_id":"A","config":{"key":"x"}}`); status != 403 {
			t.Errorf("operator edits a shared channel: %d", status)
		}

		// Subscriptions: to what one sees only.
		if status, body := op.do("PUT", "/api/v1/push/subscriptions/"+chA.ID, `{"kinds":["alarm","offline"],"min_severity":"medium"}`); status != 200 {
			t.Fatalf("subscribe: %d %s", status, body)
		}
		if status, _ := op.do("PUT", "/api/v1/push/subscriptions/"+chB.ID, `{}`); status != 404 {
			t.Errorf("subscribe to B's channel: %d", status)
		}
		if status, body := op.do("PUT", "/api/v1/push/subscriptions/"+chA.ID, `{"kinds":["everything"]}`); status != 400 || !strings.Contains(body, "kinds") {
			t.Errorf("bad kinds: %d %s", status, body)
		}
		if _, body := op.do("GET", "/api/v1/push/subscriptions", ""); !strings.Contains(body, chA.ID) || !strings.Contains(body, `"min_severity":"medium"`) {
			t.Errorf("subscriptions: %s", body)
		}
		if status, body := do(t, "GET", srv.URL+"/api/v1/push/subscriptions", tok, ""); status != 400 || !strings.Contains(body, "not_a_user") {
			t.Errorf("a token's subscriptions: %d %s", status, body)
		}

		// The delivery log: an operator its canteen's rows only.
		now := time.Now()
		for _, it := range []push.Item{{Key: "alarm:1", Kind: push.ItemAlarm, CanteenID: "A", At: now}, {Key: "alarm:2", Kind: push.ItemAlarm, CanteenID: "B", At: now}} {
			ch := chA.ID
			if it.CanteenID == "B" {
				ch = chB.ID
			}
			if _, err := st.Push.Enqueue(ctx, it, []push.Dest{{ChannelID: ch}}, now); err != nil {
				t.Fatal(err)
			}
		}
		_, body = op.do("GET", "/api/v1/push/deliveries", "")
		if !strings.Contains(body, `"alarm:1"`) || strings.Contains(body, `"alarm:2"`) {
			t.Errorf("operator's log: %s", body)
		}
		_, body = admin("GET", "/api/v1/push/deliveries", "")
		if !strings.Contains(body, `"alarm:1"`) || !strings.Contains(body, `"alarm:2"`) {
			t.Errorf("admin's log: %s", body)
		}
		if status, _ := admin("GET", "/api/v1/push/deliveries?state=lost", ""); status != 400 {
			t.Errorf("bad state: %d", status)
		}

		// Nothing secret reached the audit log, made or refused.
		es, err := st.AuditLog(ctx, auth.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if strings.HasPrefix(e.Action, "push_") {
				n++
			}
			for _, s := range []string{"WECOMSECRETKEY", "SMSURLSECRET", "SMSHEADERSECRET", "DINGTOKEN", "SECDINGSIGN", "BKEY"} {
				if strings.Contains(e.Detail, s) {
					t.Errorf("audit %s shows %s: %s", e.Action, s, e.Detail)
				}
			}
		}
		if n < 6 {
			t.Errorf("%d push audit entries, want the changes recorded", n)
		}
	})
}
