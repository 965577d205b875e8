/* cmd_set.h -- the set commands, as Redis 7.0 evaluates them.
 *
 * SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SPOP [count] SRANDMEMBER [count] SMOVE
 * SINTER SINTERCARD (LIMIT) SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN
 * [MATCH] [COUNT]: evaluators for exec.c's registry (exec_cmd.h). A set is stored one row
 * per member (store.h), so SADD/SREM/SISMEMBER cost O(log n) per member whatever the
 * set's size. Replies are RESP2; the coordinator gives SMEMBERS, SINTER, SUNION and SDIFF
 * their RESP3 set type (server/reencode.c). Members come in position order
 * (store_elem_pos), not Redis's; SPOP and SRANDMEMBER draw the same on every replica
 * (coll.h).
 */
#ifndef TWOPC_CMD_SET_H
#define TWOPC_CMD_SET_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_set_table[];
extern const size_t cmd_set_count;

#endif
