# guest_vsock_bounds.sh - runs INSIDE the QEMU guest (busybox sh), from
# test_vsock_bounds.sh: the stream transport's bounds on real AF_VSOCK.
# Hub B (wgvsockd -n vsock) listens on local(1):PORT; vsock_stream_check -s
# holds STALL_N connections that never authenticate (idle, cut maximal
# frame, header only, zero-length frames), all from CID 1 like the real
# peer A, which starts only once they are open.  Checked: A still
# handshakes and pings, B holds a bounded number of descriptors meanwhile,
# B closes every stalled connection (evicted, or at the 15 s handshake
# timeout), and the tunnel works afterwards.
#
# Variables (set by the caller at the top): STALL_N, STALL_SECS.
# shellcheck shell=sh disable=SC2154
set -u
PORT=5000
log() { echo "bounds: $*"; }

NSA=$(guest_netns)
NSB=$(guest_netns)
inA() { nsenter -t "$NSA" -n "$@"; }
inB() { nsenter -t "$NSB" -n "$@"; }

umask 077
wg genkey > /tmp/a.key; wg pubkey < /tmp/a.key > /tmp/a.pub
wg genkey > /tmp/b.key; wg pubkey < /tmp/b.key > /tmp/b.pub

start() {  # start A|B: wgvsockd -n vsock in that side's namespace
    case $1 in A) holder=$NSA ;; *) holder=$NSB ;; esac
    guest_wgvsockd "$holder" "wg$(echo "$1" | tr AB ab)" || return 1
    eval "PID_$1=$GUEST_PID"
}
conf_B() {
    wg set wgb private-key /tmp/b.key listen-port $PORT peer "$(cat /tmp/a.pub)" allowed-ips 10.9.0.1/32 &&
        inB ip addr add 10.9.0.2/24 dev wgb && inB ip link set wgb up
}
conf_A() {
    wg set wga private-key /tmp/a.key peer "$(cat /tmp/b.pub)" endpoint 0.0.0.1:$PORT \
        allowed-ips 10.9.0.2/32 persistent-keepalive 1 &&
        inA ip addr add 10.9.0.1/24 dev wga && inA ip link set wga up
}
ping_until() {  # ping_until SECONDS: A -> B
    end=$(( $(cut -d. -f1 /proc/uptime) + $1 ))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
        inA ping -c 1 -W 1 10.9.0.2 >/dev/null 2>&1 && return 0
    done
    return 1
}
fds_B() { ls "/proc/$PID_B/fd" | wc -l; }

log "=== hub B on local(1):$PORT, $STALL_N stalled vsock connections, then peer A"
hub_up() { start B && conf_B; }
peer_up() { start A && conf_A; }
check "hub B starts and is configured" hub_up || { echo "FAIL"; exit 1; }
fds0=$(fds_B)
rm -f /tmp/stall.ready
vsock_stream_check -s $PORT -n "$STALL_N" -t "$STALL_SECS" -r /tmp/stall.ready > /tmp/stall.out 2>&1 &
STALL=$!
i=0
while [ $i -lt 300 ] && ! [ -e /tmp/stall.ready ]; do sleep 0.1; i=$((i + 1)); done
check "stalled connections opened" [ -e /tmp/stall.ready ]
cat /tmp/stall.out
opened=$(sed -n 's/^stall: \([0-9]*\) connections open.*/\1/p' /tmp/stall.out)
# more than the per-source bound, or the bound below proves nothing
check "more stalled connections opened (${opened:-0}) than B may keep (256)" [ "${opened:-0}" -gt 300 ]
check "peer A starts during the stall and is configured" peer_up
check "A handshakes with B and pings through the stall" ping_until 30
fds=$(fds_B)
log "B's descriptors: $fds0 before, $fds with the stalled connections held"
# 256 untrusted per source (all of these are CID 1) + A + a few of B's own
check "B holds a bounded number of descriptors (<= $((fds0 + 256 + 16)))" [ "$fds" -le $((fds0 + 256 + 16)) ]
wait $STALL
stall_rc=$?
cat /tmp/stall.out
check "B closed every stalled connection within ${STALL_SECS} s" [ $stall_rc = 0 ]
check "B survived" kill -0 "$PID_B"
check "A -> B still works afterwards" ping_until 10
fds1=$(fds_B)
log "B's descriptors afterwards: $fds1"
check "B's descriptors back to at most before + A's connection" [ "$fds1" -le $((fds0 + 2)) ]
check "no sanitizer reports in the daemon logs" \
    sh -c "! grep -l 'AddressSanitizer\|LeakSanitizer\|runtime error' /tmp/wga.log /tmp/wgb.log"
kill "$PID_A" "$PID_B" 2>/dev/null
wait "$PID_A" "$PID_B" 2>/dev/null
if [ $fails -gt 0 ]; then
    for f in /tmp/wga.log /tmp/wgb.log; do echo "--- $f (last 25 lines)"; tail -25 "$f"; done
fi
kill "$NSA" "$NSB" 2>/dev/null
echo "bounds: $checks checks, $fails failed"
[ $fails = 0 ]
