//go:build cgo

#include "bktrans.h"

#include <errno.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>

struct bktrans {
	bktrans_opts o;
	AVCodecContext *dec;
	AVPacket *in;       // decoder input (not reference counted)
	AVFrame *frame;     // the picture bktrans_frame returned
	uint8_t *buf;       // input buffer: cap bytes + AV_INPUT_BUFFER_PADDING_SIZE
	size_t cap;

	const AVCodec *codec; // the H.264 encoder
	int x264;             // codec is libx264
	AVCodecContext *enc;  // NULL until the first picture
	int enc_w, enc_h, enc_range;
	struct SwsContext *sws;
	AVFrame *pic;       // encoder input, YUV420P at enc_w x enc_h
	AVPacket *out;      // the packet bktrans_packet returned
};

int bktrans_open(int codec, const bktrans_opts *o, bktrans **out) {
	// Per-packet trouble is counted by the caller, never logged.
	av_log_set_level(AV_LOG_QUIET);

	const AVCodec *dc = avcodec_find_decoder(codec == 1 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
	if (!dc)
		return AVERROR_DECODER_NOT_FOUND;
	// libx264 if there is one, else whatever H.264 encoder libavcodec has
	// (none is native: they are all external libraries or hardware).
	const AVCodec *ec = avcodec_find_encoder_by_name("libx264");
	int x264 = ec != NULL;
	if (!ec)
		ec = avcodec_find_encoder(AV_CODEC_ID_H264);
	if (!ec)
		return AVERROR_ENCODER_NOT_FOUND;

	bktrans *t = av_mallocz(sizeof(*t));
	if (!t)
		return AVERROR(ENOMEM);
	t->o = *o;
	t->codec = ec;
	t->x264 = x264;
	t->dec = avcodec_alloc_context3(dc);
	t->in = av_packet_alloc();
	t->frame = av_frame_alloc();
	t->pic = av_frame_alloc();
	t->out = av_packet_alloc();
	if (!t->dec || !t->in || !t->frame || !t->pic || !t->out) {
		bktrans_close(t);
		return AVERROR(ENOMEM);
	}
	// As in bkdec: one thread, no reordering delay, corrupt pictures
	// reported as errors rather than concealed.
	t->dec->thread_count = 1;
	t->dec->thread_type = 0;
	t->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
	t->dec->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
	t->dec->err_recognition |= AV_EF_EXPLODE;
	int ret = avcodec_open2(t->dec, dc, NULL);
	if (ret < 0) {
		bktrans_close(t);
		return ret;
	}
	*out = t;
	return 0;
}

const char *bktrans_encoder_name(const bktrans *t) {
	return t->codec->name;
}

// open_encoder (re)opens the encoder for w x h pictures like src.
static int open_encoder(bktrans *t, int w, int h, int range, const AVFrame *src) {
	avcodec_free_context(&t->enc);
	AVCodecContext *e = avcodec_alloc_context3(t->codec);
	if (!e)
		return AVERROR(ENOMEM);
	e->width = w;
	e->height = h;
	e->pix_fmt = AV_PIX_FMT_YUV420P;
	e->color_range = range;
	if (src) {
		e->colorspace = src->colorspace;
		e->color_primaries = src->color_primaries;
		e->color_trc = src->color_trc;
		e->sample_aspect_ratio = src->sample_aspect_ratio;
	}
	e->time_base = (AVRational){1, t->o.fps};
	e->framerate = (AVRational){t->o.fps, 1};
	e->gop_size = t->o.gop;
	e->max_b_frames = 0;
	// Average and peak rate with a one second buffer: live, but an IDR may
	// still be several times the size of a P picture.
	e->bit_rate = t->o.bitrate;
	e->rc_max_rate = t->o.bitrate;
	e->rc_buffer_size = t->o.bitrate;
	e->thread_count = t->o.threads;
	// No global header: the parameter sets go in-band before every IDR.
	e->flags &= ~AV_CODEC_FLAG_GLOBAL_HEADER;

	AVDictionary *opts = NULL;
	if (t->x264) {
		// zerolatency: no lookahead, no B-frames, no frame threads (slice
		// threads instead): one packet out for each picture in. baseline
		// is x264's Constrained Baseline, which every browser decodes.
		// repeat-headers (x264's default without global headers, set
		// anyway) puts SPS and PPS before each IDR; scenecut=0 keeps IDRs
		// at the GOP (and forced ones) only.
		av_dict_set(&opts, "preset", "ultrafast", 0);
		av_dict_set(&opts, "tune", "zerolatency", 0);
		av_dict_set(&opts, "profile", "baseline", 0);
		av_dict_set(&opts, "forced-idr", "1", 0);
		av_dict_set(&opts, "x264-params", "repeat-headers=1:scenecut=0", 0);
	}
	int ret = avcodec_open2(e, t->codec, &opts);
	av_dict_free(&opts);
	if (ret < 0) {
		avcodec_free_context(&e);
		return ret;
	}
	t->enc = e;
	t->enc_w = w;
	t->enc_h = h;
	t->enc_range = range;
	av_frame_unref(t->pic);
	t->pic->format = AV_PIX_FMT_YUV420P;
	t->pic->width = w;
	t->pic->height = h;
	ret = av_frame_get_buffer(t->pic, 0);
	if (ret < 0) {
		avcodec_free_context(&t->enc);
		return ret;
	}
	return 0;
}

int bktrans_probe(bktrans *t) {
	int ret = open_encoder(t, 320, 240, AVCOL_RANGE_MPEG, NULL);
	avcodec_free_context(&t->enc);
	av_frame_unref(t->pic);
	return ret;
}

uint8_t *bktrans_buffer(bktrans *t, size_t n) {
	if (n <= t->cap && t->buf)
		return t->buf;
	size_t cap = t->cap ? t->cap : 64 * 1024;
	while (cap < n)
		cap *= 2;
	uint8_t *b = av_malloc(cap + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!b)
		return NULL;
	av_free(t->buf);
	t->buf = b;
	t->cap = cap;
	return b;
}

int bktrans_decode(bktrans *t, size_t n, int64_t pts) {
	if (!t->buf || n > t->cap || n > INT32_MAX)
		return AVERROR(EINVAL);
	memset(t->buf + n, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	// Not reference counted: libavcodec copies what it keeps.
	av_packet_unref(t->in);
	t->in->data = t->buf;
	t->in->size = (int)n;
	t->in->pts = pts;
	t->in->dts = pts;
	int ret = avcodec_send_packet(t->dec, t->in);
	t->in->data = NULL;
	t->in->size = 0;
	return ret;
}

int bktrans_frame(bktrans *t, int *w, int *h, int64_t *pts) {
	av_frame_unref(t->frame);
	int ret = avcodec_receive_frame(t->dec, t->frame);
	if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
		return 0;
	if (ret < 0)
		return ret;
	AVFrame *f = t->frame;
	if ((f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags || f->width <= 0 ||
	    f->height <= 0 || !sws_isSupportedInput(f->format)) {
		av_frame_unref(f);
		return AVERROR_INVALIDDATA;
	}
	if (f->pts == AV_NOPTS_VALUE)
		f->pts = f->best_effort_timestamp;
	*w = f->width;
	*h = f->height;
	*pts = f->pts;
	return 1;
}

// full_range_format reports a YUVJ format: swscale converts it to limited
// range YUV420P.
static int full_range_format(int fmt) {
	switch (fmt) {
	case AV_PIX_FMT_YUVJ420P:
	case AV_PIX_FMT_YUVJ422P:
	case AV_PIX_FMT_YUVJ444P:
	case AV_PIX_FMT_YUVJ440P:
	case AV_PIX_FMT_YUVJ411P:
		return 1;
	}
	return 0;
}

int bktrans_encode(bktrans *t, int w, int h, int64_t n, int key) {
	AVFrame *src = t->frame;
	if (!src->data[0] || w <= 0 || h <= 0 || (w & 1) || (h & 1))
		return AVERROR(EINVAL);
	// swscale keeps the samples of a YUV format flagged full range: so
	// must the encoder.
	int range = src->color_range == AVCOL_RANGE_JPEG && !full_range_format(src->format)
	                ? AVCOL_RANGE_JPEG
	                : AVCOL_RANGE_MPEG;
	int ret, opened = 0;
	if (!t->enc || t->enc_w != w || t->enc_h != h || t->enc_range != range) {
		ret = open_encoder(t, w, h, range, src);
		if (ret < 0)
			return ret;
		opened = 1;
	}
	t->sws = sws_getCachedContext(t->sws, src->width, src->height, src->format, w, h,
	                              AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
	if (!t->sws)
		return AVERROR(EINVAL);
	// The encoder may still hold the last picture's buffer.
	ret = av_frame_make_writable(t->pic);
	if (ret < 0)
		return ret;
	ret = sws_scale(t->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
	                t->pic->data, t->pic->linesize);
	if (ret <= 0)
		return ret < 0 ? ret : AVERROR_INVALIDDATA;
	t->pic->pts = n;
	t->pic->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	ret = avcodec_send_frame(t->enc, t->pic);
	return ret < 0 ? ret : opened;
}

int bktrans_packet(bktrans *t, const uint8_t **data, int *size, int64_t *pts) {
	av_packet_unref(t->out);
	if (!t->enc)
		return 0;
	int ret = avcodec_receive_packet(t->enc, t->out);
	if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
		return 0;
	if (ret < 0)
		return ret;
	*data = t->out->data;
	*size = t->out->size;
	*pts = t->out->pts;
	return 1;
}

const uint8_t *bktrans_extradata(const bktrans *t, int *size) {
	if (!t->enc || !t->enc->extradata || t->enc->extradata_size <= 0)
		return NULL;
	*size = t->enc->extradata_size;
	return t->enc->extradata;
}

void bktrans_flush(bktrans *t) {
	avcodec_flush_buffers(t->dec);
	av_frame_unref(t->frame);
}

void bktrans_close(bktrans *t) {
	if (!t)
		return;
	avcodec_free_context(&t->dec);
	avcodec_free_context(&t->enc);
	av_packet_free(&t->in);
	av_packet_free(&t->out);
	av_frame_free(&t->frame);
	av_frame_free(&t->pic);
	sws_freeContext(t->sws);
	av_free(t->buf);
	av_free(t);
}
