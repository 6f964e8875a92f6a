package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/wait"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// runTestGateway plays the gateway for TestPluginDiesWithGateway: it starts
// an echo plugin under a Supervisor, prints the plugin's pid and waits to be
// killed.
func runTestGateway() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := &sdk.Supervisor{Name: "echo", Path: exe, Options: sdk.Options{Env: []string{"BK_SDK_TEST_PLUGIN=echo"}}}
	if err := s.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Churn threads as other code may: goroutines that end locked to their
	// thread make the runtime end that thread.
	for range 8 {
		done := make(chan struct{})
		go func() { runtime.LockOSThread(); close(done) }()
		<-done
	}
	for range 750 {
		if st := s.State(); st.Ready {
			fmt.Printf("plugin pid %d\n", st.Pid)
			time.Sleep(time.Hour) // until the test kills us
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "plugin not ready within 15s")
	return 1
}

// TestPluginDiesWithGateway: SIGKILL the gateway (this test binary re-run
// as one) and its plugin process is gone within seconds, instead of living
// on as an orphan of PID 1.
func TestPluginDiesWithGateway(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("parent-death signal is Linux only")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	gw := exec.Command(exe, "-test.run=^$")
	gw.Env = append(os.Environ(), "BK_SDK_TEST_GATEWAY=1")
	var stderr bytes.Buffer
	gw.Stderr = &stderr
	out, err := gw.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Process.Kill(); _ = gw.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read plugin pid: %v (gateway stderr: %s)", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "plugin pid ")))
	if err != nil || pid <= 0 {
		t.Fatalf("gateway said %q", line)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d not running before the kill", pid)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	if err := gw.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = gw.Wait()
	wait.For(t, 5*time.Second, fmt.Sprintf("plugin %d to end after its gateway was killed", pid), func() bool { return !alive(pid) })
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces, so read after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
