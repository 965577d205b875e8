/* sim.c -- the simulator's world: time, events, the loop, faults, set-up and teardown.
 * See sim.h for what it simulates and checks, sim_internal.h for how the files divide it.
 *
 * One priority queue of events ordered by (time in µs, sequence number) drives everything;
 * the only randomness is rnd(), seeded by the run's seed. Node 0 is the coordinator, node
 * i + 1 replica i. An event belongs to a node and to that node's incarnation: a crash bumps
 * the incarnation, and the dead process's timers, syncs and deliveries then do nothing.
 * While a node is paused its events wait (in order) until it resumes; while a link is cut
 * (a partition) its messages that way wait (in order) until it heals.
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

struct world *sim_w; /* the run in progress */

/* ---- randomness, time, violations ---- */

static uint64_t rnd(void)
{
    uint64_t z = (sim_w->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sim_rnd_in(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }
int sim_chance(int percent) { return (int)(rnd() % 100) < percent; }

void sim_violation(const char *fmt, ...)
{
    if (sim_w->res->violation)
        return;
    sim_w->res->violation = 1;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(sim_w->res->what, sizeof sim_w->res->what, "t=%.3f s: ",
                     (double)sim_w->now / 1e6);
    vsnprintf(sim_w->res->what + n, sizeof sim_w->res->what - (size_t)n, fmt, ap);
    va_end(ap);
}

void sim_trace(const char *fmt, ...)
{
    if (!sim_w->cfg->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("%10.3f ms  ", (double)sim_w->now / 1000);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

int sim_bits_set(struct bits *b, uint64_t i)
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

int sim_bits_has(const struct bits *b, uint64_t i) { return i < b->n && b->b[i]; }

/* ---- the event queue (a binary heap on (at, seq)) ---- */

int sim_ev_before(const struct ev *a, const struct ev *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

/* Puts e into the queue. */
static void insert(struct ev *e)
{
    if (sim_w->nheap == sim_w->capheap) {
        sim_w->capheap = sim_w->capheap * 2 + 64;
        sim_w->heap = realloc(sim_w->heap, sim_w->capheap * sizeof *sim_w->heap);
    }
    if (!sim_w->heap) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    size_t i = sim_w->nheap++;
    for (; i > 0 && sim_ev_before(e, sim_w->heap[(i - 1) / 2]); i = (i - 1) / 2)
        sim_w->heap[i] = sim_w->heap[(i - 1) / 2];
    sim_w->heap[i] = e;
}

struct ev *sim_push(uint64_t at, enum ev_kind kind, int node)
{
    struct ev *e = calloc(1, sizeof *e);
    if (!e) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    *e = (struct ev){ .at = at, .seq = ++sim_w->seq, .kind = kind, .node = node };
    e->inc = node >= 0 ? sim_w->nodes[node].inc : 0;
    insert(e);
    return e;
}

static struct ev *pop(void)
{
    struct ev *top = sim_w->heap[0], *last = sim_w->heap[--sim_w->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= sim_w->nheap)
            break;
        if (c + 1 < sim_w->nheap && sim_ev_before(sim_w->heap[c + 1], sim_w->heap[c]))
            c++;
        if (!sim_ev_before(sim_w->heap[c], last))
            break;
        sim_w->heap[i] = sim_w->heap[c];
        i = c;
    }
    if (sim_w->nheap)
        sim_w->heap[i] = last;
    return top;
}

static void ev_free(struct ev *e)
{
    if (e->kind == EV_TO_REP || e->kind == EV_TO_COORD)
        free(e->p);
    free(e);
}


/* ---- faults ---- */

/* Cuts the network: replica i from the coordinator, or (one time in five) the coordinator
 * from every replica; both directions, or only towards the replica, or only back. Mostly
 * shorter than the link timeout, sometimes far longer; the end of the run heals it. */
static void partition(int i)
{
    uint64_t d = sim_chance(60) ? sim_rnd_in(20000, 900000) : sim_rnd_in(900000, 6000000);
    int all = sim_chance(20), way = (int)sim_rnd_in(0, 2); /* 0 both, 1 to rep, 2 to coord */
    sim_w->res->partitions++;
    sim_trace("partition: %s%d cut off %s for %.1f ms", all ? "every replica (from " : "replica ",
              all ? 0 : i, way == 0 ? "both ways" : way == 1 ? "towards it" : "from it",
              (double)d / 1000);
    for (int k = 0; k < sim_w->nslots; k++) {
        if (!all && k != i)
            continue;
        struct slink *sl = &sim_w->links[k];
        uint64_t until = sim_w->now + d;
        if (way != 2 && until > sl->cut_to_rep)
            sl->cut_to_rep = until;
        if (way != 1 && until > sl->cut_to_coord)
            sl->cut_to_coord = until;
    }
}

static void fault(void)
{
    int n = sim_w->nslots, r = (int)sim_rnd_in(0, 99);
    int i = (int)sim_rnd_in(0, (uint64_t)n - 1);
    if (sim_w->nodes[i + 1].retired) {
        /* a machine that left: nothing to break */
    } else if (sim_w->cfg->partition && sim_chance(sim_w->cfg->partition)) {
        partition(i);
    } else if (sim_w->cfg->disk_errors && sim_chance(sim_w->cfg->disk_errors)) {
        /* A failing disk under one process: its next few log syncs fail. */
        int node = sim_chance(40) ? 0 : i + 1;
        int syncs = (int)sim_rnd_in(1, 6);
        if (sim_w->nodes[node].up && sim_w->nodes[node].wal) {
            sim_trace("node %d: its next %d log syncs fail", node, syncs);
            sim_w->res->disk_errors += (uint64_t)syncs;
            sim_log_fail(sim_w->nodes[node].wal, syncs);
        }
    } else if (sim_w->cfg->stray_hello && sim_chance(sim_w->cfg->stray_hello)) {
        /* A stranger (a connection that is none of the coordinator's) says TPC.HELLO to a
         * replica, reads the answer and says nothing more. */
        if (sim_w->nodes[i + 1].up) {
            size_t len;
            char *hello = link_format_hello(&len);
            struct ev *e = sim_push(sim_w->now + sim_rnd_in(0, 2000), EV_TO_REP, i + 1);
            e->link = i;
            e->conn = (1ULL << 62) + ++sim_w->stranger_counter;
            e->unread = 1; /* its answer goes nowhere */
            e->p = hello;
            e->len = len;
            sim_w->res->stray_hellos++;
            sim_trace("stray TPC.HELLO to replica %d from connection %" PRIu64, i, e->conn);
        }
    } else if (sim_w->cfg->members && sim_chance(sim_w->cfg->members)) {
        sim_change_members();
    } else if (sim_w->cfg->rollback && sim_chance(sim_w->cfg->rollback)) {
        sim_rep_snapshot_or_rollback(i);
    } else if (sim_w->cfg->wipe && sim_chance(sim_w->cfg->wipe)) {
        /* One disk lost at a time (until it is repaired), never the last complete copy:
         * losing every copy loses the data, which is not a failure to survive. */
        int wiped = 0;
        for (int k = 1; k <= n; k++)
            wiped += sim_w->nodes[k].wiped && !sim_w->nodes[k].retired;
        if (!wiped && !sim_last_copy(i))
            sim_rep_wipe(i);
    } else if (r < 12) {
        sim_rep_crash(i);
    } else if (r < 18) {
        sim_coord_crash();
    } else if (r < 30) {
        int node = sim_chance(25) ? 0 : i + 1;
        uint64_t d = sim_chance(70) ? sim_rnd_in(1000, 200000) : sim_rnd_in(200000, 1500000);
        sim_trace("node %d pauses for %.1f ms", node, (double)d / 1000);
        sim_w->res->pauses++;
        uint64_t until = sim_w->now + d;
        if (until > sim_w->nodes[node].paused_until)
            sim_w->nodes[node].paused_until = until;
    } else if (r < 45) {
        if (sim_w->nodes[0].up)
            sim_link_break(i, "connection reset");
    } else if (r < 55) {
        struct slink *sl = &sim_w->links[i];
        int have = sl->nrecent < 8 ? sl->nrecent : 8;
        if (have > 0 && sim_w->nodes[i + 1].up) {
            int k = (int)sim_rnd_in(0, (uint64_t)have - 1);
            if (sl->recent_len[k] > 14 && memcmp(sl->recent[k] + 8, "TPC.HELLO", 9) != 0) {
                sim_w->res->strays++;
                struct ev *e = sim_push(sim_w->now + sim_rnd_in(0, 2000), EV_TO_REP, i + 1);
                e->link = i;
                e->conn = UINT64_MAX; /* a connection that never said TPC.HELLO */
                e->unread = 1;
                e->p = malloc(sl->recent_len[k]);
                memcpy(e->p, sl->recent[k], sl->recent_len[k]);
                e->len = sl->recent_len[k];
                sim_trace("stray duplicate to replica %d", i);
            }
        }
    } else if (r < 65) {
        sim_w->links[i].slow_until = sim_w->now + sim_rnd_in(10000, 300000);
    }
    if (sim_w->faults_on)
        sim_push(sim_w->now + sim_rnd_in(sim_w->fault_gap_us / 4, sim_w->fault_gap_us * 2),
                 EV_FAULT, -1);
}

/* ---- the loop ---- */

static void run_event(struct ev *e)
{
    struct node *nd = e->node >= 0 ? &sim_w->nodes[e->node] : NULL;
    switch (e->kind) {
    case EV_TIMER: {
        struct txn_timer *tm = e->p;
        if (!sim_w->nodes[0].up || tm->inc != sim_w->nodes[0].inc || !tm->alive || !tm->armed ||
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
            sim_deliver_to_rep(e);
        return;
    case EV_TO_COORD:
        if (e->inc == sim_w->nodes[0].inc && !e->dropped)
            sim_deliver_to_coord(e);
        return;
    case EV_SYNC:
        if (!nd->up || e->inc != nd->inc)
            return;
        nd->sync_scheduled = 0;
        if (e->node == 0) {
            sim_log_sync_done(nd->wal);
            txn_log_progress(sim_w->t);
        } else {
            sim_rep_sync_done(e->node - 1);
        }
        return;
    case EV_RETRY:
        if (sim_w->nodes[0].up && e->inc == sim_w->nodes[0].inc)
            sim_link_connect(e->link);
        return;
    case EV_LAZY:
        if (!nd->up || e->inc != nd->inc)
            return;
        nd->lazy_armed = 0;
        participant_submit(nd->p, 1);
        return;
    case EV_CLIENT: sim_client_op(e->link); return;
    case EV_FAULT:
        if (sim_w->faults_on)
            fault();
        return;
    case EV_LIVENESS:
        sim_link_liveness();
        sim_push(sim_w->now + HEARTBEAT_US, EV_LIVENESS, -1);
        return;
    case EV_RESTART:
        if (e->link == 0 && !sim_w->nodes[0].up)
            sim_coord_start();
        else if (e->link > 0 && !sim_w->nodes[e->link].up && !sim_w->nodes[e->link].retired)
            sim_rep_start(e->link - 1);
        return;
    }
}

/* The engine's and every live participant's own invariant checks (they abort the process
 * when broken; sim_main.c then prints the seed). */
static void check_machines(void)
{
    char why[256];
    if (sim_w->nodes[0].up && sim_w->t) {
        txn_assert_invariants(sim_w->t);
        if (txn_audit(sim_w->t, why, sizeof why))
            sim_violation("commit rule broken: %s", why);
    }
    for (int i = 0; i < sim_w->nslots; i++)
        if (sim_w->nodes[i + 1].up && sim_w->nodes[i + 1].p)
            participant_assert_state(sim_w->nodes[i + 1].p);
}

/* The node an event waits for while paused (-1: none). */
static int paused_node(const struct ev *e)
{
    switch (e->kind) {
    case EV_TIMER: case EV_TO_COORD: case EV_RETRY: case EV_CLIENT: case EV_LIVENESS:
        return 0;
    case EV_TO_REP: case EV_LAZY: return e->node;
    case EV_SYNC: return e->node;
    default: return -1;
    }
}

/* Runs events until `until` (µs) or until done() says so. Returns 0, or -1 once a
 * sim_violation was found. */
int sim_run_until(uint64_t until, int (*done)(void))
{
    while (sim_w->nheap > 0 && !sim_w->res->violation) {
        if (sim_w->heap[0]->at > until)
            break;
        struct ev *e = pop();
        sim_w->now = e->at;
        int pn = paused_node(e);
        if (pn >= 0 && sim_w->nodes[pn].paused_until > sim_w->now) {
            /* It waits for the node, keeping its sequence number: events deferred at
             * different moments still run in the order they were scheduled (a link's
             * messages stay FIFO however often the pause is extended). */
            e->at = sim_w->nodes[pn].paused_until;
            insert(e);
            continue;
        }
        uint64_t cut = sim_link_cut_until(e);
        if (cut > sim_w->now) {
            /* Held by a partition, again keeping its sequence number (FIFO). */
            e->at = cut;
            insert(e);
            continue;
        }
        sim_w->res->events++;
        run_event(e);
        ev_free(e);
        check_machines();
        if (done && done())
            break;
    }
    if (sim_w->now < until && (!done || !done()) && sim_w->nheap == 0)
        sim_w->now = until;
    return sim_w->res->violation ? -1 : 0;
}

/* ---- set-up and teardown ---- */

static int bug_on(const char *name)
{
    return sim_w->cfg->bug && strcmp(sim_w->cfg->bug, name) == 0;
}

static void teardown(void)
{
    if (sim_w->t) {
        txn_stop(sim_w->t, 0);
        for (int i = 0; i < SIM_MAX_REPLICAS; i++) {
            free(sim_w->links[i].q);
            sim_w->links[i].q = NULL;
        }
        txn_destroy(sim_w->t);
    }
    for (int n = 0; n <= SIM_MAX_REPLICAS; n++) {
        struct node *nd = &sim_w->nodes[n];
        if (nd->p) {
            sim_log_crash(nd->wal, 0);
            store_close(participant_crash(nd->p));
        }
        store_close(nd->kept);
        store_close(nd->snap_store);
        sim_file_free(nd->snap_file);
        resp_parser_free(nd->parser);
        for (size_t k = 0; k < nd->nheld; k++)
            free(nd->held[k].bytes);
        free(nd->held);
        free(nd->seen.b);
        free(nd->voted.b);
        sim_file_free(nd->file);
    }
    for (int i = 0; i < SIM_MAX_REPLICAS; i++)
        for (int k = 0; k < 8; k++)
            free(sim_w->links[i].recent[k]);
    while (sim_w->nheap)
        ev_free(pop());
    free(sim_w->heap);
    for (size_t k = 0; k < sim_w->ntimers; k++)
        free(sim_w->timers[k]);
    free(sim_w->timers);
    for (size_t k = 0; k < sim_w->nhops; k++)
        free(sim_w->hops[k]);
    free(sim_w->hops);
    for (int k = 0; k < NKEYS; k++)
        lin_free(&sim_w->hist[k]);
    free(sim_w->digests);
    free(sim_w->client_busy);
}

int sim_run(const struct sim_config *cfg, struct sim_result *res)
{
    struct world w = { 0 };
    memset(res, 0, sizeof *res);
    if (cfg->nreplicas < 1 || cfg->nreplicas > SIM_MAX_REPLICAS || cfg->nclients < 1)
        return -1;
    sim_w = &w;
    w.cfg = cfg;
    w.res = res;
    w.rng = cfg->seed * 0x2545f4914f6cdd1dULL + 1;
    w.client_busy = calloc((size_t)cfg->nclients + 1, sizeof *w.client_busy);
    w.bug_vote_early = bug_on("vote-before-durable");
    w.bug_no_fence = bug_on("no-fence");
    w.nslots = cfg->nreplicas;
    for (int n = 0; n <= cfg->nreplicas; n++) {
        w.nodes[n].file = sim_file_new();
        sim_file_on_durable(w.nodes[n].file, sim_on_durable, (void *)(intptr_t)n);
        if (n > 0) {
            w.nodes[n].parser = resp_parser_new(NULL);
            w.nodes[n].rng = cfg->seed + (uint64_t)n;
        }
    }
    for (int i = 0; i < cfg->nreplicas; i++)
        sim_rep_start(i);
    sim_coord_start();
    w.faults_on = w.clients_on = 1;
    /* Swarm testing: each seed draws its own weather, from a storm (a fault every few ms)
     * to calm (one every half second), so both busy and broken clusters are explored. */
    static const uint64_t gaps_ms[] = { 5, 20, 40, 100, 250, 500 };
    w.fault_gap_us = gaps_ms[rnd() % (sizeof gaps_ms / sizeof gaps_ms[0])] * 1000;
    sim_push(sim_rnd_in(w.fault_gap_us / 4, w.fault_gap_us * 2), EV_FAULT, -1);
    sim_push(HEARTBEAT_US, EV_LIVENESS, -1);
    for (int c = 0; c < cfg->nclients; c++)
        sim_client_next(c, sim_rnd_in(0, 5000));
    sim_run_until(cfg->run_ms * 1000, NULL);
    if (!res->violation)
        sim_heal_and_check();
    if (w.t)
        sim_count_rounds();
    teardown();
    sim_w = NULL;
    return 0;
}
