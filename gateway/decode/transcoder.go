//go:build cgo

package decode

/*
#cgo pkg-config: libavcodec libavutil libswscale
#include <errno.h>
#include <stdlib.h>
#include <libavutil/error.h>
#include "bkdec.h"
#include "bktrans.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Transcoder turns one camera's H.265 (or H.264) stream into H.264 that
// browsers play: libavcodec decodes each unit, scales the picture down to
// the maximum size and encodes it with libx264 (ultrafast, zerolatency,
// Constrained Baseline, no B-frames), one unit out for each picture in.
//
// Its methods may be called from several goroutines (they are serialised;
// ForceKeyframe and Stats do not wait), but a Transcoder is meant to be fed
// by the one goroutine that reads its camera.
//
// Close frees its C memory; calls after Close return ErrClosed. A
// Transcoder that is dropped without Close is freed when garbage collected,
// but do not rely on it.
type Transcoder struct {
	from    Codec
	opts    TranscodeOptions // with defaults
	encoder string

	mu       sync.Mutex
	c        *C.bktrans // nil after Close
	cleanup  runtime.Cleanup
	in       gate
	pictures int64 // pictures sent to the encoder: their PTS
	queue    ptsQueue
	params   paramSets
	errorBuf [128]C.char

	forceKey                                    atomic.Bool
	units, decoded, encoded, keyframes, corrupt atomic.Uint64
}

// NewTranscoder returns a transcoder from codec (CodecH265, or CodecH264 to
// re-encode) to H.264 with settings o. It returns an error wrapping
// ErrNoEncoder when libavcodec has no H.264 encoder or it does not open.
func NewTranscoder(from Codec, o TranscodeOptions) (*Transcoder, error) {
	var id C.int
	switch from {
	case CodecH264:
		id = 0
	case CodecH265:
		id = 1
	default:
		return nil, fmt.Errorf("%w %q", ErrCodec, from)
	}
	o, gop, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	co := C.bktrans_opts{
		bitrate: C.int(o.Bitrate),
		gop:     C.int(gop),
		fps:     C.int(o.FPS),
		threads: C.int(o.Threads),
	}
	var c *C.bktrans
	switch ret := C.bktrans_open(id, &co, &c); {
	case ret == C.AVERROR_ENCODER_NOT_FOUND:
		return nil, fmt.Errorf("%w: libavcodec has neither libx264 nor another H.264 encoder", ErrNoEncoder)
	case ret < 0:
		return nil, fmt.Errorf("open %s decoder: %s", from, averror(ret))
	}
	name := C.GoString(C.bktrans_encoder_name(c))
	if ret := C.bktrans_probe(c); ret < 0 {
		C.bktrans_close(c)
		return nil, fmt.Errorf("%w: %s does not open: %s", ErrNoEncoder, name, averror(ret))
	}
	t := &Transcoder{from: from, opts: o, encoder: name, c: c}
	t.in.init(from, func() { C.bktrans_flush(t.c) })
	t.cleanup = runtime.AddCleanup(t, func(c *C.bktrans) { C.bktrans_close(c) }, c)
	return t, nil
}

// Options returns the transcoder's settings, with the defaults filled in.
func (t *Transcoder) Options() TranscodeOptions { return t.opts }

// Encoder returns the name of libavcodec's H.264 encoder in use: "libx264".
func (t *Transcoder) Encoder() string { return t.encoder }

// Transcode feeds one access unit, its NAL units without start codes (as
// package camera delivers them: a random-access unit starts with its
// parameter sets) and its PTS. It returns the H.264 units ready to send, in
// order: normally one for each unit in, none while waiting for an IDR. The
// first unit out, and every IDR, carries SPS and PPS in front.
//
// Transcoding starts at a random-access unit: other units are skipped (and
// counted) until one arrives, at the start, after a corrupt unit, and when
// the PTS goes backwards (a new camera session; the output PTS then goes
// backwards too). Input that does not transcode returns an error wrapping
// ErrCorrupt, with any units made before the trouble (send them); the
// transcoder stays usable. The encoder itself carries on across skipped
// units: the next unit out is not an IDR unless one is due or forced.
//
// Transcode does not keep nalus: they may be shared and are only read.
func (t *Transcoder) Transcode(nalus [][]byte, pts time.Duration) ([]EncodedUnit, error) {
	t.units.Add(1)
	n, refused := annexBSize(nalus)

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return nil, ErrClosed
	}
	if refused != "" {
		return nil, t.corruptf("%s", refused)
	}
	if !t.in.admit(nalus, pts) {
		return nil, nil
	}

	p := C.bktrans_buffer(t.c, C.size_t(n))
	if p == nil {
		return nil, errors.New("transcode: out of memory")
	}
	putAnnexB(unsafe.Slice((*byte)(unsafe.Pointer(p)), n), nalus)
	if ret := C.bktrans_decode(t.c, C.size_t(n), C.int64_t(pts)); ret < 0 {
		return nil, t.failf("decode", ret)
	}
	t.in.took()

	var out []EncodedUnit
	for {
		var w, h C.int
		var fpts C.int64_t
		ret := C.bktrans_frame(t.c, &w, &h, &fpts)
		if ret == 0 {
			return out, nil
		}
		if ret < 0 {
			return out, t.failf("decode", ret)
		}
		t.decoded.Add(1)
		ow, oh := fit(int(w), int(h), t.opts.MaxWidth, t.opts.MaxHeight, true)
		key := t.forceKey.Swap(false)
		num := t.pictures
		t.pictures++
		ret = C.bktrans_encode(t.c, C.int(ow), C.int(oh), C.int64_t(num), boolInt(key))
		if ret < 0 {
			if key {
				t.forceKey.Store(true)
			}
			return out, t.failf(fmt.Sprintf("encode %dx%d", ow, oh), ret)
		}
		if ret == 1 { // a new encoder: forget the old one's parameter sets
			var size C.int
			var extra []byte
			if p := C.bktrans_extradata(t.c, &size); p != nil {
				extra = C.GoBytes(unsafe.Pointer(p), size)
			}
			t.params.reset(extra)
		}
		t.queue.push(num, time.Duration(fpts))
		if out, ret = t.drainLocked(out); ret < 0 {
			return out, t.failf("encode", ret)
		}
	}
}

// drainLocked appends the encoder's packets to out. It returns 0 or a
// negative AVERROR.
func (t *Transcoder) drainLocked(out []EncodedUnit) ([]EncodedUnit, C.int) {
	for {
		var data *C.uint8_t
		var size C.int
		var num C.int64_t
		ret := C.bktrans_packet(t.c, &data, &size, &num)
		if ret <= 0 {
			return out, ret
		}
		pts, ok := t.queue.pop(int64(num))
		if !ok {
			pts = t.in.lastPTS
		}
		u := t.params.unit(C.GoBytes(unsafe.Pointer(data), size), pts)
		if len(u.NALUs) == 0 {
			continue
		}
		t.encoded.Add(1)
		if u.IDR {
			t.keyframes.Add(1)
		}
		out = append(out, u)
	}
}

// failf returns the error of a libavcodec call that failed with ret while
// transcoding: out of memory is returned as is; anything else is the
// input's fault (libavcodec's or the encoder's), counted as corrupt.
func (t *Transcoder) failf(what string, ret C.int) error {
	if ret == -C.int(C.ENOMEM) {
		return fmt.Errorf("transcode: %s: %s", what, t.errorText(ret))
	}
	return t.corruptf("%s: %s", what, t.errorText(ret))
}

// corruptf counts a corrupt unit, resets the decoder so that it starts again
// at the next random-access unit, and returns an error wrapping ErrCorrupt.
func (t *Transcoder) corruptf(format string, args ...any) error {
	t.corrupt.Add(1)
	if t.c != nil {
		t.in.restart()
	}
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// ForceKeyframe makes the next unit out an IDR (with SPS and PPS): call it
// for a new viewer or a picture loss indication. It does not wait for a
// running Transcode.
func (t *Transcoder) ForceKeyframe() { t.forceKey.Store(true) }

// Stats returns the transcoder's counters. It does not wait for a running
// Transcode.
func (t *Transcoder) Stats() TranscodeStats {
	return TranscodeStats{
		In:        t.units.Load(),
		Skipped:   t.in.skipped.Load(),
		Decoded:   t.decoded.Load(),
		Encoded:   t.encoded.Load(),
		Keyframes: t.keyframes.Load(),
		Corrupt:   t.corrupt.Load(),
	}
}

// Close frees the transcoder's decoder, encoder, scaler and buffers. It is
// safe to call twice.
func (t *Transcoder) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return
	}
	t.cleanup.Stop()
	C.bktrans_close(t.c)
	t.c = nil
}

// errorText is the text of an AVERROR; t.mu must be held.
func (t *Transcoder) errorText(ret C.int) string {
	C.bkdec_strerror(ret, &t.errorBuf[0], C.size_t(len(t.errorBuf)))
	return C.GoString(&t.errorBuf[0])
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
