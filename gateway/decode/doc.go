// Package decode turns a camera's H.264 or H.265 access units into raw
// pictures for the detectors: in-process libavcodec and libswscale through
// cgo, one Decoder per camera.
//
// A Decoder is fed whole access units (NAL units without start codes, as
// package camera delivers them) with Decode, and converts its last picture
// with Scale into a tightly packed GRAY8, I420 or RGB24 frame that fits a
// detector's maximum size. A Sampler decides which units to feed and which
// pictures to hand on: by default only IDR units (about 2-3% of a core for a
// 1080p camera with a 2 s GOP), or every unit with output sampled at N fps.
//
// Corrupt or truncated input is never fatal: Decode returns an error wrapping
// ErrCorrupt, counts it in Stats, and skips units until the next IDR.
//
// A Transcoder turns an H.265 camera's stream into H.264 for live view in
// browsers: it decodes every unit, scales the picture down (to 1280x720 for
// live view) and encodes it with libx264 (ultrafast, zerolatency,
// Constrained Baseline, no B-frames), one H.264 unit out for each unit in,
// with SPS and PPS before every IDR and ForceKeyframe for new viewers. At
// 640x360 it takes about 5% of a core at 25 fps, re-encoding 1080p to 720p
// about 20% (x86-64; see BenchmarkTranscode*). Corrupt input is handled as
// by Decoder.
//
// The package needs cgo and FFmpeg's libavcodec, libavutil and libswscale
// (Debian: libavcodec-dev, libswscale-dev, libavutil-dev). Built without cgo,
// New returns ErrUnavailable so that the rest of the gateway still builds.
//
// Cross builds for linux/arm64 and linux/arm/v7 use Debian's cross compilers
// and multiarch FFmpeg packages: see scripts/deps.sh and scripts/cross.sh.
// gateway/cmd/bk-decodecheck is a tiny program that decodes a clip, used to
// check such a build under qemu.
package decode
