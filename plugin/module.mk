# plugin: the libnetwork remote driver (every plugin/*.c but main.c is
# library code the unit tests can link).
PLUGIN_SRCS := $(filter-out plugin/main.c,$(wildcard plugin/*.c))
PLUGIN_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(PLUGIN_SRCS))
LIB_OBJS += $(PLUGIN_OBJS)
BINS += $(BUILD)/bin/wgvsock-plugin

$(BUILD)/bin/wgvsock-plugin: $(BUILD)/obj/plugin/main.o $(PLUGIN_OBJS) $(WGCORE_OBJS) $(KEYDERIVE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
