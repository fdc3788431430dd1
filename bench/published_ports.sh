#!/bin/bash
# bench/published_ports.sh - a published port (docker run -p) on a wgvsock
# network (the plugin's splice() relay) against Docker's bridge driver with
# its own -p (iptables DNAT, no userland proxy), in the same private dockerd
# with a docker0 (tests/lib/docker.sh, DK_BRIDGE=1, its own network namespace).
#
#   TCP throughput: iperf3 -c HOST:PORT for BENCH_SECONDS (default 5), both
#                   directions (-R: the container sends)
#   connection rate: sequential HTTP/1.0 GETs of a small page from busybox
#                   httpd (connect, request, read to EOF, close) for
#                   BENCH_SECONDS
#
# The servers are in the containers' network namespaces (iperf3 started
# there with nsenter: busybox has none), the clients on the host side,
# connecting to the docker0 address so that both paths are the ones a
# client of the host takes.  BENCH_ROUNDS (default 3) interleaved rounds;
# the median of each and the ratio wgvsock / bridge are printed.
set -u
cd "$(dirname "$0")/.." || exit 2
export WGVSOCK_ROOT=$PWD
. tests/lib/e2e.sh
. tests/lib/docker.sh
. tests/lib/hub.sh
e2e_need_root
e2e_need_tool iperf3 python3 nsenter
e2e_need_bin keyderive wgvsockd wgvsock-plugin
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-5}
HOST=172.29.0.1

DK_BRIDGE=1 DK_BIP=$HOST/24
e2e_netns
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.78.0.0/24
# The containers' netns files are in dockerd's private mount namespace.
PL_LOG_LEVEL=error plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE" WGVSOCK_SANDBOX_ROOT="/proc/$DK_PID/root"
wgnet_create wgnet -o wgvsock.transport=udp >/dev/null || die "wgvsock network: $(tail -5 "$PL_LOG")"

page='mkdir -p /www && head -c 512 /dev/zero | tr "\0" x >/www/index.html && httpd -p 80 -h /www && exec sleep 3600'
dk run -d --name wg --network wgnet -p 18201:5201 -p 18080:80 busybox sh -c "$page" >/dev/null || die "wgvsock container"
dk run -d --name br --network bridge -p 28201:5201 -p 28080:80 busybox sh -c "$page" >/dev/null || die "bridge container"
for c in wg br; do
    nsenter -t "$(dk inspect -f '{{.State.Pid}}' $c)" -n iperf3 -s -D -I "$E2E_TMP/iperf-$c.pid" >/dev/null \
        || die "iperf3 server in $c"
    e2e_defer "kill_wait \$(cat $E2E_TMP/iperf-$c.pid) 2"
done
sleep 0.5

# tput PORT [-R]: Gbit/s, one TCP stream
tput() {
    in_ns iperf3 -c "$HOST" -p "$1" -t "$SECS" -J ${2:-} 2>/dev/null |
        python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
# rate PORT: HTTP requests (one connection each) per second
rate() {
    in_ns python3 - "$HOST" "$1" "$SECS" <<'PY'
import socket, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
n, end = 0, time.monotonic() + secs
t0 = time.monotonic()
while time.monotonic() < end:
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    got = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    if b"200 OK" not in got:
        sys.exit("bad answer")
    n += 1
print("%.0f" % (n / (time.monotonic() - t0)))
PY
}

: >"$E2E_TMP/results"
for r in $(seq "$ROUNDS"); do
    # Interleaved, the order swapped every round.
    if [ $((r % 2)) = 1 ]; then order="wg br"; else order="br wg"; fi
    for c in $order; do
        case $c in wg) tp=18201 hp=18080 ;; br) tp=28201 hp=28080 ;; esac
        echo "$c up $(tput $tp)" >>"$E2E_TMP/results"
        echo "$c down $(tput $tp -R)" >>"$E2E_TMP/results"
        echo "$c rate $(rate $hp)" >>"$E2E_TMP/results"
    done
    log "round $r done"
done
python3 - "$E2E_TMP/results" "$ROUNDS" "$SECS" <<'PY'
import statistics, sys
res = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 3:
        try:
            res.setdefault((p[0], p[1]), []).append(float(p[2]))
        except ValueError:
            pass
rounds = int(sys.argv[2])
print("published port: wgvsock (plugin relay, splice) vs bridge (iptables DNAT), %d interleaved rounds of %s s each" % (rounds, sys.argv[3]))
bad = False
for key, what, unit in (("up", "TCP host -> container", "Gbit/s"), ("down", "TCP container -> host", "Gbit/s"),
                        ("rate", "HTTP/1.0 connections", "per s")):
    wg, br = res.get(("wg", key), []), res.get(("br", key), [])
    if len(wg) < rounds or len(br) < rounds:
        print("%-24s some runs failed (wgvsock %d/%d, bridge %d/%d)" % (what, len(wg), rounds, len(br), rounds))
        bad = True
        continue
    mw, mb = statistics.median(wg), statistics.median(br)
    print("%-24s wgvsock %8.2f  bridge %8.2f %-7s ratio %.2fx   (all: %s | %s)" % (
        what, mw, mb, unit, mw / mb, " ".join("%g" % x for x in wg), " ".join("%g" % x for x in br)))
sys.exit(1 if bad else 0)
PY
rc=$?
[ $rc = 0 ] || fail "some measurements failed"
e2e_finish
