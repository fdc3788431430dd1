# tests/lib/plugin_test.sh - what the tests/plugin/*.sh scripts share:
# where the built programs are, the skips every one of them needs, the
# ok/bad/check/die counters (CHECKS, FAILS) and wait_for.
#
#   . "$(dirname "$0")/../lib/plugin_test.sh"
#   pt_require curl wg ...        skip (77) unless root, /dev/net/tun, tools
#   pt_built "$PLUGIN" ...        fail unless these programs are built
ROOT=${WGVSOCK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
case ${BUILD:-build} in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/${BUILD:-build}/bin ;; esac
# run.sh's WGVSOCK_BIN is $PWD/$BUILD/bin, wrong for an absolute BUILD
[ -n "${WGVSOCK_BIN:-}" ] && [ -x "$WGVSOCK_BIN/wgvsock-plugin" ] && BIN=$WGVSOCK_BIN
PLUGIN=$BIN/wgvsock-plugin
WGVSOCKD=$BIN/wgvsockd
KD=$BIN/keyderive

skip() { echo "SKIP: $*"; exit 77; }
pt_require() {  # TOOL...: the plugin tests need root, a TUN device and these tools
    local t
    [ "$(id -u)" = 0 ] || skip "needs root (TUN, namespaces)"
    for t in "$@"; do command -v "$t" >/dev/null || skip "$t not installed"; done
    [ -c /dev/net/tun ] || skip "no /dev/net/tun"
}
pt_built() {  # PROGRAM...: built by make, so missing is a failure, not a skip
    local b
    for b in "$@"; do [ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }; done
}

FAILS=0 CHECKS=0
log()  { printf '%s %s\n' "$(date +%T)" "$*"; }
ok()   { CHECKS=$((CHECKS + 1)); printf 'ok:   %s\n' "$*"; }
bad()  { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); printf 'FAIL: %s\n' "$*"; }
check() { local n=$1; shift; if "$@" >/dev/null 2>&1; then ok "$n"; else bad "$n"; fi; }
die()  { bad "$*"; exit 1; }

wait_for() {  # SECONDS CMD...
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
