package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the test binary as bk-gateway when BK_TEST_AS_GATEWAY is
// set, so a test can watch the real command under a fake systemd.
func TestMain(m *testing.M) {
	if os.Getenv("BK_TEST_AS_GATEWAY") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Under a fake systemd (a unixgram socket in NOTIFY_SOCKET, WATCHDOG_USEC
// 200ms) bk-gateway run says READY=1, pings the watchdog; stopped with
// SIGSTOP, as a hung process, it pings no more; continued, it pings again;
// SIGTERM makes it say STOPPING=1 and exit 0.
func TestRunNotifiesSystemd(t *testing.T) {
	dir, err := os.MkdirTemp("", "bkgw") // short: a socket path has at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sockPath := filepath.Join(dir, "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	cfg := filepath.Join(dir, "gateway.yaml")
	doc := fmt.Sprintf("gateway: {id: gw-sd}\nbroker: {url: 'tcp://127.0.0.1:1', connect_timeout: 100ms}\n"+
		"spool: {path: %s}\nhttp: {listen: ''}\n", filepath.Join(dir, "spool.db"))
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "BK_TEST_AS_GATEWAY=1", "NOTIFY_SOCKET="+sockPath, "WATCHDOG_USEC=200000")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("bk-gateway's output:\n%s", out.String())
		}
	}()

	recv := func(d time.Duration) string {
		_ = sock.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 4096)
		n, _, err := sock.ReadFromUnix(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return ""
		} else if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	expect := func(want string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for time.Now().Before(deadline) {
			if strings.Contains(recv(time.Until(deadline)), want) {
				return
			}
		}
		t.Fatalf("no %q from bk-gateway within %v", want, limit)
	}

	expect("READY=1", 20*time.Second)
	expect("WATCHDOG=1", 5*time.Second)
	expect("WATCHDOG=1", 5*time.Second)

	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	for recv(10*time.Millisecond) != "" { // sent before it stopped
	}
	if m := recv(time.Second); m != "" {
		t.Errorf("a stopped gateway notified %q", m)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	expect("WATCHDOG=1", 5*time.Second)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expect("STOPPING=1", 10*time.Second)
	select {
	case err := <-exited:
		exited <- err // for the deferred wait
		if err != nil {
			t.Errorf("bk-gateway exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bk-gateway did not exit after SIGTERM")
	}
}
