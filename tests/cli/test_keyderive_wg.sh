#!/bin/bash
# `keyderive peers` output fed to a real WireGuard device through wg(8):
# the wg format must be accepted by `wg addconf` / `wg setconf`, the uapi
# format by the userspace control socket, and the device must end up with
# exactly the derived peers and allowed IPs.  Also runs the two operator
# workflows of docs/KEYDERIVE.md ("add 10 more containers", "rotate the
# additional after a leak").
#
# The device is wireguard-go (userspace, in deps) or, failing that, the
# kernel module; it lives in a private network namespace and has no peer
# endpoints, so no packet leaves it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; exit 77; }
command -v wg >/dev/null || { echo "wg (wireguard-tools) not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }

NS=wgt-kd-$$
IF=wgkd$$                  # <= 15 chars
SOCK=/var/run/wireguard/$IF.sock
wgpid=
. "$(dirname "$0")/../lib/proc.sh"
cleanup() {
    [ -n "$wgpid" ] && proc_kill -TERM "$wgpid" && wait "$wgpid" 2>/dev/null   # only while still our child
    ip netns del "$NS" 2>/dev/null
    rm -f "$SOCK"
    rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS" || { echo "cannot create network namespace"; exit 1; }

mode=
if command -v wireguard-go >/dev/null && [ -c /dev/net/tun ]; then
    ip netns exec "$NS" wireguard-go -f "$IF" >"$TMP/wireguard-go.log" 2>&1 &
    wgpid=$!
    for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
    [ -S "$SOCK" ] && mode=userspace
fi
if [ -z "$mode" ] && ip -n "$NS" link add "$IF" type wireguard 2>/dev/null; then
    mode=kernel
fi
[ -n "$mode" ] || { echo "no WireGuard device available (neither wireguard-go+/dev/net/tun nor the kernel module)"; exit 77; }
echo "device: $mode"
W() { ip netns exec "$NS" wg "$@"; }

printf '%s\n' "$SEED" >"$TMP/seed"; chmod 600 "$TMP/seed"
printf '%s\n' "$ADD" >"$TMP/add"
KDS=("$KD" --seed-file "$TMP/seed" --add-file "$TMP/add")

# The hub's own key is the gateway address's derived key, as in the plugin.
"${KDS[@]}" 10.0.42.1 >"$TMP/hubkey"
ok "set hub key" W set "$IF" private-key "$TMP/hubkey"

# expect_peers NAME FILE: `wg show IF allowed-ips` equals FILE (sorted).
expect_peers() {
    checks=$((checks + 1))
    W show "$IF" allowed-ips | sort >"$TMP/have"
    sort "$2" >"$TMP/want.sorted"
    cmp -s "$TMP/have" "$TMP/want.sorted" ||
        flunk "$1: device peers differ: $(diff "$TMP/want.sorted" "$TMP/have" | head -5)"
}
# want_list FIRST LAST KEYDERIVE-COMMAND...: "<pubkey>\t<addr>/32" lines.
want_list() {
    local first=$1 last=$2 i
    shift 2
    for i in $(seq "$first" "$last"); do
        printf '%s\t10.0.42.%s/32\n' "$("$@" pubkey 10.0.42.$i)" "$i"
    done
}

## wg addconf with 10 containers, then "add 10 more containers".
"${KDS[@]}" peers --subnet 10.0.42.0/24 --skip-gateway --range 2-11 >"$TMP/first10.conf"
ok "wg addconf (first 10)" W addconf "$IF" "$TMP/first10.conf"
want_list 2 11 "${KDS[@]}" >"$TMP/want"
expect_peers "after first addconf" "$TMP/want"
# Exactly as in docs/KEYDERIVE.md: piped into wg addconf /dev/stdin.
checks=$((checks + 1))
"${KDS[@]}" peers --subnet 10.0.42.0/24 --skip-gateway --range 12-21 | W addconf "$IF" /dev/stdin ||
    flunk "keyderive peers | wg addconf /dev/stdin failed"
want_list 2 21 "${KDS[@]}" >"$TMP/want"
expect_peers "after adding 10 more" "$TMP/want"
"${KDS[@]}" peers --subnet 10.0.42.0/24 --skip-gateway --range 12-21 >"$TMP/next10.conf"
# Re-adding the same peers is harmless (addconf merges).
ok "wg addconf again" W addconf "$IF" "$TMP/next10.conf"
expect_peers "idempotent addconf" "$TMP/want"

## IPv6 peers.
"${KDS[@]}" peers --subnet fd00:42::/124 --skip-gateway --range 2-3 >"$TMP/v6.conf"
ok "wg addconf (IPv6)" W addconf "$IF" "$TMP/v6.conf"
for i in 2 3; do
    printf '%s\tfd00:42::%s/128\n' "$("${KDS[@]}" pubkey fd00:42::$i)" $i >>"$TMP/want"
done
expect_peers "IPv6 peers" "$TMP/want"

## A full config through wg setconf (replaces every peer).
{
    printf '[Interface]\nPrivateKey = %s\n\n' "$(cat "$TMP/hubkey")"
    "${KDS[@]}" peers --subnet 10.0.42.0/24 --skip-gateway --range 2-5
} >"$TMP/full.conf"
ok "wg setconf" W setconf "$IF" "$TMP/full.conf"
want_list 2 5 "${KDS[@]}" >"$TMP/want"
expect_peers "after setconf" "$TMP/want"

## "rotate the additional after a leak", as in docs/KEYDERIVE.md: the hub
## keeps its own key; every container key changes; wg syncconf swaps the
## peer set in place.
"${KDS[@]}" peers --subnet 10.0.42.0/24 --skip-gateway --range 2-21 | W addconf "$IF" /dev/stdin
head -c 32 /dev/urandom | base64 >"$TMP/add2"
KDS2=("$KD" --seed-file "$TMP/seed" --add-file "$TMP/add2")
{
    printf '[Interface]\nPrivateKey = %s\n\n' "$(cat "$TMP/hubkey")"
    "${KDS2[@]}" peers --subnet 10.0.42.0/24 --skip-gateway --range 2-21
} >"$TMP/rotated.conf"
ok "wg syncconf (rotated)" W syncconf "$IF" "$TMP/rotated.conf"
want_list 2 21 "${KDS2[@]}" >"$TMP/want"
expect_peers "after rotation" "$TMP/want"
expect_eq "hub key unchanged" "$(W show "$IF" public-key)" "$(wg pubkey <"$TMP/hubkey")"
# No key of the old additional survives.
checks=$((checks + 1))
grep -qF "$("${KDS[@]}" pubkey 10.0.42.2)" "$TMP/have" && flunk "old key still configured after rotation"

## uapi format straight into the userspace control socket.
if [ "$mode" = userspace ]; then
    "${KDS[@]}" peers --subnet 10.0.42.0/24 --skip-gateway --range 30-34 --format uapi >"$TMP/uapi"
    checks=$((checks + 1))
    ans=$(python3 - "$SOCK" "$TMP/uapi" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], "rb").read())
buf = b""
while not buf.endswith(b"\n\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PY
)
    [ "$ans" = "errno=0" ] || flunk "uapi set answered '$ans'"
    want_list 30 34 "${KDS[@]}" >>"$TMP/want"
    expect_peers "after uapi set" "$TMP/want"
    # replace_allowed_ips=true: sending it again does not duplicate anything.
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(open(sys.argv[2],"rb").read()); s.recv(100)' "$SOCK" "$TMP/uapi"
    expect_peers "uapi set twice" "$TMP/want"
fi
finish
