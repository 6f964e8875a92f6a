package board

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Buzzer sounds a local alarm on a beeper wired as an LED-class device.
// Set the fields, then Start; Alarm sounds it; Close stops it.
type Buzzer struct {
	// Device is the beeper's LED directory, e.g. /sys/class/leds/beeper
	// (LEDDir makes it from a name). Required.
	Device string
	// Beeps is how many beeps one alarm sounds. Default 3.
	Beeps int
	// Beep is the length of one beep and of the pause after it. Default
	// 150ms.
	Beep time.Duration
	// MinGap is the least time from one sounded alarm to the next: an
	// alarm sooner than that is not sounded. Default 1m.
	MinGap time.Duration
	// Logger. Default: discard.
	Logger *slog.Logger

	led    *led
	alarms chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu   sync.Mutex
	last time.Time // when the last sounded alarm was asked for
}

// Start opens the beeper and switches it off.
func (b *Buzzer) Start(ctx context.Context) error {
	if b.Logger == nil {
		b.Logger = slog.New(slog.DiscardHandler)
	}
	if b.Beeps <= 0 {
		b.Beeps = 3
	}
	if b.Beep <= 0 {
		b.Beep = 150 * time.Millisecond
	}
	if b.MinGap <= 0 {
		b.MinGap = time.Minute
	}
	l, err := openLED(b.Device)
	if err != nil {
		return fmt.Errorf("buzzer: %w", err)
	}
	if err := l.set(false); err != nil {
		return fmt.Errorf("buzzer: %w", err)
	}
	b.led = l
	b.alarms = make(chan struct{}, 1)
	ctx, b.cancel = context.WithCancel(ctx)
	b.done = make(chan struct{})
	go b.run(ctx)
	return nil
}

// Alarm sounds the buzzer, unless it sounded less than MinGap ago, and
// reports whether it does. It does not block.
func (b *Buzzer) Alarm() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !b.last.IsZero() && now.Sub(b.last) < b.MinGap {
		return false
	}
	b.last = now
	select {
	case b.alarms <- struct{}{}:
	default: // one is about to sound
	}
	return true
}

func (b *Buzzer) run(ctx context.Context) {
	defer close(b.done)
	pause := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.alarms:
		}
		for range b.Beeps {
			err := b.led.level(true)
			if err == nil {
				pause(b.Beep)
				err = b.led.level(false)
			}
			if err != nil {
				b.Logger.Warn("buzzer", "device", b.led.dir, "err", err)
				break
			}
			if !pause(b.Beep) {
				break
			}
		}
	}
}

// Close silences the beeper and gives it back the trigger it had. It
// waits for the beeper's loop and may be called more than once.
func (b *Buzzer) Close() error {
	var err error
	b.once.Do(func() {
		if b.cancel == nil {
			return
		}
		b.cancel()
		<-b.done
		if err = b.led.release(); err != nil {
			err = fmt.Errorf("buzzer: %w", err)
		}
	})
	return err
}
