# A Docker swarm of several dockerd 20.10 on this machine (sourced; needs
# tests/lib/e2e.sh, docker.sh and hub.sh first).
#
#   swarm_lan                  the test's "LAN": a bridge in $E2E_NS (which
#                              also holds the hub) at $SW_LAN.1/24
#   swarm_node I               node I: its own network namespace on the LAN
#                              ($SW_LAN.(10+I)), and inside it a dockerd of
#                              its own (tests/lib/docker.sh's dk_start: own
#                              mount namespace, data/exec roots, containerd,
#                              plugin directory); the busybox image
#   swarm_use I                point dk/DK/DK_PID/DOCKER_HOST at node I
#   swarm_plugin I [SEEDFILE]  the managed plugin (from make plugin's
#                              directory) created, WGVSOCK_SCOPE=global,
#                              enabled on node I; SEEDFILE (base64) replaces
#                              the seed it made itself.  SW_SEED[I]: its path
#   swarm_init / swarm_join I  docker swarm init on node 1 / join node I
#   swarm_checked_teardown     every node stopped (dk_stop_checked), then
#                              checks that no namespace, link, mount or
#                              process of the test is left
#
# docker.sh keeps one daemon in globals (DK, DK_PID, DOCKER_HOST, E2E_NS);
# here each node's values are kept in arrays and swarm_use swaps them in, so
# every dk_* helper works on the node in use.  Node I's dk_stop (deferred by
# dk_start) is rewritten to select node I first.

[ -n "${_SWARM_SH:-}" ] && return 0
_SWARM_SH=1

SW_LAN=${SW_LAN:-192.168.$((200 + RANDOM % 50))}
SW_BR=swbr$$
declare -A SW_NS=() SW_DK=() SW_PID=() SW_HOST=() SW_SEED=() SW_ADDR=()
SW_HUB_NS=

swarm_lan() {
    [ -n "${E2E_NS:-}" ] || e2e_netns
    SW_HUB_NS=$E2E_NS
    in_ns ip link add "$SW_BR" type bridge || die "bridge"
    in_ns ip address add "$SW_LAN.1/24" dev "$SW_BR"
    in_ns ip link set "$SW_BR" up
    # The hub routes between containers (task to task through the hub).
    in_ns sysctl -qw net.ipv4.ip_forward=1
}

swarm_node() {
    local i=$1 ns=${SW_HUB_NS}n$1 ifh=swv$$n$1
    ip netns add "$ns" || die "ip netns add $ns"
    e2e_defer "e2e_netns_del $ns"
    ip -n "$ns" link set lo up
    ip link add "$ifh" netns "$SW_HUB_NS" type veth peer name eth0 netns "$ns" || die "veth for node $i"
    ip -n "$SW_HUB_NS" link set "$ifh" master "$SW_BR" up
    ip -n "$ns" address add "$SW_LAN.$((10 + i))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$SW_LAN.1"
    SW_NS[$i]=$ns SW_ADDR[$i]=$SW_LAN.$((10 + i))
    E2E_NS=$ns
    dk_start
    # dk_start deferred "dk_stop" for whichever node is in use at exit.
    _e2e_cleanup[${#_e2e_cleanup[@]}-1]="swarm_use $i; dk_stop"
    SW_DK[$i]=$DK SW_PID[$i]=$DK_PID SW_HOST[$i]=$DOCKER_HOST
    dk_busybox
    E2E_NS=$SW_HUB_NS
    log "node $i: dockerd in $ns at ${SW_ADDR[$i]}"
}

swarm_use() {
    DK=${SW_DK[$1]} DK_PID=${SW_PID[$1]} DOCKER_HOST=${SW_HOST[$1]} SW_CUR=$1
    export DOCKER_HOST
}

# swarm_in I CMD...: a command in node I's network namespace.
swarm_in() { local i=$1; shift; ip netns exec "${SW_NS[$i]}" "$@"; }

swarm_plugin() {
    local i=$1 seed=${2:-} id
    swarm_use "$i"
    if [ ! -d "$E2E_TMP/pdir" ]; then
        make -s -C "$E2E_ROOT" BUILD="${BUILD:-build}" PLUGIN_DIR="$E2E_TMP/pdir" plugin-dir \
            >"$E2E_TMP/make.log" 2>&1 || { cat "$E2E_TMP/make.log"; die "make plugin-dir failed"; }
    fi
    dk plugin create wgvsock "$E2E_TMP/pdir" >/dev/null || die "node $i: docker plugin create"
    dk plugin set wgvsock WGVSOCK_SCOPE=global LOG_LEVEL=info || die "node $i: docker plugin set"
    dk plugin enable wgvsock >/dev/null || die "node $i: docker plugin enable: $(dk_logs 10)"
    id=$(dk plugin inspect -f '{{.Id}}' wgvsock)
    SW_SEED[$i]=$DK/data/plugins/$id/propagated-mount/seed
    wait_for 10 test -s "${SW_SEED[$i]}" || die "node $i: the plugin made no seed"
    # The plugin reads its seed file at every key derivation.
    [ -n "$seed" ] && cat "$seed" >"${SW_SEED[$i]}"
    return 0
}

swarm_init() {
    swarm_use 1
    dk swarm init --advertise-addr "${SW_ADDR[1]}" --listen-addr "${SW_ADDR[1]}:2377" >/dev/null \
        || die "swarm init: $(dk_logs 20)"
    SW_TOKEN=$(dk swarm join-token -q worker)
}

swarm_join() {
    swarm_use "$1"
    timeout 60 "$DK_CLI" -H "$DOCKER_HOST" swarm join --token "$SW_TOKEN" \
        --advertise-addr "${SW_ADDR[$1]}" --listen-addr "${SW_ADDR[$1]}:2377" "${SW_ADDR[1]}:2377" >/dev/null \
        || die "node $1: swarm join: $(dk_logs 20)"
}

swarm_checked_teardown() {
    local i left
    for i in "${!SW_DK[@]}"; do
        swarm_use "$i"
        E2E_NS=${SW_NS[$i]}
        dk swarm leave --force >/dev/null 2>&1
        dk plugin disable -f wgvsock >/dev/null 2>&1
        dk plugin rm -f wgvsock >/dev/null 2>&1
        dk_stop_checked
        ip netns del "${SW_NS[$i]}"
        check "node $i: its network namespace is gone" bash -c "! ip netns list | grep -qw '${SW_NS[$i]}'"
    done
    E2E_NS=$SW_HUB_NS
    # (a deleted namespace's links go in the kernel's cleanup work, soon after)
    wait_for 10 bash -c "! ip -n '$SW_HUB_NS' -o link | grep -q ' swv$$'" >/dev/null
    left=$(ip -n "$SW_HUB_NS" -o link | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep "^swv$$" | tr '\n' ' ')
    check "no veth of the LAN left ($left)" test -z "$left"
    left=$(ip -o link | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E "^(swv|swbr)$$" | tr '\n' ' ')
    check "no LAN link in the host's namespace ($left)" test -z "$left"
}
