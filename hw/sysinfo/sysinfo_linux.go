package sysinfo

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTimes sums the first "cpu" line of /proc/stat: busy is everything but
// idle and iowait.
func cpuTimes(root string) (busy, total uint64, ok bool) {
	b, err := os.ReadFile(root + "/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, true
}

func memory(root string) (total, used uint64) {
	f, err := os.Open(root + "/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	var avail uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, err := strconv.ParseUint(fs[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "MemTotal":
			total = n * 1024
		case "MemAvailable":
			avail = n * 1024
		}
	}
	if avail > total {
		return total, 0
	}
	return total, total - avail
}

func disk(path string) (free, total uint64) {
	for p := path; ; p = filepath.Dir(p) {
		var st syscall.Statfs_t
		if syscall.Statfs(p, &st) == nil {
			return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize)
		}
		if p == filepath.Dir(p) {
			return 0, 0
		}
	}
}

func temperature(root string) float64 {
	zones, _ := filepath.Glob(root + "/sys/class/thermal/thermal_zone*/temp")
	var hottest float64
	for _, z := range zones {
		b, err := os.ReadFile(z)
		if err != nil {
			continue
		}
		milli, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || milli <= -40000 || milli >= 150000 {
			continue
		}
		hottest = max(hottest, float64(milli)/1000)
	}
	return hottest
}

func uptime(root string) time.Duration {
	b, err := os.ReadFile(root + "/proc/uptime")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
