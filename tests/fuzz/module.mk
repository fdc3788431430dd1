# Fuzzing: every tests/fuzz/fuzz_<name>.c is a libFuzzer target, built with
# clang and ASan+UBSan against every library object ($(LIB_OBJS): keyderive,
# wgcore, plugin library), which are recompiled here with coverage
# instrumentation into their own tree.  `make fuzz` builds them all;
# tests/fuzz/test_fuzz.sh builds and runs them.  See tests/fuzz/README.md.
#
#   make fuzz                               every target
#   make fuzz FUZZ_TARGETS=keyderive        only fuzz_keyderive
#   make fuzz FUZZ_BUILD=/tmp/my-fuzz       elsewhere
#   make fuzz-long [FUZZ_LONG_SECONDS=600]  run each for 10 M executions or that long
#
# The library is linked as an archive: every object must *compile* (a broken
# one fails the fuzz build loudly), but a target pulls in only the objects it
# needs.  FUZZ_LIB_SRCS may be narrowed while developing one target before
# the rest of the tree compiles.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= $(if $(filter build build-asan,$(BUILD)),build-fuzz,$(BUILD)-fuzz)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Same language and warnings as the main build, but not -Werror: gcc with
# -Werror is the warning gate; clang-only warnings must not stop fuzzing.
FUZZ_CFLAGS   = -std=gnu11 -D_GNU_SOURCE $(filter-out -Werror,$(WARN)) -O1 -g -pthread -I. \
                $(PKG_CFLAGS) -MMD -MP

FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS     = $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
FUZZERS      += $(FUZZ_BINS)

FUZZ_LIB_SRCS ?= $(patsubst $(BUILD)/obj/%.o,%.c,$(LIB_OBJS))
FUZZ_LIB_OBJS  = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_LIB       = $(FUZZ_BUILD)/libwgvsock-fuzz.a

.PHONY: fuzz fuzz-check-cc fuzz-long
fuzz: fuzz-check-cc $(FUZZ_BINS)

# A campaign: every target until FUZZ_LONG_RUNS executions or
# FUZZ_LONG_SECONDS, whichever comes first (figures: docs/SECURITY.md).
FUZZ_LONG_RUNS    ?= 10000000
FUZZ_LONG_SECONDS ?= 600
fuzz-long: fuzz-check-cc
	FUZZ_RUNS=$(FUZZ_LONG_RUNS) FUZZ_SECONDS=$(FUZZ_LONG_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
	    BUILD=$(BUILD) FUZZ_BUILD=$(FUZZ_BUILD) bash tests/fuzz/test_fuzz.sh

fuzz-check-cc:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (make deps installs clang)" >&2; exit 1; }

# Library objects: coverage instrumentation without libFuzzer's main().
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# libFuzzer's entry points (LLVMFuzzerTestOneInput, ...) are declared by its
# contract, not by a header of ours.
$(FUZZ_BUILD)/obj/tests/fuzz/%.o: FUZZ_CFLAGS += -Wno-missing-prototypes

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -o $@ $^ $(PKG_LIBS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
