# A private dockerd for one test (sourced; needs tests/lib/e2e.sh first).
#
#   dk_start             containerd + dockerd of our own inside $E2E_NS
#   dk_restart           dockerd stopped and started again (live-restore: see DK_DAEMON_JSON)
#   dk ARGS...           the docker CLI talking to it
#   dk_busybox           import the image "busybox" from Debian's busybox-static
#   dk_plugin_dir        where a plugin socket must go for dockerd to find it
#   dk_engine_name       "docker 20.10" or "docker 26" (for messages)
#
# Which engine (set before dk_start; tests/run.sh sets it per run):
#   DK_ENGINE=20.10      the host's dockerd (Debian 12's docker.io), default
#   DK_ENGINE=26         Debian 13's docker.io 26.1 from a cached trixie root,
#                        with its own CLI (tests/lib/docker26.sh)
# A test that should run against both engines says so in one line of its
# own, which tests/run.sh reads:   # engines: 20.10 26
# DK_BRIDGE=1 gives the daemon a docker0 (--bip $DK_BIP, default
# 172.29.0.1/24) with iptables and masquerading, all inside $E2E_NS, for
# scenarios with Docker's own bridge network; by default it has none.
#
# Isolation from any other dockerd on the machine (CI images often run one):
#   - own --data-root, --exec-root, --pidfile, API socket (-H), --config-file;
#   - own containerd (own root, state and socket), so the system containerd's
#     "moby" namespace is never touched (Docker 26: trixie's containerd);
#   - dockerd and containerd run in a private mount namespace where
#     /run/docker/plugins (plugin discovery) is a directory of this test and
#     /run/containerd (shim sockets) a tmpfs: a plugin socket of this test is
#     seen by this dockerd only, and nothing leaks into the host's /run;
#   - inside the test's network namespace, with --bridge=none and
#     --iptables=false: no docker0, no NAT rules, no host interfaces.
# Everything is stopped and removed by the e2e_defer stack.

[ -n "${_DK_SH:-}" ] && return 0
_DK_SH=1
DK_ENGINE=${DK_ENGINE:-20.10}
. "$(dirname "${BASH_SOURCE[0]}")/docker26.sh"

dk_engine_name() { echo "docker $DK_ENGINE"; }

dk_find_cli() {
    local c
    for c in /usr/bin/docker /usr/local/bin/docker "$(command -v docker 2>/dev/null)"; do
        [ -n "$c" ] && [ -x "$c" ] && { DK_CLI=$c; return 0; }
    done
    return 1
}

dk() { DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DK/cli "$DK_CLI" "$@"; }

dk_plugin_dir() { echo "$DK/plugins"; }

# dk_daemon_flags: dockerd's options, the same for both engines.
dk_daemon_flags() {
    local net="--bridge=none --iptables=false --ip-masq=false"
    [ "${DK_BRIDGE:-0}" = 1 ] && net="--bip ${DK_BIP:-172.29.0.1/24} --iptables=true --ip-masq=true"
    printf '%s ' --data-root "$DK/data" --exec-root "$DK/x" --pidfile "$DK/docker.pid" \
        -H "unix://$DK/api.sock" --config-file "$DK/daemon.json" $net --userland-proxy=false \
        --storage-driver="${DK_STORAGE:-overlay2}" --exec-opt native.cgroupdriver=cgroupfs \
        --log-level="${DK_LOG_LEVEL:-info}"
}

dk_start() {
    case $DK_ENGINE in 20.10|26) ;; *) die "DK_ENGINE=$DK_ENGINE: 20.10 or 26" ;; esac
    e2e_need_tool unshare nsenter
    [ -n "${E2E_NS:-}" ] || e2e_netns
    # Short: managed plugins put sockets at EXEC_ROOT/plugins/<64 hex>/x.sock
    # and a unix socket path has at most 107 bytes.
    DK=$(mktemp -d /tmp/dk.XXXXXX)
    chmod 711 "$DK"
    mkdir -p "$DK/data" "$DK/x" "$DK/plugins" "$DK/cli"
    DOCKER_HOST=unix://$DK/api.sock
    export DOCKER_HOST
    # DK_DAEMON_JSON: dockerd's daemon.json (e.g. '{"live-restore": true}').
    if [ -n "${DK_DAEMON_JSON:-}" ]; then printf '%s\n' "$DK_DAEMON_JSON"; else echo '{}'; fi >"$DK/daemon.json"
    DK_HOST_LINKS=$(dk_links | grep -E '^(docker|br-|veth)')
    if [ "$DK_ENGINE" = 26 ]; then dk26_prepare; else dk20_prepare; fi
    log "starting $(dk_engine_name) in netns $E2E_NS, root $DK"
    nsenter --net="/run/netns/$E2E_NS" unshare -m --propagation private "$DK/start.sh" >"$DK/dockerd.log" 2>&1 &
    DK_PID=$!
    e2e_defer "dk_stop"
    if ! wait_for 60 dk_alive_version || ! proc_alive "$DK_PID"; then
        tail -n 30 "$DK/dockerd.log" "$DK/containerd.log" 2>/dev/null
        die "dockerd did not come up"
    fi
    DK_VERSION=$(dk version --format '{{.Server.Version}}')
    case $DK_VERSION in "$DK_ENGINE".*) ;; *) die "DK_ENGINE=$DK_ENGINE but dockerd is $DK_VERSION" ;; esac
    log "dockerd up ($DK_VERSION, CLI $(dk version --format '{{.Client.Version}}'))"
}

# dk_containerd_conf: $DK/containerd.toml, a containerd of this test's own
# (both engines: as Debian runs it, a service beside dockerd, which keeps
# containers running while dockerd restarts with live-restore).
dk_containerd_conf() {
    mkdir -p "$DK/ctd-root" "$DK/ctd-state"
    cat >"$DK/containerd.toml" <<EOF
version = 2
root = "$DK/ctd-root"
state = "$DK/ctd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$DK/ctd.sock"
[ttrpc]
  address = "$DK/ctd.sock.ttrpc"
[debug]
  address = "$DK/ctd-debug.sock"
EOF
}
# dk_containerd_start: the start.sh lines that start it and wait for its socket.
dk_containerd_start() {
    cat <<EOF
containerd --config "$DK/containerd.toml" >"$DK/containerd.log" 2>&1 &
echo \$! >"$DK/containerd.pid"
i=0; while [ ! -S "$DK/ctd.sock" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done
EOF
}

# dk20_prepare: the host's dockerd 20.10 with a containerd of its own.
dk20_prepare() {
    e2e_need_tool dockerd containerd runc
    dk_find_cli || skip "docker CLI not installed (make deps installs docker.io)"
    dk_containerd_conf
    # Mount points for the private mount namespace must exist on the host.
    mkdir -p /run/docker/plugins /run/containerd
    cat >"$DK/start.sh" <<EOF
#!/bin/sh
set -e
mount --make-rprivate /
# A sysfs of this network namespace (libnetwork reads /sys/class/net), with
# the cgroup hierarchies moved over from the old one.
mkdir -p "$DK/cg"
mount --rbind /sys/fs/cgroup "$DK/cg"
mount -t sysfs sysfs /sys
mount --move "$DK/cg" /sys/fs/cgroup
mount --bind "$DK/plugins" /run/docker/plugins
mount -t tmpfs -o mode=711 tmpfs /run/containerd
$(dk_containerd_start)
exec dockerd $(dk_daemon_flags) --containerd "$DK/ctd.sock"
EOF
    chmod +x "$DK/start.sh"
}

# dk_restart: stop dockerd (SIGTERM; with "live-restore": true in
# DK_DAEMON_JSON the containers keep running) and start it again with the same
# flags, in the same mount namespace, on the same containerd.
dk_restart() {
    local ctd
    ctd=$(proc_id "$(cat "$DK/containerd.pid")")   # not our child: pinned by its start time
    kill_wait "$DK_PID" 20
    [ -n "$ctd" ] && proc_alive "$ctd" || die "dk_restart: containerd is gone"
    # (26: entering the mount namespace also enters its trixie root.)
    nsenter --mount="/proc/${ctd%%:*}/ns/mnt" --net="/run/netns/$E2E_NS" \
        env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        dockerd $(dk_daemon_flags) --containerd "$DK/ctd.sock" >>"$DK/dockerd.log" 2>&1 &
    DK_PID=$!
    wait_for 60 dk_alive_version >/dev/null && proc_alive "$DK_PID" || die "dockerd did not come back"
    log "dockerd restarted (pid $DK_PID)"
}

dk_alive_version() {
    proc_alive "$DK_PID" || { echo "dockerd exited"; return 0; }
    dk version
}

# dk_rm_all: remove every container (at cleanup; while the plugin still runs,
# or each one would wait ~30 s for it).
dk_rm_all() {
    [ -n "${DK_PID:-}" ] && proc_alive "$DK_PID" || return 0
    dk ps -aq 2>/dev/null | xargs -r timeout 120 "$DK_CLI" -H "$DOCKER_HOST" rm -f >/dev/null 2>&1
}

# dk_stop: remove containers, stop dockerd then containerd, and kill whatever
# is left in their mount namespace (shims), then remove the whole tree.
dk_stop() {
    [ -n "${DK_PID:-}" ] || return 0
    local mntns p pin
    mntns=$(readlink "/proc/$DK_PID/ns/mnt" 2>/dev/null)
    # Held open, the namespace keeps its number: a new one cannot take it
    # (and be mistaken for it) while we look for what is left in it.
    exec {pin}<"/proc/$DK_PID/ns/mnt"
    dk_rm_all
    kill_wait "$DK_PID" 20
    [ -f "$DK/containerd.pid" ] && kill_wait "$(cat "$DK/containerd.pid")" 10 "$DK/containerd.toml"
    # Shims left over (and Docker 26's own containerd if dockerd needed
    # SIGKILL): in that mount namespace and started for our containerd.  A
    # SIGKILLed process lingers a moment: wait until the namespace is empty.
    if [ -n "$mntns" ]; then
        for p in $(dk_mntns_pids "$mntns"); do
            still_ours "$p" "$DK/" && kill -9 "$p" 2>/dev/null
        done
        for p in $(seq 50); do [ -z "$(dk_mntns_pids "$mntns")" ] && break; sleep 0.1; done
    fi
    DK_PID=
    exec {pin}<&-
    [ "${E2E_KEEP:-}" = 1 ] && { echo "E2E_KEEP=1: docker tree kept in $DK"; return 0; }
    # overlay mounts lived in the private namespace, which is gone now.
    rm -rf "$DK" 2>/dev/null || { sleep 1; rm -rf "$DK"; }
}

# dk_stop_checked: dk_stop now, as a test's checks that it left nothing: no
# process in dockerd's mount namespace, none of its mounts or of the Docker 26
# root's in ours, its tree removed, no veth in the netns, and no docker*,
# br-* or veth* interface in the host's namespace that was not there at
# dk_start (docker0 itself stays in the netns until the test deletes it).
dk_stop_checked() {
    local mntns dk=$DK left p pin
    mntns=$(readlink "/proc/$DK_PID/ns/mnt" 2>/dev/null)
    check "dockerd's mount namespace is known" test -n "$mntns"
    exec {pin}<"/proc/$DK_PID/ns/mnt"   # its number stays ours (see dk_stop)
    dk_stop
    left=$(for p in $(dk_mntns_pids "$mntns"); do echo "$p:$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)"; done)
    check "no process left in dockerd's mount namespace (${left//$'\n'/ })" test -z "$left"
    exec {pin}<&-
    check "no mount of $dk in the host's mount table" bash -c "! grep -qF '$dk' /proc/self/mountinfo"
    [ "$DK_ENGINE" = 26 ] && check "the Docker 26 root is mounted nowhere on the host" \
        bash -c "! grep -qF '$DK26_ROOT' /proc/self/mountinfo"
    [ "${E2E_KEEP:-}" = 1 ] || check "$dk removed" test ! -e "$dk"
    left=$(dk_links -n "$E2E_NS" | grep '^veth' | tr '\n' ' ')
    check "no veth left in the netns ($left)" test -z "$left"
    left=$(comm -13 <(echo "$DK_HOST_LINKS") <(dk_links | grep -E '^(docker|br-|veth)') | tr '\n' ' ')
    check "no new docker*, br-* or veth* interface on the host ($left)" test -z "$left"
}
# dk_mntns_pids MNTNS: the processes in that mount namespace ("mnt:[N]").
dk_mntns_pids() {
    local ino=${1#mnt:[}; ino=${ino%]}
    [ -n "$ino" ] || return 0
    stat -L -c '%i %n' /proc/[0-9]*/ns/mnt 2>/dev/null | awk -v i="$ino" -F'[ /]' '$1 == i { print $4 }'
}
# dk_links [-n NS]: interface names, sorted.
dk_links() { ip "$@" -o link | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }

# dk_busybox: the image "busybox" made from Debian's static busybox (there is
# no registry): /bin/busybox plus one symlink per applet.
dk_busybox() {
    local bb r a
    for bb in /bin/busybox /usr/bin/busybox; do [ -x "$bb" ] && break; done
    file -L "$bb" 2>/dev/null | grep -q 'statically linked' || ldd "$bb" 2>&1 | grep -q 'not a dynamic' \
        || skip "static busybox not installed (make deps installs busybox-static)"
    r=$E2E_TMP/bbroot
    mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/root" "$r/var/run"
    cp "$bb" "$r/bin/busybox"
    chroot "$r" /bin/busybox --install -s /bin || die "busybox --install failed"
    ln -s bin "$r/sbin"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    tar -C "$r" -c . | dk import -c 'CMD ["/bin/sh"]' - busybox:latest >/dev/null \
        || die "docker import of busybox failed"
    rm -rf "$r"
}

# dk_logs: the daemon's log (for failure reports).
dk_logs() { tail -n "${1:-40}" "$DK/dockerd.log"; }

# plugin_start [VAR=VALUE...]: wgvsock-plugin in $E2E_NS, its socket where
# this dockerd (and only this one) discovers the driver "wgvsock"; state in
# $PL_STATE.  Environment assignments (WGVSOCK_SEED_FILE=...) go to the plugin.
plugin_start() {
    e2e_need_bin wgvsock-plugin
    PL_STATE=${PL_STATE:-$E2E_TMP/state}
    PL_SOCK=$DK/plugins/wgvsock.sock
    PL_LOG=$E2E_TMP/plugin.log
    # PL_WRAP: a command prefix inside the namespace (e.g. setpriv to drop
    # capabilities as the systemd unit does); PL_BIN: another binary (an
    # upgrade).
    env LOG_LEVEL=${PL_LOG_LEVEL:-debug} "$@" ip netns exec "$E2E_NS" ${PL_WRAP:-} \
        "${PL_BIN:-$E2E_BIN/wgvsock-plugin}" --socket "$PL_SOCK" --state-dir "$PL_STATE" >>"$PL_LOG" 2>&1 &
    PL_PID=$!
    e2e_defer "plugin_stop"
    wait_for 10 plugin_answers || { tail -n 20 "$PL_LOG"; die "plugin did not answer on $PL_SOCK"; }
    log "plugin up (pid $PL_PID)"
}
plugin_stop() {
    [ -n "${PL_PID:-}" ] || return 0
    [ "${1:-}" = now ] || dk_rm_all
    kill_wait "$PL_PID" 10; PL_PID=
}
# plugin_call METHOD BODY: POST to the plugin like dockerd does; prints the answer.
plugin_call() {
    curl -sS --max-time 5 --unix-socket "$PL_SOCK" -H 'Accept: application/vnd.docker.plugins.v1.2+json' \
        -H 'Content-Type:' --data-binary "$2" "http://plugin/$1"
}
plugin_answers() { plugin_call Plugin.Activate '{}' | grep -q NetworkDriver; }

# Container facts.
ct_ip() { dk inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
ct_epid() { dk inspect -f "{{(index .NetworkSettings.Networks \"$2\").EndpointID}}" "$1"; }
ct_links() { dk exec "$1" ip -o link | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
# wgnet_create NAME [ARGS...]: a wgvsock network to the test's hub (udp unless
# -o wgvsock.transport=... follows in ARGS), with the test's additional.
wgnet_create() {
    local name=$1; shift
    dk network create --driver "${WGNET_DRIVER:-wgvsock}" --subnet "$HUB_SUBNET" --gateway "$HUB_ADDR" \
        -o wgvsock.peer="$HUB_PEER" -o wgvsock.peerkey="$HUB_PUB" -o wgvsock.additional="$E2E_ADD" \
        "$@" "$name"
}
# expect_network_error WHAT WORD ARGS...: network create must fail with a
# message containing WORD (case-insensitive) and leave no network behind.
expect_network_error() {
    local what=$1 word=$2 out; shift 2
    E2E_CHECKS=$((E2E_CHECKS + 1))
    if out=$(dk network create --driver "${WGNET_DRIVER:-wgvsock}" "$@" badnet 2>&1); then
        fail "$what: network create succeeded"; dk network rm badnet >/dev/null 2>&1; return 1
    fi
    echo "$out" | grep -qi -- "$word" || { fail "$what: error lacks '$word': $out"; return 1; }
    if dk network inspect badnet >/dev/null 2>&1; then
        fail "$what: a network was left behind"; dk network rm badnet >/dev/null 2>&1; return 1
    fi
    log "ok: $what -> $(echo "$out" | tail -1 | cut -c1-160)"
}
# plugin_state_files: the network and endpoint files the plugin persisted.
plugin_state_files() { find "$PL_STATE/networks" "$PL_STATE/endpoints" -type f 2>/dev/null | sed "s|^$PL_STATE/||"; }
