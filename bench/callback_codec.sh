#!/usr/bin/env bash
# Push hot-path micro-benchmark: CallbackCodec::Open (valid and bad signature) and SuccessReply,
# median ns/op over RUNS repetitions (single thread, no I/O), from bench/callback_codec_bench.
# Knobs: RUNS (5), ITERS (20000 operations per repetition), BUILD_DIR (build-bench), SKIP_BUILD=1
# (use BUILD_DIR as it is), LABEL (free text in every line), OUT (results file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
RUNS=${RUNS:-5}
ITERS=${ITERS:-20000}
OUT=${OUT:-$root/bench/results/callback_codec.jsonl}
export BUILD_DIR=${BUILD_DIR:-$root/build-bench}
if [ -z "${SKIP_BUILD:-}" ]; then
  "$root/scripts/install_deps.sh"
  BUILD_TYPE=RelWithDebInfo "$root/scripts/build.sh" >&2
fi
echo "[callback_codec] $RUNS x $ITERS operations per case" >&2
"$BUILD_DIR/bench/callback_codec_bench" --iters="$ITERS" --reps="$RUNS" --label="${LABEL:-$(git rev-parse --short HEAD)}" |
  tee -a "$OUT"
