package sdk_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
	"github.com/brightkitchen/brightkitchen/plugins/sdk/sdktest"
)

// BenchmarkRoundTrip is one Detect call through the supervisor to a plugin
// process and back, for a 640×360 frame: the cost of running detectors out
// of process. The plugin (the echo test plugin) does no work, so this is
// the transport alone. Reports the median and p99 per call.
func BenchmarkRoundTrip(b *testing.B) {
	for _, c := range []struct {
		name   string
		format sdk.Format
	}{{"GRAY8-640x360", sdk.FormatGRAY8}, {"RGB24-640x360", sdk.FormatRGB24}} {
		b.Run(c.name, func(b *testing.B) {
			s := startSupervisor(b, "echo", nil)
			if _, ok := s.Info(); !ok {
				b.Fatal("echo plugin not ready")
			}
			f := sdktest.TestFrame("bench", c.format, 640, 360, 0)
			lat := make([]time.Duration, 0, b.N)
			b.SetBytes(int64(len(f.Data)))
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				if _, err := s.Detect(context.Background(), f); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
