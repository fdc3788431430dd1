# guest_lib.sh - shell helpers for the scripts that run INSIDE the QEMU
# guest (busybox sh); the test_*.sh put it in front of their guest script.
# shellcheck shell=sh

# check NAME CMD...: one named check, counted in the caller's checks/fails
fails=0 checks=0
check() {  # check NAME CMD...
    name=$1; shift
    checks=$((checks + 1))
    if "$@"; then echo "  ok   $name"; return 0; fi
    echo "  FAIL $name"; fails=$((fails + 1)); return 1
}

# guest_netns: prints the PID of a process holding a new network namespace
# (lo up); nsenter -t PID -n runs in it, kill PID ends it.
guest_netns() {
    unshare -n sleep 100000 </dev/null >/dev/null 2>&1 &
    sleep 0.2
    nsenter -t $! -n ip link set lo up
    echo $!
}

# guest_bulk MIB ADDR SEND RECV: MIB MiB of random data to ADDR:5001 with
# busybox nc, SEND and RECV being the command prefixes (e.g. "inA", or ""
# for this namespace) of the sender and the receiver; true if every byte
# arrived with the same md5.
guest_bulk() {
    rm -f /tmp/recv
    dd if=/dev/urandom of=/tmp/data bs=65536 count=$(($1 * 16)) 2>/dev/null
    want=$(wc -c < /tmp/data)
    # nc -l stops on EOF of its own stdin: feed it a sleep
    (sleep 120 | $4 nc -l -p 5001 > /tmp/recv) &
    srv=$!
    sleep 0.3
    t0=$(date +%s)
    $3 nc "$2" 5001 < /tmp/data
    i=0
    while [ $i -lt 300 ] && [ "$(wc -c < /tmp/recv 2>/dev/null || echo 0)" -lt "$want" ]; do
        sleep 0.1; i=$((i + 1))
    done
    kill $srv 2>/dev/null
    got=$(wc -c < /tmp/recv)
    echo "bulk: $got/$want bytes in $(( $(date +%s) - t0 ))s"
    [ "$got" = "$want" ] && [ "$(md5sum < /tmp/data)" = "$(md5sum < /tmp/recv)" ]
}

# guest_wgvsockd HOLDER IFN [daemon options]: wgvsockd -n vsock IFN in the
# network namespace of HOLDER (a guest_netns PID), logging to /tmp/IFN.log;
# its PID in GUEST_PID.  False, with the log's tail, if its control socket
# does not appear within 10 s.
guest_wgvsockd() {
    holder=$1 ifn=$2; shift 2
    rm -f "/var/run/wireguard/$ifn.sock"
    LOG_LEVEL=verbose nsenter -t "$holder" -n wgvsockd -f -n vsock "$@" "$ifn" >> "/tmp/$ifn.log" 2>&1 &
    GUEST_PID=$!
    i=0
    while [ $i -lt 100 ]; do
        [ -S "/var/run/wireguard/$ifn.sock" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    echo "wgvsockd $ifn did not come up:"; tail -20 "/tmp/$ifn.log"
    return 1
}

# guest_dockerd: a dockerd (from vm_add_docker) logging to /tmp/dockerd.log,
# up within 300 s, with /img imported as busybox:latest.  No iptables, no
# bridge (wgvsock needs neither); DOCKER_RAMDISK because runc cannot
# pivot_root on the initramfs root.
guest_dockerd() {
    mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup
    mkdir -p /var/lib/docker /run/docker/plugins /etc/docker
    export HOME=/root
    DOCKER_RAMDISK=true dockerd --storage-driver=vfs --iptables=false --ip-masq=false \
        --ip6tables=false --bridge=none --userland-proxy=false \
        --exec-opt native.cgroupdriver=cgroupfs > /tmp/dockerd.log 2>&1 &
    i=0; while [ $i -lt 600 ] && ! docker info >/dev/null 2>&1; do sleep 0.5; i=$((i + 1)); done
    docker info >/dev/null 2>&1 || { echo "dockerd did not come up"; tail -30 /tmp/dockerd.log; return 1; }
    echo "dockerd up at $(cut -d' ' -f1 /proc/uptime) s"
    tar -C /img -c . | docker import -c 'CMD ["/bin/sh"]' - busybox:latest >/dev/null ||
        { echo "docker import failed"; return 1; }
}
