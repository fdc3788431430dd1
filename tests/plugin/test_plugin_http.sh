#!/bin/bash
# tests/plugin/test_plugin_http.sh - wgvsock-plugin over its unix socket,
# driven exactly as dockerd drives it (POST, Accept header, no Content-Type,
# body ending in a newline), against a real wgvsockd hub, with the real
# wgcore devices:
#
#   Activate, GetCapabilities; bad CreateNetwork options get clear errors;
#   CreateNetwork (udp to the hub) -> CreateEndpoint (key = keyderive's) ->
#   Join: the TUN exists with the network's MTU and a wg(8) socket -> moved
#   into a "container" namespace as wg0 -> ping the hub through the tunnel,
#   the hub sees a handshake for the derived key -> Leave -> moved back ->
#   DeleteEndpoint: interface and socket gone.  SIGKILL + restart keeps the
#   network (stale socket replaced), a second instance is refused, unknown
#   endpoints tear down cleanly, malformed bodies never crash it, and neither
#   the seed nor a private key ever reaches the log.
#
# Everything lives in two namespaces this test creates ("host" with the hub
# and the plugin, "ctr" as the container), names carry $$.
set -u
. "$(dirname "$0")/../lib/plugin_test.sh"
HUBD=$WGVSOCKD
pt_require curl wg ip ping python3
pt_built "$PLUGIN" "$HUBD" "$KD"

TMP=$(mktemp -d /tmp/wgvsock-plugin-test.XXXXXX)
NSH=wgvp-h$$ NSC=wgvp-c$$
HUB_IF=wgvph$(printf '%x' $$)
SOCK=$TMP/run/docker/plugins/wgvsock.sock
STATE=$TMP/state
PLOG=$TMP/plugin.log
PLUGIN_PID= HUB_PID= HUB2_PID= HUB3_PID=
# Every PID here is our child; it is signalled only through tests/lib/proc.sh,
# which checks that it still is (a reaped child's PID may be someone else's).
. "$ROOT/tests/lib/proc.sh"
N3=$((100 + $$ % 150))
SUBNET=10.$N3.77.0/24 GW=10.$N3.77.1 ADDR=10.$N3.77.2 ADDR2=10.$N3.77.3
PORT=$((20000 + $$ % 20000))

cleanup() {
    local p
    for p in "$PLUGIN_PID" "$HUB_PID" "$HUB2_PID" "$HUB3_PID"; do
        [ -n "$p" ] && proc_kill -TERM "$p" && wait "$p" 2>/dev/null
    done
    ip netns del "$NSC" 2>/dev/null
    ip netns del "$NSH" 2>/dev/null
    rm -f "/var/run/wireguard/$HUB_IF.sock"
    for s in /var/run/wireguard/wgv*.sock; do
        # our endpoints' sockets, if the plugin died holding them
        [ -e "$s" ] && grep -q "$(basename "$s" .sock)" "$TMP/ifnames" 2>/dev/null && rm -f "$s"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
: >"$TMP/ifnames"

# call METHOD BODY: prints the reply body; the HTTP status goes to $TMP/status,
# the Content-Type to $TMP/ctype.
call() {
    local out body=$TMP/body.$BASHPID
    out=$(printf '%s\n' "$2" | curl -sS --max-time 20 --unix-socket "$SOCK" -X POST \
        -H 'Accept: application/vnd.docker.plugins.v1.2+json' -H 'Content-Type:' \
        -H 'User-Agent: Go-http-client/1.1' --data-binary @- \
        -o "$body" -w '%{http_code} %{content_type}' "http://plugin/$1") || { echo "curl failed"; return 1; }
    echo "${out%% *}" >"$TMP/status"
    echo "${out#* }" >"$TMP/ctype"
    cat "$body"
    rm -f "$body"
}
# jget A.B.KEY < reply: the value of KEY (the replies are compact and their
# keys unique, so the last component is enough); strings unquoted.  Plain
# sed: a python3 per call costs seconds on a loaded machine.
jget() {
    local k=${1##*.}
    sed -n -e "s/.*\"$k\":\"\(\([^\"\\\\]\|\\\\.\)*\)\".*/\1/p" \
           -e "t" -e "s/.*\"$k\":\(true\|false\|null\|-\?[0-9][0-9]*\|\[[^]]*\]\).*/\1/p" | head -1
}
expect_ok() {  # NAME METHOD BODY
    local r; r=$(call "$2" "$3")
    if [ "$(cat "$TMP/status")" = 200 ] && [ -z "$(jget Err <<<"$r")" ]; then ok "$1"; else bad "$1: $r"; fi
}
expect_err() {  # NAME METHOD BODY NEEDLE
    local r e; r=$(call "$2" "$3"); e=$(jget Err <<<"$r")
    if [ "$(cat "$TMP/status")" = 200 ] && [[ "$e" == *"$4"* ]]; then ok "$1 ($e)"; else bad "$1: wanted Err with '$4', got: $r"; fi
}

start_plugin() {
    WGVSOCK_SEED_FILE=$TMP/seed LOG_LEVEL=debug ip netns exec "$NSH" \
        "$PLUGIN" --socket "$SOCK" --state-dir "$STATE" "$@" >>"$PLOG" 2>&1 &
    PLUGIN_PID=$!
    wait_for 10 test -S "$SOCK" && wait_for 5 curl -s --unix-socket "$SOCK" -X POST -o /dev/null http://plugin/Plugin.Activate
}

# ---- the command line ----
check "--help exits 0 and names every flag" bash -c "'$PLUGIN' --help | grep -q -- --socket && '$PLUGIN' --help | grep -q -- --state-dir && '$PLUGIN' --help | grep -q WGVSOCK_SEED_FILE"
# every flag, environment variable, network option (with its default and
# alias) and exit status the plugin knows (docs/OPTIONS.md has the same)
"$PLUGIN" --help >"$TMP/help" 2>&1
missing=
for w in --socket --state-dir --control-dir --seed-file --version \
         WGVSOCK_SEED_FILE LOG_LEVEL '(or info)' WGVSOCK_STREAM_CRC WGVSOCK_WORKERS WGVSOCK_AEAD \
         WGVSOCK_TUN_OFFLOAD WGVSOCK_SCOPE wgvsock.seed-fingerprint wgvsock.transport wgvsock.peer wgvsock.peerkey wgvsock.seed \
         wgvsock.seed-file wgvsock.additional wgvsock.keepalive wgvsock.mtu wgvsock.allowed-ips \
         wgvsock.stream-crc wgvsock.engine io.bestov.wg.peer io.bestov.wg.peerkey io.bestov.wg.seed \
         io.bestov.wg.additional com.docker.network.driver.mtu '[vsock]' '[25]' '[1420]' \
         '576..65472' '[YmVzdG92Lmlv]' '[0.0.0.0/0,::/0' 'Exit status' '1 if it cannot start' \
         '2 for bad arguments' 'interfaces in place'; do
    grep -qF -- "$w" "$TMP/help" || missing="$missing '$w'"
done
check "--help names every flag, variable, option, default, alias, exit status${missing:+ (missing:$missing)}" test -z "$missing"
# the managed plugin's LOG_LEVEL (config.json) offers only levels the engine
# knows (wgcore/log.c: debug, verbose = info, error, silent) and names them all
check "config.json LOG_LEVEL: only real levels, all of them" python3 - "$ROOT/config.json" <<'PY'
import json, re, sys
env = {e["name"]: e for e in json.load(open(sys.argv[1]))["env"]}
ll = env["LOG_LEVEL"]
known = {"debug", "verbose", "info", "error", "silent"}
words = set(re.findall(r"[a-z]+", ll["description"].lower()))
bad = words & {"warn", "warning", "trace", "fatal", "notice", "critical"}
sys.exit(1 if bad or not {"debug", "verbose", "error", "silent"} <= words or ll["value"] not in known else 0)
PY
check "--version" bash -c "'$PLUGIN' --version | grep -q '^wgvsock-plugin [0-9]'"
"$PLUGIN" --no-such-flag >/dev/null 2>&1; rc=$?
check "unknown flag exits 2" test "$rc" = 2
"$PLUGIN" extra-arg >/dev/null 2>&1; rc=$?
check "stray argument exits 2" test "$rc" = 2
WGVSOCK_STREAM_CRC=no "$PLUGIN" --socket "$TMP/x.sock" --state-dir "$TMP/x" >/dev/null 2>"$TMP/err"; rc=$?
check "WGVSOCK_STREAM_CRC=no exits 2 with a message" bash -c "[ $rc = 2 ] && grep -q WGVSOCK_STREAM_CRC '$TMP/err' && [ ! -e '$TMP/x' ]"
WGVSOCK_SCOPE=swarm "$PLUGIN" --socket "$TMP/x.sock" --state-dir "$TMP/x" >/dev/null 2>"$TMP/err"; rc=$?
check "WGVSOCK_SCOPE=swarm exits 2 with a message" bash -c "[ $rc = 2 ] && grep -q 'WGVSOCK_SCOPE must be local or global' '$TMP/err' && [ ! -e '$TMP/x' ]"
"$PLUGIN" --socket "$TMP/x.sock" --state-dir /proc/no/such >/dev/null 2>"$TMP/err"; rc=$?
check "unusable state directory: exit 1 with a message" bash -c "[ $rc = 1 ] && grep -q 'state directory' '$TMP/err'"

# ---- set-up: namespaces, secrets, hub ----
ip netns add "$NSH" || die "ip netns add"
ip netns add "$NSC" || die "ip netns add"
ip -n "$NSH" link set lo up
ip -n "$NSC" link set lo up
(umask 077; head -c 32 /dev/urandom | base64 >"$TMP/seed"; wg genkey >"$TMP/hub.key")
SEED=$(cat "$TMP/seed")
HUB_PUB=$(wg pubkey <"$TMP/hub.key")

LOG_LEVEL=verbose ip netns exec "$NSH" "$HUBD" -f -n udp "$HUB_IF" >"$TMP/hub.log" 2>&1 &
HUB_PID=$!
wait_for 10 test -S "/var/run/wireguard/$HUB_IF.sock" || { cat "$TMP/hub.log"; die "hub did not start"; }
{
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$TMP/hub.key")" "$PORT"
    "$KD" --seed-file "$TMP/seed" peers --subnet "$SUBNET" --skip-gateway
} >"$TMP/hub.conf" || die "keyderive peers"
ip netns exec "$NSH" wg setconf "$HUB_IF" "$TMP/hub.conf" || die "wg setconf hub"
ip -n "$NSH" address add "$GW/24" dev "$HUB_IF" && ip -n "$NSH" link set "$HUB_IF" up || die "hub address"
log "hub $HUB_IF on 127.0.0.1:$PORT, tunnel $GW"

# ---- the plugin ----
start_plugin || { cat "$PLOG"; die "plugin did not start"; }
check "socket created with its directory" test -S "$SOCK"

r=$(call Plugin.Activate "")
check "Activate implements NetworkDriver" test "$(jget Implements <<<"$r")" = '["NetworkDriver"]'
check "content type is the plugin API's" grep -qx 'application/vnd.docker.plugins.v1.2+json' "$TMP/ctype"
r=$(call NetworkDriver.GetCapabilities "null")
check "GetCapabilities local/local" test "$(jget Scope <<<"$r")/$(jget ConnectivityScope <<<"$r")" = local/local

NET=$(printf 'a%.0s' {1..16})$(printf '%048x' $$)
# The PID within the first 12 characters: they name the interface and its
# machine-wide control socket, which concurrent runs must not share.
EP1=e1$(printf '%010x%052x' $$ 0)
EP2=e2$(printf '%010x%052x' $$ 0)
EP3=e3$(printf '%010x%052x' $$ 0)
IF1=wgv${EP1:0:12} IF2=wgv${EP2:0:12} IF3=wgv${EP3:0:12}
ADDR3=10.$N3.77.4
echo "$IF1 $IF2 $IF3" >"$TMP/ifnames"

netbody() {  # extra generic options as JSON members
    printf '{"NetworkID":"%s","Options":{"com.docker.network.enable_ipv6":false,"com.docker.network.generic":{"wgvsock.transport":"udp","wgvsock.peer":"127.0.0.1:%s","wgvsock.peerkey":"%s"%s},"com.docker.network.internal":false},"IPv4Data":[{"AddressSpace":"LocalDefault","Gateway":"%s/24","Pool":"%s"}],"IPv6Data":[]}' \
        "$NET" "$PORT" "$HUB_PUB" "${1:-}" "$GW" "$SUBNET"
}
epbody() { printf '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"%s/24","AddressIPv6":"","MacAddress":"%s"},"Options":{}}' "$NET" "$1" "$2" "${3:-}"; }
ids() { printf '{"NetworkID":"%s","EndpointID":"%s"}' "$NET" "$1"; }

# ---- bad requests ----
expect_err "seed file missing" NetworkDriver.CreateNetwork "$(netbody ',"wgvsock.keepalive":"25","wgvsock.mtu":"1380","wgvsock.allowed-ips":"0.0.0.0/0","wgvsock.additional":"YmVzdG92Lmlv","wgvsock.seed-file":"/nonexistent"')" "cannot open seed file /nonexistent"
# A seed-file that is some other file: the error must not suggest writing
# a seed into it (issue 11: it named the very path, e.g. /etc/shadow).
printf 'root:x:0:0::/root:/bin/sh\n' >"$TMP/notaseed"
r=$(call NetworkDriver.CreateNetwork "$(netbody ',"wgvsock.seed-file":"'"$TMP/notaseed"'"')"); e=$(jget Err <<<"$r")
check "not-a-seed file: refused, and the error never suggests writing to it ($e)" \
    bash -c '[[ $1 == *"does not hold a base64 seed"* && $1 != *">"* && $1 != *urandom* ]]' _ "$e"
check "not-a-seed file left unchanged" grep -qx 'root:x:0:0::/root:/bin/sh' "$TMP/notaseed"
expect_err "bad peer key" NetworkDriver.CreateNetwork "$(netbody | sed 's/"wgvsock.peerkey":"[^"]*"/"wgvsock.peerkey":"nope"/')" "not a WireGuard public key"
expect_err "bad transport" NetworkDriver.CreateNetwork "$(netbody | sed 's/"wgvsock.transport":"udp"/"wgvsock.transport":"carrier-pigeon"/')" "unknown transport"
expect_err "MTU above the engine's maximum (65472)" NetworkDriver.CreateNetwork "$(netbody ',"wgvsock.mtu":"65500"')" "between 576 and 65472"
expect_err "no IPv4 pool" NetworkDriver.CreateNetwork "$(netbody | sed 's/"IPv4Data":\[[^]]*\]/"IPv4Data":[]/')" "no IPv4 subnet"
check "a refused network leaves no state" test ! -e "$STATE/networks/$NET.json"
for body in '' '{' '[]' 'null' '{"NetworkID":' "$(printf '\xff\xfe')" '{"NetworkID":"../../x"}'; do
    r=$(call NetworkDriver.Join "$body")
    [ -n "$(jget Err <<<"$r")" ] || bad "malformed Join body '$body' answered without Err: $r"
done
ok "malformed bodies answered with Err"
r=$(call NetworkDriver.NoSuchCall "{}")
check "unknown call is 404 with Err" test "$(cat "$TMP/status")" = 404 -a -n "$(jget Err <<<"$r")"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://plugin/Plugin.Activate)
check "GET is refused (405)" test "$code" = 405
code=$(head -c 1100000 /dev/zero | tr '\0' ' ' | curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST -H 'Content-Type:' --data-binary @- http://plugin/NetworkDriver.Join)
check "1.1 MB body is refused (413)" test "$code" = 413
check "plugin survived bad requests" proc_alive "$PLUGIN_PID"

# ---- the engine: engine=auto is kernel WireGuard where the kernel has it
# (asked here with ip(8), independently of the plugin), wgcore otherwise
NETE=$(printf 'b%.0s' {1..16})$(printf '%048x' $$)
if ip -n "$NSH" link add "wgk$$" type wireguard 2>/dev/null; then
    ip -n "$NSH" link del "wgk$$"; HOST_ENGINE=kernel
else
    HOST_ENGINE=wgcore
fi
log "this host's kernel WireGuard: $([ $HOST_ENGINE = kernel ] && echo yes || echo no)"
engbody() { netbody "${1:-}" | sed "s/\"NetworkID\":\"$NET\"/\"NetworkID\":\"$NETE\"/"; }
expect_ok "CreateNetwork udp, wgvsock.engine unset" NetworkDriver.CreateNetwork "$(engbody)"
check "log: auto resolved to $HOST_ENGINE" grep -q "network ${NETE:0:12}: transport udp, engine $HOST_ENGINE (wgvsock.engine=auto)" "$PLOG"
check "the resolved engine is saved with the network" grep -q "\"Engine\": *\"$HOST_ENGINE\"" "$STATE/networks/$NETE.json"
expect_ok "DeleteNetwork" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NETE")"
if [ $HOST_ENGINE = wgcore ]; then
    expect_err "engine=kernel without kernel WireGuard" NetworkDriver.CreateNetwork "$(engbody ',"wgvsock.engine":"kernel"')" "wgvsock.engine=kernel: this host's kernel has no WireGuard"
    check "...leaves no state" test ! -e "$STATE/networks/$NETE.json"
else
    expect_ok "engine=kernel with kernel WireGuard" NetworkDriver.CreateNetwork "$(engbody ',"wgvsock.engine":"kernel"')"
    expect_ok "DeleteNetwork" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NETE")"
fi
expect_err "engine=kernel with a stream transport" NetworkDriver.CreateNetwork "$(engbody ',"wgvsock.engine":"kernel"' | sed 's/"wgvsock.transport":"udp"/"wgvsock.transport":"tcp"/')" "needs wgvsock.transport=udp"
expect_err "unknown engine" NetworkDriver.CreateNetwork "$(engbody ',"wgvsock.engine":"fast"')" "unknown engine 'fast'"

# ---- swarm (global scope): AllocateNetwork on the manager validates and
# returns the options with the seed's fingerprint (computed here
# independently: BLAKE2b-128 keyed with the domain, first 8 bytes)
FP=$(python3 -c 'import base64,hashlib,sys; print(hashlib.blake2b(base64.b64decode(sys.argv[1]), digest_size=16, key=b"wgvsock seed fingerprint v1").digest()[:8].hex())' "$SEED")
allocbody() { printf '{"NetworkID":"%s","Options":{"wgvsock.transport":"udp","wgvsock.peer":"127.0.0.1:%s","wgvsock.peerkey":"%s"%s},"IPv4Data":[{"AddressSpace":"GlobalDefault","Gateway":"%s/24","Pool":"%s"}],"IPv6Data":[]}' "$NETE" "$PORT" "$HUB_PUB" "${1:-}" "$GW" "$SUBNET"; }
r=$(call NetworkDriver.AllocateNetwork "$(allocbody)")
check "AllocateNetwork returns the options + the seed fingerprint $FP" \
    test "$(python3 -c 'import json,sys; o=json.load(sys.stdin)["Options"]; print(o["wgvsock.peer"], o["wgvsock.seed-fingerprint"], len(o))' <<<"$r" 2>&1)" = "127.0.0.1:$PORT $FP 4"
check "AllocateNetwork keeps nothing" test ! -e "$STATE/networks/$NETE.json"
check "the fingerprint is not the seed" bash -c "! grep -qF -- '$SEED' <<<'$r'"
expect_err "AllocateNetwork refuses a bad option (the manager's docker network create fails)" NetworkDriver.AllocateNetwork "$(allocbody ',"wgvsock.mtu":"9"')" "wgvsock.mtu"
expect_err "CreateNetwork on a node with another seed" NetworkDriver.CreateNetwork "$(engbody ',"wgvsock.seed-fingerprint":"0123456789abcdef"')" "the network was created with seed fingerprint 0123456789abcdef"
check "...leaves no state" test ! -e "$STATE/networks/$NETE.json"
expect_ok "CreateNetwork with the manager's fingerprint" NetworkDriver.CreateNetwork "$(engbody ',"wgvsock.seed-fingerprint":"'"$FP"'"')"
expect_ok "DeleteNetwork" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NETE")"
expect_ok "FreeNetwork" NetworkDriver.FreeNetwork "$(printf '{"NetworkID":"%s"}' "$NETE")"

# ---- the lifecycle (wgcore: its TUN, wg(8) socket and restart story) ----
expect_ok "CreateNetwork udp (seed from WGVSOCK_SEED_FILE)" NetworkDriver.CreateNetwork "$(netbody ',"wgvsock.mtu":"1380","wgvsock.engine":"wgcore"')"
check "network state file is 0600" test "$(stat -c %a "$STATE/networks/$NET.json" 2>/dev/null)" = 600
check "state file holds no seed" bash -c "! grep -qF -- '$SEED' '$STATE/networks/$NET.json'"
expect_err "MAC address refused" NetworkDriver.CreateEndpoint "$(epbody "$EP1" "$ADDR" 02:42:0a:00:00:02)" "no MAC"
expect_err "address outside the network's subnet refused" NetworkDriver.CreateEndpoint "$(epbody "$EP1" "10.$N3.78.2")" "outside the network's subnet"
check "a refused endpoint leaves no state" test ! -e "$STATE/endpoints/$EP1.json"
expect_ok "CreateEndpoint" NetworkDriver.CreateEndpoint "$(epbody "$EP1" "$ADDR")"
OTHER='{"NetworkID":"0ther0000000000000000000000000000000000000000000000000000000000","EndpointID":"'$EP1'"}'
expect_err "DeleteEndpoint with another NetworkID refused" NetworkDriver.DeleteEndpoint "$OTHER" "not on network"
expect_err "EndpointOperInfo with another NetworkID refused" NetworkDriver.EndpointOperInfo "$OTHER" "not on network"
check "endpoint kept after the refused DeleteEndpoint" test -e "$STATE/endpoints/$EP1.json"
PUB1=$("$KD" pubkey --seed-file "$TMP/seed" "$ADDR")
r=$(call NetworkDriver.EndpointOperInfo "$(ids "$EP1")")
check "EndpointOperInfo shows keyderive's public key" test "$(jget Value.PublicKey <<<"$r")" = "$PUB1"

r=$(call NetworkDriver.Join "$(printf '{"NetworkID":"%s","EndpointID":"%s","SandboxKey":"/var/run/docker/netns/0123456789ab","Options":{}}' "$NET" "$EP1")")
check "Join: SrcName $IF1" test "$(jget InterfaceName.SrcName <<<"$r")" = "$IF1"
check "Join: DstPrefix wg" test "$(jget InterfaceName.DstPrefix <<<"$r")" = wg
check "Join: Gateway $GW" test "$(jget Gateway <<<"$r")" = "$GW"
check "Join: DisableGatewayService" test "$(jget DisableGatewayService <<<"$r")" = true
check "Join: interface exists in the plugin's namespace" ip -n "$NSH" link show "$IF1"
check "Join: MTU 1380 set by the driver" test "$(ip -n "$NSH" -o link show "$IF1" 2>/dev/null | grep -o 'mtu [0-9]*')" = "mtu 1380"
check "Join: wg(8) control socket" test -S "/var/run/wireguard/$IF1.sock"
check "wg show lists the hub peer" bash -c "wg show '$IF1' peers | grep -qxF -- '$HUB_PUB'"
check "wg show: derived public key" test "$(wg show "$IF1" public-key 2>/dev/null)" = "$PUB1"
check "wg show: endpoint and keepalive" bash -c "wg show '$IF1' endpoints | grep -q '127.0.0.1:$PORT' && wg show '$IF1' persistent-keepalive | grep -q 25"

# what libnetwork does: move into the container, rename, address, route
ip -n "$NSH" link set "$IF1" netns "$NSC" && ip -n "$NSC" link set "$IF1" name wg0 &&
    ip -n "$NSC" address add "$ADDR/24" dev wg0 && ip -n "$NSC" link set wg0 up &&
    ip -n "$NSC" route add default via "$GW" dev wg0
check "interface moved into the container as wg0" ip -n "$NSC" link show wg0
if ip netns exec "$NSC" ping -c 3 -i 0.3 -W 3 "$GW" >"$TMP/ping" 2>&1; then
    ok "container pings the hub through the tunnel"
else
    bad "container cannot ping the hub: $(tail -2 "$TMP/ping" | tr '\n' ' ')"
fi
hs=$(ip netns exec "$NSH" wg show "$HUB_IF" latest-handshakes | awk -v k="$PUB1" '$1 == k { print $2 }')
check "hub has a handshake with the derived key" test -n "$hs" -a "${hs:-0}" != 0
if ip netns exec "$NSH" ping -c 2 -i 0.3 -W 3 "$ADDR" >/dev/null 2>&1; then ok "hub pings the container"; else bad "hub cannot ping the container"; fi

expect_ok "RevokeExternalConnectivity" NetworkDriver.RevokeExternalConnectivity "$(ids "$EP1")"
expect_ok "Leave" NetworkDriver.Leave "$(ids "$EP1")"
check "device survives Leave" ip -n "$NSC" link show wg0
ip -n "$NSC" link set wg0 down; ip -n "$NSC" link set wg0 netns "$NSH" && ip -n "$NSH" link set wg0 name "$IF1"
expect_ok "DeleteEndpoint" NetworkDriver.DeleteEndpoint "$(ids "$EP1")"
check "interface gone after DeleteEndpoint" bash -c "! ip -n '$NSH' link show '$IF1' 2>/dev/null"
check "control socket gone" test ! -e "/var/run/wireguard/$IF1.sock"
check "endpoint state gone" test ! -e "$STATE/endpoints/$EP1.json"

# DeleteEndpoint while the interface is still inside the container (netns
# torn down first): the device goes anyway
expect_ok "CreateEndpoint again" NetworkDriver.CreateEndpoint "$(epbody "$EP1" "$ADDR")"
expect_ok "Join again" NetworkDriver.Join "$(ids "$EP1")"
ip -n "$NSH" link set "$IF1" netns "$NSC"
expect_ok "DeleteEndpoint with the interface in the container" NetworkDriver.DeleteEndpoint "$(ids "$EP1")"
check "interface gone from the container too" bash -c "! ip -n '$NSC' link show '$IF1' 2>/dev/null"

# ---- restart: SIGKILL, stale socket, state kept ----
expect_ok "CreateEndpoint $EP2" NetworkDriver.CreateEndpoint "$(epbody "$EP2" "$ADDR2")"
expect_ok "CreateEndpoint $EP3" NetworkDriver.CreateEndpoint "$(epbody "$EP3" "$ADDR3")"
expect_ok "Join $EP3 (a container running across the crash)" NetworkDriver.Join "$(ids "$EP3")"
proc_kill -KILL "$PLUGIN_PID"; wait "$PLUGIN_PID" 2>/dev/null; PLUGIN_PID=
check "socket file left behind by SIGKILL" test -S "$SOCK"
t0=$(date +%s%N)
start_plugin || { tail "$PLOG"; die "plugin did not restart over a stale socket"; }
ms=$((($(date +%s%N) - t0) / 1000000))
check "restarted over the stale socket in ${ms} ms (< 2000)" test "$ms" -lt 2000
if WGVSOCK_SEED_FILE=$TMP/seed timeout 5 "$PLUGIN" --socket "$SOCK" --state-dir "$TMP/state2" >"$TMP/second.log" 2>&1; then
    bad "a second instance started on a live socket"
else
    check "a second instance is refused" grep -q "already listening" "$TMP/second.log"
fi
r=$(call NetworkDriver.Join "$(ids "$EP2")")
check "Join after restart (no CreateEndpoint replay)" test "$(jget InterfaceName.SrcName <<<"$r")" = "$IF2"
check "interface of $EP2 exists" ip -n "$NSH" link show "$IF2"
check "restarted device has keyderive's key" test "$(wg show "$IF2" public-key 2>/dev/null)" = "$("$KD" pubkey --seed-file "$TMP/seed" "$ADDR2")"
expect_ok "Leave of an endpoint this process never saw" NetworkDriver.Leave "$(ids e9unknown)"
expect_ok "DeleteEndpoint of an endpoint this process never saw" NetworkDriver.DeleteEndpoint "$(ids e9unknown)"
expect_ok "DeleteEndpoint $EP2" NetworkDriver.DeleteEndpoint "$(ids "$EP2")"
check "old process's control socket was left behind" test -S "/var/run/wireguard/$IF3.sock"
expect_ok "Leave of the container from before the crash" NetworkDriver.Leave "$(ids "$EP3")"
expect_ok "DeleteEndpoint of the container from before the crash" NetworkDriver.DeleteEndpoint "$(ids "$EP3")"
check "its stale control socket is removed" test ! -e "/var/run/wireguard/$IF3.sock"
check "interface of $EP2 gone" bash -c "! ip -n '$NSH' link show '$IF2' 2>/dev/null"
expect_ok "DeleteNetwork" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NET")"
check "network state gone" test ! -e "$STATE/networks/$NET.json"
expect_ok "DeleteNetwork again (already gone)" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NET")"

# ---- many containers at once, as `docker run` x 20 in parallel ----
expect_ok "CreateNetwork again" NetworkDriver.CreateNetwork "$(netbody)"
N=20
pids=()
for i in $(seq 1 $N); do
    (
        ep=$(printf 'c%02d%061x' "$i" $$)
        call NetworkDriver.CreateEndpoint "$(epbody "$ep" "10.$N3.77.$((10 + i))")" >"$TMP/par-c$i" &&
        call NetworkDriver.Join "$(ids "$ep")" >"$TMP/par-j$i"
    ) 2>/dev/null &
    pids+=($!)
done
wait "${pids[@]}"
good=0
for i in $(seq 1 $N); do
    ep=$(printf 'c%02d%061x' "$i" $$)
    echo "wgv${ep:0:12}" >>"$TMP/ifnames"
    [ "$(jget InterfaceName.SrcName <"$TMP/par-j$i" 2>/dev/null)" = "wgv${ep:0:12}" ] &&
        ip -n "$NSH" link show "wgv${ep:0:12}" >/dev/null 2>&1 && good=$((good + 1))
done
check "$N concurrent CreateEndpoint+Join: $good interfaces" test "$good" = "$N"
pids=()
for i in $(seq 1 $N); do
    ep=$(printf 'c%02d%061x' "$i" $$)
    ( call NetworkDriver.Leave "$(ids "$ep")" >/dev/null; call NetworkDriver.DeleteEndpoint "$(ids "$ep")" >"$TMP/par-d$i" ) 2>/dev/null &
    pids+=($!)
done
wait "${pids[@]}"
left=$(ip -n "$NSH" -o link show | grep -c "wgvc[0-9]" || true)
check "$N concurrent DeleteEndpoint: no interface left ($left)" test "$left" = 0
check "no endpoint state left" bash -c "[ -z \"\$(ls '$STATE/endpoints')\" ]"
check "no control socket left" bash -c "! ls /var/run/wireguard/ | grep -q '^wgvc[0-9].*$$'"
expect_ok "DeleteNetwork" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NET")"

# ---- the same over the TCP stream transport ----
HUB2_IF=wgvpt$(printf '%x' $$)
PORT2=$((PORT + 1))
NET2=b$(printf '%063x' $$)
EP4=e4$(printf '%010x%052x' $$ 0) IF4=wgv${EP4:0:12}
echo "$IF4" >>"$TMP/ifnames"
LOG_LEVEL=verbose ip netns exec "$NSH" "$HUBD" -f -n tcp "$HUB2_IF" >"$TMP/hub2.log" 2>&1 &
HUB2_PID=$!
if wait_for 10 test -S "/var/run/wireguard/$HUB2_IF.sock"; then
    {
        printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$TMP/hub.key")" "$PORT2"
        "$KD" --seed-file "$TMP/seed" peers --subnet "10.$N3.78.0/24" --skip-gateway
    } >"$TMP/hub2.conf"
    ip netns exec "$NSH" wg setconf "$HUB2_IF" "$TMP/hub2.conf" &&
        ip -n "$NSH" address add "10.$N3.78.1/24" dev "$HUB2_IF" && ip -n "$NSH" link set "$HUB2_IF" up
    expect_ok "CreateNetwork tcp" NetworkDriver.CreateNetwork "$(printf '{"NetworkID":"%s","Options":{"com.docker.network.generic":{"wgvsock.transport":"tcp","wgvsock.peer":"127.0.0.1:%s","wgvsock.peerkey":"%s"}},"IPv4Data":[{"Pool":"10.%s.78.0/24","Gateway":"10.%s.78.1/24"}],"IPv6Data":[]}' "$NET2" "$PORT2" "$HUB_PUB" "$N3" "$N3")"
    expect_ok "CreateEndpoint (tcp)" NetworkDriver.CreateEndpoint "$(printf '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"10.%s.78.2/24"}}' "$NET2" "$EP4" "$N3")"
    expect_ok "Join (tcp)" NetworkDriver.Join "$(printf '{"NetworkID":"%s","EndpointID":"%s"}' "$NET2" "$EP4")"
    ip -n "$NSH" link set "$IF4" netns "$NSC" && ip -n "$NSC" address add "10.$N3.78.2/24" dev "$IF4" &&
        ip -n "$NSC" link set "$IF4" up
    if ip netns exec "$NSC" ping -c 3 -i 0.3 -W 3 "10.$N3.78.1" >"$TMP/ping2" 2>&1; then
        ok "container pings the hub over tcp"
    else
        bad "no ping over tcp: $(tail -2 "$TMP/ping2" | tr '\n' ' ')"
        tail -5 "$TMP/hub2.log"
    fi
    expect_ok "DeleteEndpoint (tcp)" NetworkDriver.DeleteEndpoint "$(printf '{"NetworkID":"%s","EndpointID":"%s"}' "$NET2" "$EP4")"
    check "tcp interface gone" bash -c "! ip -n '$NSC' link show '$IF4' 2>/dev/null"
    expect_ok "DeleteNetwork (tcp)" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NET2")"
else
    bad "tcp hub did not start: $(tail -3 "$TMP/hub2.log")"
fi
proc_kill -TERM "$HUB2_PID"; wait "$HUB2_PID" 2>/dev/null; HUB2_PID=
rm -f "/var/run/wireguard/$HUB2_IF.sock"

# ---- no-CRC framing (wireguard-go-vsock <= v0.2.3 hubs): explicit only ----
# A `wgvsockd -n tcp --no-crc` hub: a network with wgvsock.stream-crc=false
# passes traffic; the same network without it (CRC framing) passes none;
# the plugin's WGVSOCK_STREAM_CRC=0 makes no-CRC the default for networks
# that do not say.
HUB3_IF=wgvpn$(printf '%x' $$)
PORT3=$((PORT + 2))
NET3=c$(printf '%063x' $$)
EP5=e5$(printf '%010x%052x' $$ 0) IF5=wgv${EP5:0:12}
echo "$IF5" >>"$TMP/ifnames"
LOG_LEVEL=verbose ip netns exec "$NSH" "$HUBD" -f -n tcp --no-crc "$HUB3_IF" >"$TMP/hub3.log" 2>&1 &
HUB3_PID=$!
net3body() {  # extra generic options
    printf '{"NetworkID":"%s","Options":{"com.docker.network.generic":{"wgvsock.transport":"tcp","wgvsock.peer":"127.0.0.1:%s","wgvsock.peerkey":"%s"%s}},"IPv4Data":[{"Pool":"10.%s.79.0/24","Gateway":"10.%s.79.1/24"}],"IPv6Data":[]}' "$NET3" "$PORT3" "$HUB_PUB" "${1:-}" "$N3" "$N3"
}
ids3() { printf '{"NetworkID":"%s","EndpointID":"%s"}' "$NET3" "$EP5"; }
# join3: CreateEndpoint (unless "nocreate") + Join, move into the container, address
join3() {
    [ "${1:-}" = nocreate ] || expect_ok "CreateEndpoint (no-CRC hub)" NetworkDriver.CreateEndpoint "$(printf '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"10.%s.79.2/24"}}' "$NET3" "$EP5" "$N3")"
    expect_ok "Join (no-CRC hub)" NetworkDriver.Join "$(ids3)"
    ip -n "$NSH" link set "$IF5" netns "$NSC" && ip -n "$NSC" address add "10.$N3.79.2/24" dev "$IF5" &&
        ip -n "$NSC" link set "$IF5" up
}
ping3() { ip netns exec "$NSC" ping -c "$1" -i 0.3 -W 2 "10.$N3.79.1" >"$TMP/ping3" 2>&1; }
if wait_for 10 test -S "/var/run/wireguard/$HUB3_IF.sock"; then
    {
        printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$TMP/hub.key")" "$PORT3"
        "$KD" --seed-file "$TMP/seed" peers --subnet "10.$N3.79.0/24" --skip-gateway
    } >"$TMP/hub3.conf"
    ip netns exec "$NSH" wg setconf "$HUB3_IF" "$TMP/hub3.conf" &&
        ip -n "$NSH" address add "10.$N3.79.1/24" dev "$HUB3_IF" && ip -n "$NSH" link set "$HUB3_IF" up
    expect_err "stream-crc on a udp network refused" NetworkDriver.CreateNetwork "$(net3body ',"wgvsock.stream-crc":"false"' | sed 's/"wgvsock.transport":"tcp"/"wgvsock.transport":"udp"/')" "only stream transports"
    expect_err "stream-crc=0 refused (true or false)" NetworkDriver.CreateNetwork "$(net3body ',"wgvsock.stream-crc":"0"')" "not true or false"
    # 1. explicit stream-crc=false: traffic flows
    expect_ok "CreateNetwork tcp, wgvsock.stream-crc=false" NetworkDriver.CreateNetwork "$(net3body ',"wgvsock.stream-crc":"false"')"
    join3
    if ping3 3; then ok "stream-crc=false network pings a --no-crc hub"
    else bad "no ping with stream-crc=false against a --no-crc hub: $(tail -2 "$TMP/ping3" | tr '\n' ' ')"; tail -5 "$TMP/hub3.log"; fi
    expect_ok "DeleteEndpoint (no-CRC)" NetworkDriver.DeleteEndpoint "$(ids3)"
    expect_ok "DeleteNetwork (no-CRC)" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NET3")"
    # 2. the same network with CRC framing (the default): nothing gets through
    expect_ok "CreateNetwork tcp, CRC (mismatch)" NetworkDriver.CreateNetwork "$(net3body)"
    join3
    if ping3 4; then bad "CRC network pinged a --no-crc hub (frames must not be guessed)"
    else ok "CRC network against a --no-crc hub passes nothing"; fi
    # 3. same network, plugin restarted with WGVSOCK_STREAM_CRC=0: no-CRC by default
    proc_kill -TERM "$PLUGIN_PID"; wait "$PLUGIN_PID" 2>/dev/null; PLUGIN_PID=
    WGVSOCK_STREAM_CRC=0 start_plugin || { tail "$PLOG"; die "plugin did not restart with WGVSOCK_STREAM_CRC=0"; }
    join3 nocreate
    if ping3 3; then ok "WGVSOCK_STREAM_CRC=0: a network without stream-crc pings the --no-crc hub"
    else bad "no ping with WGVSOCK_STREAM_CRC=0: $(tail -2 "$TMP/ping3" | tr '\n' ' ')"; fi
    check "plugin log says the device has no CRC" grep -q "stream frames without CRC" "$PLOG"
    expect_ok "DeleteEndpoint (no-CRC default)" NetworkDriver.DeleteEndpoint "$(ids3)"
    check "no-CRC interface gone" bash -c "! ip -n '$NSC' link show '$IF5' 2>/dev/null"
    expect_ok "DeleteNetwork (no-CRC default)" NetworkDriver.DeleteNetwork "$(printf '{"NetworkID":"%s"}' "$NET3")"
else
    bad "no-CRC hub did not start: $(tail -3 "$TMP/hub3.log")"
fi
proc_kill -TERM "$HUB3_PID"; wait "$HUB3_PID" 2>/dev/null; HUB3_PID=
rm -f "/var/run/wireguard/$HUB3_IF.sock"

# keep-alive: several calls on one connection, as dockerd does
n=$(curl -sv --unix-socket "$SOCK" -X POST -H 'Content-Type:' --data-binary $'{}\n' \
    http://plugin/Plugin.Activate http://plugin/NetworkDriver.GetCapabilities 2>&1 | grep -ci 're-using existing connection')
check "two calls on one kept-alive connection" test "${n:-0}" -ge 1

# ---- shutdown and secrets ----
# an idle kept-alive connection (dockerd holds some) must not stall shutdown
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nContent-Length: 3\r\n\r\n{}\n")
s.recv(4096); time.sleep(30)' "$SOCK" &
IDLE_PID=$!
sleep 0.5
proc_kill -TERM "$PLUGIN_PID"
t0=$SECONDS
# gone or a zombie (our child until we wait for it)
if wait_for 10 eval '! proc_alive "$PLUGIN_PID"'; then
    ok "SIGTERM stops the plugin despite an idle connection ($((SECONDS - t0)) s)"
else
    bad "plugin still runs 10 s after SIGTERM"
fi
wait "$PLUGIN_PID"; rc=$?; PLUGIN_PID=
check "exit status 0 after SIGTERM" test "$rc" = 0
proc_kill -TERM "$IDLE_PID"; wait "$IDLE_PID" 2>/dev/null
check "socket removed on exit" test ! -e "$SOCK"
check "calls were logged at LOG_LEVEL=debug" grep -q "NetworkDriver.Join network=" "$PLOG"
leak=0
grep -qF -- "$SEED" "$PLOG" && { bad "the seed is in the plugin log"; leak=1; }
for a in "$ADDR" "$ADDR2"; do
    priv=$("$KD" --seed-file "$TMP/seed" "$a")
    grep -qF -- "$priv" "$PLOG" && { bad "private key of $a is in the plugin log"; leak=1; }
done
[ $leak = 0 ] && ok "no seed or private key in the log"
check "no sanitizer report in the plugin log (make asan)" bash -c "! grep -qE 'Sanitizer|runtime error' '$PLOG'"

echo "$CHECKS checks, $FAILS failed"
[ $FAILS = 0 ] || { echo "--- plugin log (tail)"; tail -30 "$PLOG"; exit 1; }
exit 0
