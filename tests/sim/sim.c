/* sim.c -- the simulator's world: time, events, network, processes, clients, checks.
 * See sim.h for what it simulates and checks.
 *
 * One priority queue of events ordered by (time in µs, sequence number) drives everything;
 * the only randomness is rnd(), seeded by the run's seed. Node 0 is the coordinator, node
 * i + 1 replica i. An event belongs to a node and to that node's incarnation: a crash bumps
 * the incarnation, and the dead process's timers, syncs and deliveries then do nothing.
 * While a node is paused its events wait (in order) until it resumes.
 *
 *     client ──txn_submit──▶ engine ──io.send──▶ [link i: FIFO, latency] ──▶ replica i
 *        ▲                     │  ▲                                           │ peer_dispatch
 *        └──done (OK/error)────┘  └──reply callback◀── [FIFO] ◀── held until ─┘ its log
 *                                                                  ticket is durable
 *
 * The coordinator's side of a link mirrors server/replica_link.c: DOWN ─connect─▶ SYNCING
 * (TPC.HELLO first) ─HELLO answered, txn_link_hello() == 0─▶ READY; a break runs every
 * pending callback with NULL, in order, and retries after 100 ms. The replica's side
 * mirrors replica/main.c: the replies of each request wait for the ticket
 * participant_submit() returned, in order per connection; a COMMIT-only log is synced by
 * a lazy timer.
 */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "lincheck.h"
#include "link_reply.h"
#include "op.h"
#include "participant.h"
#include "peer.h"
#include "record.h"
#include "resp_parser.h"
#include "sim_log.h"
#include "store.h"
#include "txn.h"
#include "util.h"

#define NREG 6            /* register keys r0..r5 (SET, MSET, DEL, GET) */
#define NCNT 3            /* counter keys c0..c2 (INCR, GET) */
#define NKEYS (NREG + NCNT)
#define PREPARE_TIMEOUT_MS 500
#define MAX_LOG_BYTES 6000 /* small, so compaction runs often */
#define RETRY_US 100000
#define LAZY_US 20000
#define WALL_BASE_MS 1700000000000ULL
#define FINAL_MS 60000     /* how long the healed cluster gets to settle */

enum ev_kind { EV_TIMER, EV_ONCE, EV_TO_REP, EV_TO_COORD, EV_SYNC, EV_RETRY, EV_LAZY,
               EV_CLIENT, EV_FAULT, EV_RESTART };

struct ev {
    uint64_t at, seq;
    enum ev_kind kind;
    int node;      /* -1: the world's own */
    uint64_t inc;  /* the node's incarnation when scheduled */
    int link;      /* EV_TO_REP, EV_TO_COORD, EV_RETRY */
    uint64_t conn, gen;
    int dropped;
    int unread; /* to a replica on a connection whose replies nobody reads any more */
    void *p;
    size_t len;
};

struct txn_timer {
    txn_timer_fn fn;
    void *arg;
    uint64_t gen, inc;
    int armed, alive;
};

struct pend {
    txn_reply_fn fn;
    void *arg;
};

enum { SL_DOWN, SL_SYNCING, SL_READY };

struct slink {
    int state;
    uint64_t conn;
    struct pend *q;
    size_t qhead, qn, qcap;
    uint64_t last_to_rep, last_to_coord; /* FIFO: no delivery before the previous one */
    uint64_t progress_us, slow_until;
    char *recent[8]; /* recent commands, for stray duplicates */
    size_t recent_len[8];
    int nrecent;
};

struct held {
    uint64_t conn, ticket, vote_rid;
    char *bytes;
    size_t len;
};

struct bits {
    unsigned char *b;
    size_t n;
};

struct node {
    int up;
    uint64_t inc, paused_until;
    struct sim_file *file;
    struct wal *wal;
    int sync_scheduled;
    size_t scanned;        /* durable bytes of file already scanned for records */
    uint64_t scanned_rewrites;
    struct bits seen;      /* rids with a durable COMMIT (coordinator) / PREPARE (replica) */
    /* replica only */
    struct participant *p;
    struct store *kept;    /* a crashed replica's store, until it restarts */
    struct resp_parser *parser;
    struct held *held;
    size_t nheld, capheld;
    uint64_t durable_ticket, rng, last_applied;
    int lazy_armed;
};

struct hop { /* one client operation in flight */
    int client, kind, key, key2, tries;
    int64_t val, val2;
    uint64_t call;
    int live; /* waiting for an answer */
};

enum { OP_SET, OP_MSET, OP_DEL, OP_INCR, OP_GET };

struct world {
    const struct sim_config *cfg;
    struct sim_result *res;
    uint64_t rng, now, seq, stamp, conn_counter, value_counter;
    struct ev **heap;
    size_t nheap, capheap;
    struct node nodes[1 + SIM_MAX_REPLICAS];
    struct slink links[SIM_MAX_REPLICAS];
    struct txn *t;
    struct txn_timer **timers;
    size_t ntimers, captimers;
    struct hop **hops;
    size_t nhops, caphops;
    int *client_busy;
    struct lin_hist hist[NKEYS];
    uint64_t *digests; /* per applied round id: a hash of the data (0: not seen yet) */
    size_t ndigests;
    int faults_on, clients_on;
    uint64_t fault_gap_us; /* this seed's mean time between faults (swarm testing) */
    int bug_vote_early;
};

static struct world *W; /* the run in progress (callbacks from the engine reach it here) */

/* ---- randomness, time, violations ---- */

static uint64_t rnd(void)
{
    uint64_t z = (W->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rnd_in(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }
static int chance(int percent) { return (int)(rnd() % 100) < percent; }

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
    if (W->res->violation)
        return;
    W->res->violation = 1;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(W->res->what, sizeof W->res->what, "t=%.3f s: ",
                     (double)W->now / 1e6);
    vsnprintf(W->res->what + n, sizeof W->res->what - (size_t)n, fmt, ap);
    va_end(ap);
}

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
    if (!W->cfg->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("%10.3f ms  ", (double)W->now / 1000);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static int bits_set(struct bits *b, uint64_t i)
{
    if (i >= b->n) {
        size_t n = b->n ? b->n : 1024;
        while (n <= i)
            n *= 2;
        unsigned char *p = realloc(b->b, n);
        if (!p)
            return -1;
        memset(p + b->n, 0, n - b->n);
        b->b = p;
        b->n = n;
    }
    b->b[i] = 1;
    return 0;
}

static int bits_has(const struct bits *b, uint64_t i) { return i < b->n && b->b[i]; }

/* ---- the event queue (a binary heap on (at, seq)) ---- */

static int ev_before(const struct ev *a, const struct ev *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

/* Puts e into the queue. */
static void insert(struct ev *e)
{
    if (W->nheap == W->capheap &&
        !(W->heap = realloc(W->heap, (W->capheap = W->capheap * 2 + 64) * sizeof *W->heap))) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    size_t i = W->nheap++;
    for (; i > 0 && ev_before(e, W->heap[(i - 1) / 2]); i = (i - 1) / 2)
        W->heap[i] = W->heap[(i - 1) / 2];
    W->heap[i] = e;
}

static struct ev *push(uint64_t at, enum ev_kind kind, int node)
{
    struct ev *e = calloc(1, sizeof *e);
    if (!e) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    *e = (struct ev){ .at = at, .seq = ++W->seq, .kind = kind, .node = node };
    e->inc = node >= 0 ? W->nodes[node].inc : 0;
    insert(e);
    return e;
}

static struct ev *pop(void)
{
    struct ev *top = W->heap[0], *last = W->heap[--W->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= W->nheap)
            break;
        if (c + 1 < W->nheap && ev_before(W->heap[c + 1], W->heap[c]))
            c++;
        if (!ev_before(W->heap[c], last))
            break;
        W->heap[i] = W->heap[c];
        i = c;
    }
    if (W->nheap)
        W->heap[i] = last;
    return top;
}

static void ev_free(struct ev *e)
{
    if (e->kind == EV_TO_REP || e->kind == EV_TO_COORD)
        free(e->p);
    free(e);
}

/* ---- the coordinator's io (struct txn_io) ---- */

static uint64_t now_ms(void) { return W->now / 1000; }

static void net_send(int link, int to_rep, uint64_t conn, const char *bytes, size_t len)
{
    struct slink *sl = &W->links[link];
    uint64_t lat = chance(95) ? rnd_in(20, 400) : rnd_in(400, 8000);
    if (sl->slow_until > W->now)
        lat += rnd_in(2000, 40000);
    uint64_t *last = to_rep ? &sl->last_to_rep : &sl->last_to_coord;
    uint64_t at = W->now + lat > *last ? W->now + lat : *last;
    *last = at;
    struct ev *e = push(at, to_rep ? EV_TO_REP : EV_TO_COORD, to_rep ? link + 1 : 0);
    e->link = link;
    e->conn = conn;
    e->p = malloc(len ? len : 1);
    memcpy(e->p, bytes, len);
    e->len = len;
}

static void remember(struct slink *sl, const char *cmd, size_t len)
{
    int k = sl->nrecent++ % 8;
    free(sl->recent[k]);
    sl->recent[k] = malloc(len);
    memcpy(sl->recent[k], cmd, len);
    sl->recent_len[k] = len;
}

static int io_send(void *ctx, int i, const char *cmd, size_t len, txn_reply_fn fn, void *arg)
{
    struct slink *sl = &W->links[i];
    if (!W->nodes[0].up || sl->state == SL_DOWN)
        return -1;
    if (sl->qn == sl->qcap) {
        size_t cap = sl->qcap ? 2 * sl->qcap : 16;
        struct pend *q = malloc(cap * sizeof *q);
        for (size_t k = 0; k < sl->qn; k++)
            q[k] = sl->q[(sl->qhead + k) % sl->qcap];
        free(sl->q);
        sl->q = q;
        sl->qhead = 0;
        sl->qcap = cap;
    }
    sl->q[(sl->qhead + sl->qn++) % sl->qcap] = (struct pend){ fn, arg };
    if (sl->qn == 1)
        sl->progress_us = W->now;
    net_send(i, 1, sl->conn, cmd, len);
    remember(sl, cmd, len);
    return 0;
}

static const char *io_unready(void *ctx, int i, uint64_t stall_ms)
{
    const struct slink *sl = &W->links[i];
    if (sl->state != SL_READY)
        return sl->state == SL_DOWN ? "down" : "syncing";
    if (sl->qn > 0 && W->now - sl->progress_us > stall_ms * 1000)
        return "not responding";
    return NULL;
}

static const char *io_addr(void *ctx, int i)
{
    static char addr[SIM_MAX_REPLICAS][32];
    snprintf(addr[i], sizeof addr[i], "sim:%d", 7001 + i);
    return addr[i];
}

static void link_break(int i, const char *why);

static void io_drop(void *ctx, int i, const char *why) { link_break(i, why); }

static struct txn_timer *io_timer_new(void *ctx, txn_timer_fn fn, void *arg)
{
    struct txn_timer *tm = calloc(1, sizeof *tm);
    if (W->ntimers == W->captimers)
        W->timers = realloc(W->timers, (W->captimers = 2 * W->captimers + 64) * sizeof *tm);
    W->timers[W->ntimers++] = tm;
    *tm = (struct txn_timer){ fn, arg, 0, W->nodes[0].inc, 0, 1 };
    return tm;
}

static void io_timer_arm(void *ctx, struct txn_timer *tm, int ms)
{
    tm->gen++;
    tm->armed = 1;
    struct ev *e = push(ms < 0 ? W->now : W->now + (uint64_t)ms * 1000, EV_TIMER, 0);
    e->p = tm;
    e->gen = tm->gen;
}

static void io_timer_cancel(void *ctx, struct txn_timer *tm)
{
    tm->armed = 0;
    tm->gen++;
}

static int io_timer_armed(void *ctx, const struct txn_timer *tm) { return tm->armed; }

static void io_timer_free(void *ctx, struct txn_timer *tm)
{
    tm->alive = 0; /* the world frees it at the end of the run */
    tm->gen++;
}

static void io_once(void *ctx, int ms, txn_timer_fn fn, void *arg)
{
    struct txn_timer *tm = io_timer_new(ctx, fn, arg);
    io_timer_arm(ctx, tm, ms);
    tm->alive = 2; /* fires once, then dies */
}

static uint64_t io_wall_ms(void *ctx) { return WALL_BASE_MS + now_ms(); }
static uint64_t io_mono_ms(void *ctx) { return now_ms(); }

static const struct txn_io sim_io = { NULL, io_send, io_unready, io_addr, io_drop,
                                      io_timer_new, io_timer_arm, io_timer_cancel,
                                      io_timer_armed, io_timer_free, io_once, io_wall_ms,
                                      io_mono_ms };

/* ---- disks: syncs, and what became durable ---- */

static void on_submit(void *ctx)
{
    int n = (int)(intptr_t)ctx;
    struct node *nd = &W->nodes[n];
    if (nd->sync_scheduled)
        return;
    nd->sync_scheduled = 1;
    push(W->now + (chance(90) ? rnd_in(50, 2000) : rnd_in(2000, 30000)), EV_SYNC, n);
}

/* Notes every record that became durable in node n's log since the last look. */
static void scan_durable(int n)
{
    struct node *nd = &W->nodes[n];
    if (sim_file_rewrites(nd->file) != nd->scanned_rewrites) {
        nd->scanned_rewrites = sim_file_rewrites(nd->file);
        nd->scanned = 0;
    }
    const char *b = sim_file_bytes(nd->file);
    size_t end = sim_file_durable(nd->file);
    while (nd->scanned < end) {
        const char *p = b + nd->scanned, *nl = memchr(p, '\n', end - nd->scanned);
        if (!nl)
            break;
        struct record_fields f = { 0 };
        char why[64];
        uint64_t rid;
        if (record_decode(p, (size_t)(nl - p), &f, why, sizeof why) == 0 && f.argc >= 2 &&
            strcmp(f.argv[0], n == 0 ? "COMMIT" : "PREPARE") == 0 &&
            util_parse_u64(f.argv[1], f.lens[1], &rid) == 0)
            bits_set(&nd->seen, rid);
        record_fields_free(&f);
        nd->scanned += (size_t)(nl - p) + 1;
    }
}

static void on_durable(void *ctx)
{
    scan_durable((int)(intptr_t)ctx);
}

static struct wal *open_log(void *arg, journal_replay_fn fn, void *ctx,
                            struct journal_info *info, char *err, size_t errlen)
{
    int n = (int)(intptr_t)arg;
    struct node *nd = &W->nodes[n];
    struct wal *w = sim_log_open(nd->file, fn, ctx, info, err, errlen);
    if (w) {
        sim_log_on_submit(w, on_submit, arg);
        nd->wal = w;
        nd->scanned = 0; /* a torn tail may have been cut */
    }
    return w;
}

/* ---- the coordinator's side of the links ---- */

static void link_connect(int i);

static void link_break(int i, const char *why)
{
    struct slink *sl = &W->links[i];
    if (sl->state == SL_DOWN)
        return;
    uint64_t old = sl->conn;
    trace("link %d breaks: %s", i, why);
    W->res->breaks++;
    sl->state = SL_DOWN;
    sl->conn = 0;
    /* In flight to the replica: it still reads a random prefix; replies are lost. */
    size_t keep = (size_t)rnd_in(0, 8);
    for (size_t k = 0; k < W->nheap; k++) {
        struct ev *e = W->heap[k];
        if ((e->kind == EV_TO_REP || e->kind == EV_TO_COORD) && e->link == i && e->conn == old)
            e->dropped = 1;
    }
    for (size_t n = 0; n < keep; n++) { /* undrop the earliest `keep` commands */
        struct ev *first = NULL;
        for (size_t k = 0; k < W->nheap; k++) {
            struct ev *e = W->heap[k];
            if (e->kind == EV_TO_REP && e->link == i && e->conn == old && e->dropped &&
                (!first || ev_before(e, first)))
                first = e;
        }
        if (!first)
            break;
        first->dropped = 0;
        first->unread = 1; /* read late by the replica; its replies go nowhere */
    }
    struct pend *q = sl->q;
    size_t head = sl->qhead, n = sl->qn, cap = sl->qcap;
    sl->q = NULL;
    sl->qhead = sl->qn = sl->qcap = 0;
    for (size_t k = 0; k < n && W->nodes[0].up; k++)
        q[(head + k) % cap].fn(q[(head + k) % cap].arg, i, NULL);
    free(q);
    struct ev *e = push(W->now + RETRY_US, EV_RETRY, 0);
    e->link = i;
}

static void hello_done(void *arg, int i, const struct link_reply *r)
{
    struct slink *sl = &W->links[i];
    uint64_t conn = (uint64_t)(uintptr_t)arg;
    if (!r || sl->conn != conn)
        return;
    struct link_hello h;
    if (link_reply_hello(r, &h) < 0) {
        violation("replica %d sent a bad TPC.HELLO answer", i);
        return;
    }
    int rc = txn_link_hello(W->t, i, &h);
    free((void *)h.in_doubt);
    if (rc < 0) {
        link_break(i, "could not resynchronize");
        return;
    }
    if (sl->state == SL_SYNCING && sl->conn == conn) {
        sl->state = SL_READY;
        trace("link %d ready", i);
    }
}

static void link_connect(int i)
{
    struct slink *sl = &W->links[i];
    if (!W->nodes[0].up || sl->state != SL_DOWN)
        return;
    if (!W->nodes[i + 1].up) {
        struct ev *e = push(W->now + RETRY_US, EV_RETRY, 0);
        e->link = i;
        return;
    }
    sl->conn = ++W->conn_counter;
    sl->state = SL_SYNCING;
    static const char hello[] = "*1\r\n$9\r\nTPC.HELLO\r\n";
    io_send(NULL, i, hello, sizeof hello - 1, hello_done, (void *)(uintptr_t)sl->conn);
}

static void deliver_to_coord(struct ev *e)
{
    struct slink *sl = &W->links[e->link];
    if (!W->nodes[0].up || e->conn == 0 || e->conn != sl->conn || sl->qn == 0)
        return;
    struct link_reply *r = NULL;
    size_t used = 0;
    if (link_reply_parse(e->p, e->len, &r, &used) != 1) {
        violation("replica %d sent an unparsable reply", e->link);
        return;
    }
    struct pend pd = sl->q[sl->qhead];
    sl->qhead = (sl->qhead + 1) % sl->qcap;
    sl->qn--;
    sl->progress_us = W->now;
    pd.fn(pd.arg, e->link, (const struct link_reply *)r);
    link_reply_free(r);
}

/* ---- replicas ---- */

static void check_applied(int i)
{
    struct node *nd = &W->nodes[i + 1];
    struct store *st = participant_store(nd->p);
    uint64_t a = store_applied(st);
    if (a == nd->last_applied)
        return;
    uint64_t was = nd->last_applied;
    nd->last_applied = a;
    if (a < was)
        return; /* a restart from an older checkpoint: it replays forward again */
    scan_durable(0);
    scan_durable(i + 1);
    if (!bits_has(&W->nodes[0].seen, a))
        violation("replica %d applied round %" PRIu64 " whose COMMIT is not durable at the "
                  "coordinator", i, a);
    if (!bits_has(&nd->seen, a))
        violation("replica %d applied round %" PRIu64 " it never durably prepared", i, a);
    char hex[17];
    if (store_digest(st, hex) < 0) {
        violation("replica %d: store_digest failed", i);
        return;
    }
    uint64_t d = strtoull(hex, NULL, 16) | 1;
    if (a >= W->ndigests) {
        size_t n = W->ndigests ? W->ndigests : 1024;
        while (n <= a)
            n *= 2;
        W->digests = realloc(W->digests, n * sizeof *W->digests);
        memset(W->digests + W->ndigests, 0, (n - W->ndigests) * sizeof *W->digests);
        W->ndigests = n;
    }
    if (W->digests[a] && W->digests[a] != d)
        violation("replicas disagree: replica %d's data after round %" PRIu64 " differs from "
                  "another replica's after the same round", i, a);
    W->digests[a] = d;
}

/* Releases, in order, the held replies whose ticket is durable. */
static void release_held(int i)
{
    struct node *nd = &W->nodes[i + 1];
    struct slink *sl = &W->links[i];
    size_t k = 0, out = 0;
    scan_durable(i + 1);
    for (; k < nd->nheld; k++) {
        struct held *h = &nd->held[k];
        if (h->ticket > nd->durable_ticket && !W->bug_vote_early) {
            nd->held[out++] = *h;
            continue;
        }
        if (h->vote_rid && !bits_has(&nd->seen, h->vote_rid))
            violation("replica %d voted YES on round %" PRIu64 " before its PREPARE was "
                      "durable", i, h->vote_rid);
        if (h->conn && h->conn == sl->conn)
            net_send(i, 0, h->conn, h->bytes, h->len);
        free(h->bytes);
    }
    nd->nheld = out;
}

static void hold(int i, uint64_t conn, uint64_t ticket, uint64_t vote_rid, struct record_buf *b)
{
    struct node *nd = &W->nodes[i + 1];
    if (ticket <= nd->durable_ticket)
        ticket = 0;
    for (size_t k = nd->nheld; !ticket && k-- > 0;)
        if (nd->held[k].conn == conn) {
            ticket = nd->held[k].ticket; /* replies keep their order */
            break;
        }
    if (nd->nheld == nd->capheld)
        nd->held = realloc(nd->held, (nd->capheld = 2 * nd->capheld + 16) * sizeof *nd->held);
    nd->held[nd->nheld++] = (struct held){ conn, ticket, vote_rid, b->p, b->len };
    b->p = NULL;
    release_held(i);
}

static void deliver_to_rep(struct ev *e)
{
    int i = e->link;
    struct node *nd = &W->nodes[i + 1];
    size_t used = 0;
    resp_parser_reset(nd->parser);
    if (resp_parser_feed(nd->parser, e->p, e->len, &used) != RESP_OK) {
        violation("replica %d got an unparsable command", i);
        return;
    }
    const struct resp_request *req = resp_parser_request(nd->parser);
    uint64_t rid = 0;
    int prepare = strcmp(req->argv[0], "TPC.PREPARE") == 0;
    if (prepare && req->argc > 1)
        util_parse_u64(req->argv[1], req->lens[1], &rid);
    struct record_buf out = { 0 };
    struct resp_writer w = { record_buf_sink, &out, 2 };
    if (peer_dispatch(nd->p, req, &w, &nd->rng, e->conn) < 0)
        resp_write_error(&w, "ERR unknown command");
    int yes = prepare && out.len > 5 && memcmp(out.p + 4, "+YES", 4) == 0;
    if (W->cfg->verbose && strncmp(req->argv[0], "TPC.READ", 8) != 0) {
        size_t k = 0;
        while (k < out.len && k < 60 && out.p[k] != '\r')
            k++;
        trace("replica %d <- %s %s (conn %" PRIu64 "%s) -> %.*s", i, req->argv[0],
              req->argc > 1 ? req->argv[1] : "", e->conn, e->unread ? ", unread" : "",
              (int)k, yes ? "YES" : out.p);
    }
    hold(i, e->unread ? 0 : e->conn, participant_submit(nd->p, 0), yes ? rid : 0, &out);
    free(out.p);
    if (participant_lazy_pending(nd->p) && !nd->lazy_armed) {
        nd->lazy_armed = 1;
        push(W->now + LAZY_US, EV_LAZY, i + 1);
    }
    check_applied(i);
}

static void rep_sync_done(int i)
{
    struct node *nd = &W->nodes[i + 1];
    char err[256];
    sim_log_sync_done(nd->wal);
    if (participant_log_progress(nd->p, MAX_LOG_BYTES, &nd->durable_ticket, err,
                                 sizeof err) < 0) {
        violation("replica %d: log progress failed: %s", i, err);
        return;
    }
    release_held(i);
    check_applied(i);
}

static int rep_start(int i)
{
    struct node *nd = &W->nodes[i + 1];
    char err[256];
    struct store *st = nd->kept;
    nd->kept = NULL;
    if (!st && !(st = store_open_memory(err, sizeof err))) {
        violation("replica %d: %s", i, err);
        return -1;
    }
    nd->inc++;
    nd->up = 1;
    nd->durable_ticket = 0;
    nd->sync_scheduled = nd->lazy_armed = 0;
    if (!(nd->p = participant_open_with(st, open_log, (void *)(intptr_t)(i + 1), err,
                                        sizeof err))) {
        violation("replica %d cannot restart: %s", i, err);
        nd->up = 0;
        return -1;
    }
    nd->last_applied = store_applied(participant_store(nd->p));
    return 0;
}

static void rep_crash(int i)
{
    struct node *nd = &W->nodes[i + 1];
    if (!nd->up)
        return;
    W->res->crashes++;
    size_t extra = sim_file_len(nd->file) - sim_file_durable(nd->file);
    int power = chance(50);
    trace("replica %d crashes (%s)", i, power ? "power cut" : "kill -9");
    sim_log_crash(nd->wal, chance(30) ? 0 : (size_t)rnd_in(0, extra));
    struct store *st = participant_crash(nd->p);
    char err[256];
    if (power && st && !(st = store_power_loss(st, err, sizeof err)))
        violation("replica %d: power loss: %s", i, err);
    nd->kept = st;
    nd->p = NULL;
    nd->wal = NULL;
    nd->up = 0;
    nd->inc++;
    for (size_t k = 0; k < nd->nheld; k++)
        free(nd->held[k].bytes);
    nd->nheld = 0;
    link_break(i, "the replica died");
    struct ev *e = push(W->now + rnd_in(5000, 400000), EV_RESTART, -1);
    e->link = i + 1;
}

/* ---- the coordinator process ---- */

static int coord_start(void)
{
    struct node *nd = &W->nodes[0];
    char err[256];
    nd->inc++;
    nd->up = 1;
    nd->sync_scheduled = 0;
    W->t = txn_create(&sim_io, W->cfg->nreplicas, open_log, (void *)(intptr_t)0,
                      PREPARE_TIMEOUT_MS, MAX_LOG_BYTES, err, sizeof err);
    if (!W->t) {
        violation("the coordinator cannot restart: %s", err);
        nd->up = 0;
        return -1;
    }
    txn_set_max_inflight(W->t, 3);
    for (int i = 0; i < W->cfg->nreplicas; i++) {
        W->links[i].state = SL_DOWN;
        link_connect(i);
    }
    return 0;
}

static void hop_finish(struct hop *h, int outcome, int64_t out);

/* Adds the rounds the engine decided to the run's totals (before it goes away). */
static void count_rounds(void)
{
    struct txn_stats st;
    txn_get_stats(W->t, &st);
    W->res->committed += st.committed;
    W->res->aborted += st.aborted;
    W->res->rounds = W->res->committed + W->res->aborted;
}

static void coord_crash(void)
{
    struct node *nd = &W->nodes[0];
    if (!nd->up)
        return;
    W->res->crashes++;
    trace("coordinator crashes");
    size_t extra = sim_file_len(nd->file) - sim_file_durable(nd->file);
    sim_log_crash(nd->wal, chance(30) ? 0 : (size_t)rnd_in(0, extra));
    nd->up = 0;
    nd->inc++;
    for (int i = 0; i < W->cfg->nreplicas; i++) {
        struct slink *sl = &W->links[i];
        free(sl->q);
        sl->q = NULL;
        sl->qhead = sl->qn = sl->qcap = 0;
        if (sl->state != SL_DOWN) { /* the replica sees the connection close */
            for (size_t k = 0; k < W->nheap; k++)
                if (W->heap[k]->link == i && W->heap[k]->conn == sl->conn &&
                    (W->heap[k]->kind == EV_TO_REP || W->heap[k]->kind == EV_TO_COORD))
                    W->heap[k]->dropped = 1;
        }
        sl->state = SL_DOWN;
        sl->conn = 0;
    }
    for (size_t k = 0; k < W->nhops; k++)
        if (W->hops[k]->live)
            hop_finish(W->hops[k], 2, 0); /* the outcome is unknown to the client */
    count_rounds();
    txn_stop(W->t, 0);
    txn_destroy(W->t);
    W->t = NULL;
    nd->wal = NULL;
    struct ev *e = push(W->now + rnd_in(5000, 400000), EV_RESTART, -1);
    e->link = 0;
}

/* ---- clients ---- */

static void client_next(int c, uint64_t delay_us)
{
    if (!W->clients_on)
        return;
    struct ev *e = push(W->now + delay_us, EV_CLIENT, -1);
    e->link = c;
}

/* outcome: 0 ok (out is what it returned), 1 failed for sure, 2 unknown. */
static void hop_finish(struct hop *h, int outcome, int64_t out)
{
    uint64_t ret = ++W->stamp;
    trace("client %d: op %d key %d val %" PRId64 " -> %s %" PRId64 " (call %" PRIu64
          " ret %" PRIu64 ")", h->client, h->kind, h->key, h->val,
          outcome == 0 ? "ok" : outcome == 1 ? "failed" : "unknown", out, h->call, ret);
    h->live = 0;
    W->client_busy[h->client] = 0;
    if (outcome == 1) {
        W->res->ops_failed++;
    } else {
        uint64_t r = outcome == 2 ? UINT64_MAX : ret;
        W->res->ops_ok += outcome == 0;
        W->res->ops_unknown += outcome == 2;
        switch (h->kind) {
        case OP_SET: lin_add(&W->hist[h->key], LIN_SET, h->val, 0, h->call, r); break;
        case OP_MSET:
            lin_add(&W->hist[h->key], LIN_SET, h->val, 0, h->call, r);
            lin_add(&W->hist[h->key2], LIN_SET, h->val2, 0, h->call, r);
            break;
        case OP_DEL: lin_add(&W->hist[h->key], LIN_DEL, 0, out, h->call, r); break;
        case OP_INCR: lin_add(&W->hist[h->key], LIN_INCR, 0, out, h->call, r); break;
        case OP_GET:
            if (outcome == 0) {
                W->res->reads++;
                lin_add(&W->hist[h->key], LIN_GET, 0, out, h->call, r);
            }
            break;
        }
    }
    client_next(h->client, rnd_in(0, 3000));
}

static int64_t parse_int_reply(const char *p, size_t len)
{
    int64_t v = 0;
    util_parse_i64(p, len, &v);
    return v;
}

static void write_done(void *arg, const char *reply, size_t len, const char *error)
{
    struct hop *h = arg;
    if (!h->live)
        return;
    if (error) {
        trace("client %d: write failed: %s", h->client, error);
        hop_finish(h, 1, 0);
        return;
    }
    int64_t out = 0;
    if (len > 1 && reply[0] == ':')
        out = parse_int_reply(reply + 1, len - 3);
    else if (h->kind == OP_SET || h->kind == OP_MSET) {
        if (len != 5 || memcmp(reply, "+OK\r\n", 5) != 0)
            violation("client: SET answered %.*s", (int)len, reply);
    }
    hop_finish(h, 0, out);
}

static void start_read(struct hop *h, int skip);

static void read_done(void *arg, int i, const struct link_reply *r)
{
    struct hop *h = arg;
    if (!h->live)
        return;
    if (!r) {
        if (++h->tries < W->cfg->nreplicas)
            start_read(h, i);
        else
            hop_finish(h, 1, 0);
        return;
    }
    size_t len = 0;
    const char *s = link_reply_str(r, &len);
    if (link_reply_is_error(r)) {
        hop_finish(h, 1, 0);
        return;
    }
    int64_t out = 0;
    if (s && h->key < NREG)
        out = len > 1 && s[0] == 'v' ? parse_int_reply(s + 1, len - 1) : -1;
    else if (s)
        out = parse_int_reply(s, len);
    hop_finish(h, 0, out);
}

static void start_read(struct hop *h, int skip)
{
    int i = txn_read_pick(W->t, skip);
    if (i < 0) {
        hop_finish(h, 1, 0);
        return;
    }
    char key[16], now[24];
    snprintf(key, sizeof key, "%c%d", h->key < NREG ? 'r' : 'c', h->key);
    const char *argv[4] = { "TPC.READ", now, "GET", key };
    size_t lens[4] = { 8, util_u64_to_str(txn_now_ms(W->t), now), 3, strlen(key) };
    size_t len;
    char *cmd = link_format(4, argv, lens, &len);
    if (io_send(NULL, i, cmd, len, read_done, h) < 0)
        hop_finish(h, 1, 0);
    link_format_free(cmd);
}

static void submit_write(struct hop *h)
{
    char k1[16], k2[16], v1[24], v2[24];
    snprintf(k1, sizeof k1, "%c%d", h->key < NREG ? 'r' : 'c', h->key);
    snprintf(k2, sizeof k2, "r%d", h->key2);
    snprintf(v1, sizeof v1, "v%" PRId64, h->val);
    snprintf(v2, sizeof v2, "v%" PRId64, h->val2);
    char *argv[5];
    size_t lens[5];
    int argc = 0;
    switch (h->kind) {
    case OP_SET: argv[0] = "SET", argv[1] = k1, argv[2] = v1, argc = 3; break;
    case OP_MSET:
        argv[0] = "MSET", argv[1] = k1, argv[2] = v1, argv[3] = k2, argv[4] = v2, argc = 5;
        break;
    case OP_DEL: argv[0] = "DEL", argv[1] = k1, argc = 2; break;
    default: argv[0] = "INCR", argv[1] = k1, argc = 2; break;
    }
    for (int k = 0; k < argc; k++)
        lens[k] = strlen(argv[k]);
    txn_submit(W->t, op_new(argc, argv, lens), write_done, h);
}

static void client_op(int c)
{
    if (W->client_busy[c] || !W->clients_on)
        return;
    struct hop *h = calloc(1, sizeof *h);
    if (W->nhops == W->caphops)
        W->hops = realloc(W->hops, (W->caphops = 2 * W->caphops + 64) * sizeof *W->hops);
    W->hops[W->nhops++] = h;
    int r = (int)rnd_in(0, 99);
    h->client = c;
    h->kind = r < 30 ? OP_SET : r < 38 ? OP_MSET : r < 45 ? OP_DEL : r < 60 ? OP_INCR : OP_GET;
    h->key = h->kind == OP_INCR ? NREG + (int)rnd_in(0, NCNT - 1) : (int)rnd_in(0, NREG - 1);
    if (h->kind == OP_GET && chance(30))
        h->key = NREG + (int)rnd_in(0, NCNT - 1);
    h->key2 = (h->key + 1 + (int)rnd_in(0, NREG - 2)) % NREG;
    h->val = (int64_t)++W->value_counter;
    h->val2 = (int64_t)++W->value_counter;
    h->call = ++W->stamp;
    h->live = 1;
    W->client_busy[c] = 1;
    if (!W->nodes[0].up) {
        hop_finish(h, 1, 0); /* connection refused */
        return;
    }
    if (h->kind == OP_GET)
        start_read(h, -1);
    else
        submit_write(h);
}

/* ---- faults ---- */

static void fault(void)
{
    int n = W->cfg->nreplicas, r = (int)rnd_in(0, 99), i = (int)rnd_in(0, (uint64_t)n - 1);
    if (r < 12) {
        rep_crash(i);
    } else if (r < 18) {
        coord_crash();
    } else if (r < 30) {
        int node = chance(25) ? 0 : i + 1;
        uint64_t d = chance(70) ? rnd_in(1000, 200000) : rnd_in(200000, 1500000);
        trace("node %d pauses for %.1f ms", node, (double)d / 1000);
        W->res->pauses++;
        uint64_t until = W->now + d;
        if (until > W->nodes[node].paused_until)
            W->nodes[node].paused_until = until;
    } else if (r < 45) {
        if (W->nodes[0].up)
            link_break(i, "connection reset");
    } else if (r < 55) {
        struct slink *sl = &W->links[i];
        int have = sl->nrecent < 8 ? sl->nrecent : 8;
        if (have > 0 && W->nodes[i + 1].up) {
            int k = (int)rnd_in(0, (uint64_t)have - 1);
            if (sl->recent_len[k] > 14 && memcmp(sl->recent[k] + 8, "TPC.HELLO", 9) != 0) {
                W->res->strays++;
                struct ev *e = push(W->now + rnd_in(0, 2000), EV_TO_REP, i + 1);
                e->link = i;
                e->conn = UINT64_MAX; /* a connection that never said TPC.HELLO */
                e->unread = 1;
                e->p = malloc(sl->recent_len[k]);
                memcpy(e->p, sl->recent[k], sl->recent_len[k]);
                e->len = sl->recent_len[k];
                trace("stray duplicate to replica %d", i);
            }
        }
    } else if (r < 65) {
        W->links[i].slow_until = W->now + rnd_in(10000, 300000);
    }
    if (W->faults_on)
        push(W->now + rnd_in(W->fault_gap_us / 4, W->fault_gap_us * 2), EV_FAULT, -1);
}

/* ---- the loop ---- */

static void run_event(struct ev *e)
{
    struct node *nd = e->node >= 0 ? &W->nodes[e->node] : NULL;
    switch (e->kind) {
    case EV_TIMER: {
        struct txn_timer *tm = e->p;
        if (!W->nodes[0].up || tm->inc != W->nodes[0].inc || !tm->alive || !tm->armed ||
            tm->gen != e->gen)
            return;
        tm->armed = 0;
        if (tm->alive == 2)
            tm->alive = 0;
        tm->fn(tm->arg);
        return;
    }
    case EV_TO_REP: /* a connection dies with the process: nothing reaches a successor */
        if (nd->up && e->inc == nd->inc && !e->dropped)
            deliver_to_rep(e);
        return;
    case EV_TO_COORD:
        if (e->inc == W->nodes[0].inc && !e->dropped)
            deliver_to_coord(e);
        return;
    case EV_SYNC:
        if (!nd->up || e->inc != nd->inc)
            return;
        nd->sync_scheduled = 0;
        if (e->node == 0) {
            sim_log_sync_done(nd->wal);
            txn_log_progress(W->t);
        } else {
            rep_sync_done(e->node - 1);
        }
        return;
    case EV_RETRY:
        if (W->nodes[0].up && e->inc == W->nodes[0].inc)
            link_connect(e->link);
        return;
    case EV_LAZY:
        if (!nd->up || e->inc != nd->inc)
            return;
        nd->lazy_armed = 0;
        participant_submit(nd->p, 1);
        return;
    case EV_CLIENT: client_op(e->link); return;
    case EV_FAULT:
        if (W->faults_on)
            fault();
        return;
    case EV_RESTART:
        if (e->link == 0 && !W->nodes[0].up)
            coord_start();
        else if (e->link > 0 && !W->nodes[e->link].up)
            rep_start(e->link - 1);
        return;
    case EV_ONCE: return;
    }
}

/* The node an event waits for while paused (-1: none). */
static int paused_node(const struct ev *e)
{
    switch (e->kind) {
    case EV_TIMER: case EV_TO_COORD: case EV_RETRY: case EV_CLIENT: return 0;
    case EV_TO_REP: case EV_LAZY: return e->node;
    case EV_SYNC: return e->node;
    default: return -1;
    }
}

/* Runs events until `until` (µs) or until done() says so. Returns 0, or -1 once a
 * violation was found. */
static int run_until(uint64_t until, int (*done)(void))
{
    while (W->nheap > 0 && !W->res->violation) {
        if (W->heap[0]->at > until)
            break;
        struct ev *e = pop();
        W->now = e->at;
        int pn = paused_node(e);
        if (pn >= 0 && W->nodes[pn].paused_until > W->now) {
            /* It waits for the node, keeping its sequence number: events deferred at
             * different moments still run in the order they were scheduled (a link's
             * messages stay FIFO however often the pause is extended). */
            e->at = W->nodes[pn].paused_until;
            insert(e);
            continue;
        }
        W->res->events++;
        run_event(e);
        ev_free(e);
        if (done && done())
            break;
    }
    if (W->now < until && (!done || !done()) && W->nheap == 0)
        W->now = until;
    return W->res->violation ? -1 : 0;
}

/* ---- the end of a run: heal, settle, check ---- */

static int all_quiet(void)
{
    if (!W->nodes[0].up || !W->t)
        return 0;
    for (int c = 0; c <= W->cfg->nclients; c++)
        if (W->client_busy[c])
            return 0;
    struct txn_stats st;
    txn_get_stats(W->t, &st);
    if (st.pending_ops || st.unacked_rounds || st.inflight)
        return 0;
    for (int i = 0; i < W->cfg->nreplicas; i++) {
        const struct node *nd = &W->nodes[i + 1];
        if (W->links[i].state != SL_READY || W->links[i].qn || !nd->up || nd->nheld ||
            participant_in_doubt(nd->p) || nd->paused_until > W->now)
            return 0;
    }
    return 1;
}

/* Every process up and running, every link READY. */
static int all_ready(void)
{
    if (!W->nodes[0].up || W->nodes[0].paused_until > W->now)
        return 0;
    for (int i = 0; i < W->cfg->nreplicas; i++)
        if (W->links[i].state != SL_READY || !W->nodes[i + 1].up ||
            W->nodes[i + 1].paused_until > W->now)
            return 0;
    return 1;
}

static struct hop *final_hop;
static int final_done(void) { return !final_hop->live; }

/* One operation by the extra client, run to its end; returns its outcome (0 ok, 1 failed,
 * 2 unknown) by looking at what hop_finish recorded. */
static int final_op(int kind, int key)
{
    int c = W->cfg->nclients;
    struct hop *h = calloc(1, sizeof *h);
    if (W->nhops == W->caphops)
        W->hops = realloc(W->hops, (W->caphops = 2 * W->caphops + 64) * sizeof *W->hops);
    W->hops[W->nhops++] = h;
    *h = (struct hop){ .client = c, .kind = kind, .key = key, .live = 1 };
    h->val = (int64_t)++W->value_counter;
    h->call = ++W->stamp;
    W->client_busy[c] = 1;
    uint64_t failed = W->res->ops_failed, unknown = W->res->ops_unknown;
    final_hop = h;
    if (kind == OP_GET)
        start_read(h, -1);
    else
        submit_write(h);
    run_until(W->now + 10 * 1000000ULL, final_done);
    if (h->live)
        return 2;
    return W->res->ops_failed > failed ? 1 : W->res->ops_unknown > unknown ? 2 : 0;
}

static void heal_and_check(void)
{
    W->faults_on = 0;
    W->clients_on = 0;
    for (int n = 0; n <= W->cfg->nreplicas; n++) { /* pauses end by themselves */
        if (!W->nodes[n].up)
            push(W->now, EV_RESTART, -1)->link = n;
    }
    for (int i = 0; i < W->cfg->nreplicas; i++)
        W->links[i].slow_until = 0;
    uint64_t deadline = W->now + FINAL_MS * 1000ULL;
    if (run_until(deadline, all_ready) < 0)
        return;
    /* Writes work again: each key is written once more, retrying transient failures. */
    for (int k = 0; k < NKEYS && !W->res->violation; k++) {
        int kind = k < NREG ? OP_SET : OP_INCR, rc = 1;
        for (int attempt = 0; attempt < 20 && rc != 0 && !W->res->violation; attempt++) {
            rc = final_op(kind, k);
            if (rc != 0)
                run_until(W->now + 500000, NULL);
        }
        if (rc != 0)
            violation("writes do not come back after the faults stopped (key %d)", k);
    }
    for (int k = 0; k < NKEYS && !W->res->violation; k++)
        if (final_op(OP_GET, k) != 0)
            violation("reads do not come back after the faults stopped (key %d)", k);
    if (W->res->violation || run_until(W->now + FINAL_MS * 1000ULL, all_quiet) < 0)
        return;
    if (!all_quiet()) {
        char why[256] = "";
        size_t n = 0;
        struct txn_stats st = { 0 };
        if (W->t)
            txn_get_stats(W->t, &st);
        n += (size_t)snprintf(why + n, sizeof why - n, "coordinator %s, %zu pending, %zu "
                              "unacked, %zu in flight;", W->nodes[0].up ? "up" : "down",
                              st.pending_ops, st.unacked_rounds, st.inflight);
        for (int i = 0; i < W->cfg->nreplicas && n < sizeof why; i++)
            n += (size_t)snprintf(why + n, sizeof why - n, " replica %d %s link %d q %zu "
                                  "held %zu doubt %zu;", i, W->nodes[i + 1].up ? "up" : "down",
                                  W->links[i].state, W->links[i].qn, W->nodes[i + 1].nheld,
                                  W->nodes[i + 1].p ? participant_in_doubt(W->nodes[i + 1].p)
                                                    : 0);
        violation("the cluster did not settle within %d s after the final writes: %s",
                  FINAL_MS / 1000, why);
        return;
    }
    /* Every replica holds the same data. */
    char first[17] = "";
    uint64_t applied0 = 0;
    for (int i = 0; i < W->cfg->nreplicas; i++) {
        struct store *st = participant_store(W->nodes[i + 1].p);
        char hex[17];
        store_digest(st, hex);
        if (i == 0) {
            memcpy(first, hex, 17);
            applied0 = store_applied(st);
        } else if (strcmp(first, hex) != 0 || applied0 != store_applied(st)) {
            violation("replicas differ after the run: replica 0 at round %" PRIu64 " digest %s, "
                      "replica %d at round %" PRIu64 " digest %s", applied0, first, i,
                      store_applied(st), hex);
        }
    }
    for (int k = 0; k < NKEYS && !W->res->violation; k++) {
        int rc = lin_check(&W->hist[k]);
        if (rc == 1 && W->cfg->verbose)
            for (size_t j = 0; j < W->hist[k].n; j++) {
                const struct lin_op *o = &W->hist[k].ops[j];
                static const char *const names[] = { "SET", "GET", "DEL", "INCR" };
                printf("key %d: %-4s arg %" PRId64 " out %" PRId64 " call %" PRIu64
                       " ret %" PRId64 "\n", k, names[o->kind], o->arg, o->out, o->call,
                       o->ret == UINT64_MAX ? (int64_t)-1 : (int64_t)o->ret);
            }
        if (rc == 1)
            violation("the history of key %c%d is not linearizable (%zu operations): an "
                      "acknowledged write lost, a failed write visible, or a stale read",
                      k < NREG ? 'r' : 'c', k, W->hist[k].n);
        else if (rc < 0)
            fprintf(stderr, "sim: seed %" PRIu64 ": key %d: linearizability undecided\n",
                    W->cfg->seed, k);
    }
}

/* ---- set-up and teardown ---- */

static int bug_on(const char *name) { return W->cfg->bug && strcmp(W->cfg->bug, name) == 0; }

static void teardown(void)
{
    if (W->t) {
        txn_stop(W->t, 0);
        for (int i = 0; i < W->cfg->nreplicas; i++) {
            free(W->links[i].q);
            W->links[i].q = NULL;
        }
        txn_destroy(W->t);
    }
    for (int n = 0; n <= W->cfg->nreplicas; n++) {
        struct node *nd = &W->nodes[n];
        if (nd->p) {
            sim_log_crash(nd->wal, 0);
            store_close(participant_crash(nd->p));
        }
        store_close(nd->kept);
        resp_parser_free(nd->parser);
        for (size_t k = 0; k < nd->nheld; k++)
            free(nd->held[k].bytes);
        free(nd->held);
        free(nd->seen.b);
        sim_file_free(nd->file);
    }
    for (int i = 0; i < W->cfg->nreplicas; i++)
        for (int k = 0; k < 8; k++)
            free(W->links[i].recent[k]);
    while (W->nheap)
        ev_free(pop());
    free(W->heap);
    for (size_t k = 0; k < W->ntimers; k++)
        free(W->timers[k]);
    free(W->timers);
    for (size_t k = 0; k < W->nhops; k++)
        free(W->hops[k]);
    free(W->hops);
    for (int k = 0; k < NKEYS; k++)
        lin_free(&W->hist[k]);
    free(W->digests);
    free(W->client_busy);
}

int sim_run(const struct sim_config *cfg, struct sim_result *res)
{
    struct world w = { 0 };
    memset(res, 0, sizeof *res);
    if (cfg->nreplicas < 1 || cfg->nreplicas > SIM_MAX_REPLICAS || cfg->nclients < 1)
        return -1;
    W = &w;
    w.cfg = cfg;
    w.res = res;
    w.rng = cfg->seed * 0x2545f4914f6cdd1dULL + 1;
    w.client_busy = calloc((size_t)cfg->nclients + 1, sizeof *w.client_busy);
    w.bug_vote_early = bug_on("vote-before-durable");
    for (int n = 0; n <= cfg->nreplicas; n++) {
        w.nodes[n].file = sim_file_new();
        sim_file_on_durable(w.nodes[n].file, on_durable, (void *)(intptr_t)n);
        if (n > 0) {
            w.nodes[n].parser = resp_parser_new(NULL);
            w.nodes[n].rng = cfg->seed + (uint64_t)n;
        }
    }
    for (int i = 0; i < cfg->nreplicas; i++)
        rep_start(i);
    coord_start();
    w.faults_on = w.clients_on = 1;
    /* Swarm testing: each seed draws its own weather, from a storm (a fault every few ms)
     * to calm (one every half second), so both busy and broken clusters are explored. */
    static const uint64_t gaps_ms[] = { 5, 20, 40, 100, 250, 500 };
    w.fault_gap_us = gaps_ms[rnd() % (sizeof gaps_ms / sizeof gaps_ms[0])] * 1000;
    push(rnd_in(w.fault_gap_us / 4, w.fault_gap_us * 2), EV_FAULT, -1);
    for (int c = 0; c < cfg->nclients; c++)
        client_next(c, rnd_in(0, 5000));
    run_until(cfg->run_ms * 1000, NULL);
    if (!res->violation)
        heal_and_check();
    if (w.t)
        count_rounds();
    teardown();
    W = NULL;
    return 0;
}
