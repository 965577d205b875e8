/* cmd_string.h -- the string commands, as Redis 7.0 evaluates them.
 *
 * (Bitmaps: cmd_bit.h.) GET SET (every option) SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX APPEND
 * STRLEN GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT LCS: evaluators for
 * exec.c's registry (see exec_cmd.h for the contract). On a key of another type (a hash,
 * a set) they answer Redis's WRONGTYPE error, except where Redis ignores the type: SET
 * without GET and MSET replace it, SETNX and MSETNX see that it exists, MGET answers nil.
 */
#ifndef TWOPC_CMD_STRING_H
#define TWOPC_CMD_STRING_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_string_table[];
extern const size_t cmd_string_count;

#endif
