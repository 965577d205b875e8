/* cmd_list.h -- list commands (LPUSH, LPOP, LRANGE, LMOVE, BLPOP, ...), as Redis 7.0's.
 *
 * Lists live on the collection storage, one element per entry at a dense run of positions
 * (cmd_list.c says how), so the single-entry commands cost O(log n) at any length. The
 * blocking pops evaluate as their non-blocking forms; the coordinator does the waiting.
 */
#ifndef TWOPC_CMD_LIST_H
#define TWOPC_CMD_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "exec_cmd.h"

struct coll_list;

extern const struct exec_cmd cmd_list_table[];

/* Up to count entries of the list at k (a live list: the caller looked it up) from index
 * `from` toward the tail, or toward the head with rev, appended to out as elements whose
 * name is the entry (SORT's reading of a list). 0, or -1 (store error, out of memory). */
int cmd_list_entries(struct store *s, const struct effects *fx, const char *k, size_t klen,
                     int64_t from, int64_t count, int rev, struct coll_list *out);
/* Replaces whatever k held by a list of the names of entries' elements, in order, without
 * an expiry; no entries: deletes k (SORT ... STORE). 0, or -1 (store error, out of
 * memory). */
int cmd_list_store(struct store *s, struct effects *fx, const char *k, size_t klen,
                   const struct coll_list *entries);
extern const size_t cmd_list_count;

#endif
