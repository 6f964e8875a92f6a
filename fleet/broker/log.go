package broker

import (
	"context"
	"log/slog"
)

// quietHandler demotes mochi's records to Debug, except its errors: mochi
// logs every connection's end and every refused client at Info or Warn,
// which is per-connection noise (the counters in Stats tell the story).
type quietHandler struct{ h slog.Handler }

func demote(l slog.Level) slog.Level {
	if l >= slog.LevelError {
		return l
	}
	return slog.LevelDebug
}

func (q quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return q.h.Enabled(ctx, demote(l))
}

func (q quietHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return q.h.Handle(ctx, r)
}

func (q quietHandler) WithAttrs(as []slog.Attr) slog.Handler { return quietHandler{q.h.WithAttrs(as)} }
func (q quietHandler) WithGroup(n string) slog.Handler       { return quietHandler{q.h.WithGroup(n)} }
