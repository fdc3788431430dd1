#!/bin/bash
# Byte compatibility with the deployed Python driver: keyderive and an
# independent Python reimplementation (tests/cli/kd_reference.py, built on
# hashlib.sha3_256 and argparse like the original) must print the same private
# key for hundreds of random seeds, additionals and addresses given the very
# same argument list; and `keyderive peers` must list exactly the public keys
# of those private keys (computed by Debian's `wg pubkey`).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
command -v wg >/dev/null || { echo "wg (wireguard-tools) not installed"; exit 77; }
REF=$ROOT/tests/cli/kd_reference.py

# The published vector, as a sanity check of the reference itself.
expect_eq "reference vector" "$(python3 "$REF" --add "$ADD" "$SEED" $VEC_ADDR | wg pubkey)" "$VEC_PUB"
expect_eq "reference default add" "$(python3 "$REF" "$SEED" $VEC_ADDR)" "$("$KD" "$SEED" $VEC_ADDR)"

checks=$((checks + 1))
python3 - "$REF" "$KD" "${KD_PY_CASES:-400}" <<'PY' || flunk "random cross-check against the Python reference"
import base64, importlib.util, ipaddress, json, os, random, subprocess, sys
spec = importlib.util.spec_from_file_location("ref", sys.argv[1])
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
kd, n = sys.argv[2], int(sys.argv[3])
rnd = random.SystemRandom()

def b64(n):
    return base64.b64encode(os.urandom(n)).decode()

bad = 0
for i in range(n):
    # A third use the default additional, some an empty one, a quarter are
    # IPv6, some carry a /prefix; options sometimes after the positionals.
    args, r = [], rnd.random()
    if r < 0.6:
        args = ["--add", b64(rnd.randint(1, 40))]
    elif r < 0.7:
        args = ["--add", ""]
    if rnd.random() < 0.25:
        addr = str(ipaddress.IPv6Address(os.urandom(16)))
        if rnd.random() < 0.3:
            addr += "/%d" % rnd.randint(0, 128)
    else:
        addr = str(ipaddress.IPv4Address(os.urandom(4)))
        if rnd.random() < 0.3:
            addr += "/%d" % rnd.randint(0, 32)
    pos = [b64(rnd.randint(1, 64)), addr]
    argv = args + pos if rnd.random() < 0.7 else pos + args
    want = ref.main(argv)
    got = subprocess.run([kd] + argv, capture_output=True, text=True)
    if got.returncode != 0 or got.stdout != want + "\n":
        bad += 1
        print("MISMATCH", argv, repr(got.stdout), want, got.stderr.strip())
print(n, "random cases,", bad, "mismatches")

# peers: every listed public key is wg pubkey of the reference private key.
for subnet, count in (("10.77.0.0/27", 30), ("fd00:77::/123", 31)):
    seed, add = b64(32), b64(16)
    out = subprocess.run([kd, "peers", "--add", add, "--subnet", subnet, "--format", "json", seed],
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    if len(doc) != count:
        bad += 1
        print("peers", subnet, "listed", len(doc), "want", count)
    for e in doc:
        priv = base64.b64encode(ref.derive_private(base64.b64decode(seed), base64.b64decode(add),
                                                   e["address"])).decode()
        pub = subprocess.run(["wg", "pubkey"], input=priv + "\n", capture_output=True,
                             text=True, check=True).stdout.strip()
        if pub != e["public_key"]:
            bad += 1
            print("peers", subnet, e["address"], "mismatch")
    print("peers", subnet, "checked", len(doc))
sys.exit(1 if bad else 0)
PY
finish
