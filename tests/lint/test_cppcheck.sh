#!/bin/bash
# test_cppcheck.sh - `make cppcheck` (Debian's cppcheck over every C file,
# the checks that find bugs: warning, portability, performance) is clean.
# A finding fails the suite; a false positive is suppressed inline in the
# source with a comment saying why, never here.
set -u
cd "$(dirname "$0")/../.."
command -v cppcheck >/dev/null || { echo "cppcheck not installed (make deps)"; exit 77; }
out=$(make -s cppcheck 2>&1)
rc=$?
echo "$out"
if [ $rc != 0 ] || echo "$out" | grep -qE '^[^ ]+:[0-9]+:[0-9]+: (error|warning|portability|performance):'; then
    echo "FAIL: cppcheck findings (exit $rc)"
    exit 1
fi
echo "ok: cppcheck clean"
