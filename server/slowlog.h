/* slowlog.h -- SLOWLOG (commands slower than slowlog-log-slower-than) and LATENCY.
 *
 * request.c times every command from its arrival to its reply (for a write, that includes
 * its 2PC round: the latency its client sees) and hands the slow ones to slowlog_add().
 * Entries are kept newest first, at most slowlog-max-len of them, each with Redis's six
 * fields: id, unix time, duration in microseconds, arguments (at most 32, each cut at 128
 * bytes, as Redis cuts them), client address and client name.
 *
 * LATENCY answers as a Redis with latency monitoring off does (empty LATEST/HISTORY): the
 * per-round timings are in INFO's twopc section instead.
 */
#ifndef TWOPC_SLOWLOG_H
#define TWOPC_SLOWLOG_H

#include <stddef.h>
#include <stdint.h>

struct op;

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_STRING 128

/* A command's arguments cut the way SLOWLOG keeps them, packed in a buffer the caller
 * reuses from command to command (request.c keeps one per pooled context), so that
 * remembering them costs no allocation. Zero-initialise; slowlog_args_free() at the end. */
struct slowlog_args {
    int argc;
    size_t lens[SLOWLOG_MAX_ARGC], offs[SLOWLOG_MAX_ARGC];
    char *buf;
    size_t len, cap;
};

/* Packs argv into a. Returns 0, or -1 when out of memory (a->argc is then 0). */
int slowlog_args_pack(struct slowlog_args *a, int argc, char *const *argv, const size_t *lens);
void slowlog_args_free(struct slowlog_args *a);

/* Records a slow command (copies what it keeps). */
void slowlog_add(const struct slowlog_args *a, uint64_t duration_us, const char *peer,
                 const char *name);

/* Registers SLOWLOG and LATENCY with the command registry. Returns 0, or -1 when out of
 * memory. */
int slowlog_init(void);

#endif
