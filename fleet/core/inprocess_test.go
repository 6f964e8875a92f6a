package core

import (
	"context"
	"testing"
	"time"
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
	for deadline := time.Now().Add(5 * time.Second); !f.Ingest.Connected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ingest not subscribed after 5 s")
		}
	}
	if n := f.Broker.Stats().ClientsConnected; n != 0 {
		t.Fatalf("%d MQTT clients connected to an idle fleet's broker, want 0", n)
	}
	if f.Broker.FleetUser != "" {
		t.Fatalf("embedded broker has a fleet account %q", f.Broker.FleetUser)
	}
}
