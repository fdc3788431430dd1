/* secret_mem.h - memory for keys: kept out of core dumps and, where the
 * memlock limit allows, out of swap; wiped when freed.
 *
 * Used where a key or seed is allocated: the device's static identity,
 * peers (handshake state, preshared key), keypairs, the plugin's decoded
 * seeds.  Each allocation is its own page-rounded anonymous mapping, so
 * munlock on free can never unlock a neighbour's secret (mlock does not
 * nest) and adjacent mappings merge into few VMAs.  libsodium's
 * sodium_malloc would add guard and canary pages (four mappings per
 * allocation): a hub with thousands of peers would reach vm.max_map_count.
 */
#ifndef WGVSOCK_SECRET_MEM_H
#define WGVSOCK_SECRET_MEM_H

#include <stddef.h>

/* Zeroed memory of at least size bytes, page aligned, MADV_DONTDUMP, and
 * mlocked if RLIMIT_MEMLOCK allows (a failure is logged once, at debug, and
 * is not an error).  NULL with errno set if the mapping fails. */
void *wg_secret_alloc(size_t size);

/* Wipes, unlocks and unmaps what wg_secret_alloc(size) returned; NULL is
 * allowed.  size must be the size it was allocated with. */
void wg_secret_free(void *mem, size_t size);

#endif
