#!/bin/bash
# make demo: wgvsock's main job on one machine, in one command, explained.
#
# It starts (only if missing) a dockerd, imports a busybox image from
# Debian's busybox-static (only if there is no busybox image), creates a
# throwaway seed, a hub (wgvsockd over UDP on 127.0.0.1), the plugin, a
# network and a container that serves a page on a published port; shows the
# container's interfaces and routes, pings the hub through the tunnel,
# fetches the page from the host and shows `wg show`; then removes exactly
# what it created.
#
#   DEMO_KEEP=1       keep everything running; prints how to clean up
#   DEMO_PORT=18080   host port for the page (127.0.0.1 only)
#   DEMO_HUB_PORT=51999  the hub's UDP port on 127.0.0.1
#   DEMO_SUBNET=10.213.0.0/24  the network's subnet (the hub is its first address)
#   examples/demo/demo.sh --cleanup DIR   removes what a DEMO_KEEP=1 run left
#
# Exit status: 0 when every step worked, 1 when something is missing or a
# step failed (with the reason), after removing whatever it had created.
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${WGVSOCK_BIN:-$REPO/build/bin}
export PATH=$BIN:$PATH:/usr/sbin:/sbin
PORT=${DEMO_PORT:-18080}
HUB_PORT=${DEMO_HUB_PORT:-51999}
SUBNET=${DEMO_SUBNET:-10.213.0.0/24}
NAME=wgvsock-demo               # container, network and driver (plugin socket) name
HUB_IF=wgdemohub
PLUGIN_SOCK=/run/docker/plugins/$NAME.sock
IMAGE=busybox:latest

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
explain() { printf '    %s\n' "$@"; }
die() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

# --- what was created, so that exactly that is removed -----------------------
# $D/created: one line per thing, "KIND VALUE", removed last-first.
created() { echo "$1 $2" >>"$D/created"; }

# ours PID PATH: PID still runs the program PATH (pids get reused).
ours() { [ -n "$1" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }
stop_pid() {   # stop_pid PID PATH SECONDS
    local i
    ours "$1" "$2" || return 0
    kill "$1" 2>/dev/null
    for ((i = 0; i < $3 * 10; i++)); do ours "$1" "$2" || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null
    sleep 0.2
}

cleanup() {
    local d=$1 kind value
    [ -f "$d/created" ] || { rm -rf "$d"; return 0; }
    [ -f "$d/env" ] && . "$d/env"
    tac "$d/created" | while read -r kind value; do
        case $kind in
        container) docker rm -f "$value" >/dev/null 2>&1 ;;
        network) docker network rm "$value" >/dev/null 2>&1 ;;
        plugin) stop_pid "$value" wgvsock-plugin 10; rm -f "$PLUGIN_SOCK" ;;
        hub) stop_pid "$value" wgvsockd 5; rm -f "/var/run/wireguard/$HUB_IF.sock" ;;
        image) docker rmi "$value" >/dev/null 2>&1 ;;
        dockerd) stop_pid "$value" dockerd 30 ;;
        esac
    done
    rm -rf "$d"
}

if [ "${1:-}" = --cleanup ]; then
    [ -n "${2:-}" ] && [ -f "$2/created" ] || die "usage: $0 --cleanup DIR (the directory a DEMO_KEEP=1 run printed)"
    D=$2
    cleanup "$D"
    echo "demo: removed what $D listed"
    exit 0
fi

# --- what must be there before anything is created -----------------------------
[ "$(id -u)" = 0 ] || die "needs root: it creates TUN devices, a hub interface and (if none runs) a dockerd. Run: sudo make demo"
[ -c /dev/net/tun ] || die "no /dev/net/tun: load the tun module (modprobe tun) or, in a container, pass --device /dev/net/tun"
for b in wgvsock-plugin wgvsockd keyderive; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is not built: run make (make deps first on a fresh machine)"
done
for t in docker ip ss wg curl python3; do
    command -v "$t" >/dev/null || die "$t is not installed: run make deps"
done
in_use() { ss -Hln"$1" "sport = :$2" | grep -q .; }
in_use t "$PORT" && die "port $PORT is taken on this host ($(ss -Hltnp "sport = :$PORT" | awk '{print $NF}' | head -1)); pick another: DEMO_PORT=18081 make demo"
in_use u "$HUB_PORT" && die "UDP port $HUB_PORT (the demo hub's) is taken; pick another: DEMO_HUB_PORT=51998 make demo"
ip link show "$HUB_IF" >/dev/null 2>&1 && die "interface $HUB_IF exists: a demo kept with DEMO_KEEP=1 still runs (see its --cleanup line), or remove it"
[ -z "$(ip route show "$SUBNET" 2>/dev/null)" ] || die "$SUBNET is already routed on this host; pick another: DEMO_SUBNET=10.214.0.0/24 make demo"
[ -S "$PLUGIN_SOCK" ] && curl -s --max-time 2 --unix-socket "$PLUGIN_SOCK" -d '{}' http://p/Plugin.Activate >/dev/null &&
    die "a demo plugin already answers on $PLUGIN_SOCK (an earlier DEMO_KEEP=1 run): clean that one up first"
HUB_ADDR=$(python3 -c 'import ipaddress,sys; n = ipaddress.ip_network(sys.argv[1]); print(next(n.hosts()), n.prefixlen)' "$SUBNET") \
    || die "DEMO_SUBNET=$SUBNET is not an IPv4 subnet"
read -r HUB_ADDR PREFIX <<<"$HUB_ADDR"

D=$(mktemp -d /tmp/wgvsock-demo.XXXXXX) || die "cannot create a temporary directory"
chmod 700 "$D"
: >"$D/created"
echo "PLUGIN_SOCK=$PLUGIN_SOCK HUB_IF=$HUB_IF" >"$D/env"
finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "${DEMO_KEEP:-}" = 1 ] && [ $rc = 0 ]; then
        say "Kept running (DEMO_KEEP=1)"
        [ -n "${OWN_DOCKER:-}" ] && explain "The demo's dockerd: export DOCKER_HOST=$DOCKER_HOST"
        explain "Try: docker exec -it $NAME sh    curl http://127.0.0.1:$PORT/    wg show" \
                "Logs: $D/plugin.log $D/hub.log" \
                "Clean up: $REPO/examples/demo/demo.sh --cleanup $D"
        exit 0
    fi
    [ $rc = 0 ] || { echo "demo: failed; plugin log:"; tail -n 15 "$D/plugin.log" 2>/dev/null; } >&2
    say "Cleaning up: removing exactly what the demo created"
    cleanup "$D"
    explain "done"
    exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

# --- 1. Docker --------------------------------------------------------------------
say "1. Docker"
if timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    explain "Using the dockerd that answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))."
else
    command -v dockerd >/dev/null || die "no dockerd answers and dockerd is not installed: run make deps"
    explain "No dockerd answers: starting one of the demo's own (data in $D, its own socket," \
            "no bridge, no iptables rules); it is stopped at the end."
    echo '{}' >"$D/daemon.json"
    dockerd --data-root "$D/docker" --exec-root "$D/x" -H "unix://$D/docker.sock" --pidfile "$D/docker.pid" \
        --config-file "$D/daemon.json" --bridge=none --iptables=false --ip-masq=false --userland-proxy=false \
        --exec-opt native.cgroupdriver=cgroupfs >"$D/dockerd.log" 2>&1 &
    created dockerd $!
    OWN_DOCKER=1
    export DOCKER_HOST=unix://$D/docker.sock
    echo "export DOCKER_HOST=$DOCKER_HOST" >>"$D/env"
    for i in $(seq 600); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
    docker version >/dev/null 2>&1 || { tail -n 20 "$D/dockerd.log" >&2; die "the demo's dockerd did not start (log above)"; }
    explain "dockerd $(docker version --format '{{.Server.Version}}') up."
fi
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    explain "Image $IMAGE is there."
else
    IMAGE=$NAME/busybox:latest
    bb=$(command -v busybox)
    [ -n "$bb" ] && { file -L "$bb" 2>/dev/null | grep -q 'statically linked' || ldd "$bb" 2>&1 | grep -q 'not a dynamic'; } \
        || die "no busybox image and no static busybox to make one: run make deps (busybox-static)"
    r=$D/bbroot
    mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/www"
    cp "$bb" "$r/bin/busybox" && chroot "$r" /bin/busybox --install -s /bin || die "busybox --install failed"
    echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
    tar -C "$r" -c . | docker import -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null || die "docker import failed"
    created image "$IMAGE"
    rm -rf "$r"
    explain "Imported $IMAGE from this machine's static busybox (there is no registry to pull from)."
fi

# --- 2. the hub -------------------------------------------------------------------
say "2. A hub: wgvsockd on 127.0.0.1:$HUB_PORT (UDP), tunnel address $HUB_ADDR"
explain "A throwaway seed; every container's key is derived from it and the container's" \
        "IPv4 address, so the hub knows the whole subnet's public keys without a key database."
(umask 077; head -c 32 /dev/urandom | base64 >"$D/seed"; wg genkey >"$D/hub.key")
LOG_LEVEL=error wgvsockd -f -n udp "$HUB_IF" >"$D/hub.log" 2>&1 &
created hub $!
for i in $(seq 100); do [ -S "/var/run/wireguard/$HUB_IF.sock" ] && break; sleep 0.1; done
[ -S "/var/run/wireguard/$HUB_IF.sock" ] || { cat "$D/hub.log" >&2; die "the hub did not start"; }
HUB_PUB=$(wg pubkey <"$D/hub.key")
{
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$D/hub.key")" "$HUB_PORT"
    keyderive --seed-file "$D/seed" peers --subnet "$SUBNET" --skip-gateway
} >"$D/hub.conf" || die "keyderive peers failed"
wg setconf "$HUB_IF" "$D/hub.conf" && ip address add "$HUB_ADDR/$PREFIX" dev "$HUB_IF" &&
    ip link set "$HUB_IF" up || die "configuring the hub interface failed"
explain "$(grep -c '^\[Peer\]' "$D/hub.conf") peers from \`keyderive peers --subnet $SUBNET --skip-gateway\`."

# --- 3. the plugin and the network ------------------------------------------------
say "3. The plugin (driver \"$NAME\") and a network"
LOG_LEVEL=info WGVSOCK_SEED_FILE=$D/seed wgvsock-plugin --socket "$PLUGIN_SOCK" --state-dir "$D/state" \
    >"$D/plugin.log" 2>&1 &
created plugin $!
for i in $(seq 100); do
    curl -s --max-time 1 --unix-socket "$PLUGIN_SOCK" -d '{}' http://p/Plugin.Activate 2>/dev/null | grep -q NetworkDriver && break
    sleep 0.1
done
docker network create --driver "$NAME" --subnet "$SUBNET" --gateway "$HUB_ADDR" \
    -o wgvsock.transport=udp -o wgvsock.peer="127.0.0.1:$HUB_PORT" -o wgvsock.peerkey="$HUB_PUB" "$NAME" >/dev/null \
    || die "docker network create failed"
created network "$NAME"
explain "docker network create --driver $NAME --subnet $SUBNET --gateway $HUB_ADDR \\" \
        "    -o wgvsock.transport=udp -o wgvsock.peer=127.0.0.1:$HUB_PORT -o wgvsock.peerkey=<hub key> $NAME"

# --- 4. a container ----------------------------------------------------------------
say "4. A container on it, serving a page on published port 127.0.0.1:$PORT"
docker run -d --name "$NAME" --network "$NAME" -p "127.0.0.1:$PORT:80" "$IMAGE" sh -c \
    'mkdir -p /www && echo "Hello from a wgvsock container ($(ip -4 -o addr show wg0 | awk "{print \$4}"))" >/www/index.html && exec httpd -f -p 80 -h /www' \
    >/dev/null || die "docker run failed"
created container "$NAME"
IP=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NAME\").IPAddress}}" "$NAME")
EP=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NAME\").EndpointID}}" "$NAME")
explain "Docker's IPAM gave it $IP; its key is derived from that address."
links=$(docker exec "$NAME" ip -o link | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
echo "    \$ docker exec $NAME ip -o address"
docker exec "$NAME" ip -o address | awk '{print "      " $2, $3, $4}'
echo "    \$ docker exec $NAME ip route"
docker exec "$NAME" ip route | sed 's/^/      /'
[ "$links" = "lo wg0 " ] || die "expected exactly lo and wg0 in the container, got: $links"
docker exec "$NAME" ip route | grep -q "^default via $HUB_ADDR dev wg0" || die "no default route via the hub"
explain "Only lo and wg0: the container's one network is the WireGuard tunnel, default via the hub."

# --- 5. through the tunnel --------------------------------------------------------
say "5. The container pings the hub through the tunnel"
docker exec "$NAME" ping -c 3 -w 15 "$HUB_ADDR" | sed 's/^/    /' || die "the container cannot ping the hub"
explain "Each ping left wg0 encrypted, crossed UDP 127.0.0.1:$HUB_PORT to wgvsockd and came back."

say "6. The page, fetched from the host through the published port"
page=
for i in $(seq 50); do page=$(curl -s --max-time 3 "http://127.0.0.1:$PORT/") && [ -n "$page" ] && break; sleep 0.2; done
echo "    \$ curl http://127.0.0.1:$PORT/"
echo "      $page"
[ -n "$page" ] || die "the published port did not answer"
explain "The plugin listens on 127.0.0.1:$PORT and relays each connection to port 80 of $IP," \
        "from a socket it creates inside the container's network namespace."

say "7. wg show: the hub and the container's device (one per container, in the plugin)"
# The hub knows all 253 addresses of the subnet: show the one that talked.
wg show "$HUB_IF" | awk 'BEGIN { RS = ""; ORS = "\n\n" } /^interface:|latest handshake/' | sed 's/^/    /'
explain "(and $(($(grep -c '^\[Peer\]' "$D/hub.conf") - 1)) more peers: the subnet's other addresses, no handshake yet)"
echo
wg show "wgv${EP:0:12}" 2>/dev/null | sed 's/^/    /'
explain "Above: the container's device, hosted by the plugin (wgv + 12 characters of the" \
        "endpoint ID on the host, wg0 in the container).  The latest handshake and the" \
        "transfer counters are the tunnel you just used."
say "The demo worked."
