#!/bin/bash
# bench/udp.sh - WireGuard over UDP between two network namespaces (veth):
# iperf3 TCP single stream, -P 4 and -R, plus ping RTT (median of 50), for wgvsockd<->wgvsockd
# and Debian wireguard-go<->wireguard-go in the same run, interleaved, with the
# ratio, and the bare veth (no tunnel) as the ceiling.  During the single
# stream the CPU time (utime + stime) and context switches (voluntary +
# involuntary, summed over the threads) of both daemons are sampled and
# given per GB moved.  The issue's bar: wgvsockd single stream >= 1.5x wireguard-go.
#
#   bench/udp.sh                       5 s per iperf3 test, one round
#   BENCH_SECONDS=10 BENCH_ROUNDS=3 bench/udp.sh    median of 3 rounds
#   BENCH_MIN_RATIO=1.5 bench/udp.sh   exit 1 when single stream is below the bar
#   BENCH_IMPLS="wgvsockd" ...         only one side (default: wgvsockd wggo veth;
#                                      wgvsockd-nogso = wgvsockd with WGVSOCK_UDP_OFFLOAD=0)
#   BENCH_PERF=1 ...                   also `perf record` both wgvsockd processes
#                                      during an extra single-stream run; reports in
#                                      $BUILD/bench-logs/udp-perf-{tx,rx}.txt
#
# Figures depend on the machine and on whatever else runs on it: the
# ratio, measured in one run, is the number to compare.
set -u
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
T=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-1}
IMPLS=${BENCH_IMPLS:-wgvsockd wggo veth}
nsl_require $(printf '%s\n' $IMPLS | sed 's/^wgvsockd-nogso$/wgvsockd/; /^veth$/d') iperf3 python3 ss
nsl_init bu
LOGDIR=${BENCH_LOGDIR:-$NSL_ROOT/${BUILD:-build}/bench-logs}
case ${BUILD:-build} in /*) LOGDIR=${BENCH_LOGDIR:-$BUILD/bench-logs} ;; esac
mkdir -p "$LOGDIR"

name() { case $1 in wggo) echo wireguard-go ;; veth) echo "bare veth" ;; *) echo "$1" ;; esac; }
has() { case " $IMPLS " in *" $1 "*) return 0 ;; esac; return 1; }
HZ=$(getconf CLK_TCK)

# cost PID...: "CPU_TICKS CTX_SWITCHES" of these processes so far (CPU from
# /proc/PID/stat, which counts exited threads too; switches summed over the
# live threads - the daemons' threads live as long as the device).
cost() {
    local p t=0 c=0 v
    for p; do
        v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) && t=$((t + v))
        v=$(cat /proc/"$p"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }')
        c=$((c + v))
    done
    echo "$t $c"
}
# per_gb BPS TICKS SWITCHES: sets CPU_GB (CPU-s per GB) and CS_GB (switches per GB).
per_gb() {
    CPU_GB=$(python3 -c "b = $1 * $T / 8 / 1e9; print('%.2f' % ($2 / $HZ / b) if b else '')")
    CS_GB=$(python3 -c "b = $1 * $T / 8 / 1e9; print('%.0f' % ($3 / b) if b else '')")
}
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "bench/udp.sh: $(nproc) CPUs ($cpu), kernel $(uname -r), $(date -u +%FT%TZ)"
echo "iperf3 TCP through the tunnel, ${T} s per test, $ROUNDS round(s), median; MTU 1420; veth underlay"
"$NSL_WGGO" --version 2>/dev/null | head -1 | sed 's/^/wireguard-go: /'

declare -A R   # R[impl,metric,round]
run_veth() {   # $1 round: the same tests over the underlay alone
    local r=$1 a b
    nsl_ns va$r a && nsl_ns vb$r b && nsl_veth "$a" "$b" || { echo "veth: setup failed"; return 1; }
    R[veth,single,$r]=$(nsl_iperf "$b" "$U4_B" "$a" "$T")
    R[veth,p4,$r]=$(nsl_iperf "$b" "$U4_B" "$a" "$T" -P 4)
    R[veth,rev,$r]=$(nsl_iperf "$b" "$U4_B" "$a" "$T" -R)
    R[veth,rtt,$r]=$(nsl_rtt "$a" "$U4_B" 50)
    printf '  round %d %-13s single %6s  -P4 %6s  -R %6s Mbit/s  rtt %s ms\n' "$r" "bare veth" \
        $((${R[veth,single,$r]:-0} / 1000000)) $((${R[veth,p4,$r]:-0} / 1000000)) \
        $((${R[veth,rev,$r]:-0} / 1000000)) "${R[veth,rtt,$r]:-?}"
    ip netns del "$a"; ip netns del "$b"
}

run_impl() {   # $1 impl, $2 round
    local impl=$1 r=$2 v c0 c1
    [ "$impl" = veth ] && { run_veth "$r"; return; }
    NSL_PAIR=$r$((${#impl} % 10))
    if [ "$impl" = wgvsockd-nogso ]; then
        WGVSOCK_UDP_OFFLOAD=0 nsl_pair wgvsockd wgvsockd || { echo "$impl: setup failed"; return 1; }
    else
        nsl_pair "$impl" "$impl" || { echo "$impl: setup failed"; return 1; }
    fi
    nsl_ping "$NS_A" "$T4_B" 2 5 || { echo "$impl: no tunnel"; nsl_unpair; return 1; }
    c0=$(cost "$(nsl_pid "$IF_A")" "$(nsl_pid "$IF_B")")
    R[$impl,single,$r]=$(nsl_iperf "$NS_B" "$T4_B" "$NS_A" "$T")
    c1=$(cost "$(nsl_pid "$IF_A")" "$(nsl_pid "$IF_B")")
    per_gb "${R[$impl,single,$r]:-0}" $(( ${c1% *} - ${c0% *} )) $(( ${c1#* } - ${c0#* } ))
    R[$impl,cpu,$r]=$CPU_GB R[$impl,cs,$r]=$CS_GB
    R[$impl,p4,$r]=$(nsl_iperf "$NS_B" "$T4_B" "$NS_A" "$T" -P 4)
    R[$impl,rev,$r]=$(nsl_iperf "$NS_B" "$T4_B" "$NS_A" "$T" -R)
    R[$impl,rtt,$r]=$(nsl_rtt "$NS_A" "$T4_B" 50)
    if [ "${BENCH_PERF:-}" = 1 ] && [ "$impl" = wgvsockd ] && [ "$r" = 1 ] && command -v perf >/dev/null; then
        local pa pb
        perf record -q -g -o "$NSL_TMP/perf-tx.data" -p "$(nsl_pid "$IF_A")" -- sleep "$T" >/dev/null 2>&1 &
        pa=$!
        perf record -q -g -o "$NSL_TMP/perf-rx.data" -p "$(nsl_pid "$IF_B")" -- sleep "$T" >/dev/null 2>&1 &
        pb=$!
        v=$(nsl_iperf "$NS_B" "$T4_B" "$NS_A" "$T")
        wait $pa $pb
        for d in tx rx; do
            { echo "# wgvsockd $([ $d = tx ] && echo 'sender (A, encrypts)' || echo 'receiver (B, decrypts)'), single stream $((${v:-0} / 1000000)) Mbit/s while profiled"
              echo "## by shared object"
              perf report -q -i "$NSL_TMP/perf-$d.data" --no-children -g none --sort dso 2>/dev/null | grep '%' | head -10
              echo "## by thread (tid)"
              perf report -q -i "$NSL_TMP/perf-$d.data" --no-children -g none --sort pid 2>/dev/null | grep '%' | head -10
              echo "## by symbol"
              perf report -q -i "$NSL_TMP/perf-$d.data" --no-children -g none --sort dso,symbol --percent-limit 0.5 2>/dev/null | grep '%' | head -50
              echo "## callers of the top kernel symbols"
              perf report -q -i "$NSL_TMP/perf-$d.data" --no-children -g caller,0.5,callee --sort symbol --percent-limit 5 2>/dev/null | grep -v '^$' | head -80
            } >"$LOGDIR/udp-perf-$d.txt"
        done
        echo "  perf profiles: $LOGDIR/udp-perf-tx.txt $LOGDIR/udp-perf-rx.txt"
    fi
    printf '  round %d %-13s single %6s  -P4 %6s  -R %6s Mbit/s  rtt %s ms  %s CPU-s/GB  %s ctxsw/GB\n' "$r" "$(name "$impl")" \
        $((${R[$impl,single,$r]:-0} / 1000000)) $((${R[$impl,p4,$r]:-0} / 1000000)) \
        $((${R[$impl,rev,$r]:-0} / 1000000)) "${R[$impl,rtt,$r]:-?}" "${R[$impl,cpu,$r]:-?}" "${R[$impl,cs,$r]:-?}"
    nsl_unpair
}

for r in $(seq "$ROUNDS"); do
    for impl in $IMPLS; do run_impl "$impl" "$r"; done
done

median() { printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A M
for impl in $IMPLS; do
    for m in single p4 rev rtt cpu cs; do
        vals=()
        for r in $(seq "$ROUNDS"); do vals+=("${R[$impl,$m,$r]:-}"); done
        M[$impl,$m]=$(median "${vals[@]}")
    done
done

echo
printf '%-30s' "metric"; for impl in $IMPLS; do printf '%16s' "$(name "$impl")"; done
has wgvsockd && has wggo && printf '%12s' "vs wg-go"
has wgvsockd && has veth && printf '%12s' "of veth"
echo
rc=0
for m in single p4 rev rtt cpu cs; do
    case $m in single) l="single stream (Mbit/s)" ;; p4) l="-P 4 (Mbit/s)" ;; rev) l="-R (Mbit/s)" ;;
        rtt) l="ping RTT median (ms)" ;; cpu) l="CPU-s per GB, both daemons" ;; cs) l="ctx switches per GB" ;; esac
    printf '%-30s' "$l"
    for impl in $IMPLS; do
        v=${M[$impl,$m]:-}
        if [ -z "$v" ]; then printf '%16s' "-"
        elif [ $m = rtt ] || [ $m = cpu ] || [ $m = cs ]; then printf '%16s' "$v"
        else printf '%16d' $(python3 -c "print(int($v) // 1000000)"); fi
    done
    if has wgvsockd && has wggo; then
        a=${M[wgvsockd,$m]:-} b=${M[wggo,$m]:-}
        if [ -n "$a" ] && [ -n "$b" ]; then
            # always "how many times better wgvsockd is": for RTT, CPU and
            # switches lower is better, so those are wireguard-go / wgvsockd
            case $m in rtt|cpu|cs) ratio=$(python3 -c "print('%.2fx' % ($b / $a) if $a else '-')") ;;
                *) ratio=$(python3 -c "print('%.2fx' % ($a / $b))") ;; esac
            printf '%12s' "$ratio"
        else printf '%12s' "-"; fi
    fi
    if has wgvsockd && has veth; then
        a=${M[wgvsockd,$m]:-} b=${M[veth,$m]:-}
        case $m in single|p4|rev) [ -n "$a" ] && [ -n "$b" ] && printf '%12s' "$(python3 -c "print('%.2f' % ($a / $b))")" ;; esac
    fi
    echo
done
if has wgvsockd && has wggo; then
    echo "(vs wg-go: how many times better wgvsockd is - throughput wgvsockd / wireguard-go, RTT/CPU/switches"
    echo " wireguard-go / wgvsockd; of veth: wgvsockd's throughput as a fraction of the bare veth's)"
    if [ -n "${BENCH_MIN_RATIO:-}" ]; then
        ok=$(python3 -c "print(int(${M[wgvsockd,single]:-0} >= $BENCH_MIN_RATIO * ${M[wggo,single]:-1}))")
        [ "$ok" = 1 ] || { echo "FAIL: single stream below ${BENCH_MIN_RATIO}x wireguard-go"; rc=1; }
    fi
fi
for impl in $IMPLS; do [ -n "${M[$impl,single]:-}" ] || rc=1; done
exit $rc
