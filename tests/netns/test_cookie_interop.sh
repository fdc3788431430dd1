#!/bin/bash
# Cookie replies across implementations: side A (wgvsockd) is flooded with
# handshake initiations (bad mac1, from another address) at 1000/s, which
# puts it under load; side B (Debian wireguard-go) then starts a handshake.
# A must answer B's initiation with a cookie reply (XChaCha20-Poly1305 under
# a key derived from A's public key and B's source address), B must accept
# it and retry with mac2, and A must let that retry through: B's packets
# reach A within the retries, while the flood goes on.
#
#   IMPL_A=wggo bash tests/netns/test_cookie_interop.sh   # (wireguard-go's
#   queue-depth trigger may not fire: then only the handshake is checked)
. "$(dirname "$0")/../lib/netns.sh"
A=${IMPL_A:-wgvsockd} B=${IMPL_B:-wggo}
nsl_require "$A" "$B" python3
nsl_init ck
nsl_pair "$A" "$B" || { flunk "setting up the pair"; nsl_finish; }
PY=$NSL_ROOT/tests/netns/badpkt.py
ip -n "$NS_B" addr add 10.201.0.66/24 dev u0

ip netns exec "$NS_B" python3 "$PY" capture u0 "$PORT_B" 14 "$NSL_TMP/toB" &
cap=$!
nsl_wait_for 5 test -e "$NSL_TMP/toB.ready"
# The flood comes from another address than B's; B pings once it runs.
ip netns exec "$NS_B" python3 "$PY" flood 10.201.0.66 "$U4_A" "$PORT_A" 14 1000 "$NSL_TMP/flooding" &
flood=$!
nsl_wait_for 10 test -e "$NSL_TMP/flooding"
t0=$SECONDS
check "B reaches A through the handshake while A is flooded" nsl_ping "$NS_B" "$T4_A" 1 12
echo "  (first reply after $((SECONDS - t0)) s)"
check "B has a handshake with A" bash -c "[ \"\$(ip netns exec $NS_B wg show $IF_B latest-handshakes | awk '{print \$2}')\" != 0 ]"
wait $cap $flood
ncookie=$(grep -c '^03' "$NSL_TMP/toB")
echo "  cookie replies A sent to B: $ncookie"
if [ "$A" = wgvsockd ]; then
    check "A (under load) answered B's initiation with a cookie reply" [ "$ncookie" -ge 1 ]
    check "the cookie replies are 64 bytes" awk '/^03/ && length($0) != 128 { bad = 1 } END { exit bad }' "$NSL_TMP/toB"
fi
check "$A still running" nsl_alive "$IF_A"
check "A->B after the flood" nsl_ping "$NS_A" "$T4_B" 2 5
nsl_finish
