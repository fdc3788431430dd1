# tests/proto: wggo_peer, the protocol alone on a plain UDP socket (driven by
# test_proto_wggo.sh against Debian's wireguard-go).  Built here, with the
# tree's own flags, so `make asan` gets a sanitized helper like every other
# binary.
WGGO_PEER_OBJS := $(BUILD)/obj/tests/proto/wggo_peer.o $(WGCORE_OBJS)
TEST_BINS += $(BUILD)/tests/proto/wggo_peer

$(BUILD)/tests/proto/wggo_peer: $(WGGO_PEER_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS)

# hub_initiators: many wg_proto initiators on their own UDP sockets against
# one real wgvsockd (tests/netns/test_hub_many_peers.sh).
TEST_BINS += $(BUILD)/tests/proto/hub_initiators

$(BUILD)/tests/proto/hub_initiators: $(BUILD)/obj/tests/proto/hub_initiators.o $(WGCORE_OBJS) $(KEYDERIVE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS)
