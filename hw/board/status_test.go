package board

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// fakeLED makes an LED directory as the kernel's LED class shows one:
// brightness, max_brightness and trigger (the current one in brackets).
// With timer, the trigger offers "timer" and delay_on and delay_off exist
// (the kernel makes them when the timer trigger is chosen).
func fakeLED(t *testing.T, timer bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sys", "class", "leds", "status")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	trig := "none rc-feedback [mmc0] heartbeat"
	if timer {
		trig = "none rc-feedback [mmc0] timer heartbeat"
	}
	files := map[string]string{"brightness": "0\n", "max_brightness": "255\n", "trigger": trig + "\n"}
	if timer {
		files["delay_on"], files["delay_off"] = "500\n", "500\n"
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func attr(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestLEDDir(t *testing.T) {
	if got := LEDDir("ACT"); got != "/sys/class/leds/ACT" {
		t.Errorf("LEDDir(ACT) = %q", got)
	}
	if got := LEDDir("/tmp/x/led0"); got != "/tmp/x/led0" {
		t.Errorf("LEDDir(path) = %q", got)
	}
}

// Every state has its own pattern.
func TestPatternsDistinct(t *testing.T) {
	seen := map[Pattern]State{}
	for _, s := range []State{Booting, NoFleet, CameraDown, AllWell} {
		p := s.Pattern()
		if o, dup := seen[p]; dup {
			t.Errorf("%v and %v share the pattern %+v", s, o, p)
		}
		seen[p] = s
		if s.String() == "" || strings.HasPrefix(s.String(), "State(") {
			t.Errorf("state %d has no name", int(s))
		}
	}
}

// With the timer trigger, the kernel blinks: each state sets the trigger
// and its delays; all well is steady on at max_brightness; Close puts the
// LED's own trigger back.
func TestStatusLightTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := fakeLED(t, true)
		s := &StatusLight{LED: dir}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		check := func(st State, trigger, on, off string) {
			t.Helper()
			s.Show(st)
			synctest.Wait()
			if got := attr(t, dir, "trigger"); got != trigger {
				t.Errorf("%v: trigger %q, want %q", st, got, trigger)
			}
			if trigger == "timer" {
				if gon, goff := attr(t, dir, "delay_on"), attr(t, dir, "delay_off"); gon != on || goff != off {
					t.Errorf("%v: delays %s/%s, want %s/%s", st, gon, goff, on, off)
				}
			} else if got := attr(t, dir, "brightness"); got != on {
				t.Errorf("%v: brightness %s, want %s", st, got, on)
			}
		}
		synctest.Wait()
		if got := attr(t, dir, "delay_on"); got != "100" {
			t.Errorf("at Start: delay_on %s, want booting's 100", got)
		}
		check(NoFleet, "timer", "1000", "1000")
		check(CameraDown, "timer", "100", "900")
		check(AllWell, "none", "255", "")
		check(Booting, "timer", "100", "100")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got, b := attr(t, dir, "trigger"), attr(t, dir, "brightness"); got != "mmc0" || b != "0" {
			t.Errorf("after Close: trigger %q brightness %s, want mmc0 back and 0", got, b)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// Without the timer trigger the LED is blinked in software: the
// brightness file follows the pattern in time.
func TestStatusLightSoftware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := fakeLED(t, false)
		s := &StatusLight{LED: dir}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Show(CameraDown) // 100ms on, 900ms off
		synctest.Wait()
		if got := attr(t, dir, "trigger"); got != "none" {
			t.Errorf("trigger %q, want none", got)
		}
		// sample the brightness every 50ms for 2s
		var lit []bool
		for range 40 {
			lit = append(lit, attr(t, dir, "brightness") == "255")
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
		}
		var got strings.Builder
		for _, l := range lit {
			if l {
				got.WriteByte('#')
			} else {
				got.WriteByte('.')
			}
		}
		want := "##" + strings.Repeat(".", 18) + "##" + strings.Repeat(".", 18)
		if got.String() != want {
			t.Errorf("brightness over 2s:\n got %s\nwant %s", got.String(), want)
		}
		s.Show(AllWell)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := attr(t, dir, "brightness"); got != "255" {
			t.Errorf("all well: brightness %s, want steady 255", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := attr(t, dir, "brightness"); got != "0" {
			t.Errorf("after Close: brightness %s, want 0", got)
		}
	})
}

// Show never blocks, and the latest state wins.
func TestStatusLightLatestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := fakeLED(t, true)
		s := &StatusLight{LED: dir}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			s.Show(NoFleet)
			s.Show(CameraDown)
		}
		s.Show(AllWell)
		synctest.Wait()
		if got := attr(t, dir, "trigger"); got != "none" || attr(t, dir, "brightness") != "255" {
			t.Errorf("trigger %q: want the last state, all well", got)
		}
		_ = s.Close()
	})
}

func TestStatusLightMissing(t *testing.T) {
	s := &StatusLight{LED: filepath.Join(t.TempDir(), "nope")}
	s.Show(AllWell) // before Start: nothing, and no hang
	if err := s.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "status LED") {
		t.Errorf("Start on a missing LED: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after a failed Start: %v", err)
	}
}
