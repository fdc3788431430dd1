#!/bin/bash
# bench/docker_run.sh - `docker run --rm busybox true` on a wgvsock network
# against Docker's own bridge driver, in the same private dockerd (the e2e
# harness: tests/lib/docker.sh, its own network namespace), 10 interleaved
# runs each (BENCH_DOCKER_RUNS), one warm-up run of each first.  Prints the
# median and spread of each, the ratio wgvsock / bridge, and the plugin's own
# time per call (from the driver calls it logs at debug level).
#
#   bench/docker_run.sh               BENCH_DOCKER_RUNS=10
#   DK_ENGINE=26 bench/docker_run.sh  with the Docker 26 engine of the e2e tests
set -u
cd "$(dirname "$0")/.." || exit 2
export WGVSOCK_ROOT=$PWD
. tests/lib/e2e.sh
. tests/lib/docker.sh
. tests/lib/hub.sh
e2e_need_root
e2e_need_tool curl python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin
RUNS=${BENCH_DOCKER_RUNS:-10}

e2e_netns
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.78.0.0/24
PL_LOG_LEVEL=error plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create wgnet -o wgvsock.transport=udp >/dev/null || die "wgvsock network: $(tail -5 "$PL_LOG")"
dk network create --driver bridge --subnet 10.79.0.0/24 brnet >/dev/null || die "bridge network"

# one timed run: milliseconds on stdout
run_ms() {
    local t0 t1
    t0=${EPOCHREALTIME/./}
    dk run --rm --network "$1" busybox true >/dev/null 2>&1 || { echo fail; return; }
    t1=${EPOCHREALTIME/./}
    echo $(( (t1 - t0) / 1000 ))
}
run_ms wgnet >/dev/null; run_ms brnet >/dev/null      # warm-up (image, caches)
: >"$E2E_TMP/wg" ; : >"$E2E_TMP/br"
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then run_ms wgnet >>"$E2E_TMP/wg"; run_ms brnet >>"$E2E_TMP/br"
    else run_ms brnet >>"$E2E_TMP/br"; run_ms wgnet >>"$E2E_TMP/wg"; fi
done
python3 - "$E2E_TMP/wg" "$E2E_TMP/br" "$RUNS" <<'PY'
import statistics, sys
wg, br = ([int(x) for x in open(p).read().split() if x.isdigit()] for p in sys.argv[1:3])
runs = int(sys.argv[3])
if len(wg) < runs or len(br) < runs:
    sys.exit("some runs failed: wgvsock %d/%d, bridge %d/%d ok" % (len(wg), runs, len(br), runs))
mw, mb = statistics.median(wg), statistics.median(br)
print("docker run --rm busybox true, %d interleaved runs each (ms)" % runs)
print("%-10s median %6.0f   min %5d   max %5d" % ("wgvsock", mw, min(wg), max(wg)))
print("%-10s median %6.0f   min %5d   max %5d" % ("bridge", mb, min(br), max(br)))
print("ratio wgvsock / bridge: %.2fx   (issue 12's target: <= 1.2x)" % (mw / mb))
PY
e2e_finish
