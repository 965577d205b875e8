/* info.h -- INFO and COMMAND: what tools ask a server about itself.
 *
 * info_init() registers both with the command registry; INFO reads the round engine's
 * state through the coord handles, the counters from stats.h and the settings, and
 * COMMAND describes every registered command (registry.h).
 *
 * The versions HELLO and INFO report: twopc speaks the protocol and error texts of
 * Redis 7.0, so it introduces itself as that version (client libraries pick features by
 * it), and INFO's twopc_version gives its own.
 */
#ifndef TWOPC_INFO_H
#define TWOPC_INFO_H

#include "version.h"

#define INFO_REDIS_VERSION "7.0.0"
#define INFO_TWOPC_VERSION TWOPC_VERSION /* common/version.h */

struct coord;

/* Registers INFO and COMMAND. Returns 0, or -1 when out of memory. */
int info_init(struct coord *c);

#endif
