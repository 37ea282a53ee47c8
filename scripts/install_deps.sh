#!/usr/bin/env bash
# Installs the Debian 12 packages the build, the tests and the run command need. Idempotent; as root.
set -euo pipefail
PKGS=(cmake ninja-build g++ pkg-config
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libssl-dev libpqxx-dev postgresql-15 libgtest-dev libgmock-dev prometheus-cpp-dev
  libcurl4-openssl-dev libcpp-httplib-dev nlohmann-json3-dev rapidjson-dev libboost-dev curl
  libcjose-dev libjansson-dev python3-jwt python3-cryptography chromium openssl
  prometheus-alertmanager prometheus)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "install_deps: installing ${missing[*]}" >&2
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
