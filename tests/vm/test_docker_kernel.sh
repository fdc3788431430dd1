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
for t in dockerd containerd containerd-shim-runc-v2 runc docker wg; do
    command -v $t >/dev/null || { echo "missing $t (make deps)"; exit 77; }
done
vm_init || exit $?
for t in dockerd containerd containerd-shim-runc-v2 runc docker wg; do
    vm_add_bin "$(command -v $t)" "/bin/$t" || exit 2
done
for b in wgvsockd wgvsock-plugin keyderive; do vm_add_bin "$BUILD/bin/$b" "/bin/$b" || exit 2; done
# the container image: static busybox, imported in the guest
r=$VM_ROOT/img
mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/root"
cp /bin/busybox "$r/bin/busybox" && chroot "$r" /bin/busybox --install -s /bin || exit 2
ln -s bin "$r/sbin"
echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"; echo 'root:x:0:' >"$r/etc/group"
cat tests/vm/guest_lib.sh tests/vm/guest_docker_kernel.sh > "$VM_WORK/guest.sh" || exit 2
vm_run "$VM_WORK/guest.sh"
