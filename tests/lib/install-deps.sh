#!/bin/sh
# Installs every Debian package wgvsock needs to build and to run its tests.
# Idempotent: apt-get only runs when something is missing.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev
  libsodium-dev libb2-dev libssl-dev libmicrohttpd-dev libjansson-dev libcbor-dev
  libnl-3-dev libnl-route-3-dev libmnl-dev zlib1g-dev libdeflate-dev libcmocka-dev python3 cppcheck
  wireguard-tools wireguard-go iperf3 iproute2 iputils-ping procps psmisc
  docker.io apparmor busybox-static debootstrap qemu-system-x86 kmod xz-utils zstd cpio curl
  docker-registry"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all packages present"; exit 0; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
