/* cmd_sort.h -- SORT and SORT_RO (cmd_sort.c), as Redis 7.0's: over lists, sets and
 * sorted sets, with BY and GET patterns reading strings and hash fields, LIMIT, ASC/DESC,
 * ALPHA and STORE (SORT with STORE is a write; op_sort_stores() tells).
 */
#ifndef TWOPC_CMD_SORT_H
#define TWOPC_CMD_SORT_H

#include <stddef.h>

#include "exec_cmd.h"

extern const struct exec_cmd cmd_sort_table[];
extern const size_t cmd_sort_count;

#endif
