/* util.h -- small helpers both daemons need: strict integer parsing, host:port splitting.
 */
#ifndef TWOPC_UTIL_H
#define TWOPC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses p[0..len) as a decimal int64 the way Redis's string2ll does: optional '-', no
 * '+', no spaces, no leading zeros (except "0"), no overflow. Returns 0 or -1. */
int util_parse_i64(const char *p, size_t len, int64_t *out);

/* Same, for an unsigned 64-bit value. */
int util_parse_u64(const char *p, size_t len, uint64_t *out);

/* Redis's memtoull(): a number with an optional unit b, k, kb, m, mb, g, gb (any case).
 * Returns 0, or -1 for anything else or a value past LLONG_MAX. */
int util_parse_memory(const char *s, long long *out);

/* Gives freed heap memory back to the system (glibc's malloc_trim; nothing elsewhere).
 * For after a big structure has been freed: glibc keeps it otherwise, and RSS stays up. */
void util_trim_memory(void);

/* Splits "host:port" into host (copied into hostbuf) and port. Returns 0 or -1. */
int util_parse_addr(const char *addr, char *hostbuf, size_t hostlen, int *port);

/* Writes v in decimal into buf (at least 21 bytes); returns the length. */
size_t util_u64_to_str(uint64_t v, char *buf);

/* Milliseconds on a monotonic clock. */
uint64_t util_mono_ms(void);

/* How much longer than its base timeout a peer may honestly take over a piece of work of
 * `bytes` bytes and `items` items (ops, arguments): 1 ms per UTIL_WORK_BYTES_PER_MS bytes
 * plus 1 ms per UTIL_WORK_ITEMS_PER_MS items. The rates are a floor on what a 2-core
 * machine shared with other busy processes does end to end (receive, parse, copy, evaluate,
 * log, fsync, apply to SQLite): at load average 7 a 64 MB SET took 5 to 18 s to be voted
 * on (the vote log's fsync of 64 MB competing with other processes' disk writes), so the
 * floor is 2 MB/s and only a stuck peer outlasts the allowance. A 64 MB SET gets 32 s
 * more, a 512 MB SET 262 s, a 1,000,000-SET EXEC (3,000,000 arguments) 150 s; a 10-byte
 * SET nothing, so a stuck replica still costs it only the base timeout. Used by the round engine (a round's
 * prepare deadline) and the replica links' watchdog (a link busy with a big round is not
 * silent). */
#define UTIL_WORK_BYTES_PER_MS 2048
#define UTIL_WORK_ITEMS_PER_MS 20
uint64_t util_work_allowance_ms(uint64_t bytes, uint64_t items);

/* Unix time in milliseconds (the wall clock). */
uint64_t util_wall_ms(void);

/* mkdir -p for one level: creates path if absent. Returns 0 or -1 (errno set). */
int util_ensure_dir(const char *path);

#endif
