/* expire.h -- the coordinator's background expiry sweep.
 *
 * Expired keys are invisible at once (replicas judge expiry by the coordinator's clock on
 * every read and write), but their rows stay in each replica's SQLite until deleted. The
 * sweep deletes them through ordinary rounds, so every replica's storage loses them
 * identically and in order with the other writes:
 *
 *   every EXPIRE_SWEEP_MS, when every replica link is READY:
 *     1. ask one replica  TPC.EXPIRED <now> <EXPIRE_SWEEP_KEYS>   -> keys expired at now
 *     2. submit the internal write  TPC.EXPIREDEL <key...>  (txn_submit_internal), which
 *        each replica evaluates at the round's clock, deleting a key only if it is still
 *        expired then (a key written again meanwhile stays);
 *     3. nobody waits for its reply; a full batch makes the next sweep come sooner.
 *
 * Work per sweep is bounded (one query, one op of at most EXPIRE_SWEEP_KEYS keys), so a
 * mass expiry drains over a few seconds instead of stalling the loop.
 */
#ifndef TWOPC_EXPIRE_H
#define TWOPC_EXPIRE_H

struct coord;

/* Arms the sweep timer on c->base. Call once, after c->txn exists. */
void expire_start(struct coord *c);

#endif
