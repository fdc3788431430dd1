#!/bin/bash
# e2e: a real dockerd, the wgvsock plugin and a wgvsockd hub over UDP on
# loopback.  One container: exactly lo + wg0, default route via the hub, pings
# both ways, the hub sees a handshake from the derived key, the seed (handed
# over as WGVSOCK_SEED_FILE) appears nowhere in Docker; every bad option and
# malformed request gets a clear error and leaves nothing behind.  Last, the
# daemon is stopped and must leave no process, mount or interface behind.
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool curl ping python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin

e2e_netns
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.77.0.0/24
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
SEED=$(cat "$E2E_SEED_FILE")
SUB=(--subnet "$HUB_SUBNET")

# --- bad options: a clear error each, and no network -----------------------
expect_network_error "unknown transport" transport "${SUB[@]}" -o wgvsock.transport=carrier-pigeon \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB"
expect_network_error "bad peer key" peerkey "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey=not-a-key
expect_network_error "unparsable peer" peer "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer=nowhere:port -o wgvsock.peerkey="$HUB_PUB"
expect_network_error "missing peer" peer "${SUB[@]}" -o wgvsock.transport=udp -o wgvsock.peerkey="$HUB_PUB"
expect_network_error "vsock peer with udp" peer "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer='host(2):8172' -o wgvsock.peerkey="$HUB_PUB"
expect_network_error "bad keepalive" keepalive "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.keepalive=often
expect_network_error "bad mtu" mtu "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.mtu=99999
expect_network_error "bad allowed-ips" allowed "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.allowed-ips=10.0.0.0/99
expect_network_error "bad additional" additional "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.additional='***'
expect_network_error "unreadable seed file" seed "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.seed-file=/nonexistent/seed
expect_network_error "unknown option" wgvsock.colour "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.colour=blue
expect_network_error "unknown engine" engine "${SUB[@]}" -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.engine=fast
expect_network_error "engine=kernel on tcp" wgvsock.transport=udp "${SUB[@]}" -o wgvsock.transport=tcp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.engine=kernel
# engine=auto: kernel WireGuard where this kernel has it (asked with ip(8))
if in_ns ip link add "wgk$$" type wireguard 2>/dev/null; then
    in_ns ip link del "wgk$$"; HOST_ENGINE=kernel
else
    HOST_ENGINE=wgcore
    expect_network_error "engine=kernel without kernel WireGuard" "no WireGuard" "${SUB[@]}" \
        -o wgvsock.transport=udp -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" \
        -o wgvsock.engine=kernel
fi
check "plugin survived the bad options" proc_alive "$PL_PID"

# --- the network: the seed comes from the plugin's WGVSOCK_SEED_FILE --------
wgnet_create wgnet -o wgvsock.transport=udp >/dev/null || die "network create failed: $(tail -5 "$PL_LOG")"
dk network inspect wgnet >"$E2E_TMP/inspect.json"
check "network inspect shows the options" grep -q wgvsock.peerkey "$E2E_TMP/inspect.json"
check "network inspect contains no seed" bash -c "! grep -qiF -e '$SEED' -e seed '$E2E_TMP/inspect.json'"
check "plugin log: engine $HOST_ENGINE (auto)" grep -q "engine $HOST_ENGINE (wgvsock.engine=auto)" "$PL_LOG"

# --- a TUN has no MAC: a requested one is refused clearly ---------------------
out=$(dk run --rm --network wgnet --mac-address 02:42:ac:11:00:99 busybox true 2>&1)
check "--mac-address refused" test $? != 0
check "--mac-address error names the MAC: $out" bash -c "echo '$out' | grep -qi mac"

# --- one container ------------------------------------------------------------
dk run -d --name c1 --network wgnet busybox sleep 600 >/dev/null || die "docker run failed: $(tail -20 "$PL_LOG")"
IP=$(ct_ip c1 wgnet); EP=$(ct_epid c1 wgnet); IF=wgv${EP:0:12}
log "c1 has $IP, endpoint ${EP:0:12}, host device $IF"
links=$(ct_links c1)
check "container has exactly lo and wg0 (got: $links)" test "$links" = "lo wg0"
check "no docker_gwbridge" bash -c "! ip -n $E2E_NS link show docker_gwbridge >/dev/null 2>&1"
check "no eth* in the container" bash -c "! $DK_CLI -H $DOCKER_HOST exec c1 ip link | grep -q eth"
routes=$(dk exec c1 ip route)
check "default route via the hub on wg0 (got: $routes)" bash -c "echo '$routes' | grep -q 'default via $HUB_ADDR dev wg0'"
mtu=$(dk exec c1 cat /sys/class/net/wg0/mtu)
check "wg0 MTU is the default 1420 (got $mtu)" test "$mtu" = 1420
check "container pings the hub" dk exec c1 ping -c 3 -w 15 "$HUB_ADDR"
check "hub pings the container" in_ns ping -c 3 -w 15 "$IP"
PUB=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$IP")
check "hub shows a handshake for the derived key $PUB" hub_handshake "$PUB"
check "the host's wg show lists the container device with the derived key" \
    bash -c "[ \"\$(wg show $IF public-key)\" = '$PUB' ]"
check "the container device's peer is the hub" bash -c "wg show $IF peers | grep -qxF '$HUB_PUB'"

# a second container gets its own address and key, and the two talk through the hub
dk run -d --name c2 --network wgnet busybox sleep 600 >/dev/null || fail "second container"
IP2=$(ct_ip c2 wgnet)
check "second container got another address" test "$IP2" != "$IP"
check "second container pings the hub" dk exec c2 ping -c 2 -w 15 "$HUB_ADDR"

# --- docker network connect: a second wgvsock network on a running container
# (the hub serves both subnets: a second address and the second subnet's peers)
in_ns ip address add 10.76.0.1/24 dev "$HUB_IF"
keyderive --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" peers --subnet 10.76.0.0/24 --skip-gateway \
    >"$E2E_TMP/peers2.conf" && in_ns wg addconf "$HUB_IF" "$E2E_TMP/peers2.conf"
if dk network create --driver wgvsock --subnet 10.76.0.0/24 --gateway 10.76.0.1 -o wgvsock.transport=udp \
        -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.additional="$E2E_ADD" \
        -o wgvsock.engine=wgcore wgnet2 >/dev/null; then
    check "network inspect shows wgvsock.engine as given" \
        test "$(dk network inspect -f '{{index .Options "wgvsock.engine"}}' wgnet2)" = wgcore
    check "docker network connect onto a second wgvsock network" dk network connect wgnet2 c2
    check "c2 now has lo, wg0 and wg1 ($(ct_links c2))" test "$(ct_links c2)" = "lo wg0 wg1"
    check "c2 reaches the hub on the second network" dk exec c2 ping -c 2 -w 15 10.76.0.1
    check "c2 still reaches the hub on the first network" dk exec c2 ping -c 1 -w 10 "$HUB_ADDR"
    check "docker network disconnect" dk network disconnect wgnet2 c2
    check "c2 is back to lo and wg0" test "$(ct_links c2)" = "lo wg0"
    check "network rm wgnet2" dk network rm wgnet2 >/dev/null
else
    fail "network create wgnet2"
fi

# --- malformed and unknown requests never crash the plugin ------------------
r=$(plugin_call NetworkDriver.CreateNetwork '{"NetworkID": ')
check "malformed JSON gets an Err ($r)" bash -c "echo '$r' | grep -q '\"Err\"'"
r=$(plugin_call NetworkDriver.CreateNetwork '[1,2,3]')
check "JSON of the wrong shape gets an Err ($r)" bash -c "echo '$r' | grep -q '\"Err\"'"
r=$(plugin_call NetworkDriver.Join '{"NetworkID":"nonexistent","EndpointID":"nonexistent","SandboxKey":"/x","Options":{}}')
check "Join of an unknown endpoint gets an Err ($r)" bash -c "echo '$r' | grep -q '\"Err\"'"
r=$(plugin_call NetworkDriver.DeleteEndpoint '{"NetworkID":"nonexistent","EndpointID":"nonexistent"}')
check "DeleteEndpoint of an unknown endpoint is not an error ($r)" bash -c "! echo '$r' | grep -q '\"Err\":\"'"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$PL_SOCK" --data-binary '{}' http://plugin/NetworkDriver.Frobnicate)
check "unknown method is 404 (got $code)" test "$code" = 404
r=$(plugin_call NetworkDriver.GetCapabilities '{}')
check "GetCapabilities is local scope ($r)" bash -c "echo '$r' | grep -q '\"Scope\": *\"local\"'"
check "plugin still alive after bad requests" proc_alive "$PL_PID"
check "c1 still reaches the hub" dk exec c1 ping -c 1 -w 10 "$HUB_ADDR"

# --- teardown leaves nothing --------------------------------------------------
check "docker stop c1 c2" dk stop -t 2 c1 c2 >/dev/null
check "device gone after stop" bash -c "! ip -n $E2E_NS link show $IF >/dev/null 2>&1"
check "control socket gone after stop" test ! -e "/var/run/wireguard/$IF.sock"
dk rm c1 c2 >/dev/null
check "docker network rm" dk network rm wgnet >/dev/null

# --- an --internal network: the hub's addresses only, no default route -------
if wgnet_create inet --internal -o wgvsock.transport=udp >/dev/null; then
    dk run -d --name ci --network inet busybox sleep 600 >/dev/null || fail "docker run on --internal"
    r=$(dk exec ci ip route)
    check "--internal: no default route (got: $r)" bash -c "! echo '$r' | grep -q default"
    check "--internal: the hub is reachable" dk exec ci ping -c 2 -w 15 "$HUB_ADDR"
    dk rm -f ci >/dev/null
    dk network rm inet >/dev/null || fail "network rm inet"
else
    fail "network create --internal"
fi

left=$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | grep '^wgv' || true)
check "no wgv* interfaces left (got: $left)" test -z "$left"
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"

# --- no secret in any log ----------------------------------------------------
PRIV=$(keyderive --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$IP")
check "plugin log has neither seed nor private key" bash -c "! grep -qF -e '$SEED' -e '$PRIV' '$PL_LOG'"
check "dockerd log has neither seed nor private key" bash -c "! grep -qF -e '$SEED' -e '$PRIV' '$DK/dockerd.log'"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 40 "$PL_LOG"; dk_logs 20; }
dk_stop_checked
e2e_finish
