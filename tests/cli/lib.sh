# Shared helpers for the keyderive CLI tests (sourced, not run).
set -u
ROOT=${WGVSOCK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# WGVSOCK_BIN from tests/run.sh; else (or if it lacks the binary, as with an
# absolute BUILD) the build tree named by BUILD.
case ${BUILD:-build} in /*) _bin=$BUILD/bin ;; *) _bin=$ROOT/${BUILD:-build}/bin ;; esac
KD=${WGVSOCK_BIN:-$_bin}/keyderive
[ -x "$KD" ] || KD=$_bin/keyderive
[ -x "$KD" ] || { echo "keyderive binary not found at $KD (run make first)"; exit 1; }

TMP=$(mktemp -d /tmp/kdcli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0
checks=0

# The published vector of the scheme.
SEED=dGVzdHNlZWQK                 # "testseed\n"
ADD=dGVzdGFkZGl0aW9uYWwK          # "testadditional\n"
VEC_ADDR=192.168.5.2
VEC_PUB=+Pm8wi17cOoQ/QvaBq/WLcslAcgX1cCkrJA5dG57nU8=

flunk() { echo "FAIL: $*"; failures=$((failures + 1)); }

# ok NAME CMD...: must exit 0; stdout in $TMP/out, stderr in $TMP/err.
ok() {
    local name=$1; shift
    checks=$((checks + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc = 0 ] || { flunk "$name: exit $rc, stderr: $(head -c 300 "$TMP/err")"; return 1; }
    return 0
}

# bad NAME SECRETS CMD...: must exit 2 with empty stdout and exactly one line
# on stderr that contains none of the space-separated SECRETS.
bad() {
    local name=$1 secrets=$2; shift 2
    checks=$((checks + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    [ $rc = 2 ] || { flunk "$name: exit $rc, expected 2 (stderr: $(head -c 300 "$TMP/err"))"; return 1; }
    [ -s "$TMP/out" ] && { flunk "$name: stdout not empty: $(head -c 200 "$TMP/out")"; return 1; }
    [ "$(wc -l <"$TMP/err")" = 1 ] || { flunk "$name: expected one stderr line, got: $(cat "$TMP/err")"; return 1; }
    grep -q '^keyderive: ' "$TMP/err" || { flunk "$name: message lacks 'keyderive:' prefix: $(cat "$TMP/err")"; return 1; }
    local s
    for s in $secrets; do
        grep -qF -- "$s" "$TMP/err" && { flunk "$name: secret '$s' echoed in: $(cat "$TMP/err")"; return 1; }
    done
    return 0
}

# expect_eq NAME GOT WANT
expect_eq() {
    checks=$((checks + 1))
    [ "$2" = "$3" ] || flunk "$1: got '$2', want '$3'"
}

finish() {
    echo "$checks checks, $failures failures"
    [ $failures = 0 ]
}
