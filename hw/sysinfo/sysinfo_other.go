//go:build !linux

package sysinfo

import "time"

func cpuTimes(string) (uint64, uint64, bool) { return 0, 0, false }
func memory(string) (uint64, uint64)         { return 0, 0 }
func disk(string) (uint64, uint64)           { return 0, 0 }
func temperature(string) float64             { return 0 }
func uptime(string) time.Duration            { return 0 }
