#!/bin/bash
# bench/handshake_flood.sh - what the handshake queue buys under a flood of
# valid-mac1 initiations (issue 11): wgvsockd A is flooded from another
# address in B's namespace (tests/netns/hsflood.py, ~1 M initiations in
# 10 s, each worth a Diffie-Hellman) while its established peer B pings it
# every 0.2 s.  B's ping loss is measured with the queue (default) and
# without it (WGVSOCK_HANDSHAKE_QUEUE=0: handshakes on the receiving thread,
# the behaviour before the queue), rounds interleaved, medians and the
# ratio printed.
#
#   bench/handshake_flood.sh               3 rounds of each, 10 s floods
#   BENCH_ROUNDS=5 HSFLOOD_SECONDS=10 HSFLOOD_RATE=100000 bench/handshake_flood.sh
#
# Loss depends on the machine and on what else runs on it: compare the two
# figures of one run, not runs of different days.
set -u
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${HSFLOOD_SECONDS:-10}
RATE=${HSFLOOD_RATE:-100000}
FLOOD_SRC=10.201.0.66
nsl_require wgvsockd python3
nsl_init bh

# flood_round MODE ROUND: sets LOSS (percent) and ANSWERED/SENT_PINGS, FLOOD_SENT.
flood_round() {
    local mode=$1 out flood
    NSL_PAIR=$2${mode:0:1}
    LOSS= ANSWERED= FLOOD_SENT=
    if [ "$mode" = inline ]; then
        WGVSOCK_HANDSHAKE_QUEUE=0 nsl_pair wgvsockd wgvsockd || return 1
    else
        nsl_pair wgvsockd wgvsockd || return 1
    fi
    ip -n "$NS_B" addr add "$FLOOD_SRC/24" dev u0
    nsl_ping "$NS_B" "$T4_A" 1 10 || { echo "$mode: no tunnel before the flood"; nsl_unpair; return 1; }
    rm -f "$NSL_TMP/flooding"
    ip netns exec "$NS_B" python3 tests/netns/hsflood.py "$FLOOD_SRC" "$U4_A" "$PORT_A" \
        "$(nsl_pub a)" "$SECS" "$RATE" "$NSL_TMP/flooding" >"$NSL_TMP/flood.out" 2>&1 &
    flood=$!
    nsl_wait_for 10 test -e "$NSL_TMP/flooding"
    sleep 0.5
    SENT_PINGS=$(( (SECS - 2) * 5 ))
    out=$(ip netns exec "$NS_B" ping -n -q -c "$SENT_PINGS" -i 0.2 -W 1 "$T4_A" 2>&1)
    wait "$flood"
    LOSS=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$out")
    ANSWERED=$(sed -n 's/.*transmitted, \([0-9]*\) received.*/\1/p' <<<"$out")
    FLOOD_SENT=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$NSL_TMP/flood.out")
    nsl_unpair
    [ -n "$LOSS" ] && [ -n "$ANSWERED" ]
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A loss answered
echo "handshake flood: ${SECS} s of valid-mac1 initiations at up to ${RATE}/s against wgvsockd A;"
echo "real peer B pings A every 0.2 s; $ROUNDS interleaved rounds; loadavg: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
printf '%-6s %-28s %8s %10s %14s\n' round wgvsockd loss answered initiations
for r in $(seq "$ROUNDS"); do
    for mode in queue inline; do
        if ! flood_round "$mode" "$r"; then
            echo "round $r $mode: failed"; exit 1
        fi
        loss[$mode]+="$LOSS " answered[$mode]+="$ANSWERED "
        case $mode in queue) l="handshake queue" ;; inline) l="inline (QUEUE=0, pre-queue)" ;; esac
        printf '%-6s %-28s %7.1f%% %5s/%-4s %14s\n' "$r" "$l" "$LOSS" "$ANSWERED" "$SENT_PINGS" "${FLOOD_SENT:-?}"
    done
done
mq=$(median ${loss[queue]}) mi=$(median ${loss[inline]})
aq=$(median ${answered[queue]}) ai=$(median ${answered[inline]})
echo
echo "median loss: handshake queue ${mq}%, inline ${mi}%"
echo "median answered: handshake queue $aq/$SENT_PINGS, inline $ai/$SENT_PINGS"
python3 -c "
q, i = $aq, $ai
print('ratio answered (queue / inline): %s' % ('%.2fx' % (q / i) if i else 'inf (inline answered none)'))
lq, li = $mq, $mi
print('ratio loss (inline / queue): %s' % ('%.1fx' % (li / lq) if lq else ('inf (queue lost none)' if li else '1x (neither lost any)')))
"
