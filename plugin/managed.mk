# make plugin: the managed (docker plugin) form of wgvsock-plugin.
#
#   make plugin                  builds $(PLUGIN_DIR) (config.json + rootfs/)
#                                and runs `docker plugin create $(PLUGIN_NAME)`
#   make plugin-dir              only the directory (no docker needed)
#   make plugin PLUGIN_NAME=registry.example.com/wgvsock:1.0   then
#   docker plugin push registry.example.com/wgvsock:1.0       to publish
#
# rootfs/ holds the binary, exactly the shared libraries ldd lists for it (and
# the dynamic loader), and the directories config.json mounts onto; nothing
# else.  It is checked by running the binary chrooted into rootfs/, with a
# private /proc mounted there (sanitizer builds read their options and
# threads from /proc; the mount goes away with the mount namespace).
# DOCKER can point the CLI at another daemon: make plugin DOCKER="docker -H unix:///x.sock"

PLUGIN_NAME ?= wgvsock
PLUGIN_DIR  ?= $(BUILD)/plugin-build
DOCKER      ?= docker

.PHONY: plugin plugin-dir plugin-seed plugin-peers

plugin-dir: $(BUILD)/bin/wgvsock-plugin config.json plugin/managed.mk
	@rm -rf $(PLUGIN_DIR) && mkdir -p $(PLUGIN_DIR)/rootfs
	@set -e; r=$(PLUGIN_DIR)/rootfs; \
	mkdir -p $$r/usr/bin $$r/var/lib/wgvsock \
	    $$r/run/docker/plugins $$r/dev/net $$r/proc $$r/sys $$r/tmp; \
	chmod 700 $$r/var/lib/wgvsock; \
	install -m 755 $(BUILD)/bin/wgvsock-plugin $$r/usr/bin/wgvsock-plugin; \
	libs=$$(ldd $(BUILD)/bin/wgvsock-plugin | awk '$$2 == "=>" && $$3 ~ /^\// { print $$3 } $$1 ~ /^\// { print $$1 }'); \
	[ -n "$$libs" ] || { echo "plugin: ldd listed no libraries" >&2; exit 1; }; \
	for l in $$libs; do mkdir -p $$r$$(dirname $$l); cp -L $$l $$r$$l; done; \
	cp config.json $(PLUGIN_DIR)/config.json; \
	if [ "$$(id -u)" = 0 ]; then \
	    unshare --mount --propagation private sh -c 'mount -t proc proc "$$0/proc" && chroot "$$0" /usr/bin/wgvsock-plugin --version' $$r >/dev/null || \
	        { echo "plugin: the binary does not run inside rootfs/" >&2; exit 1; }; \
	fi; \
	echo "plugin: $(PLUGIN_DIR): wgvsock-plugin + $$(echo $$libs | wc -w) libraries, $$(du -sh $$r | cut -f1)"

plugin: plugin-dir
	@if $(DOCKER) plugin inspect $(PLUGIN_NAME) >/dev/null 2>&1; then \
	    echo "plugin: $(PLUGIN_NAME) exists; first: $(DOCKER) plugin disable $(PLUGIN_NAME); $(DOCKER) plugin rm $(PLUGIN_NAME)" >&2; \
	    exit 1; fi
	$(DOCKER) plugin create $(PLUGIN_NAME) $(PLUGIN_DIR)
	@echo "plugin: created $(PLUGIN_NAME); next: $(DOCKER) plugin enable $(PLUGIN_NAME), then make plugin-peers SUBNET=... for the hub"

# The plugin's own seed (made at its first start, kept in its propagated
# mount: across disable/enable and upgrade, removed by docker plugin rm).
#   make plugin-seed                  prints the seed file's host path
#   make plugin-peers SUBNET=CIDR     the hub's [Peer] list for that subnet
plugin-seed-path = $$($(DOCKER) info -f '{{.DockerRootDir}}')/plugins/$$($(DOCKER) plugin inspect -f '{{.Id}}' $(PLUGIN_NAME))/propagated-mount/seed

plugin-seed:
	@f=$(plugin-seed-path); [ -s "$$f" ] || { echo "plugin-seed: no seed at $$f: is $(PLUGIN_NAME) installed and enabled once?" >&2; exit 1; }; echo "$$f"

plugin-peers: $(BUILD)/bin/keyderive
	@[ -n "$(SUBNET)" ] || { echo "plugin-peers: give the network's subnet: make plugin-peers SUBNET=10.77.0.0/24 [ADD=base64]" >&2; exit 1; }
	@f=$(plugin-seed-path); [ -s "$$f" ] || { echo "plugin-peers: no seed at $$f: is $(PLUGIN_NAME) installed and enabled once?" >&2; exit 1; }; \
	$(BUILD)/bin/keyderive --seed-file "$$f" $(if $(ADD),--add $(ADD)) peers --subnet $(SUBNET) --skip-gateway
