#!/bin/bash
# Large configurations through Debian's wg(8): `wg setconf` of 48 peers and
# ~21,000 allowed-ips (random IPv4/IPv6 prefixes of every length, /0s,
# preshared keys, IPv4/IPv6 endpoints, keepalives) must come back identical
# from `wg showconf`; then `wg syncconf` with peers removed, added and changed,
# then a small `wg setconf` that replaces every peer.  Each operation must
# finish in reasonable time.  (tests/control covers setconf basics; this is
# the scale test.)
#
#   IMPL=wggo bash tests/netns/test_large_config.sh   # validate against wireguard-go
. "$(dirname "$0")/../lib/netns.sh"
IMPL=${IMPL:-wgvsockd}
nsl_require "$IMPL" python3
nsl_init lc
nsl_ns a NS
IF=${NSL_IFP}a
nsl_start "$NS" "$IF" "$IMPL" || { flunk "starting $IMPL"; nsl_finish; }
MAXSEC=${LARGE_CONFIG_MAX_SECONDS:-20}

# gen.py MODE SEED OUT [BASE]: writes a wg config.  "big": 48 peers, ~21k
# allowed-ips.  "sync": BASE with 8 peers removed, 4 added, allowed-ips and
# endpoint changed on others.  "small": 2 peers.
cat >"$NSL_TMP/gen.py" <<'EOF'
import base64, ipaddress, os, random, sys
mode, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(seed)
key = lambda: base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(32))).decode()
used = set()
def prefix(v6):
    while True:
        if v6:
            c = rnd.choice([128] * 4 + list(range(16, 129)))
            n = ipaddress.ip_network((rnd.getrandbits(128) | (0xfd << 120), c), strict=False)
        else:
            c = rnd.choice([32] * 4 + list(range(8, 33)))
            n = ipaddress.ip_network((rnd.getrandbits(32), c), strict=False)
        if str(n) not in used:
            used.add(str(n)); return str(n)
def peer(i, n_ips):
    p = {"PublicKey": key(), "AllowedIPs": [prefix(rnd.random() < 0.4) for _ in range(n_ips)]}
    if i % 3 == 0: p["PresharedKey"] = key()
    if i % 4 == 1: p["Endpoint"] = "192.0.2.%d:%d" % (i + 1, 10000 + i)
    if i % 4 == 2: p["Endpoint"] = "[2001:db8::%x]:%d" % (i + 1, 20000 + i)
    if i % 5 == 0: p["PersistentKeepalive"] = str(15 + i)
    return p
def load(path):
    peers, cur, iface = [], None, {}
    for line in open(path):
        line = line.strip()
        if line == "[Peer]": cur = {"AllowedIPs": []}; peers.append(cur); continue
        if "=" not in line: continue
        k, v = [x.strip() for x in line.split("=", 1)]
        if cur is None: iface[k] = v
        elif k == "AllowedIPs": cur[k] += [x.strip() for x in v.split(",") if x.strip()]
        else: cur[k] = v
    return iface, peers
def privkey():   # clamped, as devices report it
    b = bytearray(rnd.getrandbits(8) for _ in range(32)); b[0] &= 248; b[31] = (b[31] & 127) | 64
    return base64.b64encode(bytes(b)).decode()
iface = {"PrivateKey": privkey(), "ListenPort": str(40000 + seed % 1000)}
if mode == "big":
    peers = [peer(i, 440) for i in range(48)]
    peers[5]["AllowedIPs"].append("0.0.0.0/0"); peers[6]["AllowedIPs"].append("::/0")
elif mode == "sync":
    iface, peers = load(sys.argv[4])
    for p in peers:
        used.update(p["AllowedIPs"])
    del peers[10:18]
    for p in peers[20:24]:
        p["AllowedIPs"] = p["AllowedIPs"][::2] + [prefix(False) for _ in range(50)]
        p["Endpoint"] = "192.0.2.200:%d" % rnd.randrange(1024, 65535)
    peers[30].pop("PresharedKey", None); peers[31]["PresharedKey"] = key()
    peers[32]["PersistentKeepalive"] = "25"
    peers += [peer(100 + i, 300) for i in range(4)]
else:
    peers = [peer(i, 3) for i in range(2)]
with open(out, "w") as f:
    f.write("[Interface]\nPrivateKey = %s\nListenPort = %s\n" % (iface["PrivateKey"], iface["ListenPort"]))
    for p in peers:
        f.write("\n[Peer]\nPublicKey = %s\n" % p["PublicKey"])
        for k in ("PresharedKey", "Endpoint", "PersistentKeepalive"):
            if k in p: f.write("%s = %s\n" % (k, p[k]))
        ips = p["AllowedIPs"]
        for j in range(0, len(ips), 100):
            f.write("AllowedIPs = %s\n" % ", ".join(ips[j:j + 100]))
print("%s: %d peers, %d allowed-ips" % (mode, len(peers), sum(len(p["AllowedIPs"]) for p in peers)))
EOF

# same.py WANT HAVE: the two configs describe the same device (peer order and
# allowed-ips order free; wg showconf omits PersistentKeepalive = 0).
cat >"$NSL_TMP/same.py" <<'EOF'
import sys
def load(path):
    peers, cur, iface = {}, None, {}
    for line in open(path):
        line = line.strip()
        if line == "[Peer]": cur = {"AllowedIPs": set()}; continue
        if "=" not in line: continue
        k, v = [x.strip() for x in line.split("=", 1)]
        if cur is None: iface[k] = v; continue
        if k == "PublicKey": peers[v] = cur
        elif k == "AllowedIPs": cur[k] |= {x.strip() for x in v.split(",") if x.strip()}
        else: cur[k] = v
    return iface, peers
wi, wp = load(sys.argv[1]); hi, hp = load(sys.argv[2])
bad = []
for k in ("PrivateKey", "ListenPort"):
    if wi.get(k) != hi.get(k): bad.append("interface %s differs" % k)
if set(wp) != set(hp):
    bad.append("peer sets differ: %d missing, %d extra" % (len(set(wp) - set(hp)), len(set(hp) - set(wp))))
for k in set(wp) & set(hp):
    w, h = wp[k], hp[k]
    for f in ("PresharedKey", "Endpoint", "PersistentKeepalive"):
        if w.get(f) != h.get(f): bad.append("peer %s: %s want %s have %s" % (k[:8], f, w.get(f), h.get(f)))
    if w["AllowedIPs"] != h["AllowedIPs"]:
        bad.append("peer %s: allowed-ips: %d missing (e.g. %s), %d extra (e.g. %s)" % (
            k[:8], len(w["AllowedIPs"] - h["AllowedIPs"]), sorted(w["AllowedIPs"] - h["AllowedIPs"])[:3],
            len(h["AllowedIPs"] - w["AllowedIPs"]), sorted(h["AllowedIPs"] - w["AllowedIPs"])[:3]))
for b in bad[:10]: print("  " + b)
n = sum(len(p["AllowedIPs"]) for p in hp.values())
print("  showconf: %d peers, %d allowed-ips%s" % (len(hp), n, "" if not bad else ", %d differences" % len(bad)))
sys.exit(1 if bad else 0)
EOF

# timed NAME CMD...: runs CMD, fails NAME if it fails or takes over MAXSEC.
timed() {
    local name=$1 t0 rc ms; shift
    t0=${EPOCHREALTIME/./}; "$@"; rc=$?; ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
    check "$name (exit $rc, ${ms} ms, limit ${MAXSEC} s)" [ $rc = 0 -a $ms -lt $((MAXSEC * 1000)) ]
}

python3 "$NSL_TMP/gen.py" big 1 "$NSL_TMP/big.conf"
timed "wg setconf: 48 peers, ~21k allowed-ips" W "$NS" setconf "$IF" "$NSL_TMP/big.conf"
timed "wg showconf after setconf" bash -c "ip netns exec $NS wg showconf $IF >$NSL_TMP/have1.conf"
check "showconf round-trips the big setconf" python3 "$NSL_TMP/same.py" "$NSL_TMP/big.conf" "$NSL_TMP/have1.conf"
check "wg show allowed-ips lists every prefix" \
    [ "$(W "$NS" show "$IF" allowed-ips | awk '{ n += NF - 1 } END { print n }')" = "$(grep '^AllowedIPs' "$NSL_TMP/big.conf" | tr ',' '\n' | grep -c /)" ]

# The showconf output itself fed back (what an operator's backup does).
timed "wg setconf of the device's own showconf" W "$NS" setconf "$IF" "$NSL_TMP/have1.conf"
W "$NS" showconf "$IF" >"$NSL_TMP/have2.conf"
check "...is a fixed point" python3 "$NSL_TMP/same.py" "$NSL_TMP/big.conf" "$NSL_TMP/have2.conf"

python3 "$NSL_TMP/gen.py" sync 2 "$NSL_TMP/sync.conf" "$NSL_TMP/big.conf"
timed "wg syncconf: 8 peers removed, 4 added, 4 changed" W "$NS" syncconf "$IF" "$NSL_TMP/sync.conf"
W "$NS" showconf "$IF" >"$NSL_TMP/have3.conf"
check "showconf matches the synced config" python3 "$NSL_TMP/same.py" "$NSL_TMP/sync.conf" "$NSL_TMP/have3.conf"

python3 "$NSL_TMP/gen.py" small 3 "$NSL_TMP/small.conf"
timed "wg setconf of a 2-peer config replaces all peers" W "$NS" setconf "$IF" "$NSL_TMP/small.conf"
W "$NS" showconf "$IF" >"$NSL_TMP/have4.conf"
check "showconf matches the small config" python3 "$NSL_TMP/same.py" "$NSL_TMP/small.conf" "$NSL_TMP/have4.conf"
check "$IMPL still running" nsl_alive "$IF"
nsl_finish
