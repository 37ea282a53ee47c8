#!/usr/bin/env bash
# Builds the callback inbound-path fuzzer with clang++ (libFuzzer + ASan + UBSan) and runs it.
# Usage: fuzz/run.sh [SECONDS]   (default 60). Not part of the CMake build.
# Env: FUZZ_OUT (default <repo>/build-fuzz), FUZZ_JOBS (parallel workers, default 1).
# The committed seeds in fuzz/corpus/ are read only; new inputs go to $FUZZ_OUT/corpus; crashes are
# written to $FUZZ_OUT/crash-* and make the script exit non-zero.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
out=${FUZZ_OUT:-$root/build-fuzz}
mkdir -p "$out/corpus"
"$root/scripts/install_deps.sh"
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev >&2
fi

cxx=${CXX_FUZZ:-clang++}
# shellcheck disable=SC2046
"$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fsanitize-ignorelist="$root/fuzz/ubsan_ignorelist.txt" \
  -I"$root/libs" \
  "$root/fuzz/inbound_fuzzer.cc" \
  "$root/libs/callback/crypto.cc" "$root/libs/callback/error.cc" \
  "$root/libs/callback/event.cc" "$root/libs/callback/inbound.cc" \
  $(pkg-config --cflags --libs absl_status absl_statusor absl_time absl_strings) -lcrypto \
  -o "$out/inbound_fuzzer"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
jobs=()
if [[ ${FUZZ_JOBS:-1} -gt 1 ]]; then jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
"$out/inbound_fuzzer" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -dict="$root/fuzz/inbound.dict" "${jobs[@]}" \
  -artifact_prefix="$out/" "$out/corpus" "$root/fuzz/corpus"
