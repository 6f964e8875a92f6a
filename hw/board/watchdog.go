package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Watchdog feeds a hardware watchdog device while the gateway is healthy.
// Set the fields, then Start; Close stops it.
type Watchdog struct {
	// Device is the watchdog device, e.g. /dev/watchdog. Required.
	Device string
	// Timeout is set on the device at Start where the driver supports it,
	// in whole seconds (rounded up). Default 0: the driver's own timeout.
	Timeout time.Duration
	// Interval is the time between two writes to the device. Default: a
	// third of the device's timeout, or 1s when the timeout is not known.
	Interval time.Duration
	// Grace is how long Healthy may keep failing before the Watchdog stops
	// feeding the device. Default 0: it stops at the first failure.
	Grace time.Duration
	// Healthy is asked before each write; an error is the reason the
	// gateway is not well. Default nil: always healthy.
	Healthy func() error
	// Logger. Default: discard.
	Logger *slog.Logger

	f        *os.File
	interval time.Duration
	cancel   context.CancelFunc
	done     chan struct{}

	mu      sync.Mutex
	kicks   uint64
	gaveUp  bool
	closeMu sync.Mutex
	closed  bool
}

// kick is what is written to feed the device: any byte but 'V', which
// would arm the magic close.
var kick = []byte{'k'}

// Start opens the device, which arms it, sets its timeout and starts
// feeding it.
func (w *Watchdog) Start(ctx context.Context) error {
	if w.Device == "" {
		return errors.New("watchdog: no device")
	}
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		w.Logger = log
	}
	f, err := os.OpenFile(w.Device, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open watchdog: %w", err)
	}
	w.f = f
	timeout := w.Timeout
	if w.Timeout > 0 {
		secs := int((w.Timeout + time.Second - 1) / time.Second)
		if err := setTimeout(f, secs); err != nil {
			log.Warn("watchdog: cannot set the timeout; the device keeps its own", "device", w.Device, "want", w.Timeout, "err", err)
			timeout = 0
		}
	}
	if secs, err := getTimeout(f); err == nil && secs > 0 {
		timeout = time.Duration(secs) * time.Second
	}
	w.interval = w.Interval
	if w.interval <= 0 {
		w.interval = time.Second
		if timeout > 0 {
			w.interval = timeout / 3
		}
	}
	log.Info("watchdog armed", "device", w.Device, "timeout", timeout, "interval", w.interval, "grace", w.Grace)
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go w.run(ctx)
	return nil
}

// run writes to the device every interval while Healthy holds, and returns
// for good once it has failed for longer than Grace (or ctx ends).
func (w *Watchdog) run(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	lastWell := time.Now()
	var ill error // the failure being tolerated, if any
	writeFailing := false
	for {
		err := w.healthy()
		switch {
		case err == nil:
			if ill != nil {
				w.Logger.Info("watchdog: healthy again", "after", time.Since(lastWell).Round(time.Millisecond))
			}
			lastWell, ill = time.Now(), nil
		case time.Since(lastWell) < w.Grace:
			if ill == nil {
				w.Logger.Warn("watchdog: gateway unhealthy; still feeding the device within the grace", "err", err, "grace", w.Grace)
			}
			ill = err
		default:
			w.Logger.Error("watchdog: gateway unhealthy past the grace; no longer feeding the device, the board will reboot",
				"err", err, "unhealthy_for", time.Since(lastWell).Round(time.Millisecond))
			w.mu.Lock()
			w.gaveUp = true
			w.mu.Unlock()
			return
		}
		if _, err := w.f.Write(kick); err != nil {
			if !writeFailing {
				w.Logger.Error("watchdog: write", "err", err)
			}
			writeFailing = true
		} else {
			writeFailing = false
			w.mu.Lock()
			w.kicks++
			w.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Watchdog) healthy() error {
	if w.Healthy == nil {
		return nil
	}
	return w.Healthy()
}

// Kicks is how many times the device has been fed.
func (w *Watchdog) Kicks() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.kicks
}

// GaveUp reports whether the Watchdog has stopped feeding the device
// because the gateway stayed unhealthy past the grace.
func (w *Watchdog) GaveUp() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gaveUp
}

// Close stops feeding the device and closes it: with the magic close, so
// the board does not reboot, unless the Watchdog had given up, in which
// case the device stays armed and the board reboots. Close waits for the
// feeding loop and may be called more than once.
func (w *Watchdog) Close() error {
	w.closeMu.Lock()
	defer w.closeMu.Unlock()
	if w.closed || w.f == nil {
		return nil
	}
	w.closed = true
	w.cancel()
	<-w.done
	var err error
	if w.GaveUp() {
		w.Logger.Warn("watchdog: closed while unhealthy; the device stays armed")
	} else if _, err = w.f.Write([]byte{'V'}); err != nil {
		err = fmt.Errorf("watchdog magic close: %w", err)
	} else {
		w.Logger.Info("watchdog disarmed")
	}
	return errors.Join(err, w.f.Close())
}
