/* sim_replica.c -- simulated replicas: the real participant, evaluators and store
 * (replica/, SQLite in memory) driven the way replica/main.c drives them. See
 * sim_internal.h.
 *
 * A request is dispatched by peer_dispatch (with its connection, for the session fence);
 * its reply waits for the ticket participant_submit() returned, in order per connection; a
 * COMMIT-only log is synced by a lazy timer. After every request and every sync the
 * checks of sim.h run: a YES vote only after its PREPARE is durable, a round applied only
 * if durably prepared and durably committed at the coordinator, one digest per applied
 * round id.
 */
#define _GNU_SOURCE /* memmem */
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

/* ---- replicas ---- */

static void check_applied(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    struct store *st = participant_store(nd->p);
    uint64_t a = store_applied(st);
    if (a == nd->last_applied)
        return;
    uint64_t was = nd->last_applied;
    nd->last_applied = a;
    if (a < was)
        return; /* a restart from an older checkpoint: it replays forward again */
    sim_scan_durable(0);
    int voted = 0;
    for (int j = 1; j <= sim_w->nslots; j++) {
        sim_scan_durable(j);
        voted += sim_bits_has(&sim_w->nodes[j].voted, a);
    }
    /* The commit rule of durable votes: a round is applied only once it is decided, by a
     * durable COMMIT at the coordinator or by a durable YES on every in-sync replica: all
     * of them when the replica set never shrinks; else at least one here, and the engine's
     * own audit (txn_audit: no round committed without an in-sync member's vote) the rest. */
    int must = sim_w->cfg->min_replicas > 0 || sim_w->cfg->members > 0 ? 1
                                                                       : sim_w->cfg->nreplicas;
    if (!sim_bits_has(&sim_w->nodes[0].seen, a) && voted < must)
        sim_violation("replica %d applied round %" PRIu64 " whose COMMIT is not durable at the "
                  "coordinator and that only %d replicas durably voted YES on", i, a, voted);
    if (!sim_bits_has(&nd->seen, a))
        sim_violation("replica %d applied round %" PRIu64 " it never durably prepared", i, a);
    char hex[17];
    if (store_digest(st, hex) < 0) {
        sim_violation("replica %d: store_digest failed", i);
        return;
    }
    uint64_t d = strtoull(hex, NULL, 16) | 1;
    if (a >= sim_w->ndigests) {
        size_t n = sim_w->ndigests ? sim_w->ndigests : 1024;
        while (n <= a)
            n *= 2;
        sim_w->digests = realloc(sim_w->digests, n * sizeof *sim_w->digests);
        memset(sim_w->digests + sim_w->ndigests, 0, (n - sim_w->ndigests) * sizeof *sim_w->digests);
        sim_w->ndigests = n;
    }
    if (sim_w->digests[a] && sim_w->digests[a] != d)
        sim_violation("replicas disagree: replica %d's data after round %" PRIu64 " differs from "
                  "another replica's after the same round", i, a);
    sim_w->digests[a] = d;
}

/* Releases, in order, the held replies whose ticket is durable. */
static void release_held(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    struct slink *sl = &sim_w->links[i];
    size_t k = 0, out = 0;
    sim_scan_durable(i + 1);
    for (; k < nd->nheld; k++) {
        struct held *h = &nd->held[k];
        if (h->ticket > nd->durable_ticket && !sim_w->bug_vote_early) {
            nd->held[out++] = *h;
            continue;
        }
        if (h->vote_rid && !sim_bits_has(&nd->seen, h->vote_rid))
            sim_violation("replica %d voted YES on round %" PRIu64 " before its PREPARE was "
                      "durable", i, h->vote_rid);
        if (h->conn && h->conn == sl->conn)
            sim_net_send(i, 0, h->conn, h->bytes, h->len);
        free(h->bytes);
    }
    nd->nheld = out;
}

static void hold(int i, uint64_t conn, uint64_t ticket, uint64_t vote_rid, struct record_buf *b)
{
    struct node *nd = &sim_w->nodes[i + 1];
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

void sim_deliver_to_rep(struct ev *e)
{
    int i = e->link;
    struct node *nd = &sim_w->nodes[i + 1];
    size_t used = 0;
    resp_parser_reset(nd->parser);
    if (resp_parser_feed(nd->parser, e->p, e->len, &used) != RESP_OK) {
        sim_violation("replica %d got an unparsable command", i);
        return;
    }
    const struct resp_request *req = resp_parser_request(nd->parser);
    uint64_t rid = 0;
    int prepare = strcmp(req->argv[0], "TPC.PREPARE") == 0;
    if (prepare && req->argc > 1)
        util_parse_u64(req->argv[1], req->lens[1], &rid);
    struct record_buf out = { 0 };
    struct resp_writer w = { record_buf_sink, &out, 2 };
    uint64_t conn = e->conn;
    if (sim_w->bug_no_fence && (e->unread || conn != sim_w->links[i].conn))
        conn = participant_session(nd->p); /* it cannot tell a closed connection's bytes */
    if (peer_dispatch(nd->p, req, &w, &nd->rng, conn) < 0)
        resp_write_error(&w, "ERR unknown command");
    int yes = prepare && out.len > 5 && memcmp(out.p + 4, "+YES", 4) == 0;
    /* A stranger's TPC.HELLO must never take the session from the coordinator's live link
     * (#16: a stray TPC.HELLO never disturbs rounds in flight). A connection the
     * coordinator closed may still take it: its TPC.HELLO and a command after it held by a
     * partition and delivered late; the live link is then refused and resyncs, as before. */
    if (!e->unread && e->conn == sim_w->links[i].conn && out.len &&
        memmem(out.p, out.len, "is not the coordinator's", 24) &&
        participant_session(nd->p) >= (1ULL << 62))
        sim_violation("replica %d refused the coordinator's live link (%s %s): a stray "
                      "TPC.HELLO took its session", i, req->argv[0],
                      req->argc > 1 ? req->argv[1] : "");
    uint64_t restored;
    if (strcmp(req->argv[0], "TPC.RESTORE") == 0 && (req->argc == 3 || req->argc == 5) &&
        strcmp(req->argv[1], "END") == 0 && out.len && out.p[0] == ':' &&
        util_parse_u64(req->argv[2], req->lens[2], &restored) == 0)
        sim_bits_set(&nd->seen, restored); /* complete at that round by a copy, not a PREPARE */
    if (sim_w->cfg->verbose && strncmp(req->argv[0], "TPC.READ", 8) != 0) {
        size_t k = 0;
        while (k < out.len && k < 60 && out.p[k] != '\r')
            k++;
        sim_trace("replica %d <- %s %s (conn %" PRIu64 "%s) -> %.*s", i, req->argv[0],
              req->argc > 1 ? req->argv[1] : "", e->conn, e->unread ? ", unread" : "",
              (int)k, yes ? "YES" : out.p);
    }
    hold(i, e->unread ? 0 : e->conn, participant_submit(nd->p, 0), yes ? rid : 0, &out);
    free(out.p);
    if (participant_lazy_pending(nd->p) && !nd->lazy_armed) {
        nd->lazy_armed = 1;
        sim_push(sim_w->now + LAZY_US, EV_LAZY, i + 1);
    }
    check_applied(i);
}

void sim_rep_sync_done(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    char err[256];
    sim_log_sync_done(nd->wal);
    if (participant_log_progress(nd->p, MAX_LOG_BYTES, &nd->durable_ticket, err,
                                 sizeof err) < 0) {
        sim_violation("replica %d: log progress failed: %s", i, err);
        return;
    }
    release_held(i);
    check_applied(i);
}

int sim_rep_start(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    char err[256];
    struct store *st = nd->kept;
    nd->kept = NULL;
    if (!st && !(st = store_open_memory(err, sizeof err))) {
        sim_violation("replica %d: %s", i, err);
        return -1;
    }
    nd->inc++;
    nd->up = 1;
    nd->durable_ticket = 0;
    nd->sync_scheduled = nd->lazy_armed = 0;
    if (!(nd->p = participant_open_with(st, sim_open_log, (void *)(intptr_t)(i + 1), err,
                                        sizeof err))) {
        sim_violation("replica %d cannot restart: %s", i, err);
        nd->up = 0;
        return -1;
    }
    nd->last_applied = store_applied(participant_store(nd->p));
    return 0;
}

/* Replica i loses its disk (a replaced disk, a wiped VM, an operator's rm): it crashes, and
 * comes back with an empty log and an empty store. Today nothing stops it from serving
 * reads and voting (issue #11): runs with --wipe report that. */
void sim_rep_wipe(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    sim_rep_crash(i);
    sim_trace("replica %d loses its disk", i);
    nd->wiped = 1;
    sim_w->res->wipes++;
    store_close(nd->kept);
    nd->kept = NULL;
    sim_file_free(nd->file);
    nd->file = sim_file_new();
    sim_file_on_durable(nd->file, sim_on_durable, (void *)(intptr_t)(i + 1));
    free(nd->seen.b);
    nd->seen = (struct bits){ 0 };
    nd->scanned = 0;
    nd->scanned_rewrites = 0;
    nd->last_applied = 0;
}

/* The first time: copies replica i's folder as it is (its log file and its SQLite). The
 * next: replica i dies and comes back from that older copy, which stops short of what it
 * acknowledged since (a restored backup, a VM snapshot) -- one replica at a time. */
void sim_rep_snapshot_or_rollback(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    char err[256];
    if (!nd->up)
        return;
    if (!nd->snap_file) {
        nd->snap_file = sim_file_copy(nd->file);
        nd->snap_store = store_copy(participant_store(nd->p), err, sizeof err);
        sim_trace("replica %d: a copy of its folder is taken", i);
        return;
    }
    for (int k = 1; k <= sim_w->nslots; k++)
        if (sim_w->nodes[k].wiped && !sim_w->nodes[k].retired)
            return;
    if (sim_last_copy(i))
        return;
    sim_rep_crash(i);
    sim_trace("replica %d comes back from an older copy of its folder", i);
    sim_w->res->rollbacks++;
    store_close(nd->kept);
    nd->kept = nd->snap_store;
    sim_file_free(nd->file);
    nd->file = nd->snap_file;
    sim_file_on_durable(nd->file, sim_on_durable, (void *)(intptr_t)(i + 1));
    nd->snap_file = NULL;
    nd->snap_store = NULL;
    nd->scanned = 0;
    nd->scanned_rewrites = 0;
    nd->last_applied = 0;
    nd->wiped = 1;
}

void sim_rep_crash(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    if (!nd->up)
        return;
    sim_w->res->crashes++;
    size_t extra = sim_file_len(nd->file) - sim_file_durable(nd->file);
    int power = sim_chance(50);
    sim_trace("replica %d crashes (%s)", i, power ? "power cut" : "kill -9");
    sim_log_crash(nd->wal, sim_chance(30) ? 0 : (size_t)sim_rnd_in(0, extra));
    struct store *st = participant_crash(nd->p);
    char err[256];
    if (power && st && !(st = store_power_loss(st, err, sizeof err)))
        sim_violation("replica %d: power loss: %s", i, err);
    nd->kept = st;
    nd->p = NULL;
    nd->wal = NULL;
    nd->up = 0;
    nd->inc++;
    for (size_t k = 0; k < nd->nheld; k++)
        free(nd->held[k].bytes);
    nd->nheld = 0;
    sim_link_break(i, "the replica died");
    struct ev *e = sim_push(sim_w->now + sim_rnd_in(5000, 400000), EV_RESTART, -1);
    e->link = i + 1;
}

void sim_rep_new(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    if (nd->file) { /* a machine was here before: it is gone for good */
        store_close(nd->kept);
        nd->kept = NULL;
        store_close(nd->snap_store);
        nd->snap_store = NULL;
        sim_file_free(nd->snap_file);
        nd->snap_file = NULL;
        sim_file_free(nd->file);
        free(nd->seen.b);
        nd->seen = (struct bits){ 0 };
    }
    if (!nd->parser)
        nd->parser = resp_parser_new(NULL);
    nd->file = sim_file_new();
    sim_file_on_durable(nd->file, sim_on_durable, (void *)(intptr_t)(i + 1));
    nd->scanned = nd->scanned_rewrites = 0;
    nd->last_applied = 0;
    nd->rng = sim_w->cfg->seed + (uint64_t)(i + 1) * 7919 + sim_w->addr_counter;
    nd->retired = 0;
    nd->wiped = 1; /* empty: not complete until it is repaired */
    nd->paused_until = 0;
    sim_trace("replica %d: a new machine", i);
    sim_rep_start(i);
}

void sim_rep_retire(int i)
{
    struct node *nd = &sim_w->nodes[i + 1];
    sim_rep_crash(i);
    nd->retired = 1;
    nd->wiped = 0;
    sim_trace("replica %d: the machine is gone", i);
}
