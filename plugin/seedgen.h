/* seedgen.h - a seed made on the plugin's first start (WGVSOCK_SEED_GENERATE=1),
 * so that the managed plugin enables on a host where nobody created a seed
 * file: the seed goes into the plugin's own persistent state. */
#ifndef WGVSOCK_PLUGIN_SEEDGEN_H
#define WGVSOCK_PLUGIN_SEEDGEN_H

#define SEEDGEN_BYTES 32

/* If path does not exist, creates it (mode 0600, its directory 0700 if
 * missing) holding the base64 of SEEDGEN_BYTES random bytes; an existing
 * file is never touched.  1 = created, 0 = already there, -errno. */
int seedgen_create(const char *path);

#endif
