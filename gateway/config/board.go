package config

import (
	"path/filepath"
	"strings"
	"time"
)

// Board is the board's own hardware: the watchdog, the status LED and the
// buzzer (package hw/board). All of it is off by default. Local only: the
// fleet's desired config cannot set it (gateway/core refuses it).
type Board struct {
	Watchdog Watchdog `yaml:"watchdog"`
	// StatusLED is the LED that shows the gateway's state (booting, no
	// fleet, camera down, all well): an LED's name in /sys/class/leds
	// ("ACT") or its directory, an absolute path. Default "" (none).
	StatusLED string `yaml:"status_led"`
	Buzzer    Buzzer `yaml:"buzzer"`
	Reboot    Reboot `yaml:"reboot"`
}

// Reboot is how the fleet's reboot command reboots the board. Off unless
// Allow is set here, in the local file: the fleet cannot turn it on.
type Reboot struct {
	// Allow lets the fleet's reboot command run Command. Default false:
	// the command is refused.
	Allow bool `yaml:"allow"`
	// Command is the program and its arguments, run without a shell;
	// it must be an absolute path or a name found in PATH. Default
	// [systemctl, reboot].
	Command []string `yaml:"command"`
}

// Watchdog is the hardware watchdog the gateway keeps alive while it is
// healthy.
type Watchdog struct {
	// Device is the watchdog device, an absolute path such as
	// /dev/watchdog. Default "" (off).
	Device string `yaml:"device"`
	// Timeout is set on the device where its driver allows: whole seconds,
	// 1s to 1h, or 0 to keep the driver's own. Default 0.
	Timeout time.Duration `yaml:"timeout"`
	// Grace is how long the gateway may be unhealthy (its main loop stuck,
	// its spool not writable) before it stops feeding the device, so that
	// the board reboots; 0 to 1h. Default 1m.
	Grace time.Duration `yaml:"grace"`
}

// Buzzer is a beeper, wired as an LED-class device, that sounds when a
// detection alarm starts.
type Buzzer struct {
	// Device is the beeper: an LED's name in /sys/class/leds or its
	// directory, an absolute path. Default "" (none).
	Device string `yaml:"device"`
	// MinGap is the least time between two sounded alarms, 1s to 24h; the
	// alarms in between are silent. Default 1m.
	MinGap time.Duration `yaml:"min_gap"`
}

func defaultBoard() Board {
	return Board{Watchdog: Watchdog{Grace: time.Minute}, Buzzer: Buzzer{MinGap: time.Minute},
		Reboot: Reboot{Command: []string{"systemctl", "reboot"}}}
}

// board checks the board section.
func (v *validator) board(b Board) {
	if d := b.Watchdog.Device; d != "" && (!filepath.IsAbs(d) || filepath.Clean(d) != d) {
		v.fail("board.watchdog.device", "%q: want an absolute path such as /dev/watchdog, or \"\" (off)", d)
	}
	if t := b.Watchdog.Timeout; t != 0 {
		v.duration("board.watchdog.timeout", t, time.Second, time.Hour)
		if t%time.Second != 0 {
			v.fail("board.watchdog.timeout", "%v: want whole seconds, or 0 for the driver's own", t)
		}
	}
	v.duration("board.watchdog.grace", b.Watchdog.Grace, 0, time.Hour)
	v.led("board.status_led", b.StatusLED)
	v.led("board.buzzer.device", b.Buzzer.Device)
	if b.StatusLED != "" && ledDir(b.StatusLED) == ledDir(b.Buzzer.Device) {
		v.fail("board.buzzer.device", "%q is the status LED too", b.Buzzer.Device)
	}
	v.duration("board.buzzer.min_gap", b.Buzzer.MinGap, time.Second, 24*time.Hour)
	if b.Reboot.Allow && (len(b.Reboot.Command) == 0 || b.Reboot.Command[0] == "") {
		v.fail("board.reboot.command", "empty: want a program and its arguments, such as [systemctl, reboot]")
	}
}

// led checks an LED given by name or by directory.
func (v *validator) led(path, s string) {
	switch {
	case s == "":
	case filepath.IsAbs(s):
		if filepath.Clean(s) != s {
			v.fail(path, "%q: want a clean absolute path", s)
		}
	case !validLEDName(s):
		v.fail(path, "%q: want an LED's name in /sys/class/leds (1 to 64 letters, digits, '.', '_', ':', '+' or '-', not \".\" or \"..\") or an absolute path", s)
	}
}

// ledDir is where an LED given by name or directory is (as hw/board's
// LEDDir has it).
func ledDir(s string) string {
	if filepath.IsAbs(s) {
		return s
	}
	return "/sys/class/leds/" + s
}

func validLEDName(s string) bool {
	if s == "" || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:+-", r))
	})
}
