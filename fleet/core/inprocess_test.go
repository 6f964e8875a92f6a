package core

import (
	"context"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/wait"
)

// TestIngestInProcess: with the embedded broker, ingest consumes in the
// broker's process, not as an MQTT client of it: no connection (each
// message would be encoded again and read back, a snapshot four more times
// in memory), and no fleet account on the broker to log in with.
func TestIngestInProcess(t *testing.T) {
	f, err := Start(context.Background(), Options{HTTP: "127.0.0.1:0", MQTTListen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if f.Ingest.InProcess == nil {
		t.Fatal("ingest consumes the embedded broker over MQTT")
	}
	wait.For(t, 5*time.Second, "ingest subscribed", f.Ingest.Connected)
	if n := f.Broker.Stats().ClientsConnected; n != 0 {
		t.Fatalf("%d MQTT clients connected to an idle fleet's broker, want 0", n)
	}
	if f.Broker.FleetUser != "" {
		t.Fatalf("embedded broker has a fleet account %q", f.Broker.FleetUser)
	}
}
