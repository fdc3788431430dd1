/* workers.h - the crypto worker pool (the kernel's "parallel queue").
 *
 * A job is one batch of packets and one pure function over a slice of it
 * (wg_proto_tx_seal / wg_proto_rx_open).  Workers take slices of queued jobs
 * in FIFO order; the submitting thread keeps the job's place in its own
 * in-order list (the "serial queue") and finishes jobs strictly in the order
 * it submitted them, so each peer's packets stay in order while the crypto
 * runs on every CPU.  A thread waiting for its job helps run it first, so
 * small batches never wait for a wake-up and a one-CPU machine does
 * everything inline.
 *
 * One pool is shared by every device of the process (wg_workers_get/put):
 * the plugin hosts a device per container, and per-device pools would
 * multiply threads by containers for no gain.
 */
#ifndef WGVSOCK_WORKERS_H
#define WGVSOCK_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include "wgcore/pkt.h"

#define WG_WORKERS_MAX 16u
#define WG_WORK_MIN_CHUNK 4u        /* packets per slice, at least */

typedef void (*wg_work_fn)(struct wg_pkt *pkts, unsigned n);

struct wg_job {
    wg_work_fn fn;
    struct wg_pkt *pkts;
    unsigned n, chunk;
    unsigned next;                  /* first unclaimed packet (pool lock) */
    uint32_t remaining;             /* packets not yet done (atomic, futex word) */
    struct wg_job *qnext;           /* pool queue link (pool lock) */
};

struct wg_workers;

/* A private pool of n threads (0 = run everything inline).  0 or -errno. */
int wg_workers_create(unsigned n, struct wg_workers **out);
void wg_workers_destroy(struct wg_workers *w);
unsigned wg_workers_count(const struct wg_workers *w);

/* The process-wide pool: online CPUs (capped at WG_WORKERS_MAX; none on a
 * single CPU), overridable with WGVSOCK_WORKERS=N.  NULL on failure, which
 * callers treat as "inline". */
struct wg_workers *wg_workers_get(void);
void wg_workers_put(struct wg_workers *w);

/* Queue fn over pkts[0..n).  Never blocks; with no workers (w NULL or
 * empty) or a tiny batch it runs fn right here.  The job and pkts must stay
 * valid until wg_job_done() or wg_workers_wait() says it is done. */
void wg_workers_submit(struct wg_workers *w, struct wg_job *job, wg_work_fn fn,
                       struct wg_pkt *pkts, unsigned n);
bool wg_job_done(const struct wg_job *job);
/* Help with the job, then sleep until its last slice is done. */
void wg_workers_wait(struct wg_workers *w, struct wg_job *job);

#endif
