# Watching containers' tunnels across plugin outages (sourced after e2e.sh,
# docker.sh and hub.sh; the hub must run).
#
#   watch_listen                   the TCP listener at the hub's tunnel address
#   watch_run NAME NET             a container that pings the hub every 0.2 s
#                                  and holds one TCP connection to the listener
#                                  (a line every 0.5 s); records its wg0
#                                  ifindex and public key
#   watch_outage_begin NAME...     remember the pings' sequence numbers
#   watch_recovered T0 LIMIT NAME... wait until each ping answers again (a
#                                  newer sequence number); ms since T0 in
#                                  WATCH_TOOK_<name>
#   watch_back WHAT T0 LIMIT SINCE NAME...  watch_recovered + a check per
#                                  container + watch_intact: the outage's verdict
#   watch_intact NAME              same wg0 ifindex, TCP connection still open
#                                  and still carrying lines, hub handshake
#                                  with the same public key since the outage
# The ping's "seq=N" lines go to the container's log; busybox ping says
# nothing for an unanswered one, so a newer seq means traffic passed again.

WATCH_PORT=7777

watch_listen() {
    WATCH_DIR=$E2E_TMP/tcp
    mkdir -p "$WATCH_DIR"
    in_ns python3 "$E2E_ROOT/tests/lib/tcp_hold.py" "$HUB_ADDR" "$WATCH_PORT" "$WATCH_DIR" \
        >"$E2E_TMP/tcp_hold.log" 2>&1 &
    WATCH_PID=$!
    e2e_defer "kill_wait $WATCH_PID 5"
}

watch_answered() { [ -n "$(watch_seq "$1")" ]; }
watch_seq() { dk logs --tail 5 "$1" 2>&1 | grep -o 'seq=[0-9]*' | tail -1 | cut -d= -f2; }
watch_ifindex() { dk exec "$1" cat /sys/class/net/wg0/ifindex 2>/dev/null; }
watch_tcp() { cat "$WATCH_DIR/$(ct_ip "$1" "$WATCH_NET")" 2>/dev/null; }
watch_lines() { watch_tcp "$1" | awk '{print $1}'; }

watch_run() {
    local name=$1 ep
    WATCH_NET=$2
    dk run -d --name "$name" --network "$WATCH_NET" busybox sh -c \
        "ping -i 0.2 $HUB_ADDR & while sleep 0.5; do echo x; done | nc $HUB_ADDR $WATCH_PORT" \
        >/dev/null || { fail "docker run $name: $(tail -3 "$PL_LOG")"; return 1; }
    wait_for 40 watch_answered "$name" ||
        { fail "$name: no ping answer: $(dk logs --tail 3 "$name" 2>&1 | tr '\n' ' ')"; tail -n 20 "$PL_LOG"; return 1; }
    wait_for 20 grep -q open "$WATCH_DIR/$(ct_ip "$name" "$WATCH_NET")" || { fail "$name: no TCP"; return 1; }
    ep=$(ct_epid "$name" "$WATCH_NET")
    eval "WATCH_IFX_$name=$(watch_ifindex "$name")"
    eval "WATCH_KEY_$name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["PublicKey"])' "$PL_STATE/endpoints/$ep.json")"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# watch_outage_begin NAME...: the ping sequence numbers now (call right
# after the plugin died: no reply comes until a plugin is back).
watch_outage_begin() {
    local c
    for c; do eval "WATCH_S0_$c=\$(watch_seq $c)"; done
}
# watch_recovered T0_MS LIMIT_MS NAME...: waits until every container's
# ping answered again; sets WATCH_TOOK_<name> to the ms since T0_MS (or
# "never" after LIMIT_MS).
watch_recovered() {
    local t0=$1 limit=$2 c s s0 left; shift 2
    for c; do eval "WATCH_TOOK_$c=never"; done
    while :; do
        left=0
        for c; do
            eval "[ \"\$WATCH_TOOK_$c\" = never ]" || continue
            eval "s0=\$WATCH_S0_$c"
            s=$(watch_seq "$c")
            if [ -n "$s" ] && [ "$s" != "$s0" ]; then
                eval "WATCH_TOOK_$c=$(($(now_ms) - t0))"
            else
                left=$((left + 1))
            fi
        done
        [ $left = 0 ] && return 0
        [ $(($(now_ms) - t0)) -gt "$limit" ] && return 1
        sleep 0.1
    done
}

watch_open() { watch_tcp "$1" | grep -q ' open$'; }
watch_more() { [ "$(watch_lines "$1")" -gt "$2" ]; }

# watch_intact NAME SINCE: SINCE = $(date +%s) when the new plugin started.
watch_intact() {
    local name=$1 since=$2 ifx key l0 age
    eval "ifx=\$WATCH_IFX_$name key=\$WATCH_KEY_$name"
    check "$name: wg0 ifindex unchanged ($ifx)" test "$(watch_ifindex "$name")" = "$ifx"
    check "$name: TCP connection still open ($(watch_tcp "$name"))" watch_open "$name"
    l0=$(watch_lines "$name")
    check "$name: TCP connection carries lines again" wait_for 10 watch_more "$name" "${l0:-0}"
    age=$(hub_handshake "$key")
    check "$name: hub handshook with the same key since the restart (${age:-never} s ago)" \
        test -n "$age" -a "${age:-99}" -le $(($(date +%s) - since + 1))
}

# watch_back WHAT T0 LIMIT SINCE NAME...: after an outage that began at T0
# (ms), every container's ping answers within LIMIT ms of it and its tunnel is
# intact (watch_intact, handshakes since SINCE, seconds); logs the times.
watch_back() {
    local what=$1 t0=$2 limit=$3 since=$4 c took; shift 4
    watch_recovered "$t0" "$limit" "$@"
    log "$what: pings back after (ms):$(for c; do eval "printf ' %s=%s' $c \$WATCH_TOOK_$c"; done)"
    for c; do
        eval "took=\$WATCH_TOOK_$c"
        check "$what: $c pings again $took ms after the outage began (limit $limit ms)" test "$took" != never
        watch_intact "$c" "$since"
    done
}
