#!/bin/bash
# wgvsockd --provision without Docker: a hub in one namespace, an initiator
# (wgvsock-attest provision, the plugin's client code) and a WireGuard peer
# in another, over veth, TCP provisioning on the WireGuard port + 1.
#
#   ns c: wgvsock-attest provision ──tcp:51821──▶ ns h: wgvsockd -n tcp --provision
#         wgvsockd -n tcp (peer) ─────tcp:51820──▶      (test attester)
#
# Checks: the offer installs the address and the peers (the hub holds no
# seed and no key list); the attested key works (ping through the tunnel);
# fewer peers offered = peers removed; wrong PCR / other root / no root ->
# the named check fails on the initiator; offers signed by another key,
# replayed serials, garbage and oversized offers are refused and change
# nothing; a restarted hub has a new key that attests again; --attest none.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
BIN=${WGVSOCK_BIN:-$BUILD/bin}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 77; }
for t in ip wg ping python3; do command -v $t >/dev/null || { echo "missing $t (make deps)"; exit 77; }; done
[ -x "$BIN/wgvsockd" ] && [ -x "$BIN/wgvsock-attest" ] || { echo "FAIL: binaries not built"; exit 1; }
. tests/lib/proc.sh

tag=pv$$
NS_H=$tag-h NS_C=$tag-c IF_H=${tag}h IF_C=${tag}c
U_H=10.202.0.1 U_C=10.202.0.2
WORK=$(mktemp -d /tmp/wgvsock-prov.XXXXXX)
[ -n "${KEEP:-}" ] && echo "work: $WORK"
HUB_PID= PEER_PID=
fails=0 checks=0
cleanup() {
    [ -n "$HUB_PID" ] && proc_stop "$HUB_PID"
    [ -n "$PEER_PID" ] && proc_stop "$PEER_PID"
    for n in "$NS_H" "$NS_C"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    rm -f "/var/run/wireguard/$IF_H.sock" "/var/run/wireguard/$IF_C.sock"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s %s\n' "$(date +%T)" "$*"; }
check() { local n=$1; shift; checks=$((checks + 1)); if "$@"; then log "ok:   $n"; else log "FAIL: $n"; fails=$((fails + 1)); fi; }
check_not() { local n=$1; shift; checks=$((checks + 1)); if "$@"; then log "FAIL: $n (succeeded)"; fails=$((fails + 1)); else log "ok:   $n"; fi; }

ip netns add "$NS_H" && ip netns add "$NS_C" || exit 1
ip link add "${tag}vh" netns "$NS_H" type veth peer name "${tag}vc" netns "$NS_C" || exit 1
ip -n "$NS_H" addr add $U_H/24 dev "${tag}vh"; ip -n "$NS_C" addr add $U_C/24 dev "${tag}vc"
for n in "$NS_H" "$NS_C"; do ip -n "$n" link set lo up; done
ip -n "$NS_H" link set "${tag}vh" up; ip -n "$NS_C" link set "${tag}vc" up

"$BIN/wgvsock-attest" test-ca "$WORK/ca" >/dev/null && "$BIN/wgvsock-attest" test-ca "$WORK/other" >/dev/null || exit 1
PROV_PUB=$("$BIN/wgvsock-attest" provision-key "$WORK/prov.key") || exit 1
"$BIN/wgvsock-attest" provision-key "$WORK/intruder.key" >/dev/null || exit 1
ZEROS=$(printf '0%.0s' $(seq 96))

start_hub() {  # start_hub ATTEST
    ip netns exec "$NS_H" env LOG_LEVEL=verbose "$BIN/wgvsockd" -f -n tcp --provision \
        --provisioner-key "$PROV_PUB" --attest "$1" --listen-port 51820 "$IF_H" >>"$WORK/hub.log" 2>&1 &
    HUB_PID=$(proc_id $!)
    for _ in $(seq 50); do
        ip netns exec "$NS_H" ss -ltn 2>/dev/null | grep -q ':51821 ' && return 0
        sleep 0.1
    done
    log "hub did not come up:"; cat "$WORK/hub.log"; return 1
}
# provision [ARGS...]: one offer from ns c; JSON in $WORK/out, message in $WORK/err.
provision() {
    ip netns exec "$NS_C" "$BIN/wgvsock-attest" provision --key "$WORK/prov.key" \
        --hub $U_H:51821 --address 10.77.0.1/24 "$@" >"$WORK/out" 2>"$WORK/err"
}
hub_key() { sed -n 's/.*"hub_key": "\([^"]*\)".*/\1/p' "$WORK/out"; }
hub_peers() { ip netns exec "$NS_H" wg show "$IF_H" peers | sort | tr '\n' ' '; }
ping_hub() { ip netns exec "$NS_C" ping -c "$1" -W 3 10.77.0.1 >/dev/null; }
err_has() { grep -q "$1" "$WORK/err" || { log "stderr: $(cat "$WORK/err")"; return 1; }; }

start_hub "test:$WORK/ca/hub-chain.pem:$WORK/ca/hub.key" || exit 1
PEER_PRIV=$(wg genkey); PEER_PUB=$(echo "$PEER_PRIV" | wg pubkey)
OTHER_PUB=$(wg genkey | wg pubkey)
TEST=(--attest test --root "$WORK/ca/root.pem" --pcr 0=$ZEROS)

check "offer accepted, test attestation verified" provision "${TEST[@]}" --peer "$PEER_PUB=10.77.0.2" --peer "$OTHER_PUB=10.77.0.3"
KEY1=$(hub_key)
check "attested key is the hub's key" test "$KEY1" = "$(ip netns exec "$NS_H" wg show "$IF_H" public-key)"
check "hub learnt both peers from the offer" test "$(hub_peers)" = "$(printf '%s\n' "$PEER_PUB" "$OTHER_PUB" | sort | tr '\n' ' ')"
check "hub address set from the offer" sh -c "ip -n $NS_H -4 addr show $IF_H | grep -q 'inet 10.77.0.1/24'"
check "peer allowed-ips is its /32" sh -c "ip netns exec $NS_H wg show $IF_H allowed-ips | grep -q '$PEER_PUB	10.77.0.2/32'"

# Traffic with the attested key.
ip netns exec "$NS_C" "$BIN/wgvsockd" -f -n tcp "$IF_C" >"$WORK/peer.log" 2>&1 &
PEER_PID=$(proc_id $!)
for _ in $(seq 50); do [ -S "/var/run/wireguard/$IF_C.sock" ] && break; sleep 0.1; done
echo "$PEER_PRIV" >"$WORK/peer.key"
ip netns exec "$NS_C" wg set "$IF_C" private-key "$WORK/peer.key" peer "$KEY1" \
    endpoint $U_H:51820 allowed-ips 10.77.0.0/24 persistent-keepalive 5
ip -n "$NS_C" addr add 10.77.0.2/24 dev "$IF_C"; ip -n "$NS_C" link set "$IF_C" up
check "ping through the provisioned hub" ping_hub 2

# Fewer peers: the other one goes.
check "offer with one peer" provision "${TEST[@]}" --peer "$PEER_PUB=10.77.0.2"
check "removed peer is gone" test "$(hub_peers)" = "$PEER_PUB "

# Failing checks on the initiator, each named.
check_not "wrong PCR0 refused" provision --attest test --root "$WORK/ca/root.pem" --pcr 0=${ZEROS%?}1 --peer "$PEER_PUB=10.77.0.2"
check "... by the pcr check" err_has "pcr check"
check_not "untrusted CA refused" provision --attest test --root "$WORK/other/root.pem" --peer "$PEER_PUB=10.77.0.2"
check "... by the certificate-chain check" err_has "certificate-chain check"
check_not "test document vs the AWS root refused" provision --attest nitro --peer "$PEER_PUB=10.77.0.2"
check "... by the certificate-chain check" err_has "certificate-chain check"

# Refused by the hub, nothing changed.
before=$(hub_peers)
ip netns exec "$NS_C" "$BIN/wgvsock-attest" provision --key "$WORK/intruder.key" --hub $U_H:51821 \
    --address 10.99.0.1/24 --peer "$OTHER_PUB=10.77.0.9" --attest none >"$WORK/out" 2>"$WORK/err"
check "offer signed by another key refused" err_has "not signed by the hub's provisioning key"
check_not "replayed (old) serial refused" provision --attest none --serial 5 --peer "$OTHER_PUB=10.77.0.9"
check "... as stale" err_has "stale offer"
ip netns exec "$NS_C" python3 - $U_H <<'PY' >"$WORK/garbage" 2>&1
import socket, struct, sys
def send(data):
    s = socket.create_connection((sys.argv[1], 51821), timeout=5)
    s.sendall(data)
    try:
        r = s.recv(4096)
    except Exception:
        r = b""
    s.close()
    return r
print("garbage:", send(b"GET / HTTP/1.0\r\n\r\n")[:12])
big = b"WGVP\x01\x01\x00\x00" + struct.pack(">I", 10_000_000)       # claims 10 MB
print("oversized:", send(big)[:12])
PY
cat "$WORK/garbage"
check "garbage and oversized offers answered, hub alive" sh -c "grep -q 'garbage: b.WGVP' $WORK/garbage && grep -q 'oversized: b.WGVP' $WORK/garbage && kill -0 ${HUB_PID%%:*}"
check "nothing changed by refused offers" test "$(hub_peers)" = "$before"
check "address unchanged" sh -c "ip -n $NS_H -4 addr show $IF_H | grep -q 'inet 10.77.0.1/24' && ! ip -n $NS_H addr show $IF_H | grep -q 10.99"
check "ping still works" ping_hub 1

# Restart: a new key, attested again.
proc_stop "$HUB_PID"; HUB_PID=
start_hub "test:$WORK/ca/hub-chain.pem:$WORK/ca/hub.key" || exit 1
check "restarted hub provisioned again" provision "${TEST[@]}" --peer "$PEER_PUB=10.77.0.2"
KEY2=$(hub_key)
check "restarted hub has a new key" test -n "$KEY2" -a "$KEY2" != "$KEY1"
ip netns exec "$NS_C" wg set "$IF_C" peer "$KEY1" remove peer "$KEY2" endpoint $U_H:51820 \
    allowed-ips 10.77.0.0/24 persistent-keepalive 5
check "ping with the re-attested key" ping_hub 2

# --attest none: an answer without a document; the initiator insisting on
# attestation refuses it.
proc_stop "$HUB_PID"; HUB_PID=
start_hub none || exit 1
check_not "no document refused when attestation is required" provision "${TEST[@]}" --peer "$PEER_PUB=10.77.0.2"
check "... by the format check" err_has "sent no document"
check "--attest none accepted by an initiator with attest=none" provision --attest none --peer "$PEER_PUB=10.77.0.2"
check "hub logged itself insecure" grep -q "INSECURE" "$WORK/hub.log"

# Under ASan/UBSan (BUILD=build-asan) the daemons report at exit.
proc_stop "$HUB_PID"; HUB_PID=
proc_stop "$PEER_PID"; PEER_PID=
check "no sanitizer report from the daemons" sh -c "! grep -q 'Sanitizer\|runtime error' '$WORK/hub.log' '$WORK/peer.log'"
log "$checks checks, $fails failed"
[ $fails = 0 ]
