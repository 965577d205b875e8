/* wal.h -- the protocol log as an interface: what the 2PC engine and the participant need
 * of a write-ahead log, and nothing about where its bytes go.
 *
 * The coordinator's round engine and the replica's participant are state machines that do
 * no I/O themselves (DESIGN.md, "Protocol logic as pure state machines"). They reach their
 * log through a struct wal: append records, hand them over to be made durable (a ticket
 * comes back), ask which tickets are durable, force everything now, rewrite the log down to
 * what must survive. Two implementations exist:
 *
 *   - wal_journal_open() (wal.c): the production log, a journal (journal.h) on a file,
 *     group-committed by its log thread once wal_journal_start_thread() ran;
 *   - the simulator's in-memory log (tests/sim/), which keeps the durable prefix apart from
 *     the bytes not yet synced and throws the latter away (tearing the last record) when it
 *     crashes a process.
 *
 * Use, for any implementation:
 *
 *     wal_append(w, argc, argv, lens);          // buffered
 *     uint64_t ticket = wal_submit(w);          // hand over; returns at once
 *     ...later, when told the log made progress:
 *     uint64_t done;
 *     if (wal_durable(w, &done, err, sizeof err) < 0) exit(1);
 *     release everything whose ticket <= done;
 *
 * Every function has the meaning of its journal_* namesake in journal.h (returns, errors,
 * what a failed sync leaves: records not durable, the log failing until a retry works).
 * Ownership: wal_close() frees the log and whatever it owns; it accepts NULL.
 */
#ifndef TWOPC_WAL_H
#define TWOPC_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"

struct event_base;
struct wal;

/* Fills a fresh log with the records that must survive a rewrite (wal_append on tmp).
 * Returns 0, or -1 to cancel the rewrite. */
typedef int (*wal_fill_fn)(void *ctx, struct wal *tmp);

struct wal_ops {
    int (*append)(struct wal *w, int argc, const char *const *argv, const size_t *lens);
    uint64_t (*submit)(struct wal *w);
    int (*durable)(struct wal *w, uint64_t *ticket, char *err, size_t errlen);
    int (*sync)(struct wal *w, char *err, size_t errlen);
    int (*rewrite)(struct wal *w, wal_fill_fn fill, void *ctx, char *err, size_t errlen);
    uint64_t (*size)(const struct wal *w);
    size_t (*pending)(const struct wal *w);
    void (*close)(struct wal *w);
    /* NULL: the log never fails (journal_failing's meaning). */
    int (*failing)(struct wal *w, char *cause, size_t causelen);
};

/* Implementations embed this as their first member. */
struct wal {
    const struct wal_ops *ops;
};

static inline int wal_append(struct wal *w, int argc, const char *const *argv,
                             const size_t *lens)
{
    return w->ops->append(w, argc, argv, lens);
}
static inline uint64_t wal_submit(struct wal *w) { return w->ops->submit(w); }
static inline int wal_durable(struct wal *w, uint64_t *ticket, char *err, size_t errlen)
{
    return w->ops->durable(w, ticket, err, errlen);
}
static inline int wal_sync(struct wal *w, char *err, size_t errlen)
{
    return w->ops->sync(w, err, errlen);
}
static inline int wal_rewrite(struct wal *w, wal_fill_fn fill, void *ctx, char *err,
                              size_t errlen)
{
    return w->ops->rewrite(w, fill, ctx, err, errlen);
}
static inline uint64_t wal_size(const struct wal *w) { return w->ops->size(w); }
static inline size_t wal_pending(const struct wal *w) { return w->ops->pending(w); }
/* 1 while the log cannot make records durable (a full or failing disk), with the cause
 * ("No space left on device") in cause; 0 when healthy. See journal_failing. */
static inline int wal_failing(struct wal *w, char *cause, size_t causelen)
{
    return w->ops->failing ? w->ops->failing(w, cause, causelen) : 0;
}
static inline void wal_close(struct wal *w)
{
    if (w)
        w->ops->close(w);
}

/* Opens and replays a log, handing each valid record to fn(ctx, ...) in order (see
 * journal_open for torn tails and corruption). The type of a log opener, so that code
 * which opens a log (participant_open) can be given a simulated one. arg is the opener's
 * own (for the journal: the path). Returns the log, or NULL with err. */
typedef struct wal *(*wal_open_fn)(void *arg, journal_replay_fn fn, void *ctx,
                                   struct journal_info *info, char *err, size_t errlen);

/* The production log: journal_open(path, ...) behind the interface. */
struct wal *wal_journal_open(void *path, journal_replay_fn fn, void *ctx,
                             struct journal_info *info, char *err, size_t errlen);

/* Starts the journal's log thread (journal_start_thread): fn(ctx) runs on base's loop
 * whenever it made records durable. Only for a log from wal_journal_open. */
int wal_journal_start_thread(struct wal *w, struct event_base *base, journal_durable_fn fn,
                             void *ctx, char *err, size_t errlen);

/* The journal behind a log from wal_journal_open (its path, for messages). */
struct journal *wal_journal(struct wal *w);

#endif
