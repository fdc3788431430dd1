#!/bin/bash
# e2e: swarm services on a wgvsock network (issue 16).  Three dockerd 20.10
# nodes on this machine (tests/lib/swarm.sh: own network + mount namespaces,
# a bridge as their LAN), the managed plugin on each with
# WGVSOCK_SCOPE=global; nodes 1 and 2 share the cluster's seed, node 3 keeps
# the one its plugin made.  One hub (wgvsockd -n udp) on the LAN for the
# whole cluster, its peers from `keyderive peers` for the subnet only.
# Checked: the network created on the manager reaches the workers with its
# options (AllocateNetwork); a service's tasks on both nodes have wg0 only,
# addresses unique across nodes, keys the hub knows; they reach the hub and
# each other by service name (--endpoint-mode dnsrr: see docs/OPTIONS.md,
# Swarm); scale up and down, a rolling update, a node leaving and coming
# back; the wrong-seed node refused with a clear message; a local-scope
# plugin on a daemon outside the swarm still works; nothing left behind.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
. "$(dirname "$0")/../lib/swarm.sh"
e2e_need_root
e2e_need_tool make ping python3
e2e_need_bin keyderive wgvsockd wgvsock-plugin
[ "$DK_ENGINE" = 20.10 ] || skip "swarm nodes run the host's Docker 20.10"

SUBNET=10.84.0.0/24
e2e_netns
swarm_lan
swarm_node 1
swarm_node 2
swarm_node 3

# The cluster's seed is node 1's (made by its plugin); node 2 gets a copy.
swarm_plugin 1
E2E_SEED_FILE=$E2E_TMP/seed E2E_ADD_FILE=$E2E_TMP/additional
cp "${SW_SEED[1]}" "$E2E_SEED_FILE"
head -c 16 /dev/urandom | base64 >"$E2E_ADD_FILE"
E2E_ADD=$(cat "$E2E_ADD_FILE")
swarm_plugin 2 "$E2E_SEED_FILE"
swarm_plugin 3
check "the managed plugin asks for no /dev/vsock (enables on hosts without it)" \
    bash -c "! $DK_CLI -H ${SW_HOST[1]} plugin inspect -f '{{json .Config.Linux.Devices}}' wgvsock | grep -q vsock"
check "node 3's own seed differs from the cluster's" bash -c "! cmp -s '${SW_SEED[3]}' '$E2E_SEED_FILE'"
hub_start udp "$SUBNET"
HUB_PEER=$SW_LAN.1:$HUB_PORT

swarm_init
swarm_join 2
swarm_join 3
swarm_use 1
check "three nodes ready" wait_for 30 bash -c "[ \$($DK_CLI -H $DOCKER_HOST node ls -q --filter role=worker | wc -l) = 2 ]"
NODE2=$(swarm_use 2; dk info -f '{{.Swarm.NodeID}}')
NODE3=$(swarm_use 3; dk info -f '{{.Swarm.NodeID}}')

# ---- the network, from the manager ----
# Swarm allocates a network after `docker network create` returns, so
# AllocateNetwork's refusal reaches the manager's log (and the network is
# never usable), not the command.
dk network create --driver wgvsock:latest --subnet 10.85.0.0/24 -o wgvsock.transport=udp \
    -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey=nope badnet >/dev/null 2>&1
check "a bad option is refused by AllocateNetwork on the manager (its log)" wait_for 20 \
    grep -q "AllocateNetwork: wgvsock.peerkey: not a WireGuard public key" "$DK/dockerd.log"
dk network rm badnet >/dev/null 2>&1
WGNET_DRIVER=wgvsock:latest wgnet_create snet -o wgvsock.transport=udp >/dev/null \
    || die "network create on the manager: $(dk_logs 20)"
check "the network is swarm-scoped" test "$(dk network inspect -f '{{.Scope}}' snet)" = swarm
FP=$(dk network inspect -f '{{index .Options "wgvsock.seed-fingerprint"}}' snet)
WANT=$(python3 -c 'import base64,hashlib,sys; print(hashlib.blake2b(base64.b64decode(open(sys.argv[1]).read()), digest_size=16, key=b"wgvsock seed fingerprint v1").digest()[:8].hex())' "$E2E_SEED_FILE")
check "AllocateNetwork added the cluster seed's fingerprint ($FP)" test "$FP" = "$WANT"
check "the network's options hold no seed" bash -c "! $DK_CLI -H $DOCKER_HOST network inspect snet | grep -qF '$(cat "$E2E_SEED_FILE")'"

# ---- a service across nodes 1 and 2 ----
svc_tasks() {  # svc_tasks NODE SERVICE: running container IDs there
    swarm_use "$1"; dk ps -q --filter "label=com.docker.swarm.service.name=$2"
}
svc_running() {  # svc_running SERVICE N: N tasks running
    [ "$(dk service ps -q --filter desired-state=running "$1" | while read -r t; do
        dk inspect -f '{{.Status.State}}' "$t"; done | grep -c '^running$')" = "$2" ]
}
# svc_check SERVICE WHAT: every running task of SERVICE on nodes 1 and 2:
# wg0 only, a unique address in the subnet, its key in the hub's peer list
# with a handshake, pings the hub.  Prints the node:container:ip list.
svc_check() {
    local s=$1 what=$2 n c ip pub all=""
    for n in 1 2; do
        for c in $(svc_tasks "$n" "$s"); do
            swarm_use "$n"
            ip=$(ct_ip "$c" snet)
            all="$all $ip"
            echo "$n:$c:$ip" >>"$E2E_TMP/tasks.$s"
            check "$what: node $n task $ip has lo and wg0 only ($(ct_links "$c"))" test "$(ct_links "$c")" = "lo wg0"
            check "$what: node $n task $ip pings the hub" dk exec "$c" ping -c 2 -w 15 "$HUB_ADDR" >/dev/null
            pub=$(keyderive pubkey --seed-file "$E2E_SEED_FILE" --add-file "$E2E_ADD_FILE" "$ip")
            check "$what: $ip's key is in the hub's keyderive peer list" grep -qxF "PublicKey = $pub" "$E2E_TMP/hub.conf"
            check "$what: the hub has a handshake with $ip's key" hub_handshake "$pub" >/dev/null
        done
    done
    swarm_use 1
    n=$(echo $all | wc -w)
    check "$what: $n addresses, all unique across nodes ($all)" test "$(echo $all | tr ' ' '\n' | sort -u | wc -l)" = "$n"
}

swarm_use 1
dk service create -d --name web --network snet --replicas 4 --endpoint-mode dnsrr --no-resolve-image \
    --placement-pref spread=node.id --constraint "node.id!=$NODE3" \
    busybox sh -c 'while true; do hostname | nc -l -p 8080; done' >/dev/null \
    || die "service create: $(dk_logs 20)"
check "4 tasks running" wait_for 90 svc_running web 4 || { dk service ps --no-trunc web; dk_logs 30; }
T1=$(svc_tasks 1 web | head -1) T2=$(svc_tasks 2 web | head -1)
check "tasks on both nodes ($T1 / $T2)" test -n "$T1" -a -n "$T2"
svc_check web "4 replicas"
swarm_use 2; IP2=$(ct_ip "$T2" snet); swarm_use 1

# task to task, through the hub, by service name (dnsrr: the name is every task's address)
names=$(dk exec "$T1" nslookup web 127.0.0.11 2>&1)
check "node 1's task resolves the service name to node 2's task ($IP2)" grep -qw "$IP2" <<<"$names"
# (each task answers TCP 8080 with its hostname, its container ID's start)
got=$(dk exec "$T1" nc -w 10 "$IP2" 8080 </dev/null 2>&1)
check "node 1's task talks TCP to node 2's task through the hub ($got)" test "$got" = "${T2:0:12}"
got=$(dk exec "$T1" nc -w 10 web 8080 </dev/null 2>&1)
check "...and by service name: web:8080 answers ($got)" test -n "$got" -a "${#got}" = 12

# ---- scale up and down, rolling update ----
dk service scale -d web=6 >/dev/null
check "scaled to 6" wait_for 90 svc_running web 6
svc_check web "6 replicas"
dk service scale -d web=2 >/dev/null
check "scaled down to 2" wait_for 90 svc_running web 2
dk service update -d --env-add WAVE=2 --update-parallelism 1 web >/dev/null
check "rolling update converged" wait_for 120 bash -c \
    "[ \"\$($DK_CLI -H $DOCKER_HOST service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' web)\" = completed ] && \
     [ \$($DK_CLI -H $DOCKER_HOST service ps -q --filter desired-state=running web | wc -l) = 2 ]"
check "2 updated tasks running" wait_for 60 svc_running web 2
svc_check web "after the update"

# ---- node 2 leaves and comes back ----
swarm_use 2
check "node 2 leaves" dk swarm leave >/dev/null
check "node 2's tasks are gone there" wait_for 60 bash -c "[ -z \"\$($DK_CLI -H ${SW_HOST[2]} ps -q)\" ]"
left=$(swarm_in 2 ip -o link | grep -c ' wgv' || true)
check "node 2 has no wgv interface left ($left)" test "$left" = 0
swarm_use 1
check "the service runs on node 1 meanwhile" wait_for 90 svc_running web 2
swarm_join 2
swarm_use 1
dk service scale -d web=4 >/dev/null
check "node 2 back: 4 tasks running" wait_for 90 svc_running web 4
check "node 2 runs tasks again" wait_for 30 test -n "$(svc_tasks 2 web)"
swarm_use 1
svc_check web "after node 2 came back"

# ---- node 3, whose seed is not the cluster's ----
dk service create -d --name wrong --network snet --no-resolve-image --constraint "node.id==$NODE3" \
    --restart-max-attempts 1 busybox sleep 600 >/dev/null
check "node 3's task is refused with the seed message" wait_for 60 bash -c \
    "$DK_CLI -H $DOCKER_HOST service ps --no-trunc wrong | grep -q 'seed'" || dk service ps --no-trunc wrong
log "node 3: $(dk service ps --no-trunc wrong | grep -o 'seed.*' | head -1)"
check "node 3 runs no task of it" test -z "$(svc_tasks 3 wrong)"
swarm_use 1
dk service rm web wrong >/dev/null
check "tasks removed" wait_for 60 bash -c "[ -z \"\$($DK_CLI -H ${SW_HOST[1]} ps -q)\" ] && [ -z \"\$($DK_CLI -H ${SW_HOST[2]} ps -q)\" ]"
check "network rm on the manager" wait_for 30 dk network rm snet

# ---- local scope: node 3 leaves the swarm; a local plugin (default scope) works ----
swarm_use 3
dk swarm leave --force >/dev/null
dk plugin disable -f wgvsock >/dev/null && dk plugin set wgvsock WGVSOCK_SCOPE=local && dk plugin enable wgvsock >/dev/null
cat "$E2E_SEED_FILE" >"${SW_SEED[3]}"
E2E_NS=${SW_NS[3]}
WGNET_DRIVER=wgvsock:latest wgnet_create lnet -o wgvsock.transport=udp >/dev/null || fail "local network on node 3: $(dk_logs 10)"
check "local-scope network" test "$(dk network inspect -f '{{.Scope}}' lnet 2>/dev/null)" = local
dk run -d --name l1 --network lnet busybox sleep 600 >/dev/null || fail "docker run on the local network"
check "outside the swarm, a container on a local network pings the hub" dk exec l1 ping -c 2 -w 15 "$HUB_ADDR"
dk rm -f l1 >/dev/null; dk network rm lnet >/dev/null
E2E_NS=$SW_HUB_NS

# The plugin's log lines at their real level in dockerd's log (dockerd logs
# a managed plugin's stdout as info, its stderr as error).
swarm_use 1
check "the plugin's INFO lines are logged by dockerd at level info" \
    grep -q 'level=info msg=".*INFO: plugin: network' "$DK/dockerd.log"
check "none of its INFO lines is logged as an error" bash -c "! grep -q 'level=error msg=\"[^\"]*INFO: plugin' '$DK/dockerd.log'"
check "its errors still are" grep -q 'level=error msg=".*ERROR: plugin: NetworkDriver.AllocateNetwork' "$DK/dockerd.log"

[ "$E2E_FAILS" = 0 ] || { swarm_use 1; dk_logs 40; }
swarm_checked_teardown
e2e_finish
