/* participant_log.c -- the participant's vote log: group commit, the durable mark, and
 * compaction.
 *
 * participant.c appends the records (PREPARE before a vote, COMMIT, ABORT); this file
 * decides when they are handed to the log (participant_submit: at the end of a batch that
 * holds a vote or a TPC.DURABLE answer, or lazily), learns which tickets are durable
 * (participant_log_progress), moves the durable mark that votes and COMMIT acknowledgements
 * carry, and rewrites the log down to SEEN <max rid> plus the rounds still prepared once it
 * has grown past its limit. It reads the prepared rounds but changes no round's state.
 *
 * Ordering constraint of a compaction: SQLite is checkpointed first, so every committed
 * round is durable in the store before the records that could replay it are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "log.h"
#include "op.h"
#include "participant.h"
#include "participant_internal.h"
#include "store.h"
#include "util.h"
#include "wal.h"

/* Appends the PREPARE record of a round (the same fields TPC.PREPARE carried). */
static int append_prepare(struct wal *j, const struct round *r)
{
    size_t n = 4;
    for (int i = 0; i < r->nops; i++)
        n += 1 + (size_t)r->ops[i]->argc;
    const char **argv = malloc(n * sizeof *argv);
    size_t *lens = malloc(n * sizeof *lens);
    char *nums = malloc(((size_t)r->nops + 3) * 24);
    int rc = -1;
    if (argv && lens && nums) {
        size_t a = 0;
        argv[a] = "PREPARE", lens[a++] = 7;
        argv[a] = nums, lens[a++] = util_u64_to_str(r->rid, nums);
        argv[a] = nums + 24, lens[a++] = util_u64_to_str((uint64_t)r->fx.now_ms, nums + 24);
        argv[a] = nums + 48, lens[a++] = util_u64_to_str((uint64_t)r->nops, nums + 48);
        for (int i = 0; i < r->nops; i++) {
            char *num = nums + 24 * ((size_t)i + 3);
            argv[a] = num, lens[a++] = util_u64_to_str((uint64_t)r->ops[i]->argc, num);
            for (int k = 0; k < r->ops[i]->argc; k++)
                argv[a] = r->ops[i]->argv[k], lens[a++] = r->ops[i]->lens[k];
        }
        rc = wal_append(j, (int)a, argv, lens);
    }
    free(argv), free(lens), free(nums);
    return rc;
}

/* What survives a compaction: the highest rid seen, and every round still PREPARED. */
static int fill_compacted(void *ctx, struct wal *tmp)
{
    struct participant *p = ctx;
    char num[24];
    const char *argv[2] = { "SEEN", num };
    size_t lens[2] = { 4, util_u64_to_str(p->max_rid, num) };
    if (wal_append(tmp, 2, argv, lens) < 0)
        return -1;
    for (struct round *r = p->rounds; r; r = r->next)
        if (append_prepare(tmp, r) < 0)
            return -1;
    return 0;
}

/* Checkpoints SQLite: every committed round is then durable in the store. */
static int checkpoint_store(struct participant *p, char *err, size_t errlen)
{
    if (store_checkpoint(p->store) == 0)
        return 0;
    snprintf(err, errlen, "sqlite checkpoint failed: %s", store_error(p->store));
    return -1;
}

static int compact(struct participant *p, char *err, size_t errlen)
{
    uint64_t t0 = util_mono_ms(), before = wal_size(p->log);
    /* Order matters: SQLite must hold every committed round durably before the records
     * that could replay them are dropped. */
    if (checkpoint_store(p, err, errlen) < 0)
        return -1;
    if (wal_rewrite(p->log, fill_compacted, p, err, errlen) < 0) {
        /* The old file is intact and the log usable -- unless the rewrite's directory
         * fsync failed, which the next wal_durable reports (and the replica exits). */
        LOG_WARNING("vote log compaction failed: %s", err);
        return 0;
    }
    p->compacted_size = wal_size(p->log);
    LOG_VERBOSE("vote log compacted: %llu -> %llu bytes, %zu rounds in doubt kept, in %llu ms",
                (unsigned long long)before, (unsigned long long)wal_size(p->log),
                participant_in_doubt(p), (unsigned long long)(util_mono_ms() - t0));
    return 0;
}

int participant_log_reset(struct participant *p, char *err, size_t errlen)
{
    /* The same order as compact(), but a failed rewrite is a failure here: the caller is
     * about to rely on the old records being gone. */
    if (checkpoint_store(p, err, errlen) < 0 ||
        wal_rewrite(p->log, fill_compacted, p, err, errlen) < 0)
        return -1;
    p->compacted_size = wal_size(p->log);
    return 0;
}

int participant_start_log_thread(struct participant *p, struct event_base *base,
                                 void (*fn)(void *ctx), void *ctx, char *err, size_t errlen)
{
    return wal_journal_start_thread(p->log, base, fn, ctx, err, errlen);
}

uint64_t participant_submit(struct participant *p, int force)
{
    if (!p->prepared_since_sync && !p->reply_needs_sync && !force)
        return 0; /* no vote waits for durability: the lazy timer will submit */
    uint64_t ticket = wal_submit(p->log);
    if (p->nmarks == p->capmarks) {
        size_t cap = p->capmarks ? 2 * p->capmarks : 8;
        struct sync_mark *m = realloc(p->marks, cap * sizeof *m);
        if (!m) {
            /* Rare: wait for the thread instead of remembering the mark. */
            char err[256];
            if (wal_sync(p->log, err, sizeof err) < 0)
                LOG_WARNING("vote log sync failed: %s", err); /* the next progress exits */
            p->durable = p->committed;
            p->prepared_since_sync = p->reply_needs_sync = 0;
            return ticket;
        }
        p->marks = m;
        p->capmarks = cap;
    }
    p->marks[p->nmarks++] = (struct sync_mark){ ticket, p->committed, p->prepared_since_sync };
    p->prepared_since_sync = p->reply_needs_sync = 0;
    return ticket;
}

int participant_log_progress(struct participant *p, uint64_t max_log_bytes, uint64_t *done,
                             char *err, size_t errlen)
{
    if (wal_durable(p->log, done, err, errlen) < 0)
        return -1;
    size_t n = 0;
    int prepared = 0;
    for (; n < p->nmarks && p->marks[n].ticket <= *done; n++) {
        if (p->marks[n].committed > p->durable)
            p->durable = p->marks[n].committed;
        prepared |= p->marks[n].prepared;
    }
    if (n > 0) { /* marks may still be NULL: no offset on a null pointer (UBSan) */
        memmove(p->marks, p->marks + n, (p->nmarks - n) * sizeof *p->marks);
        p->nmarks -= n;
    }
    if (prepared)
        FAILPOINT("replica.prepare.after_sync");
    /* Twice the compacted size too, so a log that is big because of rounds still in doubt
     * is not rewritten on every sync. */
    uint64_t size = wal_size(p->log);
    if (size > max_log_bytes && size > 2 * p->compacted_size &&
        !wal_failing(p->log, NULL, 0)) { /* a failing disk: compact once it heals */
        if (compact(p, err, errlen) < 0)
            return -1;
        p->durable = p->committed; /* the rewrite synced everything */
    }
    return 0;
}

int participant_sync(struct participant *p, char *err, size_t errlen)
{
    p->prepared_since_sync = p->reply_needs_sync = 0;
    if (wal_sync(p->log, err, errlen) < 0)
        return -1;
    p->durable = p->committed;
    return 0;
}

void participant_durable(struct participant *p, struct resp_writer *w)
{
    /* Answered after the sync that ends this batch, so the mark is true when it leaves. */
    p->reply_needs_sync = 1;
    resp_write_int(w, (int64_t)p->committed);
}

int participant_lazy_pending(const struct participant *p)
{
    return wal_pending(p->log) > 0;
}

int participant_log_failing(struct participant *p, char *cause, size_t causelen)
{
    return wal_failing(p->log, cause, causelen);
}
