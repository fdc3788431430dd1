# wgvsock top-level build.  Each component has a module.mk fragment that
# appends to BINS / TEST_BINS / FUZZERS; everything lands under $(BUILD).
#
#   make deps    install the Debian packages needed to build and test
#   make         build every binary into $(BUILD)/bin
#   make test    run every test (unit, CLI, netns, VM, docker e2e)
#   make asan    the whole suite again under AddressSanitizer + UBSan
#   make bench   benchmarks (see docs/BENCHMARKS.md)
#   make demo    hub + plugin + network + container with a published port, shown and removed

BUILD   ?= build
CC      ?= cc
PKGS    := libsodium libb2 libcrypto libmicrohttpd jansson libnl-route-3.0 libmnl zlib libdeflate
PKGS    += libcbor
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -pthread -I. $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN) -pthread

BINS      :=
TEST_BINS :=
FUZZERS   :=

.PHONY: all deps test asan bench fuzz clean plugin
all: bins

include keyderive/module.mk
include wgcore/module.mk
include plugin/module.mk
include attest/module.mk
include provision/module.mk
include tests/module.mk
-include bench/module.mk
-include tests/fuzz/module.mk
-include tests/vm/module.mk
-include tests/proto/module.mk
-include plugin/managed.mk

bins: $(BINS) $(TEST_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

deps:
	./tests/lib/install-deps.sh
	./tests/lib/docker26-root.sh

test: bins
	BUILD=$(BUILD) ./tests/run.sh

# The whole suite under ASan+UBSan, in its own build tree.
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

bench: bins
	BUILD=$(BUILD) ./bench/run.sh

# The main job on one machine, explained (examples/demo/demo.sh; root).
.PHONY: demo
demo: bins
	WGVSOCK_BIN=$(abspath $(BUILD))/bin ./examples/demo/demo.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
