/* clock.h - the clocks the device reads and hands to the protocol.
 *
 * The protocol never reads a clock (proto.h): the device passes "now"
 * (monotonic ns) into every call, and the wall clock through
 * wg_proto_io.realtime, so tests drive two protocols with a fake clock.
 */
#ifndef WGVSOCK_CLOCK_H
#define WGVSOCK_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns: the "now" the device passes in. */
uint64_t wg_now(void);
/* CLOCK_REALTIME (ns since the epoch) at the monotonic instant now (a past
 * one, or a test's): the wall clock shifted by the same distance.  Has the
 * signature of wg_proto_io.realtime; ctx is unused. */
uint64_t wg_clock_realtime(void *ctx, uint64_t now);

#endif
