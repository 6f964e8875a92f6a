// Command bk-camsim is a simulated IP camera: an RTSP server that loops
// synthetic kitchen scenes (see package camsim) in real time.
//
//	bk-camsim --listen 127.0.0.1:8554 --gop 2 --sdp-params-only \
//	    --camera cam1=kitchen --camera cam2=empty --control 127.0.0.1:8555
//
// Each scene is served on its own path (rtsp://127.0.0.1:8554/kitchen,
// .../kitchen-h265, ...), each --camera adds an independent path playing a
// scene. With --control, an HTTP endpoint stops and restarts paths to
// simulate cameras going away:
//
//	curl -X POST http://127.0.0.1:8555/paths/cam1/stop
//	curl -X POST http://127.0.0.1:8555/paths/cam1/start
//	curl http://127.0.0.1:8555/paths
//
// With --onvif, it also answers as an ONVIF camera (camsim.ONVIF): the
// device and media services on that HTTP address, WS-Discovery Probes on
// --onvif-discovery (UDP; --onvif-multicast also joins 239.255.255.250),
// one media profile per --onvif-profile token=path (default main=kitchen),
// and a WS-Security user with --onvif-user and --onvif-password:
//
//	bk-camsim --onvif 127.0.0.1:8080 --onvif-discovery 127.0.0.1:3702 \
//	    --onvif-profile main=kitchen-1080 --onvif-profile sub=kitchen
//
// Exit codes: 0 after SIGINT/SIGTERM, 1 when the server fails, 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/brightkitchen/brightkitchen/hw/camsim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cameraFlags collects repeated --camera path=scene flags.
type cameraFlags []camsim.Camera

func (c *cameraFlags) String() string { return "" }

func (c *cameraFlags) Set(v string) error {
	cam, err := camsim.ParseCamera(v)
	if err != nil {
		return errors.New("want path=scene, for example cam1=kitchen")
	}
	*c = append(*c, cam)
	return nil
}

// profileFlags collects repeated --onvif-profile token=path flags.
type profileFlags []camsim.ONVIFProfile

func (p *profileFlags) String() string { return "" }

func (p *profileFlags) Set(v string) error {
	tok, path, ok := strings.Cut(v, "=")
	if !ok || tok == "" || path == "" {
		return errors.New("want token=path, for example main=kitchen")
	}
	*p = append(*p, camsim.ONVIFProfile{Token: tok, Path: path})
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bk-camsim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		s         camsim.Server
		cameras   cameraFlags
		control   = fs.String("control", "", "serve the HTTP control API (POST /paths/{name}/stop|start, GET /paths) on this address; off when empty")
		logLevel  = fs.String("log-level", "info", "log level: debug, info, warn or error")
		list      = fs.Bool("list", false, "print the scenes and their GOP lengths, then exit")
		onv       camsim.ONVIF
		onvListen = fs.String("onvif", "", "answer as an ONVIF camera: the device and media services on this HTTP address; off when empty")
		profiles  profileFlags
	)
	fs.StringVar(&onv.Discovery, "onvif-discovery", "", "with --onvif: answer WS-Discovery probes on this UDP address")
	fs.BoolVar(&onv.Multicast, "onvif-multicast", false, "with --onvif-discovery: also join the group 239.255.255.250 on its port")
	fs.StringVar(&onv.Username, "onvif-user", "", "with --onvif: the user media requests must authenticate as (WS-Security digest); none when empty")
	fs.StringVar(&onv.Password, "onvif-password", "", "with --onvif-user: its password")
	fs.StringVar(&onv.Name, "onvif-name", "camsim", "with --onvif: the device name in its discovery scopes")
	fs.Var(&profiles, "onvif-profile", "with --onvif: a media profile as token=path (repeatable, main stream first); default main=kitchen")
	fs.StringVar(&s.Listen, "listen", camsim.DefaultListen, "RTSP listen address (port 0 picks a free port)")
	fs.IntVar(&s.GOP, "gop", camsim.DefaultGOP, "seconds between IDR frames: 1, 2 or 4")
	fs.BoolVar(&s.ParamsInSDPOnly, "sdp-params-only", false, "send SPS/PPS/VPS only in the SDP, not in-band before each IDR")
	fs.BoolVar(&s.NoScenes, "no-scenes", false, "serve only the --camera paths, not one path per scene")
	fs.Var(&cameras, "camera", "add a camera path playing a scene, as path=scene (repeatable), e.g. cam1=kitchen")
	usage := func() {
		fmt.Fprintf(stdout, "Usage: bk-camsim [flags]\n\nA simulated IP camera: an RTSP server looping synthetic kitchen scenes.\nScenes: %s\n\nFlags:\n",
			strings.Join(camsim.Scenes(), ", "))
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	fs.Usage = func() {} // flag calls it on every parse error: keep errors to one line

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return 0
		}
		fmt.Fprintf(stderr, "bk-camsim: %v (see --help)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bk-camsim: unexpected argument %q (see --help)\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "bk-camsim: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	if *list {
		for _, sc := range camsim.Scenes() {
			gops := camsim.SceneGOPs(sc)
			fmt.Fprintf(stdout, "%-14s GOP %s s\n", sc, strings.Trim(fmt.Sprint(gops), "[]"))
		}
		return 0
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	s.Cameras = cameras
	s.Logger = log
	if err := s.Start(); err != nil {
		fmt.Fprintf(stderr, "bk-camsim: %v\n", err)
		if errors.Is(err, camsim.ErrBadConfig) || errors.Is(err, camsim.ErrUnknownScene) || errors.Is(err, camsim.ErrNoClip) {
			return 2
		}
		return 1
	}
	defer s.Close()
	for _, p := range s.Paths() {
		log.Info("path", "url", s.URL(p.Name), "scene", p.Scene, "codec", p.Codec,
			"size", fmt.Sprintf("%dx%d", p.Width, p.Height), "fps", p.FPS, "gop_s", p.GOP)
	}

	if *onvListen != "" {
		onv.Server, onv.Listen, onv.Profiles, onv.Logger = &s, *onvListen, profiles, log
		if err := onv.Start(); err != nil {
			fmt.Fprintf(stderr, "bk-camsim: %v\n", err)
			return 1
		}
		defer onv.Close()
		log.Info("ONVIF device service", "xaddr", onv.XAddr(), "discovery", onv.DiscoveryAddr())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *control != "" {
		ln, err := net.Listen("tcp", *control)
		if err != nil {
			fmt.Fprintf(stderr, "bk-camsim: --control: %v\n", err)
			return 1
		}
		hs := &http.Server{Handler: s.ControlHandler(), ReadHeaderTimeout: 5 * time.Second}
		errc := make(chan error, 1)
		go func() { errc <- hs.Serve(ln) }()
		log.Info("control API listening", "addr", "http://"+ln.Addr().String())
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = hs.Shutdown(sctx)
		}()
		select {
		case <-ctx.Done():
		case err := <-errc:
			fmt.Fprintf(stderr, "bk-camsim: control API: %v\n", err)
			return 1
		}
	} else {
		<-ctx.Done()
	}
	log.Info("shutting down")
	return 0
}
