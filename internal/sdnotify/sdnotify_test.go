package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// listen opens a unixgram socket as systemd's end; a short directory keeps
// the path under the 108-byte limit of a socket address.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _, err := c.ReadFromUnix(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotify(t *testing.T) {
	path := filepath.Join(shortDir(t), "notify")
	sock := listen(t, path)
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": path}))
	if err != nil || n == nil {
		t.Fatalf("FromEnv: %v, %v", n, err)
	}
	for _, tc := range []struct {
		send func() error
		want string
	}{
		{func() error { return n.Ready("2/3 cameras\nonline") }, "READY=1\nSTATUS=2/3 cameras online\n"},
		{n.Watchdog, "WATCHDOG=1\n"},
		{func() error { return n.Status("fleet connected") }, "STATUS=fleet connected\n"},
		{n.Stopping, "STOPPING=1\n"},
	} {
		if err := tc.send(); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, sock); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if err := n.Send("READY=1\nX=2"); err == nil {
		t.Error("a line with a newline was sent")
	}
	if err := n.Send("nonsense"); err == nil {
		t.Error("a line without '=' was sent")
	}
}

func TestNotifyAbstract(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("abstract sockets are Linux's")
	}
	name := fmt.Sprintf("@bk-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	sock := listen(t, name)
	n, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": name}))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready("up"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sock); got != "READY=1\nSTATUS=up\n" {
		t.Errorf("got %q", got)
	}
}

// Without NOTIFY_SOCKET nothing is sent and nothing fails; a socket nobody
// listens on is an error; a relative path is refused.
func TestNotifyOff(t *testing.T) {
	n, err := FromEnv(env(nil))
	if n != nil || err != nil {
		t.Fatalf("FromEnv without NOTIFY_SOCKET: %v, %v", n, err)
	}
	if err := n.Ready("x"); err != nil {
		t.Errorf("nil Notifier: %v", err)
	}
	n, _ = FromEnv(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(shortDir(t), "gone")}))
	if err := n.Watchdog(); err == nil || !strings.Contains(err.Error(), "sd_notify") {
		t.Errorf("send to no socket: %v", err)
	}
	if _, err := FromEnv(env(map[string]string{"NOTIFY_SOCKET": "run/notify"})); err == nil {
		t.Error("a relative NOTIFY_SOCKET was accepted")
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		err       bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, false},
		{"30000000", "42", 30 * time.Second, false},
		{"30000000", "43", 0, false}, // meant for another process
		{"2000000", "x", 0, true},
		{"0", "", 0, true},
		{"-5", "", 0, true},
		{"lots", "", 0, true},
	} {
		got, err := WatchdogInterval(env(map[string]string{"WATCHDOG_USEC": tc.usec, "WATCHDOG_PID": tc.pid}), 42)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("USEC=%q PID=%q: %v, %v; want %v, error %v", tc.usec, tc.pid, got, err, tc.want, tc.err)
		}
	}
}
