# wgcore: the engine library (every wgcore/*.c) and the wgvsockd daemon.
WGCORE_SRCS := $(wildcard wgcore/*.c)
WGCORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(WGCORE_SRCS))
LIB_OBJS += $(WGCORE_OBJS)
WGVSOCKD_SRCS := $(wildcard wgcore/daemon/*.c)
BINS += $(BUILD)/bin/wgvsockd

$(BUILD)/bin/wgvsockd: $(patsubst %.c,$(BUILD)/obj/%.o,$(WGVSOCKD_SRCS)) $(WGCORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
