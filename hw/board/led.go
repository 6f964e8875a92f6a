package board

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LEDClassDir is where the kernel lists its LEDs.
const LEDClassDir = "/sys/class/leds"

// LEDDir is the directory of an LED given by name ("ACT": LEDClassDir/ACT)
// or by its directory (an absolute path, kept as given).
func LEDDir(nameOrDir string) string {
	if filepath.IsAbs(nameOrDir) {
		return nameOrDir
	}
	return filepath.Join(LEDClassDir, nameOrDir)
}

// led is one LED of the kernel's LED class, driven through its sysfs
// files: brightness, max_brightness, trigger, and with the timer trigger
// delay_on and delay_off.
type led struct {
	dir   string
	on    string // what brightness is set to for on: max_brightness
	timer bool   // the trigger file offers "timer"
	was   string // the trigger selected when opened, put back by release
}

// openLED opens the LED at dir: it must have a brightness file.
func openLED(dir string) (*led, error) {
	if _, err := os.Stat(filepath.Join(dir, "brightness")); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no LED at %s: %w", dir, err)
	} else if err != nil {
		return nil, err
	}
	l := &led{dir: dir, on: "1", was: "none"}
	if b, err := os.ReadFile(filepath.Join(dir, "max_brightness")); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" && s != "0" {
			l.on = s
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "trigger")); err == nil {
		for _, t := range strings.Fields(string(b)) {
			if cur, ok := strings.CutPrefix(t, "["); ok {
				t = strings.TrimSuffix(cur, "]")
				l.was = t
			}
			if t == "timer" {
				l.timer = true
			}
		}
	}
	return l, nil
}

// write sets one attribute of the LED.
func (l *led) write(name, value string) error {
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(value))
	return errors.Join(err, f.Close())
}

// set switches the LED steadily on or off, with no trigger.
func (l *led) set(on bool) error {
	if err := l.write("trigger", "none"); err != nil {
		return err
	}
	return l.level(on)
}

// level writes brightness alone (the software blink, after set).
func (l *led) level(on bool) error {
	v := "0"
	if on {
		v = l.on
	}
	return l.write("brightness", v)
}

// blink makes the kernel blink the LED with the timer trigger; false when
// the LED has no timer trigger.
func (l *led) blink(on, off time.Duration) (bool, error) {
	if !l.timer {
		return false, nil
	}
	if err := l.write("trigger", "timer"); err != nil {
		return false, err
	}
	// the kernel makes delay_on and delay_off when the trigger is set
	if err := l.write("delay_on", fmt.Sprint(on.Milliseconds())); err != nil {
		return false, err
	}
	return true, l.write("delay_off", fmt.Sprint(off.Milliseconds()))
}

// release switches the LED off and puts back the trigger it had when
// opened (a board's activity LED goes back to showing disk activity).
func (l *led) release() error {
	if err := l.set(false); err != nil {
		return err
	}
	if l.was == "none" {
		return nil
	}
	return l.write("trigger", l.was)
}
