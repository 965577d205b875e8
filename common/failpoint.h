/* failpoint.h -- named crash points for tests of crash recovery.
 *
 * A test build (cmake -DTWOPC_FAILPOINTS=ON, the default for `make test`) lets a test make a
 * process die at a named point of the protocol, e.g.
 *
 *     TWOPC_FAILPOINTS="replica.prepare.after_sync" twopc-replica ...
 *     TWOPC_FAILPOINTS="coord.commit.after_log=exit@3,journal.torn_write" twopc-server ...
 *
 * Each entry is NAME[=ACTION][@N]: ACTION is `abort` (SIGABRT, the default) or `exit`
 * (_exit(1), no cleanup); @N fires on the Nth time the point is reached (default 1st).
 * A process logs "failpoint NAME fired" to stderr just before dying.
 *
 * In a release build (-DTWOPC_FAILPOINTS=OFF) FAILPOINT() compiles to nothing and
 * failpoint_hit() to 0: they cost nothing. In a test build with the variable unset, each
 * point costs one predictable branch on a global flag.
 *
 * The points (grep FAILPOINT for where each sits):
 *   replica.prepare.before_log   evaluated, nothing logged yet (the vote is lost)
 *   replica.prepare.after_sync   PREPARE durable, vote not sent
 *   replica.commit.before_apply  COMMIT durable, SQLite not updated
 *   replica.commit.after_apply   SQLite updated, acknowledgement not sent
 *   coord.commit.before_log      every vote YES (the round is committed: the rule of durable
 *                                votes), nothing logged, sent or answered yet
 *   coord.commit.after_log       COMMIT handed to the log thread, TPC.COMMIT and the answers
 *                                queued but not flushed (recovery commits the round, from
 *                                the log or from the votes)
 *   journal.torn_write           half of a journal write reaches the file, then death
 *   journal.write_eio            half of a journal write reaches the file, then the write
 *                                fails with EIO (no death: the journal cuts back, retries)
 *   journal.fsync_eio            a journal fdatasync fails with EIO (the same)
 *
 * Behaviour switches (FAILPOINT_ON: no crash, a deliberate bug, on for the whole run) exist
 * only to prove that tests catch the bug:
 *   coord.bug.reply_before_commit  answer clients first and send COMMIT 200 ms later, so
 *                                  a read can miss an acknowledged write (stale read)
 *   coord.bug.watch_no_wait        EXEC checks WATCHed keys without waiting for writes to
 *                                  them still in flight (lost updates under WATCH)
 *   coord.bug.presumed_abort       recovery presumes aborted a round a replica holds in doubt
 *                                  with no decision logged, as before the rule of durable
 *                                  votes (a crash then loses a write answered OK on them)
 *   coord.bug.unfenced_abort       an aborted round's clients get their error, and the
 *                                  replicas TPC.ABORT, at once, with no ABORT logged (presumed
 *                                  abort's order: after a crash, recovery may find every vote
 *                                  YES and commit a write answered with an error)
 *   coord.bug.skip_in_doubt        a reconnecting replica is not sent the decisions it
 *                                  missed (rounds it holds in doubt, COMMITs it lacks)
 *   coord.bug.trust_failed_fsync   rounds whose COMMIT record is in a batch the decision log
 *                                  failed to make durable are committed anyway (fsyncgate:
 *                                  the simulator's --disk-errors must catch it)
 *   coord.bug.trust_lost_data      a replica whose TPC.HELLO shows lost data (a wiped disk,
 *                                  a folder restored from an older copy) is taken back
 */
#ifndef TWOPC_FAILPOINT_H
#define TWOPC_FAILPOINT_H

#ifdef TWOPC_FAILPOINTS
extern int failpoints_enabled;
/* Reads TWOPC_FAILPOINTS; call once at start-up. */
void failpoint_init(void);
/* True if the named point should fire now (counts hits). */
int failpoint_hit(const char *name);
/* Dies the way the point's action says. */
void failpoint_die(const char *name) __attribute__((noreturn));
#define FAILPOINT(name)                                                                     \
    do {                                                                                    \
        if (failpoints_enabled && failpoint_hit(name))                                      \
            failpoint_die(name);                                                            \
    } while (0)
#define FAILPOINT_HIT(name) (failpoints_enabled && failpoint_hit(name))
/* True if the named switch is listed (never counts, never dies). */
int failpoint_listed(const char *name);
#define FAILPOINT_ON(name) (failpoints_enabled && failpoint_listed(name))
#else
#define FAILPOINT_ON(name) 0
#define failpoint_init() ((void)0)
#define FAILPOINT(name) ((void)0)
#define FAILPOINT_HIT(name) 0
#define failpoint_die(name) ((void)0)
#endif

#endif
