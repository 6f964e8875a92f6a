package pluginpb

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestGeneratedCurrent regenerates the code from the .proto with the pinned
// generators (scripts/gen-proto.sh) and fails when the committed files
// differ: an edit of the protocol without `go generate`, or by hand.
func TestGeneratedCurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", "../../../scripts/gen-proto.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen-proto: %v\n%s", err, b)
	}
	for _, name := range []string{"detector.pb.go", "detector_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the .proto generates: run go generate ./plugins/sdk/pluginpb/", name)
		}
	}
}
