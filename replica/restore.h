/* restore.h -- a full resync of a replica that lost data, the replica's half (issue #11).
 *
 * A replica whose data is incomplete (a wiped disk, a folder restored from an older copy)
 * is refused by the coordinator (its link goes to needs-repair). The coordinator repairs it
 * by copying every row of a healthy *source* replica to the *target* through itself, with
 * four requests that peer.c routes here:
 *
 *   on the source (read-only, any connection):
 *     TPC.DUMP <cursor> <count>      *3 :<applied_round> :<next cursor, 0 at the end>
 *                                    *<3n>{$key $value :exp}   (exp: absolute Unix ms, 0:
 *                                    none); a collection (hash, set) is the rows
 *                                    {$key $"<exp>" :-t} (t its enum store_type) then
 *                                    {$field $value :-1000} per element, all in the same
 *                                    chunk; up to count keys (plus ties) in SCAN order from
 *                                    cursor (0: the start); -ERR TPC.DUMP refused: rounds
 *                                    are in flight   while any round is prepared here;
 *                                    -ERR bad count   unless 1 <= count <= 100000
 *   on the target (fenced: only the coordinator's connection, see peer.h):
 *     TPC.RESTORE BEGIN              drop every prepared round (logging nothing), empty the
 *                                    store, applied_round 0, clear the identity
 *                                    (identity.h: TPC.HELLO then says :0 :0); +OK
 *     TPC.RESTORE ROWS {k v exp}...  store every row, in one SQLite transaction; :<n rows>
 *                                    (-ERR bad expiry, or Redis's wrong-number-of-arguments
 *                                    error unless the count after ROWS is 3n, n >= 1)
 *     TPC.RESTORE END <round> [<cluster> <replica>]
 *                                    applied_round = round, and the identity when given (in
 *                                    the same transaction; without it, the identity stays
 *                                    as it is); checkpoint SQLite, rewrite the vote log to
 *                                    SEEN <max_rid>; :<round> once durable. -ERR bad round
 *                                    id; -ERR TPC.RESTORE END: the cluster (or replica) id
 *                                    must be an integer in [1, 2^63-1]; Redis's
 *                                    wrong-number-of-arguments error unless END is
 *                                    followed by 1 or 3 arguments
 * Any store failure answers -ERR storage error (and logs a warning).
 *
 * The coordinator pauses new rounds and waits until every round is decided and applied on
 * the source before the copy, so the source's applied_round names exactly the data DUMP
 * returns, and nothing is prepared on the target between BEGIN and END. A fresh TPC.HELLO
 * then reports the target complete at that round.
 *
 * Crash safety. BEGIN also rewrites the vote log (after a checkpoint, as a compaction
 * does), so the old records cannot be replayed onto the emptied store after a crash:
 *   - a crash between BEGIN and END leaves applied_round 0 and no identity (the store
 *     emptied, or, after a power cut, its state at BEGIN's checkpoint, still incomplete),
 *     with whatever rows were copied: the coordinator finds the replica incomplete again
 *     and restarts with BEGIN;
 *   - END answers only once SQLite is checkpointed and the vote log rewritten, so after its
 *     reply a crash, even a power cut, keeps the restored rows, applied_round and the
 *     identity END set.
 *
 * Each function writes exactly one reply into w and checks the participant's invariants
 * (participant_assert_state) afterwards. The request's memory stays the caller's.
 */
#ifndef TWOPC_RESTORE_H
#define TWOPC_RESTORE_H

#include "resp_parser.h"
#include "resp_writer.h"

struct participant;

/* TPC.DUMP cursor count (req->argc == 3, checked by the caller). */
void restore_dump(struct participant *p, const struct resp_request *req,
                  struct resp_writer *w);

/* TPC.RESTORE BEGIN | ROWS k v exp... | END round [cluster replica] (req->argc >= 2, checked
 * by the caller; the session fence too). */
void restore_command(struct participant *p, const struct resp_request *req,
                     struct resp_writer *w);

#endif
