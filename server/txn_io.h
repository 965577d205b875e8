/* txn_io.h -- the round engine (engine/txn.h) in the daemon: its effects mapped onto
 * hiredis links (replica_link.h), libevent timers and the journal's log thread, and its
 * completions onto client slots.
 *
 * The engine does no I/O of its own; this module is the thin adapter that gives it a world:
 *
 *     txn_new()          opens dir/decision.log (replayed by the engine), starts its log
 *                        thread, and connects one link per replica; each link's TPC.HELLO
 *                        answer goes to txn_link_hello() before the link is READY
 *     txn_submit_slot()  a client's write: the engine's answer is written into the slot
 *     txn_link()         the link of replica i, for the front end's own requests (reads,
 *     txn_read_link()    DEBUG DIGEST, DBSIZE, the expiry sweep)
 *     txn_free()         closes the links (their pending callbacks run with NULL), then
 *                        frees the engine after a last sync of the decision log
 *
 * Ownership: the engine returned by txn_new owns the adapter's state; txn_free frees both.
 */
#ifndef TWOPC_TXN_IO_H
#define TWOPC_TXN_IO_H

#include <stddef.h>
#include <stdint.h>

#include "replica_link.h"
#include "txn.h"

struct event_base;
struct slot;

/* Opens dir/decision.log (replaying it) and connects to the replicas. Returns NULL with a
 * message in err. */
struct txn *txn_new(struct event_base *base, const char *dir, const char *const *replicas,
                    int nreplicas, int prepare_timeout_ms, uint64_t max_log_bytes, char *err,
                    size_t errlen);
void txn_free(struct txn *t);

/* Takes ownership of op; the result (or error) is written into slot, then slot_done. */
void txn_submit_slot(struct txn *t, struct op *op, struct slot *slot);

struct link *txn_link(const struct txn *t, int i);
/* A READY, not stalled link for a read, round-robin; NULL if none. skip: a link to avoid
 * (or NULL). */
struct link *txn_read_link(struct txn *t, const struct link *skip);

#endif
