// Command bk-gateway is the BrightKitchen edge firmware: it pulls each
// camera's RTSP stream, spools what it sees and reports to the fleet.
//
//	bk-gateway run --config /etc/brightkitchen/gateway.yaml
//	bk-gateway check --config FILE
//	bk-gateway enrol --fleet URL --code CODE [--config FILE]
//	bk-gateway launch [--ota-dir DIR] [--max-starts N] run|check --config FILE
//	bk-gateway --version
//
// Exit status: 0 after SIGTERM or SIGINT, 1 when it cannot start or stop
// cleanly, 2 on bad flags, and 75 (wire.ExitRestart) when the fleet's
// restart command stopped it: the systemd unit's Restart=on-failure (or
// always) starts it again.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/core"
	"github.com/brightkitchen/brightkitchen/internal/logging"
	"github.com/brightkitchen/brightkitchen/internal/version"
)

const usage = `bk-gateway: BrightKitchen edge gateway

Usage:
  bk-gateway run --config FILE     run the gateway
  bk-gateway check --config FILE   validate FILE and exit (non-zero, naming the key, on a bad file)
  bk-gateway enrol --fleet URL --code CODE [--config FILE] [--name ID] [--ca FILE]
                                   exchange an enrolment code for this gateway's credentials and write them into FILE
  bk-gateway launch [--ota-dir DIR] [--max-starts N] run|check [flags]
                                   run or check with the installed update's binary (the systemd
                                   unit's entry point): the slot ota-dir/current points to, or this
                                   binary; rolls back an update that fails to start N times (default 3)
  bk-gateway --version             print the version

Flags of run and check:
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, "bk-gateway", version.String())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "enrol":
		return enrolCmd(args[1:], stdout, stderr)
	case "launch":
		return launch(args[1:], stdout, stderr)
	case "run", "check":
	default:
		fmt.Fprintf(stderr, "bk-gateway: unknown command %q (want run, check, enrol, launch or --version)\n", args[0])
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", envOr("BK_CONFIG", "/etc/brightkitchen/gateway.yaml"), "config file (env BK_CONFIG)")
	logFormat := fs.String("log-format", "", "text or json (default: the config's log.format)")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "bk-gateway: %s: %v\n", *cfgPath, err)
		return 1
	}
	if cmd == "check" {
		fmt.Fprintf(stdout, "%s: ok (gateway %s, %d cameras)\n", *cfgPath, cfg.Gateway.ID, len(cfg.Cameras))
		return 0
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	var level slog.LevelVar // set by the fleet's log.level as well
	level.Set(cfg.Log.SlogLevel())
	out := stderr
	if path := cfg.LogFile(); path != "" {
		// Beside stderr (journald): the file is what logs.upload sends.
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			fmt.Fprintf(stderr, "bk-gateway: log file: %v\n", err)
			return 1
		}
		lf, err := logging.OpenFile(path, int64(cfg.Log.FileSize))
		if err != nil {
			fmt.Fprintf(stderr, "bk-gateway: log.file_size: %v\n", err)
			return 1
		}
		defer lf.Close()
		out = io.MultiWriter(stderr, lf)
	}
	log, err := logging.NewLeveled(out, cfg.Log.Format, &level)
	if err != nil {
		fmt.Fprintf(stderr, "bk-gateway: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, err := core.New(ctx, cfg, log, &level)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case <-g.Restarting():
		// The fleet's restart command: a clean stop, then a status that
		// systemd's Restart=on-failure (or always) restarts.
		log.Info("stopping to restart", "exit_code", wire.ExitRestart)
		code = wire.ExitRestart
	case why := <-g.Restarts():
		// The service manager (Restart=always) starts the launcher again,
		// which runs the slot now current.
		log.Info("restarting", "why", why)
		code = wire.ExitRestart
	}
	if err := g.Close(); err != nil {
		log.Error("stop", "err", err)
		return 1
	}
	return code
}

func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}
