#!/usr/bin/env bash
# make-fixtures.sh: regenerate the GRAY8 fixture frames of the tamper tests
# from the camsim clips. Run from the repository root:
#
#	plugins/tamper/testdata/make-fixtures.sh
#
# Each <scene>.gray holds the IDR frames (what the gateway decodes by
# default) of hw/camsim/clips/<scene>-g2.h264, full-range grey (ffmpeg's
# "gray", as libswscale converts), box-downscaled to 160x90, concatenated:
# 14400 bytes per frame. kitchen, night and blurred are 8 s clips (4 IDRs,
# the first 2 kept for night and blurred), the others 4 s (2 IDRs).
set -euo pipefail
cd "$(dirname "$0")"
CLIPS=../../../hw/camsim/clips
frames() { # scene maxframes
	ffmpeg -hide_banner -loglevel error -nostdin -skip_frame nokey -i "$CLIPS/$1-g2.h264" \
		-fps_mode passthrough -frames:v "$2" -vf scale=160:90:flags=area -f rawvideo -pix_fmt gray -y "$1.gray"
}
frames kitchen 4
frames night 2
frames blurred 2
frames covered 2
frames frozen 2
frames empty 2
ls -l ./*.gray
