# tests/vm: programs that run only inside the QEMU guest (real AF_VSOCK).
# Linked against just the transport objects, so a half-written engine file
# elsewhere never keeps the vsock tests from building.
VM_CHECK_OBJS := $(BUILD)/obj/tests/vm/vsock_stream_check.o \
	$(addprefix $(BUILD)/obj/wgcore/,transport.o transport_udp.o transport_stream.o stream_frame.o sockaddr.o thread.o)
TEST_BINS += $(BUILD)/tests/vm/vsock_stream_check

$(BUILD)/tests/vm/vsock_stream_check: $(VM_CHECK_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS)
