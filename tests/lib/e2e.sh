# Shared helpers for the docker end-to-end and example tests (sourced).
#
# Every e2e test runs in a network namespace of its own ($E2E_NS) that holds
# everything it starts: a private dockerd (tests/lib/docker.sh), the hub
# (tests/lib/hub.sh) and the plugin.  Nothing is added to the machine's own
# network namespace, so tests can run side by side and a crash leaves nothing
# routable behind.  Cleanup is a stack of commands run in reverse order by the
# EXIT trap (e2e_defer), so each helper undoes exactly what it did.
set -u
[ -n "${_E2E_SH:-}" ] && return 0
_E2E_SH=1

E2E_ROOT=${WGVSOCK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"   # proc_mine/proc_alive/proc_kill
case ${BUILD:-build} in /*) _e2e_bin=$BUILD/bin ;; *) _e2e_bin=$E2E_ROOT/${BUILD:-build}/bin ;; esac
E2E_BIN=${WGVSOCK_BIN:-$_e2e_bin}
[ -x "$E2E_BIN/keyderive" ] || E2E_BIN=$_e2e_bin
export PATH=$E2E_BIN:$PATH:/usr/sbin:/sbin

E2E_TMP=$(mktemp -d /tmp/e2e.XXXXXX)
chmod 700 "$E2E_TMP"
E2E_NAME=$(basename "$0" .sh)
E2E_FAILS=0
E2E_CHECKS=0
_e2e_cleanup=()

log() { printf '[%s %s] %s\n' "$(date +%T)" "$E2E_NAME" "$*"; }
fail() { E2E_FAILS=$((E2E_FAILS + 1)); printf '[%s %s] FAIL: %s\n' "$(date +%T)" "$E2E_NAME" "$*"; }
die() { printf '[%s %s] FATAL: %s\n' "$(date +%T)" "$E2E_NAME" "$*"; exit 1; }
skip() { printf '[%s %s] SKIP: %s\n' "$(date +%T)" "$E2E_NAME" "$*"; exit 77; }
check() {  # check DESCRIPTION CMD...: counts, logs failure, returns CMD's status
    local what=$1; shift
    E2E_CHECKS=$((E2E_CHECKS + 1))
    if "$@"; then return 0; fi
    fail "$what"
    return 1
}

# e2e_defer CMD: run CMD (a string for eval) at exit, last deferred first.
e2e_defer() { _e2e_cleanup+=("$1"); }
_e2e_exit() {
    local rc=$? i
    trap - EXIT INT TERM
    set +e
    for ((i = ${#_e2e_cleanup[@]} - 1; i >= 0; i--)); do
        eval "${_e2e_cleanup[$i]}" >/dev/null 2>&1
    done
    if [ "${E2E_KEEP:-}" = 1 ]; then echo "E2E_KEEP=1: logs kept in $E2E_TMP"; else rm -rf "$E2E_TMP"; fi
    exit $rc
}
trap _e2e_exit EXIT
trap 'exit 130' INT TERM

# e2e_finish: the last line of a test; exit status from the failure count.
e2e_finish() {
    echo "$E2E_NAME: $E2E_CHECKS checks, $E2E_FAILS failures"
    [ "$E2E_FAILS" = 0 ] || exit 1
    exit 0
}

# e2e_need_root, e2e_need_bin NAME...: prerequisites.  Missing binaries of our
# own build are failures (make was not run); missing system tools skip.
e2e_need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
e2e_need_tool() { local t; for t; do command -v "$t" >/dev/null || skip "$t not installed (make deps)"; done; }
e2e_need_bin() {
    local b; for b; do [ -x "$E2E_BIN/$b" ] || die "$E2E_BIN/$b not built (make BUILD=${BUILD:-build})"; done
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
    local end=$((SECONDS + $1)); shift
    while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    "$@"
}

# e2e_netns: create the test's network namespace $E2E_NS with loopback up.
e2e_netns() {
    E2E_NS=e2e$$$(printf '%04x' $((RANDOM)))
    ip netns add "$E2E_NS" || die "ip netns add failed"
    e2e_defer "e2e_netns_del $E2E_NS"
    ip -n "$E2E_NS" link set lo up
}
# in_ns CMD...: run CMD in the test's namespace.
in_ns() { ip netns exec "$E2E_NS" "$@"; }
e2e_netns_del() {
    local ns=$1 p
    # Anything still running in the namespace was started by this test.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
}

# still_ours PID [MATCH]: PID is a process this test started: with MATCH, its
# command line contains MATCH; without, it is a child of this shell.  PIDs
# wrap quickly on a busy machine, so a remembered PID is never signalled
# without this check.
still_ours() {
    local pid=$1 match=${2:-}
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    if [ -n "$match" ]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$match"
    else
        proc_mine "$pid"
    fi
}

# kill_wait PID [SECONDS] [MATCH]: SIGTERM, then SIGKILL after SECONDS
# (default 10), only while still_ours PID [MATCH].
kill_wait() {
    local pid=$1 t=$((${2:-10} * 10)) match=${3:-}
    still_ours "$pid" "$match" || return 0
    kill "$pid" 2>/dev/null || return 0
    while [ $t -gt 0 ] && still_ours "$pid" "$match"; do sleep 0.1; t=$((t - 1)); done
    still_ours "$pid" "$match" && kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    t=50; while [ $t -gt 0 ] && still_ours "$pid" "$match"; do sleep 0.1; t=$((t - 1)); done
    return 0
}
