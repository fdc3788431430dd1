#!/bin/bash
# wgvsock-attest: `verify` on the genuine Nitro document (valid at its own
# time; invalid after the leaf expired, with one byte changed, with another
# root, a wrong PCR or nonce), its JSON, its exit codes; `test-ca` output
# that openssl(1) accepts as a chain, and an independent check of the
# pinned root's fingerprint with openssl(1).
set -u
ROOT=${WGVSOCK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
case ${BUILD:-build} in /*) _bin=$BUILD/bin ;; *) _bin=$ROOT/${BUILD:-build}/bin ;; esac
AT=${WGVSOCK_BIN:-$_bin}/wgvsock-attest
[ -x "$AT" ] || { echo "wgvsock-attest not built at $AT (run make)"; exit 1; }
DOC=$ROOT/tests/attest/nitro-doc-2025-09-09.b64
TS=1757440782                 # the document's timestamp, rounded up to the second
LEAF_END=1757451581           # 2025-09-09T20:59:41Z
PCR0=94b74422daddb8f503fcd69df064c7cde5d053001b9cd153c75ec34484283496a37e89c7287a00f467759a6863362b60
TMP=$(mktemp -d /tmp/attestcli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
flunk() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect NAME RC CHECK ARGS...: exit code RC and JSON "check": CHECK.
expect() {
    local name=$1 rc=$2 check=$3; shift 3
    "$AT" verify "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    [ "$got" = "$rc" ] || { flunk "$name: exit $got, want $rc: $(cat "$TMP/err")"; return; }
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["check"]==sys.argv[2] and d["valid"]==(sys.argv[2]=="ok") else 1)' \
        "$TMP/out" "$check" || flunk "$name: JSON check is not $check: $(head -c 300 "$TMP/out")"
    if [ "$rc" = 1 ]; then
        grep -q "$check check failed" "$TMP/err" || flunk "$name: stderr does not name the check: $(cat "$TMP/err")"
    fi
}

base64 -d "$DOC" >"$TMP/doc.cbor" || { flunk "fixture is not base64"; exit 1; }

expect "genuine, base64"        0 ok  --at $TS "$DOC"
expect "genuine, binary"        0 ok  --at $TS "$TMP/doc.cbor"
expect "genuine, stdin"         0 ok  --at $TS - <"$DOC"
expect "genuine, PCR0 pinned"   0 ok  --at $TS --pcr 0=$PCR0 "$DOC"
python3 - "$TMP/out" <<'PY' || flunk "JSON fields"
import json, sys
d = json.load(open(sys.argv[1]))["document"]
assert d["module_id"] == "i-01464dfc66ef2a314-enc0198f62377ead51d", d["module_id"]
assert d["timestamp"] == 1757440781958 and d["digest"] == "SHA384"
assert len(d["pcrs"]) == 16 and d["pcrs"]["0"].startswith("94b74422")
assert d["nonce"] is None and d["user_data"] is None and len(d["public_key"]) == 66
assert d["certificate"]["not_after"] == "2025-09-09T20:59:41Z", d["certificate"]
assert "i-01464dfc66ef2a314" in d["certificate"]["subject"] and d["cabundle_length"] == 4
PY
expect "leaf expired"           1 certificate-chain --at $((LEAF_END + 1)) "$DOC"
expect "today"                  1 certificate-chain "$DOC"
expect "stale document"         1 freshness --at $((TS + 301)) "$DOC"
expect "wrong PCR0"             1 pcr --at $TS --pcr 0=${PCR0%??}00 "$DOC"
expect "nonce (doc has none)"   1 nonce --at $TS --nonce 00112233 "$DOC"

# One byte changed: in the protected header, the payload's claims, the
# leaf certificate, a cabundle certificate, the signature.
size=$(stat -c %s "$TMP/doc.cbor")
for off in 5 40 700 1500 2600 3600 $((size - 50)); do
    python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[int(sys.argv[2])]^=0x10; open(sys.argv[3],"wb").write(b)' \
        "$TMP/doc.cbor" $off "$TMP/bad.cbor"
    "$AT" verify --at $TS "$TMP/bad.cbor" >/dev/null 2>&1
    [ $? = 1 ] || flunk "byte $off changed: not rejected"
done

# test-ca: a CA openssl(1) agrees with, and a root that is not AWS's.
"$AT" test-ca "$TMP/ca" >/dev/null || flunk "test-ca failed"
for f in root.pem root.key hub-chain.pem hub.key; do [ -s "$TMP/ca/$f" ] || flunk "test-ca: no $f"; done
[ "$(stat -c %a "$TMP/ca/hub.key")" = 600 ] || flunk "hub.key is not 0600"
openssl verify -CAfile "$TMP/ca/root.pem" "$TMP/ca/hub-chain.pem" >/dev/null 2>&1 || flunk "openssl rejects the test chain"
openssl x509 -in "$TMP/ca/hub-chain.pem" -noout -ext authorityKeyIdentifier 2>/dev/null | grep -q keyid \
    && flunk "test leaf has an AKID (genuine leaves have none)"
expect "other root"             1 certificate-chain --root "$TMP/ca/root.pem" --at $TS "$DOC"

# The pinned root, checked with openssl(1) against the fixture's cabundle[0]
# and the published fingerprint.
grep -A14 'attest_aws_root_pem\[\] =' "$ROOT/attest/root.c" | sed -n 's/^ *"\(.*\)\\n"$/\1/p' >"$TMP/root.pem"
fp=$(openssl x509 -in "$TMP/root.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
[ "$fp" = 641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b ] || flunk "pinned root fingerprint $fp"

# Usage errors: exit 2.
for args in "" "--pcr 40=00 $DOC" "--pcr 0=zz $DOC" "--at soon $DOC" "--nonce 0 $DOC" "/nonexistent"; do
    # shellcheck disable=SC2086
    "$AT" verify $args >/dev/null 2>&1
    [ $? = 2 ] || flunk "verify $args: not a usage error"
done
"$AT" frobnicate >/dev/null 2>&1; [ $? = 2 ] || flunk "unknown command: not exit 2"

[ $fails = 0 ] && echo "wgvsock-attest CLI: all checks passed"
[ $fails = 0 ]
