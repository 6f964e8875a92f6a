package live

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/pion/webrtc/v4"
)

// WHEP serves a viewer's POST /whep/{cameraID}: an SDP offer in, 201 with
// the SDP answer and a Location to DELETE (handled by WHEPDelete). The
// caller has already authorized v to watch cameraID. The first viewer of a
// camera waits until its upstream has delivered a keyframe (at most
// Config.StartTimeout). Errors are JSON {"error", "code"}.
func (r *Relay) WHEP(w http.ResponseWriter, req *http.Request, cameraID string, v Viewer) {
	if err := r.whep(w, req, cameraID, v); err != nil {
		code := writeError(w, err)
		r.m.rejected.WithLabelValues(code).Inc()
		r.log.Debug("WHEP refused", "camera_id", cameraID, "principal", v.Principal, "code", code, "err", err)
	}
}

func (r *Relay) whep(w http.ResponseWriter, req *http.Request, cameraID string, who Viewer) error {
	start := time.Now()
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, DELETE")
		return fmt.Errorf("%w: %s (POST an SDP offer)", ErrMethod, req.Method)
	}
	if cameraID == "" {
		return fmt.Errorf("%w: empty camera id", ErrNotFound)
	}
	body, err := readOffer(w, req)
	if err != nil {
		return err
	}
	info, err := parseOffer(body, roleViewer)
	if err != nil {
		return err
	}
	c, err := r.reserve(cameraID, who)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			r.unreserve(c, who)
		}
	}()
	v, gathered, err := r.newViewerPC(c, who, string(body), info)
	if err != nil {
		return err
	}
	v.postStart = start
	// The offer is good: ask the gateway to publish (if nobody has) while
	// ICE gathers.
	r.ensureStarted(c)
	answer, err := awaitGathering(req.Context(), v.pc, gathered)
	if err != nil {
		_ = v.pc.Close()
		return err
	}
	if err := r.waitReady(req.Context(), c); err != nil {
		_ = v.pc.Close()
		return err
	}
	if err := r.register(v); err != nil {
		_ = v.pc.Close()
		return err
	}
	done = true
	if !r.spawn(v.rtcpLoop) {
		r.removeViewer(v, reasonShutdown)
		return ErrClosed
	}
	r.log.Info("viewer joined", "camera_id", cameraID, "viewer", v.id, "principal", who.Principal, "role", who.Role)
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", "/whep/"+url.PathEscape(cameraID)+"/"+v.id)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer))
	return nil
}

// newViewerPC applies a viewer's offer to a new peer connection with a
// send-only H.264 track that the relay owns; ICE gathering goes on.
func (r *Relay) newViewerPC(c *camera, who Viewer, offer string, info offerInfo) (*viewer, <-chan struct{}, error) {
	r.mu.Lock()
	prefer := c.profile
	r.mu.Unlock()
	pc, err := r.viewerAPI.NewPeerConnection(webrtc.Configuration{ICEServers: r.cfg.ICEServers})
	if err != nil {
		return nil, nil, fmt.Errorf("new peer connection: %w", err)
	}
	track := &viewerTrack{streamID: "bk-" + c.id, prefer: prefer}
	sender, err := pc.AddTrack(track)
	if err != nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("add track: %w", err)
	}
	v := newViewer(r, c, rand.Text(), who, track, uint16(mrand.Uint32()), mrand.Uint32())
	v.pc, v.sender = pc, sender
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed:
			r.removeViewer(v, reasonFailed)
		case webrtc.PeerConnectionStateClosed:
			r.removeViewer(v, reasonClosed)
		}
	})
	gathered, err := applyOffer(pc, offer)
	if err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	if track.binding.Load() == nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("%w: no offered H.264 format could be used (offered payload types %v)", ErrNoH264, info.h264)
	}
	return v, gathered, nil
}

// applyOffer sets offer and the answer on pc and returns a channel closed
// when ICE gathering completes.
func applyOffer(pc *webrtc.PeerConnection, offer string) (<-chan struct{}, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOfferRejected, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOfferRejected, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOfferRejected, err)
	}
	return gathered, nil
}

// awaitGathering returns pc's answer with all its ICE candidates (no
// trickle), or with those gathered within gatherTimeout.
func awaitGathering(ctx context.Context, pc *webrtc.PeerConnection, gathered <-chan struct{}) (string, error) {
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		// Answer with the candidates gathered so far.
	case <-ctx.Done():
		return "", fmt.Errorf("%w: request ended during ICE gathering: %v", ErrStartTimeout, ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

// WHEPDelete ends the viewer session of DELETE /whep/{cameraID}/{session}.
func (r *Relay) WHEPDelete(w http.ResponseWriter, req *http.Request, cameraID, session string) {
	if req.Method != http.MethodDelete {
		w.Header().Set("Allow", "DELETE")
		r.m.rejected.WithLabelValues(writeError(w, fmt.Errorf("%w: %s", ErrMethod, req.Method))).Inc()
		return
	}
	r.mu.Lock()
	v := r.sessions[session]
	r.mu.Unlock()
	if v == nil || v.cam.id != cameraID || v.hls != nil {
		r.m.rejected.WithLabelValues(writeError(w, fmt.Errorf("%w: viewer session %q of camera %q", ErrNotFound, session, cameraID))).Inc()
		return
	}
	r.removeViewer(v, reasonDeleted)
	w.WriteHeader(http.StatusOK)
}
