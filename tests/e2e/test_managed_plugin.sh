#!/bin/bash
# e2e: wgvsock as a managed plugin on a fresh host.  `make plugin` builds the
# plugin directory (config.json + rootfs with the binary and its libraries)
# and runs `docker plugin create`; then enable with nothing created by hand
# (no seed file, no state or control directory: the plugin makes its seed in
# its own persistent state, Docker's propagated mount), `make plugin-peers`
# gives the hub its peers, a network with --driver wgvsock:latest and no seed
# option, a container that pings the hub, wg show on the host through the
# documented bind mount, -p (the plugin enters the container's namespace:
# CAP_SYS_ADMIN, and finds it through dockerd's /proc/PID/root: pidhost +
# CAP_SYS_PTRACE), a running container's tunnel kept (same wg0, pings) across
# a SIGKILL of the plugin's process, a disable -f/enable and a disable -f +
# docker plugin upgrade + enable, seed and network that survive disable/enable
# and the upgrade, and disable/rm that leave nothing behind.
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool make ping python3 curl
e2e_need_bin keyderive wgvsockd wgvsock-plugin

e2e_netns
dk_start
dk_busybox
e2e_secrets

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

check "docker plugin set" dk plugin set wgvsock LOG_LEVEL=debug
check "config.json mounts nothing that must exist on the host" \
    test "$(dk plugin inspect -f '{{len .Config.Mounts}}' wgvsock)" = 0
check "docker plugin enable on a fresh host" dk plugin enable wgvsock
check "plugin is enabled" test "$(dk plugin inspect -f '{{.Enabled}}' wgvsock)" = true
PSTATE=$DK/data/plugins/$(dk plugin inspect -f '{{.Id}}' wgvsock)/propagated-mount
SEEDF=$(make -s --no-print-directory -C "$E2E_ROOT" BUILD="${BUILD:-build}" DOCKER="$DK_CLI" plugin-seed 2>&1)
check "make plugin-seed prints the seed's host path ($SEEDF)" test "$SEEDF" = "$PSTATE/seed"
check "the plugin made a seed of 32 bytes" test "$(base64 -d "$SEEDF" 2>/dev/null | wc -c)" = 32
check "the seed file is 0600" test "$(stat -c %a "$SEEDF")" = 600
check "dockerd's log says where the seed is" grep -q "generated a new seed" "$DK/dockerd.log"
SEED=$(cat "$SEEDF")
SEED_SUM=$(sha256sum <"$SEEDF")
E2E_SEED_FILE=$SEEDF
hub_start udp 10.81.0.0/24
make -s --no-print-directory -C "$E2E_ROOT" BUILD="${BUILD:-build}" DOCKER="$DK_CLI" plugin-peers SUBNET=10.81.0.0/24 ADD="$E2E_ADD" \
    >"$E2E_TMP/peers.conf" 2>&1
check "make plugin-peers prints the hub's peers for that seed" \
    cmp -s "$E2E_TMP/peers.conf" <(sed -n '/^\[Peer\]/,$p' "$E2E_TMP/hub.conf")

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
check "the device's control socket is in the plugin's state" test -S "$PSTATE/wireguard/$IF.sock"
check "host wg show sees the device through the documented bind mount" bash -c \
    "[ \"\$(unshare -m sh -c 'mount --bind $PSTATE/wireguard /run/wireguard && wg show $IF public-key')\" = '$PUB' ]"
check "state is written to the plugin's propagated mount" test -n "$(ls "$PSTATE/networks" 2>/dev/null)"
dk run -d --name pp --network mnet -p 18080:80 busybox sh -c \
    'mkdir -p /www; echo hello managed >/www/index.html; httpd -p 80 -h /www; exec sleep 600' >/dev/null \
    || fail "docker run -p with the managed plugin: $(dk_logs 20)"
check "-p 18080:80 through the managed plugin: page fetched from the host" \
    wait_for 15 bash -c "[ \"\$(ip netns exec $E2E_NS curl -sS --max-time 5 http://127.0.0.1:18080/)\" = 'hello managed' ]"
dk rm -f pp >/dev/null 2>&1

# managed_pid: the plugin's process (dockerd's child, in the test's netns).
managed_pid() {
    for p in $(ip netns pids "$E2E_NS"); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = wgvsock-plugin ] && echo $p; done | head -1
}
IFX=$(dk exec p1 cat /sys/class/net/wg0/ifindex)
# The process killed: Docker starts it again, the new one adopts p1's wg0.
old_pid=$(managed_pid)
check "the managed plugin's process is found ($old_pid)" test -n "$old_pid"
[ -n "$old_pid" ] && kill -9 "$old_pid"
check "Docker restarts the killed plugin" wait_for 30 bash -c \
    "p=\$(for q in \$(ip netns pids $E2E_NS); do [ \"\$(cat /proc/\$q/comm 2>/dev/null)\" = wgvsock-plugin ] && echo \$q; done | head -1); [ -n \"\$p\" ] && [ \"\$p\" != '$old_pid' ]"
check "after kill -9 of the plugin, p1 still pings the hub" wait_for 20 dk exec p1 ping -c 1 -W 2 "$HUB_ADDR"
check "after kill -9, p1's wg0 is the same interface (ifindex $IFX)" \
    test "$(dk exec p1 cat /sys/class/net/wg0/ifindex)" = "$IFX"
check "dockerd's log: p1's endpoint adopted" grep -q "endpoint ${EP:0:12} adopted" "$DK/dockerd.log"
# disable -f / enable with p1 running.
check "disable -f with p1 running" dk plugin disable -f wgvsock >/dev/null
check "enable again" dk plugin enable wgvsock >/dev/null
check "after disable/enable, p1 still pings the hub" wait_for 20 dk exec p1 ping -c 1 -W 2 "$HUB_ADDR"
check "after disable/enable, p1's wg0 is the same interface (ifindex $IFX)" \
    test "$(dk exec p1 cat /sys/class/net/wg0/ifindex)" = "$IFX"
check "hub pings p1 after disable/enable" in_ns ping -c 2 -w 15 "$IP"
check "stop" dk stop -t 2 p1 >/dev/null
dk rm p1 >/dev/null

# disable/enable with the network in place: the network must still work.
check "disable (forced: a network uses the plugin)" dk plugin disable -f wgvsock >/dev/null
check "enable again" dk plugin enable wgvsock >/dev/null
dk run -d --name p2 --network mnet busybox sleep 600 >/dev/null || fail "docker run after disable/enable: $(dk_logs 20)"
check "after disable/enable a new container pings the hub" dk exec p2 ping -c 2 -w 15 "$HUB_ADDR"
check "the seed is the same after disable/enable" test "$(sha256sum <"$SEEDF")" = "$SEED_SUM"
check "stop" dk stop -t 2 p2 >/dev/null
dk rm p2 >/dev/null

# docker plugin upgrade: a new version pushed to a registry of the test's own
# (docker-registry on 127.0.0.1:5000 in the test's netns), the running plugin
# upgraded in place: same ID, so the same seed and networks.
REG=127.0.0.1:5000
mkdir -p "$E2E_TMP/registry"
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
    "$E2E_TMP/registry" "$REG" >"$E2E_TMP/registry.yml"
in_ns docker-registry serve "$E2E_TMP/registry.yml" >"$E2E_TMP/registry.log" 2>&1 &
REG_PID=$!
e2e_defer "kill_wait $REG_PID 5"
wait_for 10 in_ns curl -sf "http://$REG/v2/" || { cat "$E2E_TMP/registry.log"; die "registry did not start"; }
make -s -C "$E2E_ROOT" BUILD="${BUILD:-build}" PLUGIN_DIR="$E2E_TMP/pdir-v2" DOCKER="$DK_CLI" \
    PLUGIN_NAME="$REG/wgvsock:2" plugin >"$E2E_TMP/make2.log" 2>&1 || { cat "$E2E_TMP/make2.log"; die "make plugin v2 failed"; }
check "docker plugin push of version 2" dk plugin push "$REG/wgvsock:2" >/dev/null
dk plugin rm "$REG/wgvsock:2" >/dev/null
ID=$(dk plugin inspect -f '{{.Id}}' wgvsock)
# pu runs across disable -f + upgrade + enable: version 2's process adopts its wg0.
dk run -d --name pu --network mnet busybox sleep 600 >/dev/null || fail "docker run before the upgrade: $(dk_logs 20)"
UEP=$(ct_epid pu mnet); UIP=$(ct_ip pu mnet)
check "pu pings the hub before the upgrade" wait_for 15 dk exec pu ping -c 1 -W 2 "$HUB_ADDR"
UIFX=$(dk exec pu cat /sys/class/net/wg0/ifindex)
old_pid=$(managed_pid)
log0=$(wc -l <"$DK/dockerd.log")
check "disable for the upgrade" dk plugin disable -f wgvsock >/dev/null
# The CLI asks before moving to another repository: answer yes.
check "docker plugin upgrade wgvsock $REG/wgvsock:2" bash -c "echo y | $DK_CLI plugin upgrade --grant-all-permissions wgvsock $REG/wgvsock:2 >/dev/null"
check "enable after the upgrade" dk plugin enable wgvsock >/dev/null
t0=$(date +%s%N)
wait_for 8 dk exec pu ping -c 1 -W 1 "$HUB_ADDR" >/dev/null 2>&1; rc=$?
back_ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc = 0 ] && log "after the upgrade pu's ping answered ${back_ms} ms after enable returned"
check "after the upgrade, pu pings the hub again within 8 s of enable (${back_ms} ms)" test $rc = 0
check "after the upgrade, pu's wg0 is the same interface (ifindex $UIFX)" \
    test "$(dk exec pu cat /sys/class/net/wg0/ifindex)" = "$UIFX"
new_pid=$(managed_pid)
check "a new plugin process runs after the upgrade ($old_pid -> $new_pid)" \
    test -n "$new_pid" -a -n "$old_pid" -a "$new_pid" != "$old_pid"
check "dockerd's log since the upgrade: pu's endpoint adopted" \
    bash -c "tail -n +$((log0 + 1)) '$DK/dockerd.log' | grep -q 'endpoint ${UEP:0:12} adopted'"
check "hub pings pu after the upgrade" in_ns ping -c 1 -w 10 "$UIP"
check "the plugin is now version 2 ($(dk plugin inspect -f '{{.PluginReference}}' wgvsock))" \
    bash -c "$DK_CLI plugin inspect -f '{{.PluginReference}}' wgvsock | grep -q '$REG/wgvsock:2'"
check "same plugin ID after the upgrade" test "$(dk plugin inspect -f '{{.Id}}' wgvsock)" = "$ID"
check "the seed is the same after the upgrade" test "$(sha256sum <"$SEEDF")" = "$SEED_SUM"
dk run -d --name p3 --network mnet busybox sleep 600 >/dev/null || fail "docker run after the upgrade: $(dk_logs 20)"
check "after the upgrade a new container on the old network pings the hub" dk exec p3 ping -c 2 -w 15 "$HUB_ADDR"
P3=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$(ct_ip p3 mnet)")
check "the hub has a handshake with its key from the kept seed" hub_handshake "$P3"
IF=wgv$(ct_epid p3 mnet | cut -c1-12)
check "stop" dk stop -t 2 p3 >/dev/null
dk rm p3 >/dev/null
dk rm -f pu >/dev/null
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
check "the plugin's state went with it" test ! -e "$PSTATE"
check "dockerd log (plugin output) has no seed" bash -c "! grep -qF '$SEED' '$DK/dockerd.log'"
[ "$E2E_FAILS" = 0 ] || dk_logs 40
e2e_finish
