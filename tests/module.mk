# Unit tests: each tests/unit/test_*.c is one cmocka binary.  The prefix
# names the component it links, so one component's broken build never
# stops another's tests from building:
#   test_kd_*      keyderive        test_wg_*      wgcore
#   test_plugin_*  plugin (+ wgcore, keyderive)
#   test_attest_*  attest           test_prov_*    provision (+ attest, wgcore)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_LINK = @mkdir -p $(dir $@) && echo "  LD $@" && $(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/tests/unit/test_kd_%: $(BUILD)/obj/tests/unit/test_kd_%.o $(KEYDERIVE_OBJS)
	$(UNIT_LINK)
$(BUILD)/tests/unit/test_wg_%: $(BUILD)/obj/tests/unit/test_wg_%.o $(WGCORE_OBJS)
	$(UNIT_LINK)
# test_wg_secret checks that freed secret memory is wiped before munmap.
$(BUILD)/tests/unit/test_wg_secret: ALL_LDFLAGS += -Wl,--wrap=munmap
$(BUILD)/tests/unit/test_attest_%: $(BUILD)/obj/tests/unit/test_attest_%.o $(ATTEST_OBJS)
	$(UNIT_LINK)
$(BUILD)/tests/unit/test_prov_%: $(BUILD)/obj/tests/unit/test_prov_%.o $(PROVISION_OBJS) $(ATTEST_OBJS) $(WGCORE_OBJS)
	$(UNIT_LINK)
$(BUILD)/tests/unit/test_plugin_%: $(BUILD)/obj/tests/unit/test_plugin_%.o $(PLUGIN_OBJS) $(WGCORE_OBJS) $(KEYDERIVE_OBJS) $(PROVISION_OBJS) $(ATTEST_OBJS)
	$(UNIT_LINK)
