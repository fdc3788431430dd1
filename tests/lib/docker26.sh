# The Docker 26 engine for tests/lib/docker.sh (sourced by it when
# DK_ENGINE=26; not used on its own).
#
# dockerd 26.1 is Debian trixie's docker.io, run from the trixie root that
# tests/lib/docker26-root.sh builds once into a cache directory.  It runs:
#   - in the test's network namespace ($E2E_NS): its own docker0 (DK_BRIDGE=1)
#     and iptables, never the host's;
#   - in a private mount namespace whose root is the trixie root, entered
#     with pivot_root (with chroot, runc's setns during `docker exec` puts the
#     process back into the host's /), mounted read-only so tests running at
#     once cannot change the shared cache.  Onto it: proc, a fresh sysfs of
#     the netns, the cgroup hierarchies, /dev, tmpfs /run and /tmp, and, at
#     the same paths as outside, $DK (data/exec root, API socket, logs) and
#     $E2E_TMP (seed files a managed plugin mounts), plus /run/wireguard
#     (devices' control sockets) and /run/docker/plugins = $DK/plugins;
#   - with trixie's containerd of its own ($DK/containerd.toml), as Debian
#     runs it: a service beside dockerd (live-restore needs that).
# A plugin reaches a container's SandboxKey (under $DK/x/netns, mounted in
# that namespace only) through /proc/$DK_PID/root, as with 20.10.
# The CLI is trixie's docker 26, run through the root's own dynamic loader
# from the host's filesystem (so host paths such as a plugin directory work):
# $DK_CLI is a wrapper script in $DK.

[ -n "${_DK26_SH:-}" ] && return 0
_DK26_SH=1

DK26_BUILDER=$(dirname "${BASH_SOURCE[0]}")/docker26-root.sh

# dk26_prepare: the root (built on first use), $DK_CLI, $DK/start.sh.
dk26_prepare() {
    DK26_ROOT=$("$DK26_BUILDER" --print)
    e2e_need_tool pivot_root
    "$DK26_BUILDER" --ready || e2e_need_tool debootstrap
    "$DK26_BUILDER" >"$DK/root-build.log" 2>&1 \
        || { cat "$DK/root-build.log"; die "the Docker 26 root could not be built ($DK26_BUILDER)"; }
    local r=$DK26_ROOT
    cat >"$DK/docker" <<EOF
#!/bin/sh
exec "$r/lib64/ld-linux-x86-64.so.2" --library-path "$r/lib/x86_64-linux-gnu:$r/usr/lib/x86_64-linux-gnu" \\
    "$r/usr/bin/docker" "\$@"
EOF
    chmod 755 "$DK/docker"
    DK_CLI=$DK/docker
    dk_containerd_conf
    mkdir -p /run/wireguard
    cat >"$DK/start.sh" <<EOF
#!/bin/sh
set -e
mount --make-rprivate /
R="$DK/root"
mkdir -p "\$R"
mount --bind "$r" "\$R"
mount -o remount,bind,ro "\$R"
mount -t proc proc "\$R/proc"
mount -t sysfs sysfs "\$R/sys"
mount --rbind /sys/fs/cgroup "\$R/sys/fs/cgroup"
mount --rbind /dev "\$R/dev"
mount -t tmpfs -o mode=755 tmpfs "\$R/run"
mount -t tmpfs -o mode=1777 tmpfs "\$R/tmp"
mkdir -p "\$R/run/docker/plugins" "\$R/run/wireguard" "\$R$DK" "\$R$E2E_TMP" "\$R/tmp/.oldroot"
mount --bind "$DK/plugins" "\$R/run/docker/plugins"
mount --bind /run/wireguard "\$R/run/wireguard"
mount --bind "$DK" "\$R$DK"
mount --bind "$E2E_TMP" "\$R$E2E_TMP"
cd "\$R"
pivot_root . tmp/.oldroot
cd /
umount -l /tmp/.oldroot
rmdir /tmp/.oldroot
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
$(dk_containerd_start)
exec dockerd $(dk_daemon_flags) --containerd "$DK/ctd.sock"
EOF
    chmod +x "$DK/start.sh"
}
