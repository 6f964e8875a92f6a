package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/notify"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// robotReq is one request a fake robot received.
type robotReq struct {
	path  string
	query map[string]string
	ctype string
	body  []byte
	at    time.Time
}

// fakeRobot is a 企业微信 and 钉钉 group robot on loopback: it answers
// with the replies queued (status and body), then {"errcode":0,"errmsg":"ok"}.
// For 钉钉 it checks the signature with dingSecret the way 钉钉 does.
type fakeRobot struct {
	dingSecret string
	mu         sync.Mutex
	replies    [][2]string
	// down are paths answered 503.
	down     map[string]bool
	reqs     []robotReq
	badSigns int
	srv      *httptest.Server
}

func newRobot(t testing.TB, dingSecret string, replies ...[2]string) *fakeRobot {
	r := &fakeRobot{dingSecret: dingSecret, replies: replies}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (f *fakeRobot) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	q := map[string]string{}
	for k := range r.URL.Query() {
		q[k] = r.URL.Query().Get(k)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[r.URL.Path] {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "want POST", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/robot/send" && f.dingSecret != "" {
		ts, err := strconv.ParseInt(q["timestamp"], 10, 64)
		mac := hmac.New(sha256.New, []byte(f.dingSecret))
		mac.Write([]byte(q["timestamp"] + "\n" + f.dingSecret))
		// r.URL.Query() has decoded the sign once, as 钉钉 does.
		if err != nil || time.Since(time.UnixMilli(ts)).Abs() > time.Hour ||
			q["sign"] != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			f.badSigns++
			_, _ = w.Write([]byte(`{"errcode":310000,"errmsg":"sign not match"}`))
			return
		}
	}
	f.reqs = append(f.reqs, robotReq{path: r.URL.Path, query: q, ctype: r.Header.Get("Content-Type"), body: body, at: time.Now()})
	if len(f.replies) > 0 {
		rep := f.replies[0]
		f.replies = f.replies[1:]
		st, _ := strconv.Atoi(rep[0])
		w.WriteHeader(st)
		_, _ = w.Write([]byte(rep[1]))
		return
	}
	_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
}

// got returns the requests so far whose query has key=value.
func (f *fakeRobot) got(key, value string) []robotReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []robotReq
	for _, r := range f.reqs {
		if r.query[key] == value {
			out = append(out, r)
		}
	}
	return out
}

// pushWorld is a database with canteen c1 (district xuhui), gateway
// gw-1, and users: op1 and op2 operators of c1, reg1 regulator of xuhui,
// reg2 regulator of haidian.
func pushWorld(t *testing.T, u string) *dbtest.DB {
	t.Helper()
	s := dbtest.Of(storetest.Open(t, u))
	if _, err := s.PutCanteen(ctx, registry.Canteen{ID: "c1", Name: "No. 1 Primary", District: "xuhui", Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddGateway(ctx, "gw-1", "c1"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.User{
		{ID: "op1", Role: auth.RoleOperator, Canteens: []string{"c1"}},
		{ID: "op2", Role: auth.RoleOperator, Canteens: []string{"c1"}},
		{ID: "reg1", Role: auth.RoleRegulator, Districts: []string{"xuhui"}},
		{ID: "reg2", Role: auth.RoleRegulator, Districts: []string{"haidian"}},
	} {
		if _, err := s.AddUser(ctx, u, "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func channel(t *testing.T, s *dbtest.DB, c push.Channel) push.Channel {
	t.Helper()
	c, err := s.Push.PutChannel(ctx, c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func subscribe(t *testing.T, s *dbtest.DB, sub push.Subscription) {
	t.Helper()
	if _, err := s.Push.PutSubscription(ctx, sub, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func startPusher(t *testing.T, s *dbtest.DB, robot *fakeRobot, holder string, backoff func(int) time.Duration, maxTries int) *notify.Pusher {
	t.Helper()
	p := &notify.Pusher{Alarms: s.Alarms, Auth: s.Auth, Push: s.Push, Holder: holder, Every: 50 * time.Millisecond,
		WeComBase: robot.srv.URL, DingTalkBase: robot.srv.URL, Backoff: backoff, MaxTries: maxTries,
		Logger: slog.New(slog.DiscardHandler)}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	// The first poll sets the cursors: what is committed after it is pushed.
	waitPolls(t, p, 1)
	return p
}

func waitPolls(t *testing.T, p *notify.Pusher, n uint64) {
	t.Helper()
	base := p.Polls()
	wait.For(t, 10*time.Second, fmt.Sprintf("%d polls", n), func() bool { return p.Polls() >= base+n })
}

// ingest commits an event of type typ on gw-1 and returns when it did.
func ingest(t *testing.T, s *dbtest.DB, seq uint64, typ string, started time.Time) time.Time {
	t.Helper()
	ev := &wire.Event{V: 1, EventID: fmt.Sprintf("EV%08d", seq), Seq: seq, CameraID: "cam1", Type: typ, Score: 0.9, StartedAt: started}
	if _, err := s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-1", Event: ev}}); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// TestPushAlarmReachesRobots is issue 15's must-show: a camera_occluded
// alarm reaches the canteen's 企业微信 group within 5 s with the exact
// documented JSON, a subscribed regulator's 钉钉 robot with a valid
// signature, and nobody unsubscribed or out of scope.
func TestPushAlarmReachesRobots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		s := pushWorld(t, u)
		robot := newRobot(t, "SECdingsecret")
		group := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "c1 kitchen group", Scope: push.ScopeCanteen, ScopeID: "c1",
			Config: push.Config{Key: "wecom-c1"}})
		subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: group.ID})
		ding := channel(t, s, push.Channel{Kind: push.KindDingTalk, Name: "reg1's robot", Scope: push.ScopeUser, ScopeID: "reg1",
			Config: push.Config{AccessToken: "ding-reg1", Secret: "SECdingsecret"}})
		subscribe(t, s, push.Subscription{UserID: "reg1", ChannelID: ding.ID, Kinds: []string{push.ItemAlarm}, MinSeverity: push.SeverityHigh})
		// op2 has a robot of its own but no subscription: nothing.
		channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "op2's robot", Scope: push.ScopeUser, ScopeID: "op2", Config: push.Config{Key: "wecom-op2"}})
		// reg2 is subscribed, but c1 is not in its district: nothing.
		other := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "reg2's robot", Scope: push.ScopeUser, ScopeID: "reg2", Config: push.Config{Key: "wecom-reg2"}})
		subscribe(t, s, push.Subscription{UserID: "reg2", ChannelID: other.ID})
		// reg1 also tried to subscribe to reg2's own robot: a user channel is its owner's only.
		subscribe(t, s, push.Subscription{UserID: "reg1", ChannelID: other.ID})

		p := startPusher(t, s, robot, "fleet-a", nil, 0)
		committed := ingest(t, s, 1, wire.TypeCameraOccluded, time.Now().Add(-time.Second))
		deadline := committed.Add(5 * time.Second)
		for len(robot.got("key", "wecom-c1")) == 0 || len(robot.got("access_token", "ding-reg1")) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("not pushed within 5 s: wecom %d, dingtalk %d", len(robot.got("key", "wecom-c1")), len(robot.got("access_token", "ding-reg1")))
			}
			time.Sleep(10 * time.Millisecond)
		}
		wc := robot.got("key", "wecom-c1")[0]
		t.Logf("committed → 企业微信 in %v", wc.at.Sub(committed))

		vs, err := s.Violations(ctx, alarms.ViolationFilter{})
		if err != nil || len(vs) != 1 {
			t.Fatalf("violations %v, %v", vs, err)
		}
		v := vs[0]
		at := v.ReceivedAt.In(shanghai(t)).Format("2006-01-02 15:04:05")
		content := "### 明厨亮灶 · 摄像头遮挡\n" +
			"> 食堂：No. 1 Primary\n" +
			"> 区域：xuhui\n" +
			"> 类型：摄像头遮挡 (camera_occluded)\n" +
			"> 级别：高\n" +
			"> 摄像头：cam1\n" +
			"> 网关：gw-1\n" +
			"> 时间：" + at + "\n" +
			"> 告警编号：" + strconv.FormatInt(v.ID, 10) + "\n" +
			"\n" +
			"Alarm " + strconv.FormatInt(v.ID, 10) + ": camera_occluded on camera cam1 (score 0.90)"
		wantWeCom := `{"msgtype":"markdown","markdown":{"content":` + jsonStr(content) + `}}`
		if wc.path != "/cgi-bin/webhook/send" || wc.ctype != "application/json" || string(wc.body) != wantWeCom {
			t.Fatalf("企业微信 got %s %q\n%s\nwant\n%s", wc.path, wc.ctype, wc.body, wantWeCom)
		}
		dt := robot.got("access_token", "ding-reg1")[0]
		wantDing := `{"msgtype":"markdown","markdown":{"title":"明厨亮灶 · 摄像头遮挡","text":` + jsonStr(content) + `}}`
		if dt.path != "/robot/send" || string(dt.body) != wantDing {
			t.Fatalf("钉钉 got %s\n%s\nwant\n%s", dt.path, dt.body, wantDing)
		}
		// A low-severity alarm passes op1's filter but not reg1's.
		ingest(t, s, 2, wire.TypeCameraDark, time.Now())
		wait.For(t, 5*time.Second, "the second push", func() bool { return len(robot.got("key", "wecom-c1")) == 2 })
		waitPolls(t, p, 3)
		if n := len(robot.got("access_token", "ding-reg1")); n != 1 {
			t.Errorf("reg1 (min severity high) got %d pushes, want 1", n)
		}
		for _, key := range []string{"wecom-op2", "wecom-reg2"} {
			if n := len(robot.got("key", key)); n != 0 {
				t.Errorf("%s got %d pushes, want none", key, n)
			}
		}
		if robot.badSigns != 0 {
			t.Errorf("%d requests with a bad 钉钉 signature", robot.badSigns)
		}
		log, err := s.Push.Deliveries(ctx, push.DeliveryFilter{})
		if err != nil || len(log) != 3 {
			t.Fatalf("delivery log %d rows, %v; want 3", len(log), err)
		}
		for _, d := range log {
			if d.State != push.StateSent || d.Tries != 1 {
				t.Errorf("delivery %+v", d)
			}
		}
	})
}

// TestPushRetriesFailures: a receiver answering 500 or an errcode is
// retried with backoff until it takes the message, and the delivery log
// shows the tries and the last error; one that never does is given up.
func TestPushRetriesFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		s := pushWorld(t, u)
		robot := newRobot(t, "", [2]string{"500", "busy"}, [2]string{"200", `{"errcode":45009,"errmsg":"api freq out of limit"}`})
		ok := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "flaky", Scope: push.ScopeCanteen, ScopeID: "c1", Config: push.Config{Key: "flaky"}})
		subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: ok.ID})
		dead := channel(t, s, push.Channel{Kind: push.KindWebhook, Name: "dead", Scope: push.ScopeCanteen, ScopeID: "c1",
			Config: push.Config{URL: robot.srv.URL + "/dead"}})
		subscribe(t, s, push.Subscription{UserID: "op2", ChannelID: dead.ID})
		robot.mu.Lock()
		robot.down = map[string]bool{"/dead": true}
		robot.mu.Unlock()

		var mu sync.Mutex
		var waits []int
		backoff := func(tries int) time.Duration {
			mu.Lock()
			waits = append(waits, tries)
			mu.Unlock()
			return 20 * time.Millisecond
		}
		startPusher(t, s, robot, "fleet-a", backoff, 3)
		ingest(t, s, 1, "no_chef_hat", time.Now())
		wait.For(t, 10*time.Second, "the flaky robot to take it", func() bool {
			log, _ := s.Push.Deliveries(ctx, push.DeliveryFilter{State: push.StateSent})
			return len(log) == 1
		})
		wait.For(t, 10*time.Second, "the dead webhook to be given up", func() bool {
			log, _ := s.Push.Deliveries(ctx, push.DeliveryFilter{State: push.StateFailed})
			return len(log) == 1
		})
		if n := len(robot.got("key", "flaky")); n != 3 {
			t.Errorf("the flaky robot was tried %d times, want 3", n)
		}
		log, _ := s.Push.Deliveries(ctx, push.DeliveryFilter{Canteens: []string{"c1"}})
		for _, d := range log {
			switch d.ChannelID {
			case ok.ID:
				if d.State != push.StateSent || d.Tries != 3 || d.LastError != "" || d.SentAt.IsZero() {
					t.Errorf("flaky delivery %+v", d)
				}
			case dead.ID:
				if d.State != push.StateFailed || d.Tries != 3 || !strings.Contains(d.LastError, "HTTP 503") {
					t.Errorf("dead delivery %+v", d)
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(waits) < 3 {
			t.Errorf("backoff asked %v, want at least the tries 0, 1 of each", waits)
		}
	})
}

// TestPushOnceAcrossFleetsAndRestarts: two fleets on one database, one
// restarted halfway: each alarm reaches the group once.
func TestPushOnceAcrossFleetsAndRestarts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		s := pushWorld(t, u)
		robot := newRobot(t, "")
		group := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "group", Scope: push.ScopeAll, Config: push.Config{Key: "g"}})
		subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: group.ID})
		subscribe(t, s, push.Subscription{UserID: "reg1", ChannelID: group.ID}) // two users, one group: one message
		a := startPusher(t, s, robot, "fleet-a", nil, 0)
		b := startPusher(t, s, robot, "fleet-b", nil, 0)
		for i := range 4 {
			ingest(t, s, uint64(i+1), "no_mask", time.Now())
		}
		wait.For(t, 10*time.Second, "4 pushes", func() bool { return len(robot.got("key", "g")) >= 4 })
		a.Close()
		a2 := startPusher(t, s, robot, "fleet-a", nil, 0)
		for i := 4; i < 8; i++ {
			ingest(t, s, uint64(i+1), "no_mask", time.Now())
		}
		wait.For(t, 10*time.Second, "8 pushes", func() bool { return len(robot.got("key", "g")) >= 8 })
		waitPolls(t, a2, 3)
		waitPolls(t, b, 3)
		if n := len(robot.got("key", "g")); n != 8 {
			t.Fatalf("the group got %d pushes for 8 alarms", n)
		}
	})
}

// TestPushDueSoon: an alarm whose review falls due within the warning
// time is pushed once as due soon, to a subscriber of that kind only.
func TestPushDueSoon(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		s := pushWorld(t, u)
		robot := newRobot(t, "")
		ch := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "reg1", Scope: push.ScopeUser, ScopeID: "reg1",
			Config: push.Config{Key: "due", Format: "text"}})
		subscribe(t, s, push.Subscription{UserID: "reg1", ChannelID: ch.ID, Kinds: []string{push.ItemDueSoon}})
		p := &notify.Pusher{Alarms: s.Alarms, Auth: s.Auth, Push: s.Push, Every: 50 * time.Millisecond, DueSoonEvery: 50 * time.Millisecond,
			WeComBase: robot.srv.URL, Logger: slog.New(slog.DiscardHandler)}
		// Committed before the pusher starts: the alarm itself is the past,
		// its coming deadline is news.
		ingest(t, s, 1, "smoking", time.Now().Add(-23*time.Hour))
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		wait.For(t, 10*time.Second, "the due-soon push", func() bool { return len(robot.got("key", "due")) == 1 })
		waitPolls(t, p, 5)
		got := robot.got("key", "due")
		if len(got) != 1 {
			t.Fatalf("%d pushes, want 1", len(got))
		}
		var m struct {
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		if err := json.Unmarshal(got[0].body, &m); err != nil || m.MsgType != "text" || !strings.Contains(m.Text.Content, "告警即将逾期未审核") {
			t.Fatalf("body %s (%v)", got[0].body, err)
		}
	})
}

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	// The pusher does not escape <, > and & (SetEscapeHTML(false)).
	r := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	return r.Replace(string(b))
}

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestPushSlowRobotHoldsNoOther: a robot that does not answer holds one
// sender, not the loop: another channel's push of the same alarm, and of
// the next, arrive meanwhile.
func TestPushSlowRobotHoldsNoOther(t *testing.T) {
	s := pushWorld(t, filepath.Join(t.TempDir(), "fleet.db"))
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	defer slow.Close()
	defer close(release)
	fast := newRobot(t, "")
	stuck := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "stuck", Scope: push.ScopeAll, Config: push.Config{Key: "stuck", BaseURL: slow.URL}})
	quick := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "quick", Scope: push.ScopeAll, Config: push.Config{Key: "quick"}})
	subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: stuck.ID})
	subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: quick.ID})
	startPusher(t, s, fast, "fleet-a", nil, 0)
	for i := range 2 {
		committed := ingest(t, s, uint64(i+1), "smoking", time.Now())
		wait.For(t, 5*time.Second, "the quick robot", func() bool { return len(fast.got("key", "quick")) == i+1 })
		if d := time.Since(committed); d > 2*time.Second {
			t.Errorf("alarm %d reached the quick robot after %v with the other stuck", i+1, d)
		}
	}
}

// TestPushLateCommit: an alarm whose id is below the cursor (on
// PostgreSQL, an id handed out before another's but committed after it)
// is still pushed, once, by the look back below the cursors.
func TestPushLateCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		s := pushWorld(t, u)
		robot := newRobot(t, "")
		ch := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "g", Scope: push.ScopeAll, Config: push.Config{Key: "late"}})
		subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: ch.ID})
		ingest(t, s, 1, "no_mask", time.Now())
		ev, no, err := s.LastIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Another fleet's cursors are already past it.
		if err := s.Push.AdvanceCursor(ctx, "alarms", ev+5); err != nil {
			t.Fatal(err)
		}
		if err := s.Push.AdvanceCursor(ctx, "notices", no); err != nil {
			t.Fatal(err)
		}
		p := startPusher(t, s, robot, "fleet-a", nil, 0)
		wait.For(t, 5*time.Second, "the late alarm", func() bool { return len(robot.got("key", "late")) == 1 })
		waitPolls(t, p, 30) // 1.5 s of 50 ms polls: the look back (once a second) again
		if n := len(robot.got("key", "late")); n != 1 {
			t.Errorf("the late alarm was pushed %d times", n)
		}
	})
}

// TestPushSMSTemplate: an SMS gateway described by a template gets one
// request per subscribed phone, the placeholders escaped, the header
// sent; a reply without the success string is a failure retried.
func TestPushSMSTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		s := pushWorld(t, u)
		var mu sync.Mutex
		got := map[string][]string{} // phone → messages
		tries := 0
		gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m struct{ Msg string }
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			mu.Lock()
			defer mu.Unlock()
			tries++
			if r.Header.Get("Authorization") != "Bearer sms-api-key" || json.Unmarshal(body, &m) != nil {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			if tries == 1 {
				_, _ = w.Write([]byte(`{"code":"LIMIT"}`))
				return
			}
			got[r.URL.Query().Get("to")] = append(got[r.URL.Query().Get("to")], m.Msg)
			_, _ = w.Write([]byte(`{"code":"OK"}`))
		}))
		defer gw.Close()
		ch := channel(t, s, push.Channel{Kind: push.KindSMS, Name: "sms", Scope: push.ScopeCanteen, ScopeID: "c1", Config: push.Config{
			URL: gw.URL + "/send?to={{phone}}", Headers: map[string]string{"Authorization": "Bearer sms-api-key"},
			Body: `{"msg":"{{text}}"}`, SuccessContains: `"code":"OK"`}})
		subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: ch.ID, Phone: "+8613800001111"})
		subscribe(t, s, push.Subscription{UserID: "op2", ChannelID: ch.ID, Phone: "13900002222"})
		startPusher(t, s, newRobot(t, ""), "fleet-a", func(int) time.Duration { return 20 * time.Millisecond }, 0)
		ingest(t, s, 1, "rodent", time.Now())
		wait.For(t, 10*time.Second, "both phones", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got["+8613800001111"]) == 1 && len(got["13900002222"]) == 1
		})
		mu.Lock()
		msg := got["13900002222"][0]
		mu.Unlock()
		if !strings.HasPrefix(msg, "【明厨亮灶】No. 1 Primary：鼠患，") {
			t.Errorf("SMS text %q", msg)
		}
		// The gateway's reply reaches the test before the pusher records
		// it: wait for the log to show both sent.
		var log []push.Delivery
		total := 0
		wait.For(t, 10*time.Second, "both deliveries recorded as sent", func() bool {
			log, _ = s.Push.Deliveries(ctx, push.DeliveryFilter{})
			total = 0
			sent := 0
			for _, d := range log {
				total += d.Tries
				if d.State == push.StateSent {
					sent++
				}
			}
			return sent == 2
		})
		if len(log) != 2 || total != 3 {
			t.Errorf("%d deliveries with %d tries, want 2 with 3 (one retried)", len(log), total)
		}
	})
}

// TestPushGatewayOffline: a gateway offline past its grace (the
// Notifier's FlagGateways makes the notice) is pushed as kind offline to
// whom subscribed to it, and not to whom took alarms only.
func TestPushGatewayOffline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, u string) {
		s := pushWorld(t, u)
		robot := newRobot(t, "")
		off := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "offline", Scope: push.ScopeCanteen, ScopeID: "c1", Config: push.Config{Key: "off"}})
		al := channel(t, s, push.Channel{Kind: push.KindWeCom, Name: "alarms", Scope: push.ScopeCanteen, ScopeID: "c1", Config: push.Config{Key: "al"}})
		subscribe(t, s, push.Subscription{UserID: "op1", ChannelID: off.ID, Kinds: []string{push.ItemOffline}})
		subscribe(t, s, push.Subscription{UserID: "op2", ChannelID: al.ID, Kinds: []string{push.ItemAlarm}})
		now := time.Now()
		for i, online := range []bool{true, false} {
			if err := s.GatewayState(ctx, "gw-1", wire.State{V: wire.Version, Online: online, Session: 1, StartedAt: now.Add(-time.Hour)},
				now.Add(time.Duration(i-20)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		p := startPusher(t, s, robot, "fleet-a", nil, 0)
		if raised, _, err := s.FlagGateways(ctx, alarms.GatewayThresholds{OfflineGrace: 10 * time.Minute}, now); err != nil || raised != 1 {
			t.Fatalf("FlagGateways = %d, %v", raised, err)
		}
		wait.For(t, 5*time.Second, "the offline push", func() bool { return len(robot.got("key", "off")) == 1 })
		waitPolls(t, p, 3)
		if n := len(robot.got("key", "al")); n != 0 {
			t.Errorf("the alarms-only channel got %d pushes", n)
		}
		if b := string(robot.got("key", "off")[0].body); !strings.Contains(b, "网关离线") || !strings.Contains(b, "Gateway gw-1 offline") {
			t.Errorf("offline push %s", b)
		}
	})
}
