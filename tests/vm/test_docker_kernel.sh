#!/bin/bash
# Real dockerd (the host's docker.io binaries) with wgvsock-plugin's kernel
# engine, inside the QEMU guest whose kernel has wireguard.ko (this host's
# has not): engine=auto gives a container a kernel wg0 as its only
# interface, default route via the hub (wgvsockd -n udp), pings both ways;
# the tunnel keeps working while the plugin is SIGKILLed, the restarted
# plugin adopts it, and docker stop/rm + network rm leave no link behind.
# The guest part: tests/vm/guest_docker_kernel.sh.  ~80 s under TCG.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
: "${VM_TIMEOUT:=420}"
: "${VM_MEM:=2048}"          # the initramfs holds dockerd, containerd, runc
VM_EXTRA_MODULES="wireguard ${VM_EXTRA_MODULES:-}"
. tests/vm/lib.sh

export PATH=$PATH:/usr/sbin:/sbin
for b in "$BUILD/bin/wgvsockd" "$BUILD/bin/wgvsock-plugin" "$BUILD/bin/keyderive"; do
    [ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }
done
command -v wg >/dev/null || { echo "missing wg (make deps)"; exit 77; }
vm_init || exit $?
vm_add_docker || exit $?
vm_add_bin "$(command -v wg)" /bin/wg || exit 2
for b in wgvsockd wgvsock-plugin keyderive; do vm_add_bin "$BUILD/bin/$b" "/bin/$b" || exit 2; done
cat tests/vm/guest_lib.sh tests/vm/guest_docker_kernel.sh > "$VM_WORK/guest.sh" || exit 2
vm_run "$VM_WORK/guest.sh"
