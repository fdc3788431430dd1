/* thread.h - how wgcore starts its threads.
 *
 * Every engine thread (TX, crypto workers, transport receive, control) is
 * started with all signals blocked: signals belong to the application's
 * threads (wgvsockd, the plugin), and a library must not rely on its caller
 * having blocked them first.  Each thread names itself (wg-tx, wg-crypt,
 * wg-udp-rx, wg-stream, wg-ctl) with pthread_setname_np on its first line,
 * which needs no /proc.
 */
#ifndef WGVSOCK_THREAD_H
#define WGVSOCK_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread; the caller's
 * own mask is unchanged afterwards.  0 or -errno. */
int wg_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
