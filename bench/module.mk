# Benchmarks.  bench-aead links only the AEAD it measures; the shell
# benchmarks (bench/*.sh) run from bench/run.sh via `make bench`.
BENCH_AEAD_OBJS := $(BUILD)/obj/bench/aead.o $(BUILD)/obj/wgcore/aead.o
BINS += $(BUILD)/bin/bench-aead

$(BUILD)/bin/bench-aead: $(BENCH_AEAD_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# bench-crc32: the stream framing's CRC-32 from zlib, libdeflate (what the
# engine uses) and isa-l when its headers are installed (libisal-dev; optional).
BENCH_CRC_ISAL := $(shell pkg-config --exists libisal 2>/dev/null && echo 1)
BINS += $(BUILD)/bin/bench-crc32

$(BUILD)/obj/bench/crc32.o: ALL_CFLAGS += $(if $(BENCH_CRC_ISAL),-DHAVE_ISAL)
$(BUILD)/bin/bench-crc32: $(BUILD)/obj/bench/crc32.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(if $(BENCH_CRC_ISAL),$(shell pkg-config --libs libisal))

# bench-handshake: responder handshakes/s on one core beside the X25519 bound.
BINS += $(BUILD)/bin/bench-handshake

$(BUILD)/bin/bench-handshake: $(BUILD)/obj/bench/handshake.o $(WGCORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
