package spool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The kill -9 test re-runs this test binary as a child that appends (and,
// in compact mode, acks and compacts) in a loop and prints every seq
// Append returned. The parent SIGKILLs it, reopens the spool and checks
// that nothing acknowledged is missing and nothing is there twice.
const (
	childEnv      = "BK_SPOOL_KILL_CHILD" // spool path; set = child mode
	childModeEnv  = "BK_SPOOL_KILL_MODE"  // "append" or "compact"
	childRoundEnv = "BK_SPOOL_KILL_ROUND"
)

// killPayload encodes who wrote it and a checksum, so the parent can tell
// a record's identity and integrity from its bytes alone.
func killPayload(round, g, i int) []byte {
	n := 64 + (i*37)%900
	b := make([]byte, n)
	binary.BigEndian.PutUint32(b[0:], uint32(round))
	binary.BigEndian.PutUint32(b[4:], uint32(g))
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	for j := 16; j < n-4; j++ {
		b[j] = byte(round + g + i + j)
	}
	binary.BigEndian.PutUint32(b[n-4:], crc32.ChecksumIEEE(b[:n-4]))
	return b
}

func parseKillPayload(b []byte) (round, g, i int, err error) {
	if len(b) < 20 || crc32.ChecksumIEEE(b[:len(b)-4]) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return 0, 0, 0, errors.New("payload damaged")
	}
	return int(binary.BigEndian.Uint32(b[0:])), int(binary.BigEndian.Uint32(b[4:])), int(binary.BigEndian.Uint64(b[8:])), nil
}

func killBlob(g, i int) []byte {
	if i%4 != 0 {
		return nil
	}
	return bytes.Repeat([]byte{byte(g*31 + i)}, 2000+i%500)
}

// TestKillChild is the child process; it does nothing in a normal run.
func TestKillChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKill9")
	}
	mode := os.Getenv(childModeEnv)
	round, _ := strconv.Atoi(os.Getenv(childRoundEnv))
	var outMu sync.Mutex
	say := func(s string) {
		outMu.Lock()
		defer outMu.Unlock()
		_, _ = os.Stdout.WriteString(s)
	}
	if mode == "compact" {
		testHookCompact = func(stage string) {
			say("stage " + stage + "\n")
			time.Sleep(30 * time.Millisecond) // room for the parent's kill
		}
	}
	q, err := Open(Options{Path: path, CompactMinBytes: -1})
	if err != nil {
		say("error " + err.Error() + "\n")
		os.Exit(3)
	}
	deadline := time.Now().Add(20 * time.Second) // the parent kills far sooner
	var wg sync.WaitGroup
	var ackMu sync.Mutex
	var maxAck uint64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := 0
			for time.Now().Before(deadline) {
				var items []Item
				for range 1 + i%3 {
					items = append(items, Item{Kind: "ev", Payload: killPayload(round, g, i), Blob: killBlob(g, i)})
					i++
				}
				seqs, err := q.Append(context.Background(), items...)
				if err != nil {
					say("error " + err.Error() + "\n")
					os.Exit(3)
				}
				var sb strings.Builder
				for k, s := range seqs {
					r, gg, ii, _ := parseKillPayload(items[k].Payload)
					fmt.Fprintf(&sb, "ack %d %d %d %d\n", s, r, gg, ii)
				}
				say(sb.String())
				ackMu.Lock()
				maxAck = max(maxAck, seqs[len(seqs)-1])
				ackMu.Unlock()
			}
		}()
	}
	if mode == "compact" {
		for time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
			ackMu.Lock()
			upTo := maxAck
			ackMu.Unlock()
			if upTo > 50 {
				say(fmt.Sprintf("deleting %d\n", upTo-50))
				if err := q.DeleteUpTo(upTo - 50); err != nil {
					say("error " + err.Error() + "\n")
					os.Exit(3)
				}
				say(fmt.Sprintf("deleted %d\n", upTo-50))
			}
			if err := q.Compact(); err != nil {
				say("error " + err.Error() + "\n")
				os.Exit(3)
			}
		}
	}
	wg.Wait()
	_ = q.Close()
}

type ackInfo struct{ round, g, i int }

type killRun struct {
	acks      map[uint64]ackInfo
	delUpTo   uint64 // DeleteUpTo returned for this seq
	delMaybe  uint64 // DeleteUpTo was called for this seq (may have committed)
	stages    []string
	killedAt  string // the stage line that triggered the kill, if any
	tmpAtKill bool
	errLines  []string
}

// runChild starts a child on path and kills it: on the first line
// starting with killOn if killOn is set, else a random 50-300 ms after its
// first ack.
func runChild(t *testing.T, path, mode string, round int, killOn string) killRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), childEnv+"="+path, childModeEnv+"="+mode, childRoundEnv+"="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	run := killRun{acks: map[uint64]ackInfo{}}
	var killTimer <-chan time.Time
	giveUp := time.After(30 * time.Second)
	killed := false
	kill := func() {
		if killed {
			return
		}
		killed = true
		_, err := os.Stat(path + ".compact")
		run.tmpAtKill = err == nil
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}
	for lines != nil {
		select {
		case l, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			f := strings.Fields(l)
			switch {
			case len(f) == 5 && f[0] == "ack":
				var v [4]uint64
				for k := range v {
					v[k], _ = strconv.ParseUint(f[k+1], 10, 64)
				}
				if prev, dup := run.acks[v[0]]; dup {
					t.Errorf("seq %d acknowledged twice (%v)", v[0], prev)
				}
				run.acks[v[0]] = ackInfo{int(v[1]), int(v[2]), int(v[3])}
				if killOn == "" && killTimer == nil {
					killTimer = time.After(time.Duration(50+rand.IntN(250)) * time.Millisecond)
				}
			case len(f) == 2 && f[0] == "deleted":
				n, _ := strconv.ParseUint(f[1], 10, 64)
				run.delUpTo = max(run.delUpTo, n)
			case len(f) == 2 && f[0] == "deleting":
				n, _ := strconv.ParseUint(f[1], 10, 64)
				run.delMaybe = max(run.delMaybe, n)
			case len(f) == 2 && f[0] == "stage":
				run.stages = append(run.stages, f[1])
				if killOn != "" && l == killOn && !killed {
					run.killedAt = l
					kill()
				}
			case len(f) > 0 && f[0] == "error":
				run.errLines = append(run.errLines, l)
			}
		case <-killTimer:
			kill()
		case <-giveUp:
			kill()
			t.Errorf("round %d: kill condition %q never met", round, killOn)
		}
	}
	<-readDone
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child did not die by SIGKILL: %v (errors: %v)", round, err, run.errLines)
	}
	if len(run.errLines) > 0 {
		t.Fatalf("round %d: child errors: %v", round, run.errLines)
	}
	if len(run.acks) == 0 {
		t.Fatalf("round %d: child acknowledged nothing", round)
	}
	return run
}

// checkAfterKill reopens the spool and checks it against what the child
// acknowledged. It returns the spool's LastSeq.
func checkAfterKill(t *testing.T, path string, round int, run killRun, delUpTo, delMaybe, prevLast uint64) uint64 {
	t.Helper()
	q, err := Open(Options{Path: path, CompactMinBytes: -1})
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	defer q.Close()
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("round %d: compaction temp file survived Open: %v", round, err)
	}
	recs := readAll(t, q)
	bySeq := make(map[uint64]Record, len(recs))
	seen := map[ackInfo]uint64{}
	lastI := map[[2]int]int{}
	var sum int64
	for k, r := range recs {
		if k > 0 && r.Seq != recs[k-1].Seq+1 {
			t.Fatalf("round %d: seqs not contiguous: %d after %d", round, r.Seq, recs[k-1].Seq)
		}
		if r.Seq <= delUpTo {
			t.Fatalf("round %d: seq %d present though DeleteUpTo(%d) returned", round, r.Seq, delUpTo)
		}
		rr, g, i, err := parseKillPayload(r.Payload)
		if err != nil {
			t.Fatalf("round %d: seq %d: %v", round, r.Seq, err)
		}
		id := ackInfo{rr, g, i}
		if prev, dup := seen[id]; dup {
			t.Fatalf("round %d: item %v stored twice, seqs %d and %d", round, id, prev, r.Seq)
		}
		seen[id] = r.Seq
		if li, ok := lastI[[2]int{rr, g}]; ok && i <= li {
			t.Fatalf("round %d: writer %d/%d item %d stored after item %d", round, rr, g, i, li)
		}
		lastI[[2]int{rr, g}] = i
		if want := killBlob(g, i); !bytes.Equal(r.Blob, want) || r.BlobDropped {
			t.Fatalf("round %d: seq %d blob %d bytes, want %d", round, r.Seq, len(r.Blob), len(want))
		}
		if rr == round && r.Seq <= prevLast {
			t.Fatalf("round %d: seq %d reused (last seq before the round %d)", round, r.Seq, prevLast)
		}
		bySeq[r.Seq] = r
		it := Item{Kind: r.Kind, Payload: r.Payload, Blob: r.Blob}
		sum += itemCost(&it)
	}
	for seq, a := range run.acks {
		if seq <= prevLast {
			t.Fatalf("round %d: seq %d reused (last seq before the round %d)", round, seq, prevLast)
		}
		if seq <= delUpTo {
			continue
		}
		if seq <= delMaybe && (len(recs) == 0 || seq < recs[0].Seq) {
			continue // a DeleteUpTo the child did not live to report
		}
		r, ok := bySeq[seq]
		if !ok {
			t.Fatalf("round %d: acknowledged seq %d (%v) lost; spool has %d records", round, seq, a, len(recs))
		}
		rr, g, i, _ := parseKillPayload(r.Payload)
		if (ackInfo{rr, g, i}) != a {
			t.Fatalf("round %d: seq %d holds %v, child acknowledged %v", round, seq, ackInfo{rr, g, i}, a)
		}
	}
	st := q.Stats()
	if st.Depth != len(recs) || st.Bytes != sum || st.LastSeq < prevLast {
		t.Fatalf("round %d: stats %+v, read %d records of %d bytes", round, st, len(recs), sum)
	}
	return st.LastSeq
}

func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	path := filepath.Join(t.TempDir(), "spool.db")
	rounds := []struct{ mode, killOn string }{
		{"append", ""}, {"append", ""}, {"append", ""}, {"append", ""}, {"append", ""},
		{"compact", "stage copied"},  // new file synced, old still live
		{"compact", "stage renamed"}, // new file in place, not reopened
		{"compact", ""},
		{"compact", ""},
	}
	var prevLast, delUpTo, delMaybe uint64
	for round, rc := range rounds {
		run := runChild(t, path, rc.mode, round, rc.killOn)
		if rc.killOn != "" && run.killedAt != rc.killOn {
			t.Fatalf("round %d: not killed at %q (stages seen %v)", round, rc.killOn, run.stages)
		}
		if rc.killOn == "stage copied" && !run.tmpAtKill {
			t.Fatalf("round %d: no temp file at the kill", round)
		}
		delUpTo = max(delUpTo, run.delUpTo)
		delMaybe = max(delMaybe, run.delMaybe)
		last := checkAfterKill(t, path, round, run, delUpTo, delMaybe, prevLast)
		t.Logf("round %d (%s, kill %q): %d acks, deleted up to %d, last seq %d, compaction stages seen %d, temp file at kill %v",
			round, rc.mode, rc.killOn, len(run.acks), run.delUpTo, last, len(run.stages), run.tmpAtKill)
		prevLast = last
	}
}
