# guest_kernel_wg.sh - runs INSIDE the QEMU guest (busybox sh), from
# test_kernel_wg.sh, with wireguard.ko loaded.  wg_netlink_tool is the
# plugin's link.c + wg_genl.c; wg(8) and ip(8) are the independent judges.
# shellcheck shell=sh
set -u
log() { echo "kernel-wg: $*"; }
T=wg_netlink_tool

NSA=$(guest_netns)
inA() { nsenter -t "$NSA" -n "$@"; }

umask 077
for k in dev a b hub psk; do wg genkey > /tmp/$k.key; wg pubkey < /tmp/$k.key > /tmp/$k.pub; done
PUB_A=$(cat /tmp/a.pub) PUB_B=$(cat /tmp/b.pub) PUB_HUB=$(cat /tmp/hub.pub)

log "=== netlink layer: create, configure, read back, move, delete"
check "genetlink family resolves" $T probe
check "create wgk0 (MTU 1380)" $T create wgk0 1380
check "ip sees wgk0 with MTU 1380" sh -c "ip link show wgk0 | grep -q 'mtu 1380'"
check "its kind is wireguard" sh -c "[ \"\$($T kind wgk0)\" = wireguard ]"
check "creating it again fails (EEXIST)" sh -c "! $T create wgk0 1380 2>/tmp/err && grep -q 'File exists' /tmp/err"
check "an empty name is refused" sh -c "! $T create '' 1380 2>/dev/null"
check "set every attribute" $T set wgk0 private-key /tmp/dev.key listen-port 51821 fwmark 0x2a \
    peer "$PUB_A" preshared-key /tmp/psk.key endpoint 192.0.2.1:51820 persistent-keepalive 25 \
        allowed-ips 10.0.0.0/8,fd00::/64 \
    peer "$PUB_B" endpoint '[2001:db8::1]:4500' allowed-ips 192.168.5.0/24
wg showconf wgk0 | grep -v Key > /tmp/showconf.txt
cat /tmp/showconf.txt
# each attribute as wg(8) reads it back from the kernel
has() { wg showconf wgk0 | grep -qxF "$1"; }
check "wg: private key" has "PrivateKey = $(cat /tmp/dev.key)"
check "wg: listen port" has "ListenPort = 51821"
check "wg: fwmark" has "FwMark = 0x2a"
check "wg: peer A" has "PublicKey = $PUB_A"
check "wg: peer A preshared key" has "PresharedKey = $(cat /tmp/psk.key)"
check "wg: peer A endpoint" has "Endpoint = 192.0.2.1:51820"
check "wg: peer A keepalive" has "PersistentKeepalive = 25"
check "wg: peer A allowed-ips" has "AllowedIPs = 10.0.0.0/8, fd00::/64"
check "wg: peer B" has "PublicKey = $PUB_B"
check "wg: peer B IPv6 endpoint" has "Endpoint = [2001:db8::1]:4500"
check "wg: peer B allowed-ips" has "AllowedIPs = 192.168.5.0/24"
check "wg: the device's public key" sh -c "[ \"\$(wg show wgk0 public-key)\" = \"\$(cat /tmp/dev.pub)\" ]"
# and the other way: what wg(8) sets, our GET reads exactly as wg(8) does
wg set wgk0 peer "$PUB_B" allowed-ips 192.168.5.0/24,172.16.0.0/12 persistent-keepalive 7
check "GET == wg showconf (after a wg set)" sh -c "$T showconf wgk0 > /tmp/ours && wg showconf wgk0 > /tmp/theirs && diff /tmp/ours /tmp/theirs"
check "remove peer A" $T set wgk0 peer "$PUB_A" remove
check "...wg lists only peer B" sh -c "[ \"\$(wg show wgk0 peers)\" = \"$PUB_B\" ]"
check "replace-peers with peer A" $T set wgk0 replace-peers peer "$PUB_A" allowed-ips 10.1.0.0/16
check "...wg lists only peer A" sh -c "[ \"\$(wg show wgk0 peers)\" = \"$PUB_A\" ]"
check "replace-allowed-ips" $T set wgk0 peer "$PUB_A" replace-allowed-ips allowed-ips 10.2.0.0/16
check "...wg shows only the new allowed-ips" sh -c "[ \"\$(wg show wgk0 allowed-ips | cut -f2)\" = 10.2.0.0/16 ]"
check "an unknown interface is an error" sh -c "! $T set nosuch0 listen-port 1 2>/dev/null"
check "move into a namespace as wg0" $T move wgk0 "$NSA" wg0
check "...gone from here" sh -c "! ip link show wgk0 2>/dev/null"
check "...there as wg0, still configured" sh -c "nsenter -t $NSA -n wg show wg0 listen-port | grep -qx 51821"
check "delete it there" inA $T delete wg0
check "...gone" sh -c "! nsenter -t $NSA -n ip link show wg0 2>/dev/null"
delete_again() { ! inA $T delete wg0 2>/tmp/err && grep -q 'No such device' /tmp/err; }
check "deleting again: no such device" delete_again

log "=== a kernel device set up by the plugin's netlink code <-> wgvsockd -n udp"
# The hub (wgvsockd: UDP socket and TUN wgh here) and the kernel device's
# UDP socket both live in this namespace; the kernel device itself is moved
# into NSA as wg0, like a container's.  Every ping and byte from NSA
# therefore crossed the kernel device and wgvsockd.
wgvsockd -f -n udp wgh > /tmp/wgh.log 2>&1 &
HUB=$!
i=0; while [ $i -lt 100 ] && [ ! -S /var/run/wireguard/wgh.sock ]; do sleep 0.1; i=$((i + 1)); done
hub_up() {
    wg set wgh private-key /tmp/hub.key listen-port 51820 peer "$(cat /tmp/dev.pub)" allowed-ips 10.9.0.1/32 &&
        ip addr add 10.9.0.2/24 dev wgh && ip link set wgh up
}
dev_up() {
    $T create wgk1 1420 &&
        $T set wgk1 private-key /tmp/dev.key peer "$PUB_HUB" endpoint 127.0.0.1:51820 \
            persistent-keepalive 25 allowed-ips 0.0.0.0/0 &&
        $T move wgk1 "$NSA" wg0 &&
        inA ip addr add 10.9.0.1/24 dev wg0 && inA ip link set wg0 up
}
check "hub wgvsockd -n udp up" hub_up
check "kernel device created, configured, moved" dev_up
ping_until() {  # ADDR SECONDS, from NSA
    end=$(( $(cut -d. -f1 /proc/uptime) + $2 ))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
        inA ping -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0
    done
    return 1
}
check "handshake + ping kernel -> wgvsockd" ping_until 10.9.0.2 20
check "kernel side has a handshake" sh -c "nsenter -t $NSA -n wg show wg0 latest-handshakes | awk '{exit !(\$2 > 0)}'"
check "hub side has a handshake" sh -c "wg show wgh latest-handshakes | awk '{exit !(\$2 > 0)}'"
check "ping wgvsockd -> kernel" ping -c 3 -W 2 10.9.0.1
bulk() { guest_bulk "$1" 10.9.0.2 inA ""; }   # NSA (kernel) -> here (wgvsockd)
check "bulk 4 MiB kernel -> wgvsockd, md5 matches" bulk 4
check "delete the kernel device" inA $T delete wg0
kill $HUB; wait $HUB 2>/dev/null
if [ $fails -gt 0 ]; then echo "--- /tmp/wgh.log"; tail -20 /tmp/wgh.log; fi

kill $NSA 2>/dev/null
echo "kernel-wg: $checks checks, $fails failed"
[ $fails = 0 ]
