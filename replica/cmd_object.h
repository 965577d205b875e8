/* cmd_object.h -- OBJECT ENCODING, REFCOUNT, IDLETIME, FREQ and HELP on strings, the answers
 * Redis 7.0 would give as far as a value alone tells them.
 *
 * twopc stores a value's bytes, not Redis's object, so the answers are derived from the
 * bytes by Redis's rules for a value that SET (or MSET, GETSET, INCR...) stored:
 *
 *     ENCODING   "int" for an integer string2l accepts (at most 20 bytes), "embstr" up to
 *                44 bytes, "raw" beyond; null for a missing key
 *     REFCOUNT   2147483647 for the shared integers 0..9999 (Redis shares them while no
 *                maxmemory LRU/LFU policy forbids it), else 1
 *     IDLETIME   0: twopc does not track access times
 *     FREQ       Redis's error for a policy that is not LFU (twopc accepts maxmemory-policy
 *                without effect, so access frequency is never tracked)
 *
 * Where Redis's answer depends on how the value was made (APPEND, SETRANGE, SETBIT,
 * BITFIELD leave a "raw" value with one reference, COPY an unshared one), twopc's differs;
 * tests/compat/README.md lists the differences. A read: EXEC_READ.
 */
#ifndef TWOPC_CMD_OBJECT_H
#define TWOPC_CMD_OBJECT_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_object_table[];
extern const size_t cmd_object_count;

#endif
