package push_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func wecom(name string) push.Channel {
	return push.Channel{Kind: push.KindWeCom, Name: name, Scope: push.ScopeAll, Config: push.Config{Key: "k-123"}}
}

func TestValidateRefusesHostileChannels(t *testing.T) {
	long := strings.Repeat("x", push.MaxTemplate+1)
	sms := func(f func(*push.Config)) push.Channel {
		c := push.Channel{Kind: push.KindSMS, Name: "sms", Scope: push.ScopeAll,
			Config: push.Config{URL: "https://sms.example/send?to={{phone}}", Body: `{"msg":"{{text}}"}`}}
		f(&c.Config)
		return c
	}
	cases := []struct {
		name string
		c    push.Channel
		want string
	}{
		{"unknown kind", push.Channel{Kind: "telegram", Scope: push.ScopeAll}, "kind"},
		{"no key", push.Channel{Kind: push.KindWeCom, Scope: push.ScopeAll}, "config.key"},
		{"file base url", func() push.Channel { c := wecom("x"); c.Config.BaseURL = "file:///etc/passwd"; return c }(), "scheme must be http or https"},
		{"gopher base url", func() push.Channel { c := wecom("x"); c.Config.BaseURL = "gopher://h/"; return c }(), "scheme"},
		{"base url with query", func() push.Channel { c := wecom("x"); c.Config.BaseURL = "http://h/?x=1"; return c }(), "no query"},
		{"base url with user", func() push.Channel { c := wecom("x"); c.Config.BaseURL = "http://u:p@h/"; return c }(), "user info"},
		{"base url on sms", sms(func(c *push.Config) { c.BaseURL = "http://h" }), "only for wecom"},
		{"webhook javascript", push.Channel{Kind: push.KindWebhook, Scope: push.ScopeAll, Config: push.Config{URL: "javascript:alert(1)"}}, "scheme"},
		{"webhook no host", push.Channel{Kind: push.KindWebhook, Scope: push.ScopeAll, Config: push.Config{URL: "http:///x"}}, "host"},
		{"sms over-long body", sms(func(c *push.Config) { c.Body = long }), "config.body: over 4096"},
		{"sms over-long url", sms(func(c *push.Config) { c.URL = "https://h/" + long }), "config.url: over"},
		{"sms unknown placeholder", sms(func(c *push.Config) { c.Body = "{{password}}" }), "unknown placeholder"},
		{"sms header injection", sms(func(c *push.Config) { c.Headers = map[string]string{"X-Key": "a\r\nHost: evil"} }), "one line"},
		{"sms bad header name", sms(func(c *push.Config) { c.Headers = map[string]string{"X Key:": "a"} }), "not a header name"},
		{"sms bad method", sms(func(c *push.Config) { c.Method = "DELETE" }), "method"},
		{"sms file url", sms(func(c *push.Config) { c.URL = "file:///etc/shadow" }), "scheme"},
		{"bad scope", push.Channel{Kind: push.KindWeCom, Scope: "world", Config: push.Config{Key: "k"}}, "scope"},
		{"canteen scope without id", push.Channel{Kind: push.KindWeCom, Scope: push.ScopeCanteen, Config: push.Config{Key: "k"}}, "scope_id"},
		{"over-long secret", func() push.Channel { c := wecom("x"); c.Config.Key = strings.Repeat("k", 300); return c }(), "config.key: over"},
		{"name with newline", wecom("a\nb"), "one line"},
		{"robot with a url", func() push.Channel { c := wecom("x"); c.Config.URL = "http://h/"; return c }(), "only for webhook and sms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if !errors.Is(err, push.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	if err := sms(func(*push.Config) {}).Validate(); err != nil {
		t.Fatalf("a good SMS template: %v", err)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	c := push.Channel{Kind: push.KindSMS, Name: "sms", Scope: push.ScopeAll, Config: push.Config{
		URL: "https://sms.example/send?apikey=SECRETKEY&to={{phone}}", Headers: map[string]string{"Authorization": "Bearer SECRETTOKEN"},
		Body: "{{text}}", Secret: "SECRETSIGN"}}
	r := c.Redacted()
	b, _ := json.Marshal(r)
	for _, s := range []string{"SECRETKEY", "SECRETTOKEN", "SECRETSIGN"} {
		if strings.Contains(string(b), s) {
			t.Errorf("redacted channel shows %s: %s", s, b)
		}
	}
	if !strings.Contains(string(b), "phone") {
		t.Errorf("redacted URL lost its placeholder: %s", b)
	}
	// An update from the UI sends the redacted values back: the secrets stay.
	upd := r
	upd.Config.Headers = map[string]string{"Authorization": push.Hidden}
	upd.KeepSecrets(c)
	if upd.Config.Headers["Authorization"] != "Bearer SECRETTOKEN" || upd.Config.Secret != "SECRETSIGN" || upd.Config.URL != c.Config.URL {
		t.Fatalf("KeepSecrets = %+v", upd.Config)
	}
}

func TestDingTalkSign(t *testing.T) {
	const secret, ts = "SECabc", int64(1700000000000)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("1700000000000\nSECabc"))
	want := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	if got := push.DingTalkSign(secret, ts); got != want {
		t.Fatalf("DingTalkSign = %q, want %q", got, want)
	}
}

func TestSMSRequestEscapesPlaceholders(t *testing.T) {
	it := push.Item{CanteenID: "c1", CanteenName: `Quote " and & amp`, ViolationType: "smoking", Severity: push.SeverityHigh,
		At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ch := push.Channel{Kind: push.KindSMS, Config: push.Config{URL: "https://sms.example/send?to={{phone}}&c={{canteen}}",
		Body: `{"to":"{{phone}}","msg":"{{text}}","sev":"{{severity}}"}`}}
	method, u, ct, body := push.SMSRequest(ch, "+8613800001111", it)
	if method != "POST" || ct != "application/json" {
		t.Fatalf("method %s, content type %s", method, ct)
	}
	if u != "https://sms.example/send?to=%2B8613800001111&c=Quote+%22+and+%26+amp" {
		t.Fatalf("url %s", u)
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	if m["to"] != "+8613800001111" || m["sev"] != "high" || !strings.Contains(m["msg"], `Quote " and & amp`) || !strings.Contains(m["msg"], "吸烟") {
		t.Fatalf("body %v", m)
	}
}

func TestSubscriptionFilters(t *testing.T) {
	it := push.Item{Kind: push.ItemAlarm, ViolationType: "camera_dark", Severity: push.Severity("camera_dark")}
	cases := []struct {
		s    push.Subscription
		want bool
	}{
		{push.Subscription{}, true},
		{push.Subscription{Kinds: []string{push.ItemOffline}}, false},
		{push.Subscription{Kinds: []string{push.ItemAlarm}, Types: []string{"camera_dark"}}, true},
		{push.Subscription{Types: []string{"smoking"}}, false},
		{push.Subscription{MinSeverity: push.SeverityMedium}, false},
		{push.Subscription{MinSeverity: push.SeverityLow}, true},
	}
	for i, tc := range cases {
		if got := tc.s.Wants(it); got != tc.want {
			t.Errorf("%d: Wants = %v, want %v", i, got, tc.want)
		}
	}
	for _, s := range []push.Subscription{{Kinds: []string{"everything"}}, {Types: []string{"nope"}}, {MinSeverity: "urgent"}, {Phone: "123456"}} {
		if err := s.Validate(push.KindWeCom); !errors.Is(err, push.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v", s, err)
		}
	}
	if err := (push.Subscription{Phone: "call me"}).Validate(push.KindSMS); !errors.Is(err, push.ErrInvalid) {
		t.Errorf("SMS without a good phone: %v", err)
	}
}

// TestOutboxOncePerDestination: an item is queued once per destination
// however often it is enqueued, and two holders never claim one row.
func TestOutboxOncePerDestination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		db := storetest.Open(t, u)
		p := push.New(db)
		now := time.Now()
		ch, err := p.PutChannel(ctx, wecom("group"), now)
		if err != nil {
			t.Fatal(err)
		}
		it := push.Item{Key: "alarm:1", Kind: push.ItemAlarm, CanteenID: "c1", At: now}
		for range 3 {
			if _, err := p.Enqueue(ctx, it, []push.Dest{{ChannelID: ch.ID}}, now); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		claimed := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ds, err := p.Claim(ctx, []string{"a", "b"}[i], now, 10)
				if err != nil {
					t.Error(err)
				}
				claimed[i] = len(ds)
			}()
		}
		wg.Wait()
		if claimed[0]+claimed[1] != 1 {
			t.Fatalf("claimed %v, want one row in all", claimed)
		}
		holder := "a"
		if claimed[1] == 1 {
			holder = "b"
		}
		// A failure is retried later; a success is final.
		if err := p.Done(ctx, 1, holder, errors.New("HTTP 500"), now.Add(time.Second), false, now); err != nil {
			t.Fatal(err)
		}
		if ds, _ := p.Claim(ctx, "a", now, 10); len(ds) != 0 {
			t.Fatalf("claimed before the retry time: %v", ds)
		}
		ds, err := p.Claim(ctx, "a", now.Add(2*time.Second), 10)
		if err != nil || len(ds) != 1 || ds[0].Channel.Config.Key != "k-123" || ds[0].Tries != 1 {
			t.Fatalf("claim at retry = %+v, %v", ds, err)
		}
		if err := p.Done(ctx, ds[0].ID, "a", nil, time.Time{}, false, now); err != nil {
			t.Fatal(err)
		}
		log, err := p.Deliveries(ctx, push.DeliveryFilter{})
		if err != nil || len(log) != 1 || log[0].State != push.StateSent || log[0].Tries != 2 {
			t.Fatalf("log = %+v, %v", log, err)
		}
		if log, _ := p.Deliveries(ctx, push.DeliveryFilter{Canteens: []string{"c2"}}); len(log) != 0 {
			t.Fatalf("another canteen's log: %+v", log)
		}
		// The log is pruned of old sent rows; a pending one stays.
		if _, err := p.Enqueue(ctx, push.Item{Key: "alarm:2", Kind: push.ItemAlarm, CanteenID: "c1", At: now}, []push.Dest{{ChannelID: ch.ID}}, now); err != nil {
			t.Fatal(err)
		}
		if n, err := p.Prune(ctx, now.Add(time.Millisecond), 100); err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want the sent row", n, err)
		}
		if log, _ := p.Deliveries(ctx, push.DeliveryFilter{}); len(log) != 1 || log[0].ItemKey != "alarm:2" {
			t.Fatalf("after prune: %+v", log)
		}
	})
}

// TestSenderRobotReplies: the robots' errcode decides, and errors never
// show the key.
func TestSenderRobotReplies(t *testing.T) {
	replies := []string{`{"errcode":93000,"errmsg":"invalid webhook url"}`, `not json`, `{"errcode":0,"errmsg":"ok"}`}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write([]byte(replies[0]))
		replies = replies[1:]
	}))
	defer srv.Close()
	s := &push.Sender{Client: srv.Client(), WeComBase: srv.URL}
	ch := wecom("g")
	ch.Config.Key = "TOPSECRETKEY"
	it := push.Item{CanteenID: "c1", ViolationType: "no_mask", Severity: push.SeverityMedium, At: time.Now()}
	for i, want := range []string{"errcode 93000", "not the robot's JSON", ""} {
		err := s.Send(ctx, ch, "", 1, it)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Fatalf("%d: Send = %v, want %q", i, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "TOPSECRETKEY") {
			t.Fatalf("error shows the key: %v", err)
		}
	}
}
