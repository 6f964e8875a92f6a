// Package live is the fleet's live-view relay: a gateway publishes one
// camera's H.264 stream over WHIP when the fleet asks for it, and browsers
// watch it over WHEP. One upstream per camera is fanned out to many viewers.
//
// How it works:
//
//	gateway ──WHIP──▶ upstream PC ─▶ camera ring (GOP cache) ─┬─▶ viewer PC ──WHEP──▶ browser
//	   ▲                                                      ├─▶ viewer PC ──▶ browser
//	   └── Config.Start / Config.Stop (live.start / live.stop) └─▶ ...
//
// The first viewer of a camera makes the relay call Config.Start with a fresh
// Ticket; the gateway answers by POSTing a WHIP offer with the ticket's token.
// The WHEP request of that first viewer waits until the upstream has
// delivered a keyframe. Further viewers share the upstream. Linger after the
// last viewer leaves, the relay calls Config.Stop and closes the upstream.
//
// Each upstream packet is read once into an immutable packet in a
// per-camera ring (4096 packets); the ring also marks the current GOP (from
// the last keyframe, at most 2000 packets / 4 MiB), so a late joiner starts
// with the cached keyframe instead of waiting for the next one. Its cached
// frames get timestamps 1 ms apart, so the browser decodes its way to the
// live picture at once. Each viewer keeps a cursor into the ring and its own
// sequence-number and timestamp offsets; a camera's few shard goroutines
// (up to GOMAXPROCS) are woken once per packet and write it to each of their
// viewers: header rewrite, SRTP encrypt, send, with no per-viewer copy or
// queue. A viewer that falls more than the ring behind loses packets
// (counted) and resumes at the next keyframe, so a slow viewer never grows
// memory. NACKs are answered from the ring and picture loss is forwarded to
// the publisher (at most once a second). Viewer tracks belong to the relay,
// so when the upstream is replaced (a re-published WHIP, or a re-Start after
// the upstream failed) viewers stay attached and their streams continue
// without a gap in sequence numbers and without timestamps going back; they
// resume at the new upstream's first keyframe.
//
// HLS (hls.go, hlsmux.go) is the second way out, for browsers without
// WebRTC: an HLS session is a viewer in every respect above (reserved
// under the same caps, starting the camera on demand, counted in Viewers
// and Sessions, ended by DELETE, Until, ViewerTTL or EndViewers, reported
// to OnViewerEnd), without a peer connection; it also ends after
// Config.HLSIdle without a request. The camera's HLS sessions share one
// gohlslib muxer (LL-HLS in fMP4: segments of about a GOP in parts of
// 200 ms), made with the first and closed with the last once no request
// waits in it (a gohlslib v2.2.0 bug otherwise hangs them; hlsmux.go),
// which reads the ring like a viewer from the cached GOP,
// reassembles access units and is bounded by gohlslib's segment window;
// overtaken by the ring it skips to the next keyframe.
//
// Authorization of viewers is the caller's job; the relay checks only the
// WHIP bearer token against the camera's current ticket. A viewer session
// ends when its peer leaves or fails, on DELETE, at Viewer.Until (a
// parent's viewing window closing), after Config.ViewerTTL (4 h), or when
// the caller ends it with EndViewers (its user logged out, was deleted or
// lost the right: the fleet's API rechecks every 30 s).
package live
