/* plugin.c - what the call handlers share (reading a request's IDs, the
 * crash test hook) and the driver's shutdown (releasing every device at
 * once). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/attested_hub.h"
#include "plugin/plugin.h"

int pl_request_id(const json_t *req, const char *key, char out[PL_ID_MAX + 1],
                  char err[NET_ERR_MAX])
{
    const char *s = json_string_value(json_object_get(req, key));

    if (!s || !state_valid_id(s))
        return net_fail(err, "malformed request: missing or invalid %s", key);
    strcpy(out, s);
    return 0;
}

void pl_crash_point(const char *name)
{
    const char *at = getenv("WGVSOCK_CRASH_AT");

    if (at && !strcmp(at, name))
        raise(SIGKILL);
}

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
