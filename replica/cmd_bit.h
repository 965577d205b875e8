/* cmd_bit.h -- the bitmap commands on strings, as Redis 7.0 evaluates them.
 *
 * GETBIT SETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO: evaluators for exec.c's registry
 * (see exec_cmd.h for the contract). Bit 0 is the most significant bit of the first byte;
 * a missing key is an empty string (all zero bits); SETBIT and BITFIELD grow the value
 * with zero bytes and keep its TTL. BITFIELD with only GETs is a read.
 *
 * The overflow arithmetic of BITFIELD's SET and INCRBY is exported for the unit tests.
 */
#ifndef TWOPC_CMD_BIT_H
#define TWOPC_CMD_BIT_H

#include <stddef.h>
#include <stdint.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_bit_table[];
extern const size_t cmd_bit_count;

/* value + incr in an unsigned field of bits (1..63) bits, or a signed one of 1..64 (SET
 * checks its value with incr 0). Returns 0 (no overflow), 1 (past the maximum) or -1
 * (below the minimum); *result is the sum, or on overflow what how makes of it:
 * CMD_BIT_WRAP modulo 2^bits (signed: sign-extended), CMD_BIT_SAT the limit crossed,
 * CMD_BIT_FAIL the same as WRAP (the caller writes nothing). */
enum { CMD_BIT_WRAP, CMD_BIT_SAT, CMD_BIT_FAIL };
int cmd_bit_overflow_unsigned(uint64_t value, int64_t incr, int bits, int how,
                              uint64_t *result);
int cmd_bit_overflow_signed(int64_t value, int64_t incr, int bits, int how, int64_t *result);

#endif
