/* sim_client.c -- the simulator's clients and the end of a run. See sim_internal.h.
 *
 * Clients write (SET, MSET, DEL, INCR) through txn_submit and read (GET) through TPC.READ on
 * a link txn_read_pick() chooses, retrying another link when one is lost, as the daemon's
 * read batcher does. Every answered, failed-for-sure or unknown operation goes into its
 * key's history. At the end the faults stop, every process comes back, each key is written
 * and read once more, the cluster must settle, the replicas must hold identical data and
 * every history must be linearizable (lincheck.h).
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

/* ---- clients ---- */

/* The database register key lives in (sim_config.databases). */
static int key_db(int key)
{
    return sim_w->cfg->databases > 1 ? key % sim_w->cfg->databases : 0;
}

void sim_client_next(int c, uint64_t delay_us)
{
    if (!sim_w->clients_on)
        return;
    struct ev *e = sim_push(sim_w->now + delay_us, EV_CLIENT, -1);
    e->link = c;
}

/* outcome: 0 ok (out is what it returned), 1 failed for sure, 2 unknown. */
void sim_hop_finish(struct hop *h, int outcome, int64_t out)
{
    uint64_t ret = ++sim_w->stamp;
    sim_trace("client %d: op %d key %d val %" PRId64 " -> %s %" PRId64 " (call %" PRIu64
          " ret %" PRIu64 ")", h->client, h->kind, h->key, h->val,
          outcome == 0 ? "ok" : outcome == 1 ? "failed" : "unknown", out, h->call, ret);
    h->live = 0;
    sim_w->client_busy[h->client] = 0;
    if (outcome == 1) {
        sim_w->res->ops_failed++;
    } else {
        uint64_t r = outcome == 2 ? UINT64_MAX : ret;
        sim_w->res->ops_ok += outcome == 0;
        sim_w->res->ops_unknown += outcome == 2;
        switch (h->kind) {
        case OP_SET: lin_add(&sim_w->hist[h->key], LIN_SET, h->val, 0, h->call, r); break;
        case OP_MSET:
            lin_add(&sim_w->hist[h->key], LIN_SET, h->val, 0, h->call, r);
            lin_add(&sim_w->hist[h->key2], LIN_SET, h->val2, 0, h->call, r);
            break;
        case OP_DEL: lin_add(&sim_w->hist[h->key], LIN_DEL, 0, out, h->call, r); break;
        case OP_INCR: lin_add(&sim_w->hist[h->key], LIN_INCR, 0, out, h->call, r); break;
        case OP_GET:
            if (outcome == 0) {
                sim_w->res->reads++;
                lin_add(&sim_w->hist[h->key], LIN_GET, 0, out, h->call, r);
            }
            break;
        }
    }
    sim_client_next(h->client, sim_rnd_in(0, 3000));
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
        sim_trace("client %d: write failed: %s", h->client, error);
        sim_hop_finish(h, 1, 0);
        return;
    }
    int64_t out = 0;
    if (len > 1 && reply[0] == ':')
        out = parse_int_reply(reply + 1, len - 3);
    else if (h->kind == OP_MSET && key_db(h->key) != key_db(h->key2)) {
        if (len != 14 || memcmp(reply, "*2\r\n+OK\r\n+OK\r\n", 14) != 0)
            sim_violation("client: MSET across databases answered %.*s", (int)len, reply);
    } else if (h->kind == OP_SET || h->kind == OP_MSET) {
        if (len != 5 || memcmp(reply, "+OK\r\n", 5) != 0)
            sim_violation("client: SET answered %.*s", (int)len, reply);
    }
    sim_hop_finish(h, 0, out);
}

static void start_read(struct hop *h, int skip);

static void read_done(void *arg, int i, const struct link_reply *r)
{
    struct hop *h = arg;
    if (!h->live)
        return;
    if (!r) {
        if (++h->tries < sim_w->nslots)
            start_read(h, i);
        else
            sim_hop_finish(h, 1, 0);
        return;
    }
    size_t len = 0;
    const char *s = link_reply_str(r, &len);
    if (link_reply_is_error(r)) {
        sim_hop_finish(h, 1, 0);
        return;
    }
    int64_t out = 0;
    if (s && h->key < NREG)
        out = len > 1 && s[0] == 'v' ? parse_int_reply(s + 1, len - 1) : -1;
    else if (s)
        out = parse_int_reply(s, len);
    sim_hop_finish(h, 0, out);
}

static void start_read(struct hop *h, int skip)
{
    int i = txn_read_pick(sim_w->t, skip);
    if (i < 0) {
        sim_hop_finish(h, 1, 0);
        return;
    }
    char key[16], now[24], db[24];
    snprintf(key, sizeof key, "%c%d", h->key < NREG ? 'r' : 'c', h->key);
    const char *argv[6] = { "TPC.READ", now, "DB", db, "GET", key };
    size_t lens[6] = { 8, util_u64_to_str(txn_now_ms(sim_w->t), now), 2,
                       util_u64_to_str((uint64_t)key_db(h->key), db), 3, strlen(key) };
    size_t len;
    char *cmd;
    if (key_db(h->key) == 0) { /* database 0: no wrapper */
        argv[2] = "GET", lens[2] = 3, argv[3] = key, lens[3] = strlen(key);
        cmd = link_format(4, argv, lens, &len);
    } else {
        cmd = link_format(6, argv, lens, &len);
    }
    if (sim_io_send(NULL, i, cmd, len, read_done, h) < 0)
        sim_hop_finish(h, 1, 0);
    link_format_free(cmd);
}

/* An MSET of keys in two databases: TX 2 {5 DB d1 SET k1 v1} {5 DB d2 SET k2 v2}, atomic
 * like the MSET it stands for (a database 0 SET goes unwrapped). */
static struct op *mset_across(const struct hop *h, char *k1, char *v1, char *k2, char *v2)
{
    char d1[24], d2[24], n1[8], n2[8];
    char *argv[14];
    size_t lens[14];
    int argc = 0, db1 = key_db(h->key), db2 = key_db(h->key2);
    argv[argc++] = "TX", argv[argc++] = "2";
    argv[argc++] = n1;
    snprintf(n1, sizeof n1, "%d", db1 ? 5 : 3);
    if (db1)
        argv[argc++] = "DB", argv[argc++] = d1;
    snprintf(d1, sizeof d1, "%d", db1);
    argv[argc++] = "SET", argv[argc++] = k1, argv[argc++] = v1;
    argv[argc++] = n2;
    snprintf(n2, sizeof n2, "%d", db2 ? 5 : 3);
    if (db2)
        argv[argc++] = "DB", argv[argc++] = d2;
    snprintf(d2, sizeof d2, "%d", db2);
    argv[argc++] = "SET", argv[argc++] = k2, argv[argc++] = v2;
    for (int k = 0; k < argc; k++)
        lens[k] = strlen(argv[k]);
    return op_new(argc, argv, lens);
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
    struct op *op;
    if (h->kind == OP_MSET && key_db(h->key) != key_db(h->key2))
        op = mset_across(h, k1, v1, k2, v2);
    else
        op = op_new_db(key_db(h->key), argc, argv, lens);
    txn_submit(sim_w->t, op, write_done, h);
}

/* The world keeps every operation until teardown (callbacks may name it until then). */
static void keep_hop(struct hop *h)
{
    if (sim_w->nhops == sim_w->caphops) {
        sim_w->caphops = 2 * sim_w->caphops + 64;
        sim_w->hops = realloc(sim_w->hops, sim_w->caphops * sizeof *sim_w->hops);
    }
    sim_w->hops[sim_w->nhops++] = h;
}

void sim_client_op(int c)
{
    if (sim_w->client_busy[c] || !sim_w->clients_on)
        return;
    struct hop *h = calloc(1, sizeof *h);
    keep_hop(h);
    int r = (int)sim_rnd_in(0, 99);
    h->client = c;
    h->kind = r < 30 ? OP_SET : r < 38 ? OP_MSET : r < 45 ? OP_DEL : r < 60 ? OP_INCR : OP_GET;
    h->key = h->kind == OP_INCR ? NREG + (int)sim_rnd_in(0, NCNT - 1)
                                : (int)sim_rnd_in(0, NREG - 1);
    if (h->kind == OP_GET && sim_chance(30))
        h->key = NREG + (int)sim_rnd_in(0, NCNT - 1);
    h->key2 = (h->key + 1 + (int)sim_rnd_in(0, NREG - 2)) % NREG;
    h->val = (int64_t)++sim_w->value_counter;
    h->val2 = (int64_t)++sim_w->value_counter;
    h->call = ++sim_w->stamp;
    h->live = 1;
    sim_w->client_busy[c] = 1;
    if (!sim_w->nodes[0].up) {
        sim_hop_finish(h, 1, 0); /* connection refused */
        return;
    }
    if (h->kind == OP_GET)
        start_read(h, -1);
    else
        submit_write(h);
}


/* ---- the end of a run: heal, settle, check ---- */

static int all_quiet(void)
{
    if (!sim_w->nodes[0].up || !sim_w->t)
        return 0;
    for (int c = 0; c <= sim_w->cfg->nclients; c++)
        if (sim_w->client_busy[c])
            return 0;
    struct txn_stats st;
    txn_get_stats(sim_w->t, &st);
    if (st.pending_ops || st.inflight || st.unacked_rounds)
        return 0;
    for (int i = 0; i < sim_w->nslots; i++) {
        const struct node *nd = &sim_w->nodes[i + 1];
        if (!sim_w->links[i].open)
            continue;
        if (sim_w->links[i].state != SL_READY || sim_w->links[i].qn || !nd->up || nd->nheld ||
            participant_in_doubt(nd->p) || nd->paused_until > sim_w->now)
            return 0;
    }
    return 1;
}

/* Every process up and running, every link READY. */
static int all_ready(void)
{
    if (!sim_w->nodes[0].up || sim_w->nodes[0].paused_until > sim_w->now)
        return 0;
    for (int i = 0; i < sim_w->nslots; i++) {
        const struct node *nd = &sim_w->nodes[i + 1];
        if (nd->retired)
            continue;
        if (!sim_w->links[i].open || sim_w->links[i].state != SL_READY || !nd->up ||
            nd->paused_until > sim_w->now)
            return 0;
    }
    return 1;
}

/* What keeps the cluster from settling, for the violation's message. */
static void describe_unsettled(char *why, size_t len)
{
    struct txn_stats st = { 0 };
    if (sim_w->t)
        txn_get_stats(sim_w->t, &st);
    size_t n = (size_t)snprintf(why, len, "coordinator %s, %zu pending, %zu unacked, %zu in "
                                "flight;", sim_w->nodes[0].up ? "up" : "down", st.pending_ops,
                                st.unacked_rounds, st.inflight);
    for (int i = 0; i < sim_w->nslots && n < len; i++) {
        const struct node *nd = &sim_w->nodes[i + 1];
        n += (size_t)snprintf(why + n, len - n, " replica %d %s link %d q %zu held %zu doubt "
                              "%zu;", i, nd->up ? "up" : "down", sim_w->links[i].state,
                              sim_w->links[i].qn, nd->nheld,
                              nd->p ? participant_in_doubt(nd->p) : 0);
    }
}

static struct hop *final_hop;
static int final_done(void) { return !final_hop->live; }

/* One operation by the extra client, run to its end; returns its outcome (0 ok, 1 failed,
 * 2 unknown) by looking at what sim_hop_finish recorded. */
static int final_op(int kind, int key)
{
    int c = sim_w->cfg->nclients;
    struct hop *h = calloc(1, sizeof *h);
    keep_hop(h);
    *h = (struct hop){ .client = c, .kind = kind, .key = key, .live = 1 };
    h->val = (int64_t)++sim_w->value_counter;
    h->call = ++sim_w->stamp;
    sim_w->client_busy[c] = 1;
    uint64_t failed = sim_w->res->ops_failed, unknown = sim_w->res->ops_unknown;
    final_hop = h;
    if (kind == OP_GET)
        start_read(h, -1);
    else
        submit_write(h);
    sim_run_until(sim_w->now + 10 * 1000000ULL, final_done);
    if (h->live)
        return 2;
    return sim_w->res->ops_failed > failed ? 1 : sim_w->res->ops_unknown > unknown ? 2 : 0;
}

/* final_op until it succeeds, 20 tries half a second apart; returns the last outcome. */
static int final_retried(int kind, int key)
{
    int rc = 1;
    for (int attempt = 0; attempt < 20 && rc != 0 && !sim_w->res->violation; attempt++) {
        rc = final_op(kind, key);
        if (rc != 0)
            sim_run_until(sim_w->now + 500000, NULL);
    }
    return rc;
}

void sim_heal_and_check(void)
{
    sim_w->faults_on = 0;
    sim_w->clients_on = 0;
    for (int n = 0; n <= sim_w->nslots; n++) { /* pauses end by themselves */
        if (!sim_w->nodes[n].up && !sim_w->nodes[n].retired)
            sim_push(sim_w->now, EV_RESTART, -1)->link = n;
    }
    for (int i = 0; i < sim_w->nslots; i++) /* a partition heals when it was to */
        sim_w->links[i].slow_until = 0;
    uint64_t deadline = sim_w->now + FINAL_MS * 1000ULL;
    if (sim_run_until(deadline, all_ready) < 0)
        return;
    if (!all_ready()) {
        char why[512];
        describe_unsettled(why, sizeof why);
        sim_violation("the cluster did not come back within %d s after the faults stopped "
                      "(a replica in need of repair was not repaired?): %s", FINAL_MS / 1000,
                      why);
        return;
    }
    /* Writes work again (a replica that lost its disk has been repaired by now): each key
     * is written once more, then read; transient failures (a link still counted as stalled
     * just after a pause) are retried. */
    for (int k = 0; k < NKEYS && !sim_w->res->violation; k++)
        if (final_retried(k < NREG ? OP_SET : OP_INCR, k) != 0)
            sim_violation("writes do not come back after the faults stopped (key %d)", k);
    for (int k = 0; k < NKEYS && !sim_w->res->violation; k++)
        if (final_retried(OP_GET, k) != 0)
            sim_violation("reads do not come back after the faults stopped (key %d)", k);
    if (sim_w->res->violation || sim_run_until(sim_w->now + FINAL_MS * 1000ULL, all_quiet) < 0)
        return;
    if (!all_quiet()) {
        char why[512];
        describe_unsettled(why, sizeof why);
        sim_violation("the cluster did not settle within %d s after the final writes: %s",
                      FINAL_MS / 1000, why);
        return;
    }
    /* Every replica holds the same data. */
    char first[17] = "";
    uint64_t applied0 = 0;
    int first_seen = 0;
    for (int i = 0; i < sim_w->nslots; i++) {
        if (!sim_w->links[i].open)
            continue;
        struct store *st = participant_store(sim_w->nodes[i + 1].p);
        char hex[17];
        store_digest(st, hex);
        if (!first_seen++) {
            memcpy(first, hex, 17);
            applied0 = store_applied(st);
        } else if (strcmp(first, hex) != 0 || applied0 != store_applied(st)) {
            sim_violation("replicas differ after the run: one at round %" PRIu64
                          " digest %s, replica %d at round %" PRIu64 " digest %s", applied0,
                          first, i, store_applied(st), hex);
        }
    }
    for (int k = 0; k < NKEYS && !sim_w->res->violation; k++) {
        int rc = lin_check(&sim_w->hist[k]);
        if (rc == 1 && sim_w->cfg->verbose)
            for (size_t j = 0; j < sim_w->hist[k].n; j++) {
                const struct lin_op *o = &sim_w->hist[k].ops[j];
                static const char *const names[] = { "SET", "GET", "DEL", "INCR" };
                printf("key %d: %-4s arg %" PRId64 " out %" PRId64 " call %" PRIu64
                       " ret %" PRId64 "\n", k, names[o->kind], o->arg, o->out, o->call,
                       o->ret == UINT64_MAX ? (int64_t)-1 : (int64_t)o->ret);
            }
        if (rc == 1)
            sim_violation("the history of key %c%d is not linearizable (%zu operations): an "
                      "acknowledged write lost, a failed write visible, or a stale read",
                      k < NREG ? 'r' : 'c', k, sim_w->hist[k].n);
        else if (rc < 0)
            fprintf(stderr, "sim: seed %" PRIu64 ": key %d: linearizability undecided\n",
                    sim_w->cfg->seed, k);
    }
}
