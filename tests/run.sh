#!/bin/bash
# The one test runner: every cmocka unit binary under $BUILD/tests/unit and
# every tests/<area>/test_*.sh script, with one pass/fail total at the end.
#
#   T=netns ./tests/run.sh        only tests whose path contains "netns"
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
filter=${T:-}
tmo=${TEST_TIMEOUT:-900}
pass=0 fail=0 skip=0
failed=()
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
for s in tests/*/test_*.sh tests/*/*/test_*.sh; do
    [ -f "$s" ] || continue
    case $s in *"$filter"*) ;; *) continue ;; esac
    run_one "${s#tests/}" bash "$s"
done

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
