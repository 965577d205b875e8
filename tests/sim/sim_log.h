/* sim_log.h -- the simulator's disk: a protocol log file in memory, and the struct wal
 * (common/wal.h) that a simulated process opens on it.
 *
 * A struct sim_file outlives the processes that open it, as a file outlives a crash. Its
 * bytes are, in order:
 *
 *     [0, durable)        synced: survive anything
 *     [durable, len)      handed to the "log thread" (wal_submit) but not yet synced: a
 *                         crash keeps any prefix of them, possibly cut inside a record
 *
 * Records appended but not yet submitted live in the open log's own buffer and are lost by
 * a crash. A sync completes when the simulator says so (sim_log_sync_done), which is how
 * fsync latency, group commit and pauses of the log thread are simulated; wal_sync() (a
 * forced sync: shutdown, compaction) completes at once.
 *
 *     struct sim_file *f = sim_file_new();
 *     struct wal *w = sim_log_open(f, replay_fn, ctx, &info, err, sizeof err);  // replays
 *     ... the process appends and submits; sim calls sim_log_sync_done(w) later ...
 *     sim_log_crash(w, keep);   // the process dies: f cut to durable + keep; w dead
     participant_crash(p);     // the owner's teardown wal_close()s w: freed
 *     w = sim_log_open(f, ...); // the process restarts and replays what survived
 *
 * Opening replays with record_decode (record.h), the decoder of the real journal, and
 * applies the journal's rule: a bad last line is a torn tail and is cut; a bad line with a
 * good one after it is corruption, and the open fails.
 */
#ifndef TWOPC_SIM_LOG_H
#define TWOPC_SIM_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "wal.h"

struct sim_file;

struct sim_file *sim_file_new(void);
void sim_file_free(struct sim_file *f);
size_t sim_file_durable(const struct sim_file *f);
size_t sim_file_len(const struct sim_file *f);
/* The file's bytes (len of them). Valid until the file changes. */
const char *sim_file_bytes(const struct sim_file *f);
/* fn(ctx) runs whenever more of the file became durable, and after a rewrite replaced it
 * (so an observer sees every record that was ever durable). */
void sim_file_on_durable(struct sim_file *f, void (*fn)(void *ctx), void *ctx);
/* A copy of f (its bytes, all durable): an older copy of a folder, restored later. NULL
 * when out of memory. */
struct sim_file *sim_file_copy(const struct sim_file *f);
/* Times the file was replaced by a rewrite (compaction). */
uint64_t sim_file_rewrites(const struct sim_file *f);

/* A wal_open_fn: arg is the struct sim_file. */
struct wal *sim_log_open(void *file, journal_replay_fn fn, void *ctx,
                         struct journal_info *info, char *err, size_t errlen);

/* Called on every wal_submit of this log (the simulator schedules the sync's completion). */
void sim_log_on_submit(struct wal *w, void (*fn)(void *ctx), void *ctx);

/* The disk fails the next `syncs` syncs of the log thread (EIO, ENOSPC): each failed
 * one cuts the file back to its durable size and keeps the cut records in memory to write
 * again (common/journal.c's rule), wal_failing() says so, and a retry is scheduled through
 * the on_submit callback. A crash meanwhile loses them. Forced syncs (wal_sync) never
 * fail. */
void sim_log_fail(struct wal *w, int syncs);

/* The log thread's sync completes: everything submitted so far is durable (or, while
 * sim_log_fail has syncs to fail, nothing new is). */
void sim_log_sync_done(struct wal *w);

/* True if records were submitted and are not yet durable. */
int sim_log_sync_wanted(const struct wal *w);

/* The process holding w dies: the file keeps its durable bytes plus `keep` of the others
 * (capped), which may end inside a record, and w is dead: every later call on it does
 * nothing (the owner's own teardown then calls wal_close, which frees it). */
void sim_log_crash(struct wal *w, size_t keep);

#endif
