package live_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/live"
)

// A fleet serves the relay's endpoints behind its own authorization; Start
// and Stop send live.start and live.stop to the camera's gateway.
func Example() {
	sendCommand := func(ctx context.Context, cameraID, name string, args map[string]string) error {
		return nil // publish on bk/v1/gw/{gateway_id}/cmd
	}
	relay, err := live.New(live.Config{
		UDPListen: "0.0.0.0:8189",
		Linger:    15 * time.Second,
		Start: func(ctx context.Context, cameraID string, t live.Ticket) error {
			return sendCommand(ctx, cameraID, "live.start", map[string]string{
				"camera_id": cameraID, "session": t.Session, "token": t.Token,
				"whip_url": "https://fleet.example/whip/" + cameraID,
			})
		},
		Stop: func(ctx context.Context, cameraID, session string) error {
			return sendCommand(ctx, cameraID, "live.stop", map[string]string{"camera_id": cameraID, "session": session})
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep/{camera}", func(w http.ResponseWriter, r *http.Request) {
		// The fleet's authorizer decides who may watch which camera.
		relay.WHEP(w, r, r.PathValue("camera"), live.Viewer{Principal: "parent-42", CanteenID: "school-7", Role: "parent"})
	})
	mux.HandleFunc("DELETE /whep/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
		relay.WHEPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
	})
	mux.HandleFunc("POST /whip/{camera}", func(w http.ResponseWriter, r *http.Request) {
		relay.WHIP(w, r, r.PathValue("camera"))
	})
	mux.HandleFunc("DELETE /whip/{camera}/{session}", func(w http.ResponseWriter, r *http.Request) {
		relay.WHIPDelete(w, r, r.PathValue("camera"), r.PathValue("session"))
	})
	_ = mux // served by the fleet's HTTP server
}
