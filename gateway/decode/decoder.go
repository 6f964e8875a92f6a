//go:build cgo

package decode

/*
#cgo pkg-config: libavcodec libavutil libswscale
#include <errno.h>
#include <stdlib.h>
#include <libavutil/pixfmt.h>
#include "bkdec.h"
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

// poolSize is how many recycled frame buffers a Decoder keeps.
const poolSize = 4

// Decoder decodes one camera's stream. Its methods may be called from
// several goroutines (they are serialised), but a Decoder is meant to be fed
// by the one goroutine that reads its camera.
//
// Close frees its C memory. The owner must call Close only after the camera
// session that feeds it has stopped (no Decode may be running or follow);
// calls after Close return ErrClosed. A Decoder that is dropped without
// Close is freed when garbage collected, but do not rely on it.
type Decoder struct {
	codec Codec

	mu       sync.Mutex
	c        *C.bkdec // nil after Close
	cleanup  runtime.Cleanup
	in       gate
	pool     [][]byte // recycled frame buffers
	decoded  atomic.Uint64
	corrupt  atomic.Uint64
	errorBuf [128]C.char
}

// New returns a decoder for codec (CodecH264 or CodecH265), single-threaded
// and without reordering delay: a picture comes out of the unit that carries
// it.
func New(codec Codec) (*Decoder, error) {
	var id C.int
	switch codec {
	case CodecH264:
		id = 0
	case CodecH265:
		id = 1
	default:
		return nil, fmt.Errorf("%w %q", ErrCodec, codec)
	}
	var c *C.bkdec
	if ret := C.bkdec_open(id, &c); ret < 0 {
		return nil, fmt.Errorf("open %s decoder: %s", codec, averror(ret))
	}
	d := &Decoder{codec: codec, c: c}
	d.in.init(codec, func() { C.bkdec_flush(d.c) })
	d.cleanup = runtime.AddCleanup(d, func(c *C.bkdec) { C.bkdec_close(c) }, c)
	return d, nil
}

// Codec returns the codec the decoder was made for.
func (d *Decoder) Codec() Codec { return d.codec }

// Decode feeds one access unit: its NAL units without start codes (empty
// ones are ignored) and its PTS. It reports whether a new picture came out,
// which Scale then converts.
//
// Decoding starts at an IDR unit: other units are skipped (and counted)
// until one arrives, at the start, after Reset, after a corrupt unit and
// when the PTS goes backwards (a new camera session). Input that does not
// decode returns an error wrapping ErrCorrupt; the decoder stays usable.
//
// Decode does not keep nalus: they may be shared and are only read.
func (d *Decoder) Decode(nalus [][]byte, pts time.Duration) (bool, error) {
	n, refused := annexBSize(nalus)

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return false, ErrClosed
	}
	if refused != "" {
		return false, d.corruptf("%s", refused)
	}
	if !d.in.admit(nalus, pts) {
		return false, nil
	}

	p := C.bkdec_buffer(d.c, C.size_t(n))
	if p == nil {
		return false, errors.New("decode: out of memory")
	}
	putAnnexB(unsafe.Slice((*byte)(unsafe.Pointer(p)), n), nalus)

	var got C.int
	if ret := C.bkdec_decode(d.c, C.size_t(n), C.int64_t(pts), &got); ret < 0 {
		if ret == averrorENOMEM {
			return false, fmt.Errorf("decode: %s", d.errorText(ret))
		}
		return false, d.corruptf("%s", d.errorText(ret))
	}
	d.in.took()
	if got == 0 {
		return false, nil
	}
	d.decoded.Add(1)
	return true, nil
}

// averrorENOMEM is AVERROR(ENOMEM).
const averrorENOMEM = -C.int(C.ENOMEM)

// corruptf counts a corrupt unit, resets the decoder so that it starts again
// at the next IDR, and returns an error wrapping ErrCorrupt.
func (d *Decoder) corruptf(format string, args ...any) error {
	d.corrupt.Add(1)
	if d.c != nil {
		d.in.restart()
	}
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// Reset drops the decoder's reference pictures (avcodec_flush_buffers):
// decoding starts again at the next IDR unit. Call it after a gap in the
// stream, a new camera session, or a change of Sampler mode. The last
// picture stays available to Scale.
func (d *Decoder) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		d.in.restart()
	}
	d.in.fed = false
}

// Picture reports the size and PTS of the last decoded picture; ok is false
// when there is none.
func (d *Decoder) Picture() (width, height int, pts time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return 0, 0, 0, false
	}
	var w, h C.int
	var p C.int64_t
	if C.bkdec_picture(d.c, &w, &h, &p) == 0 {
		return 0, 0, 0, false
	}
	return int(w), int(h), time.Duration(p), true
}

// Scale converts the last decoded picture to dst, scaled down (never up)
// with its aspect ratio kept to fit within maxW x maxH (0: no limit on that
// side); I420 frames get even sides.
//
// The returned Data belongs to the caller: no later call of the decoder
// writes to it. A caller done with a frame may hand it back with Recycle so
// that a later Scale reuses its buffer instead of allocating.
func (d *Decoder) Scale(dst PixFmt, maxW, maxH int) (Frame, error) {
	var avfmt C.int
	switch dst {
	case GRAY8:
		avfmt = C.AV_PIX_FMT_GRAY8
	case I420:
		avfmt = C.AV_PIX_FMT_YUV420P
	case RGB24:
		avfmt = C.AV_PIX_FMT_RGB24
	default:
		return Frame{}, fmt.Errorf("%w: pixel format %v", ErrFormat, dst)
	}
	if maxW < 0 || maxH < 0 {
		return Frame{}, fmt.Errorf("%w: maximum size %dx%d", ErrFormat, maxW, maxH)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return Frame{}, ErrClosed
	}
	var sw, sh C.int
	var pts C.int64_t
	if C.bkdec_picture(d.c, &sw, &sh, &pts) == 0 {
		return Frame{}, ErrNoPicture
	}
	w, h := fit(int(sw), int(sh), maxW, maxH, dst == I420)
	size := int(C.bkdec_image_size(avfmt, C.int(w), C.int(h)))
	if size <= 0 || size != dst.Size(w, h) {
		return Frame{}, fmt.Errorf("%w: %v %dx%d", ErrFormat, dst, w, h)
	}
	buf := d.buffer(size)
	ret := C.bkdec_scale(d.c, avfmt, C.int(w), C.int(h), (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.int(size))
	if ret < 0 {
		d.recycleLocked(buf)
		return Frame{}, fmt.Errorf("scale to %v %dx%d: %s", dst, w, h, d.errorText(ret))
	}
	return Frame{Width: w, Height: h, Format: dst, Data: buf, PTS: time.Duration(pts)}, nil
}

// buffer returns a buffer of size bytes, recycled when one is big enough.
func (d *Decoder) buffer(size int) []byte {
	for i := len(d.pool) - 1; i >= 0; i-- {
		if b := d.pool[i]; cap(b) >= size {
			d.pool = append(d.pool[:i], d.pool[i+1:]...)
			return b[:size]
		}
	}
	return make([]byte, size)
}

// Recycle hands a frame's buffer back for reuse by a later Scale. The caller
// must not touch f.Data afterwards. Recycling is optional.
func (d *Decoder) Recycle(f Frame) {
	if cap(f.Data) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		d.recycleLocked(f.Data)
	}
}

func (d *Decoder) recycleLocked(b []byte) {
	if len(d.pool) < poolSize {
		d.pool = append(d.pool, b[:0])
		return
	}
	// Keep the larger buffers: replace the smallest if b is bigger.
	small := 0
	for i, p := range d.pool {
		if cap(p) < cap(d.pool[small]) {
			small = i
		}
	}
	if cap(b) > cap(d.pool[small]) {
		d.pool[small] = b[:0]
	}
}

// Stats returns the decoder's counters. It does not wait for a running
// Decode.
func (d *Decoder) Stats() Stats {
	return Stats{Decoded: d.decoded.Load(), Corrupt: d.corrupt.Load(), Skipped: d.in.skipped.Load()}
}

// Close frees the decoder's codec context, pictures, scaler and buffers. It
// is safe to call twice. Call it only after the camera session feeding the
// decoder has stopped.
func (d *Decoder) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return
	}
	d.cleanup.Stop()
	C.bkdec_close(d.c)
	d.c, d.pool = nil, nil
}

// errorText is the text of an AVERROR; d.mu must be held.
func (d *Decoder) errorText(ret C.int) string {
	C.bkdec_strerror(ret, &d.errorBuf[0], C.size_t(len(d.errorBuf)))
	return C.GoString(&d.errorBuf[0])
}

// averror is the text of an AVERROR, for use without a decoder.
func averror(ret C.int) string {
	buf := (*C.char)(C.malloc(128))
	defer C.free(unsafe.Pointer(buf))
	C.bkdec_strerror(ret, buf, 128)
	return C.GoString(buf)
}
