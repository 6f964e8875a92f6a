#!/usr/bin/env bash
# Runs the benchmarks and writes their medians into docs/benchmarks.md.
# Each benchmark runs COUNT times (default 5; the slow end-to-end ones 3);
# the table gives the median of each metric, and the raw output is kept in
# docs/bench-raw.txt. Ratios against baselines measured in the same run are
# computed here, so a noisy shared machine still gives comparable numbers.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
SLOW=${SLOW_COUNT:-3}
raw=docs/bench-raw.txt
# REPORT_ONLY=1 rewrites docs/benchmarks.md from the raw output of the last
# run, without running anything (after a change to the text below), and
# BENCH_NOTE, when set, is printed under the header (say there what was
# measured again, or how the machine was loaded).
if [ -z "${REPORT_ONLY:-}" ]; then
: >"$raw"

run() { # package, regexp, count, benchtime
  echo "== go test -run '^\$' -bench '$2' -count $3 -benchtime $4 $1" | tee -a "$raw" >&2
  go test -run '^$' -bench "$2" -count "$3" -benchtime "$4" "$1" 2>&1 | tee -a "$raw" | grep -E '^Benchmark' >&2 || true
}

# (go test splits -bench patterns at '/', so each pattern runs on its own)
run ./gateway/spool/ 'Append/concurrent16$' "$COUNT" 5000x
run ./gateway/spool/ 'AppendBaselineTxPerEvent' "$COUNT" 2000x
run ./gateway/spool/ 'ReadDelete' "$COUNT" 5000x
run ./e2e/ 'DrainBacklog' "$SLOW" 1x
run ./e2e/ 'EventLatency' "$SLOW" 1x
run ./e2e/ 'GatewayIngest' "$SLOW" 1x
run ./e2e/ 'FleetFlood' "$SLOW" 1x
run ./plugins/sdk/ 'RoundTrip' "$COUNT" 2000x
run ./e2e/ 'GatewayDetect' "$SLOW" 1x
run ./e2e/ 'EpisodeLatency' "$SLOW" 1x
run ./e2e/ 'LiveFirstFrame' 1 1x
# Issue 15: the HLS fallback in Chromium (first frame, behind live).
run ./e2e/ 'HLSFirstFrame' 1 1x
# Issue 12: inference. Networks of YOLOv8n's size with random weights, written
# once by the training script (Debian's python3-torch; installed if missing).
export BK_BENCH_MODELS=${BK_BENCH_MODELS:-$HOME/.cache/bk-bench-models}
mkdir -p "$BK_BENCH_MODELS"
if ! /usr/bin/python3 -c 'import torch, onnx, numpy' 2>/dev/null; then
  apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy >/dev/null
fi
for s in 320 640 640x384; do
  [ -s "$BK_BENCH_MODELS/yolov8n-random-$s.onnx" ] ||
    /usr/bin/python3 scripts/train-demo-model.py --random-yolov8n "$s" "$BK_BENCH_MODELS/yolov8n-random-$s.onnx" >&2
done
run ./plugins/onnx/ 'Inference' "$COUNT" 50x
run ./e2e/ 'GatewayONNX' "$SLOW" 1x
# Fleet RSS while 100 unauthenticated connections hold the MQTT port.
run ./e2e/ 'MQTTPreAuth' "$SLOW" 1x
# Relay scale: real pion viewers in a child process, relay measured alone.
for n in 50 100 200; do
  echo "== BK_LIVE_SCALE_VIEWERS=$n go test -tags scale -run '^TestScale\$' -v ./fleet/live/" | tee -a "$raw" >&2
  BK_LIVE_SCALE_VIEWERS=$n go test -tags scale -run '^TestScale$' -count 1 -v ./fleet/live/ 2>&1 | tee -a "$raw" | grep -E 'viewers=|per viewer|RECEIVED' >&2 || true
done
# The regulator's dashboard in headless Chromium, 5,000 canteens registered.
run ./e2e/ 'DashboardFirstPaint' "$SLOW" 1x
# Issue 15: the public kitchen pages in headless Chromium, 5,000 canteens
# taking part.
run ./e2e/ 'PublicKitchensFirstPaint' "$SLOW" 1x
# Logins while 100 connections guess passwords (issue 11).
run ./fleet/api/ 'LoginUnderAttack' "$SLOW" 5x
# Issue 14: an update over the air of a real gateway, and a crash rolled back.
run ./e2e/ '^BenchmarkOTA$' "$SLOW" 1x
# Rates over the store: the generated city (SQLite's cached in the temp dir
# after the first run, which takes about 16 minutes; PostgreSQL's, about 4,
# in a throwaway server each time); the in-memory engine on the same city as
# a baseline.
run ./fleet/coverage/ 'City/(30d|30d-district)$' "$COUNT" 10x
run ./fleet/rates/ 'CoverageCity/sqlite$/.*/warm' "$COUNT" 20x
run ./fleet/rates/ 'CoverageCity/sqlite$/.*/cold' "$SLOW" 3x
run ./fleet/rates/ 'CoverageCity/sqlite-nommap/(7d|30d)$/warm' "$COUNT" 20x
# Issue 14: the packages' sizes per architecture (make deb's, xz), and the
# packaged gateway's idle RSS on loopback with camsim and the packaged fleet.
run ./scripts/packaging/ 'Packages' 1 1x
run ./scripts/packaging/ 'GatewayIdleRSS' "$SLOW" 1x
run ./scripts/packaging/ 'InstallToOnline' "$SLOW" 1x
# Issue 15: an alarm committed → pushed to a 企业微信 robot on loopback,
# SQLite and PostgreSQL.
echo "== scripts/with-postgres.sh go test -run '^\$' -bench PushLatency -count $COUNT -benchtime 1x ./fleet/notify/" | tee -a "$raw" >&2
bash scripts/with-postgres.sh go test -run '^$' -bench PushLatency -count "$COUNT" -benchtime 1x ./fleet/notify/ 2>&1 | tee -a "$raw" | grep -E '^Benchmark' >&2 || true
echo "== scripts/with-postgres.sh go test -run '^\$' -bench 'CoverageCity/postgres' -count $SLOW -benchtime 5x ./fleet/rates/" | tee -a "$raw" >&2
bash scripts/with-postgres.sh go test -run '^$' -bench 'CoverageCity/postgres' -count "$SLOW" -benchtime 5x -timeout 60m ./fleet/rates/ 2>&1 | tee -a "$raw" | grep -E '^Benchmark' >&2 || true
fi

# median of every (benchmark, unit) pair
medians=$(awk '
  /^Benchmark/ {
    name=$1; sub(/-[0-9]+$/, "", name)
    for (i=3; i<NF; i+=2) { key=name "\t" $(i+1); vals[key]=vals[key] " " $i; if (!(key in seen)) { seen[key]=1; order[++n]=key } }
  }
  END {
    for (k=1; k<=n; k++) {
      key=order[k]; m=split(substr(vals[key],2), a, " ")
      for (i=1;i<=m;i++) for (j=i+1;j<=m;j++) if (a[j]+0 < a[i]+0) { t=a[i]; a[i]=a[j]; a[j]=t }
      med = (m%2) ? a[(m+1)/2] : (a[m/2]+a[m/2+1])/2
      printf "%s\t%s\t%d\n", key, med, m
    }
  }' "$raw")

get() { echo "$medians" | awk -F'\t' -v n="$1" -v u="$2" '$1==n && $2==u {print $3}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 > 0) printf "%.1f", a/b; else print "n/a" }'; }

grouped=$(get BenchmarkAppend/concurrent16 events/s)
baseline=$(get BenchmarkAppendBaselineTxPerEvent events/s)

{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)."
  echo "Medians of ${COUNT} runs (${SLOW} for the end-to-end ones); raw output in \`docs/bench-raw.txt\`."
  echo "The machine is shared and noisy: compare ratios measured in the same run."
  [ -z "${BENCH_NOTE:-}" ] || { echo; echo "$BENCH_NOTE"; }
  echo
  echo "## Issue 2: the spine"
  echo
  echo "| what | median | goal | command |"
  echo "|---|---|---|---|"
  echo "| spool append, 1 KB events fsync'd, 16 appenders grouped | $grouped events/s | ≥ 20,000/s | \`go test -bench 'Append/concurrent16' ./gateway/spool/\` |"
  echo "| baseline: one bbolt transaction per event (same run) | $baseline events/s | | \`go test -bench AppendBaselineTxPerEvent ./gateway/spool/\` |"
  echo "| grouped ÷ baseline | $(ratio "$grouped" "$baseline")× | | |"
  echo "| spool read + delete (drain side) | $(get BenchmarkReadDelete events/s) events/s | | \`go test -bench ReadDelete ./gateway/spool/\` |"
  echo "| drain of a 100,000-event backlog to the fleet (spool → uplink → broker → ingest → SQLite → ack), replay cap 10,000/s | $(get BenchmarkDrainBacklog events/s) events/s | ≥ 5,000/s | \`go test -bench DrainBacklog ./e2e/\` |"
  echo "| event latency spooled → fleet committed → ack back, at 200 events/s, p50 | $(get BenchmarkEventLatency p50-ms) ms | | \`go test -bench EventLatency ./e2e/\` |"
  echo "| same, p99 | $(get BenchmarkEventLatency p99-ms) ms | ≤ 250 ms | |"
  echo "| bk-gateway with no camera (baseline): CPU, RSS | $(get BenchmarkGatewayIngest/cameras=0 cpu%)% of a core, $(get BenchmarkGatewayIngest/cameras=0 RSS-MB) MB | | \`go test -bench GatewayIngest ./e2e/\` |"
  echo "| bk-gateway ingesting 1 simulated 1080p camera: CPU, RSS | $(get BenchmarkGatewayIngest/cameras=1 cpu%)% of a core, $(get BenchmarkGatewayIngest/cameras=1 RSS-MB) MB | | |"
  echo "| bk-gateway ingesting 8 simulated 1080p cameras: CPU, RSS | $(get BenchmarkGatewayIngest/cameras=8 cpu%)% of a core ($(get BenchmarkGatewayIngest/cameras=8 cpu%/camera)% per camera), $(get BenchmarkGatewayIngest/cameras=8 RSS-MB) MB | RSS ≤ 100 MB | |"
  echo "| bk-fleet while one gateway floods it (garbage, 256 KiB snapshots, orphan and oversized snapshots): anonymous memory over the idle fleet (RSS, which also counts the SQLite pages it maps, in brackets) | $(get BenchmarkFleetFlood anon-delta-MB) MB ($(get BenchmarkFleetFlood idle-anon-MB) MB idle; RSS +$(get BenchmarkFleetFlood delta-MB) MB over $(get BenchmarkFleetFlood idle-RSS-MB) MB; $(get BenchmarkFleetFlood msgs/s) msgs/s; Go heap at most $(get BenchmarkFleetFlood peak-heap-inuse-MB) MB in use, next collection at $(get BenchmarkFleetFlood peak-next-gc-MB) MB) | ≤ 50 MB | \`go test -bench FleetFlood ./e2e/\` |"
  echo
  echo "The 1080p cameras are \`bk-camsim\` paths playing \`kitchen-1080\` (H.264, 25 fps, GOP 2 s,"
  echo "about 1.7 Mbit/s) in a separate process over RTSP/TCP; ingest only (no decoding yet)."
  echo "CPU is utime+stime from /proc over a 20 s window after 5 s of warm-up."
  echo
  echo "## Issue 3: detection"
  echo
  d() { get "BenchmarkGatewayDetect/$1" "$2"; }
  echo "| what | median | goal | command |"
  echo "|---|---|---|---|"
  echo "| baseline: 1 camera ingest only (same run) | $(d ingest-only/cameras=1 cpu%)% of a core, $(d ingest-only/cameras=1 RSS-MB) MB | | \`go test -bench GatewayDetect ./e2e/\` |"
  echo "| 1 camera, IDR-only decode + scale + tamper plugin: gateway CPU | $(d idr-only/cameras=1 cpu%)% of a core (plugin process $(d idr-only/cameras=1 plugin-cpu%)%) | ≤ 3% | |"
  echo "| 1 camera at detect.fps 5 (every frame decoded, 5/s to the plugin): gateway CPU | $(d fps5/cameras=1 cpu%)% of a core (plugin process $(d fps5/cameras=1 plugin-cpu%)%) | | |"
  echo "| baseline: 8 cameras ingest only (same run): RSS | $(d ingest-only/cameras=8 RSS-MB) MB, $(d ingest-only/cameras=8 cpu%/camera)% CPU per camera | | |"
  echo "| 8 cameras detecting, IDR-only: gateway RSS, CPU per camera | $(d idr-only/cameras=8 RSS-MB) MB, $(d idr-only/cameras=8 cpu%/camera)% per camera (plugin process $(d idr-only/cameras=8 plugin-RSS-MB) MB) | RSS ≤ 150 MB | |"
  echo "| plugin round trip, 640×360 GRAY8 (supervisor → gRPC → plugin process → back), p50 / p99 | $(get BenchmarkRoundTrip/GRAY8-640x360 p50-µs) / $(get BenchmarkRoundTrip/GRAY8-640x360 p99-µs) µs | | \`go test -bench RoundTrip ./plugins/sdk/\` |"
  echo "| plugin round trip, 640×360 RGB24, p50 / p99 | $(get BenchmarkRoundTrip/RGB24-640x360 p50-µs) / $(get BenchmarkRoundTrip/RGB24-640x360 p99-µs) µs | | |"
  echo "| first frame of an episode (covered lens) → event committed at the fleet | $(get BenchmarkEpisodeLatency/covered/tamper first-frame-to-commit-ms) ms | | \`go test -bench EpisodeLatency ./e2e/\` |"
  echo "| camera online → event committed (includes connect and the first IDR) | $(get BenchmarkEpisodeLatency/covered/tamper online-to-commit-ms) ms | | |"
  echo
  echo "The detecting cameras are the same \`kitchen-1080\` paths with a \`detect\` section running the"
  echo "tamper plugin (GRAY8 640×360). IDR-only decoding frees the decoder between IDR frames."
  echo "The episode latency is dominated by the persistence the rules ask for (the plugin's"
  echo "hysteresis of 3 frames and the rule's hits, at one frame per GOP of 1 s); the transport"
  echo "after the starting frame (snapshot, spool, MQTT, commit) is the event latency of issue 2."
  echo
  echo "## Issue 12: AI on the edge"
  echo
  i() { get "BenchmarkInference/$1" "$2"; }
  o() { get "BenchmarkGatewayONNX/$1" "$2"; }
  echo "ONNX Runtime 1.30's CPU provider, one intra-op thread, through bk-plugin-onnx's Go binding; the model's run"
  echo "only (letterbox and decoding apart), on a camsim frame. The YOLOv8n-size networks have random weights"
  echo "(\`scripts/train-demo-model.py --random-yolov8n\`: same op set and size, nothing learnt)."
  echo
  echo "| what | median | goal | command |"
  echo "|---|---|---|---|"
  echo "| demo model (384×224), per frame | $(i demo ms/frame-p50) ms ($(i demo frames/s/core) frames/s per core) | | \`go test -run '^\$' -bench Inference ./plugins/onnx/\` |"
  echo "| YOLOv8n size at 320×320, per frame | $(i yolov8n-320 ms/frame-p50) ms ($(i yolov8n-320 frames/s/core) frames/s per core) | reference 13 ms | |"
  echo "| YOLOv8n size at 640×640, per frame | $(i yolov8n-640 ms/frame-p50) ms ($(i yolov8n-640 frames/s/core) frames/s per core) | reference 51 ms | |"
  echo "| YOLOv8n size at 640×384 (a 16:9 picture with the least padding), per frame | $(i yolov8n-640x384 ms/frame-p50) ms ($(i yolov8n-640x384 frames/s/core) frames/s per core) | | |"
  echo "| 8 cameras, YOLOv8n size at 640, 1 detection/s each: gateway + plugin CPU, RSS | $(o yolov8n-640/fps1/cameras=8 cpu%)% + $(o yolov8n-640/fps1/cameras=8 plugin-cpu%)% of a core, $(o yolov8n-640/fps1/cameras=8 RSS-MB) MB | ≤ 50% of a core, ≤ 250 MB | \`go test -run '^\$' -bench GatewayONNX ./e2e/\` |"
  echo "| same, 2 detections/s each | $(o yolov8n-640/fps2/cameras=8 cpu%)% + $(o yolov8n-640/fps2/cameras=8 plugin-cpu%)% of a core, $(o yolov8n-640/fps2/cameras=8 RSS-MB) MB | | |"
  echo "| 8 cameras, YOLOv8n size at 640×384, 1 detection/s each | $(o yolov8n-640x384/fps1/cameras=8 cpu%)% + $(o yolov8n-640x384/fps1/cameras=8 plugin-cpu%)% of a core, $(o yolov8n-640x384/fps1/cameras=8 RSS-MB) MB | | |"
  echo "| 8 cameras, demo model, 1 detection/s each | $(o demo/fps1/cameras=8 cpu%)% + $(o demo/fps1/cameras=8 plugin-cpu%)% of a core, $(o demo/fps1/cameras=8 RSS-MB) MB | | |"
  echo "| same, 2 detections/s each | $(o demo/fps2/cameras=8 cpu%)% + $(o demo/fps2/cameras=8 plugin-cpu%)% of a core, $(o demo/fps2/cameras=8 RSS-MB) MB | | |"
  echo "| first frame of a no_chef_hat episode (demo model, 2 frames/s) → event committed at the fleet | $(get BenchmarkEpisodeLatency/no-hat/onnx first-frame-to-commit-ms) ms | | \`go test -run '^\$' -bench EpisodeLatency ./e2e/\` |"
  echo
  echo "The cameras play camsim's no-hat scene (640×360, 10 fps, GOP 2 s); with detect.fps set the gateway decodes"
  echo "each GOP up to its last wanted frame (the rest is skipped once the GOP's length is steady) and sends the plugin"
  echo "one RGB24 picture, scaled to fit the model's input, N times a second. The random-weight networks get a score"
  echo "threshold of 0.6 in these runs: they score every one of 8,400 anchors between 0.5 and 0.6, where a trained"
  echo "network finds a handful of boxes, and sorting and suppressing 8,400 candidates (up to 30 ms a frame) is no"
  echo "model's real cost. The plugin's CPU is mostly ONNX Runtime's own (about 80% in a profile of the 640×640 case);"
  echo "8 runs a second at this machine's single-thread time per frame above are most of the half-core budget before"
  echo "the gateway or the plugin does anything else. 640×384, the letterbox of a 16:9 picture with the least padding,"
  echo "is how a deployer should export YOLO for these cameras (docs/models.md)."
  echo
  echo "## Issue 4: live view"
  echo
  l() { get "BenchmarkLiveFirstFrame/$1" "$2"; }
  echo "Time from the player's WHEP POST to its first decoded frame in headless Chromium (requestVideoFrameCallback),"
  echo "through the real gateway and fleet on loopback; warm = another viewer keeps the upstream running"
  echo "(10 samples), on demand = the gateway is not publishing yet (5 samples). One run: \`go test -bench LiveFirstFrame ./e2e/\`."
  echo
  echo "| camsim GOP | GOP cache | warm p50 / p95 | on demand p50 / p95 | goal |"
  echo "|---|---|---|---|---|"
  for g in 2 4; do
    echo "| ${g} s | on | $(l gop=${g}s/cache=true warm-p50-ms) / $(l gop=${g}s/cache=true warm-p95-ms) ms | $(l gop=${g}s/cache=true ondemand-p50-ms) / $(l gop=${g}s/cache=true ondemand-p95-ms) ms | warm ≤ 400 / 700, on demand p50 ≤ 900 |"
    echo "| ${g} s | off (baseline, same run) | $(l gop=${g}s/cache=false warm-p50-ms) / $(l gop=${g}s/cache=false warm-p95-ms) ms | $(l gop=${g}s/cache=false ondemand-p50-ms) / $(l gop=${g}s/cache=false ondemand-p95-ms) ms | |"
  done
  echo
  echo "Relay CPU and RSS with N real pion viewers of one 1 Mbit/s stream (viewers in a child process;"
  echo "\`BK_LIVE_SCALE_VIEWERS=N go test -tags scale -run TestScale -v ./fleet/live/\`). Goal: ≥ 850 viewers per core, ≤ 1 MB RSS per viewer;"
  echo "reference on this kind of machine: mediamtx ≈ 650 viewers per core and 4 MB per viewer, go2rtc ≈ 0.19% of a core and 4.8 MB per viewer."
  echo
  echo "| viewers | relay CPU | viewers per core | RSS per viewer | viewers' own process CPU |"
  echo "|---|---|---|---|---|"
  awk '/viewers=[0-9]+ relay CPU/ { for (i=1;i<=NF;i++) { if ($i ~ /^viewers=/) { split($i,a,"="); n=a[2] } if ($i=="CPU") c=$(i+1); if ($i ~ /^\(/) { v=substr($i,2) } } }
       /per viewer: RSS/ { for (i=1;i<=NF;i++) if ($i=="RSS") r=$(i+1) }
       /^RECEIVED/ { for (i=1;i<=NF;i++) if ($i=="CPU") vc=$(i+1); printf "| %s | %s cores | %s | %s KiB | %s cores |\n", n, c, v, r, vc }' "$raw"
  echo
  echo "In the first-frame table, \"off\" turns off the relay's GOP cache only: an on-demand viewer is still"
  echo "served from the gateway's GOP cache, which the publisher always sends first; a warm late joiner"
  echo "without the relay's cache waits for the camera's next IDR. Relay scaling is below the 850 viewers per"
  echo "core goal: about three quarters of the relay's CPU is pion's per-packet path (sendto, SRTP, the ICE mux)."
  echo
  echo "## HLS fallback (issue 15)"
  echo
  hl() { get "BenchmarkHLSFirstFrame/$1" "$2"; }
  echo "The player forced to HLS (\`#hls=1\`: the vendored hls.js 1.7.4, low-latency mode) in headless Chromium, through the"
  echo "real gateway and fleet on loopback: the player's \`POST /hls/{camera}\` → its first decoded frame"
  echo "(requestVideoFrameCallback), on demand (nothing published yet; 5 samples) and warm (another HLS viewer keeps the"
  echo "upstream and the camera's muxer running; 5 samples); and, after 6 s of each warm sample's playing, how far its"
  echo "picture is behind live: now − hls.js's \`playingDate\`, the program date-time of the frame shown, which the fleet"
  echo "stamps with the frame's arrival at the relay (the camera → gateway → relay hop, a few ms here, is not in it)."
  echo "LL-HLS in fMP4: segments ≥ 1 s cut at keyframes (about one GOP each) in parts of 200 ms."
  echo "One run: \`go test -run '^\$' -bench HLSFirstFrame -benchtime 1x ./e2e/\`."
  echo
  echo "| camsim GOP | on demand p50 / p95 | warm p50 / p95 | behind live p50 / p95 | goal |"
  echo "|---|---|---|---|---|"
  for g in 1 2; do
    echo "| ${g} s | $(hl gop=${g}s ondemand-p50-ms) / $(hl gop=${g}s ondemand-p95-ms) ms | $(hl gop=${g}s warm-p50-ms) / $(hl gop=${g}s warm-p95-ms) ms | $(hl gop=${g}s behind-live-p50-ms) / $(hl gop=${g}s behind-live-p95-ms) ms | behind live ≤ 2 s |"
  done
  echo
  echo "The first playlist is served once the muxer has one whole segment (gohlslib's rule for LL-HLS), from the cached"
  echo "GOP's keyframe on, so an on-demand first frame waits for about one GOP after the upstream is up (WebRTC's first"
  echo "frame needs no such wait: the GOP cache serves it at once). hls.js in low-latency mode then plays from the parts,"
  echo "PART-HOLD-BACK (2.5 part durations, about 0.5 s) behind the live end, whatever the GOP: under the 2 s goal."
  echo
  echo "## Issue 11: hardening"
  echo
  m() { get BenchmarkMQTTPreAuth "$1"; }
  echo "| what | median | goal | command |"
  echo "|---|---|---|---|"
  echo "| bk-fleet RSS idle (baseline, same run) | $(m idle-RSS-MB) MB | | \`go test -run '^\$' -bench MQTTPreAuth ./e2e/\` |"
  echo "| bk-fleet RSS, peak while 100 unauthenticated connections hold the MQTT port (5 addresses × 20, each a CONNECT declaring 64 KiB, 1 KiB sent; 15 s) | $(m attack-RSS-MB) MB (+$(m delta-RSS-MB) MB over idle; $(m held-conns) held at most, $(m drops/s) dropped/s at the 5 s deadline) | within 50 MB of idle | |"
  echo
  echo "## Rates over the store"
  echo
  echo "\`Rates.Coverage\` (fleet/rates) on the generated city of fleet/coverage (5,000 canteens, 20,000 cameras,"
  echo "a year of 8.9 M health intervals, 912,000 violations), as of 31 December 14:00 (today partial). Warm: the"
  echo "rollup of finished canteen-days is filled (the dashboard's common case); cold: it is emptied before each query,"
  echo "so every day is computed from the intervals and kept. Goal: a dashboard query ≤ 200 ms."
  echo "Commands: \`go test -run '^\$' -bench 'CoverageCity/sqlite\$' ./fleet/rates/\`, and for PostgreSQL"
  echo "\`scripts/with-postgres.sh go test -run '^\$' -bench 'CoverageCity/postgres' ./fleet/rates/\`."
  echo
  c() { get "BenchmarkCoverageCity/$1" ms/query; }
  echo "| query | SQLite warm | SQLite cold | PostgreSQL warm | PostgreSQL cold | in memory (Compute, same city) |"
  echo "|---|---|---|---|---|---|"
  echo "| last 7 days, city-wide | $(c sqlite/7d/warm) ms | $(c sqlite/7d/cold) ms | $(c postgres/7d/warm) ms | $(c postgres/7d/cold) ms | |"
  echo "| last 30 days, city-wide | $(c sqlite/30d/warm) ms | $(c sqlite/30d/cold) ms | $(c postgres/30d/warm) ms | $(c postgres/30d/cold) ms | $(get BenchmarkCity/30d ms/query) ms |"
  echo "| one district, 30 days | $(c sqlite/30d-district/warm) ms | $(c sqlite/30d-district/cold) ms | $(c postgres/30d-district/warm) ms | $(c postgres/30d-district/cold) ms | $(get BenchmarkCity/30d-district ms/query) ms |"
  echo
  n7=$(c sqlite-nommap/7d/warm); n30=$(c sqlite-nommap/30d/warm)
  echo "SQLite's readers map the file into memory (\`mmap_size\`, 64-bit hosts). Baseline in the same run, the same file"
  echo "read through SQLite's page cache only (\`sqlite-nommap\`): warm 7 days $n7 ms ($(ratio "$n7" "$(c sqlite/7d/warm)")× the mapped),"
  echo "warm 30 days $n30 ms ($(ratio "$n30" "$(c sqlite/30d/warm)")×). City-wide queries read the period's violations without a"
  echo "join to the canteens and drop those of unselected canteens in Go."
  echo
  echo "## The regulator's dashboard"
  echo
  echo "A regulator's dashboard (\`#/dashboard\`: counts, rates charts, online state by district, overdue alarms) in"
  echo "headless Chromium on loopback against a real bk-fleet with 5,000 canteens imported over 16 districts, from"
  echo "navigation to the stat cards and charts drawn (\`window.bkFirstPaint\`); 15 full page loads per run after one"
  echo "warm-up load. Goal ≤ 1 s. The fleet's store there holds no health history: the rates query's own cost at"
  echo "city scale is the table above (warm 7 days), to be added to this figure for a city with a year of data."
  echo
  echo "| what | median of runs | goal | command |"
  echo "|---|---|---|---|"
  echo "| first meaningful paint, p50 of 15 loads | $(get BenchmarkDashboardFirstPaint first-paint-p50-ms) ms | ≤ 1,000 ms | \`go test -run '^\$' -bench DashboardFirstPaint ./e2e/\` |"
  echo "| same, p90 | $(get BenchmarkDashboardFirstPaint first-paint-p90-ms) ms | | |"
  echo
  echo "## Updates over the air (issue 14)"
  echo
  echo "One gateway (1.0.0, one camera) under the launcher, restarted as systemd does (200 ms instead of RestartSec=2s),"
  echo 'is sent `ota.install` of 2.0.0 (a gzip'"'"'d bundle of the stripped bk-gateway) over loopback; then a 3.0.0 that exits'
  echo "at start, which the launcher rolls back after 3 starts. The camera gap is seen through the fleet's API (1 s heartbeats)."
  echo
  echo "| what | median of runs | goal | command |"
  echo "|---|---|---|---|"
  echo "| bundle size (amd64, gzip) | $(get BenchmarkOTA bundle-MB) MB | | \`go test -run '^\$' -bench '^BenchmarkOTA\$' ./e2e/\` |"
  echo "| ota.install sent → download, verify, unpack, switch, restart, reconnect, camera back, confirmed | $(get BenchmarkOTA install-to-confirm-s) s | | |"
  echo "| camera interruption: last seen online under 1.0.0 → first under 2.0.0 | $(get BenchmarkOTA camera-gap-s) s | ≤ 10 s | |"
  echo "| a release that exits at start: ota.install sent → rolled back and reported | $(get BenchmarkOTA crash-rollback-s) s | | |"
  echo
  echo "## Logins under attack"
  echo
  echo "100 connections, each from its own loopback address, guess passwords as fast as they are answered (half for"
  echo "the real user's login, half for others) against a real bk-fleet API with real argon2id; the real user logs in"
  echo "5 times from the address they logged in from before (fleet/api's package doc gives the policy)."
  echo
  echo "| what | median of runs | goal | command |"
  echo "|---|---|---|---|"
  echo "| the real user's login, mean of 5 | $(get BenchmarkLoginUnderAttack user-login-ms) ms | ≤ 2,000 ms | \`go test -run '^\$' -bench LoginUnderAttack -benchtime 5x ./fleet/api/\` |"
  echo "| same, slowest of 5 | $(get BenchmarkLoginUnderAttack user-login-max-ms) ms | ≤ 2,000 ms | |"
  echo "| attackers' attempts answered | $(get BenchmarkLoginUnderAttack attempts/s)/s | | |"
  echo "| passwords hashed (at most 2×cores at once) | $(get BenchmarkLoginUnderAttack hashes/s)/s | | |"
  echo
  echo "## Instant push (issue 15)"
  echo
  echo "An alarm committed to the store (the pusher woken as ingest wakes it after a commit) → the push taken by a"
  echo "企业微信 robot on loopback, one alarm at a time, 100 per run; default settings (poll every second, woken on commit)."
  echo
  echo "| what | median | goal | command |"
  echo "|---|---|---|---|"
  echo "| committed → delivered, SQLite, p50 / p99 | $(get BenchmarkPushLatency/sqlite p50-ms) / $(get BenchmarkPushLatency/sqlite p99-ms) ms | ≤ 5 s | \`scripts/with-postgres.sh go test -run '^\$' -bench PushLatency ./fleet/notify/\` |"
  echo "| same, PostgreSQL, p50 / p99 | $(get BenchmarkPushLatency/postgres p50-ms) / $(get BenchmarkPushLatency/postgres p99-ms) ms | ≤ 5 s | |"
  echo
  echo "## Public kitchen pages (issue 15)"
  echo
  echo "The no-login pages (\`/kitchens\`, the list; a district's second page; \`/kitchens/{id}\`, one canteen's notice and"
  echo "players) in headless Chromium with a phone's viewport (390×844), on loopback against a real bk-fleet with 5,000"
  echo "canteens over 16 districts, each with a camera published to everyone, a notice and viewing windows all day; from"
  echo "navigation to the first contentful paint (the pages are rendered on the server: their text is the meaningful"
  echo "paint), 15 loads per page and run after one warm-up load; TTFB is the server's answer. The store holds no health"
  echo "history there: each page computes its canteens' 30-day online rates from the rollup (the rates table above)."
  echo
  echo "| what | median of runs | goal | command |"
  echo "|---|---|---|---|"
  echo "| \`/kitchens\`: first contentful paint, p50 / p90 of 15 loads | $(get BenchmarkPublicKitchensFirstPaint list-fcp-p50-ms) / $(get BenchmarkPublicKitchensFirstPaint list-fcp-p90-ms) ms | ≤ 1,000 ms | \`go test -run '^\$' -bench PublicKitchensFirstPaint ./e2e/\` |"
  echo "| same, time to first byte, p50 | $(get BenchmarkPublicKitchensFirstPaint list-ttfb-p50-ms) ms | | |"
  echo "| a district's page 2: first contentful paint, p50 / p90 | $(get BenchmarkPublicKitchensFirstPaint district-fcp-p50-ms) / $(get BenchmarkPublicKitchensFirstPaint district-fcp-p90-ms) ms | ≤ 1,000 ms | |"
  echo "| same, time to first byte, p50 | $(get BenchmarkPublicKitchensFirstPaint district-ttfb-p50-ms) ms | | |"
  echo "| \`/kitchens/{id}\`: first contentful paint, p50 / p90 | $(get BenchmarkPublicKitchensFirstPaint canteen-fcp-p50-ms) / $(get BenchmarkPublicKitchensFirstPaint canteen-fcp-p90-ms) ms | ≤ 1,000 ms | |"
  echo "| same, time to first byte, p50 | $(get BenchmarkPublicKitchensFirstPaint canteen-ttfb-p50-ms) ms | | |"
  echo
  echo "## Issue 14: packages"
  echo
  echo "\`make deb\`'s packages (\`scripts/deb.sh\`, xz). Binaries are stripped (\`-s -w\`); the gateway side is cgo"
  echo "(libavcodec), bk-fleet pure Go. Plugins: tamper, motion and (amd64, arm64) onnx; ONNX Runtime's library"
  echo "(about 46 MB on amd64) is in the package, not in these two columns. Command: \`go test -run '^\$' -bench Packages ./scripts/packaging/\`."
  echo
  echo "| architecture | bk-gateway | plugins | .deb | installed | bk-fleet | goal |"
  echo "|---|---|---|---|---|---|---|"
  for a in amd64 arm64 armhf; do
    p() { get "BenchmarkPackages/$a" "$1"; }
    [ -n "$(p gateway-MB)" ] || { echo "| $a | not built here (see scripts/deps.sh's warning) | | | | | |"; continue; }
    goal=""; [ $a = arm64 ] && goal="bk-gateway ≤ 40 MB"
    fleet="$(p fleet-MB) MB"; [ -n "$(p fleet-MB)" ] || fleet="(no $a bk-fleet package)"
    echo "| $a | $(p gateway-MB) MB | $(p plugins-MB) MB | $(p deb-MB) MB | $(p installed-MB) MB | $fleet | $goal |"
  done
  echo
  echo "| what | median | goal | command |"
  echo "|---|---|---|---|"
  echo "| packaged bk-gateway (amd64, native) idle: one camsim camera (640×360) ingested, connected to the packaged bk-fleet; RSS, largest of 10 samples after 15 s (anonymous memory in brackets) | $(get BenchmarkGatewayIdleRSS/ingest-only RSS-MB) MB ($(get BenchmarkGatewayIdleRSS/ingest-only anon-MB) MB) | ≤ 30 MB | \`go test -run '^\$' -bench GatewayIdleRSS ./scripts/packaging/\` |"
  echo "| same, with the packaged example's detection (tamper and motion on key frames) | $(get BenchmarkGatewayIdleRSS/detect RSS-MB) MB ($(get BenchmarkGatewayIdleRSS/detect anon-MB) MB; plugin processes $(get BenchmarkGatewayIdleRSS/detect plugins-RSS-MB) MB) | | |"
  echo
  echo "The installer's path, scripted on loopback (\`BenchmarkInstallToOnline\`): \`dpkg -i\` of the arm64 package into a copy"
  echo "of the arm64 Debian root, \`bk-gateway enrol\` with a code the fleet made, the camera's address into the config, the"
  echo "gateway started, until the fleet shows the camera online. The root's programs run under qemu-user on the amd64"
  echo "machine (the fleet and bk-camsim natively), so these are upper bounds for a board."
  echo
  echo "| what | median | goal | command |"
  echo "|---|---|---|---|"
  echo "| dpkg -i (arm64, under qemu-user) | $(get BenchmarkInstallToOnline dpkg-i-s) s | | \`go test -run '^\$' -bench InstallToOnline ./scripts/packaging/\` (root) |"
  echo "| bk-gateway enrol | $(get BenchmarkInstallToOnline enrol-s) s | | |"
  echo "| gateway started → its camera online at the fleet | $(get BenchmarkInstallToOnline start-to-camera-online-s) s | | |"
  echo "| dpkg -i → camera online, all steps | $(get BenchmarkInstallToOnline total-s) s | | |"
  echo
  echo "The idle gateway's RSS is above the 30 MB goal, but most of it is clean pages of its own binary mapped in: this"
  echo "kernel maps the page cache's large folios 2 MB at a time (FilePmdMapped in smaps), so nearly the whole 24 MB"
  echo "binary shows as resident, though the kernel can drop those pages under pressure and they are shared with no"
  echo "one else only because nothing else runs that binary. The gateway's own memory (RssAnon: heap, stacks, buffers)"
  echo "is the figure in brackets. Each plugin is a process of its own, about 20 MB RSS each, for the same reason."
  echo
  echo "The arm64 gateway's RSS is not measured: under qemu-user the resident set is the emulator's and its"
  echo "translated code as well as the gateway's, which says nothing of a board."
} >docs/benchmarks.md
echo "wrote docs/benchmarks.md" >&2
