#!/bin/bash
# Two wgvsockd -n vsock in two network namespaces inside a throw-away QEMU
# guest, talking over real AF_VSOCK loopback (local(1):5000): handshake,
# ping both ways, 4 MiB checked bulk transfer, iperf3, SIGKILL + restart of
# either side with traffic resuming, no-CRC mode.  See tests/vm/lib.sh and
# tests/vm/guest_tunnel.sh (the part that runs in the guest).
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
WGVSOCKD=${WGVSOCKD:-$BUILD/bin/wgvsockd}
: "${VM_TIMEOUT:=240}"     # a loaded CI machine runs the guest slowly
. tests/vm/lib.sh

[ -x "$WGVSOCKD" ] || { echo "FAIL: $WGVSOCKD not built"; exit 1; }
command -v wg >/dev/null || { echo "missing wg (make deps)"; exit 77; }
vm_init || exit $?
vm_add_bin "$WGVSOCKD" /bin/wgvsockd || exit 2
vm_add_bin "$(command -v wg)" /bin/wg || exit 2
chk=$BUILD/tests/vm/vsock_stream_check
[ -x "$chk" ] || make -s BUILD="$BUILD" "$chk" >&2 || { echo "cannot build $chk"; exit 1; }
vm_add_bin "$chk" /bin/vsock_stream_check || exit 2
IPERF_SECS=${VSOCK_IPERF_SECS:-2}
if [ "$IPERF_SECS" -gt 0 ] && command -v iperf3 >/dev/null; then
    vm_add_bin "$(command -v iperf3)" /bin/iperf3 || exit 2
fi
guest=$VM_WORK/guest.sh
{ echo "IPERF_SECS=$IPERF_SECS"; cat tests/vm/guest_lib.sh tests/vm/guest_tunnel.sh; } > "$guest"
vm_run "$guest"
rc=$?
grep -a '^VSOCK_TUNNEL_THROUGHPUT' "$VM_LOG" | sed 's/^VSOCK_TUNNEL_THROUGHPUT/wgvsockd vsock tunnel:/'
exit $rc
