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
 * KEYS and SCAN's MATCH use Redis's glob matcher (common/glob.h).
 */
#ifndef TWOPC_CMD_KEYSPACE_H
#define TWOPC_CMD_KEYSPACE_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_keyspace_table[];
extern const size_t cmd_keyspace_count;

#endif
