#!/bin/bash
# e2e: the tcp transport (the same stream framing as vsock) between the
# plugin's container devices and a wgvsockd -n tcp hub on loopback.  The seed
# comes from -o wgvsock.seed-file this time (the plugin has no
# WGVSOCK_SEED_FILE), so a network without any seed must be refused.
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool ping python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin

e2e_netns
dk_start
dk_busybox
e2e_secrets
HUB_PORT=8172
hub_start tcp 10.79.0.0/24
# With CAP_NET_ADMIN as its only capability, the minimum (examples/systemd's
# unit adds CAP_SYS_ADMIN for adoption after a restart and for -p).
PL_WRAP="setpriv --bounding-set -all,+net_admin --inh-caps -all" plugin_start
check "the plugin runs with CAP_NET_ADMIN only" \
    test "$(awk '/^CapEff/ { print $2 }' /proc/$PL_PID/status 2>/dev/null)" = 0000000000001000
SEED=$(cat "$E2E_SEED_FILE")

expect_network_error "no seed anywhere" seed --subnet "$HUB_SUBNET" -o wgvsock.transport=tcp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB"
wgnet_create tcpnet -o wgvsock.transport=tcp -o wgvsock.seed-file="$E2E_SEED_FILE" -o wgvsock.mtu=1380 \
    -o wgvsock.keepalive=5 >/dev/null || die "network create failed: $(tail -5 "$PL_LOG")"
check "network inspect shows the seed file path but not the seed" \
    bash -c "dk() { $DK_CLI -H $DOCKER_HOST \"\$@\"; }; out=\$(dk network inspect tcpnet); echo \"\$out\" | grep -qF '$E2E_SEED_FILE' && ! echo \"\$out\" | grep -qF '$SEED'"

dk run -d --name t1 --network tcpnet busybox sleep 600 >/dev/null || die "docker run failed: $(tail -20 "$PL_LOG")"
dk run -d --name t2 --network tcpnet busybox sleep 600 >/dev/null || die "docker run failed: $(tail -20 "$PL_LOG")"
IP=$(ct_ip t1 tcpnet); EP=$(ct_epid t1 tcpnet); IF=wgv${EP:0:12}
IP2=$(ct_ip t2 tcpnet)
check "t1 has exactly lo and wg0" test "$(ct_links t1)" = "lo wg0"
mtu=$(dk exec t1 cat /sys/class/net/wg0/mtu)
check "wg0 MTU is wgvsock.mtu=1380 (got $mtu)" test "$mtu" = 1380
check "t1 pings the hub over tcp" dk exec t1 ping -c 3 -w 15 "$HUB_ADDR"
check "t2 pings the hub over tcp" dk exec t2 ping -c 3 -w 15 "$HUB_ADDR"
check "hub pings t1" in_ns ping -c 3 -w 15 "$IP"
check "hub pings t2" in_ns ping -c 3 -w 15 "$IP2"
PUB=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$IP")
check "hub shows a handshake for t1's derived key" hub_handshake "$PUB"
conns=$(in_ns ss -Htn state established "( sport = :$HUB_PORT )" | wc -l)
check "the hub has tcp connections on :$HUB_PORT ($conns)" test "$conns" -ge 1
# Container devices only dial (issue 11): no listener of the plugin's on any
# address; the hub's own listener shows that ss -p sees the processes.
listeners=$(in_ns ss -Htlnp)
check "the hub's listener is visible to ss -p" grep -q "pid=$HUB_PID," <<<"$listeners"
check "the plugin's container devices have no listening socket" \
    bash -c '! grep -q "pid=$1," <<<"$2"' _ "$PL_PID" "$listeners"
check "keepalive 5 configured on t1's device" bash -c "wg show $IF persistent-keepalive | grep -q '[[:space:]]5\$'"
# a bulk transfer through the stream (not just pings): 2 MB from the hub's
# side via busybox nc, sized to cross many frames and the coalescing path
in_ns sh -c "head -c 2000000 /dev/urandom > $E2E_TMP/blob"
sum=$(md5sum <"$E2E_TMP/blob" | cut -d' ' -f1)
dk exec -d t1 sh -c 'nc -l -p 9000 > /tmp/blob' >/dev/null
sleep 1
in_ns timeout 60 bash -c "exec 3<>/dev/tcp/$IP/9000; cat $E2E_TMP/blob >&3; exec 3>&-" \
    || fail "bulk send over the tunnel failed"
wait_for 30 bash -c "[ \"\$($DK_CLI -H $DOCKER_HOST exec t1 sh -c 'md5sum < /tmp/blob' | cut -d' ' -f1)\" = $sum ]"
check "2 MB through the tcp tunnel arrive intact" \
    bash -c "[ \"\$($DK_CLI -H $DOCKER_HOST exec t1 sh -c 'md5sum < /tmp/blob' | cut -d' ' -f1)\" = $sum ]"

# the hub restarts (same key): the containers' devices redial and work again
proc_kill -KILL "$HUB_PID"; wait "$HUB_PID" 2>/dev/null
rm -f "/var/run/wireguard/$HUB_IF.sock"
hub_start tcp 10.79.0.0/24
check "t1 reaches the restarted hub (stream redial)" wait_for 60 "$DK_CLI" -H "$DOCKER_HOST" exec t1 ping -c 1 -w 2 "$HUB_ADDR"
check "hub reaches t2 after its restart" wait_for 30 in_ns ping -c 1 -w 2 "$IP2"

check "docker stop" dk stop -t 2 t1 t2 >/dev/null
check "device gone after stop" bash -c "! ip -n $E2E_NS link show $IF >/dev/null 2>&1"
dk rm t1 t2 >/dev/null
check "docker network rm" dk network rm tcpnet >/dev/null
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
check "plugin log has no seed" bash -c "! grep -qF '$SEED' '$PL_LOG'"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 40 "$PL_LOG"; }
e2e_finish
