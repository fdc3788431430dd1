# guest_docker_kernel.sh - runs INSIDE the QEMU guest (busybox sh), from
# test_docker_kernel.sh: dockerd + wgvsock-plugin, engine auto = kernel.
# shellcheck shell=sh
set -u
log() { echo "docker-kernel: $*"; }
PLOG=/tmp/plugin.log
mkdir -p /tmp/state
guest_dockerd || exit 1

umask 077
head -c 32 /dev/urandom | base64 > /tmp/seed
wg genkey > /tmp/hub.key
HUB_PUB=$(wg pubkey < /tmp/hub.key)
wgvsockd -f -n udp wgh > /tmp/hub.log 2>&1 &
HUB=$!
i=0; while [ $i -lt 100 ] && [ ! -S /var/run/wireguard/wgh.sock ]; do sleep 0.1; i=$((i + 1)); done
{
    printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n' "$(cat /tmp/hub.key)"
    keyderive --seed-file /tmp/seed peers --subnet 10.7.0.0/24 --skip-gateway
} > /tmp/hub.conf
check "hub wgvsockd -n udp up" sh -c "wg setconf wgh /tmp/hub.conf && ip addr add 10.7.0.1/24 dev wgh && ip link set wgh up"
start_plugin() {
    WGVSOCK_SEED_FILE=/tmp/seed LOG_LEVEL=debug wgvsock-plugin \
        --socket /run/docker/plugins/wgvsock.sock --state-dir /tmp/state >> "$PLOG" 2>&1 &
    PL=$!
    i=0; while [ $i -lt 100 ] && [ ! -S /run/docker/plugins/wgvsock.sock ]; do sleep 0.1; i=$((i + 1)); done
}
wait_log() {  # PATTERN (10 s at most)
    i=0
    while [ $i -lt 100 ]; do grep -q "$1" "$PLOG" && return 0; sleep 0.1; i=$((i + 1)); done
    return 1
}
start_plugin
check "docker network create (wgvsock.engine unset)" docker network create -d wgvsock \
    --subnet 10.7.0.0/24 --gateway 10.7.0.1 -o wgvsock.transport=udp \
    -o wgvsock.peer=127.0.0.1:51820 -o wgvsock.peerkey="$HUB_PUB" wgnet
check "plugin log: engine kernel (auto)" grep -q "engine kernel (wgvsock.engine=auto)" "$PLOG"
check "docker run" docker run -d --name c1 --network wgnet busybox sleep 600
PID=$(docker inspect -f '{{.State.Pid}}' c1)
IP=$(docker inspect -f '{{(index .NetworkSettings.Networks "wgnet").IPAddress}}' c1)
links() { docker exec c1 ip -o link | awk -F': ' '{printf "%s ", $2}'; }
log "c1: links $(links), $(docker exec c1 ip route | tr '\n' ';')"
check "the container has exactly lo and wg0" test "$(links)" = "lo wg0 "
check "default route via the hub on wg0" sh -c "docker exec c1 ip route | grep -q 'default via 10.7.0.1 dev wg0'"
check "its wg0 is kernel WireGuard with keyderive's key" \
    sh -c "[ \"\$(nsenter -t $PID -n wg show wg0 public-key)\" = \"\$(keyderive pubkey --seed-file /tmp/seed $IP)\" ]"
check "the container pings the hub" docker exec c1 ping -c 2 -W 5 10.7.0.1
check "the hub pings the container" sh -c "ping -c 2 -W 5 $IP >/dev/null"
kill -9 "$PL"; wait "$PL" 2>/dev/null
check "the container still pings the hub with the plugin dead" docker exec c1 ping -c 2 -W 5 10.7.0.1
start_plugin
check "the restarted plugin adopts it" wait_log "adopted: wg0"
check "docker stop" docker stop -t 2 c1
check "docker rm" docker rm c1
check "no wgv* link left in the host namespace" sh -c "! ip -o link | grep -q ': wgv'"
check "docker network rm" docker network rm wgnet
check "no network or endpoint state left" sh -c "[ -z \"\$(find /tmp/state -name '*.json')\" ]"
kill "$PL" "$HUB" 2>/dev/null; wait "$PL" "$HUB" 2>/dev/null
if [ $fails -gt 0 ]; then
    grep -a 'plugin:' "$PLOG" | grep -v DEBUG | tail -15
    tail -15 /tmp/dockerd.log
fi
echo "docker-kernel: $checks checks, $fails failed"
[ $fails = 0 ]
