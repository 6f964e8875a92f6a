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
// The package needs cgo and FFmpeg's libavcodec, libavutil and libswscale
// (Debian: libavcodec-dev, libswscale-dev, libavutil-dev). Built without cgo,
// New returns ErrUnavailable so that the rest of the gateway still builds.
//
// Cross builds for linux/arm64 and linux/arm/v7 use Debian's cross compilers
// and multiarch FFmpeg packages: see scripts/deps.sh and scripts/cross.sh.
// cmd/bk-decodecheck is a tiny program that decodes a clip, used to check
// such a build under qemu.
package decode
