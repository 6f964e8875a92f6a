package notify_test

import (
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
	"github.com/brightkitchen/brightkitchen/fleet/dbtest"
	"github.com/brightkitchen/brightkitchen/fleet/notify"
	"github.com/brightkitchen/brightkitchen/fleet/push"
	"github.com/brightkitchen/brightkitchen/fleet/registry"
	"github.com/brightkitchen/brightkitchen/fleet/store/storetest"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// BenchmarkPushLatency measures an alarm committed (registry.Ingest, then
// the pusher woken as ingest's Committed hook wakes it in the fleet) →
// the push taken by a 企业微信 robot on loopback, one alarm at a time,
// 100 alarms per run, with the default settings (poll every second,
// woken on commit). Per backend: SQLite, and PostgreSQL when
// BK_TEST_POSTGRES_URL is set.
func BenchmarkPushLatency(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			for range b.N {
				benchPush(b, be)
			}
		})
	}
}

func benchPush(b *testing.B, be storetest.Backend) {
	b.StopTimer()
	s := dbtest.Of(storetest.Open(b, be.Fresh(b)))
	robot := newRobot(b, "")
	srv := robot.srv
	if _, err := s.PutCanteen(ctx, registry.Canteen{ID: "c1", Name: "No. 1 Primary", District: "xuhui", Active: true}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := s.AddGateway(ctx, "gw-1", "c1"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddUser(ctx, auth.User{ID: "op1", Role: auth.RoleOperator, Canteens: []string{"c1"}}, "correct horse battery staple"); err != nil {
		b.Fatal(err)
	}
	ch, err := s.Push.PutChannel(ctx, push.Channel{Kind: push.KindWeCom, Name: "group", Scope: push.ScopeCanteen, ScopeID: "c1",
		Config: push.Config{Key: "bench"}}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Push.PutSubscription(ctx, push.Subscription{UserID: "op1", ChannelID: ch.ID}, time.Now()); err != nil {
		b.Fatal(err)
	}
	p := &notify.Pusher{Alarms: s.Alarms, Auth: s.Auth, Push: s.Push, WeComBase: srv.URL, Logger: slog.New(slog.DiscardHandler)}
	if err := p.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for p.Polls() < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	const n = 100
	lat := make([]float64, 0, n)
	b.StartTimer()
	for i := range n {
		ev := &wire.Event{V: 1, EventID: "EV" + strconv.Itoa(i), Seq: uint64(i + 1), CameraID: "cam1", Type: "no_chef_hat", Score: 0.9, StartedAt: time.Now()}
		if _, err := s.Ingest(ctx, []registry.IngestItem{{GatewayID: "gw-1", Event: ev}}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		p.Kick()
		deadline := committed.Add(10 * time.Second)
		for len(robot.got("key", "bench")) < i+1 {
			if time.Now().After(deadline) {
				b.Fatalf("alarm %d not pushed within 10 s", i)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, float64(robot.got("key", "bench")[i].at.Sub(committed).Microseconds())/1000)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
	b.ReportMetric(0, "ns/op")
}
