/* txn.h -- the coordinator's 2PC round engine and its decision log.
 *
 * Writes are submitted one op at a time with a slot to answer; every op waiting when a
 * round starts joins that round (one PREPARE per replica, one decision-log fsync for the
 * whole batch). A round starts at the end of the current event-loop turn, so all writes
 * parsed in one turn (a pipelined burst, many clients) share it.
 *
 * Round states (the transition table is in txn.c):
 *
 *     PREPARING ──all YES──▶ COMMITTED (COMMIT durable, replies sent) ──all acks──▶ ENDED
 *         │
 *         └──NO / link lost / timeout / divergence──▶ ABORTED (errors sent; presumed abort)
 *
 * One round is PREPARING at a time; the next starts as soon as the current one is decided
 * (the decision reaches each replica ahead of the next PREPARE on the same pipelined link),
 * while committed rounds wait for their acknowledgements in the background.
 *
 * Decision log records: "COMMIT <rid>" (forced before any client hears OK) and
 * "END <rid>" (not forced; a lost END only means re-sending a COMMIT after a restart).
 * On start-up every COMMIT without END is re-sent to every replica. When the log grows past
 * max_log_bytes it is rewritten down to "NEXT <next rid>" and the COMMITs not yet ENDed.
 */
#ifndef TWOPC_TXN_H
#define TWOPC_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "replica_link.h"

struct event_base;
struct op;
struct slot;
struct txn;

struct txn_stats {
    uint64_t committed, aborted, ops_committed, next_rid;
    size_t pending_ops, unacked_rounds;
};

/* Opens dir/decision.log (replaying it) and connects to the replicas. Returns NULL with a
 * message in err. */
struct txn *txn_new(struct event_base *base, const char *dir, const char *const *replicas,
                    int nreplicas, int prepare_timeout_ms, uint64_t max_log_bytes, char *err,
                    size_t errlen);
void txn_free(struct txn *t);

/* Keys a round's PREPARE carried (TPC.PREPARE TOUCHED WATCHED n key...): key i is
 * p[off[i] .. off[i + 1]); mark is the hook's own, handed back unchanged. p and off are
 * malloc'd; the round frees them. */
struct txn_keys {
    size_t n;
    char *p;
    size_t *off;
    uint64_t mark;
};

/* Called for every op of every committed round, in commit order, before the replies go
 * out (WATCH uses it to learn which keys changed). touched, when not NULL, is what the
 * replicas reported about the op (len bytes, not NUL-terminated): for an op that flushed
 * nothing, one '0' or '1' per argument, '1' where the argument names a key the op changed
 * (a TX op's positions index its whole "TX n {argc arg...}*n"); for one that flushed a
 * database holding a key, "F", or, when the round's PREPARE carried keys (keys not NULL),
 * "F<keys->n bits>|<one per argument>": bit i '1' if key i was alive just before one of
 * the op's flushes. touched is NULL when the round did not ask for it (wanted() said no
 * when its PREPARE went out) or a replica's vote lacked it: then nothing is known beyond
 * the op itself. */
typedef void (*txn_commit_hook)(void *ctx, const struct op *op, const char *touched,
                                size_t len, const struct txn_keys *keys);
/* Asked as each round's PREPARE goes out: nonzero if the hook wants the touched strings
 * (the replicas compute them only then: TPC.PREPARE TOUCHED). NULL: never. */
typedef int (*txn_commit_hook_wanted)(void *ctx);
/* Asked next, only when wanted() said yes, for the round's ops in order until it returns
 * nonzero: 0 if op cannot flush a database (or the hook wants no keys for it); 1 when it
 * may, after filling *keys with the keys whose fate in a flush the hook wants to learn
 * (sent with the PREPARE, and given back to the hook at commit); -1 if out of memory
 * (nothing filled; the round goes without keys). NULL: never. */
typedef int (*txn_commit_hook_keys)(void *ctx, const struct op *op, struct txn_keys *keys);
void txn_set_commit_hook(struct txn *t, txn_commit_hook fn, txn_commit_hook_wanted wanted,
                         txn_commit_hook_keys keys, void *ctx);

/* How many rounds may be PREPARING at once (pipelining; default 1). */
void txn_set_max_inflight(struct txn *t, int n);

/* Takes ownership of op; the result (or error) is written into slot, then slot_done. */
void txn_submit(struct txn *t, struct op *op, struct slot *slot);

/* Submits a write that no client waits for (the background expiry sweep): it joins a
 * round like any op, and its result or error goes nowhere. Takes ownership of op. */
void txn_submit_internal(struct txn *t, struct op *op);

/* The coordinator's clock (Unix ms), never below what an earlier round or read was given:
 * reads carry it to the replica (TPC.READ) so that expiry is judged as of one instant that
 * is at least every earlier round's. */
uint64_t txn_now_ms(struct txn *t);

int txn_nlinks(const struct txn *t);
int txn_prepare_timeout_ms(const struct txn *t);
struct link *txn_link(const struct txn *t, int i);
/* A READY, not stalled link for a read, round-robin; NULL if none. skip: a link to avoid
 * (or NULL). */
struct link *txn_read_link(struct txn *t, const struct link *skip);
void txn_get_stats(const struct txn *t, struct txn_stats *st);

#endif
