//go:build cgo

// bkdec: the small C side of package decode. One bkdec per decoder; never
// shared between threads at the same time (the Go side holds a mutex), and
// it keeps no pointer to Go memory after a call returns.
#ifndef BKDEC_H
#define BKDEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct bkdec bkdec;

// bkdec_open allocates a decoder for codec (0 = H.264, 1 = H.265). It returns
// 0 and sets *out, or a negative AVERROR.
int bkdec_open(int codec, bkdec **out);

// bkdec_buffer returns an input buffer of at least n bytes, followed by
// AV_INPUT_BUFFER_PADDING_SIZE bytes that bkdec_decode zeroes, or NULL when
// out of memory. It stays valid until the next bkdec_buffer or bkdec_close.
uint8_t *bkdec_buffer(bkdec *d, size_t n);

// bkdec_decode decodes the first n bytes of the input buffer (one access
// unit in Annex-B form) stamped with pts. It returns 0 or a negative AVERROR;
// *got is 1 when a new picture came out (see bkdec_picture).
int bkdec_decode(bkdec *d, size_t n, int64_t pts, int *got);

// bkdec_picture reports the last good picture: 1 and its size and pts, or 0
// when there is none.
int bkdec_picture(bkdec *d, int *w, int *h, int64_t *pts);

// bkdec_scale converts the last picture to fmt (an AVPixelFormat) at w x h and
// copies it tightly packed into out (size bytes, caller-owned). It returns
// the number of bytes written or a negative AVERROR.
int bkdec_scale(bkdec *d, int fmt, int w, int h, uint8_t *out, int size);

// bkdec_image_size is the tightly packed size of a w x h picture in fmt, or a
// negative AVERROR.
int bkdec_image_size(int fmt, int w, int h);

// bkdec_flush drops the decoder's references and delayed pictures (after a
// gap or a restart); the last picture stays available to bkdec_scale.
void bkdec_flush(bkdec *d);

// bkdec_close frees everything; d must not be used afterwards.
void bkdec_close(bkdec *d);

// bkdec_strerror writes the text of an AVERROR into buf.
void bkdec_strerror(int err, char *buf, size_t size);

#endif
