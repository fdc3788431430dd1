# guest_provision.sh - runs INSIDE the QEMU guest (busybox sh), from
# test_vsock_provision.sh.  AF_VSOCK is not namespaced: the hub in ns H
# listens on vsock 5000 (WireGuard) and 5001 (provisioning); ns C provisions
# it at local(1):5001 and tunnels to local(1):5000, so every ping below
# crossed vsock with the attested key.
# shellcheck shell=sh
set -u
log() { echo "provision: $*"; }
NSH=$(guest_netns) NSC=$(guest_netns)
inH() { nsenter -t "$NSH" -n "$@"; }
inC() { nsenter -t "$NSC" -n "$@"; }
ZEROS=000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
ONES=111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111
PUB=$(wgvsock-attest provision-key /test/prov.key)

start_hub() {  # start_hub [ENV=VALUE]
    rm -f /var/run/wireguard/wgh.sock
    env LOG_LEVEL=verbose "$@" nsenter -t "$NSH" -n wgvsockd -f -n vsock --provision \
        --provisioner-key "$PUB" --attest test:/test/ca/hub-chain.pem:/test/ca/hub.key \
        --listen-port 5000 wgh >> /tmp/hub.log 2>&1 &
    HUB=$!
    i=0
    while [ $i -lt 100 ]; do
        [ -S /var/run/wireguard/wgh.sock ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    log "hub did not come up"; cat /tmp/hub.log; return 1
}
provision() {  # provision [ARGS...]: one offer over vsock from ns C
    inC wgvsock-attest provision --key /test/prov.key --hub 'local(1):5001' --vsock \
        --address 10.9.0.1/24 --peer "$PEER_PUB=10.9.0.2" "$@" > /tmp/out 2> /tmp/err
}
err_has() { grep -q "$1" /tmp/err || { log "stderr: $(cat /tmp/err)"; return 1; }; }
not() { ! "$@"; }

umask 077
wg genkey > /tmp/peer.key
PEER_PUB=$(wg pubkey < /tmp/peer.key)
start_hub || exit 1
check "offer over vsock accepted, test attestation verified" \
    provision --attest test --root /test/ca/root.pem --pcr 0=$ZEROS
KEY=$(sed -n 's/.*"hub_key": "\([^"]*\)".*/\1/p' /tmp/out)
check "attested key is the hub's key" test "$KEY" = "$(wg show wgh public-key)"
check "hub learnt the peer from the offer" test "$(wg show wgh peers)" = "$PEER_PUB"
check "hub address set from the offer" sh -c "nsenter -t $NSH -n ip -4 addr show wgh | grep -q 10.9.0.1/24"

# the peer: a vsock wgvsockd in ns C dialling local(1):5000 with that key
nsenter -t "$NSC" -n wgvsockd -f -n vsock wgc >> /tmp/peer.log 2>&1 &
PEER=$!
i=0; while [ $i -lt 100 ] && [ ! -S /var/run/wireguard/wgc.sock ]; do sleep 0.1; i=$((i + 1)); done
wg set wgc private-key /tmp/peer.key peer "$KEY" endpoint 0.0.0.1:5000 allowed-ips 10.9.0.0/24 \
    persistent-keepalive 2
inC ip addr add 10.9.0.2/24 dev wgc; inC ip link set wgc up
check "ping through the attested hub over vsock" inC ping -c 3 -W 5 10.9.0.1

check "wrong PCR0 refused over vsock" not provision --attest test --root /test/ca/root.pem --pcr 0=$ONES
check "... naming the pcr check" err_has "pcr check"
check "untrusted CA refused over vsock" not provision --attest test --root /test/other/root.pem
check "... naming the certificate-chain check" err_has "certificate-chain check"

# hub restart: a new key, attested again, the tunnel back with it
kill "$HUB"; wait "$HUB" 2>/dev/null
start_hub || exit 1
check "restarted hub provisioned over vsock" provision --attest test --root /test/ca/root.pem
KEY2=$(sed -n 's/.*"hub_key": "\([^"]*\)".*/\1/p' /tmp/out)
check "restarted hub has a new key" test -n "$KEY2" -a "$KEY2" != "$KEY"
wg set wgc peer "$KEY" remove peer "$KEY2" endpoint 0.0.0.1:5000 allowed-ips 10.9.0.0/24 persistent-keepalive 2
check "ping with the re-attested key" inC ping -c 3 -W 5 10.9.0.1
kill "$HUB" "$PEER" 2>/dev/null
log "$checks checks, $fails failed"
[ "$fails" = 0 ]
