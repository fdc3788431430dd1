#!/bin/bash
# Kernel WireGuard (the plugin's kernel engine) inside a throw-away QEMU
# guest, whose Debian kernel has wireguard.ko (this host's has not): the
# plugin's netlink layer creates, configures, moves and deletes kernel
# devices, each result checked with wg(8) and ip(8); a kernel device set up
# by that code talks to `wgvsockd -n udp` (handshake, ping, md5-checked bulk
# data); then wgvsock-plugin itself, driven over its socket in libnetwork's
# call order, gives a sandbox namespace a kernel wg0 (engine=auto), keeps it
# working across a SIGKILL, and falls back to wgcore once wireguard.ko is
# removed.  The guest parts: tests/vm/guest_kernel_wg.sh, guest_plugin_kernel.sh.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
WGVSOCKD=${WGVSOCKD:-$BUILD/bin/wgvsockd}
TOOL=$BUILD/tests/vm/wg_netlink_tool
: "${VM_TIMEOUT:=240}"     # a loaded machine runs the guest slowly
VM_EXTRA_MODULES="wireguard ${VM_EXTRA_MODULES:-}"
. tests/vm/lib.sh

[ -x "$WGVSOCKD" ] || { echo "FAIL: $WGVSOCKD not built"; exit 1; }
[ -x "$TOOL" ] || make -s BUILD="$BUILD" "$TOOL" >&2 || { echo "cannot build $TOOL"; exit 1; }
command -v wg >/dev/null || { echo "missing wg (make deps)"; exit 77; }
vm_init || exit $?
vm_add_bin "$WGVSOCKD" /bin/wgvsockd || exit 2
vm_add_bin "$(command -v wg)" /bin/wg || exit 2
vm_add_bin "$TOOL" /bin/wg_netlink_tool || exit 2
vm_add_bin "$BUILD/bin/wgvsock-plugin" /bin/wgvsock-plugin || exit 2
vm_add_bin "$BUILD/bin/keyderive" /bin/keyderive || exit 2
command -v curl >/dev/null || { echo "missing curl (make deps)"; exit 77; }
vm_add_bin "$(command -v curl)" /bin/curl || exit 2
for part in kernel_wg plugin_kernel; do
    cat tests/vm/guest_lib.sh "tests/vm/guest_$part.sh" > "$VM_ROOT/test/$part.sh" || exit 2
done
# the host-side unit test again, where its "kernel has WireGuard" branch runs
UNIT=$BUILD/tests/unit/test_plugin_kernel
[ -x "$UNIT" ] || make -s BUILD="$BUILD" "$UNIT" >&2 || { echo "cannot build $UNIT"; exit 1; }
vm_add_bin "$UNIT" /bin/test_plugin_kernel || exit 2
cat > "$VM_WORK/guest.sh" <<'GUEST'
test_plugin_kernel || { echo "kernel-wg: FAIL test_plugin_kernel"; exit 1; }
sh /test/kernel_wg.sh; a=$?
sh /test/plugin_kernel.sh; b=$?
[ $a = 0 ] && [ $b = 0 ]
GUEST
vm_run "$VM_WORK/guest.sh"
