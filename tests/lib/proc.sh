# tests/lib/proc.sh - signal only processes this test started (sourced).
#
# pid_max is 32768 on the dev machines and PIDs wrap within minutes under
# load: a PID remembered from a process that has exited (and been reaped)
# can belong to someone else's daemon by the time a cleanup trap runs.  So a
# remembered PID is never signalled unless it is provably still ours:
#
#   - with a start time (recorded when we launched or found it): the
#     process with that PID still has that start time (field 22 of
#     /proc/PID/stat, clock ticks since boot - a reused PID has a later one);
#   - without: the process is still a child of this shell ($$, or $BASHPID
#     inside a subshell), as nsl_mine in tests/lib/netns.sh does.
#
# A process is named "PID" or "PID:START"; proc_id makes the latter:
#
#   . tests/lib/proc.sh
#   daemon -d ...; P=$(proc_id "$(pgrep -f ...)")   # a forking daemon
#   cmd & C=$!                                       # our child: PID is enough
#   proc_kill -TERM "$P"; proc_stop "$C"
#
# Broad patterns (pkill NAME, killall) are never used: they hit other
# tests' daemons.  Whatever a test ran inside its own netns is found with
# `ip netns pids NS`.

# proc_start PID: its start time; non-zero when there is no such process.
proc_start() {
    local s
    [ -n "${1:-}" ] && s=$(cat "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] || return 1
    s=${s##*) }                        # comm may contain spaces and ')'
    set -- $s                          # $1 is field 3 (state)
    echo "${20}"
}

# proc_id PID: "PID:START" for a process alive now (nothing if it is gone).
proc_id() { local st; st=$(proc_start "${1:-}") && echo "$1:$st"; }

# proc_mine PID[:START] [START]: still the process we mean (see above).
proc_mine() {
    local pid=${1%%:*} st=${2:-} pp
    [ -z "$st" ] && [ "$1" != "$pid" ] && st=${1#*:}
    [ -n "$pid" ] || return 1
    if [ -n "$st" ]; then
        [ "$(proc_start "$pid")" = "$st" ]
    else
        pp=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        [ -n "$pp" ] && { [ "$pp" = "$$" ] || [ "$pp" = "$BASHPID" ]; }
    fi
}

# proc_alive PID[:START] [START]: ours and running (a zombie is not running).
proc_alive() {
    proc_mine "$@" && ! grep -q '^State:[[:space:]]*Z' "/proc/${1%%:*}/status" 2>/dev/null
}

# proc_kill SIG PID[:START] [START]: send SIG only if the process is ours.
proc_kill() {
    local sig=$1; shift
    proc_mine "$@" && kill "$sig" "${1%%:*}" 2>/dev/null
}

# proc_stop PID[:START] [SECONDS]: SIGTERM, up to SECONDS (default 3) for it
# to exit, then SIGKILL; reaps it when it is our child.  0 if it was not
# running or exited on SIGTERM, 1 if it needed SIGKILL.
proc_stop() {
    local p=$1 t=$((${2:-3} * 10)) pid=${1%%:*} rc=0
    proc_kill -TERM "$p" || { wait "$pid" 2>/dev/null; return 0; }
    while [ $t -gt 0 ] && proc_alive "$p"; do sleep 0.1; t=$((t - 1)); done
    proc_alive "$p" && { proc_kill -KILL "$p"; rc=1; }
    wait "$pid" 2>/dev/null
    return $rc
}
