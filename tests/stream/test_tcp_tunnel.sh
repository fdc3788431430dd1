#!/bin/bash
# wgvsockd over the TCP stream transports, in network namespaces made here.
#
#   peer A (ns a) ──veth── hub H (ns h) ──veth── peer C (ns c)
#
# H listens; A and C only dial (H has no endpoints configured: it answers on
# the connections they open).  For -n tcp (dual stack) A dials H over IPv4
# and C over IPv6, one listener for both; for -n tcp6 both use IPv6.  Per
# transport: handshake + ping both peers, A -> C through the hub (several
# peers on one listener, routed by allowed-ips), iperf3 -t 3 both
# directions, SIGKILL + restart of the hub (A and C redial by themselves,
# traffic resumes without touching them), then of peer A.
#
# TCP_TUNNEL_MODES="tcp tcp6" picks transports.  TCP_TUNNEL_DAEMON="wireguard-go -f"
# runs the same scenario over UDP with Debian's wireguard-go (a check of
# this script itself).
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
WGVSOCKD=${WGVSOCKD:-$BUILD/bin/wgvsockd}
MODES=${TCP_TUNNEL_MODES:-tcp tcp6}
DAEMON=${TCP_TUNNEL_DAEMON:-}
SOCKDIR=/var/run/wireguard

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 77; }
for t in ip wg iperf3 ping; do
    command -v $t >/dev/null || { echo "missing $t (make deps)"; exit 77; }
done
if [ -z "$DAEMON" ] && [ ! -x "$WGVSOCKD" ]; then
    echo "FAIL: $WGVSOCKD not built"
    exit 1
fi

tag=tt$$
NS_A=$tag-a NS_H=$tag-h NS_C=$tag-c
IF_A=${tag}a IF_H=${tag}h IF_C=${tag}c
WORK=$(mktemp -d /tmp/wgvsock-tcptun.XXXXXX)
PIDS=()      # our children; signalled only through tests/lib/proc.sh
. "$(dirname "$0")/../lib/proc.sh"
fails=0 checks=0

cleanup() {
    local p
    for p in "${PIDS[@]}"; do proc_kill -TERM "$p"; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for n in "$NS_A" "$NS_H" "$NS_C"; do
        # iperf3 servers and anything else left in the namespace
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    rm -f "$SOCKDIR/$IF_A.sock" "$SOCKDIR/$IF_H.sock" "$SOCKDIR/$IF_C.sock"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%T)" "$*"; }
check() {  # check NAME CMD...
    local name=$1; shift
    checks=$((checks + 1))
    if "$@"; then echo "ok:   $name"; return 0; fi
    echo "FAIL: $name"; fails=$((fails + 1)); return 1
}
# ping_until NS ADDR SECONDS: one reply within SECONDS
ping_until() {
    local t0=$SECONDS end=$((SECONDS + $3))
    while [ $SECONDS -lt $end ]; do
        if ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; then
            [ $((SECONDS - t0)) -gt 1 ] && log "  ($1 -> $2: first reply after $((SECONDS - t0)) s)"
            return 0
        fi
    done
    return 1
}
quiet() { "$@" >/dev/null 2>&1; }

# ---- underlay: two veth links from the hub
ip netns add "$NS_A" && ip netns add "$NS_H" && ip netns add "$NS_C" || exit 1
ip link add "${tag}va" netns "$NS_A" type veth peer name "${tag}ha" netns "$NS_H" || exit 1
ip link add "${tag}vc" netns "$NS_C" type veth peer name "${tag}hc" netns "$NS_H" || exit 1
for n in "$NS_A" "$NS_H" "$NS_C"; do
    ip -n "$n" link set lo up
    # no duplicate address detection delay for the v6 underlay
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n "$NS_A" addr add 192.168.71.2/24 dev "${tag}va"
ip -n "$NS_A" addr add fd71::2/64 dev "${tag}va" nodad
ip -n "$NS_H" addr add 192.168.71.1/24 dev "${tag}ha"
ip -n "$NS_H" addr add fd71::1/64 dev "${tag}ha" nodad
ip -n "$NS_C" addr add 192.168.72.2/24 dev "${tag}vc"
ip -n "$NS_C" addr add fd72::2/64 dev "${tag}vc" nodad
ip -n "$NS_H" addr add 192.168.72.1/24 dev "${tag}hc"
ip -n "$NS_H" addr add fd72::1/64 dev "${tag}hc" nodad
for l in "$NS_A ${tag}va" "$NS_H ${tag}ha" "$NS_H ${tag}hc" "$NS_C ${tag}vc"; do
    set -- $l; ip -n "$1" link set "$2" up
done
ip netns exec "$NS_H" sysctl -qw net.ipv4.ip_forward=1

umask 077
for s in a h c; do
    wg genkey > "$WORK/$s.key"
    wg pubkey < "$WORK/$s.key" > "$WORK/$s.pub"
done
PUB_A=$(cat "$WORK/a.pub") PUB_H=$(cat "$WORK/h.pub") PUB_C=$(cat "$WORK/c.pub")
PORT_H=51871

declare -A DPID=()
# start NS IF MODE: the daemon in the foreground of a background job
start() {
    local ns=$1 ifn=$2 mode=$3 cmd i
    rm -f "$SOCKDIR/$ifn.sock"
    if [ -n "$DAEMON" ]; then cmd=($DAEMON "$ifn")
    else cmd=("$WGVSOCKD" -f -n "$mode" "$ifn"); fi
    LOG_LEVEL=verbose ip netns exec "$ns" "${cmd[@]}" >>"$WORK/$ifn.log" 2>&1 &
    DPID[$ifn]=$!
    PIDS+=($!)
    for i in $(seq 100); do
        [ -S "$SOCKDIR/$ifn.sock" ] && ip -n "$ns" link show "$ifn" >/dev/null 2>&1 && return 0
        proc_alive "${DPID[$ifn]}" || break
        sleep 0.1
    done
    echo "daemon for $ifn did not come up; its log:"; tail -20 "$WORK/$ifn.log"
    return 1
}
stop() {  # stop IF [signal]
    proc_kill -"${2:-TERM}" "${DPID[$1]}"
    wait "${DPID[$1]}" 2>/dev/null
}
ifup() {  # ifup NS IF ADDR
    ip -n "$1" addr add "$3/24" dev "$2" && ip -n "$1" link set "$2" mtu 1420 up
}
conf_h() {
    wg set "$IF_H" private-key "$WORK/h.key" listen-port $PORT_H \
        peer "$PUB_A" allowed-ips 10.71.0.2/32 \
        peer "$PUB_C" allowed-ips 10.71.0.3/32 && ifup "$NS_H" "$IF_H" 10.71.0.1
}
conf_a() {  # conf_a ENDPOINT
    wg set "$IF_A" private-key "$WORK/a.key" \
        peer "$PUB_H" endpoint "$1" allowed-ips 10.71.0.0/24 && ifup "$NS_A" "$IF_A" 10.71.0.2
}
conf_c() {
    wg set "$IF_C" private-key "$WORK/c.key" \
        peer "$PUB_H" endpoint "$1" allowed-ips 10.71.0.0/24 && ifup "$NS_C" "$IF_C" 10.71.0.3
}
iperf() {  # iperf NAME [-R]: A -> H (or H -> A with -R), 3 s
    local port=$((5201 + RANDOM % 1000)) out rate
    ip netns exec "$NS_H" iperf3 -s -1 -p $port -B 10.71.0.1 >/dev/null 2>&1 &
    PIDS+=($!)
    sleep 0.5
    out=$(ip netns exec "$NS_A" timeout 20 iperf3 -c 10.71.0.1 -p $port -t 3 -f m "$@" 2>&1) || {
        echo "$out" | tail -5; return 1; }
    rate=$(echo "$out" | awk '/receiver/{print $(NF-2), $(NF-1)}' | tail -1)
    log "iperf3 ${1:-A->H}: $rate"
    [ -n "$rate" ]
}

scenario() {  # scenario MODE EP_A EP_C
    local mode=$1 ep_a=$2 ep_c=$3
    log "=== -n $mode: A dials $ep_a, C dials $ep_c"
    check "$mode: daemons start" start "$NS_H" "$IF_H" "$mode" && start "$NS_A" "$IF_A" "$mode" &&
        start "$NS_C" "$IF_C" "$mode" || return 1
    check "$mode: wg set (hub, 2 peers)" conf_h
    check "$mode: wg set (A)" conf_a "$ep_a"
    check "$mode: wg set (C)" conf_c "$ep_c"
    check "$mode: wg show reports listen port $PORT_H" \
        bash -c "wg show $IF_H listen-port | grep -qx $PORT_H"
    check "$mode: handshake + ping A -> hub" ping_until "$NS_A" 10.71.0.1 15
    check "$mode: handshake + ping C -> hub" ping_until "$NS_C" 10.71.0.1 15
    check "$mode: A -> C through the hub (one listener, two peers)" ping_until "$NS_A" 10.71.0.3 10
    check "$mode: hub learnt both peers' endpoints from their connections" \
        bash -c "[ \$(wg show $IF_H endpoints | awk '\$2 != \"(none)\"' | wc -l) = 2 ]"
    wg show "$IF_H" endpoints | sed 's/^/    /'
    check "$mode: 20 pings A -> hub, no loss" \
        quiet ip netns exec "$NS_A" ping -q -c 20 -i 0.05 -W 2 10.71.0.1
    check "$mode: iperf3 A -> hub" iperf
    check "$mode: iperf3 hub -> A (-R)" iperf -R

    log "$mode: SIGKILL the hub, restart it"
    stop "$IF_H" KILL
    check "$mode: hub restarted" start "$NS_H" "$IF_H" "$mode"
    check "$mode: hub reconfigured" conf_h
    # nothing is done on A or C: their dialled connections broke and they
    # redial, then send a handshake on the new connection
    # promptly: the redial backoff (0.1, 0.5, 1, 2, 4 s, jittered) finds
    # the hub within ~5 s of its restart, then the reconnected handshake;
    # the ~15 s data timeout of plain WireGuard fails this
    check "$mode: A -> hub resumes without operator action (< 10 s)" ping_until "$NS_A" 10.71.0.1 10
    check "$mode: C -> hub resumes (< 10 s)" ping_until "$NS_C" 10.71.0.1 10
    check "$mode: hub -> A and hub -> C on the redialled connections" \
        bash -c "ip netns exec $NS_H ping -c 2 -W 2 10.71.0.2 >/dev/null && ip netns exec $NS_H ping -c 2 -W 2 10.71.0.3 >/dev/null"
    check "$mode: iperf3 after the restart" iperf

    log "$mode: SIGKILL peer A, restart it"
    stop "$IF_A" KILL
    check "$mode: A restarted + configured" start "$NS_A" "$IF_A" "$mode" && conf_a "$ep_a"
    check "$mode: A -> hub after A's restart" ping_until "$NS_A" 10.71.0.1 20
    check "$mode: hub -> A on A's new connection" ping_until "$NS_H" 10.71.0.2 10
    check "$mode: C unaffected" quiet ip netns exec "$NS_C" ping -q -c 2 -W 2 10.71.0.1

    stop "$IF_A"; stop "$IF_C"; stop "$IF_H"
    if grep -l 'AddressSanitizer\|runtime error' "$WORK"/*.log 2>/dev/null; then
        check "$mode: no sanitizer reports" false
    fi
    if [ $fails -gt 0 ]; then
        for f in "$WORK"/*.log; do echo "--- $(basename "$f") (last 15 lines)"; tail -15 "$f"; done
    fi
    rm -f "$WORK"/*.log
}

for m in $MODES; do
    case $m in
        tcp)  scenario tcp "192.168.71.1:$PORT_H" "[fd72::1]:$PORT_H" ;;
        tcp6) scenario tcp6 "[fd71::1]:$PORT_H" "[fd72::1]:$PORT_H" ;;
        tcp4) scenario tcp4 "192.168.71.1:$PORT_H" "192.168.72.1:$PORT_H" ;;
        *) echo "unknown mode $m"; exit 2 ;;
    esac
done
echo "$checks checks, $fails failed"
[ $fails = 0 ] && [ $checks -gt 0 ]
