# wgvsock top-level build.  Each component has a module.mk fragment that
# appends to BINS / TEST_BINS / FUZZERS; everything lands under $(BUILD).
#
#   make deps     install the Debian packages needed to build and test
#   make          build the product (every binary in $(BUILD)/bin; no test libraries needed)
#   make tests    build the test programs too (cmocka unit tests, helpers)
#   make test     build and run every test (unit, CLI, netns, VM, docker e2e, cppcheck)
#   make asan     the whole suite again under AddressSanitizer + UBSan
#   make tsan     the whole suite again under ThreadSanitizer
#   make cppcheck static analysis of every C file (also run by the suite)
#   make bench    benchmarks (see docs/BENCHMARKS.md)
#   make demo     hub + plugin + network + container with a published port, shown and removed

BUILD   ?= build
CC      ?= cc
# libnl-route-3.0 and libmnl: the plugin's and the kernel backend's netlink
# (issues 9 and 17).
PKGS    := libsodium libb2 libcrypto libmicrohttpd jansson libnl-route-3.0 libmnl zlib libdeflate
PKGS    += libcbor
TEST_PKGS := cmocka

# A missing package stops the build with its name (not with empty flags and
# a compiler error about a header).  `make deps` and `make clean` need none.
ifneq ($(filter-out deps clean,$(or $(MAKECMDGOALS),all)),)
MISSING_PKGS := $(shell for p in $(PKGS); do pkg-config --exists $$p || echo $$p; done)
ifneq ($(MISSING_PKGS),)
$(error pkg-config cannot find: $(MISSING_PKGS) (run 'make deps'))
endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
# Only the test programs need these; checked when one is linked.
TEST_LIBS   = $(or $(shell pkg-config --libs $(TEST_PKGS)),$(error pkg-config cannot find: $(TEST_PKGS) (run 'make deps')))

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2 \
            -Wmissing-prototypes -Wstrict-prototypes
# A root daemon that holds seeds: fortified libc calls, stack canaries, PIE
# and full RELRO.  The sanitizer builds leave out _FORTIFY_SOURCE (ASan and
# TSan intercept those calls themselves).
FORTIFY  ?= -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
HARDEN_CFLAGS  := -fstack-protector-strong -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(FORTIFY) $(HARDEN_CFLAGS) $(WARN) $(CFLAGS) $(SAN) \
             -pthread -I. $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(HARDEN_LDFLAGS) $(SAN) -pthread

BINS      :=
TEST_BINS :=
FUZZERS   :=

.PHONY: all bins tests deps test asan tsan cppcheck bench fuzz clean plugin
all: bins

include keyderive/module.mk
include wgcore/module.mk
include plugin/module.mk
include attest/module.mk
include provision/module.mk
include tests/module.mk
include bench/module.mk
include tests/fuzz/module.mk
include tests/vm/module.mk
include tests/proto/module.mk
include plugin/managed.mk

bins: $(BINS)
tests: $(BINS) $(TEST_BINS)

# Keep the objects that pattern chains build (the unit tests' .o files):
# make would otherwise delete them as intermediates, and the test runner's
# `make -q tests` staleness check would then always say "out of date".
.SECONDARY:

# Every object depends on the flags it was compiled with: a new warning,
# hardening flag or SAN=... rebuilds the tree instead of linking stale
# objects.  (`make -q`, the test runner's staleness check, only compares.)
FLAGS_STAMP := $(BUILD)/.flags
ifeq ($(findstring q,$(firstword -$(MAKEFLAGS))),)
$(shell mkdir -p $(BUILD) && echo '$(ALL_CFLAGS) | $(ALL_LDFLAGS)' | cmp -s - $(FLAGS_STAMP) || \
        echo '$(ALL_CFLAGS) | $(ALL_LDFLAGS)' > $(FLAGS_STAMP))
endif

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

deps:
	./tests/lib/install-deps.sh
	./tests/lib/docker26-root.sh

test: tests
	BUILD=$(BUILD) ./tests/run.sh

# The whole suite under ASan+UBSan, in its own build tree.
# Docker 26 runs only in `make test`: it sends the plugin the same calls as 20.10.
asan:
	DK_ENGINES=$${DK_ENGINES:-20.10} $(MAKE) BUILD=build-asan OPT=-O1 FORTIFY= SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# The whole suite under ThreadSanitizer, in its own build tree.
tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 FORTIFY= SAN="-fsanitize=thread -fno-omit-frame-pointer" test

# Static analysis (Debian's cppcheck): the checks that find bugs, not style.
# Clean is the rule; a false positive gets an inline
# `cppcheck-suppress ID` with a comment saying why.
CPPCHECK_DIRS := wgcore plugin keyderive attest provision bench tests/unit tests/fuzz tests/proto tests/vm
cppcheck:
	cppcheck -q -j2 --std=c11 --enable=warning,portability,performance --inline-suppr \
	    --error-exitcode=1 -I. -D_GNU_SOURCE $(CPPCHECK_DIRS)

bench: bins
	BUILD=$(BUILD) ./bench/run.sh

# The main job on one machine, explained (examples/demo/demo.sh; root).
.PHONY: demo
demo: bins
	WGVSOCK_BIN=$(abspath $(BUILD))/bin ./examples/demo/demo.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
