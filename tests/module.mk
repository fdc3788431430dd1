# Unit tests: every tests/unit/test_*.c is one cmocka binary linked with the
# objects of the component it tests (see UNIT_OBJS_<name> in the components'
# module.mk files; default: all library objects).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka
