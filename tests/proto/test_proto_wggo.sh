#!/bin/bash
# test_proto_wggo.sh - the protocol alone (wg_proto over a plain UDP socket,
# tests/proto/wggo_peer.c) against Debian's wireguard-go in a network
# namespace: we initiate, wireguard-go initiates (with a preshared key), the
# cookie path (we are under load: wireguard-go must take our cookie reply
# and retry with mac2), and byte counters equal on both sides.
# WG_PROTO_LONG=1 adds 150 s of traffic across a REKEY_AFTER_TIME rekey.
set -u
ROOT=${WGVSOCK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${BUILD:-build}; case $B in /*) ;; *) B=$ROOT/$B ;; esac
WGGO=${WIREGUARD_GO:-/usr/bin/wireguard-go}
[ "$(id -u)" = 0 ] || { echo "skip: needs root (netns)"; exit 77; }
[ -x "$WGGO" ] && command -v wg >/dev/null || { echo "skip: wireguard-go/wg missing"; exit 77; }

T=$(mktemp -d)
NSA=wgt-pw$$-a NSB=wgt-pw$$-b IF=wpw$$
. "$ROOT/tests/lib/proc.sh"
cleanup() {
    [ -n "${GOPID:-}" ] && proc_kill -TERM "$GOPID"    # only while still our child
    ip netns del "$NSA" 2>/dev/null; ip netns del "$NSB" 2>/dev/null
    rm -f "/var/run/wireguard/$IF.sock"; rm -rf "$T"
}
trap cleanup EXIT
fails=0
flunk() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The helper is built by tests/proto/module.mk with this tree's flags.
PEER=$B/tests/proto/wggo_peer
[ -x "$PEER" ] || make -s -C "$ROOT" BUILD="$B" "$PEER" >/dev/null || { echo "FAIL: build wggo_peer"; exit 1; }

ip netns add "$NSA" && ip netns add "$NSB" || exit 1
ip link add "va$$" netns "$NSA" type veth peer name "vb$$" netns "$NSB"
ip -n "$NSA" addr add 192.168.77.1/24 dev "va$$"; ip -n "$NSA" link set "va$$" up
ip -n "$NSB" addr add 192.168.77.2/24 dev "vb$$"; ip -n "$NSB" link set "vb$$" up
ip -n "$NSA" link set lo up; ip -n "$NSB" link set lo up
K1=$(wg genkey); P1=$(echo "$K1" | wg pubkey); K2=$(wg genkey); P2=$(echo "$K2" | wg pubkey)
PSK=$(wg genpsk)
(umask 077; echo "$K1" > "$T/k1"; echo "$PSK" > "$T/psk")

ip netns exec "$NSA" env LOG_LEVEL=debug "$WGGO" -f "$IF" > "$T/wggo.log" 2>&1 &
GOPID=$!
for _ in $(seq 50); do [ -S "/var/run/wireguard/$IF.sock" ] && break; sleep 0.1; done
ip netns exec "$NSA" wg set "$IF" private-key "$T/k1" listen-port 51820 \
    peer "$P2" allowed-ips 10.9.0.2/32 endpoint 192.168.77.2:40000 || exit 1
ip -n "$NSA" addr add 10.9.0.1/24 dev "$IF"; ip -n "$NSA" link set "$IF" up

# $1 name, $2 mode, $3 seconds, [$4 psk]: our side in the background
ours_start() {
    ip netns exec "$NSB" "$PEER" "$K2" "$P1" 192.168.77.1 51820 192.168.77.2 40000 \
        "$2" "$3" ${4:+"$4"} > "$T/$1.out" 2> "$T/$1.log" &
    OURPID=$!
    sleep 0.3     # bound before wireguard-go sends anything
}
ours_wait() {     # $1 name: waits, sets OUT
    wait "$OURPID"
    OUT=$(cat "$T/$1.out")
    echo "$1: $OUT"
}
ours() { ours_start "$@"; ours_wait "$1"; }
counters_match() {   # our rx/tx against wireguard-go's transfer for our peer
    local d; d=$(ip netns exec "$NSA" wg show "$IF" transfer | awk '{print $2, $3}')
    local our_rx our_tx; our_rx=$(sed -n 's/.*rx_bytes=\([0-9]*\).*/\1/p' <<< "$OUT")
    our_tx=$(sed -n 's/.*tx_bytes=\([0-9]*\).*/\1/p' <<< "$OUT")
    [ "$d" = "$our_tx $our_rx" ] || flunk "$1: counters: wireguard-go rx/tx '$d', ours tx/rx '$our_tx $our_rx'"
}

# 1. we initiate; wireguard-go answers our pings (its kernel replies).
ours initiate ping 4
grep -q "ok=[1-9]" <<< "$OUT" || flunk "initiate: no echo replies"
grep -q "handshake=[1-9]" <<< "$OUT" || flunk "initiate: no handshake time"
counters_match initiate

# 2. wireguard-go initiates, with a preshared key on both sides.
ip netns exec "$NSA" wg set "$IF" peer "$P2" preshared-key "$T/psk"
ip netns exec "$NSA" wg set "$IF" peer "$P2" remove
ip netns exec "$NSA" wg set "$IF" peer "$P2" allowed-ips 10.9.0.2/32 endpoint 192.168.77.2:40000 \
    preshared-key "$T/psk"
ours_start respond answer 5 "$PSK"
ip netns exec "$NSA" ping -c 8 -i 0.3 -W 1 10.9.0.2 > "$T/ping2.log" 2>&1
ours_wait respond
grep -q " 0% packet loss" "$T/ping2.log" || flunk "respond: wireguard-go's pings lost: $(tail -2 "$T/ping2.log" | head -1)"
grep -q "ok=[1-9]" <<< "$OUT" || flunk "respond: no echo requests answered"
grep -q "received handshake initiation" "$T/respond.log" || flunk "respond: we did not respond"
counters_match respond

# 3. cookie path: we are under load when wireguard-go's initiation arrives.
ip netns exec "$NSA" wg set "$IF" peer "$P2" remove
ip netns exec "$NSA" wg set "$IF" peer "$P2" allowed-ips 10.9.0.2/32 endpoint 192.168.77.2:40000
before=$(wc -l < "$T/wggo.log")
ours_start cookie cookie 14
ip netns exec "$NSA" ping -c 40 -i 0.3 -W 1 10.9.0.2 > "$T/ping3.log" 2>&1
ours_wait cookie
grep -q "cookies=[1-9]" <<< "$OUT" || flunk "cookie: no cookie reply sent"
tail -n +"$before" "$T/wggo.log" | grep -q "Receiving cookie response" ||
    flunk "cookie: wireguard-go got no cookie reply"
tail -n +"$before" "$T/wggo.log" | grep -qi "invalid cookie" &&
    flunk "cookie: wireguard-go could not decrypt our cookie reply"
grep -q "ok=[1-9]" <<< "$OUT" || flunk "cookie: no traffic after the cookie exchange"

# 4. optional: traffic across a rekey (REKEY_AFTER_TIME = 120 s)
if [ "${WG_PROTO_LONG:-0}" = 1 ]; then
    ours rekey ping 150
    n=$(grep -c "sending handshake initiation" "$T/rekey.log")
    [ "$n" -ge 2 ] || flunk "rekey: $n initiations in 150 s"
    ok=$(sed -n 's/^ok=\([0-9]*\).*/\1/p' <<< "$OUT")
    sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<< "$OUT")
    # an echo every ~250 ms for 150 s; the last may still be in flight
    [ "${sent:-0}" -ge 500 ] && [ "${ok:-0}" -ge $((sent - 2)) ] ||
        flunk "rekey: ${ok:-0} replies to ${sent:-0} requests"
fi

if [ $fails -ne 0 ]; then
    echo "--- wireguard-go log"; tail -30 "$T/wggo.log"
    for l in "$T"/*.log; do echo "--- $l"; tail -15 "$l"; done
    exit 1
fi
echo "all checks passed"
