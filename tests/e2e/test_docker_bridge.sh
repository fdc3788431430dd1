#!/bin/bash
# e2e: a container on a wgvsock network and on Docker's own bridge networks
# at once (dockerd with a docker0 in the test's netns, DK_BRIDGE=1), and which
# network supplies its default route.  libnetwork (20.10 and 26 alike) orders
# a container's endpoints: internal networks last, then those with both an
# IPv4 and an IPv6 gateway before those with one, then by network name; the
# first supplies the default route.  So, checked here:
#   - on "wgnet" plus the default "bridge" ("bridge" < "wgnet"), in either
#     order of run/connect: default via docker0's gateway on eth0, so traffic
#     to the outside leaves beside the tunnel (the hub is still reached through
#     wg0); disconnecting bridge gives wg0 the default route back;
#   - on "wgnet" plus a bridge network named "zz-br": the tunnel keeps it;
#   - on "wgnet" plus an --internal bridge network "aa-int": the tunnel keeps
#     it although "aa-int" sorts first.
# (docs/DOCKER.md tells users this; Docker 28's gw-priority changes it.)
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
hub_start udp 10.83.0.0/24
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create wgnet -o wgvsock.transport=udp >/dev/null || die "network create failed: $(tail -5 "$PL_LOG")"
dk network create --subnet 172.28.2.0/24 zz-br >/dev/null || die "network create zz-br"
dk network create --internal --subnet 172.28.1.0/24 aa-int >/dev/null || die "network create aa-int"
BR_GW=172.29.0.1
check "docker0 exists in the test's netns with $BR_GW" bash -c "ip -n $E2E_NS -o addr show docker0 | grep -q '$BR_GW/'"

# ct_default C: "GATEWAY DEVICE" of C's default route.
ct_default() { dk exec "$1" ip route | awk '$1 == "default" { print $3, $5; exit }'; }
# expect_default WHAT C GATEWAY DEVICE
expect_default() {
    local got; got=$(ct_default "$2")
    check "$1: default via $3 dev $4 (got: $got)" test "$got" = "$3 $4"
}

# --- wgvsock first, then connect bridge -------------------------------------
dk run -d --name c1 --network wgnet busybox sleep 600 >/dev/null || die "docker run failed: $(tail -20 "$PL_LOG")"
expect_default "wgnet alone" c1 "$HUB_ADDR" wg0
check "c1 connects to bridge" dk network connect bridge c1
check "c1 has eth0, lo and wg0 ($(ct_links c1))" test "$(ct_links c1)" = "eth0 lo wg0"
expect_default "wgnet + bridge (\"bridge\" < \"wgnet\")" c1 "$BR_GW" eth0
check "c1 still reaches the hub through wg0" dk exec c1 ping -c 2 -w 15 "$HUB_ADDR"
check "c1 reaches docker0 through eth0" dk exec c1 ping -c 1 -w 10 "$BR_GW"
check "c1 disconnects from bridge" dk network disconnect bridge c1
check "c1 is back to lo and wg0 ($(ct_links c1))" test "$(ct_links c1)" = "lo wg0"
expect_default "after disconnecting bridge" c1 "$HUB_ADDR" wg0
check "c1 reaches the hub after the disconnect" dk exec c1 ping -c 1 -w 10 "$HUB_ADDR"

# --- a bridge network that sorts after wgnet --------------------------------
check "c1 connects to zz-br" dk network connect zz-br c1
expect_default "wgnet + zz-br (\"wgnet\" < \"zz-br\")" c1 "$HUB_ADDR" wg0
check "c1 reaches zz-br's gateway" dk exec c1 ping -c 1 -w 10 172.28.2.1
check "c1 disconnects from zz-br" dk network disconnect zz-br c1

# --- an internal bridge network that sorts first ---------------------------
check "c1 connects to aa-int" dk network connect aa-int c1
expect_default "wgnet + --internal aa-int (internal sorts last)" c1 "$HUB_ADDR" wg0
check "c1 reaches the hub with aa-int attached" dk exec c1 ping -c 1 -w 10 "$HUB_ADDR"
check "c1 disconnects from aa-int" dk network disconnect aa-int c1

# --- bridge first, then connect wgvsock: the same rule ------------------------
dk run -d --name c2 busybox sleep 600 >/dev/null || die "docker run on bridge failed"
expect_default "bridge alone" c2 "$BR_GW" eth0
check "c2 connects to wgnet" dk network connect wgnet c2
check "c2 has eth0, lo and wg0 ($(ct_links c2))" test "$(ct_links c2)" = "eth0 lo wg0"
expect_default "bridge + wgnet, connected in this order" c2 "$BR_GW" eth0
check "c2 reaches the hub through wg0" dk exec c2 ping -c 2 -w 15 "$HUB_ADDR"
IP2=$(ct_ip c2 wgnet)
check "the hub reaches c2 on wgnet" in_ns ping -c 2 -w 15 "$IP2"
check "c2 disconnects from wgnet" dk network disconnect wgnet c2
check "c2 is back to eth0 and lo ($(ct_links c2))" test "$(ct_links c2)" = "eth0 lo"
expect_default "after disconnecting wgnet" c2 "$BR_GW" eth0

check "docker stop" dk stop -t 2 c1 c2 >/dev/null
dk rm c1 c2 >/dev/null
check "network rm" dk network rm wgnet zz-br aa-int >/dev/null
left=$(dk_links -n "$E2E_NS" | grep '^wgv' | tr '\n' ' ')
check "no wgv* interface left ($left)" test -z "$left"
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 40 "$PL_LOG"; dk_logs 20; }
dk_stop_checked
e2e_finish
