/* journal.h -- an append-only file of records (record.h), made durable on request.
 *
 * The coordinator's decision log and every replica's vote log are journals. Opening one
 * replays it: each valid record is handed to a callback in file order. A torn tail (a
 * crash in the middle of an append: an incomplete or bad last record, with no valid record
 * after it) is reported and cut off; a bad record followed by valid ones is corruption, and
 * opening fails with a message that names the file and the byte offset, leaving the file
 * untouched for a human to inspect.
 *
 *     struct journal_info info;
 *     struct journal *j = journal_open("votes.log", on_record, ctx, &info, err, sizeof err);
 *     if (!j) die(err);
 *     if (info.torn_bytes) warn("cut %zu torn bytes at offset %lld", ...);
 *     journal_append(j, argc, argv, lens);      // buffered in memory
 *     journal_append(j, ...);
 *     if (journal_sync(j, err, sizeof err) < 0) ...;  // write + fdatasync: durable now
 *     journal_close(j);
 *
 * Ordering contract: a record is durable only once journal_sync() has returned 0 after it
 * was appended. Callers send the vote / reply that depends on a record only after that.
 * If a write or fsync fails (a full disk, EIO), the records stay buffered and are not
 * durable; the journal is "failing" (journal_failing) until a later attempt has cut the
 * file back to its last durable offset, written them again and fdatasynced them (see
 * journal.c: the page cache is never trusted after a failed fsync). The caller does not
 * exit: it refuses new work that needs the log while journal_failing() says so.
 */
#ifndef TWOPC_JOURNAL_H
#define TWOPC_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

/* Called once per valid record during journal_open, in file order. offset is the byte
 * offset of the record's first byte. The fields are valid only during the call.
 * Return 0 to continue, or -1 to stop opening (journal_open then fails, and its err says
 * "replay stopped by caller at offset N"). */
typedef int (*journal_replay_fn)(void *ctx, int argc, char **argv, size_t *lens,
                                 uint64_t offset);

struct journal_info {
    uint64_t records;     /* valid records replayed */
    uint64_t size;        /* file size after open (after any torn tail was cut) */
    uint64_t torn_offset; /* where the torn tail began, if torn_bytes > 0 */
    uint64_t torn_bytes;  /* bytes cut off as a torn tail (0: the file ended cleanly) */
};

struct journal;

/* Opens (creating if absent, mode 0644) and replays path. fn may be NULL. info may be
 * NULL. Returns the journal, or NULL with a message in err, e.g.
 * "corrupt record in /data/votes.log at offset 1234: bad checksum". */
struct journal *journal_open(const char *path, journal_replay_fn fn, void *ctx,
                             struct journal_info *info, char *err, size_t errlen);

/* Buffers one record for the next journal_sync. Returns 0, or -1 if out of memory. */
int journal_append(struct journal *j, int argc, const char *const *argv,
                   const size_t *lens);

/* Writes every buffered record and fdatasyncs the file. Returns 0 once they are durable,
 * or -1 with a reason in err (a failed write or fsync: the records are not durable, stay
 * buffered, and the next sync cuts the file back and tries again; or, with the log
 * thread, it is failing and retries on its own). A sync with nothing to do returns 0. */
int journal_sync(struct journal *j, char *err, size_t errlen);

/* Bytes buffered by journal_append and not yet written by journal_sync. */
size_t journal_pending(const struct journal *j);

/* Current size of the file in bytes, including buffered records. */
uint64_t journal_size(const struct journal *j);

/* The path given to journal_open. */
const char *journal_path(const struct journal *j);

/* Fills a fresh journal with the records that must survive a rewrite (journal_append on
 * tmp). Returns 0, or -1 to cancel the rewrite. */
typedef int (*journal_fill_fn)(void *ctx, struct journal *tmp);

/* 1 while the last attempt to make records durable failed and no later one has
 * succeeded, with the whole message in err ("cannot write PATH: No space left on device")
 * and the strerror text alone in cause (either may be NULL); 0 when healthy. */
int journal_failing(struct journal *j, char *err, size_t errlen, char *cause,
                    size_t causelen);

/* Compacts the log: atomically replaces the file with the records fill() appends (after
 * first making buffered records durable). The old contents are garbage once the caller has
 * checkpointed what they described. Returns 0; or -1 with err, and then the old file is
 * intact and the journal usable -- unless the final directory fsync failed, after which the
 * journal refuses further use and the caller must exit, as after a failed journal_sync. */
int journal_rewrite(struct journal *j, journal_fill_fn fill, void *ctx, char *err,
                    size_t errlen);

/* ---- the log thread: group commit off the event loop ----
 *
 * After journal_start_thread, journal_submit() hands every buffered record to a thread
 * that writes and fdatasyncs them; fn(ctx) then runs on base's loop, and
 * journal_durable() says which tickets are durable. The caller keeps a ticket with
 * whatever waits for durability (a round's COMMIT, a staged vote) and releases it when
 * journal_durable() reports that ticket or a later one:
 *
 *     journal_start_thread(j, base, on_durable, ctx, err, sizeof err);
 *     journal_append(j, ...);
 *     rd->ticket = journal_submit(j);          // returns at once
 *     ...
 *     static void on_durable(void *ctx) {      // on the loop
 *         uint64_t done;
 *         if (journal_durable(j, &done, err, sizeof err) < 0) exit(1);
 *         release everything whose ticket <= done;
 *     }
 *
 * journal_sync() still works (it submits and waits), and journal_rewrite() too (it syncs
 * first, so the thread is idle while the file is replaced). A failed write or fdatasync in
 * the thread leaves its tickets not durable and the journal failing; the thread retries
 * (cut back, write again) and raises the callback after each attempt, so the caller sees
 * the failure start and end. */
struct event_base;
typedef void (*journal_durable_fn)(void *ctx);

int journal_start_thread(struct journal *j, struct event_base *base, journal_durable_fn fn,
                         void *ctx, char *err, size_t errlen);

/* Hands the buffered records to the log thread. Returns the ticket that covers them (the
 * newest ticket if nothing was buffered; 0 if nothing was ever submitted). */
uint64_t journal_submit(struct journal *j);

/* Sets *ticket to the newest durable ticket. Returns 0, or -1 with err once records were
 * lost for want of memory (the caller must exit). A failing disk is not -1: see
 * journal_failing. */
int journal_durable(struct journal *j, uint64_t *ticket, char *err, size_t errlen);

/* Closes the file, discarding buffered (unsubmitted) records; what was handed to the log
 * thread is written and synced first. Accepts NULL. */
void journal_close(struct journal *j);

#endif
