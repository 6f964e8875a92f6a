package setup

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/gateway/camera"
	"github.com/brightkitchen/brightkitchen/gateway/decode"
	"github.com/brightkitchen/brightkitchen/gateway/snapshot"
)

// Probe is what a short look at a stream found.
type Probe struct {
	// Codec is H264 or H265.
	Codec  string  `json:"codec"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
	// JPEG is a preview picture (at most 640x360), nil when it could not
	// be decoded; PreviewError then says why.
	JPEG         []byte `json:"-"`
	PreviewError string `json:"preview_error,omitempty"`
}

// probeFrames is how many access units are timed for the frame rate.
const probeFrames = 12

// probeStream connects to an RTSP URL (credentials in it), waits for a
// random-access unit and a few more, and measures codec, size and frame
// rate; the first random-access unit is decoded into a JPEG preview. It
// opens its own RTSP session and closes it before returning, within
// timeout.
func probeStream(ctx context.Context, rawURL string, timeout time.Duration) (Probe, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src := &camera.Source{ID: "probe", URL: rawURL, ReadTimeout: min(timeout, 5*time.Second),
		BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second}
	if err := src.Start(ctx); err != nil {
		return Probe{}, err
	}
	defer src.Close()
	sub := src.SubscribeGOP(2 * probeFrames)
	defer sub.Close()

	var aus []camera.AccessUnit
	for len(aus) < probeFrames {
		select {
		case au, ok := <-sub.C():
			if !ok {
				return Probe{}, errors.New("the stream ended")
			}
			if len(aus) == 0 && !au.IDR {
				continue // start at a picture that decodes on its own
			}
			aus = append(aus, au)
		case <-ctx.Done():
			if len(aus) > 1 {
				break // what came is enough for a size and a rate
			}
			if h := src.Health(); h.Err != "" {
				return Probe{}, fmt.Errorf("%s", h.Err)
			}
			return Probe{}, fmt.Errorf("no picture from the camera within %s", timeout)
		}
		if ctx.Err() != nil {
			break
		}
	}
	m, _ := src.Media()
	p := Probe{Codec: m.Codec, Width: m.Width, Height: m.Height}
	if n := len(aus); n > 1 {
		if span := aus[n-1].PTS - aus[0].PTS; span > 0 {
			p.FPS = math.Round(float64(n-1)/span.Seconds()*10) / 10
		}
	}
	p.JPEG, p.PreviewError = preview(decode.Codec(m.Codec), aus)
	return p, nil
}

// preview decodes the first picture that comes out of aus into a JPEG.
func preview(codec decode.Codec, aus []camera.AccessUnit) ([]byte, string) {
	d, err := decode.New(codec)
	if err != nil {
		return nil, err.Error()
	}
	defer d.Close()
	for _, au := range aus {
		ok, err := d.Decode(au.NALUs, au.PTS)
		if err != nil {
			return nil, err.Error()
		}
		if !ok {
			continue
		}
		f, err := d.Scale(decode.RGB24, 640, 360)
		if err != nil {
			return nil, err.Error()
		}
		b, err := snapshot.Annotate(snapshot.FromRGB24(f.Width, f.Height, f.Data), nil, 80)
		d.Recycle(f)
		if err != nil {
			return nil, err.Error()
		}
		return b, ""
	}
	return nil, "no picture decoded"
}

// withCredentials puts user and password into an rtsp URL (replacing any
// already there); an empty user leaves the URL as it is.
func withCredentials(raw, user, pass string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return "", fmt.Errorf("%q is not an rtsp:// or rtsps:// URL", raw)
	}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String(), nil
}

// redact hides the password of a URL, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
