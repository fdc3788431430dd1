#!/bin/bash
# e2e: attested hubs (docs/PROVISIONING.md) with a real dockerd and the
# `test` attester.  The hub is `wgvsockd --provision` in the test's netns: it
# has no seed, no key list and no peerkey is given to Docker; the plugin
# provisions it over the WireGuard port + 1 (TCP for tcp and udp networks)
# and verifies its attestation before any container packet is sent.
#
# Per transport (tcp, udp): network create without wgvsock.peerkey; two
# containers join, the hub learns exactly their derived keys through
# provisioning, traffic flows both ways; one container leaves and its peer
# goes; the hub restarts (new key) and the remaining container recovers
# through re-attestation; on tcp the plugin restarts and adopts it after
# attesting the hub again.  Then failures, each making `docker run` fail
# with a message naming the check and no packet reaching the hub: a hub
# claiming another PCR0, a hub signed by an untrusted CA; and network
# create refusing a wrong PCR and a wrong wgvsock.peerkey.
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool ping python3 wg ss
e2e_need_bin keyderive wgvsockd wgvsock-plugin wgvsock-attest

e2e_netns
dk_start
dk_busybox
e2e_secrets
CA=$E2E_TMP/ca OTHER=$E2E_TMP/other
wgvsock-attest test-ca "$CA" >/dev/null && wgvsock-attest test-ca "$OTHER" >/dev/null || die "test-ca"
PROV_KEY=$E2E_TMP/provision.key
PROV_PUB=$(wgvsock-attest provision-key "$PROV_KEY") || die "provision-key"
ZEROS=$(printf '0%.0s' $(seq 96))
ONES=$(printf '1%.0s' $(seq 96))

# ahub_start NAME TRANSPORT PORT CA [ENV...]: an attested hub; HUB_<NAME>_PID/IF.
ahub_start() {
    local name=$1 transport=$2 port=$3 ca=$4; shift 4
    local ifname=wga$(printf '%x' $$)$name log=$E2E_TMP/hub-$name.log
    env LOG_LEVEL=debug "$@" ip netns exec "$E2E_NS" "$E2E_BIN/wgvsockd" -f -n "$transport" \
        --provision --provisioner-key "$PROV_PUB" --attest "test:$ca/hub-chain.pem:$ca/hub.key" \
        --listen-port "$port" "$ifname" >>"$log" 2>&1 &
    local pid=$!
    e2e_defer "hub_stop $pid $ifname"
    wait_for 10 sh -c "ip netns exec $E2E_NS ss -Htln | grep -q ':$((port + 1)) '" \
        || { cat "$log"; die "attested hub $name did not listen on $((port + 1))"; }
    eval "HUB_${name}_PID=$pid HUB_${name}_IF=$ifname"
    log "attested hub $name: $transport, port $port (+1 provisioning), $ca"
}
ahub_stop() {  # ahub_stop NAME
    local pid_var=HUB_$1_PID if_var=HUB_$1_IF
    hub_stop "${!pid_var}" "${!if_var}"
}
hub_peers() { in_ns wg show "$1" peers | sort | tr '\n' ' ' | sed 's/ $//'; }
derived() { keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$1"; }
attested_net() {  # attested_net NAME TRANSPORT PORT SUBNET GW [ARGS...]
    local name=$1 transport=$2 port=$3 subnet=$4 gw=$5; shift 5
    dk network create --driver wgvsock --subnet "$subnet" --gateway "$gw" \
        -o wgvsock.transport="$transport" -o wgvsock.peer=127.0.0.1:"$port" \
        -o wgvsock.additional="$E2E_ADD" -o wgvsock.keepalive=2 \
        -o wgvsock.attest=test -o wgvsock.attest-root="$CA/root.pem" "$@" "$name"
}
# hub_packets NAME: lines in the hub's log that show WireGuard traffic or
# connections on its WireGuard port (debug level).
hub_packets() { grep -cE 'handshake|accepted' "$E2E_TMP/hub-$1.log"; }

plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE" WGVSOCK_PROVISION_KEY_FILE="$PROV_KEY" \
    WGVSOCK_PROVISION_INTERVAL=2

n=0
for transport in tcp udp; do
    n=$((n + 1)); port=$((52000 + n * 10)); H=T$n; net=att$transport
    subnet=10.8$n.0.0/24 gw=10.8$n.0.1
    ahub_start $H "$transport" $port "$CA"
    hif_var=HUB_${H}_IF; HIF=${!hif_var}
    check "$transport: network create without peerkey, hub attested" \
        attested_net $net "$transport" $port $subnet $gw -o wgvsock.attest-pcr0=$ZEROS
    check "$transport: the hub's address came from the offer" \
        sh -c "ip -n $E2E_NS -4 addr show $HIF | grep -q 'inet $gw/24'"
    dk run -d --name a$n --network $net busybox sleep 600 >/dev/null || fail "$transport: docker run a$n: $(tail -5 "$PL_LOG")"
    dk run -d --name b$n --network $net busybox sleep 600 >/dev/null || fail "$transport: docker run b$n: $(tail -5 "$PL_LOG")"
    IPA=$(ct_ip a$n $net) IPB=$(ct_ip b$n $net) EPA=$(ct_epid a$n $net)
    want=$(printf '%s\n' "$(derived "$IPA")" "$(derived "$IPB")" | sort | tr '\n' ' ' | sed 's/ $//')
    check "$transport: the hub learnt exactly the two containers' keys" test "$(hub_peers "$HIF")" = "$want"
    check "$transport: a$n pings the hub" dk exec a$n ping -c 2 -w 15 $gw
    check "$transport: b$n pings the hub" dk exec b$n ping -c 2 -w 15 $gw
    check "$transport: hub pings a$n" in_ns ping -c 2 -w 15 "$IPA"
    dk rm -f b$n >/dev/null
    check "$transport: b$n's peer removed from the hub" wait_for 15 sh -c "[ \"\$(ip netns exec $E2E_NS wg show $HIF peers)\" = '$(derived "$IPA")' ]"
    KEY1=$(in_ns wg show "$HIF" public-key)

    # The hub restarts: new key, no peers; the plugin re-provisions and
    # re-attests it, and a$n's device moves to the new key.
    ahub_stop $H
    ahub_start $H "$transport" $port "$CA"
    check "$transport: restarted hub re-provisioned with a$n" wait_for 20 sh -c "[ \"\$(ip netns exec $E2E_NS wg show $HIF peers)\" = '$(derived "$IPA")' ]"
    KEY2=$(in_ns wg show "$HIF" public-key)
    check "$transport: the restarted hub has a new key" test "$KEY1" != "$KEY2"
    check "$transport: a$n recovers through the re-attested hub" wait_for 40 "$DK_CLI" -H "$DOCKER_HOST" exec a$n ping -c 1 -w 2 $gw
    check "$transport: plugin logged the re-attestation" grep -q "hub re-attested with a new key" "$PL_LOG"
    if [ "$transport" = tcp ]; then
        # The plugin restarts: a$n's tunnel is adopted, and only after the
        # hub attested again (the adoption provisions it first).
        applied=$(grep -c "applied offer" "$E2E_TMP/hub-$H.log")
        plugin_stop now
        plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE" WGVSOCK_PROVISION_KEY_FILE="$PROV_KEY" \
            WGVSOCK_PROVISION_INTERVAL=2
        check "$transport: plugin restart: a$n adopted" wait_for 30 grep -q "endpoint ${EPA:0:12} adopted" "$PL_LOG"
        check "$transport: plugin restart: the hub was provisioned again" \
            test "$(grep -c "applied offer" "$E2E_TMP/hub-$H.log")" -gt "$applied"
        check "$transport: plugin restart: a$n still reaches the hub" wait_for 30 "$DK_CLI" -H "$DOCKER_HOST" exec a$n ping -c 1 -w 2 $gw
    fi
    dk rm -f a$n >/dev/null
done

# Failures at docker run: a network made while its hub attested fine, then
# the hub replaced by one that fails a check.  Nothing may reach its
# WireGuard port.
ahub_start F tcp 52100 "$CA"
check "network for the failure cases" attested_net attfail tcp 52100 10.89.0.0/24 10.89.0.1 -o wgvsock.attest-pcr0=$ZEROS
ahub_stop F
ahub_start F tcp 52100 "$CA" WGVSOCK_TEST_PCR0=$ONES
before=$(hub_packets F)
out=$(dk run --rm --network attfail busybox true 2>&1)
check "wrong PCR0: docker run fails" test $? != 0
check "wrong PCR0: the error names the pcr check ($out)" grep -q "pcr check" <<<"$out"
check "wrong PCR0: no packet reached the hub's WireGuard port" test "$(hub_packets F)" = "$before"
ahub_stop F
ahub_start F tcp 52100 "$OTHER"
before=$(hub_packets F)
out=$(dk run --rm --network attfail busybox true 2>&1)
check "untrusted CA: docker run fails" test $? != 0
check "untrusted CA: the error names the certificate-chain check ($out)" grep -q "certificate-chain check" <<<"$out"
check "untrusted CA: no packet reached the hub's WireGuard port" test "$(hub_packets F)" = "$before"
check "untrusted CA: no WireGuard connection to the hub" test -z "$(in_ns ss -Htn state established '( dport = :52100 )')"
dk network rm attfail >/dev/null

# Failures at network create.
ahub_stop F
ahub_start F tcp 52100 "$CA"
expect_network_error "wrong PCR0 at network create" "pcr check" --subnet 10.89.0.0/24 --gateway 10.89.0.1 \
    -o wgvsock.transport=tcp -o wgvsock.peer=127.0.0.1:52100 -o wgvsock.additional="$E2E_ADD" \
    -o wgvsock.attest=test -o wgvsock.attest-root="$CA/root.pem" -o wgvsock.attest-pcr0=$ONES
expect_network_error "peerkey that is not the attested key" "not wgvsock.peerkey" --subnet 10.89.0.0/24 \
    --gateway 10.89.0.1 -o wgvsock.transport=tcp -o wgvsock.peer=127.0.0.1:52100 \
    -o wgvsock.additional="$E2E_ADD" -o wgvsock.attest=test -o wgvsock.attest-root="$CA/root.pem" \
    -o wgvsock.peerkey="$(wg genkey | wg pubkey)"
expect_network_error "attest=test without a root" "attest-root" --subnet 10.89.0.0/24 --gateway 10.89.0.1 \
    -o wgvsock.transport=tcp -o wgvsock.peer=127.0.0.1:52100 -o wgvsock.attest=test
expect_network_error "no hub listening" "provisioning" --subnet 10.89.0.0/24 --gateway 10.89.0.1 \
    -o wgvsock.transport=tcp -o wgvsock.peer=127.0.0.1:52200 -o wgvsock.additional="$E2E_ADD" \
    -o wgvsock.attest=test -o wgvsock.attest-root="$CA/root.pem"

check "plugin log has no seed" bash -c "! grep -qF '$(cat "$E2E_SEED_FILE")' '$PL_LOG'"
# Under ASan/UBSan (BUILD=build-asan) the plugin and the hubs report at exit.
plugin_stop
ahub_stop F
check "no sanitizer report from the plugin or the hubs" \
    bash -c "! grep -q 'Sanitizer\|runtime error' '$PL_LOG' '$E2E_TMP'/hub-*.log"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 60 "$PL_LOG"; }
e2e_finish
