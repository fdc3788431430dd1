# guest_docker_attest_vsock.sh - runs INSIDE the QEMU guest (busybox sh),
# from test_docker_attest_vsock.sh: dockerd + wgvsock-plugin + an attested
# wgvsockd hub, every WireGuard and provisioning byte over vsock loopback
# local(1) (hub: 5000 WireGuard, 5001 provisioning).
# shellcheck shell=sh
set -u
log() { echo "docker-attest-vsock: $*"; }
PLOG=/tmp/plugin.log
ZEROS=000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
ONES=111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111
mkdir -p /tmp/state
guest_dockerd || exit 1

umask 077
head -c 32 /dev/urandom | base64 > /tmp/seed
PUB=$(wgvsock-attest provision-key /test/prov.key)
start_hub() {  # the attested hub in this namespace, no seed, no peers
    guest_wgvsockd 1 wgh --provision --provisioner-key "$PUB" \
        --attest test:/test/ca/hub-chain.pem:/test/ca/hub.key --listen-port 5000 || exit 1
    HUB=$GUEST_PID
}
start_hub
WGVSOCK_SEED_FILE=/tmp/seed WGVSOCK_PROVISION_KEY_FILE=/test/prov.key LOG_LEVEL=debug \
    wgvsock-plugin --socket /run/docker/plugins/wgvsock.sock --state-dir /tmp/state >> "$PLOG" 2>&1 &
PL=$!
i=0; while [ $i -lt 100 ] && [ ! -S /run/docker/plugins/wgvsock.sock ]; do sleep 0.1; i=$((i + 1)); done
net() {  # net NAME ROOT A.B.C [ARGS...]: an attested vsock network A.B.C.0/24, no peerkey
    n=$1 root=$2 p=$3; shift 3
    docker network create -d wgvsock --subnet "$p.0/24" --gateway "$p.1" \
        -o wgvsock.transport=vsock -o 'wgvsock.peer=local(1):5000' -o wgvsock.keepalive=2 \
        -o wgvsock.attest=test -o wgvsock.attest-root="$root" "$@" "$n" > /tmp/out 2>&1
}
has() { grep -q "$1" /tmp/out || { log "output: $(cat /tmp/out)"; return 1; }; }
not() { ! "$@"; }
hub_packets() { grep -cE 'handshake|accepted' /tmp/wgh.log; }

check "untrusted root: network create fails" not net bad /test/other/root.pem 10.6.0
check "... naming the certificate-chain check" has "certificate-chain check"
check "network create without peerkey, hub attested over vsock" \
    net attnet /test/ca/root.pem 10.7.0 -o wgvsock.attest-pcr0=$ZEROS
check "the hub's address came from the offer" sh -c "ip -4 addr show wgh | grep -q 'inet 10.7.0.1/24'"
check "docker run" docker run -d --name c1 --network attnet busybox sleep 600
IP=$(docker inspect -f '{{(index .NetworkSettings.Networks "attnet").IPAddress}}' c1)
KEY=$(keyderive pubkey --seed-file /tmp/seed "$IP")
check "the hub learnt exactly c1's key by provisioning" \
    sh -c "[ -n '$KEY' ] && [ \"\$(wg show wgh peers)\" = '$KEY' ]"
check "c1 pings the hub over vsock" docker exec c1 ping -c 2 -W 5 10.7.0.1
check "the hub pings c1" sh -c "ping -c 2 -W 5 $IP >/dev/null"
check "the tunnel is vsock: the hub accepted a vsock connection" grep -q 'accepted' /tmp/wgh.log
check "docker rm c1" sh -c "docker rm -f c1 >/dev/null"

# The hub is replaced by one claiming another PCR0: docker run must fail
# before any packet reaches its WireGuard port.
kill "$HUB"; wait "$HUB" 2>/dev/null
export WGVSOCK_TEST_PCR0=$ONES
start_hub
unset WGVSOCK_TEST_PCR0
before=$(hub_packets)
check "wrong PCR0: docker run fails" not sh -c "docker run --rm --network attnet busybox true > /tmp/out 2>&1"
check "... naming the pcr check" has "pcr check"
check "... and no packet reached the hub's WireGuard port" test "$(hub_packets)" = "$before"
check "docker network rm" sh -c "docker network rm attnet >/dev/null"
kill "$PL" "$HUB" 2>/dev/null; wait "$PL" "$HUB" 2>/dev/null
if [ $fails -gt 0 ]; then
    grep -a 'plugin:' "$PLOG" | grep -v DEBUG | tail -15
    tail -15 /tmp/wgh.log
    tail -10 /tmp/dockerd.log
fi
log "$checks checks, $fails failed"
[ $fails = 0 ]
