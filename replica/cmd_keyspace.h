/* cmd_keyspace.h -- commands over a whole database: DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB
 * (which records a FLUSH only when some key is alive: a flush of an empty database changes
 * nothing, for WATCH too), FLUSHALL and SWAPDB over databases, and TPC.KEYSPACE (INFO
 * keyspace's numbers for one database). Each works in the op's database (exec.h).
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
#include <stdint.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_keyspace_table[];
extern const size_t cmd_keyspace_count;

/* Reads op->argv[i] as a database index the way Redis 7 does for SWAPDB, MOVE and COPY
 * ... DB: 0 with *db set, or -1 with the error written to w -- msg (SWAPDB's own texts) or
 * Redis's generic ones for a non-integer or out of int range, then "ERR DB index is out of
 * range" for a negative one (the coordinator sends -1 for one past `databases`). */
struct op;
struct resp_writer;
int cmd_keyspace_db_arg(const struct op *op, int i, const char *msg, int *db,
                        struct resp_writer *w);

/* Redis's parseScanCursorOrReply (SCAN, HSCAN, SSCAN): 0, or -1 for an invalid cursor. */
int cmd_keyspace_parse_cursor(const char *arg, uint64_t *cursor);

#endif
