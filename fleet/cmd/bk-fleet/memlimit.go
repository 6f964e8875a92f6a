package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
)

// defaultMemoryLimitMiB is bk-fleet's soft memory limit when neither
// --memory-limit (BK_MEMORY_LIMIT) nor GOMEMLIMIT sets one.
const defaultMemoryLimitMiB = 256

// memoryLimit is the soft memory limit --memory-limit asks for, in bytes
// (math.MaxInt64 for 0, no limit), for debug.SetMemoryLimit; ok is false
// when the runtime's own limit is to stay: the flag was not given (on the
// command line or in BK_MEMORY_LIMIT) and GOMEMLIMIT is set, which the
// runtime has applied already.
//
// The limit is soft: near it the collector runs more often, so garbage
// (a flooding gateway's transient copies) does not pile up to twice the
// live heap (GOGC=100); it never fails an allocation, and live memory
// stays.
func memoryLimit(mib string, explicit bool) (limit int64, ok bool, err error) {
	n, err := strconv.ParseInt(mib, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>20 {
		return 0, false, fmt.Errorf("--memory-limit %q: want MiB, or 0 for no limit", mib)
	}
	if _, env := os.LookupEnv("GOMEMLIMIT"); env && !explicit {
		return 0, false, nil
	}
	if n == 0 {
		return math.MaxInt64, true, nil
	}
	return n << 20, true, nil
}
