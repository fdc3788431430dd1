#!/bin/bash
# e2e: wgvsock as a managed plugin.  `make plugin` builds the plugin directory
# (config.json + rootfs with the binary and its libraries) and runs
# `docker plugin create`; then set (seed file, state dir), enable, a network
# with --driver wgvsock:latest, a container that pings the hub, state that
# survives disable/enable with the network in place, and disable/rm that
# leave nothing behind.
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool make ping python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin

# config.json asks for /dev/vsock and mounts /var/run/wireguard.
[ -e /dev/vsock ] || modprobe vsock 2>/dev/null
[ -e /dev/vsock ] || skip "no /dev/vsock on this host and the vsock module does not load"
mkdir -p /var/run/wireguard

e2e_netns
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.81.0.0/24
SEED=$(cat "$E2E_SEED_FILE")
PSTATE=$E2E_TMP/pstate
mkdir -m 700 "$PSTATE"

make -s -C "$E2E_ROOT" BUILD="${BUILD:-build}" PLUGIN_DIR="$E2E_TMP/pdir" DOCKER="$DK_CLI" plugin \
    >"$E2E_TMP/make.log" 2>&1 || { cat "$E2E_TMP/make.log"; die "make plugin failed"; }
check "make plugin created the plugin" dk plugin inspect wgvsock:latest >/dev/null
libs=$(find "$E2E_TMP/pdir/rootfs" -name '*.so*' | wc -l)
want=$(ldd "$E2E_BIN/wgvsock-plugin" | grep -c '/')
check "rootfs holds exactly ldd's libraries ($libs, ldd: $want)" test "$libs" = "$want"
check "config.json in the plugin dir is the repo's" cmp -s "$E2E_ROOT/config.json" "$E2E_TMP/pdir/config.json"
dk plugin disable wgvsock >/dev/null 2>&1   # created disabled; no-op
check "make plugin refuses to overwrite an existing plugin" bash -c \
    "! make -s -C '$E2E_ROOT' BUILD='${BUILD:-build}' PLUGIN_DIR='$E2E_TMP/pdir2' DOCKER='$DK_CLI' plugin >/dev/null 2>&1"

check "docker plugin set" dk plugin set wgvsock SEED_FILE.source="$E2E_SEED_FILE" STATE.source="$PSTATE" LOG_LEVEL=debug
check "docker plugin enable" dk plugin enable wgvsock
check "plugin is enabled" test "$(dk plugin inspect -f '{{.Enabled}}' wgvsock)" = true

WGNET_DRIVER=wgvsock:latest wgnet_create mnet -o wgvsock.transport=udp >/dev/null \
    || die "network create with wgvsock:latest failed: $(dk_logs 20)"
check "network inspect has no seed" bash -c "! $DK_CLI network inspect mnet | grep -qF '$SEED'"
WGNET_DRIVER=wgvsock:latest expect_network_error "bad option through the managed plugin" peerkey \
    --subnet 10.99.0.0/24 -o wgvsock.transport=udp -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey=nope

dk run -d --name p1 --network mnet busybox sleep 600 >/dev/null || die "docker run failed: $(dk_logs 30)"
IP=$(ct_ip p1 mnet); EP=$(ct_epid p1 mnet); IF=wgv${EP:0:12}
check "container has exactly lo and wg0" test "$(ct_links p1)" = "lo wg0"
check "container pings the hub" dk exec p1 ping -c 3 -w 15 "$HUB_ADDR"
check "hub pings the container" in_ns ping -c 3 -w 15 "$IP"
PUB=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$IP")
check "hub has a handshake with the derived key" hub_handshake "$PUB"
check "host wg show sees the device through the CONTROL mount" bash -c "[ \"\$(wg show $IF public-key)\" = '$PUB' ]"
check "state is written to the STATE mount" test -n "$(ls "$PSTATE/networks" 2>/dev/null)"
check "stop" dk stop -t 2 p1 >/dev/null
dk rm p1 >/dev/null

# disable/enable with the network in place: the network must still work.
check "disable (forced: a network uses the plugin)" dk plugin disable -f wgvsock >/dev/null
check "enable again" dk plugin enable wgvsock >/dev/null
dk run -d --name p2 --network mnet busybox sleep 600 >/dev/null || fail "docker run after disable/enable: $(dk_logs 20)"
check "after disable/enable a new container pings the hub" dk exec p2 ping -c 2 -w 15 "$HUB_ADDR"
check "stop" dk stop -t 2 p2 >/dev/null
dk rm p2 >/dev/null
check "network rm" dk network rm mnet >/dev/null
check "no endpoint or network state left ($(ls -A "$PSTATE"/* 2>/dev/null | tr '\n' ' '))" \
    test -z "$(find "$PSTATE/networks" "$PSTATE/endpoints" -type f 2>/dev/null)"

PID=$(for p in $(ip netns pids "$E2E_NS"); do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = wgvsock-plugin ] && echo $p; done | head -1)
PID_ID=$(proc_id "$PID")   # dockerd's child, not ours: pinned by its start time
check "the managed plugin runs in the test's namespace (pid $PID)" test -n "$PID"
check "docker plugin disable" dk plugin disable wgvsock >/dev/null
check "docker plugin rm" dk plugin rm wgvsock >/dev/null
check "plugin ls is empty" test -z "$(dk plugin ls -q)"
[ -n "$PID" ] && check "the plugin process is gone" eval '! proc_alive "$PID_ID"'
check "no plugin files left in the data root" test -z "$(ls -A "$DK/data/plugins" 2>/dev/null | grep -v '^tmp$\|^storage$')"
left=$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | grep '^wgv' | tr '\n' ' ' || true)
check "no wgv* interface left ($left)" test -z "$left"
check "no control socket left" test ! -e "/var/run/wireguard/$IF.sock"
check "dockerd log (plugin output) has no seed" bash -c "! grep -qF '$SEED' '$DK/dockerd.log'"
[ "$E2E_FAILS" = 0 ] || dk_logs 40
e2e_finish
