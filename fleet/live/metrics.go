package live

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the relay's Prometheus collectors. Labels stay low-cardinality:
// no camera or viewer ids.
type metrics struct {
	viewers     prometheus.Gauge
	upstreams   prometheus.Gauge
	bytesIn     prometheus.Counter
	bytesOut    prometheus.Counter
	firstFrame  prometheus.Histogram
	viewerDrops *prometheus.CounterVec
	packetDrops *prometheus.CounterVec
	starts      *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	retransmits prometheus.Counter
	hlsMuxers   prometheus.Gauge

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bk_live_bytes_total",
		Help: "RTP bytes relayed: direction=in from publishers, out to viewers (rate() gives the bitrate).",
	}, []string{"direction"})
	m := &metrics{
		viewers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bk_live_viewers",
			Help: "Viewer sessions (WHEP and HLS) currently open.",
		}),
		upstreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bk_live_upstreams",
			Help: "Cameras currently published to the relay (WHIP).",
		}),
		bytesIn:  bytes.WithLabelValues("in"),
		bytesOut: bytes.WithLabelValues("out"),
		firstFrame: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bk_live_first_frame_seconds",
			Help:    "Time from a WHEP POST to the first keyframe packet written to that viewer.",
			Buckets: []float64{0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20},
		}),
		viewerDrops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_live_viewer_drops_total",
			Help: "Viewer sessions ended by the relay or the network rather than by a DELETE, by reason.",
		}, []string{"reason"}),
		packetDrops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_live_dropped_packets_total",
			Help: "RTP packets not delivered to a viewer, by reason (slow_viewer: it fell behind the ring).",
		}, []string{"reason"}),
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_live_starts_total",
			Help: "Upstream starts requested from gateways, by result (ok, error, timeout).",
		}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bk_live_rejected_total",
			Help: "WHEP/WHIP requests answered with an error, by error code.",
		}, []string{"code"}),
		retransmits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bk_live_retransmits_total",
			Help: "RTP packets re-sent to viewers on their NACKs.",
		}),
		hlsMuxers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bk_live_hls_muxers",
			Help: "Cameras currently muxed to HLS (one muxer per camera with HLS viewers).",
		}),
		reg: reg,
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.viewers, m.upstreams, bytes, m.firstFrame,
		m.viewerDrops, m.packetDrops, m.starts, m.rejected, m.retransmits, m.hlsMuxers} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
				return nil, fmt.Errorf("register metrics: %w (one relay per registry)", err)
			}
			return nil, fmt.Errorf("register metrics: %w", err)
		}
		m.registered = append(m.registered, c)
	}
	return m, nil
}

func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
