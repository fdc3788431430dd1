#!/bin/bash
# bench/kernel_vm.sh - kernel WireGuard vs wgcore, the plugin's two engines
# for udp networks, inside the QEMU guest of tests/vm (the only place here
# with wireguard.ko).  Both pairs are built as the plugin builds a device:
# created in the guest's root namespace (their UDP sockets stay there, on
# lo), the interface moved into namespace A or B.  Pair "kernel": two
# `wireguard` links created and configured by the plugin's netlink code
# (wg_netlink_tool); pair "wgcore": two `wgvsockd -n udp`.  iperf3 A -> B,
# single stream, BENCH_ROUNDS interleaved rounds (default 3), medians.
#
# Under TCG the guest CPU is emulated (and 2 vCPUs share this machine), so
# the absolute figures mean nothing: only the kernel/wgcore ratio of one run
# is reported as a result.
#
#   bench/kernel_vm.sh                 3 rounds of 3 s per engine
#   BENCH_SECONDS=5 BENCH_ROUNDS=5 bench/kernel_vm.sh
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
WGVSOCKD=$BUILD/bin/wgvsockd TOOL=$BUILD/tests/vm/wg_netlink_tool
SECS=${BENCH_SECONDS:-3} ROUNDS=${BENCH_ROUNDS:-3}
: "${VM_TIMEOUT:=$((120 + ROUNDS * SECS * 2 * 4))}"
VM_EXTRA_MODULES="wireguard ${VM_EXTRA_MODULES:-}"
. tests/vm/lib.sh

for t in wg iperf3; do command -v $t >/dev/null || { echo "missing $t (make deps)"; exit 77; }; done
[ -x "$WGVSOCKD" ] && [ -x "$TOOL" ] || { echo "build first (make)"; exit 1; }
vm_init || exit $?
vm_add_bin "$WGVSOCKD" /bin/wgvsockd || exit 2
vm_add_bin "$TOOL" /bin/wg_netlink_tool || exit 2
vm_add_bin "$(command -v wg)" /bin/wg || exit 2
vm_add_bin "$(command -v iperf3)" /bin/iperf3 || exit 2
cat > "$VM_WORK/guest.sh" <<GUEST
SECS=$SECS ROUNDS=$ROUNDS
GUEST
cat >> "$VM_WORK/guest.sh" <<'GUEST'
set -u
T=wg_netlink_tool
unshare -n sleep 100000 & NSA=$!
unshare -n sleep 100000 & NSB=$!
sleep 0.2
nsenter -t $NSA -n ip link set lo up; nsenter -t $NSB -n ip link set lo up
umask 077
for k in a b; do wg genkey > /tmp/$k.key; wg pubkey < /tmp/$k.key > /tmp/$k.pub; done
# into NS (pid) as IFNAME with address ADDR
place() { $T move "$1" "$2" "$3" && nsenter -t "$2" -n ip addr add "$4/24" dev "$3" &&
          nsenter -t "$2" -n ip link set "$3" up; }
kernel_up() {
    $T create kba 1420 && $T create kbb 1420 &&
    $T set kba private-key /tmp/a.key listen-port 52001 peer "$(cat /tmp/b.pub)" \
        endpoint 127.0.0.1:52002 allowed-ips 10.8.1.2/32 &&
    $T set kbb private-key /tmp/b.key listen-port 52002 peer "$(cat /tmp/a.pub)" \
        endpoint 127.0.0.1:52001 allowed-ips 10.8.1.1/32 &&
    place kba $NSA wgk 10.8.1.1 && place kbb $NSB wgk 10.8.1.2
}
wgcore_up() {
    wgvsockd -f -n udp uba > /tmp/uba.log 2>&1 &
    wgvsockd -f -n udp ubb > /tmp/ubb.log 2>&1 &
    i=0; while [ $i -lt 100 ] && ! [ -S /var/run/wireguard/uba.sock -a -S /var/run/wireguard/ubb.sock ]; do sleep 0.1; i=$((i + 1)); done
    wg set uba private-key /tmp/a.key listen-port 53001 peer "$(cat /tmp/b.pub)" \
        endpoint 127.0.0.1:53002 allowed-ips 10.8.2.2/32 &&
    wg set ubb private-key /tmp/b.key listen-port 53002 peer "$(cat /tmp/a.pub)" \
        endpoint 127.0.0.1:53001 allowed-ips 10.8.2.1/32 &&
    place uba $NSA wgu 10.8.2.1 && place ubb $NSB wgu 10.8.2.2
}
kernel_up || { echo "BENCH_FAIL kernel pair"; exit 1; }
wgcore_up || { echo "BENCH_FAIL wgcore pair"; exit 1; }
nsenter -t $NSB -n iperf3 -s -D
sleep 0.5
for a in 10.8.1.2 10.8.2.2; do nsenter -t $NSA -n ping -c 2 -W 5 $a > /dev/null || { echo "BENCH_FAIL no ping $a"; exit 1; }; done
r=1
while [ $r -le $ROUNDS ]; do
    for eng in kernel wgcore; do
        case $eng in kernel) dst=10.8.1.2 ;; *) dst=10.8.2.2 ;; esac
        rate=$(nsenter -t $NSA -n iperf3 -c $dst -t $SECS -f m 2>&1 | awk '/receiver/{print $(NF-2)}' | tail -1)
        echo "BENCH_ROUND $r $eng ${rate:-0}"
    done
    r=$((r + 1))
done
GUEST
VM_QUIET=${VM_QUIET:-1} vm_run "$VM_WORK/guest.sh"
rc=$?
grep -a '^BENCH_' "$VM_LOG"
[ $rc = 0 ] || { echo "guest failed (status $rc)"; exit 1; }
python3 - "$VM_LOG" "$SECS" "$VM_QACCEL" <<'PY'
import statistics, sys
rounds = {"kernel": [], "wgcore": []}
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("BENCH_ROUND "):
        _, r, eng, rate = line.split()
        rounds[eng].append(float(rate))
k, w = statistics.median(rounds["kernel"]), statistics.median(rounds["wgcore"])
if not (k > 0 and w > 0):
    sys.exit("no throughput measured")
print(f"kernel WireGuard vs wgcore (udp, iperf3 single stream, {len(rounds['kernel'])} interleaved rounds "
      f"of {sys.argv[2]} s, QEMU guest accel={sys.argv[3]}):")
print(f"  median kernel {k:.0f} Mbit/s  {rounds['kernel']}")
print(f"  median wgcore {w:.0f} Mbit/s  {rounds['wgcore']}")
print(f"  RATIO kernel/wgcore = {k / w:.2f}x"
      + ("   (TCG-emulated guest: only this ratio means anything)" if "tcg" in sys.argv[3] else ""))
PY
