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
 *     if (journal_sync(j, err, sizeof err) < 0) exit(1);   // write + fdatasync: durable now
 *     journal_close(j);
 *
 * Ordering contract: a record is durable only once journal_sync() has returned 0 after it
 * was appended. Callers send the vote / reply that depends on a record only after that.
 * If journal_sync fails, the process must exit rather than trust the page cache (as
 * PostgreSQL does after an fsync failure); the journal refuses further use.
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
 * or -1 with a reason in err (a failed write or fsync); after -1 the journal is unusable
 * and the caller must exit. A sync with nothing buffered returns 0 at once. */
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

/* Compacts the log: atomically replaces the file with the records fill() appends (after
 * first making buffered records durable). The old contents are garbage once the caller has
 * checkpointed what they described. Returns 0; or -1 with err, and then the old file is
 * intact and the journal usable -- unless the final directory fsync failed, after which the
 * journal refuses further use and the caller must exit, as after a failed journal_sync. */
int journal_rewrite(struct journal *j, journal_fill_fn fill, void *ctx, char *err,
                    size_t errlen);

/* Closes the file, discarding buffered (unsynced) records. Accepts NULL. */
void journal_close(struct journal *j);

#endif
