// Package sdnotify tells systemd how a service started with Type=notify is
// doing: READY=1 once it serves, WATCHDOG=1 as proof of life under
// WatchdogSec=, STOPPING=1 when it begins to stop, STATUS=... for
// `systemctl status`.
//
// It speaks systemd's notify protocol itself: each message is one datagram
// of newline-separated KEY=VALUE lines, sent on a unixgram socket to the
// path in $NOTIFY_SOCKET (a leading '@' names Linux's abstract namespace).
// Without $NOTIFY_SOCKET, as when the service is run by hand, a Notifier is
// nil and its methods do nothing.
//
// WatchdogInterval reads $WATCHDOG_USEC (and $WATCHDOG_PID, which must be
// this process when set): the caller sends WATCHDOG=1 at half of it, from
// the loop whose progress proves the service alive, so that a stuck loop
// stops the pings and systemd restarts the service.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Notifier sends notifications to systemd. A nil *Notifier sends nothing.
type Notifier struct {
	addr *net.UnixAddr
}

// sendTimeout bounds one datagram: systemd reads them at once, but a full
// socket queue must not stall the caller.
const sendTimeout = time.Second

// FromEnv returns the Notifier for the socket that NOTIFY_SOCKET in getenv
// names, or nil when it is not set.
func FromEnv(getenv func(string) string) (*Notifier, error) {
	path := getenv("NOTIFY_SOCKET")
	switch {
	case path == "":
		return nil, nil
	case path[0] != '/' && path[0] != '@':
		return nil, fmt.Errorf("NOTIFY_SOCKET %q: want an absolute path or an abstract name (@...)", path)
	}
	// The net package maps a leading '@' to the abstract namespace's NUL.
	return &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}, nil
}

// Send sends the lines (KEY=VALUE each) as one notification.
func (n *Notifier) Send(lines ...string) error {
	if n == nil || len(lines) == 0 {
		return nil
	}
	for _, l := range lines {
		if strings.ContainsRune(l, '\n') || !strings.Contains(l, "=") {
			return fmt.Errorf("sd_notify: %q is not one KEY=VALUE line", l)
		}
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if err := c.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// Ready says the service has started, with a status line.
func (n *Notifier) Ready(status string) error { return n.Send("READY=1", status1(status)) }

// Stopping says the service has begun to stop.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// Watchdog is one proof of life.
func (n *Notifier) Watchdog() error { return n.Send("WATCHDOG=1") }

// Status sets the line `systemctl status` shows.
func (n *Notifier) Status(status string) error { return n.Send(status1(status)) }

// status1 is a STATUS= line, with any line break made a space.
func status1(s string) string {
	return "STATUS=" + strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// WatchdogInterval is systemd's watchdog timeout for this process (pid),
// from WATCHDOG_USEC and WATCHDOG_PID in getenv; 0 when systemd expects no
// pings: WATCHDOG_USEC unset, or WATCHDOG_PID naming another process.
func WatchdogInterval(getenv func(string) string, pid int) (time.Duration, error) {
	us := getenv("WATCHDOG_USEC")
	if us == "" {
		return 0, nil
	}
	if p := getenv("WATCHDOG_PID"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("WATCHDOG_PID %q: %w", p, err)
		}
		if n != pid {
			return 0, nil
		}
	}
	n, err := strconv.ParseUint(us, 10, 63)
	if err != nil || n == 0 {
		return 0, errors.New("WATCHDOG_USEC " + strconv.Quote(us) + ": want a positive number of microseconds")
	}
	return time.Duration(n) * time.Microsecond, nil
}
