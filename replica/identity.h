/* identity.h -- which cluster this replica belongs to, and as which replica: TPC.IDENTIFY.
 *
 * A cluster has an id, a random nonzero 63-bit integer the coordinator chose when it
 * created its decision log (shown as 16 lowercase hex digits), and each replica a replica
 * id, a small positive integer the coordinator assigned. The replica keeps both in its
 * store (store.h: meta rows 'cluster_id' and 'replica_id'), with the data they vouch for,
 * and reports them in every TPC.HELLO answer (participant.h), so the coordinator can tell
 * a wiped replica (no identity: :0 :0), a replica of another cluster, and one that is
 * another member's folder, from the replica it expects.
 *
 * The identity changes in exactly three ways:
 *   TPC.IDENTIFY <cluster> <replica>   the coordinator adopts a replica (fenced: only the
 *                                      coordinator's connection, peer.h):
 *       +OK     if the replica had no identity or exactly this one, once it is stored and
 *               durable (SQLite checkpointed);
 *       -ERR TPC.IDENTIFY: this replica already belongs to cluster <16 hex> as replica <n>
 *               if it has another one: nothing changes (a replica is never moved from one
 *               cluster or id to another by a stray command; its folder must be wiped, or
 *               repaired, which clears it first);
 *       -ERR TPC.IDENTIFY: the cluster id must be an integer in [1, 2^63-1]   (and the same
 *               for the replica id) for a malformed or zero argument;
 *       -ERR storage error   if SQLite failed (logged);
 *   TPC.RESTORE BEGIN                  clears it with the data it vouched for (restore.c);
 *   TPC.RESTORE END <round> <cluster> <replica>   sets it with the copied data's round.
 * Both ids travel in decimal on the wire (RESP integers in TPC.HELLO), in hex only in logs.
 *
 *     identity_command(p, req, w);           // TPC.IDENTIFY, from peer.c
 *     if (identity_parse(req, 3, "TPC.RESTORE END", &c, &r, w) < 0) return;
 *     ... change the store ... identity_reload(p);
 *
 * Every function here writes at most one reply into w; the request stays the caller's.
 */
#ifndef TWOPC_IDENTITY_H
#define TWOPC_IDENTITY_H

#include <stdint.h>

#include "resp_parser.h"
#include "resp_writer.h"

struct participant;

/* TPC.IDENTIFY cluster replica (req->argc == 3 and the session fence are the caller's
 * checks): writes one reply, as above, and checks the participant's invariants. */
void identity_command(struct participant *p, const struct resp_request *req,
                      struct resp_writer *w);

/* Parses req->argv[at] and [at + 1] as a cluster id and a replica id, each in [1, 2^63-1].
 * Returns 0 with *cluster and *replica, or -1 having written "-ERR <what>: the ... id must
 * be ..." into w. */
int identity_parse(const struct resp_request *req, int at, const char *what,
                   uint64_t *cluster, uint64_t *replica, struct resp_writer *w);

/* The one setter of the participant's identity: reads it back from the store, which the
 * caller has just changed in a committed transaction, so memory never says more than the
 * store (invariant P8). Returns 0, or -1 on a store error (logged; the participant then
 * claims no identity). */
int identity_reload(struct participant *p);

#endif
