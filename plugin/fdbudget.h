/* fdbudget.h - the plugin's open-file budget.
 *
 * Every container's device holds descriptors (TUN, transport sockets and
 * their epoll/eventfd, the wg(8) control socket); the plugin's fd limit
 * therefore caps how many containers a host can run.  At start the soft
 * limit is raised to the hard one and the capacity it implies is logged; a
 * Join that would come close to the limit is refused with a clear message
 * before anything is created, instead of failing halfway with EMFILE.
 */
#ifndef WGVSOCK_PLUGIN_FDBUDGET_H
#define WGVSOCK_PLUGIN_FDBUDGET_H

#include "plugin/error.h"

/* Descriptors one container's device keeps open: 7 measured for a udp
 * device with its control socket (tests/plugin/test_plugin_limits.sh prints
 * it), one spare. */
#define FDBUDGET_PER_ENDPOINT 8
/* Room kept free for a Join's own transient fds (netlink, netns, state
 * files) and the HTTP connection it arrives on. */
#define FDBUDGET_HEADROOM 24

/* Raises the soft RLIMIT_NOFILE to the hard limit.  Returns the soft limit
 * now in force; *capacity: about how many containers it allows. */
unsigned long fdbudget_init(unsigned long *capacity);

/* 0 if one more device fits; else -1 with a message for the user in err. */
int fdbudget_check_join(char err[NET_ERR_MAX]);

#endif
