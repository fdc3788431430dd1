#!/bin/bash
# e2e: dockerd restarted with "live-restore": true while containers ping the
# hub and hold a TCP connection through their tunnels: the containers keep
# running and keep their tunnel (same wg0, the TCP connection survives), and
# Docker's later calls are answered (a stop leaves nothing behind, a new
# container works).  Then dockerd and the plugin are both down at once
# (plugin SIGKILLed during the dockerd restart): the tunnels come back too.
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
. "$(dirname "$0")/../lib/adopt.sh"
e2e_need_root
e2e_need_tool ping python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin

e2e_netns
DK_DAEMON_JSON='{"live-restore": true}' dk_start
dk_busybox
e2e_secrets
hub_start udp 10.83.0.0/24
watch_listen
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create lnet -o wgvsock.transport=udp >/dev/null || die "network create failed"
CTS="l1 l2"
t_start=$(date +%s)     # no plugin restart in part 1: any handshake since
for c in $CTS; do watch_run "$c" lnet || die "container $c"; done

# 1. dockerd alone.
ids=$(dk ps -q --no-trunc | sort)
watch_outage_begin $CTS
dk_restart
check "live-restore: the same containers run" test "$(dk ps -q --no-trunc | sort)" = "$ids"
watch_back "after dockerd's restart" "$(now_ms)" 5000 "$t_start" $CTS
EP2=$(ct_epid l2 lnet)
t0=$SECONDS
check "docker stop after dockerd's restart" dk stop -t 1 l2 >/dev/null
check "answered promptly ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 10
dk rm l2 >/dev/null
check "l2's endpoint state is gone" wait_for 5 test ! -e "$PL_STATE/endpoints/$EP2.json"
check "l2's interface is gone" bash -c "! ip -n $E2E_NS -d -o link | grep -q '$EP2'"
check "a new container after dockerd's restart" dk run -d --name l3 --network lnet busybox sleep 600
check "it reaches the hub" dk exec l3 ping -c 2 -w 15 "$HUB_ADDR"

# 2. dockerd and the plugin down together.
CTS=l1
t_kill=$(now_ms)
proc_kill -KILL "$PL_PID"; wait "$PL_PID" 2>/dev/null
sleep 0.3
watch_outage_begin l1
dk_restart
since=$(date +%s)
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
down=$(($(now_ms) - t_kill))
watch_back "plugin killed (down $down ms) during a dockerd restart" "$t_kill" $((down + 3000)) "$since" l1
check "l3 reaches the hub" dk exec l3 ping -c 2 -w 15 "$HUB_ADDR"
for c in l1 l3; do check "docker rm -f $c" dk rm -f "$c"; done >/dev/null
check "docker network rm" dk network rm lnet >/dev/null
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
left=$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | grep '^wgv' | tr '\n' ' ' || true)
check "no wgv* interface left ($left)" test -z "$left"
check "no sanitizer report in the plugin log (make asan)" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$PL_LOG'"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 40 "$PL_LOG"; echo "--- dockerd"; dk_logs 30; }
e2e_finish
