#!/bin/sh
# wgvsock-hub.sh - the hub end of a wgvsock network, on an enclave, a VM or
# any Linux machine: a WireGuard interface served by wgvsockd that owns the
# Docker network's gateway address, authorizes every container of the subnet
# by its derived public key, and (optionally) NATs the containers' traffic to
# the outside and publishes container ports.
#
#   wgvsock-hub.sh up      create and configure everything (idempotent: a
#                          running hub is taken down first)
#   wgvsock-hub.sh down    remove the NAT rules and the interface (wgvsockd
#                          exits when its interface goes)
#   wgvsock-hub.sh configure   everything but starting wgvsockd, for an
#                          interface that a service manager started
#                          (examples/systemd/wgvsock-hub@.service)
#   wgvsock-hub.sh pubkey  print the hub's public key (for wgvsock.peerkey)
#
# Configuration: environment variables, or a file named by HUB_ENV (default
# /etc/wgvsock/hub.env) holding VAR=value lines.  Defaults in brackets.
#
#   HUB_IF         interface name [wg0]
#   HUB_TRANSPORT  vsock, udp or tcp [vsock]: must match wgvsock.transport
#   HUB_PORT       listen port [8172 for vsock and tcp, 51820 for udp]
#   HUB_SUBNET     the Docker network's subnet [10.0.42.0/24]; the hub takes
#                  its first address, which Docker makes the gateway
#   HUB_KEY        the hub's private key file, created if missing
#                  [/etc/wgvsock/hub.key]
#   SEED_FILE      the seed (base64), the same the plugin uses [/etc/wgvsock/seed]
#   ADD_FILE       the additional (base64), the same as -o wgvsock.additional;
#                  absent file: keyderive's default [/etc/wgvsock/additional]
#   EGRESS_IF      interface towards the outside; set it to MASQUERADE the
#                  containers' traffic out of it [unset: no egress NAT]
#   PUBLISH        space-separated HUBPORT:CONTAINER_IP:PORT[/udp] entries:
#                  connections to HUBPORT on the hub go to that container
#                  (the container's address: docker run --ip) [unset]
#   WGVSOCKD, KEYDERIVE  the programs [wgvsockd, keyderive from PATH]
#
# Needs: wgvsockd and keyderive (make), wg (wireguard-tools), ip (iproute2),
# iptables (only with EGRESS_IF or PUBLISH).
set -eu

HUB_ENV=${HUB_ENV:-/etc/wgvsock/hub.env}
# shellcheck disable=SC1090
[ -r "$HUB_ENV" ] && . "$HUB_ENV"
HUB_IF=${HUB_IF:-wg0}
HUB_TRANSPORT=${HUB_TRANSPORT:-vsock}
case $HUB_TRANSPORT in
    udp) HUB_PORT=${HUB_PORT:-51820} ;;
    vsock|tcp) HUB_PORT=${HUB_PORT:-8172} ;;
    *) echo "HUB_TRANSPORT must be vsock, udp or tcp" >&2; exit 2 ;;
esac
HUB_SUBNET=${HUB_SUBNET:-10.0.42.0/24}
HUB_KEY=${HUB_KEY:-/etc/wgvsock/hub.key}
SEED_FILE=${SEED_FILE:-/etc/wgvsock/seed}
ADD_FILE=${ADD_FILE:-/etc/wgvsock/additional}
EGRESS_IF=${EGRESS_IF:-}
PUBLISH=${PUBLISH:-}
WGVSOCKD=${WGVSOCKD:-wgvsockd}
KEYDERIVE=${KEYDERIVE:-keyderive}
# iptables chains of this hub, so that "down" removes exactly its own rules.
CH_PRE=WGV-PRE-$HUB_IF
CH_OUT=WGV-OUT-$HUB_IF
CH_POST=WGV-POST-$HUB_IF
CH_FWD=WGV-FWD-$HUB_IF

# The gateway address: the subnet's first host address (python-free).
gateway() {
    net=${HUB_SUBNET%/*}
    last=${net##*.}
    echo "${net%.*}.$((last + 1))"
}

down() {
    if command -v iptables >/dev/null 2>&1; then
        iptables -t nat -D PREROUTING -j "$CH_PRE" 2>/dev/null || true
        iptables -t nat -D OUTPUT -j "$CH_OUT" 2>/dev/null || true
        iptables -t nat -D POSTROUTING -j "$CH_POST" 2>/dev/null || true
        iptables -D FORWARD -j "$CH_FWD" 2>/dev/null || true
        for c in "nat $CH_PRE" "nat $CH_OUT" "nat $CH_POST" "filter $CH_FWD"; do
            set -- $c
            iptables -t "$1" -F "$2" 2>/dev/null && iptables -t "$1" -X "$2" 2>/dev/null || true
        done
    fi
    # Deleting the interface ends its wgvsockd.
    ip link del "$HUB_IF" 2>/dev/null || true
    i=0
    while [ -S "/var/run/wireguard/$HUB_IF.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

up() {
    down
    # 1. The interface, served by wgvsockd (it daemonizes once the TUN and the
    #    control socket exist; under systemd use -f, see examples/systemd).
    "$WGVSOCKD" -n "$HUB_TRANSPORT" "$HUB_IF"
    configure
}

configure() {
    i=0
    while [ ! -S "/var/run/wireguard/$HUB_IF.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -S "/var/run/wireguard/$HUB_IF.sock" ] || { echo "no wgvsockd serves $HUB_IF" >&2; exit 1; }

    # 2. The hub's key: generated once, kept 0600.  Its public half is the
    #    network's wgvsock.peerkey.
    if [ ! -s "$HUB_KEY" ]; then
        (umask 077; mkdir -p "$(dirname "$HUB_KEY")"; wg genkey >"$HUB_KEY")
    fi

    # 3. Every container address of the subnet as a peer, from the seed: no
    #    container key ever travels here.  --skip-gateway: the gateway is us.
    add=""
    [ -r "$ADD_FILE" ] && add="--add-file $ADD_FILE"
    {
        printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$HUB_KEY")" "$HUB_PORT"
        # shellcheck disable=SC2086
        "$KEYDERIVE" --seed-file "$SEED_FILE" $add peers --subnet "$HUB_SUBNET" --skip-gateway
    } | wg setconf "$HUB_IF" /dev/stdin

    # 4. The gateway address: containers get "default via <gateway> dev wg0",
    #    so everything they send arrives here.
    ip address add "$(gateway)/${HUB_SUBNET#*/}" dev "$HUB_IF"
    ip link set "$HUB_IF" up

    [ -z "$EGRESS_IF$PUBLISH" ] && return 0
    iptables -t nat -N "$CH_PRE"; iptables -t nat -N "$CH_OUT"; iptables -t nat -N "$CH_POST"
    iptables -N "$CH_FWD"
    iptables -t nat -A PREROUTING -j "$CH_PRE"
    iptables -t nat -A OUTPUT -j "$CH_OUT"
    iptables -t nat -A POSTROUTING -j "$CH_POST"
    iptables -I FORWARD -j "$CH_FWD"
    sysctl -qw net.ipv4.ip_forward=1

    # 5. Egress: the containers' traffic leaves through EGRESS_IF with the
    #    hub's address (the outside has no route back to the container subnet).
    if [ -n "$EGRESS_IF" ]; then
        iptables -t nat -A "$CH_POST" -s "$HUB_SUBNET" -o "$EGRESS_IF" -j MASQUERADE
        iptables -A "$CH_FWD" -i "$HUB_IF" -o "$EGRESS_IF" -s "$HUB_SUBNET" -j ACCEPT
        iptables -A "$CH_FWD" -i "$EGRESS_IF" -o "$HUB_IF" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    fi

    # 6. Ingress: a published port on the hub goes to one container.  PREROUTING
    #    for connections from outside, OUTPUT for ones made on the hub itself.
    for p in $PUBLISH; do
        hport=${p%%:*}; rest=${p#*:}; cip=${rest%%:*}; cport=${rest#*:}
        proto=tcp
        case $cport in */udp) proto=udp; cport=${cport%/udp} ;; */tcp) cport=${cport%/tcp} ;; esac
        iptables -t nat -A "$CH_PRE" -p "$proto" --dport "$hport" -j DNAT --to-destination "$cip:$cport"
        iptables -t nat -A "$CH_OUT" -p "$proto" --dport "$hport" -m addrtype --dst-type LOCAL \
            -j DNAT --to-destination "$cip:$cport"
        iptables -A "$CH_FWD" -o "$HUB_IF" -p "$proto" -d "$cip" --dport "$cport" -j ACCEPT
        iptables -A "$CH_FWD" -i "$HUB_IF" -s "$cip" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    done
}

case ${1:-} in
    up) up ;;
    configure) configure ;;
    down) down ;;
    pubkey) wg pubkey <"$HUB_KEY" ;;
    *) echo "usage: $0 up|down|configure|pubkey (configuration: see the comments at the top)" >&2; exit 2 ;;
esac
