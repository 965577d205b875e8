/* wal.c -- the production write-ahead log: a journal (journal.h) behind struct wal.
 *
 * A thin adapter: each wal_ops entry calls its journal_* namesake. A rewrite hands the
 * caller's fill function a struct wal wrapped around journal_rewrite's temporary journal,
 * so the caller appends to it through the same interface.
 */
#include "wal.h"

#include <stdio.h>
#include <stdlib.h>

struct wal_journal {
    struct wal w; /* first: a struct wal * is a struct wal_journal * */
    struct journal *j;
};

static struct journal *jof(const struct wal *w)
{
    return ((const struct wal_journal *)w)->j;
}

static int j_append(struct wal *w, int argc, const char *const *argv, const size_t *lens)
{
    return journal_append(jof(w), argc, argv, lens);
}

static uint64_t j_submit(struct wal *w)
{
    return journal_submit(jof(w));
}

static int j_durable(struct wal *w, uint64_t *ticket, char *err, size_t errlen)
{
    return journal_durable(jof(w), ticket, err, errlen);
}

static int j_sync(struct wal *w, char *err, size_t errlen)
{
    return journal_sync(jof(w), err, errlen);
}

static uint64_t j_size(const struct wal *w)
{
    return journal_size(jof(w));
}

static size_t j_pending(const struct wal *w)
{
    return journal_pending(jof(w));
}

static void j_close(struct wal *w)
{
    journal_close(jof(w));
    free(w);
}

static int j_failing(struct wal *w, char *cause, size_t causelen)
{
    return journal_failing(jof(w), NULL, 0, cause, causelen);
}

/* The temporary journal of a rewrite, seen as a wal that can only be appended to. */
static const struct wal_ops tmp_ops = { .append = j_append };

struct fill_ctx {
    wal_fill_fn fill;
    void *ctx;
};

static int fill_tmp(void *arg, struct journal *tmp)
{
    struct fill_ctx *fc = arg;
    struct wal_journal wt = { { &tmp_ops }, tmp };
    return fc->fill(fc->ctx, &wt.w);
}

static int j_rewrite(struct wal *w, wal_fill_fn fill, void *ctx, char *err, size_t errlen)
{
    struct fill_ctx fc = { fill, ctx };
    return journal_rewrite(jof(w), fill_tmp, &fc, err, errlen);
}

static const struct wal_ops journal_ops = {
    j_append, j_submit, j_durable, j_sync, j_rewrite, j_size, j_pending, j_close, j_failing,
};

struct wal *wal_journal_open(void *path, journal_replay_fn fn, void *ctx,
                             struct journal_info *info, char *err, size_t errlen)
{
    struct wal_journal *wj = calloc(1, sizeof *wj);
    if (!wj) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    wj->w.ops = &journal_ops;
    if (!(wj->j = journal_open(path, fn, ctx, info, err, errlen))) {
        free(wj);
        return NULL;
    }
    return &wj->w;
}

int wal_journal_start_thread(struct wal *w, struct event_base *base, journal_durable_fn fn,
                             void *ctx, char *err, size_t errlen)
{
    return journal_start_thread(jof(w), base, fn, ctx, err, errlen);
}

struct journal *wal_journal(struct wal *w)
{
    return jof(w);
}
