package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
func BenchmarkFleetFlood(b *testing.B) {
	for range b.N {
		f := newFleet(b, "")
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
		if err := f.p.stop(); err != nil {
			b.Log(err)
		}
	}
}
