#!/bin/bash
# The README's quickstart, run verbatim (the first ```sh block under
# "## Quickstart"), against a private dockerd: it runs in the test's network
# namespace and in a private mount namespace where /etc/wgvsock and
# /run/wireguard are empty tmpfs, and /run/docker/plugins is the directory this
# test's dockerd discovers plugins in, so the quickstart's default paths touch
# nothing of the machine's own.  DOCKER_HOST points `docker` at our dockerd,
# which already has the image "busybox".
# engines: 20.10 26
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/docker.sh"
e2e_need_root
e2e_need_tool wg ping
e2e_need_bin keyderive wgvsockd wgvsock-plugin

awk '/^## Quickstart/ { q = 1 } q && /^```sh$/ { on = 1; next } on && /^```$/ { exit } on { print }' \
    "$E2E_ROOT/README.md" >"$E2E_TMP/quickstart.sh"
[ -s "$E2E_TMP/quickstart.sh" ] || die "no quickstart block found in README.md"
grep -q 'docker run' "$E2E_TMP/quickstart.sh" || die "quickstart has no docker run"

e2e_netns
dk_start
dk_busybox
# The quickstart runs "export PATH=$PWD/build/bin:$PATH" from the repository.
mkdir -p "$E2E_TMP/repo"
ln -s "$E2E_BIN/.." "$E2E_TMP/repo/build"
[ -d /etc/wgvsock ] || { mkdir -p /etc/wgvsock; e2e_defer "rmdir /etc/wgvsock"; }
mkdir -p /run/wireguard
e2e_defer "rm -f /tmp/peers.conf"
cat >"$E2E_TMP/run.sh" <<EOF
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=700 tmpfs /etc/wgvsock
mount -t tmpfs -o mode=755 tmpfs /run/wireguard
mount --bind "$DK/plugins" /run/docker/plugins
cd "$E2E_TMP/repo"
export DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DK/cli
docker() { "$DK_CLI" "\$@"; }
set -x
. "$E2E_TMP/quickstart.sh"
set +x
echo QUICKSTART-DONE
# what the README promises next: exactly lo and wg0, default via the hub
docker run --rm --network wgnet busybox ip -o link | awk -F': ' '{print \$2}' | sort | tr '\n' ' '
echo
docker run --rm --network wgnet busybox ip route
EOF
log "running the README quickstart"
ip netns exec "$E2E_NS" unshare -m bash "$E2E_TMP/run.sh" >"$E2E_TMP/out.log" 2>&1
rc=$?
grep -v '^peer: \|^  allowed ips: \|^$' "$E2E_TMP/out.log"
check "quickstart runs to the end without error (rc $rc)" grep -q '^QUICKSTART-DONE' "$E2E_TMP/out.log"
check "its container pinged the hub" grep -q '3 packets received' "$E2E_TMP/out.log"
check "wg show listed the hub and a container tunnel" grep -q '^interface: wghub0' "$E2E_TMP/out.log"
check "the container sees exactly lo and wg0" grep -qx 'lo wg0 ' "$E2E_TMP/out.log"
check "default via 10.77.0.1 dev wg0" grep -q '^default via 10.77.0.1 dev wg0' "$E2E_TMP/out.log"
e2e_finish
