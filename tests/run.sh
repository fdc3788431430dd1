#!/bin/bash
# The one test runner: every cmocka unit binary under $BUILD/tests/unit and
# every tests/<area>/test_*.sh script, with one pass/fail total at the end.
#
#   T=netns ./tests/run.sh        only tests whose path contains "netns"
#
# A docker test (one that sources tests/lib/docker.sh) runs against Docker
# 20.10; one with the line "# engines: 20.10 26" runs again against Docker 26
# (DK_ENGINE=26), shown as e.g. "e2e/test_docker_udp.sh[docker26]" (T= matches
# that name too).  DK_ENGINES="20.10" or "26" runs those tests against one
# engine only.  The totals per engine come before the last line.
#
# A script passes with exit 0, fails with anything else, and is *skipped* with
# exit 77 (counted and shown as skipped, never as passed).  In CI (CI=true)
# every prerequisite is installed, so a skip counts as a failure there.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export WGVSOCK_ROOT=$PWD
case $BUILD in /*) _build=$BUILD ;; *) _build=$PWD/$BUILD ;; esac   # BUILD may be absolute
export WGVSOCK_BIN=$_build/bin
export PATH=$WGVSOCK_BIN:$PATH
# `make` builds only the product; `make tests` the test programs.  Say so
# when those are missing or older than their sources, rather than run stale
# ones in silence.
if ! make -s -q tests BUILD="$BUILD" >/dev/null 2>&1; then
    echo "run.sh: the test programs in $BUILD are missing or out of date: run 'make tests' first" >&2
fi
filter=${T:-}
tmo=${TEST_TIMEOUT:-900}
pass=0 fail=0 skip=0
failed=()
engines=${DK_ENGINES:-20.10 26}
declare -A eng_pass=() eng_fail=() eng_skip=()   # set (empty), so ${#eng_pass[@]} is fine under set -u
logdir=$_build/test-logs; mkdir -p "$logdir"

run_one() {  # $1 display name, rest: command
    local name=$1; shift
    local log=$logdir/$(echo "$name" | tr '/ ' '__').log
    local t0=$SECONDS
    printf '=== %s\n' "$name"
    timeout -k 10 "$tmo" "$@" >"$log" 2>&1
    local rc=$?
    if [ $rc = 0 ] && grep -q '^\[  PASSED  \]' "$log"; then
        # cmocka binary: count its test cases
        local p f
        p=$(awk '/^\[  PASSED  \]/{s+=$4} END{print s+0}' "$log")
        f=$(awk '/^\[  FAILED  \] [0-9]+ test/{s+=$4} END{print s+0}' "$log")
        pass=$((pass + p)); fail=$((fail + f))
        printf -- '--- ok   %s (%d cases, %ds)\n' "$name" "$p" $((SECONDS - t0))
        return
    fi
    case $rc in
        0)  pass=$((pass + 1)); printf -- '--- ok   %s (%ds)\n' "$name" $((SECONDS - t0)) ;;
        77) if [ "${CI:-}" = true ]; then
                fail=$((fail + 1)); failed+=("$name (skipped in CI)")
                printf -- '--- FAIL %s: skipped in CI: %s\n' "$name" "$(tail -1 "$log")"
            else
                skip=$((skip + 1)); printf -- '--- skip %s: %s\n' "$name" "$(tail -1 "$log")"
            fi ;;
        *)  if grep -q '^\[  FAILED  \] [0-9]' "$log"; then
                local p f
                p=$(awk '/^\[  PASSED  \]/{s+=$4} END{print s+0}' "$log")
                f=$(awk '/^\[  FAILED  \] [0-9]+ test/{s+=$4} END{print s+0}' "$log")
                pass=$((pass + p)); fail=$((fail + f))
            else
                fail=$((fail + 1))
            fi
            failed+=("$name")
            [ $rc = 124 ] && echo "    (timed out after ${tmo}s)"
            printf -- '--- FAIL %s (exit %d, %ds); last lines of %s:\n' "$name" $rc $((SECONDS - t0)) "$log"
            tail -n 40 "$log" | sed 's/^/    | /' ;;
    esac
}

for b in "$BUILD"/tests/unit/*; do
    [ -x "$b" ] || continue
    case $b in *"$filter"*) ;; *) continue ;; esac
    run_one "unit/$(basename "$b")" "$b"
done
# run_engine ENGINE NAME SCRIPT: a docker test against one engine, counted
# per engine as well.
run_engine() {
    local e=$1 p0=$pass f0=$fail s0=$skip
    run_one "$2" env DK_ENGINE="$e" bash "$3"
    eng_pass[$e]=$((${eng_pass[$e]:-0} + pass - p0))
    eng_fail[$e]=$((${eng_fail[$e]:-0} + fail - f0))
    eng_skip[$e]=$((${eng_skip[$e]:-0} + skip - s0))
}
for s in tests/*/test_*.sh tests/*/*/test_*.sh; do
    [ -f "$s" ] || continue
    name=${s#tests/}
    if ! grep -q 'lib/docker\.sh' "$s"; then
        case $s in *"$filter"*) run_one "$name" bash "$s" ;; esac
        continue
    fi
    both=0; grep -qx '# engines: 20.10 26' "$s" && both=1
    for e in $engines; do
        n=$name; [ "$e" = 26 ] && { [ $both = 1 ] || continue; n="$name[docker26]"; }
        case tests/$n in *"$filter"*) run_engine "$e" "$n" "$s" ;; esac
    done
done

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
if [ ${#eng_pass[@]} -gt 0 ]; then
    sep=
    for e in 20.10 26; do
        [ -n "${eng_pass[$e]:-}" ] || continue
        printf '%sdocker %s: %d passed, %d failed, %d skipped' "$sep" "$e" \
            "${eng_pass[$e]}" "${eng_fail[$e]}" "${eng_skip[$e]}"; sep='; '
    done
    echo
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
