/* stats.h -- the coordinator's counters for INFO's Stats section.
 *
 * A small module with no dependencies: the modules that see an event count it here
 * (client.c a connection accepted or refused, request.c a command processed), INFO reads
 * the totals, CONFIG RESETSTAT clears them, and main.c's cron samples the command count
 * every STATS_SAMPLE_MS for instantaneous_ops_per_sec (the mean of the last 16 samples, as
 * Redis computes it).
 *
 *     stats_connection();          stats_command();          stats_sample(util_mono_ms());
 *     struct stats st; stats_get(&st);   ...   stats_reset();
 */
#ifndef TWOPC_STATS_H
#define TWOPC_STATS_H

#include <stdint.h>

/* How often main.c calls stats_sample() (also its idle-client check, see client.h). */
#define STATS_SAMPLE_MS 100

struct stats {
    uint64_t commands;    /* total_commands_processed */
    uint64_t ops_per_sec; /* instantaneous_ops_per_sec */
    uint64_t connections; /* total_connections_received */
    uint64_t rejected;    /* rejected_connections (maxclients) */
};

void stats_command(void);
void stats_connection(void);
void stats_rejected(void);

/* Records the command count at now_ms (a monotonic clock in milliseconds). */
void stats_sample(uint64_t now_ms);

void stats_get(struct stats *st);
/* Zeroes every counter and the ops/sec samples (CONFIG RESETSTAT). */
void stats_reset(void);

#endif
