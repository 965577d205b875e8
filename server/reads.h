/* reads.h -- the read batcher: client reads sent to the replicas, a batch per link and
 * loop turn, with retries on another replica.
 *
 * It sits beside the round engine, not in the client front end: it knows the replica
 * links and the engine's clock and link choice (txn.h, replica_link.h), and nothing of
 * clients. Whoever submits a read gets its answer through a callback:
 *
 *     reads_init(base, txn);                                    (once, at start-up)
 *     if (reads_submit(op, done, arg) < 0) ... no replica: answer the error yourself
 *     ...
 *     done(arg, reply, NULL)          the replica's reply (valid during the call only)
 *     done(arg, NULL, "ERR ...")      every replica tried dropped it, or none was there
 *
 * Every read submitted in one loop turn is queued on the link chosen for it, and at the
 * end of the turn each link's queue leaves as one TPC.MREAD (reads.c has the picture).
 *
 * Ownership: reads_submit() takes op in every case. It returns 0 when it accepted the
 * read: done then runs exactly once, from the event loop, never from inside reads_submit.
 * It returns -1 when no link could take it (none READY, or out of memory): done never
 * runs.
 */
#ifndef TWOPC_READS_H
#define TWOPC_READS_H

struct event_base;
struct link_reply;
struct op;
struct txn;

/* r: the reply (NULL on failure); err: Redis's error text when r is NULL, else NULL. */
typedef void (*reads_done_fn)(void *arg, const struct link_reply *r, const char *err);

void reads_init(struct event_base *base, struct txn *t);

/* op is the client's command as it came (GET k, MGET a b ...). */
int reads_submit(struct op *op, reads_done_fn done, void *arg);

#endif
