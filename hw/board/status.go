package board

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// State is what the status LED shows, the first that holds in this order.
type State int

const (
	// Booting: the gateway has started and has not yet reached the fleet
	// and its cameras.
	Booting State = iota
	// NoFleet: the fleet's broker has been unreachable past the offline
	// grace.
	NoFleet
	// CameraDown: the fleet is reached, a camera is not streaming.
	CameraDown
	// AllWell: the fleet is reached and every camera streams.
	AllWell
)

func (s State) String() string {
	switch s {
	case Booting:
		return "booting"
	case NoFleet:
		return "no fleet"
	case CameraDown:
		return "camera down"
	case AllWell:
		return "all well"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Pattern is how an LED shows a State: on for On, then off for Off, over
// and over. Off 0 is steady on.
type Pattern struct{ On, Off time.Duration }

// Pattern is the State's pattern, distinct for each State.
func (s State) Pattern() Pattern {
	switch s {
	case Booting:
		return Pattern{On: 100 * time.Millisecond, Off: 100 * time.Millisecond}
	case NoFleet:
		return Pattern{On: time.Second, Off: time.Second}
	case CameraDown:
		return Pattern{On: 100 * time.Millisecond, Off: 900 * time.Millisecond}
	}
	return Pattern{On: time.Second}
}

// StatusLight shows the gateway's State on an LED. Set the fields, then
// Start; Show changes the State; Close stops it.
type StatusLight struct {
	// LED is the LED's directory, e.g. /sys/class/leds/ACT (LEDDir makes
	// it from a name). Required.
	LED string
	// Logger. Default: discard.
	Logger *slog.Logger

	led    *led
	states chan State
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Start opens the LED and shows Booting.
func (s *StatusLight) Start(ctx context.Context) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	l, err := openLED(s.LED)
	if err != nil {
		return fmt.Errorf("status LED: %w", err)
	}
	s.led = l
	s.states = make(chan State, 1)
	s.states <- Booting
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx)
	return nil
}

// Show makes the LED show st from now on. It does not block: when states
// come faster than the LED takes them, the latest wins. Before Start it
// does nothing.
func (s *StatusLight) Show(st State) {
	if s.states == nil {
		return
	}
	for {
		select {
		case s.states <- st:
			return
		default:
		}
		select {
		case <-s.states: // drop the older state not yet shown
		default:
		}
	}
}

// run applies each State: a steady LED, the kernel's timer trigger, or a
// software blink on the brightness file when the LED has no timer.
func (s *StatusLight) run(ctx context.Context) {
	defer close(s.done)
	var (
		shown   = State(-1)
		blink   Pattern
		lit     bool
		toggle  = time.NewTimer(time.Hour)
		failing bool
	)
	toggle.Stop()
	defer toggle.Stop()
	note := func(err error) {
		if err != nil && !failing {
			s.Logger.Warn("status LED", "led", s.led.dir, "err", err)
		}
		failing = err != nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-s.states:
			if st == shown {
				continue // showing it already: do not restart the blink
			}
			shown = st
			toggle.Stop()
			p := st.Pattern()
			if p.Off == 0 {
				note(s.led.set(true))
				continue
			}
			hw, err := s.led.blink(p.On, p.Off)
			note(err)
			if hw || err != nil {
				continue
			}
			blink, lit = p, true
			note(s.led.set(true))
			toggle.Reset(p.On)
		case <-toggle.C:
			lit = !lit
			note(s.led.level(lit))
			if lit {
				toggle.Reset(blink.On)
			} else {
				toggle.Reset(blink.Off)
			}
		}
	}
}

// Close stops the LED, switches it off and gives it back the trigger it
// had. It waits for the LED's loop and may be called more than once.
func (s *StatusLight) Close() error {
	var err error
	s.once.Do(func() {
		if s.cancel == nil {
			return
		}
		s.cancel()
		<-s.done
		if err = s.led.release(); err != nil {
			err = fmt.Errorf("status LED: %w", err)
		}
	})
	return err
}
