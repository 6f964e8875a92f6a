#!/usr/bin/env bash
# make-fixtures.sh: regenerate the GRAY8 fixture frames of the motion tests
# from the camsim clips. Run from the repository root:
#
#	plugins/motion/testdata/make-fixtures.sh
#
# night.gray: the first 2.4 s of hw/camsim/clips/night-g2.h264 sampled at
# 5 fps (the motion plugin's rate; every other frame), full-range grey
# (ffmpeg's "gray", as libswscale converts), box-downscaled to 160x90,
# concatenated: 14400 bytes per frame, 12 frames. A blob of about 130x100
# pixels at 640x360 moves right from x=120 (see scripts/make-clips.sh).
set -euo pipefail
cd "$(dirname "$0")"
CLIPS=../../../hw/camsim/clips
ffmpeg -hide_banner -loglevel error -nostdin -i "$CLIPS/night-g2.h264" \
	-vf "select='not(mod(n,2))',scale=160:90:flags=area" -fps_mode passthrough -frames:v 12 \
	-f rawvideo -pix_fmt gray -y night.gray
ls -l ./*.gray
