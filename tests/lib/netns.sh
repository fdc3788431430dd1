# tests/lib/netns.sh - network-namespace helpers for the interop tests and the
# benchmarks (sourced, not run).
#
#   . tests/lib/netns.sh
#   nsl_init io                    # tag for names; installs the cleanup trap
#   nsl_pair wgvsockd wggo         # two namespaces, veth, two devices, peered
#   nsl_ping "$NS_A" "$T4_B"       # ...
#
# Every name carries the tag and $$, so tests can run beside each other:
# namespaces "wgt-<tag><pid>-<x>", interfaces "w<tag:0:3><pid><x>" (<= 15
# chars).  Everything created here (namespaces, daemons, iperf3 servers,
# control sockets, the temp directory) goes away in the EXIT trap.
#
# Implementations ("impl"): wgvsockd  = $WGVSOCK_BIN/wgvsockd -f -n udp IF
#                           wggo      = Debian's wireguard-go -f IF
set -u
NSL_ROOT=${WGVSOCK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
case ${BUILD:-build} in /*) _nsl_bin=$BUILD/bin ;; *) _nsl_bin=$NSL_ROOT/${BUILD:-build}/bin ;; esac
NSL_WGVSOCKD=${WGVSOCKD:-${WGVSOCK_BIN:-$_nsl_bin}/wgvsockd}
[ -x "$NSL_WGVSOCKD" ] || NSL_WGVSOCKD=$_nsl_bin/wgvsockd
NSL_WGGO=${WIREGUARD_GO:-/usr/bin/wireguard-go}
NSL_SOCKDIR=/var/run/wireguard

# Addresses: underlay (veth) and tunnel, side A = .1, side B = .2.
U4_A=10.201.0.1 U4_B=10.201.0.2 U6_A=fd00:201::1 U6_B=fd00:201::2
T4_A=10.101.0.1 T4_B=10.101.0.2 T6_A=fd00:101::1 T6_B=fd00:101::2

NSL_NS=()          # namespaces to delete
NSL_PIDS=()        # processes to stop
NSL_IFS=()         # devices whose control socket must go
NSL_FAILS=0
NSL_CHECKS=0

log()   { printf '%s %s\n' "$(date +%T)" "$*"; }
flunk() { printf 'FAIL: %s\n' "$*"; NSL_FAILS=$((NSL_FAILS + 1)); }
pass()  { printf 'ok:   %s\n' "$*"; }
# check NAME CMD...: counts a check; flunks NAME when CMD fails.
check() {
    local name=$1; shift
    NSL_CHECKS=$((NSL_CHECKS + 1))
    if "$@"; then pass "$name"; return 0; fi
    flunk "$name"; return 1
}
# check_not NAME CMD...: CMD must fail.
check_not() {
    local name=$1; shift
    NSL_CHECKS=$((NSL_CHECKS + 1))
    if "$@"; then flunk "$name (succeeded, must not)"; return 1; fi
    pass "$name"; return 0
}
# nsl_finish: the test's exit status from the checks so far.
nsl_finish() {
    local f
    if [ "$NSL_FAILS" != 0 ]; then
        for f in "$NSL_TMP"/*.log; do
            [ -s "$f" ] || continue
            echo "--- last lines of $(basename "$f"):"
            grep -v '│\|──' "$f" | tail -15 | sed 's/^/    /'
        done
    fi
    echo "$NSL_CHECKS checks, $NSL_FAILS failed"
    [ "$NSL_FAILS" = 0 ] && [ "$NSL_CHECKS" -gt 0 ] && exit 0
    exit 1
}

# nsl_require IMPL...: exit 77 (skip) when something truly cannot exist here;
# a missing wgvsockd is a failure (exit 1), since `make` builds it.
nsl_require() {
    [ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 77; }
    [ -c /dev/net/tun ] || { echo "no /dev/net/tun"; exit 77; }
    local c
    for c in ip wg ping; do
        command -v $c >/dev/null || { echo "$c not installed (make deps)"; exit 77; }
    done
    for c in "$@"; do
        case $c in
            wgvsockd) [ -x "$NSL_WGVSOCKD" ] || { echo "wgvsockd not built at $NSL_WGVSOCKD (run make)"; exit 1; } ;;
            wggo) [ -x "$NSL_WGGO" ] || { echo "wireguard-go not installed (make deps)"; exit 77; } ;;
            *) command -v "$c" >/dev/null || { echo "$c not installed (make deps)"; exit 77; } ;;
        esac
    done
}

# nsl_mine PID: PID is still a child of this test's shell.  pid_max is
# 32768 on the dev machines and PIDs wrap within minutes under load, so a
# remembered PID of an exited (and reaped) process may belong to someone
# else by now: never signal a PID without this check.  (A child of a
# subshell, e.g. inside $(...), has the subshell as parent: $BASHPID.)
nsl_mine() {
    local pp; [ -n "$1" ] || return 1
    pp=$(awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    [ -n "$pp" ] && { [ "$pp" = "$$" ] || [ "$pp" = "$BASHPID" ]; }
}
# nsl_kill SIG PID: signal PID only if it is ours.
nsl_kill() { nsl_mine "$2" && kill "$1" "$2" 2>/dev/null; }

nsl_cleanup() {
    local p i n
    for p in "${NSL_PIDS[@]}"; do nsl_kill -TERM "$p"; done
    for p in "${NSL_PIDS[@]}"; do
        for i in $(seq 30); do nsl_running "$p" && nsl_mine "$p" || break; sleep 0.1; done
        nsl_kill -KILL "$p"
        nsl_mine "$p" && wait "$p" 2>/dev/null
    done
    for n in "${NSL_NS[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
    for n in "${NSL_NS[@]}"; do ip netns del "$n" 2>/dev/null; done
    for i in "${NSL_IFS[@]}"; do rm -f "$NSL_SOCKDIR/$i.sock"; done
    [ -n "${NSL_TMP:-}" ] && rm -rf "$NSL_TMP"
    return 0
}

# nsl_init TAG: names for this test, temp dir $NSL_TMP, the EXIT trap.
nsl_init() {
    NSL_TAG=$1
    NSL_PFX=wgt-$1$$
    NSL_IFP=w${1:0:3}$$
    NSL_TMP=$(mktemp -d "/tmp/$NSL_PFX.XXXXXX")
    trap 'nsl_cleanup' EXIT
    trap 'exit 130' INT TERM
}

# nsl_ns X VAR: creates namespace $NSL_PFX-X with loopback up; its name in VAR.
nsl_ns() {
    local n=$NSL_PFX-$1
    ip netns add "$n" || return 1
    NSL_NS+=("$n")
    ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 2>/dev/null
    printf -v "$2" %s "$n"
}

# nsl_veth NS1 NS2 [MTU]: veth pair "u" between them, A/B underlay addresses.
nsl_veth() {
    local a=$1 b=$2 mtu=${3:-1500}
    ip link add "${NSL_IFP}ua" netns "$a" mtu "$mtu" type veth peer name "${NSL_IFP}ub" netns "$b" mtu "$mtu" || return 1
    ip -n "$a" link set "${NSL_IFP}ua" name u0
    ip -n "$b" link set "${NSL_IFP}ub" name u0
    ip -n "$a" addr add $U4_A/24 dev u0
    ip -n "$b" addr add $U4_B/24 dev u0
    ip -n "$a" -6 addr add $U6_A/64 dev u0 nodad
    ip -n "$b" -6 addr add $U6_B/64 dev u0 nodad
    ip -n "$a" link set u0 up
    ip -n "$b" link set u0 up
}

# nsl_keys NAME: $NSL_TMP/NAME.key (private) and NAME.pub.
nsl_keys() {
    (umask 077; wg genkey >"$NSL_TMP/$1.key")
    wg pubkey <"$NSL_TMP/$1.key" >"$NSL_TMP/$1.pub"
}
nsl_pub() { cat "$NSL_TMP/$1.pub"; }

# nsl_start NS IF IMPL: starts a device in NS, waits for its control socket
# and its interface; sets NSL_PID_<IF>.  LOG_LEVEL passes through.
nsl_start() {
    local ns=$1 ifn=$2 impl=$3 log=$NSL_TMP/$2.log i
    rm -f "$NSL_SOCKDIR/$ifn.sock"
    case $impl in
        wgvsockd) ip netns exec "$ns" env LOG_LEVEL="${LOG_LEVEL:-error}" "$NSL_WGVSOCKD" -f -n udp "$ifn" >>"$log" 2>&1 & ;;
        wggo) ip netns exec "$ns" env LOG_LEVEL="${LOG_LEVEL:-error}" "$NSL_WGGO" -f "$ifn" >>"$log" 2>&1 & ;;
        *) echo "nsl_start: unknown impl $impl"; return 1 ;;
    esac
    local pid=$!
    NSL_PIDS+=("$pid"); NSL_IFS+=("$ifn")
    printf -v "NSL_PID_$ifn" %s "$pid"
    for i in $(seq 100); do
        [ -S "$NSL_SOCKDIR/$ifn.sock" ] && ip -n "$ns" link show "$ifn" >/dev/null 2>&1 && break
        nsl_running "$pid" || break
        sleep 0.05
    done
    if ! [ -S "$NSL_SOCKDIR/$ifn.sock" ] || ! nsl_running "$pid"; then
        echo "nsl_start: $impl $ifn in $ns did not come up; log:"; tail -20 "$log"
        return 1
    fi
    ip -n "$ns" link set "$ifn" up
}
nsl_pid() { local v=NSL_PID_$1; echo "${!v:-}"; }
# nsl_running PID: runs (an exited child stays a zombie until reaped: not running).
nsl_running() { [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# nsl_alive IF: the device's process still runs.
nsl_alive() { nsl_running "$(nsl_pid "$1")"; }
# nsl_stop IF: SIGTERM, wait up to 3 s; 0 if it exited by itself.
nsl_stop() {
    local p i; p=$(nsl_pid "$1")
    nsl_mine "$p" || return 0
    kill "$p" 2>/dev/null
    for i in $(seq 60); do nsl_running "$p" || { wait "$p" 2>/dev/null; return 0; }; sleep 0.05; done
    nsl_kill -KILL "$p"; wait "$p" 2>/dev/null
    return 1
}

# nsl_addr NS IF V4 V6 [MTU]: tunnel addresses (/24, /64) and up.
nsl_addr() {
    ip -n "$1" addr add "$3/24" dev "$2" || return 1
    ip -n "$1" -6 addr add "$4/64" dev "$2" nodad || return 1
    [ -n "${5:-}" ] && ip -n "$1" link set "$2" mtu "$5"
    ip -n "$1" link set "$2" up
}

# W NS ARGS...: wg(8) inside NS (the control socket is a file, but `wg show`
# with no interface lists only interfaces it can see, so stay in the NS).
W() { local ns=$1; shift; ip netns exec "$ns" wg "$@"; }

# nsl_pair IMPL_A IMPL_B [PORT_A PORT_B]: namespaces NS_A/NS_B over a veth,
# devices IF_A/IF_B, keys a/b, each the other's peer over the IPv4 underlay
# with the tunnel /32 and /128 as allowed-ips.  NSL_PAIR (one character)
# names a second pair beside the first.
nsl_pair() {
    IMPL_A=$1 IMPL_B=$2 PORT_A=${3:-51820} PORT_B=${4:-51821}
    local t=${NSL_PAIR:-}
    nsl_ns a$t NS_A && nsl_ns b$t NS_B || return 1
    nsl_veth "$NS_A" "$NS_B" || return 1
    IF_A=${NSL_IFP}a$t IF_B=${NSL_IFP}b$t
    nsl_keys a; nsl_keys b
    nsl_start "$NS_A" "$IF_A" "$IMPL_A" || return 1
    nsl_start "$NS_B" "$IF_B" "$IMPL_B" || return 1
    nsl_addr "$NS_A" "$IF_A" $T4_A $T6_A || return 1
    nsl_addr "$NS_B" "$IF_B" $T4_B $T6_B || return 1
    W "$NS_A" set "$IF_A" private-key "$NSL_TMP/a.key" listen-port "$PORT_A" \
        peer "$(nsl_pub b)" endpoint "$U4_B:$PORT_B" allowed-ips "$T4_B/32,$T6_B/128" || return 1
    W "$NS_B" set "$IF_B" private-key "$NSL_TMP/b.key" listen-port "$PORT_B" \
        peer "$(nsl_pub a)" endpoint "$U4_A:$PORT_A" allowed-ips "$T4_A/32,$T6_A/128" || return 1
}

# nsl_unpair: stops the pair's devices and deletes its namespaces.
nsl_unpair() {
    nsl_stop "$IF_A"; nsl_stop "$IF_B"
    local n
    for n in "$NS_A" "$NS_B"; do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$n" 2>/dev/null
    done
    rm -f "$NSL_SOCKDIR/$IF_A.sock" "$NSL_SOCKDIR/$IF_B.sock"
}

# nsl_ping NS DST [COUNT [DEADLINE [ping options...]]]: COUNT replies within DEADLINE s.
nsl_ping() {
    local ns=$1 dst=$2 c=${3:-3} w=${4:-5}
    shift 4 2>/dev/null || shift $#
    ip netns exec "$ns" ping -q -n -c "$c" -i 0.2 -w "$w" "$@" "$dst" >/dev/null 2>&1
}

# nsl_field NS IF WHAT PEER: one value from `wg show IF WHAT` for PEER
# (latest-handshakes, endpoints, persistent-keepalive; transfer gives "rx tx").
nsl_field() {
    W "$1" show "$2" "$3" 2>/dev/null | awk -v k="$4" '$1 == k { $1 = ""; sub(/^ /, ""); print }'
}
nsl_rx() { nsl_field "$1" "$2" transfer "$3" | awk '{print $1}'; }
nsl_tx() { nsl_field "$1" "$2" transfer "$3" | awk '{print $2}'; }
nsl_hs() { nsl_field "$1" "$2" latest-handshakes "$3"; }

# nsl_tun_rx NS IF: packets the kernel received from the TUN's userspace side.
nsl_tun_rx() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

# nsl_iperf SRV_NS SRV_ADDR CLI_NS SECONDS [iperf3 client options]: runs one
# TCP test; prints the receiver's bits/s (integer); non-zero on failure.
nsl_iperf() {
    local sns=$1 addr=$2 cns=$3 t=$4 port=$((5201 + RANDOM % 1000)) spid out
    shift 4
    ip netns exec "$sns" iperf3 -s -1 -B "$addr" -p $port >"$NSL_TMP/iperf-s.log" 2>&1 &
    spid=$!; NSL_PIDS+=("$spid")
    local i
    for i in $(seq 50); do
        ip netns exec "$sns" ss -Htln "sport = :$port" 2>/dev/null | grep -q . && break
        sleep 0.05
    done
    out=$(ip netns exec "$cns" timeout $((t + 15)) iperf3 -J -c "$addr" -p $port -t "$t" "$@" 2>&1)
    local rc=$?
    nsl_kill -TERM "$spid"; wait "$spid" 2>/dev/null
    [ $rc = 0 ] || { echo "iperf3 failed: $(echo "$out" | grep -m1 error)" >&2; return 1; }
    echo "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))'
}

# nsl_rtt NS DST COUNT: median ping RTT in ms (the median, because on a
# loaded machine a few scheduling delays of 10+ ms swamp the average).
nsl_rtt() {
    ip netns exec "$1" ping -n -c "$3" -i 0.05 -w 20 "$2" 2>/dev/null |
        sed -n 's/.*time=\([0-9.]*\).*/\1/p' | sort -g |
        awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# nsl_wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
nsl_wait_for() {
    local t=$1 i; shift
    for i in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
    "$@"
}
