#!/usr/bin/env bash
# make-clips.sh: render the synthetic kitchen scenes that hw/camsim serves.
#
# Usage: scripts/make-clips.sh [outdir]      (default: hw/camsim/clips)
#
# Every clip is a raw Annex-B elementary stream (.h264 / .h265), rendered from
# ffmpeg lavfi sources only (geq, color, drawbox, overlay, boxblur, noise), so
# the script needs nothing but ffmpeg/ffprobe with libx264 and libx265.
#
# File names are <scene>-g<GOP seconds>.<codec>. Scenes (640x360, 10 fps,
# 8 s for the scenes with motion, 4 s for the still ones):
#   kitchen  textured kitchen, several figure-like shapes moving (period 8 s,
#            so the loop is seamless)
#   empty    the same kitchen, nobody in it, light sensor noise only
#   night    the kitchen very dark (mean luma ~20-40) with a small (~4-5% of
#            the frame) brighter blob moving slowly (a rodent at night)
#   covered  covered lens: nearly black (mean luma < 16)
#   frozen   the first kitchen frame repeated (a stuck camera)
#   blurred  the kitchen heavily blurred (dirty or defocused lens)
# plus kitchen-1080 (1920x1080, 25 fps, 4 s, GOP 2 s, H.264 only) for
# measuring the gateway's CPU per 1080p camera, and the AI scenes drawn by
# hw/camsim/scene through bk-scenes (staff, no-hat, no-mask, no-uniform,
# phone, smoking, rodent, bin-open: 8 s, GOP 2 s, H.264 only).
#
# Encoding: no B-frames (decode order == presentation order), closed GOPs with
# an IDR every GOP seconds, SPS/PPS(/VPS) repeated before every IDR, SEI
# removed, single-threaded encoders so the output is deterministic for a given
# ffmpeg build. H.264 is constrained baseline (what every browser decodes).
# Luma values quoted are raw Y samples (limited range).
#
# The script is idempotent: it renders into a temporary directory and then
# replaces the clips in outdir, and finally checks every clip with ffprobe.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${1:-hw/camsim/clips}
command -v ffmpeg >/dev/null || { echo "make-clips: ffmpeg not found" >&2; exit 1; }
command -v ffprobe >/dev/null || { echo "make-clips: ffprobe not found" >&2; exit 1; }
ENCODERS=$(ffmpeg -hide_banner -encoders 2>/dev/null)
for e in libx264 libx265; do
	[[ $ENCODERS == *"$e"* ]] || { echo "make-clips: ffmpeg lacks $e" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

FF=(ffmpeg -hide_banner -loglevel error -nostdin -y)
GOPS=(1 2 4)

# background W H out.png: a static kitchen picture (wall tiles, counter,
# floor, stove, hood, window, pots), with a fixed-seed grain for texture.
background() {
	local w=$1 h=$2 out=$3
	# geq works on relative coordinates so any size renders the same scene.
	local wall='lt(Y,0.5*H)'
	local grout='(lt(mod(X,W/20),1.5*W/640)+lt(mod(Y,H/12),1.5*H/360))'
	local counter='between(Y,0.5*H,0.62*H)'
	local check='mod(floor(X/(W/12))+floor(Y/(H/10)),2)'
	local r="if($wall,if($grout,140,205),if($counter,140+50*sin(PI*X/W),if($check,150,105)))"
	local g="if($wall,if($grout,140,205),if($counter,145+50*sin(PI*X/W),if($check,128,88)))"
	local b="if($wall,if($grout,135,198),if($counter,150+50*sin(PI*X/W),if($check,100,70)))"
	"${FF[@]}" -f lavfi -i "color=c=black:s=${w}x${h}:r=1,format=rgb24" -frames:v 1 \
		-vf "geq=r='$r':g='$g':b='$b',
drawbox=x=0.08*iw:y=0.40*ih:w=0.28*iw:h=0.22*ih:color=0x303030:t=fill,
drawbox=x=0.10*iw:y=0.42*ih:w=0.08*iw:h=0.03*ih:color=0x882222:t=fill,
drawbox=x=0.24*iw:y=0.42*ih:w=0.08*iw:h=0.03*ih:color=0x882222:t=fill,
drawbox=x=0.06*iw:y=0.05*ih:w=0.32*iw:h=0.16*ih:color=0x8a8f94:t=fill,
drawbox=x=0.70*iw:y=0.06*ih:w=0.24*iw:h=0.26*ih:color=0xa8d0e8:t=fill,
drawbox=x=0.70*iw:y=0.06*ih:w=0.24*iw:h=0.26*ih:color=0x505050:t=0.01*iw,
drawbox=x=0.45*iw:y=0.22*ih:w=0.20*iw:h=0.015*ih:color=0x6b4a2b:t=fill,
drawbox=x=0.46*iw:y=0.15*ih:w=0.05*iw:h=0.07*ih:color=0xc0392b:t=fill,
drawbox=x=0.53*iw:y=0.16*ih:w=0.04*iw:h=0.06*ih:color=0x2e86c1:t=fill,
drawbox=x=0.59*iw:y=0.14*ih:w=0.05*iw:h=0.08*ih:color=0xd4ac0d:t=fill,
drawbox=x=0.42*iw:y=0.47*ih:w=0.10*iw:h=0.03*ih:color=0xdddddd:t=fill,
drawbox=x=0.60*iw:y=0.45*ih:w=0.06*iw:h=0.05*ih:color=0x27ae60:t=fill,
noise=alls=5:all_seed=42,format=rgb24" "$out"
}

# figure W H colour out.png: a person-like sprite (head ellipse on a body
# with rounded shoulders) with alpha, W x H pixels.
figure() {
	local w=$1 h=$2 col=$3 out=$4
	local head="lte(pow((X-W/2)/(W*0.22),2)+pow((Y-H*0.11)/(H*0.09),2),1)"
	local body="(between(Y,H*0.22,H)*between(X,W*0.05,W*0.95)*gt(gte(Y,H*0.32)+lte(pow((X-W/2)/(W*0.45),2)+pow((Y-H*0.32)/(H*0.12),2),1),0))"
	local cr=$(( (col >> 16) & 255 )) cg=$(( (col >> 8) & 255 )) cb=$(( col & 255 ))
	"${FF[@]}" -f lavfi -i "color=c=black@0:s=${w}x${h}:r=1,format=rgba" -frames:v 1 \
		-vf "geq=r='if($head,224,$cr)':g='if($head,182,$cg)':b='if($head,150,$cb)':a='if($head+$body,255,0)'" "$out"
}

# blob W H out.png: a soft grey ellipse with alpha (the night visitor).
blob() {
	local w=$1 h=$2 out=$3
	"${FF[@]}" -f lavfi -i "color=c=black@0:s=${w}x${h}:r=1,format=rgba" -frames:v 1 \
		-vf "geq=r=120:g=112:b=100:a='255*clip(1.6-1.6*(pow(X/W*2-1,2)+pow(Y/H*2-1,2)),0,1)'" "$out"
}

# render name fps seconds filtergraph inputs...: write a lossless
# intermediate (ffv1 in .nut) so every codec/GOP variant encodes the same
# pixels.
render() {
	local name=$1 fps=$2 secs=$3 graph=$4
	shift 4
	"${FF[@]}" "$@" -filter_complex "$graph" -map '[v]' -r "$fps" -t "$secs" \
		-c:v ffv1 -pix_fmt yuv420p "$TMP/$name.nut"
}

# encode name codec gop fps crf maxrate outfile
encode() {
	local name=$1 codec=$2 gop=$3 fps=$4 crf=$5 maxrate=$6 out=$7
	local k=$((gop * fps))
	if [ "$codec" = h264 ]; then
		"${FF[@]}" -i "$TMP/$name.nut" -an -c:v libx264 -preset medium -profile:v baseline \
			-pix_fmt yuv420p -threads 1 -g "$k" -keyint_min "$k" -sc_threshold 0 -bf 0 \
			-crf "$crf" -maxrate "$maxrate" -bufsize "$maxrate" \
			-x264-params "repeat-headers=1:aud=0" \
			-bsf:v filter_units=remove_types=6 -f h264 "$out"
	else
		"${FF[@]}" -i "$TMP/$name.nut" -an -c:v libx265 -preset medium -pix_fmt yuv420p \
			-crf "$crf" \
			-x265-params "log-level=error:keyint=$k:min-keyint=$k:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:info=0:frame-threads=1:pools=none:vbv-maxrate=${maxrate%k}:vbv-bufsize=${maxrate%k}" \
			-bsf:v filter_units=remove_types=39\|40 -f hevc "$out"
	fi
}

echo "make-clips: rendering sprites" >&2
background 640 360 "$TMP/bg.png"
background 1920 1080 "$TMP/bg1080.png"
figure 44 130 0xf4f4f4 "$TMP/fig1.png"
figure 40 120 0x2c3e50 "$TMP/fig2.png"
figure 46 136 0xe8e8e8 "$TMP/fig3.png"
figure 132 390 0xf4f4f4 "$TMP/fig1080a.png"
figure 120 360 0x2c3e50 "$TMP/fig1080b.png"
figure 138 408 0xe8e8e8 "$TMP/fig1080c.png"
blob 130 100 "$TMP/blob.png"

# Motion is periodic in 8 s (the clip length) so loops are seamless.
P='(2*PI*t/8)'
KITCHEN="[0][1]overlay=x='60+200*(1-cos($P))':y=170+6*sin(4*$P)[a];
[a][2]overlay=x='520-180*(1-cos($P))/2-60*sin(2*$P)':y=190[b];
[b][3]overlay=x='300+140*sin($P)':y='150+20*sin($P)'[v]"
SPRITES=(-i "$TMP/fig1.png" -i "$TMP/fig2.png" -i "$TMP/fig3.png")
BG=(-loop 1 -framerate 10 -i "$TMP/bg.png")

echo "make-clips: rendering scenes" >&2
render kitchen 10 8 "$KITCHEN" "${BG[@]}" "${SPRITES[@]}"
render empty 10 4 "[0]noise=alls=3:allf=t:all_seed=7[v]" "${BG[@]}"
render night 10 8 "[0]lutyuv=y='16+(val-16)*0.07':u='128+(val-128)*0.3':v='128+(val-128)*0.3',noise=alls=4:allf=t:all_seed=9[d];
[d][1]overlay=x='120+150*(1-cos($P))':y='210+15*sin(2*$P)'[v]" "${BG[@]}" -i "$TMP/blob.png"
render covered 10 4 "[0]geq=lum='10+2*sin(X/40)*cos(Y/30)':cb=128:cr=128,noise=alls=2:allf=t:all_seed=11[v]" "${BG[@]}"
"${FF[@]}" -i "$TMP/kitchen.nut" -frames:v 1 "$TMP/still.png"
render frozen 10 4 "[0]null[v]" -loop 1 -framerate 10 -i "$TMP/still.png"
render blurred 10 8 "[0]boxblur=luma_radius=24:luma_power=3:chroma_radius=10:chroma_power=3[v]" -i "$TMP/kitchen.nut"

P4='(2*PI*t/4)'
render kitchen-1080 25 4 "[0][1]overlay=x='180+600*(1-cos($P4))':y=510+18*sin(4*$P4)[a];
[a][2]overlay=x='1560-540*(1-cos($P4))/2-180*sin(2*$P4)':y=570[b];
[b][3]overlay=x='900+420*sin($P4)':y='450+60*sin($P4)'[v]" \
	-loop 1 -framerate 25 -i "$TMP/bg1080.png" -i "$TMP/fig1080a.png" -i "$TMP/fig1080b.png" -i "$TMP/fig1080c.png"

echo "make-clips: encoding" >&2
mkdir -p "$TMP/out"
for scene in kitchen empty night covered frozen blurred; do
	for gop in "${GOPS[@]}"; do
		encode "$scene" h264 "$gop" 10 30 300k "$TMP/out/$scene-g$gop.h264"
		encode "$scene" h265 "$gop" 10 32 250k "$TMP/out/$scene-g$gop.h265"
	done
done
encode kitchen-1080 h264 2 25 24 3000k "$TMP/out/kitchen-1080-g2.h264"

# The scenes with staff, rodents and bins are drawn by package scene (their
# ground truth is its Render), 8 s loops, H.264 with a GOP of 2 s only.
echo "make-clips: rendering the AI scenes (bk-scenes)" >&2
export GOTOOLCHAIN=go1.27.3
go build -o "$TMP/bk-scenes" ./plugins/onnx/cmd/bk-scenes
for scene in $("$TMP/bk-scenes" 2>&1 | sed -n 's/^Scenes: \[\(.*\)\] and random$/\1/p'); do
	"$TMP/bk-scenes" render -scene "$scene" -seed 0 -gop 20 -out "$TMP/ai" >/dev/null
	mv "$TMP/ai/$scene-s0.h264" "$TMP/out/$scene-g2.h264"
done

# Check: every clip decodes, has the expected frame count, and the luma
# targets the detectors rely on hold.
echo "make-clips: checking" >&2
total=0
for f in "$TMP"/out/*; do
	base=$(basename "$f")
	frames=$(ffprobe -v error -count_frames -select_streams v:0 \
		-show_entries stream=nb_read_frames,width,height -of csv=p=0 "$f")
	size=$(stat -c %s "$f")
	total=$((total + size))
	luma=$(ffmpeg -hide_banner -nostdin -i "$f" -vf signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=- \
		-f null - 2>/dev/null | awk -F= '/YAVG/ {s+=$2; n++} END {if (n) printf "%.1f", s/n}')
	printf '%-24s %8d bytes  %s frames(w,h,n)  mean luma %s\n' "$base" "$size" "$frames" "$luma"
	case "$base" in
	covered-*) awk -v l="$luma" 'BEGIN{exit !(l < 16)}' || { echo "make-clips: $base luma $luma >= 16" >&2; exit 1; } ;;
	night-*) awk -v l="$luma" 'BEGIN{exit !(l >= 20 && l <= 40)}' || { echo "make-clips: $base luma $luma not in 20..40" >&2; exit 1; } ;;
	esac
done
printf 'total %d bytes\n' "$total"

mkdir -p "$OUT"
rm -f "$OUT"/*.h264 "$OUT"/*.h265
cp "$TMP"/out/* "$OUT"/
echo "make-clips: wrote $(ls "$OUT" | wc -l) clips to $OUT" >&2
