// Package sysinfo reads the board's health for the gateway's heartbeat:
// CPU use, memory, free disk, SoC temperature and uptime. On Linux it reads
// /proc and /sys; elsewhere the fields it cannot read stay zero.
package sysinfo

import (
	"sync"
	"time"
)

// Info is one reading.
type Info struct {
	// CPUPercent is the whole machine's CPU use since the previous reading,
	// 0..100 (all cores together); 0 on the first reading.
	CPUPercent float64
	MemTotal   uint64 // bytes
	MemUsed    uint64 // bytes: total minus available
	DiskFree   uint64 // bytes available to unprivileged users on the data path
	DiskTotal  uint64
	// TempC is the hottest thermal zone in °C, 0 when the board has none.
	TempC  float64
	Uptime time.Duration // of the machine
}

// Reader keeps the previous CPU counters so each reading gives the use over
// the interval since the last one. The zero value is ready to use.
type Reader struct {
	// DataPath is where free disk is measured (the spool's directory).
	// Default "/".
	DataPath string
	// Root is prepended to /proc and /sys paths, for tests. Default "".
	Root string

	mu        sync.Mutex
	prevBusy  uint64
	prevTotal uint64
	havePrev  bool
}

// Read takes one reading. Fields that cannot be read are left zero.
func (r *Reader) Read() Info {
	var in Info
	r.mu.Lock()
	defer r.mu.Unlock()
	if busy, total, ok := cpuTimes(r.Root); ok {
		if r.havePrev && total > r.prevTotal {
			in.CPUPercent = 100 * float64(busy-r.prevBusy) / float64(total-r.prevTotal)
		}
		r.prevBusy, r.prevTotal, r.havePrev = busy, total, true
	}
	in.MemTotal, in.MemUsed = memory(r.Root)
	path := r.DataPath
	if path == "" {
		path = "/"
	}
	in.DiskFree, in.DiskTotal = disk(path)
	in.TempC = temperature(r.Root)
	in.Uptime = uptime(r.Root)
	return in
}
