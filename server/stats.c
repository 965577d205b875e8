/* stats.c -- the counters INFO shows (see stats.h).
 *
 * Plain integers in one static struct, plus a ring of OPS_SAMPLES per-second rates for
 * instantaneous_ops_per_sec: each stats_sample() turns the commands counted since the
 * previous sample into a rate, and stats_get() averages the ring. The event loop is the
 * only thread that touches any of it.
 */
#include "stats.h"

#include <stddef.h>
#include <string.h>

#define OPS_SAMPLES 16

static struct stats counters;
static uint64_t ops_samples[OPS_SAMPLES], last_sample_ms, last_sample_cmds;
static size_t ops_sample_idx;

void stats_command(void) { counters.commands++; }
void stats_connection(void) { counters.connections++; }
void stats_rejected(void) { counters.rejected++; }

void stats_sample(uint64_t now_ms)
{
    if (last_sample_ms && now_ms > last_sample_ms) {
        uint64_t ops = counters.commands - last_sample_cmds;
        ops_samples[ops_sample_idx++ % OPS_SAMPLES] = ops * 1000 / (now_ms - last_sample_ms);
    }
    last_sample_ms = now_ms;
    last_sample_cmds = counters.commands;
}

void stats_get(struct stats *st)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < OPS_SAMPLES; i++)
        sum += ops_samples[i];
    *st = counters;
    st->ops_per_sec = sum / OPS_SAMPLES;
}

void stats_reset(void)
{
    memset(&counters, 0, sizeof counters);
    last_sample_cmds = 0;
    memset(ops_samples, 0, sizeof ops_samples);
}
