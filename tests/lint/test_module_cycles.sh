#!/bin/bash
# test_module_cycles.sh - no include/call cycles between the modules (x.c +
# x.h) of the engine and the libraries below the plugin (module_cycles.py
# says how they are found).  A cycle means two files that can only be read,
# changed or tested together: break it by moving what both need below them.
# (plugin/ is not checked yet: forward.c and forward_relay.c share
# forward.h's limits and forward_relay.h's structs both ways.)
set -u
cd "$(dirname "$0")/../.."
command -v python3 >/dev/null || { echo "python3 not installed (make deps)"; exit 77; }
python3 tests/lint/module_cycles.py wgcore keyderive attest provision || {
    echo "FAIL: module cycles (above)"
    exit 1
}
echo "ok: no module cycles"
