#!/usr/bin/env bash
# Installs everything ovx needs to build, test and benchmark on Debian 12.
# Idempotent: safe to run on every CI start.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: must run as root (apt-get install)" >&2
  exit 1
fi

packages=(
  # build
  build-essential cmake pkg-config clang llvm
  libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev
  libabsl-dev libgflags-dev libgtest-dev libgmock-dev
  nlohmann-json3-dev libcurl4-openssl-dev
  # run and test
  iproute2 tcpdump iputils-ping ethtool netcat-openbsd xdp-tools procps psmisc
  etcd-server etcd-client openssl jq
  # bench
  iperf3 python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# etcd-server's package starts a system etcd on 2379; our tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl disable --now etcd >/dev/null 2>&1 || true
fi
echo "install-deps: all ${#packages[@]} packages present"
