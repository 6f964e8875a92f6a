#!/usr/bin/env bash
# train-demo-model.sh: render camsim training and validation sets and train
# the demo detector on them (scripts/train-demo-model.py, CPU only).
#
#   bash scripts/train-demo-model.sh [extra trainer flags...]
#
# Environment (all optional):
#   FRAMES=4000       training frames (validation: VAL_FRAMES=500)
#   OUT=models/demo/camsim-demo.onnx   the model; OUT.train.json beside it
#   TRAIN_DIR, VAL_DIR  prepared data sets (frames.u8, labels.json): when
#                     both are set the rendering step is skipped
#   DATASET_CMD="go run ./plugins/onnx/cmd/bk-scenes dataset"  what renders a set
#                     (called with -out DIR -seed N -frames N)
#   PYTHON=/usr/bin/python3  Debian's Python, which has python3-torch; a
#                     pyenv python3 on PATH does not
#   KEEP=1            keep the rendered sets (in $TMPDIR) instead of deleting
# Installs python3-torch, python3-numpy and python3-onnx (Debian) when the
# imports fail. Extra arguments go to the trainer (e.g. --epochs 4).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
FRAMES=${FRAMES:-4000}
VAL_FRAMES=${VAL_FRAMES:-500}
OUT=${OUT:-models/demo/camsim-demo.onnx}
DATASET_CMD=${DATASET_CMD:-go run ./plugins/onnx/cmd/bk-scenes dataset}

if ! "$PYTHON" -c 'import torch, numpy, onnx' 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy python3-onnx >/dev/null
fi

if [ -n "${TRAIN_DIR:-}" ] && [ -n "${VAL_DIR:-}" ]; then
  train=$TRAIN_DIR val=$VAL_DIR
else
  tmp=$(mktemp -d)
  [ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
  train=$tmp/train val=$tmp/val
  echo "train-demo-model: rendering $FRAMES training frames (seed 1) and $VAL_FRAMES validation frames (seed 1000001) into $tmp" >&2
  $DATASET_CMD -out "$train" -seed 1 -frames "$FRAMES" >/dev/null
  $DATASET_CMD -out "$val" -seed 1000001 -frames "$VAL_FRAMES" >/dev/null
fi
mkdir -p "$(dirname "$OUT")"
"$PYTHON" scripts/train-demo-model.py --train "$train" --val "$val" --out "$OUT" "$@"
