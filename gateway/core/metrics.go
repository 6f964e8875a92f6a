package core

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/brightkitchen/brightkitchen/internal/version"
)

// metrics is the gateway's Prometheus collector, served at /metrics on the
// status page's listener (http.listen). It reads the components' own
// counters at each scrape, so nothing is counted twice. Names (SPEC.md
// §2, "Gateway metrics"):
//
//	bk_gateway_info{version}                                   1
//	bk_gateway_camera_up{camera}                               1 streaming, 0 not
//	bk_gateway_camera_fps{camera}                              frames a second now
//	bk_gateway_camera_frames_total{camera}                     access units received
//	bk_gateway_camera_reconnects_total{camera}                 connection attempts after the first
//	bk_gateway_detection_frames_total{camera}                  pictures sent to the detectors
//	bk_gateway_detection_decoded_total{camera}                 pictures decoded
//	bk_gateway_detection_plugin_errors_total{camera}           failed detector calls
//	bk_gateway_detection_missed_total{camera}                  units lost while detection was behind
//	bk_gateway_detection_episodes_total{camera}                alarm transitions emitted
//	bk_gateway_spool_depth                                     records waiting for the fleet's ack
//	bk_gateway_spool_bytes                                     their bytes
//	bk_gateway_spool_dropped_total{what="records"|"snapshots"} dropped to stay within budget
//	bk_gateway_spool_write_errors_total                        records that could not be spooled
//	bk_gateway_uplink_connected                                1 while connected to the broker
//	bk_gateway_uplink_connects_total                           connections established
//	bk_gateway_uplink_published_total                          records sent the first time
//	bk_gateway_uplink_retries_total                            records sent again
//	bk_gateway_uplink_acked_total                              records the fleet acknowledged
//	bk_gateway_uplink_inflight                                 records sent and not yet acked
//	bk_gateway_uplink_commands_total                           commands run
//	bk_gateway_plugin_up{plugin}                               1 running, 0 not
//	bk_gateway_plugin_quarantined{plugin}                      1 when no longer relaunched
//	bk_gateway_plugin_restarts_total{plugin}                   relaunches after a failure
//	bk_gateway_plugin_calls_total{plugin}                      Detect calls
//	bk_gateway_ota_state{state,slot,target}                    1 for the update state now (idle, downloading, ...)
//	bk_gateway_ota_progress                                    the download's percentage, 0 to 100
//	bk_gateway_ota_last{outcome}                               1 for how the last update ended (confirmed, rolled_back, failed)
//
// plus the Go runtime's and the process's (go_*, process_*).
type metrics struct {
	g *Gateway

	info, camUp, camFPS, camFrames, camReconnects        *prometheus.Desc
	detFrames, detDecoded, detPluginErrors, detEpisodes  *prometheus.Desc
	detMissed                                            *prometheus.Desc
	spoolDepth, spoolBytes, spoolDropped, spoolWriteErrs *prometheus.Desc
	upConnected, upConnects, upPublished, upRetries      *prometheus.Desc
	upAcked, upInflight, upCommands                      *prometheus.Desc
	plugUp, plugQuarantined, plugRestarts, plugCalls     *prometheus.Desc
	otaState, otaProgress, otaLast                       *prometheus.Desc
}

func newMetrics(g *Gateway) *metrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("bk_gateway_"+name, help, labels, nil)
	}
	return &metrics{g: g,
		info:            d("info", "The gateway's version.", "version"),
		camUp:           d("camera_up", "1 while the camera streams, 0 when not.", "camera"),
		camFPS:          d("camera_fps", "Frames a second the camera sends now.", "camera"),
		camFrames:       d("camera_frames_total", "Access units received from the camera.", "camera"),
		camReconnects:   d("camera_reconnects_total", "Connection attempts to the camera after the first.", "camera"),
		detFrames:       d("detection_frames_total", "Pictures sent to the detector plugins.", "camera"),
		detDecoded:      d("detection_decoded_total", "Pictures decoded for detection.", "camera"),
		detPluginErrors: d("detection_plugin_errors_total", "Detector calls that failed (plugin down, deadline, refusal).", "camera"),
		detEpisodes:     d("detection_episodes_total", "Alarm episode transitions emitted.", "camera"),
		detMissed:       d("detection_missed_total", "Access units lost while detection was behind (slow plugins, a busy CPU); decoding waits for the next IDR after each gap.", "camera"),
		spoolDepth:      d("spool_depth", "Records waiting for the fleet's ack."),
		spoolBytes:      d("spool_bytes", "Bytes of the records waiting."),
		spoolDropped:    d("spool_dropped_total", "Records and snapshots dropped to stay within the spool's budget.", "what"),
		spoolWriteErrs:  d("spool_write_errors_total", "Records that could not be spooled (disk full, I/O error)."),
		upConnected:     d("uplink_connected", "1 while connected to the fleet's broker."),
		upConnects:      d("uplink_connects_total", "Connections to the broker established."),
		upPublished:     d("uplink_published_total", "Records sent to the fleet for the first time."),
		upRetries:       d("uplink_retries_total", "Records sent again (ack timeout or reconnect)."),
		upAcked:         d("uplink_acked_total", "Records the fleet acknowledged."),
		upInflight:      d("uplink_inflight", "Records sent and not yet acknowledged."),
		upCommands:      d("uplink_commands_total", "Commands from the fleet run."),
		plugUp:          d("plugin_up", "1 while the detector plugin runs.", "plugin"),
		plugQuarantined: d("plugin_quarantined", "1 when the plugin kept crashing and is no longer relaunched.", "plugin"),
		plugRestarts:    d("plugin_restarts_total", "Relaunches of the plugin after a failure.", "plugin"),
		plugCalls:       d("plugin_calls_total", "Detect calls to the plugin.", "plugin"),
		otaState:        d("ota_state", "1 for the update state now, with the slot running and the version being installed.", "state", "slot", "target"),
		otaProgress:     d("ota_progress", "The update download's percentage, 0 to 100."),
		otaLast:         d("ota_last", "1 for how the last update ended.", "outcome"),
	}
}

// Describe sends nothing: the collector is unchecked, its label values
// (cameras, plugins) change with the config.
func (m *metrics) Describe(chan<- *prometheus.Desc) {}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect reads every component's counters now.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	g := m.g
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(m.info, 1, version.String())

	g.mu.Lock()
	cams := make([]*cameraRun, 0, len(g.cameras))
	for _, c := range g.cameras {
		cams = append(cams, c)
	}
	g.mu.Unlock()
	for _, c := range cams {
		id := c.cfg.ID
		h, st := c.src.Health(), c.src.Stats()
		gauge(m.camUp, b2f(h.Online), id)
		gauge(m.camFPS, h.FPS, id)
		counter(m.camFrames, st.Frames, id)
		counter(m.camReconnects, max(st.Attempts, 1)-1, id)
		if p := c.pipeline(); p != nil {
			ps := p.Stats()
			counter(m.detFrames, ps.Sampled, id)
			counter(m.detDecoded, ps.Decoded, id)
			counter(m.detPluginErrors, ps.PluginErrors, id)
			counter(m.detEpisodes, ps.Episodes, id)
			counter(m.detMissed, ps.Missed, id)
		}
	}

	sp := g.spool.Stats()
	gauge(m.spoolDepth, float64(sp.Depth))
	gauge(m.spoolBytes, float64(sp.Bytes))
	counter(m.spoolDropped, sp.DroppedRecords, "records")
	counter(m.spoolDropped, sp.DroppedBlobs, "snapshots")
	counter(m.spoolWriteErrs, g.writeErrs.Load())

	if g.uplink != nil {
		us := g.uplink.Stats()
		gauge(m.upConnected, b2f(us.Connected))
		counter(m.upConnects, us.Connects)
		counter(m.upPublished, us.Published)
		counter(m.upRetries, us.Resent)
		counter(m.upAcked, us.Acked)
		gauge(m.upInflight, float64(us.Inflight))
		counter(m.upCommands, us.Commands)
	}

	for _, p := range g.pluginStates() {
		gauge(m.plugUp, b2f(p.Ready), p.Name)
		gauge(m.plugQuarantined, b2f(p.Quarantined), p.Name)
		counter(m.plugRestarts, uint64(max(p.Restarts, 0)), p.Name)
		counter(m.plugCalls, p.Calls, p.Name)
	}
	m.otaMetrics(ch)
}

// otaMetrics sends the update state (gateway/ota): what it does now, from
// which slot, towards which version, and how the last update ended.
func (m *metrics) otaMetrics(ch chan<- prometheus.Metric) {
	if m.g.ota == nil {
		return
	}
	st := m.g.ota.Status()
	ch <- prometheus.MustNewConstMetric(m.otaState, prometheus.GaugeValue, 1, st.State, st.Slot, st.Target)
	ch <- prometheus.MustNewConstMetric(m.otaProgress, prometheus.GaugeValue, float64(st.Progress))
	if st.Last != nil {
		ch <- prometheus.MustNewConstMetric(m.otaLast, prometheus.GaugeValue, 1, st.Last.Outcome)
	}
}

// metricsRegistry is the registry /metrics serves: the gateway's collector
// with the Go runtime's and the process's.
func (g *Gateway) metricsRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(newMetrics(g), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}
