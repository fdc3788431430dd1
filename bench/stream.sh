#!/bin/bash
# bench/stream.sh - the stream transports' throughput.
#
#  1. wgvsockd -n tcp <-> wgvsockd -n tcp between two network namespaces
#     (veth), iperf3 single stream and -P 4 through the tunnel, against
#     Debian's wireguard-go over UDP on the same veth in the same run; the
#     ratio is printed (the issue's bar: TCP transport >= 1.5x wireguard-go).
#  2. wgvsockd -n vsock <-> wgvsockd -n vsock inside the QEMU guest of
#     tests/vm (real AF_VSOCK loopback), iperf3 single and -P 4.  Under TCG
#     the guest CPU is emulated, so these figures only compare runs of this
#     script on the same machine, never with (1).
#
#   bench/stream.sh                 5 s per iperf3 test
#   BENCH_SECONDS=10 bench/stream.sh
#   BENCH_VSOCK=0 bench/stream.sh   skip the VM part
#   BENCH_MIN_RATIO=1.5 bench/stream.sh   exit 1 when single stream is below
#
# Needs root, iperf3, wireguard-go, and for (2) what tests/vm needs.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
WGVSOCKD=${WGVSOCKD:-$BUILD/bin/wgvsockd}
WGGO=${WIREGUARD_GO:-/usr/bin/wireguard-go}
T=${BENCH_SECONDS:-5}
SOCKDIR=/var/run/wireguard

[ "$(id -u)" = 0 ] || { echo "bench/stream.sh needs root"; exit 77; }
for t in ip wg iperf3 python3; do
    command -v $t >/dev/null || { echo "missing $t (make deps)"; exit 77; }
done
[ -x "$WGVSOCKD" ] || { echo "$WGVSOCKD not built (make)"; exit 1; }
[ -x "$WGGO" ] || { echo "missing $WGGO (make deps)"; exit 77; }

tag=bs$$
NS_A=$tag-a NS_B=$tag-b IF_A=${tag}a IF_B=${tag}b
WORK=$(mktemp -d /tmp/wgvsock-bench-stream.XXXXXX)
DPIDS=()      # our children; signalled only through tests/lib/proc.sh
. tests/lib/proc.sh
cleanup() {
    local p n
    for p in "${DPIDS[@]}"; do proc_kill -TERM "$p"; done
    for p in "${DPIDS[@]}"; do wait "$p" 2>/dev/null; done
    for n in "$NS_A" "$NS_B"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    rm -f "$SOCKDIR/$IF_A.sock" "$SOCKDIR/$IF_B.sock"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS_A" && ip netns add "$NS_B" || exit 1
ip link add "${tag}va" netns "$NS_A" type veth peer name "${tag}vb" netns "$NS_B" || exit 1
ip -n "$NS_A" link set lo up; ip -n "$NS_B" link set lo up
ip -n "$NS_A" addr add 192.168.81.1/24 dev "${tag}va"; ip -n "$NS_A" link set "${tag}va" up
ip -n "$NS_B" addr add 192.168.81.2/24 dev "${tag}vb"; ip -n "$NS_B" link set "${tag}vb" up
umask 077
for s in a b; do wg genkey > "$WORK/$s.key"; wg pubkey < "$WORK/$s.key" > "$WORK/$s.pub"; done

# pair IMPL: both daemons up, B listening, A -> B configured, MTU 1420
pair() {
    local impl=$1 ns ifn i
    for ns in "$NS_A" "$NS_B"; do
        ifn=$([ "$ns" = "$NS_A" ] && echo "$IF_A" || echo "$IF_B")
        rm -f "$SOCKDIR/$ifn.sock"
        case $impl in
            tcp)  ip netns exec "$ns" "$WGVSOCKD" -f -n tcp "$ifn" >>"$WORK/$ifn.log" 2>&1 & ;;
            wggo) ip netns exec "$ns" "$WGGO" -f "$ifn" >>"$WORK/$ifn.log" 2>&1 & ;;
        esac
        DPIDS+=($!)
        for i in $(seq 100); do [ -S "$SOCKDIR/$ifn.sock" ] && break; sleep 0.1; done
    done
    wg set "$IF_B" private-key "$WORK/b.key" listen-port 51881 \
        peer "$(cat "$WORK/a.pub")" allowed-ips 10.81.0.1/32 || return 1
    wg set "$IF_A" private-key "$WORK/a.key" \
        peer "$(cat "$WORK/b.pub")" endpoint 192.168.81.2:51881 allowed-ips 10.81.0.2/32 || return 1
    ip -n "$NS_A" addr add 10.81.0.1/24 dev "$IF_A" && ip -n "$NS_A" link set "$IF_A" mtu 1420 up
    ip -n "$NS_B" addr add 10.81.0.2/24 dev "$IF_B" && ip -n "$NS_B" link set "$IF_B" mtu 1420 up
    for i in $(seq 20); do
        ip netns exec "$NS_A" ping -c 1 -W 1 10.81.0.2 >/dev/null 2>&1 && return 0
    done
    return 1
}
unpair() {
    local p
    for p in "${DPIDS[@]}"; do proc_kill -TERM "$p"; done
    for p in "${DPIDS[@]}"; do wait "$p" 2>/dev/null; done
    DPIDS=()
    sleep 0.3
}
# iperf ARGS...: A -> B, prints Mbit/s received (0 on failure)
iperf() {
    local port=$((5201 + RANDOM % 2000)) json
    ip netns exec "$NS_B" iperf3 -s -1 -p $port -B 10.81.0.2 >/dev/null 2>&1 &
    sleep 0.4
    json=$(ip netns exec "$NS_A" timeout $((T + 20)) iperf3 -c 10.81.0.2 -p $port -t "$T" -J "$@" 2>/dev/null)
    wait $! 2>/dev/null
    echo "$json" | python3 -c '
import json, sys
try:
    print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print(0)'
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "bench/stream.sh: $(nproc) CPUs ($cpu), kernel $(uname -r), $(date -u +%FT%TZ)"
echo "iperf3 TCP through the tunnel, $T s per test, MTU 1420, veth underlay"
declare -A R
for impl in tcp wggo; do
    name=$([ $impl = tcp ] && echo "wgvsockd -n tcp" || echo "wireguard-go (udp)")
    if ! pair $impl; then
        echo "$name: tunnel did not come up"; tail -5 "$WORK"/*.log; unpair; continue
    fi
    R[$impl,1]=$(iperf)
    R[$impl,4]=$(iperf -P 4)
    printf '  %-20s single %6s Mbit/s   -P 4 %6s Mbit/s\n' "$name" "${R[$impl,1]}" "${R[$impl,4]}"
    unpair
    rm -f "$WORK"/*.log
done
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
R1=$(ratio "${R[tcp,1]:-0}" "${R[wggo,1]:-0}")
R4=$(ratio "${R[tcp,4]:-0}" "${R[wggo,4]:-0}")

VS1='' VS4='' VSNOTE=''
if [ "${BENCH_VSOCK:-1}" != 0 ]; then
    echo "vsock: booting the tests/vm guest (two wgvsockd -n vsock over local(1))"
    (
        . tests/vm/lib.sh
        VM_QUIET=1
        vm_init || exit $?
        vm_add_bin "$WGVSOCKD" /bin/wgvsockd && vm_add_bin "$(command -v wg)" /bin/wg &&
            vm_add_bin "$(command -v iperf3)" /bin/iperf3 || exit 2
        { echo "T=$T"; cat <<'GUEST'
set -u
unshare -n sleep 100000 & A=$!
unshare -n sleep 100000 & B=$!
sleep 0.2
umask 077
wg genkey > /tmp/a.key; wg genkey > /tmp/b.key
for s in A B; do
    ifn=wg$(echo $s | tr AB ab); eval "pid=\$$s"
    nsenter -t $pid -n ip link set lo up
    nsenter -t $pid -n wgvsockd -f -n vsock $ifn > /tmp/$ifn.log 2>&1 &
done
i=0; while [ $i -lt 100 ] && ! [ -S /run/wireguard/wga.sock -a -S /run/wireguard/wgb.sock ]; do sleep 0.1; i=$((i+1)); done
wg set wgb private-key /tmp/b.key listen-port 5000 peer $(wg pubkey < /tmp/a.key) allowed-ips 10.9.0.1/32
wg set wga private-key /tmp/a.key peer $(wg pubkey < /tmp/b.key) endpoint 0.0.0.1:5000 allowed-ips 10.9.0.2/32
nsenter -t $A -n ip addr add 10.9.0.1/24 dev wga; nsenter -t $A -n ip link set wga mtu 1420 up
nsenter -t $B -n ip addr add 10.9.0.2/24 dev wgb; nsenter -t $B -n ip link set wgb mtu 1420 up
i=0; while [ $i -lt 20 ] && ! nsenter -t $A -n ping -c 1 -W 1 10.9.0.2 >/dev/null 2>&1; do i=$((i+1)); done
for p in 1 4; do
    nsenter -t $B -n iperf3 -s -1 -B 10.9.0.2 >/dev/null 2>&1 &
    srv=$!
    sleep 0.5
    r=$(nsenter -t $A -n iperf3 -c 10.9.0.2 -t $T -P $p -f m 2>&1 | awk '/receiver/{v=$(NF-2)} END{print v+0}')
    echo "BENCH_VSOCK_P$p $r"
    wait $srv    # (a bare wait would wait for the namespace holders too)
done
GUEST
        } > "$VM_WORK/guest.sh"
        VM_TIMEOUT=$((120 + 6 * T)) vm_run "$VM_WORK/guest.sh" >/dev/null 2>&1
        rc=$?
        grep -a '^BENCH_VSOCK_P' "$VM_LOG"
        echo "BENCH_VSOCK_ACCEL $VM_QACCEL"
        exit $rc
    ) > "$WORK/vsock.out" 2>&1
    VS1=$(awk '/^BENCH_VSOCK_P1 /{print $2}' "$WORK/vsock.out")
    VS4=$(awk '/^BENCH_VSOCK_P4 /{print $2}' "$WORK/vsock.out")
    case $(awk '/^BENCH_VSOCK_ACCEL /{print $2}' "$WORK/vsock.out") in
        kvm*) VSNOTE="KVM guest" ;;
        *)    VSNOTE="TCG-emulated guest: not comparable with the figures above" ;;
    esac
    [ -n "$VS1" ] && [ -n "$VS4" ] || { echo "vsock part incomplete:"; tail -5 "$WORK/vsock.out"; }
fi

echo
echo "==================== bench/stream.sh result ===================="
printf '%-34s %10s %10s\n' "iperf3 through the tunnel, Mbit/s" "single" "-P 4"
printf '%-34s %10s %10s\n' "wgvsockd -n tcp (wgcore, TCP)" "${R[tcp,1]:-n/a}" "${R[tcp,4]:-n/a}"
printf '%-34s %10s %10s\n' "Debian wireguard-go (UDP)" "${R[wggo,1]:-n/a}" "${R[wggo,4]:-n/a}"
printf '%-34s %9sx %9sx   (bar: >= 1.5x)\n' "ratio wgcore-tcp / wireguard-go" "$R1" "$R4"
if [ "${BENCH_VSOCK:-1}" != 0 ]; then
    printf '%-34s %10s %10s   (%s)\n' "wgvsockd -n vsock, in the VM" "${VS1:-n/a}" "${VS4:-n/a}" "$VSNOTE"
fi
echo "================================================================"
if [ -n "${BENCH_MIN_RATIO:-}" ]; then
    awk -v r="$R1" -v m="$BENCH_MIN_RATIO" 'BEGIN { exit !(r != "n/a" && r + 0 >= m + 0) }' ||
        { echo "single-stream ratio $R1 below $BENCH_MIN_RATIO"; exit 1; }
fi
[ -n "${R[tcp,1]:-}" ] && [ "${R[tcp,1]}" != 0 ]
