# provision: the offer/answer protocol between the plugin and an attested
# hub (library: every provision/*.c).  wgvsockd links it for --provision:
# the extra prerequisites below join wgcore/module.mk's link line ($^).
PROVISION_SRCS := $(wildcard provision/*.c)
PROVISION_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(PROVISION_SRCS))
LIB_OBJS += $(PROVISION_OBJS)

$(BUILD)/bin/wgvsockd: $(PROVISION_OBJS) $(ATTEST_OBJS)
$(BUILD)/bin/wgvsock-attest: $(PROVISION_OBJS) $(WGCORE_OBJS)
# The plugin provisions attested hubs (plugin/attested_hub.c): whatever
# links $(PLUGIN_OBJS) needs these too (tests/module.mk's test_plugin_%).
$(BUILD)/bin/wgvsock-plugin: $(PROVISION_OBJS) $(ATTEST_OBJS)
$(BUILD)/tests/vm/wg_netlink_tool: $(PROVISION_OBJS) $(ATTEST_OBJS)
