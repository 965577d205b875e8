/* cmd_keyspace.h -- commands over the whole keyspace: DBSIZE, KEYS, SCAN, RANDOMKEY, and
 * FLUSHDB / FLUSHALL (which record a FLUSH only when some key is alive: a flush of an empty
 * database changes nothing, for WATCH too).
 *
 * They see what a point lookup sees: committed keys as changed by the effects recorded
 * ahead (inside a TX or a pipelined round), minus keys expired at the round's clock.
 *
 * Order: keys come in SCAN order, (store_key_hash(k), k) -- the same on every replica.
 * SCAN's cursor is the hash position to resume at (0: start, and end), so a key that
 * exists for the whole iteration is returned at least once whatever is written meanwhile
 * and whichever replica serves each call; see store.h. COUNT is the number of positions
 * examined, as in Redis (fewer keys come back when MATCH or TYPE filter some out).
 *
 * cmd_keyspace_match() is Redis's glob matcher (stringmatchlen, case-sensitive), with its
 * quirks: '\' escapes, [a-z] and [^...] classes, an unterminated '[' and byte ranges
 * compared as signed chars, and its limit of 1000 nested '*'.
 */
#ifndef TWOPC_CMD_KEYSPACE_H
#define TWOPC_CMD_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_keyspace_table[];
extern const size_t cmd_keyspace_count;

/* True if s[0..slen) matches pattern p[0..plen); p[plen] must be readable (a NUL, as
 * every op argument has). */
int cmd_keyspace_match(const char *p, size_t plen, const char *s, size_t slen);

/* Redis's parseScanCursorOrReply (SCAN, HSCAN, SSCAN): 0, or -1 for an invalid cursor. */
int cmd_keyspace_parse_cursor(const char *arg, uint64_t *cursor);

#endif
