package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/ota"
)

// launch is the service's entry point: it lets package ota decide which
// binary runs (the slot the current link points to, or this one), doing
// the launcher's part of an update on the way (counting a new version's
// starts, rolling back a crash loop), and then runs it with the rest of
// the arguments: exec'd, so the process (and systemd's MAINPID) stays the
// same, or in this process for the packaged binary. The launcher reads no
// config: a newer version's config may hold keys this binary does not
// know. It passes its --ota-dir on as BK_OTA_DIR, which wins over the
// config's ota.dir.
func launch(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("launch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("ota-dir", config.DefaultOTADir, "the OTA directory (slots, current link, pending marker)")
	maxStarts := fs.Int("max-starts", 3, "starts a new version gets without confirming before it is rolled back (1 to 20)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 || (rest[0] != "run" && rest[0] != "check") {
		fmt.Fprintln(stderr, "bk-gateway launch: want run or check and its flags after the launcher's flags")
		return 2
	}
	if *maxStarts < 1 || *maxStarts > 20 {
		fmt.Fprintln(stderr, "bk-gateway launch: --max-starts: want 1 to 20")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "launcher")
	os.Setenv("BK_OTA_DIR", *dir)
	l, err := ota.Dir(*dir).Launch(*maxStarts, time.Now().UTC(), rest[0] == "run")
	for _, n := range l.Notes {
		log.Warn(n)
	}
	if err != nil {
		// Whatever is wrong with the OTA directory, the packaged binary
		// still runs the gateway.
		log.Error("OTA directory: running the packaged binary", "dir", *dir, "err", err)
		return run(rest, stdout, stderr)
	}
	if l.Exe == "" {
		return run(rest, stdout, stderr)
	}
	os.Setenv("BK_OTA_SLOT", l.Slot)
	err = syscall.Exec(l.Exe, append([]string{l.Exe}, rest...), os.Environ())
	d := ota.Dir(*dir)
	if p, _ := d.Pending(); p != nil && p.Slot == l.Slot {
		// A new version that cannot even be exec'd is rolled back now,
		// and the launcher decides again.
		log.Error("exec the new version: rolling back", "exe", l.Exe, "err", err)
		if rerr := d.RollBack(p, "cannot be started: "+err.Error(), time.Now().UTC()); rerr == nil {
			return launch(args, stdout, stderr)
		}
	}
	log.Error("exec the current slot: running the packaged binary", "exe", l.Exe, "err", err)
	return run(rest, stdout, stderr)
}
