#!/bin/bash
# e2e: 20 containers started concurrently on one wgvsock network all reach
# the hub (and the hub each of them); stopping them leaves no interfaces,
# control sockets or plugin state behind; docker network rm works.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool ping python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin
N=${E2E_MANY:-20}

e2e_netns
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.78.0.0/24
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
# engine wgcore even where the host has kernel WireGuard: this test counts
# the plugin's own TUN fds, UDP sockets and control sockets
wgnet_create many -o wgvsock.transport=udp -o wgvsock.engine=wgcore >/dev/null || die "network create failed"

# the plugin's own UDP sockets and TUN fds, to prove stop releases them
pl_udp() { in_ns ss -Huanp 2>/dev/null | grep -c "pid=$PL_PID," || true; }
pl_tun() { ls -l /proc/$PL_PID/fd 2>/dev/null | grep -c '/dev/net/tun' || true; }
udp_before=$(pl_udp)
t0=$SECONDS
for i in $(seq 1 $N); do
    dk run -d --name m$i --network many busybox sleep 600 >"$E2E_TMP/run$i.out" 2>&1 &
    pids[$i]=$!
done
for i in $(seq 1 $N); do wait "${pids[$i]}"; done   # not plain wait: the hub and plugin are children too
log "$N containers started concurrently in $((SECONDS - t0)) s"
started=0
for i in $(seq 1 $N); do
    if [ "$(dk inspect -f '{{.State.Running}}' m$i 2>/dev/null)" = true ]; then
        started=$((started + 1))
    else
        fail "m$i did not start: $(cat "$E2E_TMP/run$i.out")"
    fi
done
check "all $N containers running ($started)" test $started = $N

declare -A IFS_OF IP_OF
for i in $(seq 1 $N); do
    IP_OF[$i]=$(ct_ip m$i many); ep=$(ct_epid m$i many); IFS_OF[$i]=wgv${ep:0:12}
done
check "$N distinct addresses" test "$(printf '%s\n' "${IP_OF[@]}" | sort -u | wc -l)" = $N

# every container pings the hub, all at the same time
t0=$SECONDS
for i in $(seq 1 $N); do
    dk exec m$i ping -c 2 -w 20 "$HUB_ADDR" >"$E2E_TMP/ping$i.out" 2>&1 &
    pids[$i]=$!
done
ok=0
for i in $(seq 1 $N); do
    if wait "${pids[$i]}"; then ok=$((ok + 1)); else fail "m$i (${IP_OF[$i]}) cannot ping the hub: $(tail -2 "$E2E_TMP/ping$i.out")"; fi
done
check "all $N containers reach the hub ($ok), in $((SECONDS - t0)) s" test $ok = $N
hs=0
for i in $(seq 1 $N); do
    pub=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "${IP_OF[$i]}")
    hub_handshake "$pub" >/dev/null && hs=$((hs + 1))
done
check "hub has a handshake with each of the $N derived keys ($hs)" test $hs = $N
ok=0
for i in $(seq 1 $N); do in_ns ping -c 1 -w 5 "${IP_OF[$i]}" >/dev/null && ok=$((ok + 1)); done
check "the hub reaches all $N containers ($ok)" test $ok = $N
check "the host lists $N container devices" \
    test "$(for i in $(seq 1 $N); do [ -S "/var/run/wireguard/${IFS_OF[$i]}.sock" ] && echo; done | wc -l)" = $N

udp_running=$(pl_udp); tun_running=$(pl_tun)
check "plugin has a TUN fd per container ($tun_running)" test "$tun_running" -ge $N
check "plugin has a UDP socket per container ($udp_running)" test "$udp_running" -ge $((udp_before + N))

# stop all concurrently: nothing may remain
t0=$SECONDS
for i in $(seq 1 $N); do dk stop -t 1 m$i >/dev/null 2>&1 & pids[$i]=$!; done
for i in $(seq 1 $N); do wait "${pids[$i]}"; done
log "stopped in $((SECONDS - t0)) s"
check "stop of $N containers takes < 90 s" test $((SECONDS - t0)) -lt 90
running=$(dk ps -q | wc -l)
check "no container running ($running)" test "$running" = 0
left=$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | grep '^wgv' | tr '\n' ' ' || true)
check "no wgv* interface left in the host namespace ($left)" test -z "$left"
socks=0
for i in $(seq 1 $N); do [ -e "/var/run/wireguard/${IFS_OF[$i]}.sock" ] && socks=$((socks + 1)); done
check "no control socket left ($socks)" test $socks = 0
udp_after=$(pl_udp); tun_after=$(pl_tun)
log "plugin UDP sockets: $udp_before before, $udp_running running, $udp_after after; TUN fds: $tun_running running, $tun_after after"
check "plugin's UDP sockets back to $udp_before after stop ($udp_after; $udp_running while running)" \
    test "$udp_after" = "$udp_before"
check "plugin holds no TUN fd after stop ($tun_after; $tun_running while running)" test "$tun_after" = 0
dk rm $(seq -f 'm%g' 1 $N) >/dev/null
check "docker network rm" dk network rm many >/dev/null
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
check "plugin alive" proc_alive "$PL_PID"
e2e_finish
