package camsim

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
)

// DefaultListen is the address a Server listens on when Listen is empty.
const DefaultListen = "127.0.0.1:8554"

// Camera is an extra path served by a Server: an independent camera playing
// a built-in scene, with its own stream, RTP timestamps and SSRC.
type Camera struct {
	// Path is the RTSP path, without slashes, for example "cam1". Required.
	Path string
	// Scene is the scene the camera plays, a name from Scenes() such as
	// "kitchen" or "night-h265". Required.
	Scene string
	// GOP is the camera's GOP length in seconds. It defaults to Server.GOP.
	GOP int
	// ParamsInSDPOnly strips the parameter sets from this camera's stream
	// (see Server.ParamsInSDPOnly). It defaults to Server.ParamsInSDPOnly.
	ParamsInSDPOnly bool
}

// ParseCamera parses a camera given as "path=scene", for example
// "cam1=kitchen" or "door=night-h265".
func ParseCamera(s string) (Camera, error) {
	p, scene, ok := strings.Cut(s, "=")
	if !ok || p == "" || scene == "" {
		return Camera{}, fmt.Errorf("%w: camera %q: want path=scene", ErrBadConfig, s)
	}
	return Camera{Path: p, Scene: scene}, nil
}

// Server is a simulated camera: an RTSP server that loops the built-in scenes
// in real time, one path per scene plus one per Camera. Set the fields, then
// call Start; the fields must not change afterwards.
type Server struct {
	// Listen is the TCP address of the RTSP server. It defaults to
	// DefaultListen ("127.0.0.1:8554"). With port 0 the system picks a free
	// port: read it back with Addr or URL.
	Listen string
	// GOP is the distance between IDR frames, in seconds: 1, 2 or 4 (see
	// SceneGOPs). It defaults to DefaultGOP (2). Scenes that have no clip at
	// this GOP (kitchen-1080 exists at 2 s only) are not served.
	GOP int
	// ParamsInSDPOnly sends the parameter sets (SPS, PPS and, for H.265, VPS)
	// only in the SDP, stripped from the stream, as some cameras do. By
	// default (false) they are in the SDP and also in-band before every IDR.
	ParamsInSDPOnly bool
	// Cameras are extra paths, each playing a scene as an independent camera.
	// It defaults to none.
	Cameras []Camera
	// NoScenes serves only the Cameras, not one path per built-in scene.
	// It defaults to false (scenes are served).
	NoScenes bool
	// Logger receives the server's logs. It defaults to slog.Default().
	Logger *slog.Logger

	// loopFrames, when > 0, makes paths loop over only their first
	// loopFrames access units (tests use it to reach the loop point soon).
	loopFrames int

	mu    sync.Mutex
	rtsp  *gortsplib.Server
	paths map[string]*path
	log   *slog.Logger
	// starting is set by the first Start; started once the paths exist.
	starting bool
	started  bool
	closed   bool
}

// Start validates the settings, listens and starts every path. On error
// nothing is left running.
func (s *Server) Start() error {
	s.mu.Lock()
	already := s.started || s.starting
	s.starting = true
	s.mu.Unlock()
	if already {
		return fmt.Errorf("camsim: server already started")
	}

	s.log = s.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "camsim")
	listen := s.Listen
	if listen == "" {
		listen = DefaultListen
	}
	gop := s.GOP
	if gop == 0 {
		gop = DefaultGOP
	}
	var srv *gortsplib.Server

	paths, err := s.buildPaths(gop)
	if err == nil {
		srv = &gortsplib.Server{
			Handler:     &handler{s: s},
			RTSPAddress: listen,
		}
		if err = srv.Start(); err != nil {
			err = fmt.Errorf("camsim: listen on %s: %w", listen, err)
		}
	}
	if err != nil {
		s.mu.Lock()
		s.starting = false // the settings may be fixed and Start called again
		s.mu.Unlock()
		return err
	}

	s.mu.Lock()
	s.rtsp = srv
	s.paths = paths
	s.started = true
	var startErr error
	for _, name := range sortedKeys(paths) {
		if err := paths[name].start(srv, s.log); err != nil {
			startErr = fmt.Errorf("camsim: start path %s: %w", name, err)
			break
		}
	}
	s.mu.Unlock()
	if startErr != nil {
		s.Close()
		return startErr
	}
	s.log.Info("camsim listening", "addr", srv.NetListener().Addr().String(),
		"gop_s", gop, "params_in_sdp_only", s.ParamsInSDPOnly, "paths", len(paths))
	return nil
}

// buildPaths checks the settings and makes the (not yet started) paths.
func (s *Server) buildPaths(gop int) (map[string]*path, error) {
	known := false
	for _, sc := range Scenes() {
		if slices.Contains(SceneGOPs(sc), gop) {
			known = true
		}
	}
	if !known {
		return nil, fmt.Errorf("camsim: %w: GOP %d s: scenes come with a GOP of %s s",
			ErrBadConfig, gop, joinInts(SceneGOPs("kitchen"), ", "))
	}

	paths := map[string]*path{}
	if !s.NoScenes {
		for _, sc := range Scenes() {
			c, err := Clip(sc, gop)
			if err != nil {
				// A scene without this GOP (kitchen-1080) is simply not served.
				continue
			}
			paths[sc] = s.newPath(sc, c, s.ParamsInSDPOnly)
		}
	}
	for i, cam := range s.Cameras {
		if cam.Path == "" || strings.ContainsAny(cam.Path, "/?#= \t") {
			return nil, fmt.Errorf("camsim: %w: cameras[%d].path %q: want a non-empty name without / ? # = or spaces",
				ErrBadConfig, i, cam.Path)
		}
		if _, dup := paths[cam.Path]; dup {
			return nil, fmt.Errorf("camsim: %w: cameras[%d].path %q: already served", ErrBadConfig, i, cam.Path)
		}
		g := cam.GOP
		if g == 0 {
			g = gop
		}
		c, err := Clip(cam.Scene, g)
		if err != nil {
			return nil, fmt.Errorf("camsim: cameras[%d] (%s): %w", i, cam.Path, err)
		}
		paths[cam.Path] = s.newPath(cam.Path, c, s.ParamsInSDPOnly || cam.ParamsInSDPOnly)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("camsim: %w: no path to serve (NoScenes without Cameras)", ErrBadConfig)
	}
	return paths, nil
}

// Close stops every path, disconnects every client and closes the listener.
// It waits for all of the server's goroutines to end. Close on a server that
// was never started does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.started || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var finish []func()
	for _, p := range s.paths {
		if f := p.detach(); f != nil {
			finish = append(finish, f)
		}
	}
	s.mu.Unlock()

	// Without the lock: gortsplib's callbacks take it, and closing waits
	// for them.
	for _, f := range finish {
		f()
	}
	s.rtsp.Close()
	return nil
}

// Addr returns the address the server listens on, with the real port when
// Listen asked for port 0. It is empty before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rtsp == nil {
		return ""
	}
	return s.rtsp.NetListener().Addr().String()
}

// URL returns the rtsp:// URL of a path, for example
// "rtsp://127.0.0.1:8554/kitchen". It does not check that the path exists.
func (s *Server) URL(path string) string {
	addr := s.Addr()
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "::" || host == "0.0.0.0") {
		// Listening on every interface: loopback reaches it.
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return "rtsp://" + addr + "/" + path
}

// PathInfo describes a path served by a Server.
type PathInfo struct {
	Name            string `json:"name"`
	Scene           string `json:"scene"`
	Codec           Codec  `json:"codec"`
	GOP             int    `json:"gop_s"`
	FPS             int    `json:"fps"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
	ParamsInSDPOnly bool   `json:"params_in_sdp_only"`
	Running         bool   `json:"running"`
}

// Paths describes the server's paths, sorted by name.
func (s *Server) Paths() []PathInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PathInfo, 0, len(s.paths))
	for _, name := range sortedKeys(s.paths) {
		p := s.paths[name]
		out = append(out, PathInfo{
			Name:            name,
			Scene:           p.clip.Scene,
			Codec:           p.clip.Codec,
			GOP:             p.clip.GOP,
			FPS:             p.clip.FPS,
			Width:           p.clip.Width,
			Height:          p.clip.Height,
			ParamsInSDPOnly: p.paramsInSDPOnly,
			Running:         p.stream != nil,
		})
	}
	return out
}

// StopPath simulates a camera going away: it stops the path's stream,
// disconnects its readers, and makes DESCRIBE and SETUP on it answer
// 404 Not Found until StartPath. Stopping a stopped path does nothing.
func (s *Server) StopPath(name string) error {
	s.mu.Lock()
	p, err := s.pathLocked(name)
	var finish func()
	if err == nil {
		finish = p.detach()
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if finish != nil {
		finish()
		s.log.Info("path stopped", "path", name)
	}
	return nil
}

// StartPath restarts a path stopped by StopPath, as a new stream (new SSRC
// and sequence numbers; the clip restarts at its first IDR). Starting a
// running path does nothing.
func (s *Server) StartPath(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pathLocked(name)
	if err != nil {
		return err
	}
	if p.stream == nil {
		if err := p.start(s.rtsp, s.log); err != nil {
			return fmt.Errorf("camsim: start path %s: %w", name, err)
		}
		s.log.Info("path started", "path", name)
	}
	return nil
}

func (s *Server) pathLocked(name string) (*path, error) {
	if !s.started || s.closed {
		return nil, fmt.Errorf("camsim: %w", ErrNotStarted)
	}
	p, ok := s.paths[name]
	if !ok {
		return nil, fmt.Errorf("camsim: %w: %q", ErrUnknownPath, name)
	}
	return p, nil
}

// stream returns the running stream of an RTSP request path, or nil.
func (s *Server) stream(reqPath string) *gortsplib.ServerStream {
	name := strings.Trim(reqPath, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if p, ok := s.paths[name]; ok {
		return p.stream
	}
	return nil
}

// handler answers gortsplib's server callbacks. Only reading is supported:
// without OnAnnounce, gortsplib refuses ANNOUNCE/RECORD.
type handler struct {
	s *Server
}

var _ interface {
	gortsplib.ServerHandlerOnDescribe
	gortsplib.ServerHandlerOnSetup
	gortsplib.ServerHandlerOnPlay
} = (*handler)(nil)

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	st := h.s.stream(ctx.Path)
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	st := h.s.stream(ctx.Path)
	if st == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *handler) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
