#!/bin/bash
# wgvsockd <-> Debian wireguard-go (a peer nobody here wrote), in two network
# namespaces over a veth: ping IPv4/IPv6 both ways, iperf3 both ways, wg show
# handshake/transfer/endpoints, IPv6 underlay, allowed-ips source filtering,
# persistent keepalive, preshared keys (match/mismatch), private-key change
# with immediate re-handshake, roaming (port change, restart, new source
# address), MTU changes (1280, jumbo), and the interface moved to a third
# namespace.  Side A (the device under test) is wgvsockd, side B wireguard-go.
#
#   IMPL_A=wggo bash tests/netns/test_interop_wggo.sh   # validate the test itself
#   CASES="basic psk" ...                               # a subset
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/interop_cases.sh"
A=${IMPL_A:-wgvsockd} B=${IMPL_B:-wggo}
nsl_require "$A" "$B" iperf3 python3 ss
nsl_init io
nsl_pair "$A" "$B" || { flunk "setting up the pair"; nsl_finish; }
run_cases
nsl_finish
