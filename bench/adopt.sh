#!/bin/bash
# bench/adopt.sh - how long a restarted plugin takes to bring every tunnel
# back (issue 9): N endpoints (CreateEndpoint + Join over the plugin's
# socket, as dockerd does; real wgcore devices, a real wgvsockd hub), their
# interfaces moved into a "container" namespace as libnetwork does; then,
# per round, SIGKILL the plugin and start it again, and measure from the
# start (exec) to
#   answers   the socket answers Plugin.Activate
#   adopted   the plugin logs "adopt: N joined endpoints: N adopted"
#   traffic   the N-th "received handshake response" after the start: every
#             tunnel has made a round trip to the hub again
# for N = 1, 50, 200 (BENCH_ADOPT_COUNTS), BENCH_ROUNDS rounds each (3),
# median printed.  The goal of issue 9: 200 tunnels within 2 s.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
case ${BUILD:-build} in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/${BUILD:-build}/bin ;; esac
[ -n "${WGVSOCK_BIN:-}" ] && [ -x "$WGVSOCK_BIN/wgvsock-plugin" ] && BIN=$WGVSOCK_BIN
PLUGIN=$BIN/wgvsock-plugin HUBD=$BIN/wgvsockd KD=$BIN/keyderive
COUNTS=${BENCH_ADOPT_COUNTS:-1 50 200} ROUNDS=${BENCH_ROUNDS:-3}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in wg ip python3 curl; do command -v $t >/dev/null || { echo "SKIP: no $t"; exit 77; }; done
for b in "$PLUGIN" "$HUBD" "$KD"; do [ -x "$b" ] || { echo "$b not built"; exit 1; }; done
. "$ROOT/tests/lib/proc.sh"

TMP=$(mktemp -d /tmp/wgvsock-bench-adopt.XXXXXX)
NSH=wgvb-h$$ NSC=wgvb-c$$
HUB_IF=wgvbh$(printf '%x' $$)
PLUGIN_PID= HUB_PID=
cleanup() {
    local p
    for p in "$PLUGIN_PID" "$HUB_PID"; do
        [ -n "$p" ] && proc_kill -KILL "$p" && wait "$p" 2>/dev/null
    done
    ip netns del "$NSC" 2>/dev/null
    ip netns del "$NSH" 2>/dev/null
    rm -f "/var/run/wireguard/$HUB_IF.sock"
    rm -rf "$TMP"
}
trap cleanup EXIT
PORT=$((20000 + $$ % 20000))
N3=$((100 + $$ % 150))
SUBNET=10.$N3.0.0/16 GW=10.$N3.0.1
ip netns add "$NSH" && ip netns add "$NSC" || exit 1
ip -n "$NSH" link set lo up
(umask 077; head -c 32 /dev/urandom | base64 >"$TMP/seed"; wg genkey >"$TMP/hub.key")
ip netns exec "$NSH" "$HUBD" -f -n udp "$HUB_IF" >"$TMP/hub.log" 2>&1 &
HUB_PID=$!
for _ in $(seq 100); do [ -S "/var/run/wireguard/$HUB_IF.sock" ] && break; sleep 0.1; done
MAXN=0; for n in $COUNTS; do [ "$n" -gt $MAXN ] && MAXN=$n; done
{
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$TMP/hub.key")" "$PORT"
    "$KD" --seed-file "$TMP/seed" peers --subnet "$SUBNET" --skip-gateway --range 2-$((MAXN + 1))
} >"$TMP/hub.conf" || exit 1
ip netns exec "$NSH" wg setconf "$HUB_IF" "$TMP/hub.conf" || exit 1

start_plugin() {    # T0: the start time (ns since the epoch)
    T0=$(date +%s%N)
    LOG_LEVEL=debug ip netns exec "$NSH" "$PLUGIN" --socket "$TMP/plugin.sock" --state-dir "$TMP/state" \
        --control-dir "$TMP/wg" --seed-file "$TMP/seed" >>"$TMP/plugin.log" 2>&1 &
    PLUGIN_PID=$!
}
answers() {
    curl -s --max-time 2 --unix-socket "$TMP/plugin.sock" -d '{}' http://p/Plugin.Activate | grep -q Network
}

# measure N T0 LOGOFFSET: the three figures (ms) for the start at T0.
measure() {
    python3 - "$1" "$2" "$TMP/plugin.log" "$3" <<'PY'
import sys, time, datetime
n, t0, path, off = int(sys.argv[1]), int(sys.argv[2]) / 1e9, sys.argv[3], int(sys.argv[4])
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()
deadline = time.time() + 30
adopted = traffic = None
while time.time() < deadline and traffic is None:
    with open(path, errors="replace") as f:
        f.seek(off)
        hs = 0
        for line in f:
            if "adopt: %d joined endpoints: %d adopted" % (n, n) in line:
                adopted = ts(line)
            if "received handshake response" in line:
                hs += 1
                if hs == n:
                    traffic = ts(line)
    time.sleep(0.05)
fmt = lambda t: "%d" % round((t - t0) * 1000) if t else "never"
print(fmt(adopted), fmt(traffic))
PY
}

printf '%-10s %-6s %10s %10s %10s\n' endpoints round "answers" "adopted" "traffic"
summary=()
for n in $COUNTS; do
    rm -rf "$TMP/state" "$TMP/wg"
    start_plugin
    for _ in $(seq 100); do answers && break; sleep 0.05; done
    # N endpoints, joined, their TUNs moved into the "container" namespace.
    python3 - "$TMP/plugin.sock" "$n" "$PORT" "$(wg pubkey <"$TMP/hub.key")" "$GW" "$SUBNET" "$N3" \
        >"$TMP/links" <<'PY' || { echo "setup of $n endpoints failed"; tail -5 "$TMP/plugin.log"; exit 1; }
import http.client, json, os, socket, sys
sock, n, port, hubkey, gw, subnet, net3 = sys.argv[1:8]
n = int(n)
class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sock)
def call(method, body):
    c = Conn("plugin", timeout=60)
    c.request("POST", "/" + method, json.dumps(body) + "\n")
    r = c.getresponse(); data = r.read(); c.close()
    out = json.loads(data or b"{}")
    if r.status != 200 or out.get("Err"):
        sys.exit("%s: %s %s" % (method, r.status, data[:200]))
    return out
net = "b" * 16 + "%048x" % n
call("NetworkDriver.CreateNetwork", {"NetworkID": net, "Options": {"com.docker.network.generic": {
    "wgvsock.transport": "udp", "wgvsock.peer": "127.0.0.1:" + port, "wgvsock.peerkey": hubkey,
    "wgvsock.engine": "wgcore"}},
    "IPv4Data": [{"AddressSpace": "LocalDefault", "Gateway": gw + "/16", "Pool": subnet}], "IPv6Data": []})
for i in range(n):
    ep = "%04x%08x%052x" % (i, os.getpid(), n)   # 12 first: the interface name
    addr = "10.%s.%d.%d" % (net3, (i + 2) // 256, (i + 2) % 256)
    call("NetworkDriver.CreateEndpoint", {"NetworkID": net, "EndpointID": ep,
         "Interface": {"Address": addr + "/16", "AddressIPv6": "", "MacAddress": ""}, "Options": {}})
    j = call("NetworkDriver.Join", {"NetworkID": net, "EndpointID": ep, "SandboxKey": "", "Options": {}})
    print(j["InterfaceName"]["SrcName"], i)
PY
    while read -r ifn i; do echo "link set $ifn netns $NSC name w$i"; done <"$TMP/links" >"$TMP/batch"
    ip -n "$NSH" -batch "$TMP/batch" || exit 1
    while read -r ifn i; do echo "link set w$i up"; done <"$TMP/links" >"$TMP/batch"
    ip -n "$NSC" -batch "$TMP/batch" || exit 1
    vals_a=() vals_d=() vals_t=()
    for r in $(seq "$ROUNDS"); do
        proc_kill -KILL "$PLUGIN_PID"; wait "$PLUGIN_PID" 2>/dev/null
        sleep 0.5
        off=$(stat -c %s "$TMP/plugin.log")
        start_plugin
        t0=$T0
        for _ in $(seq 400); do answers && break; sleep 0.005; done
        a=$((($(date +%s%N) - t0) / 1000000))
        read -r d t < <(measure "$n" "$t0" "$off")
        printf '%-10s %-6s %10s %10s %10s\n' "$n" "$r" "$a ms" "$d ms" "$t ms"
        vals_a+=("$a") vals_d+=("$d") vals_t+=("$t")
        sleep 1
    done
    med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    summary+=("$(printf '%-10s %-6s %10s %10s %10s' "$n" median "$(med "${vals_a[@]}") ms" "$(med "${vals_d[@]}") ms" "$(med "${vals_t[@]}") ms")")
    # tear down: the endpoints go with the plugin's Leave/DeleteEndpoint ...
    proc_kill -KILL "$PLUGIN_PID"; wait "$PLUGIN_PID" 2>/dev/null; PLUGIN_PID=
    # ... or here, simpler: the persistent TUNs go with their namespace.
    ip netns del "$NSC"; ip netns add "$NSC"
done
echo
[ -n "${BENCH_DEBUG:-}" ] && tail -n 12 "$TMP/plugin.log" >&2
echo "medians of $ROUNDS rounds (ms from the plugin's exec):"
printf '%-10s %-6s %10s %10s %10s\n' endpoints "" "answers" "adopted" "traffic"
printf '%s\n' "${summary[@]}"
