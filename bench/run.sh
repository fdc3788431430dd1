#!/bin/bash
# bench/run.sh - `make bench`: runs every bench/*.sh (except itself) and every
# built benchmark binary ($BUILD/bin/bench-*), one after the other (they
# measure the machine, so never in parallel), keeps each one's output in
# $BUILD/bench-logs/NAME.log and prints them all plus a summary.
#
#   BENCH="udp" bench/run.sh     only the benchmarks whose name contains "udp"
#   (each benchmark's own knobs, e.g. BENCH_SECONDS, pass through)
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export WGVSOCK_ROOT=$PWD
case $BUILD in /*) bin=$BUILD/bin logdir=$BUILD/bench-logs ;; *) bin=$PWD/$BUILD/bin logdir=$PWD/$BUILD/bench-logs ;; esac
export WGVSOCK_BIN=$bin BENCH_LOGDIR=$logdir
mkdir -p "$logdir"
filter=${BENCH:-}
failed=() ran=0

run_one() {   # NAME CMD...
    local name=$1 rc t0=$SECONDS; shift
    case $name in *"$filter"*) ;; *) return ;; esac
    echo "=== $name"
    "$@" 2>&1 | tee "$logdir/$name.log"
    rc=${PIPESTATUS[0]}
    ran=$((ran + 1))
    echo "--- $name: exit $rc, $((SECONDS - t0)) s, log $logdir/$name.log"
    echo
    [ "$rc" = 0 ] || failed+=("$name (exit $rc)")
}

for s in bench/*.sh; do
    [ "$s" = bench/run.sh ] && continue
    [ -f "$s" ] || continue
    run_one "$(basename "$s" .sh)" bash "$s"
done
for b in "$bin"/bench-*; do
    [ -x "$b" ] || continue
    run_one "$(basename "$b")" "$b"
done

echo "benchmarks run: $ran; logs in $logdir"
[ ${#failed[@]} = 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
