package live

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pion/webrtc/v4"
)

// WHIP serves the gateway's POST /whip/{cameraID}: the bearer token must be
// the token of the camera's current ticket (else 401/403, 404 when the
// fleet asked for no stream), the SDP offer must send one H.264 video
// track. It answers 201 with the SDP answer and a Location to DELETE
// (WHIPDelete). A second POST with the same ticket replaces the upstream;
// viewers stay attached.
func (r *Relay) WHIP(w http.ResponseWriter, req *http.Request, cameraID string) {
	if err := r.whip(w, req, cameraID); err != nil {
		code := writeError(w, err)
		r.m.rejected.WithLabelValues(code).Inc()
		r.log.Info("WHIP refused", "camera_id", cameraID, "code", code, "err", err)
	}
}

func (r *Relay) whip(w http.ResponseWriter, req *http.Request, cameraID string) error {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, DELETE")
		return fmt.Errorf("%w: %s (POST an SDP offer)", ErrMethod, req.Method)
	}
	c, t, err := r.authorize(req, cameraID)
	if err != nil {
		return err
	}
	body, err := readOffer(w, req)
	if err != nil {
		return err
	}
	info, err := parseOffer(body, rolePublisher)
	if err != nil {
		return err
	}
	u, answer, err := r.newUpstreamPC(req.Context(), c, t.Session, string(body))
	if err != nil {
		return err
	}
	if err := r.installUpstream(u, info.h264[0].profile); err != nil {
		u.close()
		return err
	}
	r.log.Info("publisher connected", "camera_id", cameraID, "session", t.Session)
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", "/whip/"+url.PathEscape(cameraID)+"/"+u.resource)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer))
	return nil
}

// authorize checks the request's bearer token against the camera's
// current ticket.
func (r *Relay) authorize(req *http.Request, cameraID string) (*camera, Ticket, error) {
	token, ok := bearer(req)
	if !ok {
		return nil, Ticket{}, ErrNoToken
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, Ticket{}, ErrClosed
	}
	c := r.cameras[cameraID]
	if c == nil || c.ticket == nil {
		return nil, Ticket{}, fmt.Errorf("%w (camera %q)", ErrNoTicket, cameraID)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(c.ticket.Token)) != 1 {
		return nil, Ticket{}, ErrBadToken
	}
	return c, *c.ticket, nil
}

func bearer(req *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// newUpstreamPC answers a publisher's offer with a receive-only video
// transceiver.
func (r *Relay) newUpstreamPC(ctx context.Context, c *camera, session, offer string) (*upstream, string, error) {
	pc, err := r.upAPI.NewPeerConnection(webrtc.Configuration{ICEServers: r.cfg.ICEServers})
	if err != nil {
		return nil, "", fmt.Errorf("new peer connection: %w", err)
	}
	r.mu.Lock()
	r.nextGen++
	u := &upstream{r: r, cam: c, gen: r.nextGen, session: session, resource: rand.Text(), pc: pc}
	r.mu.Unlock()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		_ = pc.Close()
		return nil, "", fmt.Errorf("add transceiver: %w", err)
	}
	pc.OnTrack(u.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			r.upstreamLost(u, "peer connection "+s.String())
		}
	})
	gathered, err := applyOffer(pc, offer)
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	answer, err := awaitGathering(ctx, pc, gathered)
	if err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	return u, answer, nil
}

// WHIPDelete ends the upstream of DELETE /whip/{cameraID}/{resource} (the
// Location of its POST); the bearer token must be the camera's ticket
// token. Each POST has its own resource, so a late DELETE of a replaced
// upstream does not end its successor; deleting a resource that is already
// gone succeeds. Viewers stay attached and the relay waits for a
// re-publish (or re-Starts the camera).
func (r *Relay) WHIPDelete(w http.ResponseWriter, req *http.Request, cameraID, resource string) {
	if req.Method != http.MethodDelete {
		w.Header().Set("Allow", "DELETE")
		r.m.rejected.WithLabelValues(writeError(w, fmt.Errorf("%w: %s", ErrMethod, req.Method))).Inc()
		return
	}
	c, _, err := r.authorize(req, cameraID)
	if err != nil {
		r.m.rejected.WithLabelValues(writeError(w, err)).Inc()
		return
	}
	r.mu.Lock()
	u := c.up
	r.mu.Unlock()
	if u != nil && u.resource == resource {
		r.upstreamLost(u, "publisher sent DELETE")
	}
	w.WriteHeader(http.StatusOK)
}
