#!/bin/bash
# tests/plugin/test_plugin_memory.sh - what endpoints cost the plugin and
# whether it gives it back, driven over its socket as dockerd drives it:
# ten cycles of 50 endpoints created (CreateEndpoint + Join: a real wgcore
# device each, which handshakes with a real wgvsockd hub because of the
# network's keepalive) and removed again (Leave + DeleteEndpoint).
#
#   - RSS, threads and fds are printed at 0 and 50 endpoints each cycle;
#   - what an idle endpoint costs in a warm plugin (RSS with 50 endpoints in
#     cycle 2 minus RSS after cycle 1's removal, / 50) is printed and must
#     stay <= MEM_MAX_KIB_PER_ENDPOINT (256 KiB: today ~150, of which 2
#     threads' stacks are ~32; issue 12's target of 64 KiB needs the devices
#     to share the rest of their threads, see docs/ENGINE.md);
#   - memory comes back: RSS after the 10th removal is within 10 % of RSS
#     after the first, and no fd or thread is left behind;
#   - no leak: the plugin is stopped with SIGTERM at the end; in an ASan
#     build (make asan) LeakSanitizer runs at its exit and any report fails
#     the test.  Under ASan the RSS checks are skipped (its quarantine and
#     shadow memory are what it would measure), the fd/thread checks stay.
#
# The endpoints never move into a container: the devices stay in the
# plugin's namespace (the engine does not care where the TUN is).
# MEM_CYCLES / MEM_ENDPOINTS make it smaller for quick runs; MEM_SMAPS_DIR=DIR
# keeps /proc/PID/smaps at each measurement.
set -u
. "$(dirname "$0")/../lib/plugin_test.sh"
HUBD=$WGVSOCKD
CYCLES=${MEM_CYCLES:-10} N=${MEM_ENDPOINTS:-50} MAXKIB=${MEM_MAX_KIB_PER_ENDPOINT:-256}
[ "$CYCLES" -ge 2 ] || { echo "MEM_CYCLES must be >= 2"; exit 1; }

pt_require wg ip python3
pt_built "$PLUGIN" "$HUBD" "$KD"
die()  { bad "$*"; echo "$CHECKS checks, $FAILS failed"; exit 1; }    # with the summary

TMP=$(mktemp -d /tmp/wgvsock-mem-test.XXXXXX)
NSH=wgvm-h$$
HUB_IF=wgvmh$(printf '%x' $$)
SOCK=$TMP/plugin.sock
PLOG=$TMP/plugin.log
PLUGIN_PID= HUB_PID=
. "$ROOT/tests/lib/proc.sh"
PORT=$((20000 + $$ % 20000))
N3=$((100 + $$ % 150))
SUBNET=10.$N3.0.0/16 GW=10.$N3.0.1

cleanup() {
    local p
    for p in "$PLUGIN_PID" "$HUB_PID"; do
        [ -n "$p" ] && proc_kill -KILL "$p" && wait "$p" 2>/dev/null
    done
    ip netns del "$NSH" 2>/dev/null
    rm -f "/var/run/wireguard/$HUB_IF.sock"
    rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NSH" || die "ip netns add"
ip -n "$NSH" link set lo up
(umask 077; head -c 32 /dev/urandom | base64 >"$TMP/seed"; wg genkey >"$TMP/hub.key")
ip netns exec "$NSH" "$HUBD" -f -n udp "$HUB_IF" >"$TMP/hub.log" 2>&1 &
HUB_PID=$!
for _ in $(seq 100); do [ -S "/var/run/wireguard/$HUB_IF.sock" ] && break; sleep 0.1; done
{
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$TMP/hub.key")" "$PORT"
    "$KD" --seed-file "$TMP/seed" peers --subnet "$SUBNET" --skip-gateway --range 2-$((N + 1))
} >"$TMP/hub.conf" || die "keyderive peers"
ip netns exec "$NSH" wg setconf "$HUB_IF" "$TMP/hub.conf" || die "hub did not start or refused its config"

ip netns exec "$NSH" "$PLUGIN" --socket "$SOCK" --state-dir "$TMP/state" --control-dir "$TMP/wg" \
    --seed-file "$TMP/seed" >>"$PLOG" 2>&1 &
PLUGIN_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$PLOG"; die "plugin did not start"; }
ASAN=0
grep -q __asan_init "$PLUGIN" 2>/dev/null && ASAN=1
# ThreadSanitizer (make tsan) backs every touched page with shadow memory
# too, so RSS says nothing about the plugin's own cost there either.
TSAN=0
grep -q __tsan_init "$PLUGIN" 2>/dev/null && TSAN=1

# drive.py: one HTTP client for all calls (a curl per call costs more than
# the plugin does); prints one line per measurement:
#   CYCLE endpoints RSS_KIB THREADS FDS
cat >"$TMP/drive.py" <<'PY'
import http.client, json, os, socket, sys, time
sock, pid, cycles, n, port, hubkey, gw, subnet, net3 = sys.argv[1:10]
cycles, n = int(cycles), int(n)
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sock)
def call(method, body):
    c = Conn("plugin", timeout=60)
    c.request("POST", "/" + method, json.dumps(body) + "\n",
              {"Accept": "application/vnd.docker.plugins.v1.2+json"})
    r = c.getresponse(); data = r.read(); c.close()
    out = json.loads(data or b"{}")
    if r.status != 200 or out.get("Err"):
        sys.exit("%s: %s %s" % (method, r.status, data[:200]))
    return out
def status(key):
    for line in open("/proc/%s/status" % pid):
        if line.startswith(key + ":"): return int(line.split()[1])
def measure(cycle, k):
    time.sleep(0.5)     # let handshakes and keepalive replies settle
    if os.environ.get("MEM_SMAPS_DIR"):     # for diagnosis: where the RSS is
        with open("%s/smaps.%d.%d" % (os.environ["MEM_SMAPS_DIR"], cycle, k), "w") as f:
            f.write(open("/proc/%s/smaps" % pid).read())
    print(cycle, k, status("VmRSS"), status("Threads"), len(os.listdir("/proc/%s/fd" % pid)), flush=True)
net = "a" * 16 + "%048x" % os.getpid()
call("Plugin.Activate", {})
call("NetworkDriver.CreateNetwork", {"NetworkID": net, "Options": {"com.docker.network.generic": {
    "wgvsock.transport": "udp", "wgvsock.peer": "127.0.0.1:" + port, "wgvsock.peerkey": hubkey}},
    "IPv4Data": [{"AddressSpace": "LocalDefault", "Gateway": gw + "/16", "Pool": subnet}], "IPv6Data": []})
measure(0, 0)
for cycle in range(1, cycles + 1):
    eps = ["%02x%04x%058x" % (cycle, i, os.getpid()) for i in range(n)]
    for i, ep in enumerate(eps):
        addr = "10.%s.%d.%d" % (net3, (i + 2) // 256, (i + 2) % 256)
        call("NetworkDriver.CreateEndpoint", {"NetworkID": net, "EndpointID": ep,
             "Interface": {"Address": addr + "/16", "AddressIPv6": "", "MacAddress": ""}, "Options": {}})
        call("NetworkDriver.Join", {"NetworkID": net, "EndpointID": ep, "SandboxKey": "/x", "Options": {}})
    measure(cycle, n)
    for ep in eps:
        call("NetworkDriver.Leave", {"NetworkID": net, "EndpointID": ep})
        call("NetworkDriver.DeleteEndpoint", {"NetworkID": net, "EndpointID": ep})
    measure(cycle, 0)
call("NetworkDriver.DeleteNetwork", {"NetworkID": net})
PY
log "$CYCLES cycles of $N endpoints"
python3 "$TMP/drive.py" "$SOCK" "$PLUGIN_PID" "$CYCLES" "$N" "$PORT" "$(wg pubkey <"$TMP/hub.key")" \
    "$GW" "$SUBNET" "$N3" >"$TMP/m" 2>"$TMP/drive.err" || die "driving the plugin: $(tail -3 "$TMP/drive.err")"
awk '{ printf "  cycle %2d, %3d endpoints: RSS %6d KiB, %3d threads, %3d fds\n", $1, $2, $3, $4, $5 }' "$TMP/m"
hs=$(ip netns exec "$NSH" wg show "$HUB_IF" latest-handshakes | awk '$2 > 0' | wc -l)
check "the hub saw handshakes from the endpoints ($hs)" [ "$hs" -gt 0 ]

read -r _ _ rss0 th0 fd0 < <(awk '$1 == 0' "$TMP/m")
read -r _ _ rss50 th50 fd50 < <(awk '$1 == 2 && $2 > 0' "$TMP/m")
read -r _ _ rss1 th1 fd1 < <(awk '$1 == 1 && $2 == 0' "$TMP/m")
read -r _ _ rssl thl fdl < <(awk -v c="$CYCLES" '$1 == c && $2 == 0' "$TMP/m")
per=$(( (rss50 - rss1) / N ))
log "per idle endpoint (warm): $per KiB RSS, $(( (th50 - th0) / N )) threads, $(( (fd50 - fd0) / N )) fds"
if [ "$ASAN" = 0 ] && [ "$TSAN" = 0 ]; then
    check "idle endpoint costs <= $MAXKIB KiB RSS (has $per KiB)" [ "$per" -le "$MAXKIB" ]
else
    log "sanitizer build (ASan $ASAN, TSan $TSAN): per-endpoint RSS bound not checked (shadow memory)"
fi
# Growth over the cycles stays meaningful under TSan (no quarantine).
if [ "$ASAN" = 0 ]; then
    check "RSS after cycle $CYCLES ($rssl KiB) within 10 % of after cycle 1 ($rss1 KiB)" \
        [ $((rssl * 10)) -le $((rss1 * 11)) ]
else
    log "ASan build: RSS growth not checked (the allocator's quarantine holds freed memory)"
fi
check "no thread left after removal (cycle 1: $th1, cycle $CYCLES: $thl, start: $th0)" [ "$thl" = "$th0" ]
# Up to 16 inotify instances stay open for reuse (wgcore/control.c: closing
# one costs a 15-30 ms kernel grace period), so compare with cycle 1.
check "no fd left after removal (cycle 1: $fd1, cycle $CYCLES: $fdl, start: $fd0)" \
    [ "$fdl" = "$fd1" -a "$fdl" -le $((fd0 + 16)) ]

# Leak check: SIGTERM, the plugin's orderly exit, then LeakSanitizer (ASan builds).
proc_kill -TERM "$PLUGIN_PID"
wait "$PLUGIN_PID"; rc=$?
PLUGIN_PID=
check "plugin exits 0 on SIGTERM (exit $rc)" [ "$rc" = 0 ]
if grep -q "LeakSanitizer" "$PLOG"; then
    bad "LeakSanitizer: $(grep -m1 -A6 'ERROR: LeakSanitizer' "$PLOG" | tr '\n' ' ')"
else
    ok "no leak report$([ "$ASAN" = 1 ] && echo " (LeakSanitizer ran)" || echo " (not an ASan build: make asan checks leaks)")"
fi
echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
