package camera

import "time"

// rateWindow is how far back FPS and Kbps look.
const rateWindow = 5 * time.Second

// maxWindowUnits bounds the window's memory (over 200 fps the rates read low).
const maxWindowUnits = 1024

type sample struct {
	at    time.Time
	bytes int
}

// window is a sliding window of received units, oldest first, in a ring.
type window struct {
	ring  [maxWindowUnits]sample
	head  int // index of the oldest
	n     int
	bytes int
}

func (w *window) add(at time.Time, bytes int) {
	if w.n == maxWindowUnits {
		w.bytes -= w.ring[w.head].bytes
		w.head = (w.head + 1) % maxWindowUnits
		w.n--
	}
	w.ring[(w.head+w.n)%maxWindowUnits] = sample{at, bytes}
	w.n++
	w.bytes += bytes
}

func (w *window) prune(now time.Time) {
	for w.n > 0 && now.Sub(w.ring[w.head].at) > rateWindow {
		w.bytes -= w.ring[w.head].bytes
		w.head = (w.head + 1) % maxWindowUnits
		w.n--
	}
}

func (w *window) reset() { w.head, w.n, w.bytes = 0, 0, 0 }

// rates is units per second and kilobits per second over the window, or
// since from when the window is not full yet.
func (w *window) rates(now, from time.Time) (fps, kbps float64) {
	w.prune(now)
	if w.n == 0 {
		return 0, 0
	}
	span := rateWindow
	if d := now.Sub(from); d < span {
		span = d
	}
	count, bytes := float64(w.n), float64(w.bytes)
	if span < time.Second {
		// too short to divide by: measure between the first and last units
		first, last := w.ring[w.head], w.ring[(w.head+w.n-1)%maxWindowUnits]
		span = last.at.Sub(first.at)
		count--
		bytes -= float64(last.bytes)
		if count <= 0 || span <= 0 {
			return 0, 0
		}
	}
	sec := span.Seconds()
	return count / sec, bytes * 8 / 1000 / sec
}

// healthLocked is the current Health. s.mu is held.
func (s *Source) healthLocked(now time.Time) Health {
	h := Health{Online: s.online, Since: s.since, Err: s.lastErr}
	if s.online {
		h.FPS, h.Kbps = s.win.rates(now, s.since)
	}
	switch {
	case !s.lastFrame.IsZero():
		h.LastFrameAge = now.Sub(s.lastFrame)
	case !s.startedAt.IsZero():
		h.LastFrameAge = now.Sub(s.startedAt)
	}
	return h
}

// Health is the camera's current health.
func (s *Source) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.healthLocked(time.Now())
}

// maxHealthQueue bounds the changes waiting for OnHealth; the oldest go first.
const maxHealthQueue = 64

// setOnline records a change of Online and queues it for OnHealth. s.mu is
// held.
func (s *Source) setOnline(online bool, now time.Time) {
	if s.online == online {
		return
	}
	s.online, s.since = online, now
	if online {
		s.lastErr = ""
		s.backoff = s.BackoffMin
	} else {
		s.win.reset()
	}
	if s.OnHealth == nil {
		return
	}
	if len(s.healthQ) == maxHealthQueue {
		s.healthQ = s.healthQ[1:]
	}
	s.healthQ = append(s.healthQ, s.healthLocked(now))
	select {
	case s.healthSig <- struct{}{}:
	default:
	}
}

// notify calls OnHealth for each queued change, in order, from this one
// goroutine; after stop it delivers what is left and returns.
func (s *Source) notify(stop <-chan struct{}) {
	for {
		stopping := false
		select {
		case <-s.healthSig:
		case <-stop:
			stopping = true
		}
		for {
			s.mu.Lock()
			if len(s.healthQ) == 0 {
				s.mu.Unlock()
				break
			}
			h := s.healthQ[0]
			s.healthQ = s.healthQ[1:]
			s.mu.Unlock()
			s.OnHealth(h)
		}
		if stopping {
			return
		}
	}
}
