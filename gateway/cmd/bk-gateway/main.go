// Command bk-gateway is the BrightKitchen edge firmware: it pulls each
// camera's RTSP stream, spools what it sees and reports to the fleet.
//
//	bk-gateway run --config /etc/brightkitchen/gateway.yaml
//	bk-gateway check --config FILE
//	bk-gateway --version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/core"
	"github.com/brightkitchen/brightkitchen/internal/logging"
	"github.com/brightkitchen/brightkitchen/internal/version"
)

const usage = `bk-gateway: BrightKitchen edge gateway

Usage:
  bk-gateway run --config FILE     run the gateway
  bk-gateway check --config FILE   validate FILE and exit (non-zero, naming the key, on a bad file)
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
	case "run", "check":
	default:
		fmt.Fprintf(stderr, "bk-gateway: unknown command %q (want run, check or --version)\n", args[0])
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
	log, err := logging.NewLeveled(stderr, cfg.Log.Format, &level)
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
	<-ctx.Done()
	log.Info("stopping")
	if err := g.Close(); err != nil {
		log.Error("stop", "err", err)
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}
