/* txn_repair.c -- automatic repair of a replica that lost data: a full resync from a
 * healthy replica, through the coordinator, while new rounds wait.
 *
 * A replica whose TPC.HELLO shows incomplete data (txn_recovery.c, missing_data) is marked
 * as wanting repair; its link stays connected but never READY (no reads, no votes). The
 * repair then runs as a small state machine, one repair at a time:
 *
 *   from       event                                       to         done by
 *   IDLE       a target wants repair, a READY source       DRAINING   repair_start():
 *              exists                                                  hold new rounds
 *   DRAINING   no round in flight, every committed round   COPYING    drained():
 *              acknowledged (so applied) by the source                 TPC.RESTORE BEGIN
 *   COPYING    chunk loop: TPC.DUMP from the source, then  COPYING    on_dump(), on_rows()
 *              TPC.RESTORE ROWS to the target; database
 *              after database (txn_set_databases: DUMP
 *              ... db and DBROWS db past database 0)
 *   COPYING    the last database's last chunk is in        FINISHING  next_chunk(): RESTORE END
 *   FINISHING  the target confirms its round               IDLE       on_end(): release the
 *                                                                      hold, drop the target's
 *                                                                      link (a new HELLO finds
 *                                                                      it complete: READY)
 *   any        a NULL or error reply, no progress for      IDLE       repair_abort(): release
 *              REPAIR_STALL_MS, rounds that do not                     the hold, try again
 *              drain within REPAIR_DRAIN_MS, or a new                  after REPAIR_RETRY_MS
 *              TPC.HELLO from the target or the source                 (txn_repair_relinked)
 *
 * Invariants (repair_assert): the hold is taken exactly while the state is not IDLE; outside
 * IDLE, target != source and both are valid links; every callback carries the generation it
 * was sent for and does nothing when a newer repair (or none) runs.
 *
 * Why writes pause: the copy is taken at one round R on the source (TPC.DUMP refuses while
 * a round is in flight there, and none starts while the hold is taken), so the target,
 * complete at R after RESTORE END, has every committed round; no round after R exists yet.
 * (While every replica must vote, a replica in need of repair already stops new rounds;
 * the hold also covers the time until its link is READY again, and is what a lower
 * --min-replicas will rely on.)
 * The pause lasts as long as the copy (rows go through the coordinator, a chunk of
 * repair_chunk keys at a time: txn_set_repair_chunk, --repair-chunk);
 * clients' writes wait in the pending queue meanwhile and run when it ends. Reads go on,
 * served by the healthy replicas.
 */
#ifdef TWOPC_ASSERTS
#undef NDEBUG /* the state machine's checks stay in every build (CMakeLists: TWOPC_ASSERTS) */
#endif
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "txn_internal.h"
#include "util.h"

#define REPAIR_STALL_MS 5000    /* no reply for this long: give up, try again later */
#define REPAIR_DRAIN_MS 5000    /* rounds in flight must be decided within this */
#define REPAIR_RETRY_MS 1000    /* after a failed repair, or while no source is READY */
#define REPAIR_TICK_MS 20       /* how often a repair looks at its progress */
#define REPAIR_REPORT_MS 2000   /* a progress line this often while copying */

static const char *const repair_state_names[REPAIR_STATE_MAX] = { "idle", "draining",
                                                                   "copying", "finishing" };

static void repair_assert(const struct txn *t)
{
#ifndef NDEBUG
    const struct txn_repair *r = &t->repair;
    assert(r->state < REPAIR_STATE_MAX);
    if (r->state != REPAIR_IDLE) {
        assert(r->target >= 0 && r->target < t->nlinks && r->source >= 0 &&
               r->source < t->nlinks && r->target != r->source);
        assert(t->hold > 0);
    }
#endif
    (void)t;
}

static void repair_set_state(struct txn *t, enum repair_state to)
{
    LOG_DEBUG("repair: %s -> %s", repair_state_names[t->repair.state], repair_state_names[to]);
    t->repair.state = to;
    repair_assert(t);
}

static void arm(struct txn *t, int ms)
{
    if (!t->closing)
        txn_timer_arm(t, t->repair.timer, ms);
}

static void release(struct txn *t)
{
    t->repair.gen++; /* late replies of this repair are ignored */
    t->hold--;
    repair_set_state(t, REPAIR_IDLE);
    txn_kick(t); /* the writes that waited go now */
}

static void repair_abort(struct txn *t, const char *why)
{
    struct txn_repair *r = &t->repair;
    LOG_WARNING("repair of replica %s from %s stopped (%s); new rounds go on, it is tried "
                "again in %d ms", t->io.addr(t->io.ctx, r->target),
                t->io.addr(t->io.ctx, r->source), why, REPAIR_RETRY_MS);
    t->st.repairs_failed++;
    release(t);
    arm(t, REPAIR_RETRY_MS);
}

/* What a repair's command carries to its reply: the engine, and which repair sent it. */
struct repair_call {
    struct txn *t;
    uint64_t gen;
};

/* Sends a command of this repair; its reply comes to fn (through current()). Returns 0, or
 * -1 after aborting the repair. */
static int repair_send(struct txn *t, int link, int argc, const char *const *argv,
                       const size_t *lens, txn_reply_fn fn)
{
    struct repair_call *call = malloc(sizeof *call);
    t->repair.progress_ms = t->io.mono_ms(t->io.ctx);
    if (call) {
        *call = (struct repair_call){ t, t->repair.gen };
        if (txn_send(t, link, argc, argv, lens, fn, call) == 0)
            return 0;
    }
    free(call);
    repair_abort(t, "a link went down, or out of memory");
    return -1;
}

/* The engine whose current repair this reply (from link i) belongs to, or NULL when it is
 * stale (a newer repair, or none, runs; or the engine is stopping) or it failed (then the
 * repair is aborted with the reason). Frees the call. */
static struct txn *current(void *arg, int i, const struct link_reply *r, const char *what)
{
    struct repair_call call = *(struct repair_call *)arg;
    struct txn *t = call.t;
    free(arg);
    if (t->closing || call.gen != t->repair.gen || t->repair.state == REPAIR_IDLE)
        return NULL;
    if (!r || link_reply_is_error(r)) {
        char why[256];
        size_t len = 0;
        const char *msg = r ? link_reply_str(r, &len) : NULL;
        snprintf(why, sizeof why, "%s: %.*s", what, (int)(msg ? len : 9),
                 msg ? msg : "link lost");
        repair_abort(t, why);
        /* The replica's session moved to another connection (a TPC.HELLO that reached it
         * late, on a connection closed during a partition): only a fresh TPC.HELLO on this
         * link gets it back, so every retry on this connection would be refused again
         * (found by the simulator's partitions). */
        if (msg && strstr(msg, "not the coordinator's")) /* a reply string ends in NUL */
            t->io.drop(t->io.ctx, i, "another connection said TPC.HELLO to it");
        /* The source holds a round in doubt while the engine has none in flight (a stray
         * late PREPARE on a closed connection, after that connection's round was decided):
         * only a fresh TPC.HELLO reports and settles it, as for a refused vote (found by
         * the simulator's partitions: the repair was refused for ever). */
        else if (msg && strstr(msg, "rounds are in flight") && !t->qhead && !t->aborting)
            t->io.drop(t->io.ctx, i, "it holds a round in doubt");
        return NULL;
    }
    t->repair.progress_ms = t->io.mono_ms(t->io.ctx);
    return t;
}

static void send_dump(struct txn *t);

static void on_end(void *arg, int i, const struct link_reply *r)
{
    struct txn *t = current(arg, i, r, "TPC.RESTORE END");
    if (!t)
        return;
    struct txn_repair *rp = &t->repair;
    uint64_t ms = t->io.mono_ms(t->io.ctx) - rp->t0;
    LOG_NOTICE("replica %s repaired from %s: %" PRIu64 " keys, %" PRIu64 " bytes, complete "
               "at round %" PRIu64 ", in %" PRIu64 " ms (new rounds waited meanwhile)",
               t->io.addr(t->io.ctx, rp->target), t->io.addr(t->io.ctx, rp->source),
               rp->rows, rp->bytes, rp->round, ms);
    t->st.repairs_done++;
    t->repair_wanted[rp->target] = 0;
    int target = rp->target;
    txn_member_rejoin(t, target); /* in sync again before any round can start */
    release(t);
    /* A fresh TPC.HELLO finds it complete and makes the link READY. */
    t->io.drop(t->io.ctx, target, "repaired: resynchronizing");
    arm(t, REPAIR_TICK_MS); /* another replica may want repair too */
}

static void send_end(struct txn *t)
{
    char num[24], cluster[24], id[24];
    const char *argv[5] = { "TPC.RESTORE", "END", num, cluster, id };
    size_t lens[5] = { 11, 3, util_u64_to_str(t->repair.round, num),
                       util_u64_to_str(t->cluster_id, cluster),
                       util_u64_to_str(t->member[t->repair.target].id, id) };
    repair_set_state(t, REPAIR_FINISHING);
    repair_send(t, t->repair.target, 5, argv, lens, on_end);
}

/* After a chunk: the next one, the next database's first, or END after the last. */
static void next_chunk(struct txn *t)
{
    if (t->repair.cursor == 0 && t->repair.db + 1 < t->databases) {
        t->repair.db++;
        send_dump(t);
    } else if (t->repair.cursor == 0) {
        send_end(t);
    } else {
        send_dump(t);
    }
}

static void on_rows(void *arg, int i, const struct link_reply *r)
{
    struct txn *t = current(arg, i, r, "TPC.RESTORE ROWS");
    if (!t)
        return;
    next_chunk(t);
}

/* Forwards a TPC.DUMP chunk's rows (a flat array k v exp ...) as TPC.RESTORE ROWS, or
 * DBROWS db for a database other than 0. */
static void forward_rows(struct txn *t, const struct link_reply *rows)
{
    size_t n = link_reply_len(rows), at = t->repair.db ? 3 : 2, argc = at + n;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char *nums = malloc(n / 3 * 24 + 25);
    int ok = argv && lens && nums && n % 3 == 0;
    if (ok) {
        argv[0] = "TPC.RESTORE", lens[0] = 11;
        argv[1] = t->repair.db ? "DBROWS" : "ROWS", lens[1] = t->repair.db ? 6 : 4;
        char *dbnum = nums + n / 3 * 24;
        argv[2] = dbnum, lens[2] = util_u64_to_str((uint64_t)t->repair.db, dbnum);
    }
    for (size_t k = 0; ok && k < n; k++) {
        const struct link_reply *e = link_reply_elem(rows, k);
        long long exp;
        if (k % 3 == 2) {
            /* An expiry (>= 0), or a negative mark of a collection's rows (restore.h):
             * passed on as it came; the target checks it. */
            ok = link_reply_int(e, &exp) == 0;
            char *num = nums + k / 3 * 24;
            argv[at + k] = num, lens[at + k] = (size_t)snprintf(num, 24, "%lld", exp);
        } else {
            ok = (argv[at + k] = link_reply_str(e, &lens[at + k])) != NULL;
            t->repair.bytes += ok ? lens[at + k] : 0;
        }
    }
    if (ok) {
        t->repair.rows += n / 3;
        repair_send(t, t->repair.target, (int)argc, argv, lens, on_rows);
    } else {
        repair_abort(t, "a malformed TPC.DUMP reply, or out of memory");
    }
    free(argv), free(lens), free(nums);
}

static void on_dump(void *arg, int i, const struct link_reply *r)
{
    struct txn *t = current(arg, i, r, "TPC.DUMP");
    if (!t)
        return;
    struct txn_repair *rp = &t->repair;
    long long applied, next;
    if (link_reply_len(r) != 3 || link_reply_int(link_reply_elem(r, 0), &applied) < 0 ||
        link_reply_int(link_reply_elem(r, 1), &next) < 0 || applied < 0 || next < 0) {
        repair_abort(t, "a malformed TPC.DUMP reply");
        return;
    }
    if (rp->rows == 0 && rp->cursor == 0 && rp->db == 0)
        rp->round = (uint64_t)applied; /* the first chunk: the copy is of this round */
    else if ((uint64_t)applied != rp->round) {
        repair_abort(t, "the source applied a round during the copy");
        return;
    }
    rp->cursor = (uint64_t)next;
    const struct link_reply *rows = link_reply_elem(r, 2);
    if (link_reply_len(rows) > 0)
        forward_rows(t, rows);
    else
        next_chunk(t);
}

static void send_dump(struct txn *t)
{
    char cur[24], cnt[24], db[24];
    const char *argv[4] = { "TPC.DUMP", cur, cnt, db };
    size_t lens[4] = { 8, util_u64_to_str(t->repair.cursor, cur),
                       util_u64_to_str((uint64_t)t->repair_chunk, cnt),
                       util_u64_to_str((uint64_t)t->repair.db, db) };
    /* Database 0's request keeps its old shape (no db argument). */
    repair_send(t, t->repair.source, t->repair.db ? 4 : 3, argv, lens, on_dump);
}

static void on_begin(void *arg, int i, const struct link_reply *r)
{
    struct txn *t = current(arg, i, r, "TPC.RESTORE BEGIN");
    if (t)
        send_dump(t);
}

/* Every round decided and the source has applied every committed one. */
static int drained(const struct txn *t)
{
    if (t->ninflight)
        return 0;
    for (const struct round *rd = t->unacked; rd; rd = rd->next)
        if (rd->need[t->repair.source] && !rd->acked[t->repair.source])
            return 0; /* (a round it was not in sync for is in its repaired copy) */
    return 1;
}

/* A replica wanting repair, and a READY one to copy from: starts draining. */
static void repair_start(struct txn *t)
{
    struct txn_repair *rp = &t->repair;
    int target = -1, source = -1;
    for (int i = 0; i < t->nlinks && target < 0; i++)
        if (t->repair_wanted[i])
            target = i;
    for (int k = 0; target >= 0 && k < t->nlinks && source < 0; k++) {
        int i = (target + 1 + k) % t->nlinks;
        if (i != target && txn_in_sync(t, i) && !t->repair_wanted[i] &&
            !t->io.unready(t->io.ctx, i, UINT64_MAX))
            source = i;
    }
    if (target < 0)
        return;
    if (source < 0) {
        arm(t, REPAIR_RETRY_MS); /* no healthy replica to copy from, yet */
        return;
    }
    rp->target = target;
    rp->source = source;
    rp->cursor = rp->rows = rp->bytes = rp->round = 0;
    rp->db = 0;
    rp->t0 = rp->progress_ms = rp->reported_ms = t->io.mono_ms(t->io.ctx);
    t->hold++;
    repair_set_state(t, REPAIR_DRAINING);
    LOG_NOTICE("repairing replica %s from %s: new rounds wait until the copy is done",
               t->io.addr(t->io.ctx, target), t->io.addr(t->io.ctx, source));
    arm(t, 0);
}

void txn_repair_tick(void *arg)
{
    struct txn *t = arg;
    struct txn_repair *rp = &t->repair;
    uint64_t now = t->io.mono_ms(t->io.ctx);
    switch (rp->state) {
    case REPAIR_IDLE:
        repair_start(t);
        return;
    case REPAIR_DRAINING:
        if (drained(t)) {
            static const char *const argv[2] = { "TPC.RESTORE", "BEGIN" };
            static const size_t lens[2] = { 11, 5 };
            repair_set_state(t, REPAIR_COPYING);
            if (repair_send(t, rp->target, 2, argv, lens, on_begin) < 0)
                return;
        } else if (now - rp->t0 > REPAIR_DRAIN_MS) {
            repair_abort(t, "rounds in flight did not finish");
            return;
        }
        break;
    default:
        if (now - rp->progress_ms > REPAIR_STALL_MS) {
            repair_abort(t, "no progress");
            return;
        }
        if (now - rp->reported_ms >= REPAIR_REPORT_MS) {
            rp->reported_ms = now;
            LOG_NOTICE("repair of replica %s: %" PRIu64 " keys, %" PRIu64 " bytes copied "
                       "in %" PRIu64 " ms", t->io.addr(t->io.ctx, rp->target), rp->rows,
                       rp->bytes, now - rp->t0);
        }
        break;
    }
    arm(t, REPAIR_TICK_MS);
}

void txn_repair_relinked(struct txn *t, int i)
{
    struct txn_repair *rp = &t->repair;
    /* The copy so far went to (or came from) a connection that is gone: the target may
     * have crashed and lost what it had (the simulator found a repair that went on over a
     * target's new connection and declared it complete with a chunk missing). */
    if (rp->state != REPAIR_IDLE && (i == rp->target || i == rp->source))
        repair_abort(t, "its replica reconnected");
}

void txn_repair_forget(struct txn *t, int i)
{
    struct txn_repair *rp = &t->repair;
    if (rp->state != REPAIR_IDLE && (i == rp->target || i == rp->source))
        repair_abort(t, "its replica left the replica set or the in-sync set");
}

void txn_repair_want(struct txn *t, int i, int want)
{
    t->repair_wanted[i] = want;
    if (want && t->repair.state == REPAIR_IDLE)
        arm(t, 0);
}

void txn_set_repair_chunk(struct txn *t, int keys)
{
    t->repair_chunk = keys > 0 ? keys : TXN_REPAIR_CHUNK;
}

void txn_set_databases(struct txn *t, int n)
{
    t->databases = n > 0 ? n : 1;
}

void txn_get_repair(const struct txn *t, struct txn_repair_stats *rs)
{
    const struct txn_repair *rp = &t->repair;
    *rs = (struct txn_repair_stats){ repair_state_names[rp->state], -1, -1, rp->round,
                                     rp->rows, rp->bytes, 0, t->st.repairs_done,
                                     t->st.repairs_failed };
    if (rp->state != REPAIR_IDLE) {
        rs->target = rp->target;
        rs->source = rp->source;
        rs->elapsed_ms = t->io.mono_ms(t->io.ctx) - rp->t0;
    }
}

int txn_link_wants_repair(const struct txn *t, int i)
{
    return t->repair_wanted[i];
}
