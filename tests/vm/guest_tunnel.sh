# guest_tunnel.sh - runs INSIDE the QEMU guest (busybox sh), from
# test_vsock_tunnel.sh: two wgvsockd -n vsock, each in its own network
# namespace, talking over AF_VSOCK loopback (CID 1).  AF_VSOCK is not
# namespaced, so both reach local(1):PORT; their TUNs are in separate
# namespaces, so every ping and byte below crossed the vsock tunnel.
#
# Variables (set by the caller at the top): IPERF_SECS (0 = skip iperf3).
# shellcheck shell=sh disable=SC2154
set -u
PORT=5000
log() { echo "tunnel: $*"; }

# Namespaces held by a sleeping process each; nsenter -t PID -n runs in it.
unshare -n sleep 100000 &
NSA=$!
unshare -n sleep 100000 &
NSB=$!
unshare -n sleep 100000 &
NSC=$!
sleep 0.2
inA() { nsenter -t "$NSA" -n "$@"; }
inB() { nsenter -t "$NSB" -n "$@"; }
inC() { nsenter -t "$NSC" -n "$@"; }
inA ip link set lo up
inB ip link set lo up
inC ip link set lo up

umask 077
wg genkey > /tmp/a.key; wg pubkey < /tmp/a.key > /tmp/a.pub
wg genkey > /tmp/b.key; wg pubkey < /tmp/b.key > /tmp/b.pub
wg genkey > /tmp/c.key; wg pubkey < /tmp/c.key > /tmp/c.pub
PUB_A=$(cat /tmp/a.pub) PUB_B=$(cat /tmp/b.pub) PUB_C=$(cat /tmp/c.pub)

# start A|B [daemon options]: wgvsockd in the foreground of a background job
start() {
    side=$1; shift
    case $side in A) holder=$NSA ;; B) holder=$NSB ;; *) holder=$NSC ;; esac
    guest_wgvsockd "$holder" "wg$(echo "$side" | tr ABC abc)" "$@" || return 1
    eval "PID_$side=$GUEST_PID"
}
stop() {  # stop A|B [signal]
    eval "pid=\$PID_$1"
    kill -"${2:-TERM}" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
# B listens on PORT; A has no listen port configured and dials B at the
# dotted CID form wg(8) can parse: 0.0.0.1 = local(1).
conf_B() {
    wg set wgb private-key /tmp/b.key listen-port $PORT peer "$PUB_A" allowed-ips 10.9.0.1/32 &&
        inB ip addr add 10.9.0.2/24 dev wgb && inB ip link set wgb up
}
conf_A() {
    wg set wga private-key /tmp/a.key peer "$PUB_B" endpoint 0.0.0.1:$PORT allowed-ips 10.9.0.2/32 &&
        inA ip addr add 10.9.0.1/24 dev wga && inA ip link set wga up
}
restart_A() { start A && conf_A; }
ping_until() {  # ping_until A|B ADDR SECONDS
    end=$(( $(cut -d. -f1 /proc/uptime) + $3 ))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
        nsenter -t "$(case $1 in A) echo $NSA ;; B) echo $NSB ;; *) echo $NSC ;; esac)" -n \
            ping -c 1 -W 1 "$2" >/dev/null 2>&1 && return 0
    done
    return 1
}
# bulk MiB: A -> B through the tunnel, checked by md5sum (guest_lib.sh)
bulk() { guest_bulk "$1" 10.9.0.2 inA inB; }
endpoint_ok() {  # the peer endpoint B learnt from A's connection, as wg(8) shows it
    ep=$(wg show wgb endpoints | awk '{print $2}')
    log "wg show wgb endpoints: $ep"
    case $ep in 0.0.0.1:*) ;; *) return 1 ;; esac
    port=${ep#0.0.0.1:}
    [ "$port" -ge 1 ] && [ "$port" -le 65535 ]
}

log "=== two wgvsockd -n vsock over local(1):$PORT"
check "daemons start (B listener, A dialler)" start B && start A || { echo "FAIL"; exit 1; }
check "wg set B (listen-port $PORT)" conf_B
check "wg set A (endpoint 0.0.0.1:$PORT = local(1))" conf_A
check "wg show B reports listen port $PORT" sh -c "wg show wgb listen-port | grep -qx $PORT"
# A set no listen-port: like the kernel, it gets an ephemeral one, which
# on vsock must be a 16-bit port we pick (Linux would hand out 32-bit
# ones, and binding failed with EADDRNOTAVAIL before transport_stream
# picked them itself, failing this whole `wg set`)
ephemeral_ok() {
    p=$(wg show wga listen-port)
    log "A's ephemeral listen port: $p"
    [ "$p" -ge 32768 ] && [ "$p" -le 60999 ]
}
check "A without listen-port reports an ephemeral 16-bit port" ephemeral_ok
check "wg show A endpoint is the dotted CID" sh -c "wg show wga endpoints | grep -q '0.0.0.1:$PORT'"
check "handshake + ping A -> B" ping_until A 10.9.0.2 20
check "ping B -> A (reply path on A's connection)" sh -c "nsenter -t $NSB -n ping -c 3 -W 2 10.9.0.1 >/dev/null"
check "B's endpoint for A is 0.0.0.1:<16-bit port>" endpoint_ok
check "latest handshake recorded" sh -c "wg show wga latest-handshakes | awk '{exit !(\$2 > 0)}'"
check "wg showconf | wg syncconf round trip" sh -c "wg showconf wga > /tmp/a.conf && wg syncconf wga /tmp/a.conf"
check "bulk 4 MiB A -> B, md5 matches" bulk 4
if [ "${IPERF_SECS:-0}" -gt 0 ] && command -v iperf3 >/dev/null; then
    inB iperf3 -s -1 -B 10.9.0.2 >/dev/null 2>&1 &
    sleep 0.5
    out=$(inA iperf3 -c 10.9.0.2 -t "$IPERF_SECS" -f m 2>&1)
    rate=$(echo "$out" | awk '/receiver/{print $(NF-2)}' | tail -1)
    echo "VSOCK_TUNNEL_THROUGHPUT ${rate:-0} Mbit/s (iperf3 -t $IPERF_SECS through wgvsockd over vsock, emulated guest)"
    check "iperf3 through the vsock tunnel" [ -n "$rate" ]
fi

log "=== hostile streams at B's listener (bad CRC, cut frame, random bytes, random messages, 64 connections)"
check "hostile streams sent" vsock_stream_check -g $PORT
check "B survived" kill -0 "$PID_B"
check "the tunnel still works" ping_until A 10.9.0.2 10

log "=== SIGKILL B (the listener), restart and reconfigure it; A is not touched"
stop B KILL
check "B restarted" start B
check "B reconfigured" conf_B
check "A redials, handshakes, ping A -> B resumes" ping_until A 10.9.0.2 25
check "bulk 1 MiB after the restart, md5 matches" bulk 1

log "=== SIGKILL A (the dialler), restart it"
stop A KILL
check "A restarted + configured" restart_A
check "ping A -> B after A's restart" ping_until A 10.9.0.2 20
check "ping B -> A on A's new connection" ping_until B 10.9.0.1 10

log "=== no-CRC mode (wireguard-go-vsock <= v0.2.3 peers), both sides --no-crc"
stop A; stop B
start_no_crc() { start B --no-crc && start A --no-crc && conf_B && conf_A; }
check "daemons start with --no-crc, configured" start_no_crc
check "ping A -> B without CRC" ping_until A 10.9.0.2 20
# without a CRC, random bytes parse as frames: the engine gets junk messages
check "hostile streams at the no-CRC listener" vsock_stream_check -g $PORT
check "no-CRC B survived" kill -0 "$PID_B"
check "no-CRC tunnel still works" ping_until A 10.9.0.2 10
stop A
# A frames without CRC, B expects CRC: B must drop every connection (the
# mode is explicit, never guessed), so nothing gets through
mismatch() {
    stop B; start B && conf_B >/dev/null 2>&1 && start A --no-crc && conf_A >/dev/null 2>&1 || return 1
    # 6 s: the first initiation (150 bytes) reads as an incomplete CRC
    # frame; the retry after 5 s completes it and fails the CRC
    ! ping_until A 10.9.0.2 6
}
check "mismatched framing (A --no-crc, B CRC) passes no traffic" mismatch
check "...B closed A's connections for their bad CRC" grep -q "bad frame CRC" /tmp/wgb.log
stop A; stop B

log "=== hub: B listens, A and C both dial local(1):$PORT (one listener, two peers)"
hub() {
    start B && start A && start C || return 1
    wg set wgb private-key /tmp/b.key listen-port $PORT \
        peer "$PUB_A" allowed-ips 10.9.0.1/32 peer "$PUB_C" allowed-ips 10.9.0.3/32 &&
        inB ip addr add 10.9.0.2/24 dev wgb && inB ip link set wgb up &&
        inB sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' || return 1
    wg set wga private-key /tmp/a.key peer "$PUB_B" endpoint 0.0.0.1:$PORT allowed-ips 10.9.0.0/24 &&
        inA ip addr add 10.9.0.1/24 dev wga && inA ip link set wga up || return 1
    wg set wgc private-key /tmp/c.key peer "$PUB_B" endpoint 0.0.0.1:$PORT allowed-ips 10.9.0.0/24 &&
        inC ip addr add 10.9.0.3/24 dev wgc && inC ip link set wgc up
}
check "hub and two peers up" hub
check "ping A -> hub" ping_until A 10.9.0.2 20
check "ping C -> hub" ping_until C 10.9.0.2 20
check "ping A -> C through the hub" ping_until A 10.9.0.3 10
check "hub shows two 0.0.0.1 endpoints (distinct source ports)" \
    sh -c "[ \$(wg show wgb endpoints | grep -c '0.0.0.1:') = 2 ] && [ \$(wg show wgb endpoints | awk '{print \$2}' | sort -u | wc -l) = 2 ]"
wg show wgb endpoints
stop A; stop B; stop C
check "daemons exited and removed their sockets" sh -c "! ls /var/run/wireguard/*.sock 2>/dev/null"
# an ASan/UBSan build (make asan) reports into the daemons' logs
check "no sanitizer reports in the daemon logs" \
    sh -c "! grep -l 'AddressSanitizer\|LeakSanitizer\|runtime error' /tmp/wga.log /tmp/wgb.log /tmp/wgc.log"

if [ $fails -gt 0 ]; then
    for f in /tmp/wga.log /tmp/wgb.log /tmp/wgc.log; do echo "--- $f (last 25 lines)"; tail -25 "$f"; done
fi
kill $NSA $NSB $NSC 2>/dev/null
echo "tunnel: $checks checks, $fails failed"
[ $fails = 0 ]
