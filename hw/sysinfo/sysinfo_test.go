package sysinfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, root, path, body string) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadFakeBoard(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/stat", "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
	write(t, root, "proc/meminfo", "MemTotal:        1000 kB\nMemFree:          100 kB\nMemAvailable:     250 kB\n")
	write(t, root, "proc/uptime", "3600.50 7000.00\n")
	write(t, root, "sys/class/thermal/thermal_zone0/temp", "48500\n")
	write(t, root, "sys/class/thermal/thermal_zone1/temp", "61250\n")
	write(t, root, "sys/class/thermal/thermal_zone2/temp", "garbage\n")
	r := &Reader{Root: root, DataPath: root}
	in := r.Read()
	if in.CPUPercent != 0 {
		t.Errorf("first reading CPU %v, want 0", in.CPUPercent)
	}
	if in.MemTotal != 1000*1024 || in.MemUsed != 750*1024 {
		t.Errorf("memory %d/%d", in.MemUsed, in.MemTotal)
	}
	if in.TempC != 61.25 {
		t.Errorf("temp %v, want 61.25 (the hottest valid zone)", in.TempC)
	}
	if in.Uptime != 3600*time.Second+500*time.Millisecond {
		t.Errorf("uptime %v", in.Uptime)
	}
	if in.DiskTotal == 0 || in.DiskFree > in.DiskTotal {
		t.Errorf("disk %d/%d", in.DiskFree, in.DiskTotal)
	}
	// 200 more busy, 200 more idle: 50%.
	write(t, root, "proc/stat", "cpu  200 0 200 900 100 0 0 0 0 0\n")
	if in := r.Read(); in.CPUPercent != 50 {
		t.Errorf("CPU %v, want 50", in.CPUPercent)
	}
}

func TestReadMissingFiles(t *testing.T) {
	r := &Reader{Root: t.TempDir(), DataPath: "/nonexistent/dir/x"}
	in := r.Read()
	if in.CPUPercent != 0 || in.MemTotal != 0 || in.TempC != 0 || in.Uptime != 0 {
		t.Errorf("want zeros from an empty root, got %+v", in)
	}
	if in.DiskTotal == 0 {
		t.Errorf("disk of a missing path should fall back to its nearest existing parent")
	}
}

func TestReadThisMachine(t *testing.T) {
	r := &Reader{}
	r.Read()
	time.Sleep(50 * time.Millisecond)
	in := r.Read()
	if in.MemTotal == 0 || in.Uptime == 0 || in.CPUPercent < 0 || in.CPUPercent > 100 {
		t.Errorf("implausible reading of this machine: %+v", in)
	}
}
