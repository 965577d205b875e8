/* watch.h -- watched keys, and the writes in flight that may change them.
 *
 * A watcher is one client's set of WATCHed keys with a dirty flag. Three sources change
 * the picture:
 *   - watch_on_commit(), the round engine's commit hook, sees every committed op in commit
 *     order and marks dirty the watchers of the keys it changed. While any key is watched
 *     (watch_wanted()), each round's PREPARE asks the replicas which arguments of each op
 *     name a key the op changed (TPC.PREPARE TOUCHED, replica/participant.h), and only
 *     those keys count: as in Redis, a write that changes nothing (SETNX on an existing
 *     key, DEL of a missing key, a failed EXPIRE NX, FLUSHDB of an empty database) leaves
 *     a WATCH alone, while SET of the same value does not. A round that may flush
 *     (FLUSHDB, FLUSHALL, alone or in a TX) also sends every watched key (watch_keys(),
 *     TPC.PREPARE TOUCHED WATCHED), and a flush dirties, as in Redis, only the watchers of
 *     the keys that were alive just before it, plus, conservatively, those of keys watched
 *     after the list was taken (the replicas were not asked about them). A round whose
 *     PREPARE went out before the first key was watched carries no such answer; for its
 *     ops the hook is conservative: every watcher of a key the op may write (its key
 *     positions in the command table, a TX op's sub-commands one by one) is dirtied, and a
 *     write without key positions (FLUSHALL, FLUSHDB) or an op the table does not know
 *     dirties every watcher; so does a flush when more than 10,000 keys are watched (the
 *     list is not sent then: watch.c, WATCH_SENT_MAX);
 *   - watch_track_new() / watch_track_free() bracket every write from its submission to
 *     its decision (request.c does it for each command, multi.c for each TX), counted in
 *     a table of per-key-hash counters, so watch_busy() can tell whether a watched key may
 *     still change by a write already submitted (a hash collision only makes EXEC wait a
 *     little longer, never decide wrongly);
 *   - watch_key() / watch_free() add and drop keys.
 *
 * Databases: a watched key is (database, key). An op's arguments are in its DB wrapper's
 * database (op.h; a TX's sub-commands each in their own), the TOUCHED answer is read per
 * argument in that database, and MOVE's and COPY ... DB's target key is dirtied in the
 * target database whenever such a command commits. SWAPDB counts as a flush: the watched
 * keys (with their databases, DBS) go with its PREPARE, and a key is dirtied when it
 * existed in either swapped database, as Redis 7 does.
 *
 *     client A: WATCH k ──────────────── EXEC ── waits ─────── checks: dirty ─▶ *-1
 *     client B:        INCR k (tracked) ──── round commits: hook marks A dirty ──┘
 *
 * A watcher marked waiting (its EXEC waits) makes watch.c call the notify function set
 * with watch_set_notify() whenever the picture changes for it; the callee re-checks later
 * (from the event loop), never from inside the commit hook.
 *
 * Behaviour switch coord.bug.watch_no_wait (TWOPC_FAILPOINTS, test builds only): watch_busy()
 * always says no, so an EXEC can commit over a write it did not see; tests/clients proves
 * with it that its WATCH test catches lost updates.
 *
 * Writes submitted behind the coordinator's client layer (the expiry sweep's TPC.EXPIREDEL)
 * are seen by the commit hook, which dirties the watchers of the keys they delete (of every
 * argument, without the replicas' answer), but are not tracked: an EXEC racing such a
 * deletion may commit before it is noticed.
 */
#ifndef TWOPC_WATCH_H
#define TWOPC_WATCH_H

#include <stddef.h>

struct command;
struct op;
struct txn_keys;
struct watcher;
struct watch_track;

/* NULL when out of memory. */
struct watcher *watch_new(void);
/* Adds a key (once) of database db; returns 0 or -1 (out of memory). A watched key is
 * (db, key): a write to key in another database leaves it alone, as in Redis. watch_key is
 * watch_key_db in database 0. */
int watch_key_db(struct watcher *w, int db, const char *key, size_t len);
int watch_key(struct watcher *w, const char *key, size_t len);
size_t watch_count(const struct watcher *w);
int watch_dirty(const struct watcher *w);
/* True while a tracked, undecided write may change one of w's keys. */
int watch_busy(const struct watcher *w);
void watch_set_waiting(struct watcher *w, int yes);
/* Unregisters every key and frees w. Accepts NULL. */
void watch_free(struct watcher *w);

void watch_set_notify(void (*fn)(void));

/* The round engine's commit hook and its questions (txn.h;
 * txn_set_commit_hook(t, watch_on_commit, watch_wanted, watch_keys, NULL)):
 * watch_wanted() is true while any key is watched, so rounds ask the replicas what each
 * op changed only then; watch_keys() returns 1 with a copy of every watched key (keys's
 * memory is the caller's to free) for an op that may flush (FLUSHDB, FLUSHALL, alone or in
 * a TX), 0 for any other op or when more than WATCH_SENT_MAX keys are watched, -1 when out
 * of memory; watch_on_commit() reads the answers about those keys. */
void watch_on_commit(void *ctx, const struct op *op, const char *touched, size_t len,
                     const struct txn_keys *keys);
int watch_wanted(void *ctx);
int watch_keys(void *ctx, const struct op *op, struct txn_keys *keys);

/* Starts tracking the keys cmd writes (NULL if it writes none, or out of memory). */
struct watch_track *watch_track_new(const struct command *cmd, int argc, char *const *argv,
                                    const size_t *lens);
/* Adds one more command's keys to t (a TX); returns t, or a new track if t was NULL. */
struct watch_track *watch_track_add(struct watch_track *t, const struct command *cmd, int argc,
                                    char *const *argv, const size_t *lens);
/* The write was decided (or never submitted). Accepts NULL. */
void watch_track_free(struct watch_track *t);

#endif
