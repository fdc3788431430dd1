# guest_plugin_kernel.sh - runs INSIDE the QEMU guest (busybox sh), from
# test_kernel_wg.sh, after guest_kernel_wg.sh: wgvsock-plugin itself, driven
# over its unix socket with curl in libnetwork's call order, a network
# namespace as the container's sandbox and `wgvsockd -n udp` as the hub.
# With wireguard.ko loaded, engine=auto gives the sandbox a kernel wg0 that
# keeps working while the plugin is SIGKILLed and restarted; after rmmod,
# auto falls back to wgcore and engine=kernel is refused.
# shellcheck shell=sh
set -u
log() { echo "plugin-kernel: $*"; }
T=wg_netlink_tool
SOCK=/run/wgvsock.sock
PLOG=/tmp/plugin.log
HUBPORT=51820 GW=10.7.0.1

SANDBOX=$(guest_netns)
inS() { nsenter -t "$SANDBOX" -n "$@"; }

umask 077
head -c 32 /dev/urandom | base64 > /tmp/seed
wg genkey > /tmp/hub.key
HUB_PUB=$(wg pubkey < /tmp/hub.key)

# call METHOD BODY -> the reply on stdout
call() {
    printf '%s\n' "$2" | curl -sS --max-time 20 --unix-socket "$SOCK" -X POST \
        -H 'Content-Type:' --data-binary @- "http://plugin/$1"
}
no_err() { ! echo "$1" | grep -q '"Err"'; }
expect_ok() {  # NAME METHOD BODY
    r=$(call "$2" "$3")
    checks=$((checks + 1))
    if no_err "$r"; then echo "  ok   $1"; else echo "  FAIL $1: $r"; fails=$((fails + 1)); fi
}
expect_err() {  # NAME METHOD BODY NEEDLE
    r=$(call "$2" "$3")
    checks=$((checks + 1))
    case $r in *'"Err"'*"$4"*) echo "  ok   $1" ;;
        *) echo "  FAIL $1: wanted Err with '$4', got $r"; fails=$((fails + 1)) ;; esac
}
start_plugin() {
    WGVSOCK_SEED_FILE=/tmp/seed LOG_LEVEL=debug wgvsock-plugin --socket "$SOCK" \
        --state-dir /tmp/state >> "$PLOG" 2>&1 &
    PLUGIN=$!
    i=0
    while [ $i -lt 100 ]; do
        [ -S "$SOCK" ] && call Plugin.Activate '{}' | grep -q NetworkDriver && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
wait_log() {  # PATTERN: true once the plugin's log has it (10 s at most)
    i=0
    while [ $i -lt 100 ]; do grep -q "$1" "$PLOG" && return 0; sleep 0.1; i=$((i + 1)); done
    return 1
}
netbody() {  # ID SUBNET-PREFIX [extra generic options]
    printf '{"NetworkID":"%s","Options":{"com.docker.network.generic":{"wgvsock.transport":"udp","wgvsock.peer":"127.0.0.1:%s","wgvsock.peerkey":"%s"%s}},"IPv4Data":[{"AddressSpace":"LocalDefault","Gateway":"%s.1/24","Pool":"%s.0/24"}],"IPv6Data":[]}' \
        "$1" "$HUBPORT" "$HUB_PUB" "${3:-}" "$2" "$2"
}
epbody() { printf '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"%s/24"},"Options":{}}' "$1" "$2" "$3"; }
ids() { printf '{"NetworkID":"%s","EndpointID":"%s"}' "$1" "$2"; }
ping_until() {  # ADDR SECONDS, from the sandbox
    end=$(( $(cut -d. -f1 /proc/uptime) + $2 ))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
        inS ping -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0
    done
    return 1
}
# what libnetwork does at Join: move SrcName into the sandbox as wg0, address
# it, route through the gateway; and at sandbox teardown: move it back
sandbox_in() {  # IFNAME ADDR
    $T move "$1" "$SANDBOX" wg0 && inS ip addr add "$2/24" dev wg0 &&
        inS ip link set wg0 up && inS ip route add default via "$GW" dev wg0
}
sandbox_out() { inS ip link set wg0 down && inS $T move wg0 1 "$1"; }

# ---- the hub: wgvsockd -n udp, a peer for each endpoint address ----
wgvsockd -f -n udp wgh > /tmp/hub.log 2>&1 &
HUB=$!
i=0; while [ $i -lt 100 ] && [ ! -S /var/run/wireguard/wgh.sock ]; do sleep 0.1; i=$((i + 1)); done
hub_peer() { wg set wgh peer "$(keyderive pubkey --seed-file /tmp/seed "$1")" allowed-ips "$1/32"; }
check "hub up" sh -c "wg set wgh private-key /tmp/hub.key listen-port $HUBPORT && ip addr add $GW/24 dev wgh && ip link set wgh up"
hub_peer 10.7.0.2; hub_peer 10.7.0.3

NET=n1$(printf '%062d' 1) EP=e1$(printf '%062d' 1) IF=wgve10000000000
EP2=e2$(printf '%062d' 2) IF2=wgve20000000000
log "=== kernel engine (wireguard.ko loaded), engine=auto"
check "plugin starts" start_plugin
expect_ok "CreateNetwork udp, engine auto" NetworkDriver.CreateNetwork "$(netbody "$NET" 10.7.0)"
check "log: engine kernel (auto)" grep -q "engine kernel (wgvsock.engine=auto)" "$PLOG"
check "saved with the network" grep -q '"Engine": *"kernel"' "/tmp/state/networks/$NET.json"
expect_ok "CreateEndpoint" NetworkDriver.CreateEndpoint "$(epbody "$NET" "$EP" 10.7.0.2)"
r=$(call NetworkDriver.EndpointOperInfo "$(ids "$NET" "$EP")")
check "EndpointOperInfo: Engine kernel" sh -c "echo '$r' | grep -q '\"Engine\":\"kernel\"'"
r=$(call NetworkDriver.Join "$(ids "$NET" "$EP")")
check "Join: SrcName $IF, gateway, DisableGatewayService, no MAC" sh -c "echo '$r' | grep -q '\"SrcName\":\"$IF\"' && echo '$r' | grep -q '\"Gateway\":\"$GW\"' && echo '$r' | grep -q '\"DisableGatewayService\":true' && ! echo '$r' | grep -qi mac"
check "$IF is a kernel wireguard link" sh -c "[ \"\$($T kind $IF)\" = wireguard ]"
check "$IF has the network's MTU (1420)" sh -c "ip link show $IF | grep -q 'mtu 1420'"
check "no wg(8) socket: the kernel answers wg" test ! -e "/var/run/wireguard/$IF.sock"
check "tagged with the endpoint (alias) for adoption" sh -c "[ \"\$(cat /sys/class/net/$IF/ifalias)\" = wgvsock:$EP ]"
check "wg: keyderive's key" sh -c "[ \"\$(wg show $IF public-key)\" = \"\$(keyderive pubkey --seed-file /tmp/seed 10.7.0.2)\" ]"
check "wg: the hub as peer, endpoint, keepalive 25, allowed-ips" sh -c "wg showconf $IF | grep -qx 'PublicKey = $HUB_PUB' && wg showconf $IF | grep -qx 'Endpoint = 127.0.0.1:$HUBPORT' && wg showconf $IF | grep -qx 'PersistentKeepalive = 25' && wg showconf $IF | grep -qx 'AllowedIPs = 0.0.0.0/0, ::/0'"
check "wg show lists both kinds (wgvsockd's wgh and kernel $IF)" sh -c "wg show interfaces | tr ' ' '\n' | grep -qx wgh && wg show interfaces | tr ' ' '\n' | grep -qx $IF"
check "libnetwork's part: moved into the sandbox as wg0" sandbox_in "$IF" 10.7.0.2
check "the sandbox pings the hub through kernel wg0" ping_until "$GW" 20
check "bulk 2 MiB sandbox -> hub, md5 matches" guest_bulk 2 "$GW" inS ""

log "=== plugin SIGKILLed: the kernel device keeps working; restart re-adopts"
kill -9 "$PLUGIN"; wait "$PLUGIN" 2>/dev/null
check "ping through wg0 with no plugin running" sh -c "nsenter -t $SANDBOX -n ping -c 2 -W 2 $GW >/dev/null"
check "plugin restarts" start_plugin
check "ping after the restart" sh -c "nsenter -t $SANDBOX -n ping -c 2 -W 2 $GW >/dev/null"
check "the restarted plugin adopts it in the sandbox (found by its tag)" \
    wait_log "endpoint ${EP%"${EP#????????????}"} adopted: wg0"
r=$(call NetworkDriver.EndpointOperInfo "$(ids "$NET" "$EP")")
check "EndpointOperInfo: Joined again" sh -c "echo '$r' | grep -q '\"Joined\":true'"
expect_ok "Leave" NetworkDriver.Leave "$(ids "$NET" "$EP")"
check "libnetwork moves it back as $IF" sandbox_out "$IF"
expect_ok "DeleteEndpoint (joined before the restart)" NetworkDriver.DeleteEndpoint "$(ids "$NET" "$EP")"
check "$IF deleted" sh -c "! ip link show $IF 2>/dev/null"
# the plugin dies while a joined link sits down in our namespace (libnetwork
# gave it back at Leave): the next process deletes it with its endpoint
expect_ok "CreateEndpoint 2" NetworkDriver.CreateEndpoint "$(epbody "$NET" "$EP2" 10.7.0.3)"
expect_ok "Join 2" NetworkDriver.Join "$(ids "$NET" "$EP2")"
check "$IF2 exists" sh -c "ip link show $IF2 >/dev/null"
kill -9 "$PLUGIN"; wait "$PLUGIN" 2>/dev/null
check "plugin restarts" start_plugin
gone2() {
    i=0
    while [ $i -lt 100 ]; do ip link show "$IF2" >/dev/null 2>&1 || return 0; sleep 0.1; i=$((i + 1)); done
    return 1
}
check "the given-back $IF2 is deleted at start-up" gone2
check "...by the kernel engine (kind-checked)" wait_log "deleted kernel WireGuard interface $IF2"
expect_ok "DeleteEndpoint 2 (already cleaned up)" NetworkDriver.DeleteEndpoint "$(ids "$NET" "$EP2")"
expect_ok "DeleteNetwork" NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$NET\"}"

log "=== no wireguard.ko: auto falls back to wgcore, kernel is refused"
check "rmmod wireguard" rmmod wireguard
check "the genetlink family is gone" sh -c "! $T probe 2>/dev/null"
NET2=n2$(printf '%062d' 2)
expect_err "engine=kernel refused" NetworkDriver.CreateNetwork "$(netbody "$NET2" 10.7.0 ',"wgvsock.engine":"kernel"')" "no WireGuard"
expect_ok "CreateNetwork udp, engine auto" NetworkDriver.CreateNetwork "$(netbody "$NET2" 10.7.0)"
check "log: engine wgcore (auto)" grep -q "network ${NET2%"${NET2#????????????}"}: transport udp, engine wgcore (wgvsock.engine=auto)" "$PLOG"
expect_ok "CreateEndpoint" NetworkDriver.CreateEndpoint "$(epbody "$NET2" "$EP" 10.7.0.2)"
expect_ok "Join" NetworkDriver.Join "$(ids "$NET2" "$EP")"
check "$IF is wgcore's TUN with a wg(8) socket" sh -c "[ \"\$($T kind $IF)\" = tun ] && [ -S /var/run/wireguard/$IF.sock ]"
check "moved into the sandbox as wg0" sandbox_in "$IF" 10.7.0.2
check "the sandbox pings the hub through wgcore's wg0" ping_until "$GW" 20
expect_ok "Leave" NetworkDriver.Leave "$(ids "$NET2" "$EP")"
check "moved back" sandbox_out "$IF"
expect_ok "DeleteEndpoint" NetworkDriver.DeleteEndpoint "$(ids "$NET2" "$EP")"
check "$IF deleted" sh -c "! ip link show $IF 2>/dev/null"
kill "$PLUGIN"; wait "$PLUGIN" 2>/dev/null
kill "$HUB"; wait "$HUB" 2>/dev/null
check "no sanitizer reports" sh -c "! grep -l 'AddressSanitizer\|LeakSanitizer\|runtime error' $PLOG /tmp/hub.log"
check "no secret in the plugin's log" sh -c "! grep -qF \"\$(cat /tmp/seed)\" $PLOG"
if [ $fails -gt 0 ]; then echo "--- $PLOG"; tail -30 "$PLOG"; fi
kill $SANDBOX 2>/dev/null
echo "plugin-kernel: $checks checks, $fails failed"
[ $fails = 0 ]
