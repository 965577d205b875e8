/* txn_io.c -- the engine's world in the daemon: struct txn_io over hiredis links, libevent
 * and the journal's log thread. See txn_io.h.
 *
 * Every function here is a few lines that translate one engine effect into one library
 * call; the protocol itself (what to send when, what a reply means) stays in engine/.
 * A reply from a link carries the link; the engine wants its index, so each send carries a
 * small call record (the engine's function and argument), freed when the reply comes.
 */
#include "txn_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "log.h"
#include "util.h"

struct txn_io_state {
    struct event_base *base;
    struct link *links[TXN_MAX_REPLICAS]; /* NULL: an empty slot */
    struct txn *t;
};

struct txn_timer {
    struct event *ev;
    txn_timer_fn fn;
    void *arg;
};

struct io_call {
    txn_reply_fn fn;
    void *arg;
};

static struct txn_io_state *S(void *ctx) { return ctx; }

static void on_reply(struct link *l, const struct link_reply *r, void *arg)
{
    struct io_call call = *(struct io_call *)arg;
    free(arg);
    call.fn(call.arg, link_index(l), r);
}

static int io_send(void *ctx, int i, const char *cmd, size_t len, txn_reply_fn fn, void *arg)
{
    struct io_call *call = malloc(sizeof *call);
    if (!call)
        return -1;
    *call = (struct io_call){ fn, arg };
    if (link_send_formatted(S(ctx)->links[i], cmd, len, on_reply, call) < 0) {
        free(call);
        return -1;
    }
    return 0;
}

static const char *io_unready(void *ctx, int i, uint64_t stall_ms)
{
    const struct link *l = S(ctx)->links[i];
    if (!l)
        return "not a member";
    if (link_state(l) == LINK_REPAIR)
        return "in need of repair (its data is incomplete: see the coordinator's log)";
    if (link_state(l) != LINK_READY)
        return link_state_name(link_state(l));
    return link_stalled(l, stall_ms) ? "not responding" : NULL;
}

static void io_expect(void *ctx, int i, uint64_t ms)
{
    if (S(ctx)->links[i])
        link_allow(S(ctx)->links[i], ms);
}

static const char *io_addr(void *ctx, int i)
{
    return S(ctx)->links[i] ? link_addr(S(ctx)->links[i]) : "-";
}

static void io_drop(void *ctx, int i, const char *why)
{
    if (S(ctx)->links[i])
        link_drop(S(ctx)->links[i], why);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct txn_timer *tm = arg;
    tm->fn(tm->arg);
}

static struct txn_timer *io_timer_new(void *ctx, txn_timer_fn fn, void *arg)
{
    struct txn_timer *tm = malloc(sizeof *tm);
    if (!tm)
        return NULL;
    *tm = (struct txn_timer){ event_new(S(ctx)->base, -1, 0, timer_cb, tm), fn, arg };
    if (!tm->ev) {
        free(tm);
        return NULL;
    }
    return tm;
}

static void io_timer_arm(void *ctx, struct txn_timer *tm, int ms)
{
    if (ms < 0) {
        event_active(tm->ev, 0, 0); /* at the end of this loop turn */
        return;
    }
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(tm->ev, &tv);
}

static void io_timer_cancel(void *ctx, struct txn_timer *tm) { evtimer_del(tm->ev); }

static int io_timer_armed(void *ctx, const struct txn_timer *tm)
{
    return evtimer_pending(tm->ev, NULL) != 0;
}

static void io_timer_free(void *ctx, struct txn_timer *tm)
{
    event_free(tm->ev);
    free(tm);
}

struct io_once {
    txn_timer_fn fn;
    void *arg;
};

static void once_cb(evutil_socket_t fd, short what, void *arg)
{
    struct io_once o = *(struct io_once *)arg;
    free(arg);
    o.fn(o.arg);
}

static void io_once(void *ctx, int ms, txn_timer_fn fn, void *arg)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    struct io_once *o = malloc(sizeof *o);
    if (!o) {
        fn(arg); /* at once rather than never (only the failpoint bug uses it) */
        return;
    }
    *o = (struct io_once){ fn, arg };
    if (event_base_once(S(ctx)->base, -1, EV_TIMEOUT, once_cb, o, &tv) < 0) {
        free(o);
        fn(arg);
    }
}

static void io_fatal(void *ctx, const char *why)
{
    LOG_WARNING("%s", why);
    fprintf(stderr, "twopc-server: %s\n", why);
    exit(1);
}

static uint64_t io_wall_ms(void *ctx) { return util_wall_ms(); }
static uint64_t io_mono_ms(void *ctx) { return util_mono_ms(); }

static int on_hello(void *ctx, struct link *l, const struct link_hello *h)
{
    return txn_link_hello(S(ctx)->t, link_index(l), h);
}

static void io_link_open(void *ctx, int i, const char *addr)
{
    struct link_events ev = { on_hello, NULL, ctx };
    /* The engine checked the address (host:port), so link_new cannot refuse it. */
    if (!(S(ctx)->links[i] = link_new(S(ctx)->base, addr, i, &ev)))
        LOG_WARNING("replica %s: can't create its link", addr);
}

static void io_link_close(void *ctx, int i)
{
    struct link *l = S(ctx)->links[i];
    S(ctx)->links[i] = NULL;
    link_free(l); /* its pending callbacks run now, with NULL */
}

static uint64_t io_random(void *ctx)
{
    uint64_t v = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&v, sizeof v, 1, f) != 1)
        v = util_wall_ms() ^ ((uint64_t)getpid() << 40) ^ util_mono_ms() << 20;
    if (f)
        fclose(f);
    return v;
}

static void on_log_progress(void *ctx)
{
    txn_log_progress(S(ctx)->t);
}

/* The journal opener, which names the file in its warning (the engine knows no paths). */
static struct wal *open_decision_log(void *path, journal_replay_fn fn, void *ctx,
                                     struct journal_info *info, char *err, size_t errlen)
{
    struct wal *w = wal_journal_open(path, fn, ctx, info, err, errlen);
    if (w && info->torn_bytes)
        LOG_WARNING("decision log %s: cut a torn tail of %llu bytes at offset %llu",
                    (char *)path, (unsigned long long)info->torn_bytes,
                    (unsigned long long)info->torn_offset);
    return w;
}

struct txn *txn_new(struct event_base *base, const char *dir, const char *const *replicas,
                    int nreplicas, int prepare_timeout_ms, uint64_t max_log_bytes, char *err,
                    size_t errlen)
{
    struct txn_io_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    const struct txn_io io = { s, io_send, io_unready, io_addr, io_drop, io_timer_new,
                               io_timer_arm, io_timer_cancel, io_timer_armed, io_timer_free,
                               io_once, io_fatal, io_wall_ms, io_mono_ms, io_link_open,
                               io_link_close, io_random, io_expect };
    char path[4096];
    snprintf(path, sizeof path, "%s/decision.log", dir);
    s->t = txn_create(&io, replicas, nreplicas, open_decision_log, path, prepare_timeout_ms,
                      max_log_bytes, err, errlen);
    if (!s->t) {
        free(s);
        return NULL;
    }
    if (wal_journal_start_thread(txn_log(s->t), base, on_log_progress, s, err, errlen) < 0) {
        txn_free(s->t);
        return NULL;
    }
    txn_start(s->t); /* opens a link for every member (io_link_open) */
    return s->t;
}

void txn_free(struct txn *t)
{
    if (!t)
        return;
    struct txn_io_state *s = txn_io_ctx(t);
    txn_stop(t, 1);
    /* The links next: their pending callbacks run (with NULL) while the engine lives. */
    for (int i = 0; i < TXN_MAX_REPLICAS; i++)
        link_free(s->links[i]);
    txn_destroy(t);
    free(s);
}

static void slot_answer(void *arg, const char *reply, size_t len, const char *error)
{
    struct resp_writer *w = slot_writer(arg);
    if (error)
        resp_write_error(w, error);
    else
        w->write(w->sink, reply, len);
    slot_done(arg);
}

void txn_submit_slot(struct txn *t, struct op *op, struct slot *slot)
{
    txn_submit(t, op, slot ? slot_answer : NULL, slot);
}

struct link *txn_link(const struct txn *t, int i)
{
    return S(txn_io_ctx(t))->links[i];
}

struct link *txn_read_link(struct txn *t, const struct link *skip)
{
    int i = txn_read_pick(t, skip ? link_index(skip) : -1);
    return i < 0 ? NULL : txn_link(t, i);
}
