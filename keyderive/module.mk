# keyderive: the seed-derived key library (linked by the plugin) and the
# `keyderive` CLI.  subnet.o is library code too: it decides which addresses
# of a network get a peer, which the plugin may want as well.
KEYDERIVE_OBJS := $(BUILD)/obj/keyderive/keyderive.o $(BUILD)/obj/keyderive/subnet.o
LIB_OBJS += $(KEYDERIVE_OBJS)
BINS += $(BUILD)/bin/keyderive

$(BUILD)/bin/keyderive: $(BUILD)/obj/keyderive/cli.o $(KEYDERIVE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
