#!/bin/bash
# e2e interop: the hub is Debian's wireguard-go (another WireGuard
# implementation, udp) instead of wgvsockd; a container on a wgvsock network
# must handshake with it and ping both ways.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool ping python3 wireguard-go
e2e_need_bin keyderive wgvsock-plugin

e2e_netns
dk_start
dk_busybox
e2e_secrets
HUB_IMPL=wireguard-go
hub_start udp 10.82.0.0/24
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create gonet -o wgvsock.transport=udp >/dev/null || die "network create failed"
dk run -d --name g1 --network gonet busybox sleep 600 >/dev/null || die "docker run failed: $(tail -20 "$PL_LOG")"
IP=$(ct_ip g1 gonet)
check "container pings the wireguard-go hub" dk exec g1 ping -c 3 -w 15 "$HUB_ADDR"
check "wireguard-go hub pings the container" in_ns ping -c 3 -w 15 "$IP"
PUB=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$IP")
check "wireguard-go shows a handshake with the derived key" hub_handshake "$PUB"
check "stop" dk stop -t 2 g1 >/dev/null
dk rm g1 >/dev/null
check "network rm" dk network rm gonet >/dev/null
e2e_finish
