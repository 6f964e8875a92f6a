// Package board drives the parts of the gateway's board that tell people
// and the kernel how the gateway is: the hardware watchdog, the status LED
// and the buzzer. Board metrics (temperature, disk, memory) are in package
// sysinfo.
//
// # Watchdog
//
// A Watchdog holds a Linux watchdog device (/dev/watchdog) open and writes
// a byte to it every Interval, but only while its Healthy function says
// the gateway is well. Once Healthy has failed for longer than Grace the
// Watchdog stops writing for good, and the device reboots the board when
// its timeout runs out. Close on a Watchdog still feeding the device writes
// the magic character 'V' before closing it, so a deliberate stop does not
// reboot the board (unless the driver was built with nowayout); Close on a
// Watchdog that has given up leaves the device armed. On Linux, Timeout is
// set with the WDIOC_SETTIMEOUT ioctl where the driver supports it;
// elsewhere, and on drivers without it, the device keeps its own timeout.
// Only one process may hold a watchdog device: not together with systemd's
// RuntimeWatchdogSec on the same device.
//
// # Status LED
//
// A StatusLight shows the gateway's State on one LED of the kernel's LED
// class (a directory such as /sys/class/leds/ACT), each State with its own
// Pattern:
//
//	Booting      fast blink, 100ms on / 100ms off
//	NoFleet      slow blink, 1s on / 1s off
//	CameraDown   short flash once a second, 100ms on / 900ms off
//	AllWell      steady on
//
// A blink uses the LED's "timer" trigger (delay_on, delay_off) where the
// LED offers it, so it goes on while the gateway is busy; otherwise the
// StatusLight switches the LED in software. Close puts back the trigger the
// LED had before. A GPIO line through the character device (/dev/gpiochipN)
// is planned; today a GPIO LED is used through the kernel's gpio-leds
// driver, which makes it an LED-class device.
//
// # Buzzer
//
// A Buzzer is a beeper wired as an LED-class device (gpio-leds, or a
// pwm-beeper exposed as an LED). Alarm sounds it, Beeps short beeps, unless
// it sounded less than MinGap ago: a burst of alarms beeps once.
//
// Every part takes its device as a path, so tests run against a fake sysfs
// tree and a regular file in a temporary directory.
package board
