package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

	"go.uber.org/goleak"

	"github.com/brightkitchen/brightkitchen/fleet/alarms"
	"github.com/brightkitchen/brightkitchen/fleet/auth/authtest"
	"github.com/brightkitchen/brightkitchen/fleet/coverage"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/notify"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

func TestMain(m *testing.M) {
	authtest.CheapHashes() // the push tests add users
	goleak.VerifyTestMain(m)
}

var ctx = context.Background()

const secret = "s3cret"

// newStore opens a store with canteen c1, gateway gw-1 and one alarm,
// whose id it returns.
func newStore(t *testing.T, wf alarms.Workflow) (*dbtest.DB, int64) {
	t.Helper()
	s, err := dbtest.Open(ctx, filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Workflow = wf
	if _, err := s.PutCanteen(ctx, registry.Canteen{ID: "c1", Name: "No. 1 Primary", District: "xuhui", Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddGateway(ctx, "gw-1", "c1"); err != nil {
		t.Fatal(err)
	}
	ev := &wire.Event{V: 1, EventID: "EV1", Seq: 1, CameraID: "cam1", Type: "no_mask", Score: 0.9, StartedAt: time.Now().Add(-2 * time.Hour)}
	if _, err := s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-1", Event: ev}}); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Violations(ctx, alarms.ViolationFilter{})
	if err != nil || len(vs) != 1 {
		t.Fatalf("Violations = %v, %v", vs, err)
	}
	return s, vs[0].ID
}

// receiver is a webhook that checks each request and answers with the
// statuses queued (then 200).
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	statuses []int
	got      []notify.Payload
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{t: t, statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("read body: %v", err)
		return
	}
	if err := notify.Verify(secret, req.Header.Get("X-BK-Signature"), req.Header.Get("X-BK-Timestamp"), body, time.Now(), 0); err != nil {
		r.t.Errorf("X-BK-Signature %q, X-BK-Timestamp %q: %v", req.Header.Get("X-BK-Signature"), req.Header.Get("X-BK-Timestamp"), err)
	}
	var p notify.Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		r.t.Errorf("body %s: %v", body, err)
	}
	if d := req.Header.Get("X-BK-Delivery"); d != strconv.FormatInt(p.ID, 10) {
		r.t.Errorf("X-BK-Delivery %q for notice %d", d, p.ID)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("%s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	}
	r.mu.Lock()
	r.got = append(r.got, p)
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) deliveries() []notify.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Payload(nil), r.got...)
}

func start(t *testing.T, n *notify.Notifier) {
	t.Helper()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
}

func pending(t *testing.T, s *dbtest.DB) int {
	t.Helper()
	ns, err := s.PendingWebhooks(ctx, time.Now().Add(48*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(ns)
}

// syncBuffer is a log sink for several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestDeliverSigned(t *testing.T) {
	s, id := newStore(t, alarms.Workflow{Webhook: true})
	v, err := s.Review(ctx, id, "reg-1", coverage.VerdictConfirmed, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	start(t, &notify.Notifier{Alarms: s.Alarms, URL: rcv.srv.URL, Secret: secret, Every: 10 * time.Millisecond})
	wait.For(t, 10*time.Second, "the delivery", func() bool { return len(rcv.deliveries()) == 1 })
	wait.For(t, 10*time.Second, "the notice marked sent", func() bool { return pending(t, s) == 0 })
	p := rcv.deliveries()[0]
	ns, _ := s.Notices(ctx, alarms.NoticeFilter{})
	if p.ID != ns[0].ID || p.Kind != alarms.NoticeConfirmed || p.CanteenID != "c1" || p.CanteenName != "No. 1 Primary" ||
		p.ViolationID != id || p.ViolationType != "no_mask" || !p.DueAt.Equal(v.RectifyDue) || !p.At.Equal(ns[0].At) ||
		p.Text != ns[0].Text || !strings.Contains(p.Text, "confirmed: rectify by") {
		t.Fatalf("payload %+v; notice %+v", p, ns[0])
	}
}

func TestRetryAfterFailure(t *testing.T) {
	s, id := newStore(t, alarms.Workflow{Webhook: true})
	if _, err := s.Review(ctx, id, "reg-1", coverage.VerdictConfirmed, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, http.StatusInternalServerError)
	var mu sync.Mutex
	var waits []int
	start(t, &notify.Notifier{Alarms: s.Alarms, URL: rcv.srv.URL, Secret: secret, Every: 10 * time.Millisecond,
		Backoff: func(tries int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, tries)
			return 50 * time.Millisecond
		}})
	wait.For(t, 10*time.Second, "the notice marked sent", func() bool { return len(rcv.deliveries()) == 2 && pending(t, s) == 0 })
	got := rcv.deliveries()
	if got[0].ID != got[1].ID {
		t.Fatalf("retried another notice: %+v", got)
	}
	ns, _ := s.Notices(ctx, alarms.NoticeFilter{})
	mu.Lock()
	defer mu.Unlock()
	if ns[0].WebhookTries != 1 || len(waits) != 1 || waits[0] != 0 {
		t.Fatalf("tries %d, backoffs asked for %v", ns[0].WebhookTries, waits)
	}
}

func TestGiveUp(t *testing.T) {
	s, id := newStore(t, alarms.Workflow{Webhook: true})
	if _, err := s.Review(ctx, id, "reg-1", coverage.VerdictConfirmed, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	fail := make([]int, 100)
	for i := range fail {
		fail[i] = http.StatusServiceUnavailable
	}
	rcv := newReceiver(t, fail...)
	logs := &syncBuffer{}
	n := &notify.Notifier{Alarms: s.Alarms, URL: rcv.srv.URL, Secret: secret, Every: 5 * time.Millisecond,
		Backoff: func(int) time.Duration { return 0 }, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	start(t, n)
	wait.For(t, 10*time.Second, "the give-up", func() bool { return pending(t, s) == 0 })
	polls := n.Polls()
	wait.For(t, 10*time.Second, "20 more polls", func() bool { return n.Polls() >= polls+20 }) // none may deliver
	if k := len(rcv.deliveries()); k != notify.DefaultMaxTries {
		t.Fatalf("%d deliveries; want %d", k, notify.DefaultMaxTries)
	}
	if k := strings.Count(logs.String(), "giving up"); k != 1 {
		t.Fatalf("give-up logged %d times:\n%s", k, logs)
	}
	if !strings.Contains(logs.String(), "HTTP 503") {
		t.Fatalf("give-up without the reason:\n%s", logs)
	}
}

func TestOverdue(t *testing.T) {
	for _, webhook := range []bool{true, false} {
		t.Run("webhook="+strconv.FormatBool(webhook), func(t *testing.T) {
			s, id := newStore(t, alarms.Workflow{Webhook: true, RectifyDeadline: time.Hour})
			// Confirmed 90 min ago: rectification due 30 min ago.
			if _, err := s.Review(ctx, id, "reg-1", coverage.VerdictConfirmed, "", time.Now().Add(-90*time.Minute)); err != nil {
				t.Fatal(err)
			}
			n := &notify.Notifier{Alarms: s.Alarms, Secret: secret, Every: 10 * time.Millisecond}
			var rcv *receiver
			if webhook {
				rcv = newReceiver(t)
				n.URL = rcv.srv.URL
			}
			start(t, n)
			wait.For(t, 10*time.Second, "the overdue notice", func() bool {
				ns, err := s.Notices(ctx, alarms.NoticeFilter{})
				return err == nil && len(ns) == 2 && ns[0].Kind == alarms.NoticeRectificationOverdue
			})
			if !webhook {
				if k := pending(t, s); k != 2 {
					t.Fatalf("%d pending without a webhook URL; want 2 kept", k)
				}
				return
			}
			wait.For(t, 10*time.Second, "both delivered", func() bool { return pending(t, s) == 0 })
			var kinds []string
			for _, p := range rcv.deliveries() {
				kinds = append(kinds, p.Kind)
			}
			if strings.Join(kinds, ",") != alarms.NoticeConfirmed+","+alarms.NoticeRectificationOverdue {
				t.Fatalf("delivered %v", kinds)
			}
		})
	}
}

func TestStartChecks(t *testing.T) {
	s, _ := newStore(t, alarms.Workflow{})
	for _, c := range []struct {
		name string
		n    *notify.Notifier
		want string
	}{
		{"no alarms", &notify.Notifier{}, "alarms"},
		{"bad url", &notify.Notifier{Alarms: s.Alarms, URL: "ftp://example.com/hook?token=x"}, "url"},
		{"negative every", &notify.Notifier{Alarms: s.Alarms, Every: -time.Second}, "every"},
		{"negative max tries", &notify.Notifier{Alarms: s.Alarms, MaxTries: -1}, "max_tries"},
	} {
		err := c.n.Start(ctx)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "token=x") {
			t.Errorf("%s: %v; want an error naming %s", c.name, err, c.want)
		}
	}
	n := &notify.Notifier{Alarms: s.Alarms}
	if err := n.Close(); err != nil {
		t.Fatalf("Close before Start: %v", err)
	}
	start(t, n)
	if err := n.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultBackoff(t *testing.T) {
	for _, c := range []struct {
		tries int
		want  time.Duration
	}{{0, 10 * time.Second}, {1, 20 * time.Second}, {5, 320 * time.Second}, {8, 2560 * time.Second}, {9, time.Hour}, {11, time.Hour}, {100, time.Hour}} {
		if got := notify.DefaultBackoff(c.tries); got != c.want {
			t.Errorf("DefaultBackoff(%d) = %v; want %v", c.tries, got, c.want)
		}
	}
}

// TestSignatureCoversTimestamp: the signature is over "timestamp.body", so
// a captured delivery replayed with a fresh timestamp, or replayed late
// with its own, is refused.
func TestSignatureCoversTimestamp(t *testing.T) {
	body := []byte(`{"id":1}`)
	sent := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(sent.Unix(), 10)
	sig := notify.Sign(secret, sent.Unix(), body)
	if sig != "sha256="+hmacHex(secret, ts+"."+string(body)) {
		t.Fatalf("Sign = %q: not the HMAC of timestamp.body", sig)
	}
	if err := notify.Verify(secret, sig, ts, body, sent.Add(time.Minute), 0); err != nil {
		t.Fatalf("fresh delivery: %v", err)
	}
	for name, c := range map[string]struct {
		sig, ts string
		body    []byte
		now     time.Time
		want    error
	}{
		"replayed late":       {sig, ts, body, sent.Add(10 * time.Minute), notify.ErrStale},
		"from the future":     {sig, ts, body, sent.Add(-10 * time.Minute), notify.ErrStale},
		"timestamp refreshed": {sig, strconv.FormatInt(sent.Unix()+600, 10), body, sent.Add(10 * time.Minute), notify.ErrBadSignature},
		"body changed":        {sig, ts, []byte(`{"id":2}`), sent, notify.ErrBadSignature},
		"no timestamp":        {sig, "", body, sent, notify.ErrBadSignature},
		"wrong secret":        {notify.Sign("other", sent.Unix(), body), ts, body, sent, notify.ErrBadSignature},
	} {
		if err := notify.Verify(secret, c.sig, c.ts, c.body, c.now, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", name, err, c.want)
		}
	}
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
