/* sim_coord.c -- the simulated coordinator: the real round engine (server/engine/) in a
 * world of simulated links, timers, clocks and a log file in memory. See sim_internal.h.
 *
 * Its struct txn_io mirrors server/txn_io.c; its links mirror server/replica_link.c: DOWN
 * ─connect─▶ SYNCING (TPC.HELLO first) ─HELLO answered, txn_link_hello() == 0─▶ READY; a
 * break runs every pending callback with NULL, in order, and retries after 100 ms. A
 * connection is FIFO; when it breaks, the replica still reads a random prefix of what was
 * in flight (its replies go nowhere) and every reply in flight is lost. Link liveness as
 * in replica_link.c: every HEARTBEAT_US an idle READY link is pinged and a link with a
 * request unanswered for LINK_TIMEOUT_MS is broken; a connect across a partition gives up
 * after LINK_TIMEOUT_MS.
 */
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
#include "sim_internal.h"
#include "sim_log.h"
#include "store.h"
#include "txn.h"
#include "util.h"

/* ---- the coordinator's io (struct txn_io) ---- */

static uint64_t now_ms(void) { return sim_w->now / 1000; }

void sim_net_send(int link, int to_rep, uint64_t conn, const char *bytes, size_t len)
{
    struct slink *sl = &sim_w->links[link];
    uint64_t lat = sim_chance(95) ? sim_rnd_in(20, 400) : sim_rnd_in(400, 8000);
    if (sl->slow_until > sim_w->now)
        lat += sim_rnd_in(2000, 40000);
    uint64_t *last = to_rep ? &sl->last_to_rep : &sl->last_to_coord;
    uint64_t at = sim_w->now + lat > *last ? sim_w->now + lat : *last;
    *last = at;
    struct ev *e = sim_push(at, to_rep ? EV_TO_REP : EV_TO_COORD, to_rep ? link + 1 : 0);
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

int sim_io_send(void *ctx, int i, const char *cmd, size_t len, txn_reply_fn fn, void *arg)
{
    struct slink *sl = &sim_w->links[i];
    if (!sim_w->nodes[0].up || sl->state == SL_DOWN)
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
        sl->progress_us = sim_w->now;
    sim_net_send(i, 1, sl->conn, cmd, len);
    remember(sl, cmd, len);
    return 0;
}

static const char *io_unready(void *ctx, int i, uint64_t stall_ms)
{
    const struct slink *sl = &sim_w->links[i];
    if (sl->state == SL_REPAIR)
        return "in need of repair";
    if (sl->state != SL_READY)
        return sl->state == SL_DOWN ? "down" : "syncing";
    if (sl->qn > 0 && sim_w->now - sl->progress_us > stall_ms * 1000)
        return "not responding";
    return NULL;
}

static const char *io_addr(void *ctx, int i)
{
    static char addr[SIM_MAX_REPLICAS][32];
    snprintf(addr[i], sizeof addr[i], "sim:%d", 7001 + i);
    return addr[i];
}


static void io_drop(void *ctx, int i, const char *why) { sim_link_break(i, why); }

static struct txn_timer *io_timer_new(void *ctx, txn_timer_fn fn, void *arg)
{
    struct txn_timer *tm = calloc(1, sizeof *tm);
    if (sim_w->ntimers == sim_w->captimers)
        sim_w->timers = realloc(sim_w->timers,
                                (sim_w->captimers = 2 * sim_w->captimers + 64) * sizeof *tm);
    sim_w->timers[sim_w->ntimers++] = tm;
    *tm = (struct txn_timer){ fn, arg, 0, sim_w->nodes[0].inc, 0, 1 };
    return tm;
}

static void io_timer_arm(void *ctx, struct txn_timer *tm, int ms)
{
    tm->gen++;
    tm->armed = 1;
    struct ev *e = sim_push(ms < 0 ? sim_w->now : sim_w->now + (uint64_t)ms * 1000, EV_TIMER, 0);
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

static void io_fatal(void *ctx, const char *why)
{
    sim_violation("the coordinator gave up: %s", why);
}

static uint64_t io_wall_ms(void *ctx) { return WALL_BASE_MS + now_ms(); }
static uint64_t io_mono_ms(void *ctx) { return now_ms(); }

/* The engine opens slot i's link: slot i is always node i + 1; a slot reopened after a
 * removal gets a new, empty machine. */
static void io_link_open(void *ctx, int i, const char *addr)
{
    struct slink *sl = &sim_w->links[i];
    if (i + 1 > sim_w->nslots)
        sim_w->nslots = i + 1;
    if (sim_w->nodes[i + 1].retired || !sim_w->nodes[i + 1].file)
        sim_rep_new(i);
    sim_trace("link %d opens (%s)", i, addr);
    sl->open = 1;
    sl->state = SL_DOWN;
    sim_link_connect(i);
}

static void io_link_close(void *ctx, int i)
{
    sim_trace("link %d closes: its replica left the replica set", i);
    sim_link_break(i, "removed from the replica set");
    sim_w->links[i].open = 0;
    sim_rep_retire(i);
}

static uint64_t io_random(void *ctx) { return sim_rnd_in(1, UINT64_MAX - 1); }

static const struct txn_io sim_io = { NULL, sim_io_send, io_unready, io_addr, io_drop,
                                      io_timer_new, io_timer_arm, io_timer_cancel,
                                      io_timer_armed, io_timer_free, io_once, io_fatal,
                                      io_wall_ms, io_mono_ms, io_link_open, io_link_close,
                                      io_random, NULL /* expect: the simulated links have no watchdog of sizes */ };

/* ---- disks: syncs, and what became durable ---- */

static void on_submit(void *ctx)
{
    int n = (int)(intptr_t)ctx;
    struct node *nd = &sim_w->nodes[n];
    if (nd->sync_scheduled)
        return;
    nd->sync_scheduled = 1;
    uint64_t lat = sim_chance(90) ? sim_rnd_in(50, 2000) : sim_rnd_in(2000, 30000);
    sim_push(sim_w->now + lat, EV_SYNC, n);
}

/* Notes every record that became durable in node n's log since the last look. */
void sim_scan_durable(int n)
{
    struct node *nd = &sim_w->nodes[n];
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
            util_parse_u64(f.argv[1], f.lens[1], &rid) == 0) {
            sim_bits_set(&nd->seen, rid);
            if (n > 0)
                sim_bits_set(&nd->voted, rid);
        }
        record_fields_free(&f);
        nd->scanned += (size_t)(nl - p) + 1;
    }
}

void sim_on_durable(void *ctx)
{
    sim_scan_durable((int)(intptr_t)ctx);
}

struct wal *sim_open_log(void *arg, journal_replay_fn fn, void *ctx,
                            struct journal_info *info, char *err, size_t errlen)
{
    int n = (int)(intptr_t)arg;
    struct node *nd = &sim_w->nodes[n];
    struct wal *w = sim_log_open(nd->file, fn, ctx, info, err, errlen);
    if (w) {
        sim_log_on_submit(w, on_submit, arg);
        nd->wal = w;
        nd->scanned = 0; /* a torn tail may have been cut */
    }
    return w;
}

/* ---- the coordinator's side of the links ---- */


void sim_link_break(int i, const char *why)
{
    struct slink *sl = &sim_w->links[i];
    if (sl->state == SL_DOWN)
        return;
    uint64_t old = sl->conn;
    sim_trace("link %d breaks: %s", i, why);
    sim_w->res->breaks++;
    /* Bytes held by a partition on the closed connection: the kernel keeps retransmitting
     * them after close(), so they arrive after the heal, when its backoff timer fires. */
    sl->late_us = sim_rnd_in(0, 3000000);
    sl->state = SL_DOWN;
    sl->conn = 0;
    /* In flight to the replica: it still reads a random prefix; replies are lost. */
    size_t keep = (size_t)sim_rnd_in(0, 8);
    for (size_t k = 0; k < sim_w->nheap; k++) {
        struct ev *e = sim_w->heap[k];
        if ((e->kind == EV_TO_REP || e->kind == EV_TO_COORD) && e->link == i && e->conn == old)
            e->dropped = 1;
    }
    for (size_t n = 0; n < keep; n++) { /* undrop the earliest `keep` commands */
        struct ev *first = NULL;
        for (size_t k = 0; k < sim_w->nheap; k++) {
            struct ev *e = sim_w->heap[k];
            if (e->kind == EV_TO_REP && e->link == i && e->conn == old && e->dropped &&
                (!first || sim_ev_before(e, first)))
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
    for (size_t k = 0; k < n && sim_w->nodes[0].up; k++)
        q[(head + k) % cap].fn(q[(head + k) % cap].arg, i, NULL);
    free(q);
    struct ev *e = sim_push(sim_w->now + RETRY_US, EV_RETRY, 0);
    e->link = i;
}

static void hello_done(void *arg, int i, const struct link_reply *r)
{
    struct slink *sl = &sim_w->links[i];
    uint64_t conn = (uint64_t)(uintptr_t)arg;
    if (!r || sl->conn != conn)
        return;
    struct link_hello h;
    if (link_reply_hello(r, &h) < 0) {
        sim_violation("replica %d sent a bad TPC.HELLO answer", i);
        return;
    }
    int rc = txn_link_hello(sim_w->t, i, &h);
    free((void *)h.in_doubt);
    if (rc == 1) { /* connected, never READY: the engine repairs it over this link */
        if (sl->state == SL_SYNCING && sl->conn == conn)
            sl->state = SL_REPAIR;
        sim_trace("link %d needs repair", i);
        return;
    }
    if (rc < 0) {
        sim_link_break(i, "could not resynchronize");
        return;
    }
    if (sl->state == SL_SYNCING && sl->conn == conn) {
        sl->state = SL_READY;
        sim_w->nodes[i + 1].wiped = 0; /* complete again (repaired, or never wiped) */
        sim_trace("link %d ready", i);
    }
}

void sim_link_connect(int i)
{
    struct slink *sl = &sim_w->links[i];
    if (!sim_w->nodes[0].up || sl->state != SL_DOWN || !sl->open)
        return;
    if (!sim_w->nodes[i + 1].up) {
        struct ev *e = sim_push(sim_w->now + RETRY_US, EV_RETRY, 0);
        e->link = i;
        return;
    }
    if (sl->cut_to_rep > sim_w->now || sl->cut_to_coord > sim_w->now) {
        /* The SYN or its answer is lost: the connect times out, then the usual retry. */
        struct ev *e = sim_push(sim_w->now + LINK_TIMEOUT_MS * 1000ULL + RETRY_US, EV_RETRY, 0);
        e->link = i;
        return;
    }
    sl->conn = ++sim_w->conn_counter;
    sl->state = SL_SYNCING;
    size_t len;
    char *hello = link_format_hello(&len); /* TPC.HELLO min max release, as the daemon's */
    if (!hello) {
        sim_violation("out of memory");
        return;
    }
    sim_io_send(NULL, i, hello, len, hello_done, (void *)(uintptr_t)sl->conn);
    link_format_free(hello);
}

uint64_t sim_link_cut_until(const struct ev *e)
{
    if (e->kind != EV_TO_REP && e->kind != EV_TO_COORD)
        return 0;
    const struct slink *sl = &sim_w->links[e->link];
    if (e->kind == EV_TO_COORD)
        return sl->cut_to_coord;
    if (sl->cut_to_rep <= sim_w->now)
        return 0;
    /* A closed connection's bytes come late_us after the heal. */
    return e->conn != sl->conn || e->unread ? sl->cut_to_rep + sl->late_us : sl->cut_to_rep;
}

static void heartbeat_done(void *arg, int i, const struct link_reply *r) {}

void sim_link_liveness(void)
{
    if (!sim_w->nodes[0].up)
        return;
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    for (int i = 0; i < sim_w->nslots; i++) {
        struct slink *sl = &sim_w->links[i];
        if (sl->state == SL_DOWN)
            continue;
        if (sl->qn > 0 && sim_w->now - sl->progress_us > LINK_TIMEOUT_MS * 1000ULL) {
            sim_w->res->timeouts++;
            sim_link_break(i, "no reply within the link timeout");
        } else if (sl->qn == 0 && sl->state == SL_READY) {
            sim_io_send(NULL, i, ping, sizeof ping - 1, heartbeat_done, NULL);
        }
    }
}

void sim_deliver_to_coord(struct ev *e)
{
    struct slink *sl = &sim_w->links[e->link];
    if (!sim_w->nodes[0].up || e->conn == 0 || e->conn != sl->conn || sl->qn == 0)
        return;
    struct link_reply *r = NULL;
    size_t used = 0;
    if (link_reply_parse(e->p, e->len, &r, &used) != 1) {
        sim_violation("replica %d sent an unparsable reply", e->link);
        return;
    }
    if (sim_w->cfg->verbose)
        sim_trace("coordinator <- link %d: %.*s", e->link, (int)(e->len < 40 ? e->len : 40),
                  (const char *)e->p);
    struct pend pd = sl->q[sl->qhead];
    sl->qhead = (sl->qhead + 1) % sl->qcap;
    sl->qn--;
    sl->progress_us = sim_w->now;
    pd.fn(pd.arg, e->link, (const struct link_reply *)r);
    link_reply_free(r);
}


/* ---- the coordinator process ---- */

int sim_coord_start(void)
{
    struct node *nd = &sim_w->nodes[0];
    char err[256];
    nd->inc++;
    nd->up = 1;
    nd->sync_scheduled = 0;
    static const char *addrs[SIM_MAX_REPLICAS];
    for (int i = 0; i < sim_w->cfg->nreplicas; i++)
        addrs[i] = io_addr(NULL, i);
    sim_w->t = txn_create(&sim_io, addrs, sim_w->cfg->nreplicas, sim_open_log,
                          (void *)(intptr_t)0, PREPARE_TIMEOUT_MS, MAX_LOG_BYTES, err,
                          sizeof err);
    if (!sim_w->t) {
        sim_violation("the coordinator cannot restart: %s", err);
        nd->up = 0;
        return -1;
    }
    txn_set_max_inflight(sim_w->t, 3);
    txn_set_repair_chunk(sim_w->t, 2); /* its few keys still take several chunks to copy */
    txn_set_databases(sim_w->t, sim_w->cfg->databases > 1 ? sim_w->cfg->databases : 1);
    txn_set_min_replicas(sim_w->t, sim_w->cfg->min_replicas);
    txn_set_down_after(sim_w->t, 300);
    txn_set_write_wait(sim_w->t, 300);
    for (int i = 0; i < SIM_MAX_REPLICAS; i++)
        sim_w->links[i].open = 0;
    txn_start(sim_w->t); /* io_link_open for every member */
    return 0;
}


/* Adds the rounds the engine decided to the run's totals (before it goes away). */
void sim_count_rounds(void)
{
    struct txn_stats st;
    txn_get_stats(sim_w->t, &st);
    sim_w->res->committed += st.committed;
    sim_w->res->repairs += st.repairs_done;
    sim_w->res->aborted += st.aborted;
    sim_w->res->rounds = sim_w->res->committed + sim_w->res->aborted;
}

void sim_coord_crash(void)
{
    struct node *nd = &sim_w->nodes[0];
    if (!nd->up)
        return;
    sim_w->res->crashes++;
    sim_trace("coordinator crashes");
    size_t extra = sim_file_len(nd->file) - sim_file_durable(nd->file);
    sim_log_crash(nd->wal, sim_chance(30) ? 0 : (size_t)sim_rnd_in(0, extra));
    nd->up = 0;
    nd->inc++;
    for (int i = 0; i < sim_w->nslots; i++) {
        struct slink *sl = &sim_w->links[i];
        free(sl->q);
        sl->q = NULL;
        sl->qhead = sl->qn = sl->qcap = 0;
        if (sl->state != SL_DOWN) { /* the replica sees the connection close */
            for (size_t k = 0; k < sim_w->nheap; k++)
                if (sim_w->heap[k]->link == i && sim_w->heap[k]->conn == sl->conn &&
                    (sim_w->heap[k]->kind == EV_TO_REP || sim_w->heap[k]->kind == EV_TO_COORD))
                    sim_w->heap[k]->dropped = 1;
        }
        sl->state = SL_DOWN;
        sl->conn = 0;
    }
    for (size_t k = 0; k < sim_w->nhops; k++)
        if (sim_w->hops[k]->live)
            sim_hop_finish(sim_w->hops[k], 2, 0); /* the outcome is unknown to the client */
    sim_count_rounds();
    txn_stop(sim_w->t, 0);
    txn_destroy(sim_w->t);
    sim_w->t = NULL;
    nd->wal = NULL;
    struct ev *e = sim_push(sim_w->now + sim_rnd_in(5000, 400000), EV_RESTART, -1);
    e->link = 0;
}

/* ---- the replica set ---- */

int sim_last_copy(int i)
{
    if (!sim_w->nodes[0].up || !sim_w->t)
        return 1; /* the coordinator's view is unknown: be safe */
    for (int k = 0; k < sim_w->nslots; k++) {
        if (k != i && txn_in_sync(sim_w->t, k) && !sim_w->nodes[k + 1].wiped &&
            !sim_w->nodes[k + 1].retired)
            return 0;
    }
    return 1;
}

/* Removes a member, adds one (an empty machine) or replaces one, through the engine's own
 * commands (REPLICASET in the daemon); the engine refuses what would lose data. */
void sim_change_members(void)
{
    struct txn *t = sim_w->t;
    if (!sim_w->nodes[0].up || !t)
        return;
    int slots[SIM_MAX_REPLICAS], n = 0;
    for (int k = 0; k < sim_w->nslots; k++) {
        struct txn_member_info mi;
        if (txn_member_get(t, k, &mi) == 0)
            slots[n++] = k;
    }
    char err[256], addr[32], which[24];
    snprintf(addr, sizeof addr, "new%" PRIu64 ":7000", ++sim_w->addr_counter);
    int r = (int)sim_rnd_in(0, 2), victim = n ? slots[sim_rnd_in(0, (uint64_t)n - 1)] : -1;
    struct txn_member_info mi;
    if (victim < 0 || txn_member_get(t, victim, &mi) < 0)
        return;
    snprintf(which, sizeof which, "%" PRIu64, mi.id);
    int free_slot = n < SIM_MAX_REPLICAS;
    int rc;
    if (r == 0 && n > 1) {
        if (sim_last_copy(victim))
            return; /* (the engine would refuse it too, unless the copy is on a wiped node) */
        rc = txn_member_remove(t, which, err, sizeof err);
        sim_trace("REPLICASET REMOVE %s: %s", which, rc < 0 ? err : "OK");
    } else if (r == 1 && free_slot) {
        rc = txn_member_add(t, addr, err, sizeof err);
        sim_trace("REPLICASET ADD %s: %s", addr, rc < 0 ? err : "OK");
    } else if (r == 2) {
        if (sim_last_copy(victim))
            return;
        rc = txn_member_replace(t, which, addr, err, sizeof err);
        sim_trace("REPLICASET REPLACE %s %s: %s", which, addr, rc < 0 ? err : "OK");
    } else {
        return;
    }
    if (rc >= 0)
        sim_w->res->member_changes++;
}
