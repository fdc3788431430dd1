#!/bin/bash
# Attested hub end to end over real AF_VSOCK, inside the QEMU guest (never
# on this machine): a real dockerd (the host's docker.io binaries) and
# wgvsock-plugin; the hub is `wgvsockd -n vsock --provision --attest test`
# with no seed and no key list.  A network made without wgvsock.peerkey on
# local(1):5000 is provisioned over vsock 5001, a container joins and pings
# the hub's tunnel address over vsock, the hub learnt exactly its key; an
# untrusted root fails network create and a hub claiming another PCR0 fails
# docker run, each naming the check.  Guest part:
# tests/vm/guest_docker_attest_vsock.sh.  ~90 s under TCG.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
: "${VM_TIMEOUT:=300}"
: "${VM_MEM:=2048}"          # the initramfs holds dockerd, containerd, runc
. tests/vm/lib.sh

for b in wgvsockd wgvsock-plugin keyderive wgvsock-attest; do
    [ -x "$BUILD/bin/$b" ] || { echo "FAIL: $BUILD/bin/$b not built"; exit 1; }
done
command -v wg >/dev/null || { echo "missing wg (make deps)"; exit 77; }
vm_init || exit $?
vm_add_docker || exit $?
vm_add_bin "$(command -v wg)" /bin/wg || exit 2
for b in wgvsockd wgvsock-plugin keyderive wgvsock-attest; do
    vm_add_bin "$BUILD/bin/$b" "/bin/$b" || exit 2
done
vm_add_attest_keys "$BUILD/bin/wgvsock-attest" || exit $?
cat tests/vm/guest_lib.sh tests/vm/guest_docker_attest_vsock.sh > "$VM_WORK/guest.sh" || exit 2
vm_run "$VM_WORK/guest.sh"
