# Benchmarks.  bench-aead links only the AEAD it measures (so a broken
# half-written engine file elsewhere never stops it from building); the
# shell benchmarks (bench/*.sh) run from bench/run.sh via `make bench`.
BENCH_AEAD_OBJS := $(BUILD)/obj/bench/aead.o $(BUILD)/obj/wgcore/aead.o
BINS += $(BUILD)/bin/bench-aead

$(BUILD)/bin/bench-aead: $(BENCH_AEAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
