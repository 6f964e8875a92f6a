package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// pahoLog is where paho's package-level loggers write; nil discards. paho's
// loggers are globals read by its goroutines, so they are set once here and
// the destination is swapped atomically by Start.
var pahoLog atomic.Pointer[slog.Logger]

func init() {
	// paho's ERROR repeats, several lines at a time, what the uplink
	// already logs once (a failed connect, a lost connection), and its WARN
	// reports routine events (the memory store wiped at every clean
	// connect), so both go to debug; CRITICAL stays an error.
	mqtt.CRITICAL = pahoLogger{slog.LevelError}
	mqtt.ERROR = pahoLogger{slog.LevelDebug}
	mqtt.WARN = pahoLogger{slog.LevelDebug}
}

// pahoLogger adapts paho's Println/Printf logger to slog.
type pahoLogger struct{ level slog.Level }

func (p pahoLogger) Println(v ...any) {
	if l := pahoLog.Load(); l != nil && l.Enabled(context.Background(), p.level) {
		l.Log(context.Background(), p.level, strings.TrimSpace(fmt.Sprintln(v...)))
	}
}

func (p pahoLogger) Printf(format string, v ...any) {
	if l := pahoLog.Load(); l != nil && l.Enabled(context.Background(), p.level) {
		l.Log(context.Background(), p.level, strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}
