#!/bin/bash
# A hub with many peers: one wgvsockd (-n udp) in its own namespace is given
# the peers of a /22 the way an operator does it (`keyderive peers --subnet
# 10.100.0.0/22 --skip-gateway | wg addconf`: 1021 peers), then 1000
# distinct initiators - the containers .2 to .1001 with the keys the plugin
# would derive, each on its own UDP socket and loopback address - handshake
# with it from one process (tests/proto/hub_initiators.c, wg_proto on real
# sockets).  Every one must complete, and the hub must report a handshake
# for exactly those 1000 peers (and none for the other 21).  The time is
# printed; the bound is only a sanity limit (HUB_MAX_SECONDS, default 120 on
# a loaded machine) - the rate is measured by `make bench`.
. "$(dirname "$0")/../lib/netns.sh"
nsl_require wgvsockd
HELPER=$NSL_ROOT/${BUILD:-build}/tests/proto/hub_initiators
case ${BUILD:-build} in /*) HELPER=$BUILD/tests/proto/hub_initiators ;; esac
KD=$(dirname "$NSL_WGVSOCKD")/keyderive
[ -x "$HELPER" ] && [ -x "$KD" ] || { echo "missing $HELPER or $KD: run make"; exit 1; }
nsl_init hub
nsl_ns h NS
IF=${NSL_IFP}h
COUNT=${HUB_INITIATORS:-1000}
MAXSEC=${HUB_MAX_SECONDS:-120}
SEED=$(head -c 32 /dev/urandom | base64)
ADD=$(head -c 16 /dev/urandom | base64)

nsl_start "$NS" "$IF" wgvsockd || { flunk "starting wgvsockd"; nsl_finish; }
nsl_keys hub
W "$NS" set "$IF" private-key "$NSL_TMP/hub.key" listen-port 51820
"$KD" peers --subnet 10.100.0.0/22 --skip-gateway --add "$ADD" "$SEED" >"$NSL_TMP/peers.conf"
check "wg addconf of keyderive peers for a /22" W "$NS" addconf "$IF" "$NSL_TMP/peers.conf"
check "the hub lists 1021 peers" [ "$(W "$NS" show "$IF" peers | wc -l)" = 1021 ]

log "$COUNT initiators against the hub"
out=$(ip netns exec "$NS" "$HELPER" "$(nsl_pub hub)" 127.0.0.1 51820 "$SEED" "$ADD" 10.100.0.0 "$COUNT" "$MAXSEC" 2>&1)
rc=$?
echo "  $out"
check "$COUNT initiators completed their handshakes within $MAXSEC s" [ "$rc" = 0 ]
hs=$(W "$NS" show "$IF" latest-handshakes | awk '$2 > 0' | wc -l)
check "the hub has a handshake with $COUNT peers (has $hs)" [ "$hs" = "$COUNT" ]
# The ones that did not take part: the last 21 addresses of the /22.
lastkey=$("$KD" pubkey --add "$ADD" "$SEED" 10.100.3.254)
check "no handshake for a peer that never connected" \
    [ "$(W "$NS" show "$IF" latest-handshakes | awk -v k="$lastkey" '$1 == k { print $2 }')" = 0 ]
check "wgvsockd still running" nsl_alive "$IF"
nsl_finish
