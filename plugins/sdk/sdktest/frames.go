package sdktest

import (
	"bytes"
	"image"
	"image/jpeg"
	"time"

	"github.com/brightkitchen/brightkitchen/plugins/sdk"
)

// TestFrame is a synthetic w×h picture in format f: a gradient with a
// bright square that moves with n, so that motion detectors see change.
func TestFrame(cameraID string, f sdk.Format, w, h, n int) sdk.Frame {
	gray := make([]byte, w*h)
	sq := max(min(w, h)/5, 1)
	sx, sy := (n*7)%max(w-sq, 1), (n*3)%max(h-sq, 1)
	for y := range h {
		for x := range w {
			v := byte((x*255/max(w, 1) + y*255/max(h, 1)) / 2)
			if x >= sx && x < sx+sq && y >= sy && y < sy+sq {
				v = 250
			}
			gray[y*w+x] = v
		}
	}
	fr := sdk.Frame{CameraID: cameraID, CapturedAt: time.Now(), Width: w, Height: h, Format: f}
	switch f {
	case sdk.FormatGRAY8:
		fr.Data = gray
	case sdk.FormatRGB24:
		fr.Data = make([]byte, 3*w*h)
		for i, v := range gray {
			fr.Data[3*i], fr.Data[3*i+1], fr.Data[3*i+2] = v, v/2, 255-v
		}
	case sdk.FormatI420:
		fr.Data = make([]byte, sdk.FormatI420.Size(w, h))
		copy(fr.Data, gray)
		for i := w * h; i < len(fr.Data); i++ {
			fr.Data[i] = 128
		}
	case sdk.FormatJPEG:
		img := image.NewGray(image.Rect(0, 0, w, h))
		copy(img.Pix, gray)
		var b bytes.Buffer
		_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
		fr.Data = b.Bytes()
	}
	return fr
}
