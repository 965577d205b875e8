/* cmd_hash.h -- the hash commands, as Redis 7.0 evaluates them.
 *
 * HSET HMSET HSETNX HGET HMGET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL HINCRBY
 * HINCRBYFLOAT HRANDFIELD [count [WITHVALUES]] HSCAN [MATCH] [COUNT]: evaluators for
 * exec.c's registry (exec_cmd.h). A hash is stored one row per field (store.h), so a
 * single-field command costs O(log n) whatever the hash's size. Replies are RESP2; the
 * coordinator gives HGETALL its RESP3 map (server/reencode.c). HKEYS, HVALS, HGETALL and
 * HSCAN list fields in position order (store_elem_pos), not Redis's: clients may rely on
 * no order. HRANDFIELD's picks are deterministic per round (coll.h), so every replica
 * answers the same.
 */
#ifndef TWOPC_CMD_HASH_H
#define TWOPC_CMD_HASH_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_hash_table[];
extern const size_t cmd_hash_count;

#endif
