#!/bin/bash
# examples/hub/wgvsock-hub.sh run as written, over udp and then tcp, with a
# real dockerd, the plugin and containers: the hub namespace also gets an
# "outside" namespace behind EGRESS_IF, so the example's NAT is exercised:
#   egress  - a container reaches the outside, which has no route back to
#             the container subnet (works only through MASQUERADE);
#   ingress - the outside connects to a port published on the hub and gets
#             the container's web server (DNAT).
# "down" must remove the interface and every rule it added.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool iptables curl ping
e2e_need_bin keyderive wgvsockd wgvsock-plugin
HUB=$E2E_ROOT/examples/hub/wgvsock-hub.sh

e2e_netns
OUT=o$E2E_NS
ip netns add "$OUT" || die "netns"
e2e_defer "e2e_netns_del $OUT"
ip link add vh$$ netns "$E2E_NS" type veth peer name vo$$ netns "$OUT" || die "veth"
in_ns ip address add 192.0.2.1/24 dev vh$$
in_ns ip link set vh$$ up
ip -n "$OUT" address add 192.0.2.2/24 dev vo$$
ip -n "$OUT" link set vo$$ up
ip -n "$OUT" link set lo up
# The outside knows nothing of 10.0.42.0/24: only NAT makes replies work.

dk_start
dk_busybox
e2e_secrets
plugin_start WGVSOCK_SEED_FILE="$E2E_SEED_FILE"
cat >"$E2E_TMP/hub.env" <<ENV
HUB_IF=wgx$$
HUB_SUBNET=10.0.42.0/24
HUB_KEY=$E2E_TMP/hub.key
SEED_FILE=$E2E_SEED_FILE
ADD_FILE=$E2E_ADD_FILE
EGRESS_IF=vh$$
PUBLISH="8080:10.0.42.10:80 5353:10.0.42.10:53/udp"
ENV
e2e_defer "HUB_ENV=$E2E_TMP/hub.env ip netns exec $E2E_NS sh $HUB down"
rules() { in_ns iptables-save | grep -E '^(-A|:WGV)' | sort; }
rules_before=$(rules)

for transport in udp tcp; do
    log "=== $transport"
    port=51820; [ $transport = tcp ] && port=8172
    if [ $transport = udp ]; then
        check "example hub up ($transport)" env HUB_ENV="$E2E_TMP/hub.env" HUB_TRANSPORT=$transport \
            ip netns exec "$E2E_NS" sh "$HUB" up
    else
        # the way examples/systemd/wgvsock-hub@.service runs it: wgvsockd -f
        # started by the service manager, then "configure"
        in_ns "$E2E_BIN/wgvsockd" -f -n $transport wgx$$ >"$E2E_TMP/wgvsockd-$transport.log" 2>&1 &
        check "example hub configure after wgvsockd -f ($transport)" env HUB_ENV="$E2E_TMP/hub.env" \
            HUB_TRANSPORT=$transport ip netns exec "$E2E_NS" sh "$HUB" configure
    fi
    pub=$(HUB_ENV=$E2E_TMP/hub.env sh "$HUB" pubkey)
    check "hub interface has the gateway address" bash -c "ip -n $E2E_NS -o addr show wgx$$ | grep -q 10.0.42.1/24"
    nrules=$(rules | grep -c WGV)
    check "hub has the subnet's 253 peers" test "$(in_ns wg show wgx$$ peers | wc -l)" = 253
    dk network create --driver wgvsock --subnet 10.0.42.0/24 --gateway 10.0.42.1 \
        -o wgvsock.transport=$transport -o wgvsock.peer=127.0.0.1:$port -o wgvsock.peerkey="$pub" \
        -o wgvsock.additional="$E2E_ADD" ex$transport >/dev/null || { fail "network create"; continue; }
    dk run -d --name web$transport --network ex$transport --ip 10.0.42.10 busybox \
        sh -c 'mkdir -p /www && echo hello-from-$HOSTNAME > /www/index.html && httpd -p 80 -h /www && sleep 600' \
        >/dev/null || { fail "docker run"; continue; }
    cid=$(dk inspect -f '{{.Config.Hostname}}' web$transport)
    check "container reaches the hub ($transport)" dk exec web$transport ping -c 2 -w 15 10.0.42.1
    check "egress: container reaches the outside through MASQUERADE ($transport)" \
        dk exec web$transport ping -c 2 -w 15 192.0.2.2
    got=$(ip netns exec "$OUT" curl -sS -m 10 http://192.0.2.1:8080/ 2>&1)
    check "ingress: published port 8080 reaches the container's httpd ($transport): $got" \
        test "$got" = "hello-from-$cid"
    check "down ($transport)" env HUB_ENV="$E2E_TMP/hub.env" ip netns exec "$E2E_NS" sh "$HUB" down
    check "interface gone after down" bash -c "! ip -n $E2E_NS link show wgx$$ >/dev/null 2>&1"
    check "control socket gone after down" test ! -e /var/run/wireguard/wgx$$.sock
    check "NAT rules were added by up" test "$nrules" -ge 8
    check "no rules left after down" test "$(rules)" = "$rules_before"
    dk rm -f web$transport >/dev/null
    dk network rm ex$transport >/dev/null || fail "network rm"
done
e2e_finish
