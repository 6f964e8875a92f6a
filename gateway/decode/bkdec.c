//go:build cgo

#include "bkdec.h"

#include <errno.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>

struct bkdec {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *recv;   // target of avcodec_receive_frame
	AVFrame *last;   // the last good picture
	int have_last;
	uint8_t *buf;    // input buffer: cap bytes + AV_INPUT_BUFFER_PADDING_SIZE
	size_t cap;
	struct SwsContext *sws;
	AVFrame *scaled; // swscale output (aligned), copied out tightly packed
};

int bkdec_open(int codec, bkdec **out) {
	// Per-packet trouble is counted by the caller, never logged.
	av_log_set_level(AV_LOG_QUIET);
#ifdef __GLIBC__
	// Picture buffers (3 MB at 1080p) are mmapped and returned to the
	// system when freed: glibc would otherwise raise its mmap threshold
	// after the first free and keep freed pictures in its arenas, and a
	// gateway decoding IDR frames only frees its decoders between them.
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif

	const AVCodec *c = avcodec_find_decoder(codec == 1 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
	if (!c)
		return AVERROR_DECODER_NOT_FOUND;
	bkdec *d = av_mallocz(sizeof(*d));
	if (!d)
		return AVERROR(ENOMEM);
	d->ctx = avcodec_alloc_context3(c);
	d->pkt = av_packet_alloc();
	d->recv = av_frame_alloc();
	d->last = av_frame_alloc();
	d->scaled = av_frame_alloc();
	if (!d->ctx || !d->pkt || !d->recv || !d->last || !d->scaled) {
		bkdec_close(d);
		return AVERROR(ENOMEM);
	}
	// One thread and no frame reordering delay: a picture comes out of the
	// access unit that carries it. Corrupt pictures are reported as errors
	// rather than concealed and output.
	d->ctx->thread_count = 1;
	d->ctx->thread_type = 0;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	d->ctx->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
	d->ctx->err_recognition |= AV_EF_EXPLODE;
	int ret = avcodec_open2(d->ctx, c, NULL);
	if (ret < 0) {
		bkdec_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

uint8_t *bkdec_buffer(bkdec *d, size_t n) {
	if (n <= d->cap && d->buf)
		return d->buf;
	size_t cap = d->cap ? d->cap : 64 * 1024;
	while (cap < n)
		cap *= 2;
	uint8_t *b = av_malloc(cap + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!b)
		return NULL;
	av_free(d->buf);
	d->buf = b;
	d->cap = cap;
	return b;
}

// receive takes every picture the decoder has ready, keeping the last good
// one. It returns 0 or a negative AVERROR (for a corrupt picture too).
static int receive(bkdec *d, int *got) {
	for (;;) {
		int ret = avcodec_receive_frame(d->ctx, d->recv);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return ret;
		if ((d->recv->flags & AV_FRAME_FLAG_CORRUPT) || d->recv->decode_error_flags) {
			av_frame_unref(d->recv);
			return AVERROR_INVALIDDATA;
		}
		if (d->recv->pts == AV_NOPTS_VALUE)
			d->recv->pts = d->recv->best_effort_timestamp;
		av_frame_unref(d->last);
		av_frame_move_ref(d->last, d->recv);
		d->have_last = 1;
		*got = 1;
	}
}

int bkdec_decode(bkdec *d, size_t n, int64_t pts, int *got) {
	*got = 0;
	if (!d->buf || n > d->cap || n > INT32_MAX)
		return AVERROR(EINVAL);
	memset(d->buf + n, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	// The packet is not reference counted: libavcodec copies what it keeps,
	// so the buffer is free again when this returns.
	av_packet_unref(d->pkt);
	d->pkt->data = d->buf;
	d->pkt->size = (int)n;
	d->pkt->pts = pts;
	d->pkt->dts = pts;
	int ret = avcodec_send_packet(d->ctx, d->pkt);
	if (ret == AVERROR(EAGAIN)) {
		// Cannot happen as every call drains the decoder; drain and retry.
		ret = receive(d, got);
		if (ret >= 0)
			ret = avcodec_send_packet(d->ctx, d->pkt);
	}
	d->pkt->data = NULL;
	d->pkt->size = 0;
	if (ret < 0)
		return ret;
	return receive(d, got);
}

int bkdec_picture(bkdec *d, int *w, int *h, int64_t *pts) {
	if (!d->have_last)
		return 0;
	*w = d->last->width;
	*h = d->last->height;
	*pts = d->last->pts;
	return 1;
}

int bkdec_image_size(int fmt, int w, int h) {
	return av_image_get_buffer_size((enum AVPixelFormat)fmt, w, h, 1);
}

int bkdec_scale(bkdec *d, int fmt, int w, int h, uint8_t *out, int size) {
	if (!d->have_last)
		return AVERROR(EINVAL);
	AVFrame *src = d->last;
	if (src->width <= 0 || src->height <= 0 || !sws_isSupportedInput(src->format))
		return AVERROR_INVALIDDATA;
	int need = bkdec_image_size(fmt, w, h);
	if (need < 0)
		return need;
	if (need > size)
		return AVERROR(EINVAL);
	d->sws = sws_getCachedContext(d->sws, src->width, src->height, src->format,
	                              w, h, (enum AVPixelFormat)fmt, SWS_BILINEAR, NULL, NULL, NULL);
	if (!d->sws)
		return AVERROR(EINVAL);
	AVFrame *dst = d->scaled;
	if (dst->width != w || dst->height != h || dst->format != fmt || !dst->data[0]) {
		av_frame_unref(dst);
		dst->width = w;
		dst->height = h;
		dst->format = fmt;
		int ret = av_frame_get_buffer(dst, 0);
		if (ret < 0)
			return ret;
	}
	int ret = sws_scale(d->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
	                    dst->data, dst->linesize);
	if (ret <= 0)
		return ret < 0 ? ret : AVERROR_INVALIDDATA;
	return av_image_copy_to_buffer(out, size, (const uint8_t *const *)dst->data, dst->linesize,
	                               (enum AVPixelFormat)fmt, w, h, 1);
}

void bkdec_flush(bkdec *d) {
	avcodec_flush_buffers(d->ctx);
}

void bkdec_close(bkdec *d) {
	if (!d)
		return;
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->recv);
	av_frame_free(&d->last);
	av_frame_free(&d->scaled);
	sws_freeContext(d->sws);
	av_free(d->buf);
	av_free(d);
}

void bkdec_strerror(int err, char *buf, size_t size) {
	av_strerror(err, buf, size);
}
