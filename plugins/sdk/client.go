package sdk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/brightkitchen/brightkitchen/plugins/sdk/pluginpb"
)

// Options tune Launch. The zero value of each means its default.
type Options struct {
	// Args are passed to the plugin executable.
	Args []string
	// Env is added to the plugin's environment (the gateway's own
	// environment is passed too).
	Env []string
	// StartTimeout bounds the launch and handshake. Default 10s.
	StartTimeout time.Duration
	// Logger receives the plugin's stderr, line by line, and go-plugin's
	// warnings. Default: discard.
	Logger *slog.Logger
}

// Conn is one running plugin process.
type Conn struct {
	client *plugin.Client
	cmd    *exec.Cmd
	rpc    pluginpb.DetectorClient
	proto  plugin.ClientProtocol
	// ended is closed once the process has been killed and waited for; it
	// releases the thread that launched it.
	ended   chan struct{}
	endOnce sync.Once
}

// Launch starts the plugin at path and connects to it. It does not call
// Describe.
func Launch(ctx context.Context, path string, o Options) (*Conn, error) {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cmd := exec.Command(path, o.Args...)
	cmd.Env = append(cmd.Environ(), o.Env...)
	dieWithParent(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSet(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     o.StartTimeout,
		Stderr:           &lineWriter{log: log},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "go-plugin", Output: &lineWriter{log: log, level: slog.LevelWarn}, Level: hclog.Warn,
		}),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))},
	})
	type result struct {
		proto plugin.ClientProtocol
		raw   any
		err   error
	}
	done := make(chan result, 1)
	ended := make(chan struct{})
	go func() {
		if lockLaunchThread {
			// The plugin is forked from this thread and dies when it
			// ends (see dieWithParent): hold the thread until the plugin
			// has exited, then let it end with this goroutine (no
			// UnlockOSThread, so the runtime never reuses it).
			runtime.LockOSThread()
		}
		proto, err := client.Client()
		if err != nil {
			done <- result{err: err}
			return
		}
		raw, err := proto.Dispense(PluginName)
		done <- result{proto, raw, err}
		<-ended
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		client.Kill()
		r = <-done
		if r.err == nil {
			r.err = ctx.Err()
		}
	}
	c := &Conn{client: client, cmd: cmd, proto: r.proto, ended: ended}
	if r.err != nil {
		c.Kill()
		return nil, fmt.Errorf("launch plugin %s: %w", path, r.err)
	}
	rpc, ok := r.raw.(pluginpb.DetectorClient)
	if !ok {
		c.Kill()
		return nil, fmt.Errorf("launch plugin %s: dispensed %T", path, r.raw)
	}
	c.rpc = rpc
	return c, nil
}

// Describe asks the plugin what it is and checks the answer.
func (c *Conn) Describe(ctx context.Context) (Info, error) {
	p, err := c.rpc.Describe(ctx, &pluginpb.DescribeRequest{})
	if err != nil {
		return Info{}, fmt.Errorf("describe: %w", err)
	}
	in := infoFromPB(p)
	if err := ValidateInfo(in); err != nil {
		return Info{}, fmt.Errorf("describe: malformed reply: %w", err)
	}
	return in, nil
}

// Detect sends one frame. The detections are as the plugin returned them:
// check them with ValidateDetections.
func (c *Conn) Detect(ctx context.Context, f Frame) ([]Detection, error) {
	p, err := c.rpc.Detect(ctx, frameToPB(f))
	if err != nil {
		return nil, err
	}
	return detectionsFromPB(p), nil
}

// Ping checks that the plugin answers (gRPC health).
func (c *Conn) Ping() error { return c.proto.Ping() }

// Pid is the plugin's process id, or 0.
func (c *Conn) Pid() int {
	if c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Exited reports whether the plugin process has ended.
func (c *Conn) Exited() bool { return c.client.Exited() }

// Kill ends the process at once (SIGKILL), for a plugin that hangs, and
// waits for it.
func (c *Conn) Kill() {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
	c.client.Kill()
	c.endOnce.Do(func() { close(c.ended) })
}

// Close asks the plugin to exit, kills it if it does not within 2 s, and
// waits for it.
func (c *Conn) Close() error {
	c.client.Kill()
	c.endOnce.Do(func() { close(c.ended) })
	return nil
}

// lineWriter logs what a plugin writes, a line at a time, lines cut at 1 KiB.
type lineWriter struct {
	log   *slog.Logger
	level slog.Level
	mu    sync.Mutex
	buf   []byte
}

const maxLogLine = 1024

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLine - len(w.buf)
			w.buf = append(w.buf, p[:min(len(p), max(room, 0))]...)
			break
		}
		line := append(w.buf, p[:min(i, max(maxLogLine-len(w.buf), 0))]...)
		if len(bytes.TrimSpace(line)) > 0 {
			w.log.Log(context.Background(), w.level, "plugin", "line", string(line))
		}
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

var _ io.Writer = (*lineWriter)(nil)
