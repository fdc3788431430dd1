#!/bin/bash
# Builds every libFuzzer target (make fuzz) and runs each for FUZZ_SECONDS
# (default 20), starting from its committed corpus tests/fuzz/corpus/<name>/.
# Fails if a target does not build, or if any run finds a crash, a sanitizer
# report, a leak, a timeout or an out-of-memory input; the offending input
# is kept under $FUZZ_BUILD/artifacts/ and its path printed.
#
#   FUZZ_SECONDS=600 FUZZ_TARGETS=keyderive bash tests/fuzz/test_fuzz.sh
#   FUZZ_RUNS=10000000 ...   also stop after that many executions (make fuzz-long)
#
# Per-target extras, all optional: tests/fuzz/<name>.dict (a libFuzzer
# dictionary) and tests/fuzz/<name>.options (extra libFuzzer flags, e.g.
# -max_len=65536, one or more per line, '#' comments).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
case $BUILD in build|build-asan) FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz} ;; *) FUZZ_BUILD=${FUZZ_BUILD:-$BUILD-fuzz} ;; esac
SECS=${FUZZ_SECONDS:-20}
JOBS=${FUZZ_MAKE_JOBS:-2}

command -v clang >/dev/null || { echo "clang not installed (make deps)"; exit 77; }

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -ra targets <<<"$FUZZ_TARGETS"
else
    for f in tests/fuzz/fuzz_*.c; do
        [ -f "$f" ] && { n=${f#tests/fuzz/fuzz_}; targets+=("${n%.c}"); }
    done
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets found"; exit 1; }

echo "== building ${targets[*]} into $FUZZ_BUILD"
if ! make -s -j"$JOBS" BUILD="$BUILD" FUZZ_BUILD="$FUZZ_BUILD" FUZZ_TARGETS="${targets[*]}" fuzz; then
    echo "FAIL: fuzz build failed"
    exit 1
fi

work=$(mktemp -d /tmp/wgvsock-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$FUZZ_BUILD/artifacts"
failed=()
for t in "${targets[@]}"; do
    bin=$FUZZ_BUILD/fuzz_$t
    corpus=tests/fuzz/corpus/$t
    mkdir -p "$work/$t"
    args=(-max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/artifacts/$t-")
    # make fuzz-long: stop at FUZZ_RUNS executions or FUZZ_SECONDS, the first
    [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
    [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
    if [ -f "tests/fuzz/$t.options" ]; then
        # Later flags win in libFuzzer, so these override the defaults above.
        read -ra extra <<<"$(sed 's/#.*//' "tests/fuzz/$t.options" | tr '\n' ' ')"
        args+=("${extra[@]}")
    fi
    # New inputs go to the scratch dir (first), never into the repository.
    dirs=("$work/$t")
    [ -d "$corpus" ] && dirs+=("$corpus")
    echo "== fuzz_$t for ${SECS}s"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$bin" "${args[@]}" "${dirs[@]}" >"$work/$t.log" 2>&1
    rc=$?
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/$t.log" | sed 's/^/   /'
    # the last status line: coverage (cov: edges, ft: features) and corpus
    grep -E '^#[0-9]+.*cov: ' "$work/$t.log" | tail -1 | sed 's/^/   /'
    if [ $rc != 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: ' "$work/$t.log"; then
        echo "FAIL: fuzz_$t (exit $rc)"
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written|artifact_prefix' "$work/$t.log" | head -20 | sed 's/^/   | /'
        tail -30 "$work/$t.log" | sed 's/^/   | /'
        failed+=("$t")
    else
        echo "ok: fuzz_$t ($(ls "$work/$t" | wc -l) new corpus inputs this run)"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzers with findings: ${failed[*]} (reproduce: $FUZZ_BUILD/fuzz_<name> <artifact>)"
    exit 1
fi
echo "all ${#targets[@]} fuzzers clean"
