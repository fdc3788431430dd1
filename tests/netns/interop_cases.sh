# tests/netns/interop_cases.sh - the interop scenarios, shared by
# test_interop_wggo.sh (wgvsockd <-> wireguard-go) and test_pair_wgcore.sh
# (wgvsockd <-> wgvsockd).  Sourced after tests/lib/netns.sh; side A is the
# device under test (it is the one moved to a third namespace), side B the
# peer.  CASES="basic psk" runs a subset.
#
# Every case leaves the pair as it found it: both sides peered over the IPv4
# underlay with the tunnel /32 and /128 as allowed-ips.

KA=a KB=b   # names of the current key files of each side (nsl_keys)

pa() { nsl_pub "$KA"; }
pb() { nsl_pub "$KB"; }
now() { date +%s; }

# Both directions, both families.
ping_all() {
    nsl_ping "$NS_A" "$T4_B" 2 5 && nsl_ping "$NS_B" "$T4_A" 2 5 &&
        nsl_ping "$NS_A" "$T6_B" 2 5 && nsl_ping "$NS_B" "$T6_A" 2 5
}

# repeer SIDE [wg set peer options]: removes the other side's peer on SIDE
# (a|b) and adds it back fresh (no session) with endpoint and allowed-ips.
repeer() {
    local side=$1; shift
    if [ "$side" = a ]; then
        W "$NS_A" set "$IF_A" peer "$(pb)" remove &&
            W "$NS_A" set "$IF_A" peer "$(pb)" endpoint "$U4_B:$PORT_B" allowed-ips "$T4_B/32,$T6_B/128" "$@"
    else
        W "$NS_B" set "$IF_B" peer "$(pa)" remove &&
            W "$NS_B" set "$IF_B" peer "$(pa)" endpoint "$U4_A:$PORT_A" allowed-ips "$T4_A/32,$T6_A/128" "$@"
    fi
}

# The handshake time of PEER on NS/IF is within 30 s of now.
hs_recent() { local t; t=$(nsl_hs "$1" "$2" "$3"); [ -n "$t" ] && [ "$t" -gt $(($(now) - 30)) ]; }
hs_zero() { [ "$(nsl_hs "$1" "$2" "$3")" = 0 ]; }
# A's tx equals B's rx and B's tx equals A's rx (wire bytes, nothing in flight).
counters_agree() {
    atx=$(nsl_tx "$NS_A" "$IF_A" "$(pb)"); arx=$(nsl_rx "$NS_A" "$IF_A" "$(pb)")
    btx=$(nsl_tx "$NS_B" "$IF_B" "$(pa)"); brx=$(nsl_rx "$NS_B" "$IF_B" "$(pa)")
    COUNTERS="A tx=$atx rx=$arx, B tx=$btx rx=$brx"
    [ -n "$atx" ] && [ "$atx" = "$brx" ] && [ "$btx" = "$arx" ]
}
# After bulk traffic some datagrams may be lost on the way (socket buffers):
# nobody receives more than the other sent, and most of it arrives.
counters_plausible() {
    counters_agree && return 0
    [ -n "$atx" ] && [ -n "$btx" ] && [ "$brx" -le "$atx" ] && [ "$arx" -le "$btx" ] &&
        [ $((brx * 10)) -ge $((atx * 8)) ] && [ $((arx * 10)) -ge $((btx * 8)) ]
}
ge() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -ge "$2" ]; }

case_basic() {
    check "ping IPv4 A->B" nsl_ping "$NS_A" "$T4_B" 3 6
    check "ping IPv4 B->A" nsl_ping "$NS_B" "$T4_A" 3 5
    check "ping IPv6 A->B" nsl_ping "$NS_A" "$T6_B" 3 5
    check "ping IPv6 B->A" nsl_ping "$NS_B" "$T6_A" 3 5
    check "wg show: A has a recent handshake with B" hs_recent "$NS_A" "$IF_A" "$(pb)"
    check "wg show: B has a recent handshake with A" hs_recent "$NS_B" "$IF_B" "$(pa)"
    check "wg show: A's endpoint for B" [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$(pb)")" = "$U4_B:$PORT_B" ]
    check "wg show: B's endpoint for A" [ "$(nsl_field "$NS_B" "$IF_B" endpoints "$(pa)")" = "$U4_A:$PORT_A" ]
    local tx0 rx0
    tx0=$(nsl_tx "$NS_A" "$IF_A" "$(pb)"); rx0=$(nsl_rx "$NS_B" "$IF_B" "$(pa)")
    nsl_ping "$NS_A" "$T4_B" 3 5
    # 3 echo requests: 84-byte IPv4 packets, padded to 96, + 32 bytes of header and tag.
    check "transfer: A's tx grew by >= 3 x 128 wire bytes" ge "$(nsl_tx "$NS_A" "$IF_A" "$(pb)")" $((tx0 + 384))
    check "transfer: B's rx grew by >= 3 x 128 wire bytes" ge "$(nsl_rx "$NS_B" "$IF_B" "$(pa)")" $((rx0 + 384))
    nsl_wait_for 2 counters_agree
    check "transfer: A tx == B rx and B tx == A rx (wire bytes, as the kernel counts) [$COUNTERS]" counters_agree
    check "wg show dump parses on A" bash -c "ip netns exec $NS_A wg show $IF_A dump | awk -F'\t' 'NR==1 && NF==4 {h=1} NR==2 && NF==8 {p=1} END {exit !(h && p)}'"
}

case_iperf() {
    local bps
    bps=$(nsl_iperf "$NS_B" "$T4_B" "$NS_A" 2) ; check "iperf3 TCP/IPv4 A->B 2 s ($((${bps:-0} / 1000000)) Mbit/s)" ge "${bps:-0}" 1000000
    bps=$(nsl_iperf "$NS_B" "$T4_B" "$NS_A" 2 -R) ; check "iperf3 TCP/IPv4 B->A 2 s ($((${bps:-0} / 1000000)) Mbit/s)" ge "${bps:-0}" 1000000
    bps=$(nsl_iperf "$NS_A" "$T6_A" "$NS_B" 2) ; check "iperf3 TCP/IPv6 B->A 2 s ($((${bps:-0} / 1000000)) Mbit/s)" ge "${bps:-0}" 1000000
    sleep 0.5
    local ok=0
    counters_plausible && ok=1
    check "transfer counters plausible after bulk traffic: rx <= other's tx, loss < 20% [$COUNTERS]" [ $ok = 1 ]
}

case_v6_underlay() {
    W "$NS_A" set "$IF_A" peer "$(pb)" endpoint "[$U6_B]:$PORT_B"
    W "$NS_B" set "$IF_B" peer "$(pa)" endpoint "[$U6_A]:$PORT_A"
    check "ping over the IPv6 underlay, both ways" bash -c "$(declare -f nsl_ping); nsl_ping $NS_A $T4_B 2 5 && nsl_ping $NS_B $T6_A 2 5"
    check "A's endpoint for B is IPv6" [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$(pb)")" = "[$U6_B]:$PORT_B" ]
    check "B's endpoint for A is IPv6" [ "$(nsl_field "$NS_B" "$IF_B" endpoints "$(pa)")" = "[$U6_A]:$PORT_A" ]
    # Back to IPv4: A tells only itself; B follows A's new source (roaming).
    W "$NS_A" set "$IF_A" peer "$(pb)" endpoint "$U4_B:$PORT_B"
    nsl_ping "$NS_A" "$T4_B" 2 5
    check "B roamed back to A's IPv4 source" [ "$(nsl_field "$NS_B" "$IF_B" endpoints "$(pa)")" = "$U4_A:$PORT_A" ]
}

case_allowedips() {
    ip -n "$NS_B" addr add 10.101.0.22/24 dev "$IF_B"
    ip -n "$NS_B" -6 addr add fd00:101::22/64 dev "$IF_B" nodad
    nsl_ping "$NS_B" "$T4_A" 1 3   # a session, so the test packets are data
    local tun0 atx0 arx0 btx0
    tun0=$(nsl_tun_rx "$NS_A" "$IF_A"); arx0=$(nsl_rx "$NS_A" "$IF_A" "$(pb)"); btx0=$(nsl_tx "$NS_B" "$IF_B" "$(pa)")
    check_not "IPv4 from a source not in B's allowed-ips is dropped by A" nsl_ping "$NS_B" "$T4_A" 2 2 -I 10.101.0.22
    check_not "IPv6 from a source not in B's allowed-ips is dropped by A" nsl_ping "$NS_B" "$T6_A" 2 2 -I fd00:101::22
    check "  ...B did encrypt and send them" ge "$(nsl_tx "$NS_B" "$IF_B" "$(pa)")" $((btx0 + 4 * 96))
    check "  ...A did receive them" ge "$(nsl_rx "$NS_A" "$IF_A" "$(pb)")" $((arx0 + 4 * 96))
    check "  ...and wrote none of them to its TUN" [ "$(nsl_tun_rx "$NS_A" "$IF_A")" = "$tun0" ]
    check "the allowed source still passes" nsl_ping "$NS_B" "$T4_A" 2 4 -I $T4_B
    # Allowed now: the same packets pass.
    W "$NS_A" set "$IF_A" peer "$(pb)" allowed-ips "$T4_B/32,$T6_B/128,10.101.0.22/32,fd00:101::22/128"
    check "after allowing 10.101.0.22/32 on A, it passes" nsl_ping "$NS_B" "$T4_A" 2 4 -I 10.101.0.22
    check "after allowing fd00:101::22/128 on A, it passes" nsl_ping "$NS_B" "$T6_A" 2 4 -I fd00:101::22
    # Send side: A has no peer for 10.101.0.99, so nothing leaves A.
    atx0=$(nsl_tx "$NS_A" "$IF_A" "$(pb)")
    nsl_ping "$NS_A" 10.101.0.99 1 2
    check "A sends nothing for a destination outside every allowed-ips" [ "$(nsl_tx "$NS_A" "$IF_A" "$(pb)")" = "$atx0" ]
    W "$NS_A" set "$IF_A" peer "$(pb)" replace-allowed-ips allowed-ips "$T4_B/32,$T6_B/128" 2>/dev/null ||
        W "$NS_A" set "$IF_A" peer "$(pb)" allowed-ips "$T4_B/32,$T6_B/128"
    check "replacing allowed-ips: A lists only B's /32 and /128" \
        [ "$(nsl_field "$NS_A" "$IF_A" allowed-ips "$(pb)")" = "$T4_B/32 $T6_B/128" ]
    check_not "...and drops 10.101.0.22 again" nsl_ping "$NS_B" "$T4_A" 1 2 -I 10.101.0.22
    ip -n "$NS_B" addr del 10.101.0.22/24 dev "$IF_B"
    ip -n "$NS_B" -6 addr del fd00:101::22/64 dev "$IF_B"
}

case_keepalive() {
    W "$NS_B" set "$IF_B" peer "$(pa)" persistent-keepalive 1
    check "wg show: persistent keepalive 1 on B" [ "$(nsl_field "$NS_B" "$IF_B" persistent-keepalive "$(pa)")" = 1 ]
    check "wg show: keepalive off on A" [ "$(nsl_field "$NS_A" "$IF_A" persistent-keepalive "$(pb)")" = off ]
    sleep 1.2
    local rx0 tun0 rx1
    rx0=$(nsl_rx "$NS_A" "$IF_A" "$(pb)"); tun0=$(nsl_tun_rx "$NS_A" "$IF_A")
    sleep 3.5
    rx1=$(nsl_rx "$NS_A" "$IF_A" "$(pb)")
    check "A received >= 3 keepalives (32 bytes each) in 3.5 s idle (got $((rx1 - rx0)) bytes)" ge "$rx1" $((rx0 + 96))
    check "keepalives are not written to A's TUN" [ "$(nsl_tun_rx "$NS_A" "$IF_A")" = "$tun0" ]
    W "$NS_B" set "$IF_B" peer "$(pa)" persistent-keepalive 0
    check "wg show: keepalive off on B again" [ "$(nsl_field "$NS_B" "$IF_B" persistent-keepalive "$(pa)")" = off ]
    sleep 1.2
    rx0=$(nsl_rx "$NS_A" "$IF_A" "$(pb)")
    sleep 2.5
    rx1=$(nsl_rx "$NS_A" "$IF_A" "$(pb)")
    check "after keepalive off, at most one (passive) keepalive in 2.5 s (got $((rx1 - rx0)) bytes)" [ $((rx1 - rx0)) -le 32 ]
}

case_psk() {
    (umask 077; wg genpsk >"$NSL_TMP/psk1"; wg genpsk >"$NSL_TMP/psk2")
    repeer a preshared-key "$NSL_TMP/psk1"; repeer b preshared-key "$NSL_TMP/psk1"
    check "matching preshared keys: ping A->B" nsl_ping "$NS_A" "$T4_B" 2 6
    check "matching preshared keys: ping B->A" nsl_ping "$NS_B" "$T6_A" 2 4
    check "matching preshared keys: handshake on A" hs_recent "$NS_A" "$IF_A" "$(pb)"
    check "wg show preshared-keys on A shows the key" [ "$(nsl_field "$NS_A" "$IF_A" preshared-keys "$(pb)")" = "$(cat "$NSL_TMP/psk1")" ]
    repeer a preshared-key "$NSL_TMP/psk1"; repeer b preshared-key "$NSL_TMP/psk2"
    check_not "mismatched preshared keys: no traffic A->B" nsl_ping "$NS_A" "$T4_B" 1 3
    check_not "mismatched preshared keys: no traffic B->A" nsl_ping "$NS_B" "$T4_A" 1 2
    check "mismatched preshared keys: no handshake on A" hs_zero "$NS_A" "$IF_A" "$(pb)"
    check "mismatched preshared keys: no handshake on B" hs_zero "$NS_B" "$IF_B" "$(pa)"
    # psk on one side only
    repeer a; repeer b preshared-key "$NSL_TMP/psk2"
    check_not "preshared key on one side only: no traffic" nsl_ping "$NS_B" "$T4_A" 1 3
    repeer a; repeer b
    check "no preshared keys again: traffic" nsl_ping "$NS_A" "$T4_B" 2 6
    check "wg show preshared-keys on B: (none)" [ "$(nsl_field "$NS_B" "$IF_B" preshared-keys "$(pa)")" = "(none)" ]
}

case_privkey() {
    nsl_ping "$NS_A" "$T4_B" 1 3
    local hsa hsb
    hsa=$(nsl_hs "$NS_A" "$IF_A" "$(pb)"); hsb=$(nsl_hs "$NS_B" "$IF_B" "$(pa)")
    sleep 1.1   # handshake times are in seconds
    nsl_keys a2
    # B learns A's new public key first, then A switches: A's existing
    # session must die with the old key and the next packet re-handshakes.
    W "$NS_B" set "$IF_B" peer "$(pa)" remove peer "$(nsl_pub a2)" endpoint "$U4_A:$PORT_A" allowed-ips "$T4_A/32,$T6_A/128"
    W "$NS_A" set "$IF_A" private-key "$NSL_TMP/a2.key"
    KA=a2
    check "wg show: A's public key changed" [ "$(W "$NS_A" show "$IF_A" public-key)" = "$(pa)" ]
    check "after A's private-key change, A->B passes at once (re-handshake)" nsl_ping "$NS_A" "$T4_B" 2 3
    check "B->A passes too" nsl_ping "$NS_B" "$T6_A" 2 3
    check "A's handshake time moved on" ge "$(nsl_hs "$NS_A" "$IF_A" "$(pb)")" $((hsa + 1))
    check "B has a handshake with A's new key" ge "$(nsl_hs "$NS_B" "$IF_B" "$(pa)")" $((hsb + 1))
}

case_roaming() {
    local p2=$((PORT_B + 100)) p3=$((PORT_B + 200))
    # 1. B changes its listen port while running.
    W "$NS_B" set "$IF_B" listen-port $p2
    check "B listens on the new port" [ "$(W "$NS_B" show "$IF_B" listen-port)" = $p2 ]
    check "B->A after B's port change" nsl_ping "$NS_B" "$T4_A" 2 4
    check "A follows B to port $p2" [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$(pb)")" = "$U4_B:$p2" ]
    check "A->B reaches B at its new port" nsl_ping "$NS_A" "$T4_B" 2 4
    # 2. B restarts (new process, fresh state) on a new port and, on the
    # way, gets a new source address (a route with another src; a restart
    # because implementations keep a sticky source per peer).
    ip -n "$NS_B" addr add 10.201.0.3/24 dev u0
    ip -n "$NS_B" route replace 10.201.0.0/24 dev u0 src 10.201.0.3
    nsl_stop "$IF_B"
    nsl_start "$NS_B" "$IF_B" "$IMPL_B" && nsl_addr "$NS_B" "$IF_B" $T4_B $T6_B
    W "$NS_B" set "$IF_B" private-key "$NSL_TMP/$KB.key" listen-port $p3 \
        peer "$(pa)" endpoint "$U4_A:$PORT_A" allowed-ips "$T4_A/32,$T6_A/128"
    check "B->A after B restarted on port $p3" nsl_ping "$NS_B" "$T4_A" 2 6
    check "A follows B to 10.201.0.3:$p3" [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$(pb)")" = "10.201.0.3:$p3" ]
    check "A->B after B's restart" nsl_ping "$NS_A" "$T6_B" 2 4
    # 3. back to the usual address and port
    ip -n "$NS_B" route replace 10.201.0.0/24 dev u0 src $U4_B
    W "$NS_B" set "$IF_B" listen-port "$PORT_B"
    nsl_ping "$NS_B" "$T4_A" 1 3
    check "A follows B back to $U4_B:$PORT_B" [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$(pb)")" = "$U4_B:$PORT_B" ]
    ip -n "$NS_B" addr del 10.201.0.3/24 dev u0
}

# A hub's view: A has no endpoint for B (as for a container behind NAT);
# A cannot send first, B's handshake teaches A where B is.
case_noendpoint() {
    W "$NS_A" set "$IF_A" peer "$(pb)" remove
    W "$NS_A" set "$IF_A" peer "$(pb)" allowed-ips "$T4_B/32,$T6_B/128"
    repeer b    # B starts afresh too (else it keeps using its old session for ~15 s)
    check "A has no endpoint for B" [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$(pb)")" = "(none)" ]
    local atx
    check_not "A cannot reach B first" nsl_ping "$NS_A" "$T4_B" 1 2
    check "B->A: B's handshake reaches A" nsl_ping "$NS_B" "$T4_A" 2 5
    check "A learned B's endpoint from it" [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$(pb)")" = "$U4_B:$PORT_B" ]
    check "A->B now" nsl_ping "$NS_A" "$T6_B" 2 4
}

# A port that is taken: wg(8) must report it as with wireguard-go ("Address
# already in use": the control socket answers errno=-98, and wg sets errno to
# minus that), and the device keeps its old port and keeps working
# (wireguard-go v0.0.20220316 itself fails that last part: it closes its
# sockets, so this case fails with IMPL_A=wggo).
case_busyport() {
    local busy=$((PORT_A + 7)) err
    ip netns exec "$NS_A" python3 -c 'import socket,sys,time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(("0.0.0.0", int(sys.argv[1])))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); s6.bind(("::", int(sys.argv[1])))
print("bound", flush=True); time.sleep(6)' $busy >"$NSL_TMP/busy.out" 2>&1 &
    local bpid=$!
    nsl_wait_for 5 grep -q bound "$NSL_TMP/busy.out"
    err=$(W "$NS_A" set "$IF_A" listen-port $busy 2>&1)
    check "wg set listen-port to a busy port fails" [ $? != 0 ]
    check "...with wg(8) saying 'Address already in use' (got: $err)" bash -c "grep -q 'Address already in use' <<<'$err'"
    check "...and A keeps port $PORT_A" [ "$(W "$NS_A" show "$IF_A" listen-port)" = "$PORT_A" ]
    check "...and keeps passing traffic" nsl_ping "$NS_B" "$T4_A" 2 4
    nsl_kill -TERM $bpid; wait $bpid 2>/dev/null
}

case_mtu() {
    ip -n "$NS_A" link set "$IF_A" mtu 1280; ip -n "$NS_B" link set "$IF_B" mtu 1280
    check "MTU 1280: full-size IPv4 (1252+28) A->B with DF" nsl_ping "$NS_A" "$T4_B" 2 4 -s 1252 -M do
    check "MTU 1280: full-size IPv6 (1232+48) B->A" nsl_ping "$NS_B" "$T6_A" 2 4 -s 1232 -M do
    check_not "MTU 1280: 1281-byte packet with DF is refused" nsl_ping "$NS_A" "$T4_B" 1 2 -s 1253 -M do
    # Jumbo: the engine's buffers must follow the interface MTU.
    ip -n "$NS_A" link set u0 mtu 9000; ip -n "$NS_B" link set u0 mtu 9000
    ip -n "$NS_A" link set "$IF_A" mtu 8920; ip -n "$NS_B" link set "$IF_B" mtu 8920
    check "MTU 8920: full-size IPv4 A->B" nsl_ping "$NS_A" "$T4_B" 2 4 -s 8892 -M do
    check "MTU 8920: full-size IPv6 B->A" nsl_ping "$NS_B" "$T6_A" 2 4 -s 8872 -M do
    ip -n "$NS_A" link set "$IF_A" mtu 1420; ip -n "$NS_B" link set "$IF_B" mtu 1420
    ip -n "$NS_A" link set u0 mtu 1500; ip -n "$NS_B" link set u0 mtu 1500
    check "MTU 1420 again: full-size IPv4 both ways" bash -c \
        "$(declare -f nsl_ping); nsl_ping $NS_A $T4_B 2 4 -s 1392 -M do && nsl_ping $NS_B $T4_A 2 4 -s 1392 -M do"
    local bps
    bps=$(nsl_iperf "$NS_B" "$T4_B" "$NS_A" 1); check "iperf3 after the MTU changes" ge "${bps:-0}" 1000000
}

# Moves A's interface into a third namespace; must be the last case.
case_move() {
    local NS_C
    nsl_ns c NS_C
    ip -n "$NS_A" link set "$IF_A" netns "$NS_C"
    check "A's interface is in the third namespace" bash -c "ip -n $NS_C link show $IF_A >/dev/null"
    nsl_addr "$NS_C" "$IF_A" $T4_A $T6_A
    check "A's device process survived the move" nsl_alive "$IF_A"
    check "moved interface: ping IPv4 C->B" nsl_ping "$NS_C" "$T4_B" 2 4
    check "moved interface: ping IPv6 B->C" nsl_ping "$NS_B" "$T6_A" 2 4
    local bps
    bps=$(nsl_iperf "$NS_C" "$T4_A" "$NS_B" 1); check "moved interface: iperf3 B->C" ge "${bps:-0}" 1000000
    check "wg show still works for the moved interface" hs_recent "$NS_B" "$IF_B" "$(pa)"
    check "the device's UDP socket stayed in its namespace" bash -c "ip netns exec $NS_A ss -Hunl | grep -q ':$PORT_A '"
    if [ "$IMPL_A" = wgvsockd ]; then
        ip -n "$NS_C" link del "$IF_A"
        check "wgvsockd exits when its (moved) interface is deleted" nsl_wait_for 5 eval "! nsl_alive $IF_A"
        check "...and removes its control socket" [ ! -e "$NSL_SOCKDIR/$IF_A.sock" ]
    fi
}

ALL_CASES="basic iperf v6_underlay allowedips keepalive psk privkey roaming noendpoint busyport mtu move"

run_cases() {
    local c
    for c in ${CASES:-$ALL_CASES}; do
        log "--- case $c ($IMPL_A <-> $IMPL_B)"
        "case_$c"
        if ! nsl_alive "$IF_A" && [ "$c" != move ]; then flunk "$IMPL_A (A) died during case $c"; tail -20 "$NSL_TMP/$IF_A.log"; break; fi
        if ! nsl_alive "$IF_B"; then flunk "$IMPL_B (B) died during case $c"; tail -20 "$NSL_TMP/$IF_B.log"; break; fi
    done
}
