#!/bin/bash
# e2e: published ports (docker run -p/-P) on a wgvsock network.  The plugin
# listens on the host side (here: the test's network namespace, where dockerd
# runs) and forwards into the container.  Checked with real clients: an HTTP
# page from busybox httpd through -p 18080:80 (IPv4 and IPv6), 127.0.0.1:
# and [::1]: host addresses, a UDP echo through -p .../udp, a host port range,
# -P and -p 80 (a port from the ephemeral range), the bindings reported by
# EndpointOperInfo, a second container asking for a port in use (fails
# clearly, the first keeps working), stop/rm freeing the ports at once, and
# a plugin killed with -9 and restarted re-opening the ports of a running
# container (whose tunnel outlived the plugin) from its state.
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/hub.sh"
e2e_need_root
e2e_need_tool curl python3 ss
e2e_need_bin keyderive wgvsockd wgvsock-plugin

e2e_netns
dk_start
dk_busybox
e2e_secrets
hub_start udp 10.78.0.0/24
# The plugin must see the containers' network namespace files, which this
# dockerd keeps in its private mount namespace: the plugin reaches them
# through dockerd's root (on a host, dockerd and the plugin share the host's
# mount namespace and need no such setting).
PSTART=(WGVSOCK_SEED_FILE="$E2E_SEED_FILE" WGVSOCK_SANDBOX_ROOT="/proc/$DK_PID/root")
plugin_start "${PSTART[@]}"
wgnet_create pnet -o wgvsock.transport=udp >/dev/null || die "network create failed: $(tail -5 "$PL_LOG")"

# httpd PORT...: a busybox httpd on each container port, page = "hello PORT"
httpd_cmd() {
    local s='mkdir -p /www' p
    for p; do s="$s; mkdir -p /www$p; echo hello $p >/www$p/index.html; httpd -p $p -h /www$p"; done
    echo "$s; exec sleep 600"
}
# fetch URL: the page through the published port (curl, in the test's netns)
fetch() { in_ns curl -sS -g --max-time 5 "$1"; }
fetch_is() { [ "$(fetch "$1" 2>&1)" = "$2" ]; }
# listening HOSTPORT PROTO: something listens on that port in the netns
listening() { in_ns ss -Hln${2:-t} "sport = :$1" | grep -q .; }
ep_info() { plugin_call NetworkDriver.EndpointOperInfo "{\"NetworkID\":\"$(dk network inspect -f '{{.Id}}' pnet)\",\"EndpointID\":\"$(ct_epid "$1" pnet)\"}"; }
# udp_echo PORT: send a datagram to 127.0.0.1:PORT, print the reply
udp_echo() {
    in_ns python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for i in range(10):
    s.sendto(b"ping-wgvsock", ("127.0.0.1", int(sys.argv[1])))
    try: print(s.recv(100).decode()); break
    except socket.timeout: pass
' "$1"
}
# bind_ok PORT: a new TCP server can bind the port (as servers do, SO_REUSEADDR)
bind_ok() {
    in_ns python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1]))); s.listen(1)' "$1"
}

# --- -p 18080:80 and an HTTP client ------------------------------------------------
dk run -d --name web --network pnet -p 18080:80 -p 127.0.0.1:18081:80 -p '[::1]:18082:80' \
    busybox sh -c "$(httpd_cmd 80)" >/dev/null || die "docker run -p failed: $(tail -20 "$PL_LOG")"
check "container has exactly lo and wg0 ($(ct_links web))" test "$(ct_links web)" = "lo wg0"
check "-p 18080:80: page fetched from the host over IPv4" wait_for 10 fetch_is http://127.0.0.1:18080/ "hello 80"
check "-p 18080:80: page fetched from the host over IPv6" fetch_is 'http://[::1]:18080/' "hello 80"
check "-p 127.0.0.1:18081:80: page fetched" fetch_is http://127.0.0.1:18081/ "hello 80"
check "-p 127.0.0.1:18081:80 listens on 127.0.0.1 only" \
    test "$(in_ns ss -Hltn 'sport = :18081' | awk '{print $4}')" = 127.0.0.1:18081
check "-p [::1]:18082:80: page fetched" fetch_is 'http://[::1]:18082/' "hello 80"
check "-p [::1]:18082:80 is not on 127.0.0.1" bash -c "! ip netns exec $E2E_NS curl -s --max-time 3 http://127.0.0.1:18082/"
grep -m1 'Options {' "$PL_LOG" | sed 's/^/  Docker sent: /' | cut -c1-400
r=$(ep_info web)
check "EndpointOperInfo reports the bindings ($r)" bash -c "echo '$r' | grep -q '\"HostPort\": *18080'"
log "docker port web: $(dk port web 2>&1 | tr '\n' ';')"
log "docker ps ports: $(dk ps --format '{{.Ports}}' -f name=web)"
# Bigger than one pipe: 3 MiB through splice() both ways arrives intact.
head -c 3000000 /dev/urandom >"$E2E_TMP/big"
dk cp "$E2E_TMP/big" web:/www80/big >/dev/null
check "3 MB download intact" bash -c "ip netns exec $E2E_NS curl -s --max-time 20 http://127.0.0.1:18080/big | cmp -s - '$E2E_TMP/big'"
# Many connections one after another, and 20 at once.
check "50 sequential requests" bash -c "for i in \$(seq 50); do ip netns exec $E2E_NS curl -s --max-time 5 http://127.0.0.1:18080/ | grep -q 'hello 80' || exit 1; done"
check "20 parallel requests" bash -c "for i in \$(seq 20); do ip netns exec $E2E_NS curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:18080/ & done | grep -c 200 | grep -qx 20"

# --- the same host port again: a clear error, nothing left, the first goes on --
out=$(dk run -d --name web2 --network pnet -p 18080:80 busybox sleep 600 2>&1)
check "second -p 18080 fails" test "$(dk inspect -f '{{.State.Running}}' web2 2>/dev/null)" != true
check "the error names the port and says it is in use: $out" bash -c "echo '$out' | grep -q '18080' && echo '$out' | grep -qi 'in use'"
dk rm -f web2 >/dev/null 2>&1
check "no endpoint of web2 left ($(plugin_state_files | grep -c endpoints) endpoint files)" \
    test "$(plugin_state_files | grep -c endpoints)" = 1
check "the first container still serves" fetch_is http://127.0.0.1:18080/ "hello 80"

# --- UDP echo ---------------------------------------------------------------------
# busybox-static has no UDP server applet: the echo server is python3 run in
# the container's network namespace, which is all the forwarder sees.
dk run -d --name echo --network pnet -p 15353:5353/udp busybox sleep 600 >/dev/null \
    || fail "docker run -p .../udp: $(tail -5 "$PL_LOG")"
nsenter -t "$(dk inspect -f '{{.State.Pid}}' echo)" -n python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353))
while True:
    d, a = s.recvfrom(2000); s.sendto(d, a)' &
ECHO_PID=$!
e2e_defer "kill_wait $ECHO_PID 2"
r=$(udp_echo 15353)
check "-p 15353:5353/udp echoes (got '$r')" test "$r" = ping-wgvsock
r=$(udp_echo 15353)
check "a second datagram on the same flow echoes (got '$r')" test "$r" = ping-wgvsock

# --- a host port range, -P and -p 80 ------------------------------------------
dk run -d --name range --network pnet -p 18083-18085:83-85 busybox sh -c "$(httpd_cmd 83 84 85)" >/dev/null \
    || fail "docker run -p 18083-18085:83-85: $(tail -5 "$PL_LOG")"
for i in 3 4 5; do check "range: 1808$i serves port 8$i" wait_for 10 fetch_is http://127.0.0.1:1808$i/ "hello 8$i"; done
dk run -d --name pall --network pnet --expose 80 -P busybox sh -c "$(httpd_cmd 80)" >/dev/null || fail "docker run -P"
dk run -d --name p80 --network pnet -p 80 busybox sh -c "$(httpd_cmd 80)" >/dev/null || fail "docker run -p 80"
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
for c in pall p80; do
    hp=$(ep_info $c | python3 -c 'import json,sys; print(json.load(sys.stdin)["Value"]["com.docker.network.portmap"][0]["HostPort"])')
    check "$c: host port $hp is in the ephemeral range $lo-$hi" test "${hp:-0}" -ge "$lo" -a "${hp:-0}" -le "$hi"
    check "$c: the page through host port $hp" wait_for 10 fetch_is "http://127.0.0.1:$hp/" "hello 80"
    log "$c: docker port: $(dk port $c 2>&1 | tr '\n' ';')"
done

# --- stop and rm free the ports at once ----------------------------------------
check "docker stop range" dk stop -t 1 range >/dev/null
for i in 3 4 5; do check "1808$i closed after stop" eval "! listening 1808$i"; done
check "a new server can bind 18083 at once" bind_ok 18083
dk rm -f echo >/dev/null
check "15353/udp closed after rm -f" eval "! listening 15353 u"

# --- the plugin killed and restarted: the running container's port works again -
kill -9 "$PL_PID"; wait "$PL_PID" 2>/dev/null; PL_PID=
check "18080 closed while the plugin is down" bash -c "! ip netns exec $E2E_NS curl -s --max-time 2 http://127.0.0.1:18080/"
plugin_start "${PSTART[@]}"
check "after the restart 18080 listens again" wait_for 10 listening 18080
check "after the restart 127.0.0.1:18081 listens again" listening 18081
check "after the restart 18080 serves again" wait_for 10 fetch_is http://127.0.0.1:18080/ "hello 80"
check "after the restart [::1]:18082 serves again" fetch_is 'http://[::1]:18082/' "hello 80"
check "docker stop web after the restart" dk stop -t 1 web >/dev/null
check "18080 closed after stop" eval "! listening 18080"

dk rm -f web pall p80 range >/dev/null 2>&1
check "network rm" dk network rm pnet >/dev/null
check "no state left ($(plugin_state_files | tr '\n' ' '))" test -z "$(plugin_state_files)"
left=$(in_ns ss -Hltnu | grep -c wgvsock-plugin || true)
check "the plugin listens on no port any more" test -z "$(in_ns ss -Hltunp | grep wgvsock-plugin)"
check "plugin alive" proc_alive "$PL_PID"
plugin_stop now
check "no sanitizer report in the plugin log (make asan)" bash -c "! grep -q -e 'Sanitizer' -e 'runtime error' '$PL_LOG'"
[ "$E2E_FAILS" = 0 ] || { echo "--- plugin log (tail)"; tail -n 60 "$PL_LOG"; }
e2e_finish
