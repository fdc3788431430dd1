# tests/vm: programs that run only inside the QEMU guest (real AF_VSOCK).
VM_CHECK_OBJS := $(BUILD)/obj/tests/vm/vsock_stream_check.o $(WGCORE_OBJS)
TEST_BINS += $(BUILD)/tests/vm/vsock_stream_check

$(BUILD)/tests/vm/vsock_stream_check: $(VM_CHECK_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS)

# The plugin's netlink layer (link.c, wg_genl.c) as a command line, for the
# guest, whose kernel has WireGuard.
TEST_BINS += $(BUILD)/tests/vm/wg_netlink_tool
$(BUILD)/tests/vm/wg_netlink_tool: $(BUILD)/obj/tests/vm/wg_netlink_tool.o $(PLUGIN_OBJS) $(WGCORE_OBJS) $(KEYDERIVE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
