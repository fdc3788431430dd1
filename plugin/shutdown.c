/* shutdown.c - the driver's shutdown: every device released at once (see
 * shutdown.h). */
#include <pthread.h>

#include "plugin/attested_hub.h"
#include "plugin/shutdown.h"

#define DESTROY_BATCH 64

struct destroy_job {
    struct plugin *p;
    void *dev;
    pthread_t thread;
    bool started;
};

static void *destroy_thread(void *arg)
{
    struct destroy_job *j = arg;

    if (j->p->tun->release)
        j->p->tun->release(j->p->tun_ctx, j->dev);
    else
        j->p->tun->destroy(j->p->tun_ctx, j->dev);
    return NULL;
}

/* In parallel (DESTROY_BATCH threads at a time): each destroy waits for its
 * device's threads (a few hundred ms), and Docker gives a stopping plugin
 * only seconds before SIGKILL. */
void plugin_destroy_devices(struct plugin *p)
{
    void *devs[DESTROY_BATCH];
    struct destroy_job jobs[DESTROY_BATCH];
    size_t n;

    ah_stop();          /* the attested-hub refresher touches devices too */

    do {
        n = state_take_devices(p->state, NULL, false, devs, DESTROY_BATCH);
        for (size_t i = 0; i < n; i++) {
            jobs[i] = (struct destroy_job){ .p = p, .dev = devs[i] };
            jobs[i].started =
                pthread_create(&jobs[i].thread, NULL, destroy_thread, &jobs[i]) == 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (jobs[i].started)
                pthread_join(jobs[i].thread, NULL);
            else
                destroy_thread(&jobs[i]);
        }
    } while (n == DESTROY_BATCH);
}
