/* cmd_keys.h -- generic key commands and expiry, as Redis 7.0 evaluates them.
 *
 * DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX COPY, the EXPIRE family
 * (EXPIRE PEXPIRE EXPIREAT PEXPIREAT with NX XX GT LT), TTL PTTL EXPIRETIME PEXPIRETIME
 * PERSIST, and TPC.EXPIREDEL, the op of the coordinator's background expiry sweep:
 *
 *     TPC.EXPIREDEL key [key ...]   deletes each key that exists and is expired at the
 *                                   round's clock; replies with how many it deleted.
 *
 * It is safe however late the round runs: a key written again after the sweep found it
 * expired is not expired any more, and stays.
 */
#ifndef TWOPC_CMD_KEYS_H
#define TWOPC_CMD_KEYS_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_keys_table[];
extern const size_t cmd_keys_count;

#endif
