#!/usr/bin/env bash
# Builds a fuzzer with clang++ (libFuzzer + ASan + UBSan) and runs it. Not part of the CMake build.
# Usage: fuzz/run.sh [SECONDS]   (default 60)
# Env: FUZZ_TARGET inbound (default: the DingTalk push path) or response (every DingTalk response
#      parser; FUZZ_PARSER=N pins one parser, see response_fuzzer.cc);
#      FUZZ_RUNS=N runs exactly N executions instead of SECONDS;
#      FUZZ_OUT (default <repo>/build-fuzz), FUZZ_JOBS (parallel workers, default 1).
# The committed seeds (fuzz/corpus/, fuzz/corpus_response/) are read only; new inputs go to
# $FUZZ_OUT/corpus-<target>; crashes are written to $FUZZ_OUT/crash-* and make the script exit
# non-zero.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
target=${FUZZ_TARGET:-inbound}
out=${FUZZ_OUT:-$root/build-fuzz}
mkdir -p "$out/corpus-$target"
"$root/scripts/install_deps.sh"
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev >&2
fi

case "$target" in
  inbound)
    sources=("$root/fuzz/inbound_fuzzer.cc" "$root/libs/callback/crypto.cc" "$root/libs/callback/error.cc"
             "$root/libs/callback/event.cc" "$root/libs/callback/inbound.cc")
    seeds="$root/fuzz/corpus"
    extra=(-dict="$root/fuzz/inbound.dict")
    ;;
  response)
    sources=("$root/fuzz/response_fuzzer.cc" "$root/libs/dingtalk/internal/classify.cc"
             "$root/libs/dingtalk/internal/parse.cc" "$root/libs/dingtalk/internal/json_util.cc"
             "$root/libs/dingtalk/error.cc")
    seeds="$root/fuzz/corpus_response"
    extra=()
    ;;
  *) echo "fuzz/run.sh: FUZZ_TARGET must be inbound or response, not '$target'" >&2; exit 2 ;;
esac

cxx=${CXX_FUZZ:-clang++}
bin="$out/${target}_fuzzer"
# shellcheck disable=SC2046
"$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fsanitize-ignorelist="$root/fuzz/ubsan_ignorelist.txt" \
  -I"$root/libs" \
  "${sources[@]}" \
  $(pkg-config --cflags --libs absl_status absl_statusor absl_time absl_strings absl_cord) -lcrypto \
  -o "$bin"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
jobs=()
if [[ ${FUZZ_JOBS:-1} -gt 1 ]]; then jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
budget=(-max_total_time="$secs")
if [[ -n ${FUZZ_RUNS:-} ]]; then budget=(-runs="$FUZZ_RUNS"); fi
"$bin" "${budget[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "${extra[@]}" "${jobs[@]}" \
  -artifact_prefix="$out/" "$out/corpus-$target" "$seeds"
