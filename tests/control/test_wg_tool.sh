#!/bin/bash
# wgvsockd's wg(8) control socket against Debian's wg: show, show dump, set,
# setconf, syncconf and showconf round trips with dozens of peers and tens of
# thousands of allowed-ips; malformed requests sent raw get errno=N and change
# nothing; every way the daemon ends (SIGTERM, SIGINT, socket removed,
# interface deleted) removes its socket and interface; bad arguments exit 2.
#
# Runs in a network namespace it creates (root).  Names carry $$ so the test
# can run beside others; everything is removed by the EXIT trap.
set -u
ROOT=${WGVSOCK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
case ${BUILD:-build} in /*) _bin=$BUILD/bin ;; *) _bin=$ROOT/${BUILD:-build}/bin ;; esac
WGVSOCKD=${WGVSOCK_BIN:-$_bin}/wgvsockd
[ -x "$WGVSOCKD" ] || WGVSOCKD=$_bin/wgvsockd

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 77; }
[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; exit 77; }
for c in ip wg python3; do
    command -v $c >/dev/null || { echo "$c not installed (make deps)"; exit 77; }
done
# Debian's interpreter: a version-manager shim in PATH can take seconds to start.
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
[ -x "$WGVSOCKD" ] || { echo "wgvsockd not built at $WGVSOCKD (run make)"; exit 1; }

NS=wgt-ct$$
IF=wct$$a               # <= 15 characters
IF2=wct$$b
IF3=wct$$c
SOCKDIR=/var/run/wireguard
TMP=$(mktemp -d /tmp/wgctl.XXXXXX)
FAILS=0 CHECKS=0
PIDS=()             # "PID" (our child) or "PID:START" (found by pgrep)
. "$ROOT/tests/lib/proc.sh"

log()   { printf '%s %s\n' "$(date +%T)" "$*"; }
flunk() { printf 'FAIL: %s\n' "$*"; FAILS=$((FAILS + 1)); }
pass()  { printf 'ok:   %s\n' "$*"; }
check() {
    local name=$1; shift
    CHECKS=$((CHECKS + 1))
    if "$@"; then pass "$name"; return 0; fi
    flunk "$name"; return 1
}

# The daemon's "PID:START" (tests/lib/proc.sh): its command line is exactly
# what we started, and the start time pins it, so a later signal cannot hit
# whoever gets the PID after it exits.
daemon_pid() { proc_id "$(pgrep -f "^$WGVSOCKD ((-f )?-n udp )?$1\$" | head -1)"; }

cleanup() {
    local p i
    for i in "$IF" "$IF2" "$IF3"; do
        p=$(daemon_pid "$i")
        [ -n "$p" ] && PIDS+=("$p")
    done
    for p in "${PIDS[@]}"; do proc_kill -TERM "$p"; done
    for p in "${PIDS[@]}"; do
        for i in $(seq 30); do proc_alive "$p" || break; sleep 0.1; done
        proc_kill -KILL "$p"
    done
    ip netns del "$NS" 2>/dev/null
    for i in "$IF" "$IF2" "$IF3"; do
        [ -S "$SOCKDIR/$i.sock" ] && rm -f "$SOCKDIR/$i.sock"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

nsx() { ip netns exec "$NS" "$@"; }
# wait_until SECONDS CMD...: poll CMD every 0.1 s.
wait_until() {
    local t=$(( $1 * 10 )); shift
    while [ $t -gt 0 ]; do "$@" && return 0; sleep 0.1; t=$((t - 1)); done
    return 1
}
link_absent()   { ! nsx ip link show "$1" >/dev/null 2>&1; }
sock_absent()   { [ ! -e "$SOCKDIR/$1.sock" ]; }
proc_absent()   { ! proc_alive "$1"; }
gone_cleanly()  { link_absent "$1" && sock_absent "$1"; }

# uapi SOCKNAME REQUEST: send REQUEST (backslash escapes decoded) raw on one
# connection, half-close, print every byte of the answer.
cat >"$TMP/uapi.py" <<'EOF'
import codecs, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
data = sys.argv[2]
data = open(data[1:], "rb").read() if data.startswith("@") else codecs.decode(data, "unicode_escape").encode("latin-1")
s.sendall(data)
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    out += d
sys.stdout.buffer.write(out)
EOF
uapi() { $PY "$TMP/uapi.py" "$SOCKDIR/$1.sock" "$2"; }

# Canonical form of a wg config: one line per peer with sorted allowed-ips,
# and the interface keys; order of peers and of allowed-ips ignored.
cat >"$TMP/norm.py" <<'EOF'
import sys
iface, peers, cur = {}, {}, None
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    if line == "[Interface]":
        cur = iface; continue
    if line == "[Peer]":
        cur = {"AllowedIPs": set()}; continue
    k, v = [x.strip() for x in line.split("=", 1)]
    if k == "PublicKey":
        peers[v] = cur
    elif k == "AllowedIPs":
        cur["AllowedIPs"] |= {x.strip() for x in v.split(",") if x.strip()}
    else:
        cur[k] = v
print(sorted(iface.items()))
for k in sorted(peers):
    p = peers[k]
    print(k, sorted((a, b) for a, b in p.items() if a != "AllowedIPs"), sorted(p["AllowedIPs"]))
print("peers", len(peers), "allowed-ips", sum(len(p["AllowedIPs"]) for p in peers.values()))
EOF
same_conf() { $PY "$TMP/norm.py" "$1" >"$TMP/n1"; $PY "$TMP/norm.py" "$2" >"$TMP/n2"; cmp -s "$TMP/n1" "$TMP/n2"; }

# genconf FILE PEERS IPS_PER_PEER SEED: a config with keys, psks, endpoints,
# keepalives and disjoint IPv4/IPv6 allowed-ips (random keys from wg genkey
# would be slow for dozens of peers; any 32 bytes are a valid public key).
cat >"$TMP/gen.py" <<'EOF'
import base64, random, sys
f, peers, per, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
k = lambda: base64.b64encode(bytes(r.getrandbits(8) for _ in range(32))).decode()
with open(f, "w") as o:
    o.write("[Interface]\nPrivateKey = %s\nListenPort = %d\n\n" % (k(), 20000 + seed))
    for p in range(peers):
        o.write("[Peer]\nPublicKey = %s\n" % k())
        if p % 2:
            o.write("PresharedKey = %s\n" % k())
        if p % 3 == 0:
            o.write("Endpoint = 192.0.2.%d:%d\n" % (p + 1, 1024 + p))
        elif p % 3 == 1:
            o.write("Endpoint = [2001:db8::%x]:51820\n" % (p + 1))
        if p % 4 == 0:
            o.write("PersistentKeepalive = %d\n" % (10 + p))
        ips = []
        for i in range(per):
            if i % 3 == 2:
                ips.append("fd%02x:%x:%x::/64" % (p, seed, i))
            else:
                ips.append("10.%d.%d.%d/32" % (p, (i >> 8) & 255, i & 255))
        o.write("AllowedIPs = %s\n\n" % ", ".join(ips))
EOF

umask 077
ip netns add "$NS" || { echo "cannot create netns"; exit 1; }
nsx ip link set lo up

# ---------------------------------------------------------------- arguments
log "bad arguments exit 2 with a message; --version; --help"
bad_args() {
    local rc
    "$WGVSOCKD" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ $rc = 2 ] && [ ! -s "$TMP/out" ] && grep -q '^wgvsockd: ' "$TMP/err" && return 0
    echo "  wgvsockd $*: exit $rc, stderr: $(head -c 300 "$TMP/err")"
    return 1
}
check "no interface name" bad_args
check "invalid -n value" bad_args -n bogus "$IF"
check "invalid --network= value" bad_args --network=udp6 "$IF"
check "-n without value" bad_args -n
check "unknown option" bad_args --frobnicate "$IF"
check "two interface names" bad_args "$IF" "$IF2"
check "interface name with /" bad_args "a/b"
check "interface name too long" bad_args "abcdefghijklmnop"
check "bad --mtu" bad_args --mtu 12x "$IF"
check "--mtu out of range" bad_args --mtu 70000 "$IF"
# above the engine's WG_TUN_MTU_MAX (65472): a usage error, not exit 1 from
# a device that cannot be created
check "--mtu 65473 (above the engine's 65472)" bad_args -f -n udp --mtu 65473 "$IF"
check "--mtu 65500" bad_args -f -n udp --mtu 65500 "$IF"
check "--mtu 67 (below 68)" bad_args -f -n udp --mtu 67 "$IF"
bad_crc_env() { WGVSOCK_STREAM_CRC=yes bad_args -n udp "$IF"; }
check "bad WGVSOCK_STREAM_CRC" bad_crc_env
check "no interface created by bad args" link_absent "$IF"
check "--version" bash -c '"$1" --version | grep -q "^wgvsockd [0-9]"' _ "$WGVSOCKD"
check "--help" bash -c '"$1" --help | grep -q -- "--network"' _ "$WGVSOCKD"
# every flag and environment variable wgvsockd or its engine reads
"$WGVSOCKD" --help >"$TMP/help" 2>&1
missing=
for w in --foreground --network --no-crc --mtu 68..65472 --version LOG_LEVEL '(or info)' \
         WGVSOCK_NETWORK WGVSOCK_STREAM_CRC WG_PROCESS_FOREGROUND WGVSOCK_WORKERS WGVSOCK_AEAD \
         WGVSOCK_TUN_OFFLOAD 'Exit status'; do
    grep -qF -- "$w" "$TMP/help" || missing="$missing '$w'"
done
check "--help names every flag and variable${missing:+ (missing:$missing)}" test -z "$missing"

# ---------------------------------------------------------------- start
log "background start: parent exits 0 once interface and socket exist"
# A stale socket file from a dead daemon must be replaced.
$PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCKDIR/$IF.sock" 2>/dev/null ||
    { mkdir -p "$SOCKDIR"; $PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCKDIR/$IF.sock"; }
check "stale socket file present" test -S "$SOCKDIR/$IF.sock"
LOG_LEVEL=verbose nsx "$WGVSOCKD" -n udp "$IF" >"$TMP/d1.log" 2>&1
check "daemon parent exit 0" test $? = 0
# No sleep: readiness is part of the contract.
check "interface exists right away" nsx ip link show "$IF"
check "socket exists right away" test -S "$SOCKDIR/$IF.sock"
check "socket mode 0600" test "$(stat -c %a "$SOCKDIR/$IF.sock")" = 600
check "socket dir mode 0755" test "$(stat -c %a "$SOCKDIR")" = 755
PID=$(daemon_pid "$IF")
check "daemon running in background" test -n "$PID"
[ -n "$PID" ] && PIDS+=("$PID")
check "interface up" bash -c 'ip netns exec "$1" ip link show "$2" | grep -q "UP"' _ "$NS" "$IF"

nsx "$WGVSOCKD" -n udp "$IF" >"$TMP/out" 2>&1
check "second daemon on the same name fails (exit 1)" test $? = 1
check "first daemon unaffected" proc_alive "$PID"
check "wg show lists the interface" bash -c 'wg show "$1" | grep -q "^interface: $1"' _ "$IF"

# ---------------------------------------------------------------- wg set / show
log "wg set, wg show, wg show dump"
wg genkey >"$TMP/priv"; wg pubkey <"$TMP/priv" >"$TMP/pub"
wg genkey | wg pubkey >"$TMP/peer1"
wg genpsk >"$TMP/psk"
check "wg set" wg set "$IF" private-key "$TMP/priv" listen-port 34567 fwmark 0x42 \
    peer "$(cat "$TMP/peer1")" preshared-key "$TMP/psk" endpoint 127.0.0.1:9 \
    persistent-keepalive 25 allowed-ips 10.77.0.0/16,fd77::/64
wg show "$IF" dump >"$TMP/dump"
IFS=$'\t' read -r d_priv d_pub d_port d_fwmark <"$TMP/dump"
check "dump: private key" test "$d_priv" = "$(cat "$TMP/priv")"
check "dump: public key" test "$d_pub" = "$(cat "$TMP/pub")"
check "dump: listen port" test "$d_port" = 34567
check "dump: fwmark" test "$d_fwmark" = 0x42
IFS=$'\t' read -r p_pub p_psk p_ep p_ips p_hs p_rx p_tx p_ka < <(sed -n 2p "$TMP/dump")
check "dump: peer key" test "$p_pub" = "$(cat "$TMP/peer1")"
check "dump: psk" test "$p_psk" = "$(cat "$TMP/psk")"
check "dump: endpoint" test "$p_ep" = 127.0.0.1:9
check "dump: allowed ips" test "$p_ips" = "10.77.0.0/16,fd77::/64"
check "dump: keepalive" test "$p_ka" = 25
check "dump: counters numeric" bash -c '[[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ && $3 =~ ^[0-9]+$ ]]' _ "$p_hs" "$p_rx" "$p_tx"
check "wg show listening port" bash -c 'wg show "$1" listen-port | grep -qx 34567' _ "$IF"
check "bound port reported" bash -c 'ip netns exec "$1" ss -uln | grep -q ":34567 "' _ "$NS"
check "wg set listen-port 0 picks a port" wg set "$IF" listen-port 0
check "random port reported" bash -c 'p=$(wg show "$1" listen-port); [ "$p" -gt 0 ]' _ "$IF"
check "wg set remove peer" wg set "$IF" peer "$(cat "$TMP/peer1")" remove
check "peer gone" test "$(wg show "$IF" peers | wc -l)" = 0
# The vsock forms on the socket: a name is an AF_VSOCK endpoint, wrong on a UDP
# device (EINVAL); the dotted form is a plain IPv4 endpoint there.
ans=$(uapi "$IF" "set=1\npublic_key=$(base64 -d <"$TMP/peer1" | od -An -tx1 -v | tr -d ' \n')\nendpoint=host(2):8172\n\n")
check "vsock name on a UDP device: errno=-22" test "$ans" = "errno=-22"
ans=$(uapi "$IF" "set=1\npublic_key=$(base64 -d <"$TMP/peer1" | od -An -tx1 -v | tr -d ' \n')\nendpoint=0.0.0.2:8172\n\n")
check "dotted CID is an IPv4 endpoint on UDP: errno=0" test "$ans" = "errno=0"
check "... shown dotted" bash -c 'wg show "$1" endpoints | grep -q "0.0.0.2:8172"' _ "$IF"
wg set "$IF" peer "$(cat "$TMP/peer1")" remove

# ---------------------------------------------------------------- big configs
log "wg setconf / showconf / syncconf with dozens of peers and tens of thousands of allowed-ips"
$PY "$TMP/gen.py" "$TMP/big1.conf" 48 700 1     # 33600 allowed-ips
$PY "$TMP/gen.py" "$TMP/big2.conf" 40 900 2     # 36000, other keys
t0=$(date +%s%N)
check "wg setconf (48 peers, 33600 allowed-ips)" wg setconf "$IF" "$TMP/big1.conf"
t1=$(date +%s%N)
log "setconf took $(( (t1 - t0) / 1000000 )) ms"
wg showconf "$IF" >"$TMP/show1.conf"
t2=$(date +%s%N)
log "showconf took $(( (t2 - t1) / 1000000 )) ms"
check "showconf equals setconf input" same_conf "$TMP/big1.conf" "$TMP/show1.conf"
tail -1 "$TMP/n2"
check "dump has 48 peers" test "$(wg show "$IF" dump | wc -l)" = 49
check "allowed-ips listed" test "$(wg show "$IF" allowed-ips | tr '\t ' '\n\n' | grep -cE '^[0-9a-f:.]+/[0-9]+$')" = 33600
check "wg setconf of its own showconf" wg setconf "$IF" "$TMP/show1.conf"
wg showconf "$IF" >"$TMP/show1b.conf"
check "... is a fixed point" same_conf "$TMP/show1.conf" "$TMP/show1b.conf"

# syncconf: half the peers kept with changed allowed-ips, the rest replaced.
$PY - "$TMP/big1.conf" "$TMP/big2.conf" "$TMP/sync.conf" <<'EOF'
import sys
a = open(sys.argv[1]).read().split("\n\n")
b = open(sys.argv[2]).read().split("\n\n")
out = [b[0]]                                  # new interface section
for i, sec in enumerate(a[1:]):
    if not sec.strip() or i % 2:
        continue
    lines = [l for l in sec.split("\n") if not l.startswith("AllowedIPs")]
    lines.append("AllowedIPs = 172.16.%d.0/24, fdaa:%x::/48" % (i, i + 1))
    out.append("\n".join(lines))
out += [s for s in b[1:21] if s.strip()]
open(sys.argv[3], "w").write("\n\n".join(out) + "\n")
EOF
check "wg syncconf" wg syncconf "$IF" "$TMP/sync.conf"
wg showconf "$IF" >"$TMP/show2.conf"
check "showconf equals syncconf input" same_conf "$TMP/sync.conf" "$TMP/show2.conf"
tail -1 "$TMP/n2"
check "wg syncconf back to the big config" wg syncconf "$IF" "$TMP/big1.conf"
wg showconf "$IF" >"$TMP/show3.conf"
check "... round trip" same_conf "$TMP/big1.conf" "$TMP/show3.conf"

# ---------------------------------------------------------------- malformed
log "malformed requests: errno=-N, nothing changes"
wg showconf "$IF" >"$TMP/before.conf"
PK1=$(base64 -d <<<"$(sed -n 's/^PublicKey = //p' "$TMP/big1.conf" | head -1)" | od -An -tx1 -v | tr -d ' \n')
NEWPRIV=$(wg genkey | base64 -d | od -An -tx1 -v | tr -d ' \n')
malformed() {   # EXPECTED_ERRNO REQUEST
    local ans
    ans=$(uapi "$IF" "$2")
    [ "$ans" = "errno=-$1" ] && return 0
    echo "  request $(printf %q "$2" | head -c 200): answer $(printf %q "$ans" | head -c 200)"
    return 1
}
check "unknown key -> EPROTO" malformed 71 "set=1\nbogus_key=1\n\n"
check "protocol_version=2 -> EPROTO" malformed 71 "set=1\npublic_key=$PK1\nprotocol_version=2\n\n"
check "bad private key hex" malformed 22 "set=1\nprivate_key=zz\n\n"
check "port out of range" malformed 22 "set=1\nlisten_port=70000\n\n"
check "bad allowed ip" malformed 22 "set=1\npublic_key=$PK1\nallowed_ip=10.0.0.0/33\n\n"
check "junk endpoint" malformed 22 "set=1\npublic_key=$PK1\nendpoint=nonsense\n\n"
check "endpoint without port" malformed 22 "set=1\npublic_key=$PK1\nendpoint=10.1.1.1\n\n"
check "vm(2) endpoint" malformed 22 "set=1\npublic_key=$PK1\nendpoint=vm(2):1\n\n"
check "peer key before public_key" malformed 22 "set=1\nallowed_ip=10.0.0.0/8\n\n"
check "replace_peers=false" malformed 22 "set=1\nreplace_peers=false\n\n"
check "line without =" malformed 22 "set=1\nlisten_port\n\n"
check "unknown operation" malformed 22 "del=1\n\n"
check "get with trailing junk" malformed 22 "get=1\nx=1\n\n"
check "empty request" malformed 22 "\n"
check "truncated set at EOF" malformed 22 "set=1\nlisten_port=1234\n"
# Valid changes first, then one bad line: atomic, so nothing is applied.
check "bad line after valid changes" malformed 22 \
    "set=1\nprivate_key=$NEWPRIV\nlisten_port=40404\nreplace_peers=true\npublic_key=$PK1\nallowed_ip=1.2.3.0/24\nallowed_ip=1.2.3.0/99\n\n"
head -c 2000000 /dev/zero | tr '\0' 'x' >"$TMP/junk"
check "2 MB without a newline" malformed 22 "@$TMP/junk"
wg showconf "$IF" >"$TMP/after.conf"
check "configuration unchanged by all of them" cmp -s "$TMP/before.conf" "$TMP/after.conf"
check "daemon still alive" proc_alive "$PID"

uapi "$IF" "get=1\n\nset=1\nfwmark=0\n\nget=1\n\n" >"$TMP/three"
check "three requests on one connection, three answers" test "$(grep -c '^errno=0$' "$TMP/three")" = 3
# The set's bare answer follows the first get's, right after its errno line.
check "answers in order" bash -c 'grep -A2 -m1 "^errno=0$" "$1" | tr "\n" . | grep -q "^errno=0..errno=0.$"' _ "$TMP/three"

# ---------------------------------------------------------------- wg-quick
log "wg-quick up/down with wgvsockd as its userspace implementation"
cat >"$TMP/$IF3.conf" <<EOF
[Interface]
PrivateKey = $(wg genkey)
Address = 10.88.0.1/24, fd88::1/64
ListenPort = 45678
MTU = 1380

[Peer]
PublicKey = $(wg genkey | wg pubkey)
AllowedIPs = 10.88.0.2/32, 10.99.0.0/16
Endpoint = 127.0.0.1:45679
EOF
if command -v wg-quick >/dev/null; then
    check "wg-quick up" nsx env WG_QUICK_USERSPACE_IMPLEMENTATION="$WGVSOCKD" WGVSOCK_NETWORK=udp \
        wg-quick up "$TMP/$IF3.conf"
    check "... address set" bash -c 'ip netns exec "$1" ip -4 addr show "$2" | grep -q 10.88.0.1/24' _ "$NS" "$IF3"
    check "... MTU set" bash -c 'ip netns exec "$1" ip link show "$2" | grep -q "mtu 1380"' _ "$NS" "$IF3"
    check "... route from AllowedIPs" bash -c 'ip netns exec "$1" ip route show dev "$2" | grep -q 10.99.0.0/16' _ "$NS" "$IF3"
    check "... wg show port" bash -c 'wg show "$1" listen-port | grep -qx 45678' _ "$IF3"
    Q=$(daemon_pid "$IF3")
    check "... daemon found" test -n "$Q"
    check "wg-quick down" nsx wg-quick down "$TMP/$IF3.conf"
    check "... daemon exits" wait_until 5 proc_absent "${Q:-0}"
    check "... socket removed" wait_until 2 sock_absent "$IF3"
else
    flunk "wg-quick not installed (wireguard-tools)"
fi

# ---------------------------------------------------------------- flags reach the device
log "-n tcp, --mtu, --no-crc reach the device"
check "start -n tcp --mtu 1300 --no-crc" nsx "$WGVSOCKD" -n tcp --mtu 1300 --no-crc "$IF2"
check "... MTU 1300" bash -c 'ip netns exec "$1" ip link show "$2" | grep -q "mtu 1300"' _ "$NS" "$IF2"
check "... wg set listen-port" wg set "$IF2" listen-port 45999
check "... TCP listener on the port" bash -c 'ip netns exec "$1" ss -tln | grep -q ":45999 "' _ "$NS"
check "... no UDP socket on it" bash -c '! ip netns exec "$1" ss -uln | grep -q ":45999 "' _ "$NS"
check "... wg show reports it" bash -c 'wg show "$1" listen-port | grep -qx 45999' _ "$IF2"
T=$(daemon_pid "$IF2")
[ -z "$T" ] && T=$(proc_id "$(pgrep -f "^$WGVSOCKD -n tcp --mtu 1300 --no-crc $IF2\$" | head -1)")
check "... daemon found" test -n "$T"
[ -n "$T" ] && { PIDS+=("$T"); proc_kill -TERM "$T"; }
check "... SIGTERM: gone" wait_until 5 gone_cleanly "$IF2"
check "start --mtu 65472 (the top of the range)" nsx "$WGVSOCKD" -n udp --mtu 65472 "$IF2"
check "... MTU 65472" bash -c 'ip netns exec "$1" ip link show "$2" | grep -q "mtu 65472"' _ "$NS" "$IF2"
T=$(proc_id "$(pgrep -f "^$WGVSOCKD -n udp --mtu 65472 $IF2\$" | head -1)")
check "... daemon found" test -n "$T"
[ -n "$T" ] && { PIDS+=("$T"); proc_kill -TERM "$T"; }
check "... SIGTERM: gone" wait_until 5 gone_cleanly "$IF2"

# ---------------------------------------------------------------- exit paths
log "exit paths"
proc_kill -TERM "$PID"
check "SIGTERM: daemon exits" wait_until 5 proc_absent "$PID"
check "SIGTERM: socket and interface removed" wait_until 2 gone_cleanly "$IF"

start_fg() {   # IFNAME: start in the foreground as our child; sets FG
    # A simple command, so $! is the daemon itself (ip netns exec execs it).
    LOG_LEVEL=verbose ip netns exec "$NS" "$WGVSOCKD" -f -n udp "$1" >>"$TMP/fg.log" 2>&1 &
    FG=$!
    PIDS+=("$FG")
    wait_until 5 test -S "$SOCKDIR/$1.sock"
}
# reap PID: its exit status in $RC (wait must run in this shell, not a $(...)).
reap() { wait "$1"; RC=$?; }

check "foreground start" start_fg "$IF"
proc_kill -INT "$FG"
reap "$FG"
check "SIGINT: exit status 0" test "$RC" = 0
check "SIGINT: socket and interface removed" gone_cleanly "$IF"

check "foreground start (2)" start_fg "$IF"
rm -f "$SOCKDIR/$IF.sock"
check "socket removed: daemon exits" wait_until 5 proc_absent "$FG"
reap "$FG"
check "... exit status 0" test "$RC" = 0
check "... interface removed" wait_until 2 link_absent "$IF"

check "foreground start (3)" start_fg "$IF"
nsx ip link del "$IF"
check "interface deleted: daemon exits" wait_until 5 proc_absent "$FG"
reap "$FG"
check "... exit status 0" test "$RC" = 0
check "... socket removed" sock_absent "$IF"

# Replacing the socket file (another server renamed over it) also ends the
# daemon, and the daemon must not delete its successor's file.
check "foreground start (4)" start_fg "$IF2"
$PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCKDIR/.$IF2.other"
mv "$SOCKDIR/.$IF2.other" "$SOCKDIR/$IF2.sock"
check "socket replaced: daemon exits" wait_until 5 proc_absent "$FG"
reap "$FG"
check "... exit status 0" test "$RC" = 0
check "... successor's socket file left alone" test -S "$SOCKDIR/$IF2.sock"
rm -f "$SOCKDIR/$IF2.sock"

# Under `make asan` the daemons' reports land in their logs.
no_sanitizer_reports() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$TMP"/*.log; }
check "no sanitizer reports from the daemons" no_sanitizer_reports
grep -hE -A20 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$TMP"/*.log | head -60

echo "$CHECKS checks, $FAILS failed"
[ $FAILS = 0 ]
