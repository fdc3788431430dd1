#!/bin/bash
# e2e: a dual-stack wgvsock network (--ipv6 with an IPv6 subnet beside the
# IPv4 one).  The container gets both addresses on wg0 and a default route of
# each family via the hub; IPv6 pings go both ways through the tunnel (the
# hub's peer for the container, whose key is derived from its IPv4 address,
# also allows its IPv6 address).  Then Docker's IPv4-only bridge network is
# connected too: although "bridge" sorts before "wg6", the dual-stack network
# keeps the default route, because libnetwork puts endpoints with gateways of
# both families before those with one (20.10 and 26 alike; docs/DOCKER.md).
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool ping python3 iptables
e2e_need_bin keyderive wgvsockd wgvsock-plugin

e2e_netns
DK_BRIDGE=1 DK_BIP=172.29.0.1/24
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.84.0.0/24
HUB6=fd84::1
in_ns ip -6 address add "$HUB6/64" dev "$HUB_IF" nodad || die "hub IPv6 address"
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create wg6 -o wgvsock.transport=udp --ipv6 --subnet fd84::/64 --gateway "$HUB6" >/dev/null \
    || die "network create --ipv6 failed: $(tail -5 "$PL_LOG")"

dk run -d --name d1 --network wg6 busybox sleep 600 >/dev/null || die "docker run failed: $(tail -20 "$PL_LOG")"
IP=$(ct_ip d1 wg6)
IP6=$(dk inspect -f '{{(index .NetworkSettings.Networks "wg6").GlobalIPv6Address}}' d1)
log "d1 has $IP and $IP6"
check "d1 got an IPv6 address in fd84::/64 ($IP6)" bash -c "[[ '$IP6' == fd84::* ]]"
check "d1 has exactly lo and wg0 ($(ct_links d1))" test "$(ct_links d1)" = "lo wg0"
check "wg0 carries the IPv6 address" bash -c "$DK_CLI exec d1 ip -6 -o addr show dev wg0 | grep -qF ' $IP6/64 '"
r4=$(dk exec d1 ip route | awk '$1 == "default" { print $3, $5 }')
r6=$(dk exec d1 ip -6 route | awk '$1 == "default" { print $3, $5 }')
check "IPv4 default via the hub on wg0 ($r4)" test "$r4" = "$HUB_ADDR wg0"
check "IPv6 default via the hub on wg0 ($r6)" test "$r6" = "$HUB6 wg0"

PUB=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$IP")
in_ns wg set "$HUB_IF" peer "$PUB" allowed-ips "$IP/32,$IP6/128" || fail "wg set allowed-ips on the hub"
check "d1 pings the hub over IPv4" dk exec d1 ping -c 2 -w 15 "$HUB_ADDR"
check "d1 pings the hub over IPv6" dk exec d1 ping -6 -c 2 -w 15 "$HUB6"
check "the hub pings d1 over IPv6" in_ns ping -6 -c 2 -w 15 "$IP6"
check "the hub's handshake is with d1's IPv4-derived key" hub_handshake "$PUB"

# --- plus the IPv4-only bridge network ---------------------------------------
check "d1 connects to bridge" dk network connect bridge d1
check "d1 has eth0, lo and wg0 ($(ct_links d1))" test "$(ct_links d1)" = "eth0 lo wg0"
r4=$(dk exec d1 ip route | awk '$1 == "default" { print $3, $5 }')
check "dual-stack wg6 keeps the IPv4 default route over bridge (\"bridge\" < \"wg6\"): $r4" \
    test "$r4" = "$HUB_ADDR wg0"
check "d1 still pings the hub over IPv6" dk exec d1 ping -6 -c 1 -w 10 "$HUB6"
check "d1 disconnects from bridge" dk network disconnect bridge d1

check "docker stop" dk stop -t 2 d1 >/dev/null
dk rm d1 >/dev/null
check "network rm" dk network rm wg6 >/dev/null
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 40 "$PL_LOG"; dk_logs 20; }
dk_stop_checked
e2e_finish
