package board

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// An alarm sounds Beeps beeps; alarms within MinGap of a sounded one are
// silent; after the gap the next one sounds again.
func TestBuzzer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := fakeLED(t, false)
		b := &Buzzer{Device: dir, Beeps: 2, Beep: 100 * time.Millisecond, MinGap: 10 * time.Second}
		if err := b.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		record := func(d time.Duration) string {
			var s strings.Builder
			for range d / (50 * time.Millisecond) {
				synctest.Wait()
				if attr(t, dir, "brightness") == "255" {
					s.WriteByte('#')
				} else {
					s.WriteByte('.')
				}
				time.Sleep(50 * time.Millisecond)
			}
			return s.String()
		}
		if !b.Alarm() {
			t.Fatal("first alarm not sounded")
		}
		if b.Alarm() {
			t.Error("an alarm right after a sounded one was sounded")
		}
		if got, want := record(time.Second), "##..##"+strings.Repeat(".", 14); got != want {
			t.Errorf("beeper over 1s:\n got %s\nwant %s", got, want)
		}
		time.Sleep(5 * time.Second)
		if b.Alarm() {
			t.Error("an alarm 6s after a sounded one was sounded (gap 10s)")
		}
		if got := record(time.Second); strings.Contains(got, "#") {
			t.Errorf("a silenced alarm beeped: %s", got)
		}
		time.Sleep(3 * time.Second) // 10s since the first
		if !b.Alarm() {
			t.Error("an alarm past the gap was not sounded")
		}
		if got := record(time.Second); strings.Count(got, "#") != 4 {
			t.Errorf("second alarm: %s, want two beeps", got)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if attr(t, dir, "brightness") != "0" || attr(t, dir, "trigger") != "mmc0" {
			t.Error("Close left the beeper on or without its trigger")
		}
	})
}

// Close during a beep silences it.
func TestBuzzerCloseWhileBeeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := fakeLED(t, true)
		b := &Buzzer{Device: dir, Beep: time.Hour}
		if err := b.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		b.Alarm()
		synctest.Wait()
		if attr(t, dir, "brightness") != "255" {
			t.Fatal("not beeping")
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if attr(t, dir, "brightness") != "0" {
			t.Error("still beeping after Close")
		}
	})
}
