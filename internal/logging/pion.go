package logging

import (
	"context"
	"fmt"
	"log/slog"

	plogging "github.com/pion/logging"
)

// Pion is a pion LoggerFactory that routes pion's loggers into slog.
// pion's Info is chatty (every state change), so it goes to Debug; Trace
// is dropped.
type Pion struct{ Log *slog.Logger }

func (f Pion) NewLogger(scope string) plogging.LeveledLogger {
	return pionLogger{f.Log.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (pionLogger) Trace(string)                     {}
func (pionLogger) Tracef(string, ...any)            {}
func (p pionLogger) Debug(msg string)               { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Debugf(format string, a ...any) { p.logf(slog.LevelDebug, format, a...) }
func (p pionLogger) Info(msg string)                { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Infof(format string, a ...any)  { p.logf(slog.LevelDebug, format, a...) }
func (p pionLogger) Warn(msg string)                { p.logf(slog.LevelWarn, "%s", msg) }
func (p pionLogger) Warnf(format string, a ...any)  { p.logf(slog.LevelWarn, format, a...) }
func (p pionLogger) Error(msg string)               { p.logf(slog.LevelError, "%s", msg) }
func (p pionLogger) Errorf(format string, a ...any) { p.logf(slog.LevelError, format, a...) }
