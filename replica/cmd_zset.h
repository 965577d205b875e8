/* cmd_zset.h -- sorted-set commands, Redis 7.0's t_zset.c semantics (cmd_zset.c):
 * ZADD [NX|XX] [GT|LT] [CH] [INCR] ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZCOUNT ZLEXCOUNT ZRANK
 * ZREVRANK ZRANGE [BYSCORE|BYLEX] [REV] [LIMIT] [WITHSCORES] ZRANGEBYSCORE ZREVRANGEBYSCORE
 * ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZRANGESTORE ZPOPMIN ZPOPMAX ZREMRANGEBYRANK
 * ZREMRANGEBYSCORE ZREMRANGEBYLEX ZRANDMEMBER [count [WITHSCORES]] ZSCAN, and ZUNION ZINTER
 * ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE [WEIGHTS] [AGGREGATE] [WITHSCORES] ZINTERCARD [LIMIT]
 * (inputs may be sets: every score 1), ZMPOP [COUNT].
 *
 * A sorted set is a collection of type STORE_ZSET (store.h): one element per member, its
 * score in the element's value as Redis formats a double (%.17g, "inf", "-inf"), so the
 * repair transfer and the digest carry scores with no special case. ZSCAN lists members in
 * position order (store_elem_pos), not Redis's; ZRANDMEMBER's picks are deterministic per
 * round (coll.h), so every replica answers the same.
 */
#ifndef TWOPC_CMD_ZSET_H
#define TWOPC_CMD_ZSET_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_zset_table[];
extern const size_t cmd_zset_count;

#endif
