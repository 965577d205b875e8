/* cmd_list.h -- list commands (LPUSH, LPOP, LRANGE, LMOVE, BLPOP, ...), as Redis 7.0's.
 *
 * Lists live on the collection storage, one element per entry at a dense run of positions
 * (cmd_list.c says how), so the single-entry commands cost O(log n) at any length. The
 * blocking pops evaluate as their non-blocking forms; the coordinator does the waiting.
 */
#ifndef TWOPC_CMD_LIST_H
#define TWOPC_CMD_LIST_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_list_table[];
extern const size_t cmd_list_count;

#endif
