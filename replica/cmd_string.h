/* cmd_string.h -- the string commands, as Redis 7.0 evaluates them.
 *
 * (Bitmaps: cmd_bit.h.) GET SET (every option) SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX APPEND
 * STRLEN GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT LCS: evaluators for
 * exec.c's registry (see exec_cmd.h for the contract). Only strings exist in twopc, so no
 * command here ever answers WRONGTYPE.
 */
#ifndef TWOPC_CMD_STRING_H
#define TWOPC_CMD_STRING_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_string_table[];
extern const size_t cmd_string_count;

#endif
