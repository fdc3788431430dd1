#!/bin/bash
# tests/plugin/test_plugin_limits.sh - the plugin (and wgvsockd) at their
# limits (issue 11), driven over the plugin's unix socket as dockerd would:
#
#   fd budget   under `prlimit --nofile=256:256` (the hard limit too, so the
#               plugin cannot raise it), Joins with real wgcore devices until
#               one is refused: it must be refused whole, with a message about
#               the open file limit - never EMFILE halfway - and after one
#               DeleteEndpoint the refused endpoint joins.  (The bounded
#               stand-in for 200 containers under LimitNOFILE=1024.)
#   HTTP        600 idle connections on the socket: a normal request still
#               answers at once, and the server closes the idle ones itself
#               (connection timeout).
#   core dumps  SIGSEGV to the plugin and to wgvsockd, each holding private
#               keys, with RLIMIT_CORE unlimited in a private directory: no
#               core file.  A control process proves this machine does write
#               cores there (core_pattern is a plain file name).
set -u
. "$(dirname "$0")/../lib/plugin_test.sh"
pt_require curl wg ip python3 prlimit
pt_built "$PLUGIN" "$WGVSOCKD"

. "$ROOT/tests/lib/proc.sh"
TMP=$(mktemp -d /tmp/wgvsock-limits.XXXXXX)
NSH=wgvl-h$$
SOCK=$TMP/plugins/wgvsock.sock
CTL=$TMP/ctl
PLOG=$TMP/plugin.log
PLUGIN_PID= D_PID= C_PID= IDLE_PID=
NET=$(printf 'b%.0s' {1..16})$(printf '%048x' $$)
N3=$((100 + $$ % 150))
GW=10.$N3.88.1

cleanup() {
    local p
    for p in "$PLUGIN_PID" "$D_PID" "$C_PID" "$IDLE_PID"; do
        [ -n "$p" ] && proc_kill -KILL "$p" && wait "$p" 2>/dev/null
    done
    ip netns del "$NSH" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

call() {  # METHOD BODY: the reply body
    printf '%s\n' "$2" | curl -sS --max-time 20 --unix-socket "$SOCK" -X POST \
        -H 'Content-Type:' --data-binary @- "http://plugin/$1" 2>&1
}
has_err() { [[ $1 == *'"Err":"'?* ]]; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
ep_id() { printf 'f%02x%09x%052x' "$1" $$ 0; }  # the PID within the interface name
ep_body() {
    printf '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"10.%s.88.%s/24"},"Options":{}}' \
        "$NET" "$(ep_id "$1")" "$N3" $(($1 + 1))
}
ids() { printf '{"NetworkID":"%s","EndpointID":"%s"}' "$NET" "$(ep_id "$1")"; }
start_plugin() {  # [WRAPPER...]: the plugin in $NSH, our own dirs
    rm -f "$SOCK"
    WGVSOCK_SEED_FILE=$TMP/seed LOG_LEVEL=info ip netns exec "$NSH" "$@" "$PLUGIN" \
        --socket "$SOCK" --state-dir "$TMP/state" --control-dir "$CTL" >>"$PLOG" 2>&1 &
    PLUGIN_PID=$!
    wait_for 10 test -S "$SOCK" && wait_for 5 curl -s --unix-socket "$SOCK" -X POST -o /dev/null \
        http://plugin/Plugin.Activate
}
stop_plugin() {
    proc_kill -TERM "$PLUGIN_PID"; wait "$PLUGIN_PID" 2>/dev/null; PLUGIN_PID=
}

ip netns add "$NSH" || die "ip netns add"
ip -n "$NSH" link set lo up
mkdir -p "$CTL"
(umask 077; head -c 32 /dev/urandom | base64 >"$TMP/seed"; wg genkey >"$TMP/hub.key")
HUB_PUB=$(wg pubkey <"$TMP/hub.key")
# engine wgcore: the fd budget is wgcore's (a kernel device holds no fd of ours)
NETBODY=$(printf '{"NetworkID":"%s","Options":{"com.docker.network.generic":{"wgvsock.transport":"udp","wgvsock.engine":"wgcore","wgvsock.peer":"127.0.0.1:51999","wgvsock.peerkey":"%s"}},"IPv4Data":[{"AddressSpace":"LocalDefault","Gateway":"%s/24","Pool":"10.%s.88.0/24"}],"IPv6Data":[]}' \
    "$NET" "$HUB_PUB" "$GW" "$N3")

# ---- fd budget ----
start_plugin prlimit --nofile=256:256 || { cat "$PLOG"; die "plugin did not start"; }
check "start-up line names the fd limit and the capacity it implies" \
    grep -q "open file limit 256: room for about [0-9]* containers" "$PLOG"
grep "open file limit" "$PLOG" | sed 's/^/    /'
r=$(call NetworkDriver.CreateNetwork "$NETBODY")
has_err "$r" && die "CreateNetwork: $r"
fd0=$(fds "$PLUGIN_PID")
joined=0 refused= reply=
for i in $(seq 1 60); do
    r=$(call NetworkDriver.CreateEndpoint "$(ep_body $i)")
    has_err "$r" && { reply="CreateEndpoint $i: $r"; refused=$i; break; }
    r=$(call NetworkDriver.Join "$(ids $i)")
    if has_err "$r"; then reply=$r; refused=$i; break; fi
    joined=$i
done
fd1=$(fds "$PLUGIN_PID")
[ "$joined" -gt 0 ] && log "fds: $fd0 before, $fd1 with $joined devices: $(( (fd1 - fd0) / joined )) per container (FDBUDGET_PER_ENDPOINT in plugin/fdbudget.h)"
log "Join $refused refused: $reply"
check "several Joins succeed under a 256-fd limit ($joined)" test "$joined" -ge 10
check "then a Join is refused with a message about the open file limit" \
    bash -c '[[ $1 == *"open file limit"* && $1 == *LimitNOFILE* ]]' _ "$reply"
check "never 'Too many open files' (EMFILE) anywhere" \
    bash -c "! grep -qi 'too many open files' '$PLOG' && [[ '$reply' != *'Too many open files'* ]]"
check "the refused Join created no interface" \
    bash -c "! ip -n $NSH link show wgv$(ep_id "$refused" | cut -c1-12) >/dev/null 2>&1"
check "the refused Join left no control socket" test ! -e "$CTL/wgv$(ep_id "$refused" | cut -c1-12).sock"
check "every joined device still exists" \
    test "$(ip -n "$NSH" -o link show | grep -c ": wgvf")" = "$joined"
check "plugin alive" proc_alive "$PLUGIN_PID"
r=$(call NetworkDriver.DeleteEndpoint "$(ids 1)")
check "DeleteEndpoint frees room" bash -c '! [[ $1 == *"\"Err\":\""?* ]]' _ "$r"
r=$(call NetworkDriver.Join "$(ids "$refused")")
check "then the refused endpoint joins ($r)" bash -c '[[ $1 == *SrcName* ]]' _ "$r"
# Every endpoint deleted: every device gone (nothing leaked by the refusal).
# (Stopping the plugin would keep them: their TUNs outlive it, issue 9.)
for i in $(seq 2 "$refused"); do call NetworkDriver.DeleteEndpoint "$(ids "$i")" >/dev/null; done
check "all devices gone once their endpoints are deleted" \
    test "$(ip -n "$NSH" -o link show | grep -c ": wgvf")" = 0
stop_plugin

# ---- HTTP: idle connections ----
start_plugin || { tail "$PLOG"; die "plugin did not restart"; }
python3 - "$SOCK" 600 90 >"$TMP/idle.out" 2>"$TMP/idle.err" <<'PY' &
import socket, sys, time, select
path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    socks.append(s)
print(f"# {len(socks)} open", file=sys.stderr, flush=True)
t0, closed, end = time.monotonic(), set(), time.monotonic() + hold
p = select.poll()
for s in socks:
    p.register(s, select.POLLIN | select.POLLHUP)
while len(closed) < n and time.monotonic() < end:
    for fd, ev in p.poll(500):
        closed.add(fd)
        p.unregister(fd)
print(f"open={n} closed_by_server={len(closed)} after={time.monotonic() - t0:.0f}s", flush=True)
PY
IDLE_PID=$!
wait_for 30 grep -q '^# ' "$TMP/idle.err"
check "600 idle connections opened" grep -q '^# 600 open' "$TMP/idle.err"
t0=$(date +%s%N)
r=$(call Plugin.Activate "")
ms=$((($(date +%s%N) - t0) / 1000000))
check "a normal request answers while 600 connections sit idle (${ms} ms): $r" \
    bash -c '[[ $1 == *NetworkDriver* ]]' _ "$r"
r=$(call NetworkDriver.GetCapabilities "null")
check "and another" bash -c '[[ $1 == *Scope* ]]' _ "$r"
wait "$IDLE_PID"; IDLE_PID=
cat "$TMP/idle.out"
check "the server closed every idle connection itself (timeout)" grep -q 'open=600 closed_by_server=600' "$TMP/idle.out"
check "plugin alive" proc_alive "$PLUGIN_PID"
stop_plugin

# ---- core dumps ----
pattern=$(cat /proc/sys/kernel/core_pattern)
core_dir() { mkdir -p "$TMP/core-$1" && echo "$TMP/core-$1"; }
cores() { ls "$1" | grep -c '^core'; }
case $pattern in
    /*|'|'*) skip_core="core_pattern '$pattern' is not a plain file name: core files do not land in the process's directory" ;;
    *) skip_core= ;;
esac
if [ -z "$skip_core" ]; then
    d=$(core_dir control)
    (cd "$d" && ulimit -c unlimited && exec sleep 60) &
    C_PID=$!
    sleep 0.3; kill -SEGV "$C_PID"; wait "$C_PID" 2>/dev/null; C_PID=
    [ "$(cores "$d")" -ge 1 ] || skip_core="a plain process left no core file in its directory (suid_dumpable/limits): cannot tell"
fi
if [ -n "$skip_core" ]; then
    log "core dump checks not possible here: $skip_core"
    CORE_SKIPPED=1
else
    ok "control: a plain SIGSEGV'd process leaves a core in its directory"
    d=$(core_dir plugin)
    (cd "$d" && ulimit -c unlimited && exec env WGVSOCK_SEED_FILE="$TMP/seed" ip netns exec "$NSH" \
        "$PLUGIN" --socket "$SOCK" --state-dir "$TMP/state" --control-dir "$CTL") >>"$PLOG" 2>&1 &
    PLUGIN_PID=$!
    wait_for 10 test -S "$SOCK"
    call NetworkDriver.CreateEndpoint "$(ep_body 2)" >/dev/null
    r=$(call NetworkDriver.Join "$(ids 2)")     # a device, its private key in memory
    check "plugin joined an endpoint (a key in memory)" bash -c '[[ $1 == *SrcName* ]]' _ "$r"
    kill -SEGV "$PLUGIN_PID"; wait "$PLUGIN_PID" 2>/dev/null; PLUGIN_PID=
    check "SIGSEGV'd plugin leaves no core file" test "$(cores "$d")" = 0
    d=$(core_dir wgvsockd)
    IFD=wgvld$(printf '%x' $$)
    (cd "$d" && ulimit -c unlimited && exec ip netns exec "$NSH" "$WGVSOCKD" -f -n udp "$IFD") \
        >"$TMP/d.log" 2>&1 &
    D_PID=$!
    wait_for 10 test -S "/var/run/wireguard/$IFD.sock"
    check "wgvsockd configured with a private key" wg set "$IFD" private-key "$TMP/hub.key"
    kill -SEGV "$D_PID"; wait "$D_PID" 2>/dev/null; D_PID=
    rm -f "/var/run/wireguard/$IFD.sock"
    check "SIGSEGV'd wgvsockd leaves no core file" test "$(cores "$d")" = 0
fi

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ] || exit 1
[ -z "${CORE_SKIPPED:-}" ] || exit 77
exit 0
