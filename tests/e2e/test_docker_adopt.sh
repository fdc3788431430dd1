#!/bin/bash
# e2e: the containers' tunnels outlive the plugin process.  Three containers
# ping the hub and hold a TCP connection through their tunnel while the
# plugin is killed with SIGKILL and started again, five times: each time
# every ping answers again within the plugin's down time + 3 s, the TCP
# connections survive, wg0 keeps its ifindex and the hub handshakes with the
# same keys.  The same for SIGTERM followed by another binary (an upgrade).
# A plugin without CAP_SYS_ADMIN adopts nothing and deletes nothing.
# Then a container is stopped while the plugin is down: the stop
# is answered once the plugin is back and leaves nothing behind (state file,
# control socket, interface).
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
. "$(dirname "$0")/../lib/adopt.sh"
e2e_need_root
e2e_need_tool ping python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin

e2e_netns
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.81.0.0/24
watch_listen
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create anet -o wgvsock.transport=udp >/dev/null || die "network create failed"
CTS="c1 c2 c3"
for c in $CTS; do watch_run "$c" anet || die "container $c"; done
log "containers up: $(for c in $CTS; do printf '%s wg0=%s ' "$c" "$(watch_ifindex "$c")"; done)"

for round in 1 2 3 4 5; do
    t_kill=$(now_ms)
    proc_kill -KILL "$PL_PID"; wait "$PL_PID" 2>/dev/null
    sleep 0.5
    watch_outage_begin $CTS
    sleep 0.5
    since=$(date +%s)
    plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
    down=$(($(now_ms) - t_kill))
    watch_back "round $round (plugin down $down ms)" "$t_kill" $((down + 3000)) "$since" $CTS
    check "round $round: containers still running" test "$(dk ps -q | wc -l)" = 3
done
log "$(grep -c ' adopted: ' "$PL_LOG") adoptions in the plugin log"

# An upgrade: SIGTERM, then another binary (a copy at another path).
cp "$E2E_BIN/wgvsock-plugin" "$E2E_TMP/wgvsock-plugin-new"
t_kill=$(now_ms)
proc_kill -TERM "$PL_PID"; wait "$PL_PID" 2>/dev/null
check "SIGTERM: the plugin says it leaves the interfaces" grep -q "interfaces stay for the next start" "$PL_LOG"
for c in $CTS; do check "SIGTERM: $c still has wg0 ($(watch_ifindex "$c"))" test -n "$(watch_ifindex "$c")"; done
watch_outage_begin $CTS
since=$(date +%s)
PL_BIN=$E2E_TMP/wgvsock-plugin-new plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
down=$(($(now_ms) - t_kill))
watch_back "upgrade (plugin down $down ms)" "$t_kill" $((down + 3000)) "$since" $CTS
check "the new binary runs" grep -q "wgvsock-plugin-new" "/proc/$PL_PID/cmdline"

# Without CAP_SYS_ADMIN the plugin cannot enter the containers' namespaces:
# it must adopt nothing and delete nothing, and a later start with it adopts.
proc_kill -KILL "$PL_PID"; wait "$PL_PID" 2>/dev/null
PL_WRAP="setpriv --bounding-set -all,+net_admin --inh-caps -all" plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
check "CAP_NET_ADMIN only: the plugin says it cannot look" wait_for 10 grep -q "scan was incomplete" "$PL_LOG"
check "CAP_NET_ADMIN only: every endpoint is kept" test "$(ls "$PL_STATE/endpoints" | wc -l)" = 3
for c in $CTS; do check "CAP_NET_ADMIN only: $c keeps its wg0" test "$(watch_ifindex "$c")" = "$(eval echo \$WATCH_IFX_$c)"; done
proc_kill -KILL "$PL_PID"; wait "$PL_PID" 2>/dev/null
watch_outage_begin $CTS
t_kill=$(now_ms) since=$(date +%s)
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
watch_back "then with CAP_SYS_ADMIN" "$t_kill" 5000 "$since" $CTS

# A container stopped while the plugin is down.
EP3=$(ct_epid c3 anet)
IF3=wgv${EP3:0:12}
proc_kill -KILL "$PL_PID"; wait "$PL_PID" 2>/dev/null
t0=$SECONDS
dk stop -t 1 c3 >"$E2E_TMP/stop.out" 2>&1 &
stop_pid=$!
sleep 3
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
t1=$SECONDS
wait $stop_pid
check "docker stop during the outage succeeds ($(cat "$E2E_TMP/stop.out"))" test $? = 0
check "and is answered soon after the plugin is back ($((SECONDS - t1)) s)" test $((SECONDS - t1)) -le 10
dk rm c3 >/dev/null
check "c3's endpoint state is gone" wait_for 5 test ! -e "$PL_STATE/endpoints/$EP3.json"
check "c3's control socket is gone" wait_for 5 test ! -e "/var/run/wireguard/$IF3.sock"
check "c3's interface is gone" bash -c "! ip -n $E2E_NS -o link | grep -q 'wgvsock:$EP3'; ! ip -n $E2E_NS link show $IF3 2>/dev/null"
check "c3's interface is gone (alias nowhere)" bash -c "! ip -n $E2E_NS -d -o link | grep -q '$EP3'"
for c in c1 c2; do watch_intact "$c" "$((t1 - 1))"; done

for c in c1 c2; do dk rm -f "$c" >/dev/null; done
check "docker network rm" dk network rm anet >/dev/null
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
left=$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | grep '^wgv' | tr '\n' ' ' || true)
check "no wgv* interface left ($left)" test -z "$left"
check "no sanitizer report in the plugin log (make asan)" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$PL_LOG'"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 60 "$PL_LOG"; }
e2e_finish
