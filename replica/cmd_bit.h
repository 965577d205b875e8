/* cmd_bit.h -- the bitmap commands on strings, as Redis 7.0 evaluates them.
 *
 * GETBIT SETBIT BITCOUNT BITPOS BITOP: evaluators for exec.c's registry (see exec_cmd.h for the
 * contract). Bit 0 is the most significant bit of the first byte; a missing key is an
 * empty string (all zero bits); SETBIT grows the value with zero bytes and keeps its TTL.
 */
#ifndef TWOPC_CMD_BIT_H
#define TWOPC_CMD_BIT_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_bit_table[];
extern const size_t cmd_bit_count;

#endif
