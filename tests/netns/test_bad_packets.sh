#!/bin/bash
# Bad input on the UDP port: a running wgvsockd (side A, peered with side B
# and with a live session) gets, from a third address in B's namespace, exact
# replays of real captured messages, every truncation of them, bit flips,
# random datagrams, valid-looking headers at and around every message size,
# transport messages carrying a real receiver index, 0- and 65507-byte
# datagrams, on IPv4 and IPv6 (tests/netns/badpkt.py).  Nothing may come
# back, the daemon must not crash, its endpoint for B must not move to the
# attacker, and the tunnel must still pass traffic both ways afterwards.
. "$(dirname "$0")/../lib/netns.sh"
A=${IMPL_A:-wgvsockd} B=${IMPL_B:-wggo}
nsl_require "$A" "$B" python3
nsl_init bp
nsl_pair "$A" "$B" || { flunk "setting up the pair"; nsl_finish; }
PY=$NSL_ROOT/tests/netns/badpkt.py
PA=$(nsl_pub a) PB=$(nsl_pub b)

check "tunnel up before" nsl_ping "$NS_B" "$T4_A" 2 5

# Capture real messages in both directions: a fresh handshake initiated by B
# (so B's initiation, A's response), data both ways, a keepalive.
ip netns exec "$NS_B" python3 "$PY" capture u0 "$PORT_A,$PORT_B" 4 "$NSL_TMP/captured" &
cap=$!
nsl_wait_for 5 test -e "$NSL_TMP/captured.ready"
W "$NS_B" set "$IF_B" peer "$PA" remove
W "$NS_B" set "$IF_B" peer "$PA" endpoint "$U4_A:$PORT_A" allowed-ips "$T4_A/32,$T6_A/128" persistent-keepalive 1
nsl_ping "$NS_B" "$T4_A" 2 3
nsl_ping "$NS_A" "$T6_B" 2 3
wait $cap
W "$NS_B" set "$IF_B" peer "$PA" persistent-keepalive 0
check "captured an initiation and transport messages" \
    bash -c "grep -q '^01' $NSL_TMP/captured && grep -q '^04' $NSL_TMP/captured"

# The attacker: another address in B's namespace, so the source differs.
ip -n "$NS_B" addr add 10.201.0.66/24 dev u0
ip -n "$NS_B" -6 addr add fd00:201::66/64 dev u0 nodad
ip -n "$NS_B" route replace 10.201.0.0/24 dev u0 src 10.201.0.66
ip -n "$NS_B" -6 route replace fd00:201::/64 dev u0 src fd00:201::66
sleep 0.2
tun0=$(nsl_tun_rx "$NS_A" "$IF_A")
check "no reply to any bad or replayed datagram (IPv4 and IPv6)" \
    ip netns exec "$NS_B" python3 "$PY" send "$NSL_TMP/captured" "$U4_A" "$U6_A" "$PORT_A"
check "$A is still running" nsl_alive "$IF_A"
check "nothing from the attacker reached A's TUN" [ "$(nsl_tun_rx "$NS_A" "$IF_A")" = "$tun0" ]
check "A's endpoint for B did not move to the attacker" \
    [ "$(nsl_field "$NS_A" "$IF_A" endpoints "$PB")" = "$U4_B:$PORT_B" ]
ip -n "$NS_B" route replace 10.201.0.0/24 dev u0 src "$U4_B"
ip -n "$NS_B" -6 route replace fd00:201::/64 dev u0 src "$U6_B"

check "wg show still answers" bash -c "ip netns exec $NS_A wg show $IF_A >/dev/null"
check "tunnel after: ping IPv4 A->B" nsl_ping "$NS_A" "$T4_B" 3 5
check "tunnel after: ping IPv6 B->A" nsl_ping "$NS_B" "$T6_A" 3 5
# A fresh handshake still works (the bad initiations did not wedge A's state).
W "$NS_B" set "$IF_B" peer "$PA" remove
W "$NS_B" set "$IF_B" peer "$PA" endpoint "$U4_A:$PORT_A" allowed-ips "$T4_A/32,$T6_A/128"
check "a new handshake from B after the attack" nsl_ping "$NS_B" "$T4_A" 2 6
check "$A is still running at the end" nsl_alive "$IF_A"
nsl_finish
