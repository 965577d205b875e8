/* sim_log.c -- a protocol log file in memory, with the crash semantics of a real one.
 * See sim_log.h.
 */
#include "sim_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

struct sim_file {
    struct record_buf b; /* the file's bytes */
    size_t durable;
    uint64_t rewrites;
    void (*on_durable)(void *ctx);
    void *ctx;
};

struct sim_log {
    struct wal w; /* first */
    struct sim_file *f;
    struct record_buf buf;   /* appended, not yet submitted */
    uint64_t submitted, durable; /* tickets */
    int dead;
    /* A failing disk (sim_log_fail): the next fail_syncs syncs of the log thread fail.
     * After a failure the bytes past the durable offset count as never written -- the
     * file is cut back to it -- and are kept here, in memory, to be written again, as
     * common/journal.c does; later submissions queue behind them. failing: the last sync
     * failed (wal_failing). A crash loses retry, as a real crash loses memory. */
    int fail_syncs, failing;
    struct record_buf retry;
    void (*on_submit)(void *ctx);
    void *ctx;
};

static struct sim_log *L(const struct wal *w) { return (struct sim_log *)w; }

struct sim_file *sim_file_new(void) { return calloc(1, sizeof(struct sim_file)); }

void sim_file_free(struct sim_file *f)
{
    if (f)
        free(f->b.p);
    free(f);
}

size_t sim_file_durable(const struct sim_file *f) { return f->durable; }

struct sim_file *sim_file_copy(const struct sim_file *f)
{
    struct sim_file *c = sim_file_new();
    if (c && f->b.len && record_buf_sink(&c->b, f->b.p, f->b.len) < 0) {
        sim_file_free(c);
        return NULL;
    }
    if (c)
        c->durable = c->b.len;
    return c;
}
size_t sim_file_len(const struct sim_file *f) { return f->b.len; }
const char *sim_file_bytes(const struct sim_file *f) { return f->b.p; }
uint64_t sim_file_rewrites(const struct sim_file *f) { return f->rewrites; }

static int l_append(struct wal *w, int argc, const char *const *argv, const size_t *lens)
{
    return L(w)->dead ? 0 : record_encode(&L(w)->buf, argc, argv, lens);
}

/* Moves the buffered records into the file (the log thread's write, not yet synced). */
static int hand_over(struct sim_log *l)
{
    if (l->buf.len == 0)
        return 0;
    struct record_buf *to = l->failing ? &l->retry : &l->f->b;
    if (record_buf_sink(to, l->buf.p, l->buf.len) < 0)
        return -1;
    l->buf.len = 0;
    l->submitted++;
    return 1;
}

static uint64_t l_submit(struct wal *w)
{
    struct sim_log *l = L(w);
    if (l->dead)
        return l->submitted;
    if (hand_over(l) > 0 && l->on_submit)
        l->on_submit(l->ctx);
    return l->submitted;
}

static int l_durable(struct wal *w, uint64_t *ticket, char *err, size_t errlen)
{
    *ticket = L(w)->durable;
    return 0;
}

void sim_log_fail(struct wal *w, int syncs)
{
    L(w)->fail_syncs += syncs;
}

/* A sync of the log thread failed: cut the file back to its durable size, keep the cut
 * bytes (ahead of anything queued since) to write again, and retry soon. */
static void sync_failed(struct sim_log *l)
{
    struct sim_file *f = l->f;
    struct record_buf nb = { 0 };
    if (record_buf_sink(&nb, f->b.p + f->durable, f->b.len - f->durable) < 0 ||
        record_buf_sink(&nb, l->retry.p, l->retry.len) < 0) {
        free(nb.p);
        return; /* out of memory: let this sync succeed after all */
    }
    free(l->retry.p);
    l->retry = nb;
    f->b.len = f->durable;
    l->failing = 1;
    if (l->on_submit)
        l->on_submit(l->ctx); /* the log thread retries on its own */
}

/* After a failure, a sync that works writes what was kept first. Returns 0 or -1. */
static int write_retry(struct sim_log *l)
{
    if (!l->failing)
        return 0;
    if (record_buf_sink(&l->f->b, l->retry.p, l->retry.len) < 0)
        return -1;
    l->retry.len = 0;
    l->failing = 0;
    return 0;
}

void sim_log_sync_done(struct wal *w)
{
    struct sim_log *l = L(w);
    if (l->dead)
        return;
    if (l->fail_syncs > 0) {
        l->fail_syncs--;
        if (l->f->b.len > l->f->durable || l->failing) {
            sync_failed(l);
            return;
        }
    }
    if (write_retry(l) < 0)
        return;
    l->f->durable = l->f->b.len;
    l->durable = l->submitted;
    if (l->f->on_durable)
        l->f->on_durable(l->f->ctx);
}

void sim_file_on_durable(struct sim_file *f, void (*fn)(void *ctx), void *ctx)
{
    f->on_durable = fn;
    f->ctx = ctx;
}

int sim_log_sync_wanted(const struct wal *w)
{
    return !L(w)->dead && L(w)->durable < L(w)->submitted;
}

static int l_sync(struct wal *w, char *err, size_t errlen)
{
    struct sim_log *l = L(w);
    if (l->dead)
        return 0;
    /* A forced sync (shutdown, compaction, a membership change) always works: the fault
     * is the log thread's. */
    l->fail_syncs = 0;
    if (hand_over(l) < 0 || write_retry(l) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sim_log_sync_done(w);
    /* As the journal's thread raises its eventfd after a forced sync too: the owner hears
     * of the progress (its waiting replies may leave). */
    if (l->on_submit)
        l->on_submit(l->ctx);
    return 0;
}

static int l_rewrite(struct wal *w, wal_fill_fn fill, void *ctx, char *err, size_t errlen)
{
    struct sim_log *l = L(w);
    if (l->dead)
        return 0;
    if (l_sync(w, err, errlen) < 0)
        return -1;
    struct sim_file nf = { 0 };
    struct sim_log tmp = { .w = l->w, .f = &nf };
    if (fill(ctx, &tmp.w) < 0 || hand_over(&tmp) < 0) {
        free(nf.b.p);
        free(tmp.buf.p);
        snprintf(err, errlen, "rewrite cancelled");
        return -1;
    }
    free(tmp.buf.p);
    /* rename + directory fsync: the new file replaces the old one whole, durably */
    free(l->f->b.p);
    l->f->b = nf.b;
    l->f->durable = nf.b.len;
    l->f->rewrites++;
    if (l->f->on_durable)
        l->f->on_durable(l->f->ctx);
    return 0;
}

static uint64_t l_size(const struct wal *w)
{
    return L(w)->f->b.len + L(w)->retry.len + L(w)->buf.len;
}
static size_t l_pending(const struct wal *w) { return L(w)->dead ? 0 : L(w)->buf.len; }

static void l_close(struct wal *w)
{
    struct sim_log *l = L(w);
    if (!l->dead) {
        char err[64];
        l_sync(w, err, sizeof err); /* a clean close: what was submitted is synced */
    }
    free(l->buf.p);
    free(l->retry.p);
    free(l);
}

static int l_failing(struct wal *w, char *cause, size_t causelen)
{
    if (!L(w)->failing || L(w)->dead)
        return 0;
    if (cause && causelen)
        snprintf(cause, causelen, "Input/output error");
    return 1;
}

static const struct wal_ops sim_ops = {
    l_append, l_submit, l_durable, l_sync, l_rewrite, l_size, l_pending, l_close, l_failing,
};

/* Replays f's lines; cuts a torn tail. Returns 0, or -1 with err (corruption, or fn
 * stopped it). */
static int replay(struct sim_file *f, journal_replay_fn fn, void *ctx,
                  struct journal_info *info, char *err, size_t errlen)
{
    size_t at = 0;
    while (at < f->b.len) {
        const char *p = f->b.p + at, *nl = memchr(p, '\n', f->b.len - at);
        struct record_fields rf = { 0 };
        char why[128];
        if (nl && record_decode(p, (size_t)(nl - p), &rf, why, sizeof why) == 0) {
            int rc = fn ? fn(ctx, rf.argc, rf.argv, rf.lens, at) : 0;
            record_fields_free(&rf);
            if (rc < 0) {
                snprintf(err, errlen, "replay stopped by caller at offset %zu", at);
                return -1;
            }
            info->records++;
            at += (size_t)(nl - p) + 1;
            continue;
        }
        /* A bad line: torn tail only if no good line follows. */
        for (const char *q = nl; q && q + 1 < f->b.p + f->b.len;) {
            const char *e = memchr(q + 1, '\n', (size_t)(f->b.p + f->b.len - q - 1));
            if (!e)
                break;
            if (record_decode(q + 1, (size_t)(e - q - 1), &rf, why, sizeof why) == 0) {
                record_fields_free(&rf);
                snprintf(err, errlen, "corrupt record in the simulated log at offset %zu", at);
                return -1;
            }
            q = e;
        }
        info->torn_offset = at;
        info->torn_bytes = f->b.len - at;
        f->b.len = at;
        if (f->durable > at)
            f->durable = at;
        break;
    }
    info->size = f->b.len;
    return 0;
}

struct wal *sim_log_open(void *file, journal_replay_fn fn, void *ctx,
                         struct journal_info *info, char *err, size_t errlen)
{
    struct sim_file *f = file;
    struct journal_info dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    if (replay(f, fn, ctx, info, err, errlen) < 0)
        return NULL;
    f->durable = f->b.len; /* the journal fsyncs after cutting a tail; all is on disk */
    struct sim_log *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->w.ops = &sim_ops;
    l->f = f;
    return &l->w;
}

void sim_log_on_submit(struct wal *w, void (*fn)(void *ctx), void *ctx)
{
    L(w)->on_submit = fn;
    L(w)->ctx = ctx;
}

void sim_log_crash(struct wal *w, size_t keep)
{
    struct sim_log *l = L(w);
    if (l->dead)
        return;
    struct sim_file *f = l->f;
    size_t extra = f->b.len - f->durable;
    f->b.len = f->durable + (keep < extra ? keep : extra);
    l->dead = 1;
}
