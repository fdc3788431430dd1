#!/bin/bash
# bench/plugin_scale.sh - what endpoints cost the plugin: RSS, threads and
# fds of wgvsock-plugin at 0, 50 and 200 endpoints (real wgcore devices,
# handshaking with a wgvsockd hub), via tests/plugin/test_plugin_memory.sh
# (two create/remove cycles each; the 50/200 figures are from the second,
# warm, cycle).  Also prints the cost per endpoint.
#
#   bench/plugin_scale.sh              BENCH_PLUGIN_COUNTS="50 200"
set -u
cd "$(dirname "$0")/.." || exit 2
COUNTS=${BENCH_PLUGIN_COUNTS:-50 200}
out=$(mktemp /tmp/wgvsock-bench-plugin.XXXXXX)
trap 'rm -f "$out"' EXIT
printf '%-12s %10s %8s %6s\n' endpoints "RSS KiB" threads fds
first=1
for n in $COUNTS; do
    MEM_CYCLES=2 MEM_ENDPOINTS=$n MEM_MAX_KIB_PER_ENDPOINT=1000000 bash tests/plugin/test_plugin_memory.sh >"$out" 2>&1
    rc=$?
    [ $rc = 77 ] && { cat "$out"; exit 77; }
    [ $rc = 0 ] || { echo "test_plugin_memory.sh with $n endpoints failed:"; tail -15 "$out"; exit 1; }
    if [ $first = 1 ]; then
        awk '/cycle  0,/ { gsub(",", ""); printf "%-12s %10s %8s %6s\n", 0, $6, $8, $10 }' "$out"
        first=0
    fi
    awk -v n="$n" '/cycle  2, *[0-9]+ endpoints/ && $3 + 0 == n { gsub(",", ""); printf "%-12s %10s %8s %6s\n", n, $6, $8, $10 }' "$out"
    awk -v n="$n" '/cycle  2, *0 endpoints/ { gsub(",", ""); printf "%-12s %10s %8s %6s\n", "after " n, $6, $8, $10 }' "$out"
    grep -o 'per idle endpoint (warm): .*' "$out" | sed "s/^/  $n endpoints: /"
done
