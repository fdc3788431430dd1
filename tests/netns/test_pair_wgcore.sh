#!/bin/bash
# wgvsockd <-> wgvsockd: the interop scenarios of test_interop_wggo.sh with
# our engine on both sides (see tests/netns/interop_cases.sh), then a clean
# SIGTERM exit with the control socket removed.
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/interop_cases.sh"
A=${IMPL_A:-wgvsockd} B=${IMPL_B:-wgvsockd}
nsl_require "$A" "$B" iperf3 python3 ss
nsl_init pr
nsl_pair "$A" "$B" || { flunk "setting up the pair"; nsl_finish; }
run_cases
if [ "$B" = wgvsockd ]; then
    check "wgvsockd exits on SIGTERM" nsl_stop "$IF_B"
    check "...and removes its control socket" [ ! -e "$NSL_SOCKDIR/$IF_B.sock" ]
    check "...and its interface" bash -c "! ip -n $NS_B link show $IF_B 2>/dev/null"
fi
nsl_finish
