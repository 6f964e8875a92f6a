package core

import (
	"context"
	"strings"
	"testing"
)

// TestStartFails: a part that does not start is an error from Start, and
// what had started is closed (no panic on the way out).
func TestStartFails(t *testing.T) {
	f, err := Start(context.Background(), Options{HTTP: "127.0.0.1:0", MQTTListen: "127.0.0.1:0", DataDir: t.TempDir(),
		WebhookURL: "ftp://example.invalid/hook"})
	if err == nil || f != nil || !strings.Contains(err.Error(), "start notifier") {
		t.Fatalf("Start with a bad webhook URL = %v, %v; want a notifier error", f, err)
	}
}
