#!/bin/bash
# Attested provisioning over real AF_VSOCK, inside a throw-away QEMU guest
# (never on this machine): wgvsockd -n vsock --provision --attest test in
# one namespace, the initiator (wgvsock-attest provision --vsock, the
# plugin's client code) and a WireGuard peer in another, over vsock
# loopback local(1).  The provisioning port is the WireGuard port + 1 on
# vsock.  See tests/vm/guest_provision.sh for the checks.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
: "${VM_TIMEOUT:=240}"
. tests/vm/lib.sh

for b in wgvsockd wgvsock-attest; do
    [ -x "$BUILD/bin/$b" ] || { echo "FAIL: $BUILD/bin/$b not built"; exit 1; }
done
command -v wg >/dev/null || { echo "missing wg (make deps)"; exit 77; }
vm_init || exit $?
vm_add_bin "$BUILD/bin/wgvsockd" /bin/wgvsockd || exit 2
vm_add_bin "$BUILD/bin/wgvsock-attest" /bin/wgvsock-attest || exit 2
vm_add_bin "$(command -v wg)" /bin/wg || exit 2
vm_add_attest_keys "$BUILD/bin/wgvsock-attest" || exit $?
guest=$VM_WORK/guest.sh
cat tests/vm/guest_lib.sh tests/vm/guest_provision.sh > "$guest"
vm_run "$guest"
