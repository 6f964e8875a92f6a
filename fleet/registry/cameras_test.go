package registry

import (
	"errors"
	"testing"
	"time"

	"github.com/brightkitchen/brightkitchen/fleet/store"
	"github.com/brightkitchen/brightkitchen/fleet/wire"
)

func TestCameraHome(t *testing.T) {
	eachDB(t, func(t *testing.T, url string) {
		s := open(t, url)
		if _, _, err := s.AddGateway(ctx, "gw-a", "canteen-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CameraHome(ctx, "cam-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown camera: %v", err)
		}
		hb := wire.Heartbeat{V: 1, At: time.Now(), Cameras: []wire.CameraHealth{{CameraID: "cam-1", Online: true, Area: "cooking", Public: true}}}
		if err := s.Heartbeat(ctx, "gw-a", hb, time.Now()); err != nil {
			t.Fatal(err)
		}
		h, err := s.CameraHome(ctx, "cam-1")
		if err != nil || h.GatewayID != "gw-a" || h.CanteenID != "canteen-1" || h.Area != "cooking" || !h.Public {
			t.Fatalf("CameraHome = %+v, %v", h, err)
		}
	})
}
