package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/rules"
	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// systemdSocket stands in for systemd: a unixgram socket in a short
// directory (a socket path has at most 108 bytes), named in NOTIFY_SOCKET
// with WATCHDOG_USEC for this process.
func systemdSocket(t *testing.T, watchdog time.Duration) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "bksd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", fmt.Sprint(watchdog.Microseconds()))
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
	return c
}

// next is the next notification, "" if none comes within d.
func next(t *testing.T, c *net.UnixConn, d time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	n, _, err := c.ReadFromUnix(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return ""
		}
		t.Fatal(err)
	}
	return string(buf[:n])
}

// waitFor reads notifications until one contains want.
func waitFor(t *testing.T, c *net.UnixConn, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var seen []string
	for time.Now().Before(deadline) {
		if m := next(t, c, time.Until(deadline)); strings.Contains(m, want) {
			return
		} else if m != "" {
			seen = append(seen, m)
		}
	}
	t.Fatalf("no %q within %v; got %q", want, limit, seen)
}

// The gateway tells systemd it is ready, pings its watchdog from the main
// loop at half of WATCHDOG_USEC, stops pinging while that loop is stuck
// (here on the core's lock, as a deadlock would hold it), pings again once
// it moves, and says it is stopping.
func TestSystemdNotify(t *testing.T) {
	sock := systemdSocket(t, 200*time.Millisecond)
	g, _ := newTestGateway(t, t.TempDir(), "uplink: {offline_grace: 100ms}\n")

	// Booting until the offline grace (100 ms) has passed, then no
	// fleet; a slow start may already be past the grace at READY.
	m := next(t, sock, 5*time.Second)
	switch {
	case strings.HasPrefix(m, "READY=1\nSTATUS=booting: fleet unreachable, 0/0 cameras online"):
		waitFor(t, sock, "STATUS=no fleet: fleet unreachable", 5*time.Second)
	case strings.HasPrefix(m, "READY=1\nSTATUS=no fleet: fleet unreachable, 0/0 cameras online"):
	default:
		t.Fatalf("first notification %q, want READY=1 with the status", m)
	}
	start := time.Now()
	for range 5 {
		waitFor(t, sock, "WATCHDOG=1", 2*time.Second)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("5 pings took %v, want one about every 100ms", d)
	}

	g.mu.Lock() // the main loop sticks on it
	time.Sleep(300 * time.Millisecond)
	for next(t, sock, 10*time.Millisecond) != "" { // what was sent before it stuck
	}
	if m := next(t, sock, 600*time.Millisecond); m != "" {
		t.Errorf("stuck main loop, still notified %q", m)
	}
	if err := g.healthy(); err == nil || !strings.Contains(err.Error(), "main loop stuck") {
		t.Errorf("healthy() = %v while the loop is stuck", err)
	}
	g.mu.Unlock()
	waitFor(t, sock, "WATCHDOG=1", 2*time.Second)
	if err := g.healthy(); err != nil {
		t.Errorf("healthy() = %v once the loop moves", err)
	}

	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sock, "STOPPING=1", 2*time.Second)
}

// fakeLED is an LED-class directory with the timer trigger.
func fakeLED(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, body := range map[string]string{"brightness": "0", "max_brightness": "1",
		"trigger": "none [mmc0] timer heartbeat", "delay_on": "500", "delay_off": "500"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// boardConfig is a board section on a fake watchdog (a regular file that
// collects the kicks) and fake LEDs.
func boardConfig(t *testing.T, grace time.Duration) (extra, dog, led, buzzer string) {
	dog = filepath.Join(t.TempDir(), "watchdog")
	if err := os.WriteFile(dog, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	led, buzzer = fakeLED(t, "status"), fakeLED(t, "beeper")
	extra = fmt.Sprintf("uplink: {offline_grace: 200ms}\nboard:\n  watchdog: {device: %s, timeout: 1s, grace: %v}\n"+
		"  status_led: %s\n  buzzer: {device: %s, min_gap: 1h}\n", dog, grace, led, buzzer)
	return extra, dog, led, buzzer
}

// With a board section the LED goes from booting to no fleet (the broker
// is unreachable), an alarm sounds the buzzer once per gap, the watchdog is
// fed while the main loop runs and no longer once it has been stuck past
// the grace, and then stays armed when the gateway stops.
func TestBoard(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	extra, dog, led, buzzer := boardConfig(t, 0)
	g, _ := newTestGateway(t, t.TempDir(), extra)

	wait.For(t, 5*time.Second, "the LED to show no fleet (1s on, 1s off)", func() bool {
		return readFile(t, filepath.Join(led, "trigger")) == "timer" && readFile(t, filepath.Join(led, "delay_on")) == "1000"
	})
	wait.For(t, 5*time.Second, "two kicks", func() bool { return len(readFile(t, dog)) >= 2 })

	start := rules.Transition{Type: "smoking", Phase: wire.PhaseStart}
	if g.alarm(rules.Transition{Type: wire.TypeCameraDark, Phase: wire.PhaseStart}) {
		t.Error("camera_dark sounded the buzzer")
	}
	if g.alarm(rules.Transition{Type: "smoking", Phase: wire.PhaseEnd}) {
		t.Error("an episode's end sounded the buzzer")
	}
	if !g.alarm(start) {
		t.Error("an alarm's start did not sound the buzzer")
	}
	if g.alarm(start) {
		t.Error("a second alarm within min_gap sounded the buzzer")
	}

	g.mu.Lock() // the main loop sticks
	wait.For(t, 10*time.Second, "the watchdog to give up", g.main.dog.GaveUp)
	kicks := readFile(t, dog)
	time.Sleep(1500 * time.Millisecond) // more than one kick interval
	if got := readFile(t, dog); got != kicks || strings.Trim(got, "k") != "" {
		t.Errorf("device %q then %q: fed after giving up", kicks, got)
	}
	g.mu.Unlock()

	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dog); strings.HasSuffix(got, "V") {
		t.Errorf("device %q: magic close after giving up, the board would not reboot", got)
	}
	for _, d := range []string{led, buzzer} {
		if tr, b := readFile(t, filepath.Join(d, "trigger")), readFile(t, filepath.Join(d, "brightness")); tr != "mmc0" || b != "0" {
			t.Errorf("%s after Close: trigger %q brightness %s, want mmc0 back and off", d, tr, b)
		}
	}
}

// A clean stop disarms the watchdog; a failing spool write makes the
// gateway unhealthy (a full disk does not: rebooting frees no space).
func TestBoardCleanStop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	extra, dog, _, _ := boardConfig(t, time.Minute)
	g, _ := newTestGateway(t, t.TempDir(), extra)
	wait.For(t, 5*time.Second, "a kick", func() bool { return len(readFile(t, dog)) >= 1 })

	_ = g.noteWrite(errors.New("input/output error"))
	if err := g.healthy(); err == nil || !strings.Contains(err.Error(), "spool") {
		t.Errorf("healthy() = %v after a failed spool write", err)
	}
	_ = g.noteWrite(fmt.Errorf("write: %w", syscall.ENOSPC))
	if err := g.healthy(); err != nil {
		t.Errorf("healthy() = %v on a full disk", err)
	}
	_ = g.noteWrite(errors.New("input/output error"))
	_ = g.noteWrite(nil)
	if err := g.healthy(); err != nil {
		t.Errorf("healthy() = %v after a good write", err)
	}

	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dog); !strings.HasSuffix(got, "V") || strings.Trim(got, "kV") != "" {
		t.Errorf("device %q: want kicks then the magic close", got)
	}
}

// A board part that fails to start fails New, which stops what had
// started: the watchdog, opened first, is disarmed.
func TestBoardStartFails(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	extra, dog, _, _ := boardConfig(t, time.Minute)
	extra = strings.Replace(extra, "status_led: ", "status_led: /nonexistent", 1)
	doc := "gateway: {id: gw-t}\nbroker: {url: 'tcp://127.0.0.1:1', connect_timeout: 100ms}\nhttp: {listen: ''}\n" + extra
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(doc), func(k string) (string, bool) {
		if k == "BK_SPOOL_PATH" {
			return filepath.Join(dir, "spool.db"), true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(context.Background(), cfg, nil, nil)
	if err == nil {
		g.Close()
		t.Fatal("New with a missing status LED: no error")
	}
	if !strings.HasPrefix(err.Error(), "board.status_led: ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %q: want board.status_led: ... not exist", err)
	}
	if got := readFile(t, dog); !strings.HasSuffix(got, "V") {
		t.Errorf("device %q: the watchdog started before the failure was not disarmed", got)
	}
}
