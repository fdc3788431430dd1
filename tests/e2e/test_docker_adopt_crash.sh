#!/bin/bash
# e2e: the plugin crashes in the middle of Docker's calls.  First at each
# named step (WGVSOCK_CRASH_AT: CreateEndpoint's file written; Join's file
# written; Join's interface made but not answered; DeleteEndpoint's interface
# deleted but not its file), then killed with SIGKILL at a random moment
# while several `docker run` go on at once, three times.  After each restart:
# every running container reaches the hub through its tunnel (none is left
# running without one); once the adoption grace time has passed, nothing is
# left of the endpoints that did not make it (state file, control socket,
# interface in the plugin's namespace).
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
hub_start udp 10.82.0.0/24
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
wgnet_create xnet -o wgvsock.transport=udp >/dev/null || die "network create failed"
LAST_START=$SECONDS

restart_plugin() {  # SIGKILL the plugin (if still alive), start a new one
    proc_kill -KILL "$PL_PID" 2>/dev/null; wait "$PL_PID" 2>/dev/null
    plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE" "$@"
    LAST_START=$SECONDS
}

# consistent WHAT: every running container pings the hub; the others go.
consistent() {
    local what=$1 c n=0 bad=""
    for c in $(dk ps -a --format '{{.Names}}'); do
        if [ "$(dk inspect -f '{{.State.Running}}' "$c")" = true ]; then
            n=$((n + 1))
            dk exec "$c" ping -c 1 -W 5 "$HUB_ADDR" >/dev/null 2>&1 || bad="$bad $c"
        else
            dk rm -f "$c" >/dev/null 2>&1
        fi
    done
    check "$what: all $n running containers reach the hub${bad:+ (not:$bad)}" test -z "$bad"
}

# ---- a crash at each named step ----
i=0
for point in create:saved join:saved join:created delete:destroyed; do
    i=$((i + 1))
    if [ $point = delete:destroyed ]; then
        dk run -d --name "d$i" --network xnet busybox sleep 600 >/dev/null || fail "run d$i"
    fi
    proc_kill -TERM "$PL_PID"; wait "$PL_PID" 2>/dev/null
    plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE" WGVSOCK_CRASH_AT=$point
    if [ $point = delete:destroyed ]; then
        timeout 120 "$DK_CLI" rm -f "d$i" >"$E2E_TMP/run-$i.log" 2>&1 &
    else
        timeout 120 "$DK_CLI" run -d --name "n$i" --network xnet busybox sleep 600 >"$E2E_TMP/run-$i.log" 2>&1 &
    fi
    job=$!
    check "$point: the plugin crashed there" wait_for 30 bash -c "! kill -0 $PL_PID 2>/dev/null"
    restart_plugin
    wait $job
    log "$point: docker said: $(tail -1 "$E2E_TMP/run-$i.log" | cut -c1-150)"
    consistent "$point"
done

# ---- SIGKILL at a random moment during concurrent docker runs ----
for round in 1 2 3; do
    pids=()
    for k in 1 2 3 4 5 6 7 8; do
        timeout 120 "$DK_CLI" run -d --name "r${round}_$k" --network xnet busybox sleep 600 \
            >"$E2E_TMP/r$round-$k.log" 2>&1 &
        pids+=($!)
    done
    sleep "0.$((RANDOM % 7))$((RANDOM % 10))"
    log "round $round: SIGKILL with $(grep -c 'NetworkDriver.Join' "$PL_LOG") Joins in the log"
    restart_plugin
    wait "${pids[@]}"
    log "round $round: $(cat "$E2E_TMP"/r$round-*.log | grep -c '^[0-9a-f]\{64\}$') runs succeeded, $(dk ps -q | wc -l) containers running; errors: $(cat "$E2E_TMP"/r$round-*.log | grep -v '^[0-9a-f]\{64\}$' | cut -c1-120 | sort | uniq -c | tr '\n' ';')"
    consistent "round $round"
done

# ---- nothing left of what did not make it (after the grace time) ----
t=$((LAST_START + 17 - SECONDS)); [ $t -gt 0 ] && sleep $t
running_eps=$(for c in $(dk ps --format '{{.Names}}'); do ct_epid "$c" xnet; done | sort)
saved_eps=$(ls "$PL_STATE/endpoints" | sed 's/\.json$//' | sort)
check "state files = running containers' endpoints ($(echo $saved_eps | wc -w) vs $(echo $running_eps | wc -w))" \
    test "$saved_eps" = "$running_eps"
left=$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | grep '^wgv' | tr '\n' ' ' || true)
check "no wgv* interface left in the plugin's namespace ($left)" test -z "$left"
stale=""
for id in $(grep -o 'endpoint [0-9a-f]\{12\}' "$PL_LOG" | awk '{print $2}' | sort -u); do
    echo "$running_eps" | grep -q "^$id" && continue
    [ -e "/var/run/wireguard/wgv$id.sock" ] && stale="$stale wgv$id"
done
check "no control socket of a gone endpoint left ($stale)" test -z "$stale"
consistent "at the end"

dk ps -aq | xargs -r timeout 120 "$DK_CLI" rm -f >/dev/null
check "docker network rm" dk network rm xnet >/dev/null
check "no endpoint or network state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
check "no sanitizer report in the plugin log (make asan)" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$PL_LOG'"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 80 "$PL_LOG"; }
e2e_finish
