package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

const durabilityEvents = 3000

// killPlan says what the durability run kills with SIGKILL mid-stream.
type killPlan struct {
	fleet   bool // the fleet (and with it the embedded broker)
	gateway bool
	broker  bool // the external Mosquitto
}

// runDurability pushes durabilityEvents synthetic events through a real
// gateway's spool to a real fleet, kills what the plan says mid-stream,
// restarts it, and checks that the fleet ends with every event exactly once,
// in per-gateway seq order.
func runDurability(t *testing.T, mosq *mosquitto, plan killPlan) {
	brokerURL := ""
	if mosq != nil {
		brokerURL = "tcp://" + mosq.addr
	}
	f := newFleet(t, brokerURL)
	f.start()
	user, pass := f.addGateway("gw-dur", "canteen-1")
	gwBroker := "tcp://" + f.mqtt
	if mosq != nil {
		gwBroker = "tcp://" + mosq.addr
	}
	gwHTTP := freePort(t)
	cfg := writeGatewayConfig(t, gatewayConfig{
		ID: "gw-dur", Broker: gwBroker, User: user, Pass: pass,
		Spool: filepath.Join(t.TempDir(), "spool.db"), HTTP: gwHTTP,
		SyntheticTotal: durabilityEvents, SyntheticRate: 1000,
	})
	gw := startProc(t, "gateway-1", nil, "bk-gateway", "run", "--config", cfg)

	// stored counts them, at most twice a second: each count lists
	// thousands of events through a race-built fleet, and the waits
	// below would otherwise ask ten times a second.
	var asked time.Time
	n := -1
	stored := func() int {
		if time.Since(asked) < 500*time.Millisecond {
			return n
		}
		asked = time.Now()
		vs, err := f.violations("gateway_id=gw-dur&type=synthetic&limit=10000")
		if n = len(vs); err != nil {
			n = -1
		}
		return n
	}
	// Let a part of the stream through, then kill mid-stream.
	wait.For(t, 30*time.Second, "first events at the fleet", func() bool { return stored() >= 500 })
	if plan.fleet {
		f.p.kill()
		time.Sleep(500 * time.Millisecond)
		f.start()
	}
	if plan.broker {
		mosq.kill()
		time.Sleep(500 * time.Millisecond)
		mosq.start(t)
	}
	wait.For(t, 30*time.Second, "more events at the fleet", func() bool { return stored() >= 1500 })
	if plan.gateway {
		gw.kill()
		time.Sleep(300 * time.Millisecond)
		startProc(t, "gateway-2", nil, "bk-gateway", "run", "--config", cfg)
	}
	wait.For(t, 90*time.Second, fmt.Sprintf("%d events at the fleet", durabilityEvents), func() bool {
		return stored() >= durabilityEvents
	})
	// Give any duplicate a moment to arrive, then count exactly.
	time.Sleep(time.Second)
	vs, err := f.violations("gateway_id=gw-dur&type=synthetic&limit=10000")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != durabilityEvents {
		t.Fatalf("fleet stored %d synthetic events, want exactly %d", len(vs), durabilityEvents)
	}
	ids := map[string]bool{}
	slices.SortFunc(vs, func(a, b apiViolation) int { return int(a.Seq) - int(b.Seq) })
	for i, v := range vs {
		if ids[v.EventID] {
			t.Fatalf("event %s stored twice", v.EventID)
		}
		ids[v.EventID] = true
		// Ordered by seq, the events are in the order they were generated.
		if want := fmt.Sprintf("syn-%08d", i+1); v.EventID != want {
			t.Fatalf("event #%d by seq is %s (seq %d), want %s", i+1, v.EventID, v.Seq, want)
		}
	}
	// The gateway's spool drains completely once the fleet has acked it all.
	wait.For(t, 30*time.Second, "gateway spool drained", func() bool {
		st, err := getGatewayStatus(gwHTTP)
		return err == nil && st.Spool.Depth == 0
	})
	t.Logf("fleet stored %d events exactly once (fleet kill %v, gateway kill %v, broker kill %v)",
		len(vs), plan.fleet, plan.gateway, plan.broker)
}

func TestDurabilityEmbeddedBroker(t *testing.T) {
	parallelBusy(t) // 3,000 events through race-built binaries take a core
	runDurability(t, nil, killPlan{fleet: true, gateway: true})
}

func TestDurabilityMosquitto(t *testing.T) {
	parallelBusy(t)
	m := newMosquitto(t)
	m.start(t)
	runDurability(t, m, killPlan{fleet: true, gateway: true, broker: true})
}

// mosquitto is a real Mosquitto broker on a random loopback port, with a
// config the test writes.
type mosquitto struct {
	bin        string
	addr, conf string
	p          *proc
	n          int
}

func newMosquitto(t *testing.T) *mosquitto {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/mosquitto"); err2 != nil {
			t.Fatal("mosquitto is not installed (scripts/deps.sh installs it)")
		}
		bin = "/usr/sbin/mosquitto"
	}
	m := &mosquitto{bin: bin, addr: freePort(t)}
	_, port, _ := splitHostPort(m.addr)
	dir := t.TempDir()
	m.conf = filepath.Join(dir, "mosquitto.conf")
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\nmax_queued_messages 100000\nlog_dest stderr\nlog_type error\nlog_type warning\n", port)
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *mosquitto) start(t *testing.T) {
	m.n++
	m.p = startAbs(t, fmt.Sprintf("mosquitto-%d", m.n), m.bin, "-c", m.conf)
	wait.For(t, 10*time.Second, "mosquitto listening", func() bool { return dialOK(m.addr) })
}

func (m *mosquitto) kill() { m.p.kill() }
