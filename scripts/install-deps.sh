#!/usr/bin/env bash
# Installs every Debian package Perch needs to build, run and test.
# Idempotent: packages already present are skipped, so a second run is quick.
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config ccache clang-format
  libboost1.81-dev libssl-dev libexpat1-dev libsqlite3-dev libpq-dev libidn-dev libjemalloc-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev
)
test_pkgs=(
  python3-slixmpp python3-yaml profanity tmux postgresql sqlite3 procps chromium fonts-dejavu-core
  dpkg-dev fakeroot file curl systemd
)

lint_pkgs=(clang-tidy)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${test_pkgs[@]}"); fi
if [ "${1:-}" = "--lint" ]; then want+=("${lint_pkgs[@]}"); fi
if [ "${1:-}" = "--fuzz" ]; then want+=("${fuzz_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
