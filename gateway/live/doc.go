// Package live is the gateway's side of live view: it publishes one
// camera's H.264 stream to the fleet's relay over WHIP (RFC 9725) when the
// fleet sends live.start, and stops on live.stop.
//
//	camera.Source ──SubscribeGOP──▶ Publisher ──RTP/SRTP──▶ fleet relay (WHIP) ──WHEP──▶ browsers
//	 (the one RTSP     cached GOP,     SPS/PPS before IDRs,
//	  session)         then live       FU-A ≤ 1200 B, 90 kHz
//
// A Publisher is one WHIP session for one camera. It never opens a
// connection to the camera: it reads the camera's Source through a bounded
// subscription that starts with the cached GOP (the latest IDR and every
// unit since), so the viewer's first picture is sent as soon as ICE and DTLS
// are up instead of at the camera's next IDR. Units are packetized with
// pion's H.264 payloader; SPS and PPS are put back before every IDR that
// lacks them (cameras that send them only in the SDP otherwise show nothing
// in a browser). RTP timestamps are the camera's presentation times at
// 90 kHz, shifted after a camera reconnect so that they never go backwards.
//
// A Manager keeps at most one Publisher per camera: live.start for the same
// session is idempotent, a new session replaces the old one, and a session
// that fails on its own is republished with the same ticket a few times.
//
// An H.265-only camera is transcoded to H.264 (libavcodec, libx264) while
// it is published, since browsers' WebRTC does not decode H.265; it costs
// about 5% of a core for 640x360 and 20% for 1080p to 720p on an x86 core.
package live
