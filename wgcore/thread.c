/* thread.c - see thread.h. */
#include <signal.h>

#include "wgcore/thread.h"

int wg_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    int err;

    /* A new thread inherits its creator's mask: block everything around
     * the create, then give the caller its own mask back. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -err;
}
