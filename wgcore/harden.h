/* harden.h - process-wide protections that wgvsockd and the plugin apply at
 * start: keys stay out of core dumps, and the fd limit is as high as the
 * administrator allows (each device and connection costs descriptors).
 */
#ifndef WGVSOCK_HARDEN_H
#define WGVSOCK_HARDEN_H

/* No core dump, no ptrace by other unprivileged processes, /proc/PID files
 * owned by root: a crash must not write private keys to disk (hosts that
 * collect dumps keep them).  0 or -errno. */
int wg_harden_no_dump(void);

/* Raises the soft RLIMIT_NOFILE to the hard limit.  *limit: the soft limit
 * now in force (also on failure).  0 or -errno. */
int wg_raise_fd_limit(unsigned long *limit);

#endif
