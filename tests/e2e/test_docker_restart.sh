#!/bin/bash
# e2e: the plugin is killed with SIGKILL while a container runs on its
# network, and restarted on the same state directory.  Docker replays nothing,
# so the network must come back from the plugin's state: new containers work,
# and the old container (whose tunnel the new process adopted) stops promptly
# without errors; its endpoint's teardown is accepted though the new process
# never created it.
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
hub_start udp 10.80.0.0/24
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create rnet -o wgvsock.transport=udp >/dev/null || die "network create failed"
dk run -d --name old --network rnet busybox sleep 600 >/dev/null || die "docker run failed"
check "old container reaches the hub" dk exec old ping -c 2 -w 15 "$HUB_ADDR"
OLD_EP=$(ct_epid old rnet)

log "SIGKILL plugin $PL_PID"
proc_kill -KILL "$PL_PID"; wait "$PL_PID" 2>/dev/null
check "the dead plugin's socket file is still there (stale)" test -S "$PL_SOCK"
t0=$SECONDS
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
check "restart on a stale socket is fast ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 8
# a second instance on the same socket must refuse to start
ip netns exec "$E2E_NS" "$E2E_BIN/wgvsock-plugin" --socket "$PL_SOCK" --state-dir "$E2E_TMP/state2" \
    >"$E2E_TMP/second.log" 2>&1 &
second=$!
sleep 2
if proc_alive "$second"; then fail "a second plugin started on a live socket"; kill_wait $second; else
    wait $second; check "second instance exits non-zero" test $? != 0; fi
check "first instance still answers" plugin_answers

dk run -d --name new --network rnet busybox sleep 600 >/dev/null || fail "docker run after restart: $(tail -5 "$PL_LOG")"
NEW_IP=$(ct_ip new rnet)
check "new container has exactly lo and wg0" test "$(ct_links new)" = "lo wg0"
check "new container reaches the hub after the restart" dk exec new ping -c 2 -w 15 "$HUB_ADDR"
check "hub reaches the new container" in_ns ping -c 2 -w 15 "$NEW_IP"

t0=$SECONDS
out=$(dk stop -t 2 old 2>&1)
rc=$?
check "old container stops without error ($out)" test $rc = 0
check "old container stops promptly ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 15
check "old container can be removed" dk rm old >/dev/null
check "old endpoint's state is gone" bash -c "! ls '$PL_STATE/endpoints' | grep -q '$OLD_EP'"
check "new container still fine" dk exec new ping -c 1 -w 10 "$HUB_ADDR"

# the restarted plugin also restarts: SIGTERM this time, then stop new
plugin_stop now
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
t0=$SECONDS
check "new container stops after a second restart" dk stop -t 2 new >/dev/null
check "promptly ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 15
dk rm new >/dev/null
check "docker network rm after restarts" dk network rm rnet >/dev/null
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
left=$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | grep '^wgv' | tr '\n' ' ' || true)
check "no wgv* interface left ($left)" test -z "$left"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 40 "$PL_LOG"; }
e2e_finish
