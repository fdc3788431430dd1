KEYDERIVE_OBJS := $(BUILD)/obj/keyderive/keyderive.o
LIB_OBJS += $(KEYDERIVE_OBJS)
BINS += $(BUILD)/bin/keyderive

$(BUILD)/bin/keyderive: $(BUILD)/obj/keyderive/cli.o $(KEYDERIVE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
