#!/bin/bash
# Kernel WireGuard (the plugin's kernel engine) inside a throw-away QEMU
# guest, whose Debian kernel has wireguard.ko (this host's has not): the
# plugin's netlink layer creates, configures, moves and deletes kernel
# devices, each result checked with wg(8) and ip(8); a kernel device set up
# by that code talks to `wgvsockd -n udp` (handshake, ping, md5-checked bulk
# data).  See tests/vm/guest_kernel_wg.sh (the part that runs in the guest).
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
cat tests/vm/guest_lib.sh tests/vm/guest_kernel_wg.sh > "$VM_WORK/guest.sh" || exit 2
vm_run "$VM_WORK/guest.sh"
