#!/bin/bash
# The stream transport over real AF_VSOCK (vsock_loopback, CID 1) inside a
# throw-away QEMU guest: ephemeral and fixed listen ports, bytes on the
# wire (CRC and no-CRC), echo in order over one dialled connection, bad
# CRC / garbage closing only their own connection, listener restart with
# redial + reconnected callback, throughput (emulated).  The checker
# binary is never run on this host (no AF_VSOCK here, by rule).
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
: "${VM_TIMEOUT:=180}"
. tests/vm/lib.sh

chk=$BUILD/tests/vm/vsock_stream_check
[ -x "$chk" ] || make -s BUILD="$BUILD" "$chk" >&2 || { echo "cannot build $chk"; exit 1; }
vm_init || exit $?
vm_add_bin "$chk" || exit 2
guest=$VM_WORK/guest.sh
cat > "$guest" <<'GUEST'
set -u
/bin/vsock_stream_check -m ${MIB:-8}
GUEST
sed -i "1a MIB=${VSOCK_MIB:-8}" "$guest"
vm_run "$guest"
rc=$?
grep -a 'VSOCK_THROUGHPUT' "$VM_LOG" | sed 's/.*VSOCK_THROUGHPUT/vsock stream transport throughput (emulated, TCG):/'
exit $rc
