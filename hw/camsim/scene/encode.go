package scene

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// MaxEncodeFrames bounds one Encode call (10 minutes at 10 fps).
const MaxEncodeFrames = 6000

// Encode renders frames 0..n-1 of a scene and encodes them with ffmpeg
// (libx264, constrained baseline, no B-frames, an IDR every gop frames with
// its parameter sets, as scripts/make-clips.sh encodes camsim's clips),
// returning the H.264 Annex-B stream and each frame's truth. ffmpeg must
// be on PATH (scripts/deps.sh installs it).
func Encode(ctx context.Context, name string, seed uint64, n, gop int) ([]byte, []Truth, error) {
	if n < 1 || n > MaxEncodeFrames {
		return nil, nil, fmt.Errorf("scene: %d frames: want 1..%d", n, MaxEncodeFrames)
	}
	if gop < 1 {
		return nil, nil, fmt.Errorf("scene: GOP %d frames: want at least 1", gop)
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return nil, nil, errors.New("scene: ffmpeg not found (scripts/deps.sh installs it)")
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "rawvideo", "-pix_fmt", "rgba", "-s", fmt.Sprintf("%dx%d", Width, Height), "-r", strconv.Itoa(FPS), "-i", "pipe:0",
		"-an", "-c:v", "libx264", "-preset", "medium", "-profile:v", "baseline", "-pix_fmt", "yuv420p",
		"-crf", "23", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0", "-bf", "0",
		"-threads", "1", "-x264-params", "repeat-headers=1:aud=0", "-bsf:v", "filter_units=remove_types=6",
		"-f", "h264", "pipe:1")
	// frames go in through a pipe fed as they are rendered
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("scene: start ffmpeg: %w", err)
	}
	truths := make([]Truth, 0, n)
	var werr error
	for i := range n {
		img, t, err := Render(name, seed, i)
		if err != nil {
			werr = err
			break
		}
		truths = append(truths, t)
		if _, err := in.Write(img.Pix); err != nil {
			werr = fmt.Errorf("scene: write to ffmpeg: %w", err)
			break
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return nil, nil, fmt.Errorf("scene: ffmpeg: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if werr != nil {
		return nil, nil, werr
	}
	return out.Bytes(), truths, nil
}
