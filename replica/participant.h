/* participant.h -- the replica's side of two-phase commit: votes, outcomes, recovery.
 *
 * A participant owns the vote log and the store. It does no I/O of its own: it reaches the
 * log only through struct wal (wal.h) and SQLite only through store.h, so the production
 * replica (main.c: a journal file, data.sqlite, libevent) and the simulator (an in-memory
 * log and store_open_memory(), one thread, crashes and power cuts at will) drive the same
 * code. peer.c turns the coordinator's requests into the calls below. The coordinator
 * drives it with these requests, each answered into a resp_writer:
 *
 *   TPC.PREPARE [TOUCHED [WATCHED n key... [DBS db...]]] rid now_ms nops {argc arg...}*nops
 *                                            evaluate the ops (at the coordinator's
 *                                            clock now_ms), log PREPARED, vote:
 *                                  *3 +YES :durable $<the nops results, each a RESP2 reply,
 *                                  back to back>   or  -NO reason
 *                                  with TOUCHED: *<3+nops>, the same and then *nops of
 *                                  $<argc> of '0'/'1' ('1' at j: the op changed the key
 *                                  named by its argument j; for a TX op, j indexes the whole
 *                                  "TX n {argc arg...}*n") for an op that flushed nothing;
 *                                  for one that flushed a database holding a key, $"F", or
 *                                  with WATCHED $"F<n bits>|<argc bits>": bit i '1' if the
 *                                  listed key i was alive just before one of the op's
 *                                  flushes (or, for SWAPDB, in either database), then the
 *                                  per-argument string as above. DBS lists the keys'
 *                                  databases (n of them; absent: all 0). An op of database
 *                                  n != 0 is wrapped as DB n <command...> (op.h).
 *                                  The flags are not logged: the PREPARE record is the same
 *                                  with or without them.
 *   TPC.COMMIT rid                           log COMMIT, apply the round to SQLite, :durable
 *   TPC.ABORT rid                            log ABORT, forget the round, +OK
 *   TPC.DURABLE                              :durable, after making every COMMIT durable
 *   TPC.HELLO min max release *10 :applied_round :max_round_seen *n{:rid in doubt} :durable
 *                             :cluster_id :replica_id   (the identity, identity.h; :0 :0
 *                             when this replica has none), then the protocol version
 *                             both speak, the replica's min and max and its release
 *                             (peer.c: the negotiation, common/version.h)
 *
 * The ordering rule (invariant 5): a vote written into the writer may leave the process
 * only once the ticket participant_submit() returned for it is durable -- main.c holds the
 * staged replies of each batch until participant_log_progress() reports that ticket. If
 * the log thread fails the replica must exit.
 *
 * A COMMIT is not forced on its own: its record rides the next sync (the next PREPARE's,
 * or a lazy sync when idle), and the SQLite update it triggers survives a process crash.
 * "durable" in every vote and COMMIT acknowledgement is the highest round whose COMMIT is
 * durable here; the coordinator keeps a round's decision (no END) until every replica's
 * durable mark has passed it, so a replica that loses an unsynced COMMIT in a power cut
 * finds the round in doubt and the coordinator still knows the answer.
 *
 * Round states (one round per rid; participant.c has the transition table, the invariants
 * P1-P8 and participant_assert_state(), which checks them):
 *
 *     (none) ──PREPARE refused──▶ (none): vote NO, nothing logged
 *     (none) ──PREPARE ok──▶ LIVE ──COMMIT──▶ applied (round freed, applied_round = rid)
 *                             │ │  └─ABORT──▶ (round freed)
 *          HELLO (reconnect)  │ └─ABORT of a round ahead─▶ DOOMED ──ABORT──▶ (round freed)
 *                             ▼                               │ HELLO
 *                         IN_DOUBT ──ABORT of a round ahead─▶ IN_DOUBT_DOOMED ──ABORT──▶ (freed)
 *                             └──COMMIT──▶ applied, or ──ABORT──▶ (round freed)
 *     start-up: a PREPARE in the log without an outcome ──▶ REPLAYED (in doubt, evaluated
 *                             only when it commits) ──COMMIT──▶ applied / ──ABORT──▶ freed
 *
 * Several rounds may be LIVE at once (the coordinator pipelines them: each is evaluated on
 * top of the one directly ahead of it); an ABORT dooms every round evaluated after the
 * aborted one, and a DOOMED round can only abort. A PREPARE that arrives while the last
 * round is in doubt (REPLAYED, IN_DOUBT, IN_DOUBT_DOOMED) or doomed is refused, and a COMMIT
 * of any round but the oldest, or of a doomed one, is refused (a coordinator bug). Rounds
 * in doubt are reported by TPC.HELLO until the coordinator decides them.
 */
#ifndef TWOPC_PARTICIPANT_H
#define TWOPC_PARTICIPANT_H

#include <stddef.h>
#include <stdint.h>

#include "resp_parser.h"
#include "resp_writer.h"
#include "wal.h"

struct participant;
struct store;

/* Opens dir/votes.log and dir/data.sqlite and replays the log into the store: store_open
 * and participant_open_with(st, wal_journal_open, "dir/votes.log"). Returns NULL with a
 * message in err (e.g. corrupt log naming the file and offset). */
struct participant *participant_open(const char *dir, char *err, size_t errlen);

/* Opens a participant on st (taken over: participant_close closes it, and so does a failure
 * here) and on the log that open(arg, ...) opens and replays into it. Rounds PREPARED in the
 * log without an outcome come back in doubt; COMMITs past the store's applied_round are
 * applied; the store is then checkpointed (store_checkpoint). Returns NULL with err. */
struct participant *participant_open_with(struct store *st, wal_open_fn open, void *arg,
                                          char *err, size_t errlen);

/* Closes the log (wal_close) and the store, and frees p. Accepts NULL. */
void participant_close(struct participant *p);

/* Frees p and closes its log (wal_close, no sync) as a process crash would, but returns its
 * store open, for the simulator: the store is what SQLite kept across the crash (reopen a
 * participant on it), or, handed to store_power_loss(), what survives a power cut. Returns
 * NULL for NULL. */
struct store *participant_crash(struct participant *p);

void participant_prepare(struct participant *p, const struct resp_request *req,
                         struct resp_writer *w);
void participant_commit(struct participant *p, const struct resp_request *req,
                        struct resp_writer *w);
void participant_abort(struct participant *p, const struct resp_request *req,
                       struct resp_writer *w);
/* extra: how many elements the caller appends to the answer's array after these 6 (peer.c
 * adds the negotiated protocol version, the replica's range and its release). */
void participant_hello(struct participant *p, struct resp_writer *w, size_t extra);
void participant_durable(struct participant *p, struct resp_writer *w);

/* The log thread (journal.h) makes the vote log durable off the event loop; fn(ctx) runs on
 * base's loop whenever it made progress, and should call participant_log_progress(). Only
 * for a participant whose log came from wal_journal_open (wal_journal_start_thread); a
 * simulator instead calls participant_log_progress() when its log made progress. */
struct event_base;
int participant_start_log_thread(struct participant *p, struct event_base *base,
                                 void (*fn)(void *ctx), void *ctx, char *err, size_t errlen);

/* Hands the logged records to the log thread when a vote or a TPC.DURABLE answer waits
 * for them, or when force is set (the lazy timer). Returns the ticket that the replies
 * written so far must wait for (journal_durable), or 0 if none need to wait. */
uint64_t participant_submit(struct participant *p, int force);

/* After the log thread's progress: sets *done to the newest durable ticket (replies waiting
 * for it or an older one may leave), advances the durable mark, and, if the vote log has
 * grown past max_log_bytes, checkpoints SQLite and rewrites the log down to the rounds still
 * in doubt. Returns 0, or -1 with err: the caller must exit. */
int participant_log_progress(struct participant *p, uint64_t max_log_bytes, uint64_t *done,
                             char *err, size_t errlen);

/* Makes every logged record durable now, waiting for it (shutdown). Returns 0, or -1. */
int participant_sync(struct participant *p, char *err, size_t errlen);

/* True if records are buffered that no vote is waiting for (COMMIT/ABORT only): the owner
 * should call participant_submit(p, 1) soon, lazily (a timer), to advance the durable
 * mark. */
int participant_lazy_pending(const struct participant *p);

/* 1 while the vote log cannot make records durable (a full or failing disk; it retries by
 * itself), with the strerror text in cause; 0 when healthy. PREPAREs are refused with
 * MISCONF meanwhile. */
int participant_log_failing(struct participant *p, char *cause, size_t causelen);

struct store *participant_store(struct participant *p);

/* The replica's identity (identity.h), as loaded at open and changed by TPC.IDENTIFY and
 * TPC.RESTORE: *cluster and *replica, both 0 when it has none. */
void participant_identity(const struct participant *p, uint64_t *cluster, uint64_t *replica);

/* Checks every invariant of participant.c (P1-P8: the prepared list's rid order and states,
 * the under pointers, applied/committed/durable/max_rid, the sync marks); logs and aborts
 * on a violation. Already called after every prepare, commit, abort and hello; the
 * simulator may call it at any step. Compiled in with TWOPC_ASSERTS (the default), else
 * only without NDEBUG. */
void participant_assert_state(const struct participant *p);
size_t participant_in_doubt(const struct participant *p);

/* The session: the coordinator's connection (0: none yet). peer.c refuses the protocol's
 * commands from any other (see peer.h). A TPC.HELLO does not move it: it only answers the
 * replica's state (participant_hello) and remembers the connection with participant_changes()
 * as of that answer (participant_note_hello). The session moves at that connection's first
 * protocol command, and only if nothing changed since its answer (participant_take_session),
 * so a stranger's TPC.HELLO disturbs nothing, and a real coordinator's new connection decides
 * exactly the rounds its answer listed. */
uint64_t participant_session(const struct participant *p);
void participant_note_hello(struct participant *p, uint64_t conn);
/* conn's first protocol command: 0 if conn is (now) the session: its rounds prepared on
 * earlier connections became IN_DOUBT (or IN_DOUBT_DOOMED) and the session moved to it. -1
 * if conn never said TPC.HELLO (or so long ago that 16 later ones pushed it out), -2 if the
 * session ran commands since its answer, which is stale: it must say TPC.HELLO again. */
int participant_take_session(struct participant *p, uint64_t conn);
/* The session ran a protocol command: any answer to an earlier TPC.HELLO is stale. */
void participant_changed(struct participant *p);

#endif
