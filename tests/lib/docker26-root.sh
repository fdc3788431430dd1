#!/bin/sh
# tests/lib/docker26-root.sh - build (once) the Debian trixie root that the
# e2e tests' second engine, Docker 26 (trixie's docker.io), runs from.
#
#   tests/lib/docker26-root.sh          build it unless the stamp says it is there
#   tests/lib/docker26-root.sh --print  print the root's path (builds nothing)
#   tests/lib/docker26-root.sh --ready  exit 0 if it is built (builds nothing)
#
# The root is a cache shared by every worktree and run: $WGVSOCK_DOCKER26_ROOT,
# default /var/cache/wgvsock/trixie-docker.  It is ready when its stamp file
# (DIR.stamp, written last, naming the package list and docker's version)
# exists; a build is made in DIR.new and renamed into place, under a lock, so
# a build that died half-way or two tests starting at once never leave a half
# root in use.  A changed package list rebuilds it: not while tests run.
# `make deps` runs this, and tests/lib/docker.sh runs it on first use.
# Needs root, debootstrap and a Debian mirror: the one apt uses here, or
# WGVSOCK_DEBIAN_MIRROR (~390 MB; 27-46 s on the dev machine).
set -eu
ROOT=${WGVSOCK_DOCKER26_ROOT:-/var/cache/wgvsock/trixie-docker}
# The Debian mirror apt uses here (CI may reach no other), else deb.debian.org.
apt_mirror() {
    sed -n -e 's|^URIs: *\(https\{0,1\}://[^ ]*/debian/\{0,1\}\)$|\1|p' \
        -e 's|^deb \(\[[^]]*\] \)\{0,1\}\(https\{0,1\}://[^ ]*/debian/\{0,1\}\) .*|\2|p' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1
}
MIRROR=${WGVSOCK_DEBIAN_MIRROR:-$(apt_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
STAMP=$ROOT.stamp
PKGS=docker.io,docker-cli,iptables,ca-certificates
[ "${1:-}" = --print ] && { echo "$ROOT"; exit 0; }
# Ready: the stamp names this package list (a changed list rebuilds).
ready() { [ -x "$ROOT/usr/sbin/dockerd" ] && grep -qxF "packages: $PKGS" "$STAMP" 2>/dev/null; }
[ "${1:-}" = --ready ] && { ready; exit; }
ready && exit 0
[ "$(id -u)" = 0 ] || exec sudo "$0" "$@"   # as install-deps.sh does
command -v debootstrap >/dev/null || { echo "docker26-root: debootstrap not installed (make deps)" >&2; exit 1; }
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
# Someone else finished it while we waited for the lock.
ready && exit 0
rm -f "$STAMP"
rm -rf "$ROOT.new" "$ROOT"
t0=$(date +%s)
echo "docker26-root: debootstrap trixie into $ROOT (once; a few minutes)"
debootstrap --variant=minbase --include=$PKGS \
    trixie "$ROOT.new" "$MIRROR" >"$ROOT.log" 2>&1 \
    || { tail -n 20 "$ROOT.log" >&2; rm -rf "$ROOT.new"; exit 1; }
# Apt caches are not needed to run dockerd.
rm -rf "$ROOT.new"/var/cache/apt/archives/*.deb "$ROOT.new"/var/lib/apt/lists/*_Packages
mv "$ROOT.new" "$ROOT"
{ echo "packages: $PKGS"; chroot "$ROOT" dpkg-query -W -f='${Package} ${Version}\n' docker.io docker-cli; } >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
echo "docker26-root: $(grep '^docker.io ' "$STAMP") ready in $ROOT ($(( $(date +%s) - t0 )) s, $(du -sm "$ROOT" | cut -f1) MB)"
