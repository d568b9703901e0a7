#!/usr/bin/env bash
# Installs the dependencies (Debian 12 packages) and builds everything into
# OVX_BUILD_DIR (default ./build). Safe to run again: both steps are
# incremental.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${OVX_BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "build: binaries in $build (ovx-loader, ovxctl, ovx-controller)"
