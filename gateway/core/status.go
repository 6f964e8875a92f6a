package core

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/brightkitchen/brightkitchen/fleet/wire"
	"github.com/brightkitchen/brightkitchen/gateway/detect"
	"github.com/brightkitchen/brightkitchen/internal/version"
	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// detectionStats is the pipeline counters of each detecting camera.
func (g *Gateway) detectionStats() map[string]detect.Stats {
	g.mu.Lock()
	cams := make([]*cameraRun, 0, len(g.cameras))
	for _, c := range g.cameras {
		cams = append(cams, c)
	}
	g.mu.Unlock()
	out := map[string]detect.Stats{}
	for _, c := range cams {
		if p := c.pipeline(); p != nil {
			out[c.cfg.ID] = p.Stats()
		}
	}
	return out
}

// Status is what the local status page shows an installer.
type Status struct {
	GatewayID string              `json:"gateway_id"`
	Version   string              `json:"version"`
	Uptime    string              `json:"uptime"`
	Connected bool                `json:"connected"`
	Session   uint64              `json:"session"`
	Cameras   []wire.CameraHealth `json:"cameras"`
	Spool     wire.SpoolStats     `json:"spool"`
	// Plugins are the detector plugins started so far.
	Plugins []sdk.State `json:"plugins"`
	// Detection is each detecting camera's pipeline counters.
	Detection map[string]detect.Stats `json:"detection"`
	// Live names the cameras being published for live view now.
	Live []string `json:"live"`
	// OTA is the update state: slot, state, the last update's outcome.
	OTA *wire.OTAStatus `json:"ota"`
	// Goroutines is the process's goroutine count, to spot leaks.
	Goroutines int `json:"goroutines"`
	// Setup says whether the setup page (/setup) is on.
	Setup bool `json:"setup"`
}

// Status reports the gateway's state.
func (g *Gateway) Status() Status {
	hb := g.heartbeat()
	return Status{
		GatewayID: g.cfg.Gateway.ID,
		Version:   version.String(),
		Uptime:    time.Since(g.started).Round(time.Second).String(),
		Connected: g.uplink.Connected(),
		Session:   g.uplink.Session(),
		Cameras:   hb.Cameras,
		Spool:     hb.Spool,
		Plugins:   g.pluginStates(),
		Detection: g.detectionStats(),
		Live:      g.live.Active(),
		OTA:       hb.OTA,

		Goroutines: runtime.NumGoroutine(),
		Setup:      g.setup != nil,
	}
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="5"><title>{{.GatewayID}} · BrightKitchen gateway</title>
<style>body{font:15px system-ui,sans-serif;margin:1em}table{border-collapse:collapse}td,th{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left}.ok{color:#080}.bad{color:#b00}</style>
</head><body>
<h1>网关 {{.GatewayID}}</h1>
{{if .Setup}}<p><a href="/setup">设置摄像头 · Set up the cameras</a></p>{{end}}
<p>版本 {{.Version}} · 运行 {{.Uptime}} · 平台连接 {{if .Connected}}<b class="ok">已连接</b>{{else}}<b class="bad">未连接</b>{{end}} · 待上报 {{.Spool.Depth}}</p>
{{with .OTA}}<p>升级 槽位 {{if .Slot}}{{.Slot}}{{else}}出厂{{end}} · {{.State}}{{if .Target}} → {{.Target}}{{end}}{{if .Progress}} {{.Progress}}%{{end}}{{with .Last}} · 上次 {{.Version}}: {{.Outcome}} {{.Reason}}{{end}}</p>{{end}}
<table><tr><th>摄像头</th><th>区域</th><th>状态</th><th>画面</th><th>fps</th><th>kbps</th></tr>
{{range .Cameras}}<tr><td>{{.CameraID}}</td><td>{{.Area}}</td><td>{{if .Online}}<span class="ok">在线</span>{{else}}<span class="bad">离线</span>{{end}}</td><td>{{.Picture}}</td><td>{{printf "%.1f" .FPS}}</td><td>{{printf "%.0f" .Kbps}}</td></tr>
{{end}}</table>
{{if .Plugins}}<table><tr><th>检测插件</th><th>版本</th><th>状态</th><th>帧数</th><th>每帧耗时 ms (平均/最近)</th><th>推理 ms</th><th>错误</th></tr>
{{range .Plugins}}<tr><td>{{.Name}}</td><td>{{.Version}}</td><td>{{if .Ready}}<span class="ok">运行中</span>{{else if .Quarantined}}<span class="bad">已隔离</span>{{else}}<span class="bad">未运行</span>{{end}}</td><td>{{.Calls}}</td><td>{{printf "%.1f / %.1f" .DetectMeanMS .DetectLastMS}}</td><td>{{if .InferLastMS}}{{printf "%.1f" .InferLastMS}}{{else}}-{{end}}</td><td>{{if not .Ready}}{{.LastError}}{{end}}</td></tr>
{{end}}</table>{{end}}</body></html>`))

func (g *Gateway) startHTTP(addr, file string) error {
	mux := http.NewServeMux()
	if g.cfg.HTTP.Setup {
		if err := g.startSetup(mux, file); err != nil {
			return err
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(g.Status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metricsRegistry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = statusPage.Execute(w, g.Status())
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	g.httpLn = ln
	g.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = g.httpSrv.Serve(ln) }()
	return nil
}
