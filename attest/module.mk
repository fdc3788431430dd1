# attest: AWS Nitro Enclaves attestation documents (library: every attest/*.c
# but cli*.c) and the `wgvsock-attest` CLI.  libcbor parses and encodes
# CBOR; OpenSSL does X.509 and ECDSA.
ATTEST_SRCS := $(filter-out attest/cli%.c,$(wildcard attest/*.c))
ATTEST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(ATTEST_SRCS))
LIB_OBJS += $(ATTEST_OBJS)
BINS += $(BUILD)/bin/wgvsock-attest

# The provision-key / provision commands also link provision/ (its
# module.mk) and the engine's sockaddr and log code.
$(BUILD)/bin/wgvsock-attest: $(BUILD)/obj/attest/cli.o $(BUILD)/obj/attest/cli_provision.o $(ATTEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
