package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

// anonRSS is a process's anonymous resident memory (RssAnon): its heap and
// stacks, without the SQLite file pages it has mapped (mmap_size), which
// the kernel may drop at any time.
func anonRSS(pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkFleetFlood measures bk-fleet's resident memory while one gateway
// floods it (as fast as its connection takes: garbage, valid events with
// 256 KiB snapshots, snapshots whose event never comes, and snapshots over
// the size limit), against the same fleet idle. Goal: within 50 MB. RSS
// counts the SQLite file pages the fleet maps (up to 1 GiB) as they are
// written, so the goal is checked on anonymous memory (anon-delta-MB).
// The fleet's Go heap, read from its /metrics at each sample, says how much
// of that is heap in use, live or garbage not yet swept
// (peak-heap-inuse-MB), what the collector let it grow to before its next
// cycle (peak-next-gc-MB: twice what was live at the last one, GOGC=100)
// and what the heap held from the OS (peak-heap-held-MB).
func BenchmarkFleetFlood(b *testing.B) {
	for range b.N {
		f := newFleet(b, "")
		metrics := freePort(b)
		f.args = append(f.args, "--metrics-listen", metrics)
		f.start()
		user, pass := f.addGateway("gw-flood", "canteen-1")
		time.Sleep(2 * time.Second)
		idle, err := sampleProc(f.p.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + f.mqtt).SetClientID(user).
			SetUsername(user).SetPassword(pass).SetAutoReconnect(true))
		if tok := cl.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.Fatalf("connect: %v", tok.Error())
		}
		big := make([]byte, 256<<10)
		huge := make([]byte, wire.MaxSnapshot+1)
		garbage := []byte(`{"v":1,"event_id":`)
		pid := f.p.cmd.Process.Pid
		idleAnon := anonRSS(pid)
		var peak, peakAnon int64
		var peakHeap memStats
		sent := 0
		end := time.Now().Add(15 * time.Second)
		next := time.Now()
		for i := 0; time.Now().Before(end); i++ {
			id := fmt.Sprintf("flood-%d", i)
			big[0], big[1] = byte(i), byte(i>>8)
			sum := sha256.Sum256(big)
			ev := wire.Event{V: 1, EventID: id, Seq: uint64(i + 1), CameraID: "cam-1", Type: wire.TypeSynthetic, Score: 0.5,
				Boxes: []wire.Box{}, StartedAt: time.Now().UTC(), Phase: wire.PhaseStart,
				Snapshot: &wire.SnapshotRef{SHA256: hex.EncodeToString(sum[:]), Bytes: len(big)}}
			evb, _ := wire.Marshal(ev)
			msgs := [][2]any{{wire.Topic(user, wire.KindEvent), garbage}, {wire.SnapshotTopic(user, id), big},
				{wire.Topic(user, wire.KindEvent), evb}, {wire.SnapshotTopic(user, id+"x"), big}}
			if i%64 == 0 {
				msgs = append(msgs, [2]any{wire.SnapshotTopic(user, id+"h"), huge})
			}
			for _, m := range msgs {
				cl.Publish(m[0].(string), 0, false, m[1]).WaitTimeout(5 * time.Second)
				sent++
			}
			if time.Now().After(next) {
				if s, err := sampleProc(pid); err == nil {
					peak = max(peak, s.rss)
				}
				peakAnon = max(peakAnon, anonRSS(pid))
				peakHeap = peakHeap.max(readMemStats(metrics))
				next = time.Now().Add(100 * time.Millisecond)
			}
		}
		cl.Disconnect(50)
		if s, err := sampleProc(f.p.cmd.Process.Pid); err == nil {
			peak = max(peak, s.rss)
		}
		b.ReportMetric(float64(idle.rss)/(1<<20), "idle-RSS-MB")
		b.ReportMetric(float64(peak)/(1<<20), "flood-RSS-MB")
		b.ReportMetric(float64(peak-idle.rss)/(1<<20), "delta-MB")
		b.ReportMetric(float64(idleAnon)/(1<<20), "idle-anon-MB")
		b.ReportMetric(float64(peakAnon-idleAnon)/(1<<20), "anon-delta-MB")
		b.ReportMetric(float64(sent)/15, "msgs/s")
		b.ReportMetric(float64(peakHeap.inuse)/(1<<20), "peak-heap-inuse-MB")
		b.ReportMetric(float64(peakHeap.nextGC)/(1<<20), "peak-next-gc-MB")
		b.ReportMetric(float64(peakHeap.held)/(1<<20), "peak-heap-held-MB")
		if err := f.p.stop(); err != nil {
			b.Log(err)
		}
	}
}

// memStats are the Go runtime's figures bk-fleet exports on /metrics.
type memStats struct {
	inuse, nextGC int64
	held          int64 // heap memory taken from the OS and not given back
}

func (m memStats) max(o memStats) memStats {
	return memStats{max(m.inuse, o.inuse), max(m.nextGC, o.nextGC), max(m.held, o.held)}
}

// readMemStats reads the fleet's heap figures from its /metrics (zero on
// error), uncompressed, so that the fleet does not allocate a gzip writer for
// every sample.
func readMemStats(addr string) memStats {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return memStats{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m memStats
	var sys, released int64
	for _, line := range strings.Split(string(body), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(val, 64)
		switch name {
		case "go_memstats_heap_inuse_bytes":
			m.inuse = int64(v)
		case "go_memstats_next_gc_bytes":
			m.nextGC = int64(v)
		case "go_memstats_heap_sys_bytes":
			sys = int64(v)
		case "go_memstats_heap_released_bytes":
			released = int64(v)
		}
	}
	m.held = sys - released
	return m
}
