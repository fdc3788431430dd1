# The hub side of an e2e test (sourced; needs tests/lib/e2e.sh first).
#
#   e2e_secrets                  seed and additional files ($E2E_SEED_FILE,
#                                $E2E_ADD_FILE, $E2E_ADD)
#   hub_start TRANSPORT [SUBNET] wgvsockd -n udp|tcp in $E2E_NS on loopback:
#                                hub key, `keyderive peers` for the subnet
#                                loaded with `wg setconf`, the gateway address
#                                as tunnel address.  Sets HUB_IF, HUB_PUB,
#                                HUB_PORT, HUB_ADDR (the tunnel address),
#                                HUB_SUBNET, HUB_PEER (endpoint for
#                                wgvsock.peer).
#   hub_handshake PUBKEY         seconds since the latest handshake with PUBKEY
#                                (fails if none)
#
# HUB_IMPL=wireguard-go (udp only) runs Debian's wireguard-go as the hub
# instead, for an interop check of the plugin against another implementation.

[ -n "${_HUB_SH:-}" ] && return 0
_HUB_SH=1

e2e_secrets() {
    E2E_SEED_FILE=$E2E_TMP/seed
    E2E_ADD_FILE=$E2E_TMP/additional
    head -c 32 /dev/urandom | base64 >"$E2E_SEED_FILE"
    head -c 16 /dev/urandom | base64 >"$E2E_ADD_FILE"
    chmod 600 "$E2E_SEED_FILE" "$E2E_ADD_FILE"
    E2E_ADD=$(cat "$E2E_ADD_FILE")
}

hub_start() {
    local transport=$1
    HUB_SUBNET=${2:-10.77.0.0/24}
    HUB_PORT=${HUB_PORT:-51820}
    [ -n "${E2E_NS:-}" ] || e2e_netns
    [ -n "${E2E_SEED_FILE:-}" ] || e2e_secrets
    e2e_need_tool wg
    e2e_need_bin keyderive
    # Unique: the control socket /var/run/wireguard/IF.sock is machine-wide.
    HUB_IF=wgh$(printf '%x' $$)$(printf '%03x' $((RANDOM % 4096)))
    HUB_ADDR=$(python3 -c "import ipaddress,sys; print(next(ipaddress.ip_network(sys.argv[1]).hosts()))" "$HUB_SUBNET")
    HUB_PREFIX=${HUB_SUBNET#*/}
    HUB_PEER=127.0.0.1:$HUB_PORT
    local log=$E2E_TMP/hub-$HUB_IF.log
    case ${HUB_IMPL:-wgvsockd} in
    wgvsockd)
        e2e_need_bin wgvsockd
        LOG_LEVEL=${HUB_LOG_LEVEL:-info} ip netns exec "$E2E_NS" "$E2E_BIN/wgvsockd" -f -n "$transport" "$HUB_IF" >"$log" 2>&1 &
        ;;
    wireguard-go)
        [ "$transport" = udp ] || die "HUB_IMPL=wireguard-go speaks udp only"
        e2e_need_tool wireguard-go
        LOG_LEVEL=${HUB_LOG_LEVEL:-error} ip netns exec "$E2E_NS" wireguard-go -f "$HUB_IF" >"$log" 2>&1 &
        ;;
    *) die "unknown HUB_IMPL ${HUB_IMPL}" ;;
    esac
    HUB_PID=$!
    e2e_defer "hub_stop $HUB_PID $HUB_IF"
    if ! wait_for 10 test -S "/var/run/wireguard/$HUB_IF.sock"; then
        cat "$log"
        die "hub ${HUB_IMPL:-wgvsockd} -n $transport $HUB_IF did not create its control socket"
    fi
    # A restarted hub keeps its key.
    [ -s "$E2E_TMP/hub.key" ] || (umask 077; wg genkey >"$E2E_TMP/hub.key")
    chmod 600 "$E2E_TMP/hub.key"
    HUB_PUB=$(wg pubkey <"$E2E_TMP/hub.key")
    {
        printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$E2E_TMP/hub.key")" "$HUB_PORT"
        keyderive --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" \
            peers --subnet "$HUB_SUBNET" --skip-gateway
    } >"$E2E_TMP/hub.conf" || die "keyderive peers failed"
    chmod 600 "$E2E_TMP/hub.conf"
    in_ns wg setconf "$HUB_IF" "$E2E_TMP/hub.conf" || die "wg setconf $HUB_IF failed"
    in_ns ip address add "$HUB_ADDR/$HUB_PREFIX" dev "$HUB_IF" || die "hub address"
    in_ns ip link set "$HUB_IF" up || die "hub link up"
    log "hub ${HUB_IMPL:-wgvsockd} $transport $HUB_IF on $HUB_PEER, tunnel $HUB_ADDR/$HUB_PREFIX, $(grep -c '^\[Peer\]' "$E2E_TMP/hub.conf") peers"
}

hub_stop() {
    kill_wait "$1" 5
    rm -f "/var/run/wireguard/$2.sock"
}

# hub_handshake PUBKEY: prints seconds since the latest handshake of that peer.
hub_handshake() {
    local t
    t=$(in_ns wg show "$HUB_IF" latest-handshakes | awk -v k="$1" '$1 == k { print $2 }')
    [ -n "$t" ] && [ "$t" != 0 ] || return 1
    echo $(($(date +%s) - t))
}

# hub_alive: the hub process still runs.
hub_alive() { proc_alive "$HUB_PID"; }
