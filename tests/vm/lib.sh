# tests/vm/lib.sh - boot a throw-away QEMU guest to test real AF_VSOCK.
#
# This machine (and CI) has no vsock loopback and nothing here may open an
# AF_VSOCK socket, so every vsock test runs inside a guest: Debian's packaged
# kernel (linux-image-amd64, fetched with `apt-get download`, never
# installed) plus a busybox initramfs holding the project's binaries and the
# modules vsock_loopback and tun.  The guest has no NIC and no virtio-vsock
# device: every AF_VSOCK byte stays inside it (loopback, CID 1).
#
# Usage from a test script (bash):
#   . "$WGVSOCK_ROOT/tests/vm/lib.sh"
#   vm_init || exit $?                     # 77 if qemu etc. is missing
#   vm_add_bin "$WGVSOCK_BIN/wgvsockd"     # -> /bin/wgvsockd + its libraries
#   vm_add_bin /usr/bin/wg
#   vm_run guest-script.sh; rc=$?          # guest script's exit status
#   grep something "$VM_LOG"               # the guest console, CR stripped
#
# vm_run exits with the guest script's status, 124 when the VM ran past
# VM_TIMEOUT, 3 when the guest never reported a result (kernel panic, ...).
# The guest script runs as root under busybox sh, cwd /test, with /proc,
# /sys, /dev, /tmp mounted, lo up, the modules loaded, /dev/net/tun present.
#
# Knobs: VM_CACHE (kernel cache; default /var/cache/wgvsock-vm as root),
# VM_ACCEL=auto|kvm|tcg, VM_MEM (MiB, 512), VM_SMP (2), VM_TIMEOUT (s, 120),
# VM_KEEP=1 (keep the work dir), VM_QUIET=1 (don't echo the console).

# shellcheck shell=bash
vm_say() { printf '[vm] %s\n' "$*" >&2; }

VM_MEM=${VM_MEM:-512}
VM_SMP=${VM_SMP:-2}
VM_TIMEOUT=${VM_TIMEOUT:-120}
VM_ACCEL=${VM_ACCEL:-auto}
if [ -z "${VM_CACHE:-}" ]; then
    if [ "$(id -u)" = 0 ]; then VM_CACHE=/var/cache/wgvsock-vm
    else VM_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/wgvsock-vm; fi
fi
VM_MODULES="vsock vmw_vsock_virtio_transport_common vsock_loopback tun ${VM_EXTRA_MODULES:-}"
VM_WORK=
VM_LOG=
VM_QPID=           # our child; signalled only through tests/lib/proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/proc.sh"

vm_cleanup() {
    if [ -n "$VM_QPID" ]; then
        proc_kill -TERM "$VM_QPID"
        wait "$VM_QPID" 2>/dev/null
        VM_QPID=
    fi
    if [ -n "$VM_WORK" ] && [ -d "$VM_WORK" ]; then
        if [ "${VM_KEEP:-0}" = 1 ]; then vm_say "work dir kept: $VM_WORK"
        else rm -rf "$VM_WORK"; fi
    fi
}

# Tools first: a missing one is a skip (77) outside CI, where run.sh turns
# it into a failure anyway.
vm_check_tools() {
    local miss=() t
    export PATH=$PATH:/sbin:/usr/sbin
    for t in qemu-system-x86_64 cpio depmod modprobe apt-get dpkg-deb xz zstd gzip; do
        command -v "$t" >/dev/null 2>&1 || miss+=("$t")
    done
    # busybox-static: the guest has no libc of its own for busybox
    if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
        miss+=("busybox-static")
    fi
    if [ ${#miss[@]} -gt 0 ]; then
        echo "vm: missing ${miss[*]} (run make deps)"
        return 77
    fi
}

# Unpacks Debian's current kernel package into $VM_CACHE once (lock held,
# so parallel tests share it).  Sets VM_KVER, VM_MODROOT, VM_BOOTIMG.
vm_kernel() {
    local kpkg deb
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    if [ -z "$kpkg" ]; then
        # no package lists (a fresh container): a kernel unpacked earlier is
        # as good; else fetch the lists once
        kpkg=$(ls -d "$VM_CACHE"/linux-image-*/.complete 2>/dev/null | tail -1 | xargs -r dirname | xargs -r basename)
    fi
    if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ]; then
        vm_say "apt-get update (to resolve linux-image-amd64)"
        apt-get update -qq >&2
        kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    fi
    [ -n "$kpkg" ] || { vm_say "cannot resolve linux-image-amd64 (apt-get update?)"; return 2; }
    VM_KVER=${kpkg#linux-image-}
    VM_MODROOT=$VM_CACHE/$kpkg
    mkdir -p "$VM_CACHE" || return 2
    (
        flock 9
        [ -f "$VM_MODROOT/.complete" ] && exit 0
        vm_say "fetching $kpkg into $VM_CACHE (once)"
        rm -rf "$VM_MODROOT"
        deb=$(ls "$VM_CACHE/${kpkg}"_*.deb 2>/dev/null | head -1)
        if [ -z "$deb" ]; then
            # apt drops privileges to _apt, which cannot write to root's cache
            ( cd "$VM_CACHE" && apt-get download -q "$kpkg" 2>&1 | grep -v 'unsandboxed' ) >&2
            deb=$(ls "$VM_CACHE/${kpkg}"_*.deb 2>/dev/null | head -1)
        fi
        [ -n "$deb" ] || { vm_say "apt-get download $kpkg failed"; exit 2; }
        dpkg-deb -x "$deb" "$VM_MODROOT" || exit 2
        rm -f "$deb"
        # the package's postinst would run depmod; we never install it
        depmod -b "$VM_MODROOT" "$VM_KVER" || exit 2
        vm_extract_vmlinux "$VM_MODROOT/boot/vmlinuz-$VM_KVER" "$VM_MODROOT/boot/vmlinux-$VM_KVER"
        touch "$VM_MODROOT/.complete"
    ) 9>"$VM_CACHE/.lock" || return 2
    VM_BOOTIMG=$VM_MODROOT/boot/vmlinuz-$VM_KVER
    # An uncompressed ELF vmlinux boots through QEMU's PVH entry point and
    # saves the guest decompressing ~8 MB of XZ under TCG (seconds).
    if [ -s "$VM_MODROOT/boot/vmlinux-$VM_KVER" ] &&
       grep -qs '^CONFIG_PVH=y' "$VM_MODROOT/boot/config-$VM_KVER"; then
        VM_BOOTIMG=$VM_MODROOT/boot/vmlinux-$VM_KVER
    fi
    [ -f "$VM_BOOTIMG" ] || { vm_say "no kernel image in $VM_MODROOT"; return 2; }
}

# bzImage -> vmlinux: find the compressed payload by its magic and unpack
# it; keep the result only if it is an ELF file.
vm_extract_vmlinux() {
    local in=$1 out=$2 magic off
    for magic in xz zstd gzip; do
        case $magic in
            xz)   off=$(LC_ALL=C grep -abo $'\xfd7zXZ\x00' "$in" | head -1 | cut -d: -f1) ;;
            zstd) off=$(LC_ALL=C grep -abo $'\x28\xb5\x2f\xfd' "$in" | head -1 | cut -d: -f1) ;;
            gzip) off=$(LC_ALL=C grep -abo $'\x1f\x8b\x08' "$in" | head -1 | cut -d: -f1) ;;
        esac
        [ -n "$off" ] || continue
        case $magic in
            xz)   tail -c +$((off + 1)) "$in" | xz -dc --single-stream ;;
            zstd) tail -c +$((off + 1)) "$in" | zstd -qdc ;;
            gzip) tail -c +$((off + 1)) "$in" | gzip -dc ;;
        esac > "$out.tmp" 2>/dev/null
        if [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
            mv "$out.tmp" "$out"
            return 0
        fi
    done
    rm -f "$out.tmp"
    return 1
}

# Creates the work dir and the skeleton root: busybox, modules, /init.
vm_init() {
    vm_check_tools || return $?
    vm_kernel || return $?
    VM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/wgvsock-vm.XXXXXX") || return 2
    trap vm_cleanup EXIT
    VM_ROOT=$VM_WORK/root
    VM_LOG=$VM_WORK/console.log
    mkdir -p "$VM_ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,var/run,etc,root,test,modules}
    cp /bin/busybox "$VM_ROOT/bin/busybox" || return 2
    : > "$VM_ROOT/modules/order"
    local m out kind path name seen=" "
    for m in $VM_MODULES; do
        out=$(modprobe -d "$VM_MODROOT" -S "$VM_KVER" --show-depends "$m" 2>&1) ||
            { vm_say "module $m: $out"; return 2; }
        while read -r kind path _; do
            [ "$kind" = insmod ] || continue       # "builtin ..." needs nothing
            name=$(basename "$path"); name=${name%%.ko*}
            case $seen in *" $name "*) continue ;; esac
            seen="$seen$name "
            # busybox insmod hands the file to init_module() as is: unpack
            case $path in
                *.xz)  xz -dc "$path" ;;
                *.zst) zstd -qdc "$path" ;;
                *.gz)  gzip -dc "$path" ;;
                *)     cat "$path" ;;
            esac > "$VM_ROOT/modules/$name.ko" || return 2
            echo "$name" >> "$VM_ROOT/modules/order"
        done <<< "$out"
    done
    echo "root:x:0:0:root:/root:/bin/sh" > "$VM_ROOT/etc/passwd"
    echo "root:x:0:" > "$VM_ROOT/etc/group"
    VM_NONCE=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    vm_write_init
}

# Copies an executable (and, if dynamic, exactly the libraries ldd names)
# into the guest; dest defaults to /bin/<name>.
vm_add_bin() {
    local src=$1 dest=${2:-/bin/$(basename "$1")} lib
    [ -x "$src" ] || { vm_say "not executable: $src"; return 2; }
    mkdir -p "$VM_ROOT$(dirname "$dest")"
    cp -L "$src" "$VM_ROOT$dest" || return 2
    if ldd "$src" >/dev/null 2>&1; then
        for lib in $(ldd "$src" | grep -o '/[^ )]*'); do
            [ -e "$VM_ROOT$lib" ] && continue
            mkdir -p "$VM_ROOT$(dirname "$lib")"
            cp -L "$lib" "$VM_ROOT$lib" || return 2
        done
    fi
}

vm_add_file() {  # src dest
    mkdir -p "$VM_ROOT$(dirname "$2")" && cp -L "$1" "$VM_ROOT$2"
}

# vm_add_docker: the host's dockerd, containerd, containerd-shim-runc-v2,
# runc and docker CLI (make deps) into the guest, plus /img, a static-busybox
# root that guest_dockerd (guest_lib.sh) imports as busybox:latest.  77 if a
# binary is missing; call after vm_init, with VM_MEM >= 2048.
vm_add_docker() {
    local t r=$VM_ROOT/img
    for t in dockerd containerd containerd-shim-runc-v2 runc docker; do
        command -v $t >/dev/null || { vm_say "missing $t (make deps)"; return 77; }
        vm_add_bin "$(command -v $t)" "/bin/$t" || return 2
    done
    mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/root"
    cp /bin/busybox "$r/bin/busybox" && chroot "$r" /bin/busybox --install -s /bin || return 2
    ln -s bin "$r/sbin"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"; echo 'root:x:0:' >"$r/etc/group"
}

# vm_add_attest_keys ATTEST_BIN: two test CAs and a provisioning key made
# here with wgvsock-attest (no vsock involved), put in the guest as
# /test/ca/{root.pem,hub-chain.pem,hub.key}, /test/other/root.pem (an
# untrusted root) and /test/prov.key.
vm_add_attest_keys() {
    local f
    "$1" test-ca "$VM_WORK/ca" >/dev/null && "$1" test-ca "$VM_WORK/other" >/dev/null || return 1
    "$1" provision-key "$VM_WORK/prov.key" >/dev/null || return 1
    for f in ca/root.pem ca/hub-chain.pem ca/hub.key other/root.pem prov.key; do
        vm_add_file "$VM_WORK/$f" "/test/$f" || return 2
    done
}

vm_write_init() {
    cat > "$VM_ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
# guest-only programs (vsock_stream_check) refuse to run without this
export WGVSOCK_VM_GUEST=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/net /run/wireguard
mount -t devpts devpts /dev/pts
ln -sf /run /var/run 2>/dev/null
exec </dev/console >/dev/console 2>&1
nonce=$(cat /test/nonce)
done_() {
    echo "WGVSOCK_VM_RESULT_$nonce rc=$1 uptime=$(cut -d' ' -f1 /proc/uptime)"
    sync
    poweroff -f
}
echo "WGVSOCK_VM_UP_$nonce kernel $(uname -r), $(nproc) cpus, uptime $(cut -d' ' -f1 /proc/uptime)"
while read -r m; do
    insmod "/modules/$m.ko" || { echo "vm: insmod $m failed"; done_ 90; }
done < /modules/order
[ -c /dev/net/tun ] || mknod /dev/net/tun c 10 200
ip link set lo up
cd /test
sh /test/run.sh
done_ $?
EOF
    chmod 755 "$VM_ROOT/init"
    echo "$VM_NONCE" > "$VM_ROOT/test/nonce"
}

vm_now() { date +%s%N; }
vm_ms_since() { echo $(( ($(vm_now) - $1) / 1000000 )); }

# KVM only if /dev/kvm is usable and QEMU can really start a vCPU with it.
vm_pick_accel() {
    VM_QACCEL="tcg,thread=multi"
    # qemu64: with richer models the guest picks copy routines (ERMS, AVX)
    # that TCG emulates slowly
    VM_QCPU=qemu64
    [ "$VM_ACCEL" = tcg ] && return 0
    if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        local c
        for c in host qemu64; do
            if printf 'quit\n' | timeout 15 qemu-system-x86_64 -accel kvm -machine q35 -cpu "$c" \
                   -nodefaults -display none -monitor stdio -S >/dev/null 2>&1; then
                VM_QACCEL=kvm VM_QCPU=$c
                return 0
            fi
        done
    fi
    [ "$VM_ACCEL" = kvm ] && { vm_say "VM_ACCEL=kvm but KVM is unusable"; return 2; }
    return 0
}

# vm_run GUEST_SCRIPT: pack the initramfs, boot, wait; returns the status.
vm_run() {
    local script=$1 initrd t0 res rc up=0 watchdog
    cp "$script" "$VM_ROOT/test/run.sh" || return 2
    initrd=$VM_WORK/initrd.cpio.gz
    ( cd "$VM_ROOT" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 ) > "$initrd" || return 2
    vm_pick_accel || return 2
    watchdog=0
    # A KVM that starts but crawls (nested, software-emulated) falls back.
    [ "$VM_QACCEL" = kvm ] && [ "$VM_ACCEL" = auto ] && watchdog=30000
    while :; do
        vm_say "booting $VM_KVER: accel=$VM_QACCEL cpu=$VM_QCPU smp=$VM_SMP mem=${VM_MEM}M initrd=$(du -k "$initrd" | cut -f1)K timeout=${VM_TIMEOUT}s"
        : > "$VM_LOG"
        t0=$(vm_now)
        qemu-system-x86_64 -accel "$VM_QACCEL" -cpu "$VM_QCPU" -machine q35 \
            -smp "$VM_SMP" -m "$VM_MEM" -nodefaults -no-user-config -display none \
            -serial "file:$VM_LOG" -no-reboot -nic none \
            -kernel "$VM_BOOTIMG" -initrd "$initrd" \
            -append "console=ttyS0 panic=-1 quiet loglevel=3 8250.nr_uarts=1 i8042.noaux i8042.nokbd i8042.nopnp no_timer_check" \
            </dev/null >"$VM_WORK/qemu.err" 2>&1 &
        VM_QPID=$!
        if [ "${VM_QUIET:-0}" != 1 ]; then
            tail -s 0.2 -n +1 -f --pid=$VM_QPID "$VM_LOG" 2>/dev/null | tr -d '\r' | sed -u 's/^/  guest| /' >&2 &
        fi
        rc=
        while proc_alive "$VM_QPID"; do
            if [ $up = 0 ] && grep -aq "WGVSOCK_VM_UP_$VM_NONCE" "$VM_LOG"; then
                up=1
                vm_say "guest up after $(vm_ms_since "$t0") ms"
            fi
            if [ $up = 0 ] && [ $watchdog != 0 ] && [ "$(vm_ms_since "$t0")" -gt $watchdog ]; then
                rc=slow
                break
            fi
            if [ "$(vm_ms_since "$t0")" -gt $((VM_TIMEOUT * 1000)) ]; then
                vm_say "VM timed out after ${VM_TIMEOUT}s"
                rc=124
                break
            fi
            sleep 0.2
        done
        if [ -n "$rc" ]; then
            proc_kill -TERM "$VM_QPID"
        fi
        wait "$VM_QPID" 2>/dev/null
        VM_QPID=
        sleep 0.3   # let tail print the last lines
        if [ "$rc" = slow ]; then
            vm_say "KVM guest did not come up in $((watchdog / 1000))s: retrying under TCG"
            VM_QACCEL="tcg,thread=multi" VM_QCPU=qemu64 watchdog=0
            continue
        fi
        break
    done
    # the log keeps CRs from the serial console; strip them for callers
    tr -d '\r' < "$VM_LOG" > "$VM_LOG.tmp" && mv "$VM_LOG.tmp" "$VM_LOG"
    res=$(grep -a -o "WGVSOCK_VM_RESULT_$VM_NONCE rc=[0-9]*" "$VM_LOG" | tail -1 | sed 's/.*rc=//')
    if [ "$rc" = 124 ]; then
        :
    elif [ -z "$res" ]; then
        vm_say "guest ended without a result; qemu said: $(tail -3 "$VM_WORK/qemu.err")"
        rc=3
    else
        rc=$res
    fi
    vm_say "VM run took $(vm_ms_since "$t0") ms, guest status $rc"
    return "$rc"
}
