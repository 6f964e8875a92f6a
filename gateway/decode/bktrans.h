//go:build cgo

// bktrans: the C side of Transcoder. One bktrans per transcoder; never
// shared between threads at the same time (the Go side holds a mutex), and
// it keeps no pointer to Go memory after a call returns.
#ifndef BKTRANS_H
#define BKTRANS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bktrans bktrans;

// bktrans_opts are the encoder settings, already defaulted and checked by
// the Go side.
typedef struct bktrans_opts {
	int bitrate; // bits/s
	int gop;     // frames from one IDR to the next
	int fps;     // nominal frame rate: the encoder's time base is 1/fps
	int threads; // encoder threads
} bktrans_opts;

// bktrans_open allocates a transcoder from codec (0 = H.264, 1 = H.265) to
// H.264 and opens its decoder; the encoder is opened at the first picture,
// when its size is known. It returns 0 and sets *out,
// AVERROR_ENCODER_NOT_FOUND when libavcodec has no H.264 encoder, or another
// negative AVERROR.
int bktrans_open(int codec, const bktrans_opts *o, bktrans **out);

// bktrans_probe checks that the encoder opens with the settings, at a small
// size, and closes it again. It returns 0 or a negative AVERROR.
int bktrans_probe(bktrans *t);

// bktrans_encoder_name is the name of the H.264 encoder in use ("libx264").
const char *bktrans_encoder_name(const bktrans *t);

// bktrans_buffer returns an input buffer of at least n bytes, followed by
// AV_INPUT_BUFFER_PADDING_SIZE bytes that bktrans_decode zeroes, or NULL
// when out of memory. It stays valid until the next bktrans_buffer or
// bktrans_close.
uint8_t *bktrans_buffer(bktrans *t, size_t n);

// bktrans_decode sends the first n bytes of the input buffer (one access
// unit in Annex-B form) stamped with pts to the decoder. It returns 0 or a
// negative AVERROR. Take the pictures with bktrans_frame.
int bktrans_decode(bktrans *t, size_t n, int64_t pts);

// bktrans_frame takes the next decoded picture: 1 and its size and pts, 0
// when there is none, or a negative AVERROR (a corrupt picture, too).
int bktrans_frame(bktrans *t, int *w, int *h, int64_t *pts);

// bktrans_encode converts the picture bktrans_frame returned to an 8-bit
// YUV 4:2:0 picture of w x h (even) and sends it to the encoder stamped
// with n (in 1/fps units, increasing), as an IDR if key is set. The encoder
// is (re)opened when the size changes; its first picture is an IDR. It
// returns 1 when it (re)opened the encoder, else 0, or a negative AVERROR.
// Take the packets with bktrans_packet.
int bktrans_encode(bktrans *t, int w, int h, int64_t n, int key);

// bktrans_packet takes the next encoded packet (Annex-B): 1 and its data,
// size and pts, 0 when there is none, or a negative AVERROR. The data stays
// valid until the next bktrans call.
int bktrans_packet(bktrans *t, const uint8_t **data, int *size, int64_t *pts);

// bktrans_extradata returns the encoder's extradata (parameter sets of an
// encoder with global headers; none for libx264 as set up here), or NULL.
const uint8_t *bktrans_extradata(const bktrans *t, int *size);

// bktrans_flush drops the decoder's references and delayed pictures (after a
// gap or a restart). The encoder keeps going.
void bktrans_flush(bktrans *t);

// bktrans_close frees everything; t must not be used afterwards.
void bktrans_close(bktrans *t);

#endif
