package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/gateway/enrol"
)

const enrolUsage = `Usage: bk-gateway enrol --fleet URL --code CODE [--config FILE] [--name ID] [--ca FILE] [--insecure] [--force]

Exchanges a one-time enrolment code (made on the canteen's page of the
fleet's web UI) for this gateway's identity and MQTT credentials, and writes
them into the config file (made from a template if absent; otherwise only
gateway.id and the broker's url, username, password and ca_file change).
Then start the gateway: bk-gateway run --config FILE.

Flags:
`

// enrolTimeout bounds the whole exchange with the fleet.
const enrolTimeout = 60 * time.Second

func enrolCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("enrol", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fleetURL := fs.String("fleet", "", "the fleet's web address, e.g. https://fleet.example.cn")
	code := fs.String("code", "", "the enrolment code, e.g. K7QM-2XJD-94RT-HVNA")
	cfgPath := fs.String("config", envOr("BK_CONFIG", "/etc/brightkitchen/gateway.yaml"), "config file to write (env BK_CONFIG)")
	name := fs.String("name", "", "the gateway id to ask for (default: the code's, or one the fleet makes up)")
	caFile := fs.String("ca", "", "PEM CA certificates that verify the fleet's HTTPS certificate (default: the system's)")
	insecure := fs.Bool("insecure", false, "allow plain http:// to a fleet on another machine (the password crosses the network in clear)")
	force := fs.Bool("force", false, "enrol again although the config has credentials already")
	fs.Usage = func() { fmt.Fprint(stderr, enrolUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "bk-gateway enrol: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *fleetURL == "" || *code == "":
		fmt.Fprintln(stderr, "bk-gateway enrol: --fleet and --code are required (bk-gateway enrol --help)")
		return 2
	}
	if c, err := config.Load(*cfgPath); err == nil && c.Broker.Password != "" && !*force {
		fmt.Fprintf(stderr, "bk-gateway enrol: %s: already enrolled as gateway %s; --force to enrol again with a new code\n", *cfgPath, c.Gateway.ID)
		return 1
	}
	// The file is checked before the code is spent.
	if err := enrol.CheckConfig(*cfgPath); err != nil {
		fmt.Fprintf(stderr, "bk-gateway enrol: %v\n(fix the config first; the code was not used)\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, enrolTimeout)
	defer cancel()
	r, err := enrol.Exchange(ctx, *fleetURL, *code, enrol.Options{Name: *name, CAFile: *caFile, Insecure: *insecure})
	if err != nil {
		msg := err.Error()
		if errors.Is(err, enrol.ErrInsecure) {
			msg += ", or --insecure to send it in clear anyway"
		}
		fmt.Fprintf(stderr, "bk-gateway enrol: %s\n", msg)
		return 1
	}
	if err := enrol.WriteConfig(*cfgPath, r); err != nil {
		// The code is spent: say what it gave, or it is lost.
		fmt.Fprintf(stderr, "bk-gateway enrol: enrolled as gateway %s, but %v\nPut these in the config by hand:\n"+
			"gateway:\n  id: %s\nbroker:\n  url: %s\n  username: %s\n  password: %s\n", r.GatewayID, err, r.GatewayID,
			r.BrokerURLs[0], r.Username, r.Password)
		return 1
	}
	if _, err := config.Load(*cfgPath); err != nil {
		fmt.Fprintf(stderr, "bk-gateway enrol: enrolled as gateway %s and wrote %s, but it does not pass the check: %v\n",
			r.GatewayID, *cfgPath, err)
		return 1
	}
	fmt.Fprintf(stdout, "enrolled as gateway %s of canteen %s; broker %s; wrote %s\nstart it: bk-gateway run --config %s\n",
		r.GatewayID, r.CanteenID, r.BrokerURLs[0], *cfgPath, *cfgPath)
	return 0
}
