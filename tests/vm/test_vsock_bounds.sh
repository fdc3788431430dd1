#!/bin/bash
# The stream transport's connection bounds over real AF_VSOCK inside a
# throw-away QEMU guest (issue 11): a wgvsockd -n vsock hub with 600
# stalled, never-authenticating vsock connections held at its listener
# still lets a real peer handshake and ping, holds a bounded number of
# descriptors, and closes every stalled connection.  The vsock part runs
# only in the guest (tests/vm/guest_vsock_bounds.sh), never on this host.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
WGVSOCKD=${WGVSOCKD:-$BUILD/bin/wgvsockd}
: "${VM_TIMEOUT:=240}"     # a loaded machine runs the emulated guest slowly
. tests/vm/lib.sh

[ -x "$WGVSOCKD" ] || { echo "FAIL: $WGVSOCKD not built"; exit 1; }
command -v wg >/dev/null || { echo "missing wg (make deps)"; exit 77; }
chk=$BUILD/tests/vm/vsock_stream_check
[ -x "$chk" ] || make -s BUILD="$BUILD" "$chk" >&2 || { echo "cannot build $chk"; exit 1; }
vm_init || exit $?
vm_add_bin "$WGVSOCKD" /bin/wgvsockd || exit 2
vm_add_bin "$(command -v wg)" /bin/wg || exit 2
vm_add_bin "$chk" /bin/vsock_stream_check || exit 2
guest=$VM_WORK/guest.sh
{ echo "STALL_N=${VSOCK_STALL_N:-600} STALL_SECS=${VSOCK_STALL_SECS:-40}"
  cat tests/vm/guest_lib.sh tests/vm/guest_vsock_bounds.sh; } > "$guest"
vm_run "$guest"
