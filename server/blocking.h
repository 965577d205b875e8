/* blocking.h -- the blocking pops: BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN,
 * BZPOPMAX, BZMPOP.
 *
 * A blocking pop goes into a round like any write; the replicas evaluate it as its
 * non-blocking form (replica/cmd_list.c, cmd_zset.c), so a pop that finds an element is a
 * committed round and its reply is the element. One that finds none replies null; then,
 * unless its timeout has passed, the client is parked here instead of answered:
 *
 *     BLPOP q 5 ──round──> null ──> parked (FIFO, by when it first blocked)
 *                                     │  a committed op changed q (commit hook)
 *                                     ▼
 *                        submitted again, in blocking order ──> [q, x]  (answered)
 *                                                            └─> null   (parked again)
 *     timeout passes while parked ──> null (Redis 7.0's null array)
 *
 * So a pop is only ever part of a committed round: a client whose pop round fails gets
 * the round's error and nothing was taken. A blocked client's next commands wait for its
 * pop's answer (so a pipeline [BLPOP q 1, RPUSH q x] times out first, as in Redis). Clients are woken in the order they blocked
 * and their pops join the next rounds in that order, so the earliest gets the first
 * element; a plain LPOP submitted meanwhile by another client may still come first
 * (Redis serves blocked clients before the next command; here they queue like writes).
 * CLIENT UNBLOCK answers a parked client (null, or -UNBLOCKED with ERROR).
 */
#ifndef TWOPC_BLOCKING_H
#define TWOPC_BLOCKING_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct coord;
struct client;
struct op;

/* Registers the blocking commands. Returns 0, or -1 (out of memory). */
int blocking_init(struct coord *c);

/* The registry's function for every blocking command (data_cmd.c's table). */
void cmd_block(struct client *cl, const struct resp_request *req);

/* The commit hook's part: a committed op (touched as txn.h's commit hook gets it) wakes
 * the clients parked on a key it changed. */
void blocking_on_commit(const struct op *op, const char *touched, size_t len);
/* Whether any client is blocked (the commit hook then wants the touched strings). */
int blocking_wanted(void);
/* Whether the client has a blocking pop not answered yet: its next request waits (the
 * dispatcher parks it, client.h), as Redis runs nothing of a blocked client's. */
int blocking_waits(const struct client *cl);
/* How many blocking pops of the client are parked (client.h's `waiting` hook): 0 or 1. */
size_t blocking_parked(const struct client *cl);
/* The client's connection closed: its blocked pop, if any, is dropped. */
void blocking_forget(struct client *cl);
/* CLIENT UNBLOCK id [TIMEOUT|ERROR] (error: 1 for ERROR): 1 if that client was blocked
 * (answered now, or when its pop in flight comes back empty), 0 if not. */
int blocking_unblock(uint64_t id, int error);
/* INFO's blocked_clients (timed 0), or clients_in_timeout_table (timed 1: those with a
 * timeout). */
size_t blocking_count(int timed);

#endif
