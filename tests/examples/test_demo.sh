#!/bin/bash
# `make demo` (examples/demo/demo.sh) as a user runs it, on a machine where
# no dockerd answers: it must start its own, show lo + wg0 and the default
# route via the hub, ping the hub, fetch the page through the published port,
# show wg show, exit 0 and leave nothing: no process, no link, no listening
# socket, no plugin or wg(8) socket, no temporary directory.  Then the same
# with DEMO_KEEP=1 followed by the printed --cleanup command; and the clear
# failures: not root, no /dev/net/tun, port taken (exit 1, nothing created).  Last, with a
# dockerd that already answers: used, and left running with its images.
#
# The demo runs in the test's network namespace and a private mount namespace
# (a sysfs of that namespace with the cgroup hierarchies moved over, as
# tests/lib/docker.sh does for dockerd; empty tmpfs on /run/docker/plugins and
# /run/wireguard), with DOCKER_HOST pointing nowhere so that a dockerd of the
# machine is never used.
. "$(dirname "$0")/../lib/e2e.sh"
e2e_need_root
e2e_need_tool dockerd containerd docker wg curl unshare nsenter busybox setpriv
e2e_need_bin keyderive wgvsockd wgvsock-plugin
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

e2e_netns
mkdir -p /run/docker/plugins /run/wireguard
cat >"$E2E_TMP/inner.sh" <<EOF
set -e
mount --make-rprivate /
mkdir -p "$E2E_TMP/cg"
mount --rbind /sys/fs/cgroup "$E2E_TMP/cg"
mount -t sysfs sysfs /sys
mount --move "$E2E_TMP/cg" /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run/docker/plugins
mount -t tmpfs -o mode=755 tmpfs /run/wireguard
set +e
export DOCKER_HOST=unix://$E2E_TMP/nodocker.sock WGVSOCK_BIN=$E2E_BIN
"\$@"
rc=\$?
echo "demo exit \$rc"
echo "left in /run/docker/plugins: \$(ls -A /run/docker/plugins | tr '\n' ' ')"
echo "left in /run/wireguard: \$(ls -A /run/wireguard | tr '\n' ' ')"
exit \$rc
EOF
DEMO=$E2E_ROOT/examples/demo/demo.sh
# run_demo LOG CMD...: CMD (the demo, or a wrapper of it) inside the namespaces.
run_demo() {
    local out=$1; shift
    nsenter --net="/run/netns/$E2E_NS" unshare -m --propagation private bash "$E2E_TMP/inner.sh" "$@" >"$out" 2>&1
}
# nothing_left WHAT LOG: the namespace and the machine hold nothing of the demo.
nothing_left() {
    local what=$1 dir
    dir=$(grep -o '/tmp/wgvsock-demo\.[A-Za-z0-9]*' "$2" | head -1)
    check "$what: no process left in the namespace ($(ip netns pids "$E2E_NS" | tr '\n' ' '))" test -z "$(ip netns pids "$E2E_NS")"
    check "$what: only lo left ($(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}' | tr '\n' ' '))" \
        test "$(ip -n "$E2E_NS" -o link | awk -F': ' '{print $2}')" = lo
    check "$what: nothing listens" test -z "$(ip netns exec "$E2E_NS" ss -Hltun)"
    check "$what: no plugin socket left" grep -qx 'left in /run/docker/plugins: ' "$2"
    check "$what: no wg(8) socket left" grep -qx 'left in /run/wireguard: ' "$2"
    [ -z "$dir" ] || check "$what: temporary directory $dir removed" test ! -e "$dir"
}

# --- the plain run --------------------------------------------------------------
run_demo "$E2E_TMP/demo.log" "$DEMO"
rc=$?
sed 's/^/  | /' "$E2E_TMP/demo.log"
check "make demo exits 0 (got $rc)" test $rc = 0
check "it started its own dockerd" grep -q "No dockerd answers: starting one" "$E2E_TMP/demo.log"
check "it imported busybox" grep -q "Imported wgvsock-demo/busybox" "$E2E_TMP/demo.log"
check "the container's interfaces are lo and wg0" grep -q "Only lo and wg0" "$E2E_TMP/demo.log"
check "default route via the hub is shown" grep -q "default via 10.213.0.1 dev wg0" "$E2E_TMP/demo.log"
check "pings got through" grep -q "3 packets transmitted, 3 packets received" "$E2E_TMP/demo.log"
check "the page came through the published port" grep -q "Hello from a wgvsock container (10.213.0.2/24)" "$E2E_TMP/demo.log"
check "wg show shows a handshake" grep -q "latest handshake" "$E2E_TMP/demo.log"
check "a temporary directory was named" grep -q '/tmp/wgvsock-demo\.' "$E2E_TMP/demo.log"
nothing_left "after make demo" "$E2E_TMP/demo.log"

# --- DEMO_KEEP=1, then the printed cleanup ---------------------------------------
# The kept processes use run_demo's mount namespace, gone when it returns:
# the check of what was kept and the cleanup run inside it.
cat >"$E2E_TMP/keep.sh" <<'EOF'
DEMO_KEEP=1 "$1" >"$2" 2>&1
rc=$?
cat "$2"
[ $rc = 0 ] || exit $rc
curl -s --max-time 5 http://127.0.0.1:18080/ | sed 's/^/kept page: /'
cmd=$(grep -o '[^ ]*/examples/demo/demo.sh --cleanup [^ ]*' "$2")
echo "running: $cmd"
$cmd
EOF
run_demo "$E2E_TMP/keep.log" bash "$E2E_TMP/keep.sh" "$DEMO" "$E2E_TMP/keep-inner.log"
rc=$?
check "DEMO_KEEP=1 + cleanup exit 0 (got $rc)" test $rc = 0
check "DEMO_KEEP=1 prints how to clean up" grep -q -- "--cleanup /tmp/wgvsock-demo" "$E2E_TMP/keep.log"
check "DEMO_KEEP=1 leaves it serving" grep -q "kept page: Hello from a wgvsock container" "$E2E_TMP/keep.log"
check "the --cleanup command reports" grep -q "demo: removed what" "$E2E_TMP/keep.log"
nothing_left "after DEMO_KEEP=1 + --cleanup" "$E2E_TMP/keep.log"
[ "$E2E_FAILS" = 0 ] || sed 's/^/  keep| /' "$E2E_TMP/keep.log"

# --- clear failures -----------------------------------------------------------------
run_demo "$E2E_TMP/nonroot.log" setpriv --reuid=65534 --regid=65534 --clear-groups "$DEMO"
rc=$?
check "not root: exit 1 (got $rc)" test $rc = 1
check "not root: says so ($(grep 'demo:' "$E2E_TMP/nonroot.log" | head -1))" grep -q "needs root" "$E2E_TMP/nonroot.log"
run_demo "$E2E_TMP/notun.log" bash -c 'mount -t tmpfs tmpfs /dev/net && exec "$0"' "$DEMO"
rc=$?
check "no /dev/net/tun: exit 1 (got $rc)" test $rc = 1
check "no /dev/net/tun: says what to do ($(grep 'demo:' "$E2E_TMP/notun.log" | head -1))" \
    grep -q "no /dev/net/tun: load the tun module" "$E2E_TMP/notun.log"
ip netns exec "$E2E_NS" python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",18080)); s.listen(1); time.sleep(60)' &
TAKER=$!
e2e_defer "kill_wait $TAKER 2"
wait_for 5 bash -c "ip netns exec $E2E_NS ss -Hltn 'sport = :18080' | grep -q ."
run_demo "$E2E_TMP/taken.log" "$DEMO"
rc=$?
check "port taken: exit 1 (got $rc)" test $rc = 1
check "port taken: names the port ($(grep 'demo:' "$E2E_TMP/taken.log" | head -1))" grep -q "port 18080 is taken" "$E2E_TMP/taken.log"
check "port taken: no dockerd was started" bash -c "! grep -q 'starting one' '$E2E_TMP/taken.log'"
kill_wait $TAKER 2
nothing_left "after the failures" "$E2E_TMP/taken.log"

# --- a dockerd already answers: the demo uses it and stops nothing of it -------
# (tests/lib/docker.sh's dockerd, with the image busybox; the demo runs in
# that dockerd's mount namespace, as on a host where both share one.)
. "$(dirname "$0")/../lib/docker.sh"
dk_start
dk_busybox
images=$(dk images -q | sort | tr '\n' ' ')
nsenter --net="/run/netns/$E2E_NS" --mount="/proc/$DK_PID/ns/mnt" \
    env DOCKER_HOST="$DOCKER_HOST" DOCKER_CONFIG="$DK/cli" WGVSOCK_BIN="$E2E_BIN" "$DEMO" >"$E2E_TMP/own.log" 2>&1
rc=$?
check "with a running dockerd: exit 0 (got $rc)" test $rc = 0 || sed 's/^/  own| /' "$E2E_TMP/own.log"
check "it used the running dockerd" grep -q "Using the dockerd that answers" "$E2E_TMP/own.log"
check "it used the existing busybox image" grep -q "Image busybox:latest is there" "$E2E_TMP/own.log"
check "the page came through the published port" grep -q "Hello from a wgvsock container" "$E2E_TMP/own.log"
check "that dockerd still runs" dk version
check "no container left ($(dk ps -aq | tr '\n' ' '))" test -z "$(dk ps -aq)"
check "no demo network left" bash -c "! $DK_CLI network inspect wgvsock-demo >/dev/null 2>&1"
check "the images are those it had (busybox kept)" test "$(dk images -q | sort | tr '\n' ' ')" = "$images"
check "no demo plugin socket left" test ! -e "$DK/plugins/wgvsock-demo.sock"
check "no hub interface left" bash -c "! ip -n $E2E_NS link show wgdemohub >/dev/null 2>&1"
check "no hub control socket left" test ! -e /run/wireguard/wgdemohub.sock
e2e_finish
