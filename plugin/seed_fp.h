/* seed_fp.h - a seed's fingerprint: how the nodes of a swarm tell that they
 * derive keys from the same seed without the seed leaving any node.
 *
 * AllocateNetwork (on the manager) adds the manager's fingerprint to the
 * network's options as wgvsock.seed-fingerprint; every node's CreateNetwork,
 * CreateEndpoint and Join compare it with their own seed's (options.c, where
 * the seed is read).  The fingerprint is the first 8 bytes of a keyed,
 * domain-separated BLAKE2b of the seed: enough to tell seeds apart, and it
 * gives a guesser of a weak seed nothing that the hub's public peer list
 * (public keys derived from the seed) does not already give. */
#ifndef WGVSOCK_PLUGIN_SEED_FP_H
#define WGVSOCK_PLUGIN_SEED_FP_H

#include <stdbool.h>
#include <stdint.h>

#include "keyderive/keyderive.h"

#define SEED_FP_LEN 8
#define SEED_FP_HEX_LEN (2 * SEED_FP_LEN)

void seed_fp_compute(const struct kd_secret *seed, uint8_t fp[SEED_FP_LEN]);

/* Lower-case hex, SEED_FP_HEX_LEN characters + NUL. */
void seed_fp_to_hex(const uint8_t fp[SEED_FP_LEN], char hex[SEED_FP_HEX_LEN + 1]);

/* Exactly SEED_FP_HEX_LEN hex digits (either case).  0 or -1. */
int seed_fp_from_hex(const char *hex, uint8_t fp[SEED_FP_LEN]);

#endif
