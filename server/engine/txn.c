/* txn.c -- 2PC rounds: batching, PREPARE, votes, the decision log, COMMIT/ABORT, END.
 *
 * Transition table (every state change goes through txn_set_state(), which asserts it):
 *
 *   from        event                            to          done by
 *   (new)       kick, all links READY, fewer     PREPARING   start_round()
 *               than max_inflight in flight
 *   PREPARING   all YES (each durable at its     COMMITTED   commit_ready(): COMMIT
 *               replica), results agree, every               record to the log thread
 *               earlier round decided                        (nobody waits for it)
 *   PREPARING   NO / NULL vote / timeout / diff, ABORTED     txn_round_abort(); its
 *               or an earlier round aborted                  clients' error waits for
 *                                                            the ABORT record
 *   COMMITTED   acknowledged by all, and durable  ENDED       round_end()
 *               on all (each replica's durable               (txn_recovery.c)
 *               mark, carried by votes and acks,
 *               has passed the round)
 *
 * Per-state invariants (txn_assert_round; txn_assert_invariants checks every round):
 *   PREPARING: it is on the in-flight queue (rid order); its timer is armed; the queue
 *              holds exactly ninflight rounds.
 *   COMMITTED: it is on t->unacked (which holds st.unacked_rounds rounds); every in-sync
 *              replica holds a durable YES for it (or the log said COMMIT, replayed).
 *   ABORTED:   on t->aborting until its ABORT record is durable (finish_aborts), then on
 *              no list; ENDED: on no list. Both freed once refs reaches 0.
 *
 * The commit rule of durable votes (docs/design.md). A round that every in-sync replica
 * has durably voted YES on, with identical results, is committed: nothing can abort it any
 * more, and a restart finds it from the votes if its COMMIT record is lost. So the commit
 * point is the last durable YES, and a write waits for one forced write (the replicas',
 * in parallel), not two in a row. The price is on the other side:
 *   - an abort is fenced: its ABORT record is durable before any client hears the error
 *     or any replica TPC.ABORT, and no round starts meanwhile (log_aborts, finish_aborts);
 *   - the decision log says "every round up to decided_max without a COMMIT record was
 *     aborted" (one ABORT record, for the newest aborted round, and a DECIDED record after
 *     a compaction), and a restart decides the rounds above it from the replicas' votes
 *     (txn_recovery.c, vr_hello).
 *
 * Pipelining. Up to max_inflight rounds are PREPARING at once. Each replica evaluates a
 * round on top of the rounds still undecided ahead of it (speculatively: as if they
 * commit), so:
 *   - decisions are made in rid order: a round with all YES waits for every earlier one;
 *   - when a round aborts, every later round in flight aborts too (it was evaluated on
 *     top of it); their ops did nothing wrong, so they go back to the front of the queue
 *     for the next round instead of failing;
 *   - COMMIT r+1 is appended after COMMIT r in the same log, and an ABORT record only
 *     once every older round is decided, so any durable prefix of the log is a true
 *     account of the rounds up to its last decision.
 *
 *     in flight:  [r5 all YES] [r6 voting] [r7 voting]       pending: a b c
 *     r6 gets NO:  r6, r7 abort (r6's clients get the error once ABORT 7 is durable; r7's
 *                  ops requeued)
 *     in flight:  (r5 committed at once)                     pending: (r7's ops) a b c
 *
 * What happens after the commit point (acknowledgements, durable marks, END, compaction)
 * and after a restart (decision-log replay, TPC.HELLO) is in txn_recovery.c.
 *
 * Checklist for the commit point, in this order (DESIGN.md, write path step 4):
 *   1. every in-sync replica's YES is durable (a replica sends it only then);
 *   2. send COMMIT to every replica (before any reply, so a read that a client issues
 *      after seeing OK is queued behind the COMMIT on every link), and hand the COMMIT
 *      record to the log thread;
 *   3. reply to the clients.
 */
#include "txn.h"

#ifdef TWOPC_ASSERTS
#undef NDEBUG /* the state machine's checks stay in every build (CMakeLists: TWOPC_ASSERTS) */
#endif
#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "log.h"
#include "op.h"
#include "record.h"
#include "resp_writer.h"
#include "txn_internal.h"
#include "util.h"
#include "version.h"

static const char *const state_names[ROUND_STATE_MAX] = { "preparing", "committed", "aborted",
                                                          "ended" };

#ifndef NDEBUG
/* The queue's and the lists' invariants: the in-flight queue holds PREPARING rounds in
 * rising rid order, the logging ones (ticket set) first, as many as ninflight; t->unacked
 * holds COMMITTED rounds, as many as st.unacked_rounds. */
static void assert_lists(const struct txn *t)
{
    int n = 0;
    uint64_t prev = 0;
    for (const struct round *x = t->qhead; x; x = x->qnext, n++) {
        assert(x->state == ROUND_PREPARING && x->rid > prev && !x->ticket);
        prev = x->rid;
        assert(!x->qnext || x->qnext->rid > x->rid);
        assert(x->qnext || x == t->qtail);
    }
    assert(n == t->ninflight);
    size_t u = 0;
    for (const struct round *x = t->unacked; x; x = x->next, u++)
        assert(x->state == ROUND_COMMITTED && x->acks_missing >= 0 &&
               x->acks_missing <= x->nneed);
    assert(u == t->st.unacked_rounds);
    for (const struct round *x = t->aborting; x; x = x->qnext)
        assert(x->state == ROUND_ABORTED && (x->qnext || x == t->aborting_tail));
    (void)prev;
}
#endif

void txn_assert_round(const struct round *rd)
{
#ifndef NDEBUG
    const struct txn *t = rd->t;
    int on_unacked = 0, on_queue = 0;
    for (const struct round *x = t->unacked; x; x = x->next)
        on_unacked |= x == rd;
    for (const struct round *x = t->qhead; x; x = x->qnext)
        on_queue |= x == rd;
    switch (rd->state) {
    case ROUND_PREPARING:
        /* Undecided: its prepare timeout runs. */
        assert(on_queue && !on_unacked);
        assert(t->io.timer_armed(t->io.ctx, rd->timer));
        assert(rd->votes_missing >= 0 && rd->votes_missing <= rd->nneed);
        break;
    case ROUND_COMMITTED:
        /* Every vote it needed was a durable YES (or the log's COMMIT said so, replayed). */
        assert(on_unacked && !on_queue);
        break;
    default: assert(!on_unacked && !on_queue); break;
    }
    assert_lists(t);
#endif
}

void txn_assert_invariants(const struct txn *t)
{
#ifndef NDEBUG
    for (const struct round *x = t->qhead; x; x = x->qnext)
        txn_assert_round(x);
    for (const struct round *x = t->unacked; x; x = x->next)
        txn_assert_round(x);
    assert_lists(t);
#endif
}

void txn_set_state(struct round *rd, enum round_state to)
{
    static const unsigned char allowed[ROUND_STATE_MAX][ROUND_STATE_MAX] = {
        [ROUND_PREPARING] = { [ROUND_COMMITTED] = 1, [ROUND_ABORTED] = 1 },
        [ROUND_COMMITTED] = { [ROUND_ENDED] = 1 },
    };
    assert(allowed[rd->state][to]);
    (void)allowed;
    LOG_DEBUG("round %llu: %s -> %s", (unsigned long long)rd->rid, state_names[rd->state],
              state_names[to]);
    rd->state = to;
}

struct round *txn_round_new(struct txn *t, uint64_t rid, enum round_state state)
{
    struct round *rd = calloc(1, sizeof *rd);
    if (!rd || !(rd->voted = calloc(TXN_MAX_REPLICAS, 3))) {
        free(rd);
        return NULL;
    }
    rd->acked = rd->voted + TXN_MAX_REPLICAS;
    rd->need = rd->acked + TXN_MAX_REPLICAS;
    rd->t = t;
    rd->rid = rid;
    rd->state = state;
    txn_round_need_in_sync(rd);
    return rd;
}

void txn_round_need_in_sync(struct round *rd)
{
    rd->nneed = 0;
    for (int i = 0; i < TXN_MAX_REPLICAS; i++) {
        rd->need[i] = (char)txn_in_sync(rd->t, i);
        rd->nneed += rd->need[i];
    }
}

void txn_round_free(struct round *rd)
{
    for (size_t i = 0; i < rd->nops; i++)
        op_free(rd->ops[i].op);
    free(rd->ops);
    free(rd->voted);
    free(rd->results.p);
    free(rd->res_off);
    free(rd->touched.p);
    free(rd->touched_off);
    free(rd->watched.p);
    free(rd->watched.off);
    free(rd->watched.dbs);
    free(rd->why);
    if (rd->timer)
        rd->t->io.timer_free(rd->t->io.ctx, rd->timer);
    free(rd);
}

void txn_round_maybe_free(struct round *rd)
{
    if (rd->refs == 0 && (rd->state == ROUND_ABORTED || rd->state == ROUND_ENDED))
        txn_round_free(rd);
}

void txn_unacked_remove(struct txn *t, struct round *rd)
{
    for (struct round **pp = &t->unacked; *pp; pp = &(*pp)->next)
        if (*pp == rd) {
            *pp = rd->next;
            return;
        }
}

void txn_timer_arm(struct txn *t, struct txn_timer *tm, int ms)
{
    t->io.timer_arm(t->io.ctx, tm, ms);
}

void txn_kick(struct txn *t)
{
    if (!t->closing)
        txn_timer_arm(t, t->kick, -1);
}

int txn_log_record(struct txn *t, const char *what, uint64_t rid)
{
    char num[24];
    size_t n = util_u64_to_str(rid, num);
    const char *argv[2] = { what, num };
    size_t lens[2] = { strlen(what), n };
    return wal_append(t->log, 2, argv, lens);
}

/* 1 if the decision log cannot make records durable now, with the client's error in why:
 * Redis's "MISCONF Errors writing to the AOF file: ..." for the decision log. Presumed
 * abort makes refusing safe: a round with no COMMIT record is aborted, and one whose
 * COMMIT is in the failed batch keeps waiting for the log's own retry (journal.c). */
int txn_log_refuses(struct txn *t, char *why, size_t whylen)
{
    char cause[96];
    if (t->config_undurable) {
        snprintf(why, whylen, "MISCONF Errors writing to the decision log of the coordinator: "
                 "a replica set change is not durable yet; writes are refused until the disk "
                 "recovers");
        return 1;
    }
    if (!wal_failing(t->log, cause, sizeof cause))
        return 0;
    snprintf(why, whylen, "MISCONF Errors writing to the decision log of the coordinator: %s; "
             "writes are refused until the disk recovers", cause);
    return 1;
}

/* ---- decisions reaching replicas ---- */

int txn_send(struct txn *t, int i, int argc, const char *const *argv, const size_t *lens,
             txn_reply_fn fn, void *arg)
{
    size_t len = 0;
    char *cmd = t->closing ? NULL : link_format(argc, argv, lens, &len);
    int rc = cmd ? t->io.send(t->io.ctx, i, cmd, len, fn, arg) : -1;
    link_format_free(cmd);
    return rc;
}

void txn_send_decision(struct round *rd, int i, const char *cmd, txn_reply_fn fn)
{
    char num[24];
    const char *argv[2] = { cmd, num };
    size_t lens[2] = { strlen(cmd), util_u64_to_str(rd->rid, num) };
    if (rd->work_ms && rd->t->io.expect && !rd->t->closing) /* a COMMIT applies it all */
        rd->t->io.expect(rd->t->io.ctx, i, rd->work_ms);
    if (txn_send(rd->t, i, 2, argv, lens, fn, rd) == 0)
        rd->refs++;
}

void txn_on_abort_ack(void *arg, int i, const struct link_reply *r)
{
    struct round *rd = arg;
    if (!rd)
        return;
    rd->refs--;
    txn_round_maybe_free(rd);
}

/* ---- votes and decisions ---- */

static void answer_all(struct round *rd, const char *error)
{
    for (size_t i = 0; i < rd->nops; i++) {
        const struct wop *w = &rd->ops[i];
        if (!w->done)
            continue; /* an internal op (txn_submit_internal): nobody waits */
        if (error)
            w->done(w->arg, NULL, 0, error);
        else
            w->done(w->arg, rd->results.p + rd->res_off[i],
                    rd->res_off[i + 1] - rd->res_off[i], NULL);
    }
}

/* Puts n ops back at the front of the pending queue (they keep their answer functions). */
static int requeue_front(struct txn *t, struct wop *ops, size_t n)
{
    struct wop *np = malloc((n + t->npending) * sizeof *np);
    if (!np)
        return -1;
    memcpy(np, ops, n * sizeof *np);
    if (t->npending)
        memcpy(np + n, t->pending, t->npending * sizeof *np);
    free(t->pending);
    t->pending = np;
    t->npending += n;
    t->cap = t->npending;
    return 0;
}

/* Logs the aborts not logged yet, once no undecided round is older than them: one ABORT
 * record, for the newest, since every round up to a logged decision without a COMMIT
 * record is aborted (decided_max). Waiting for the older rounds keeps that true (one of
 * them may still commit on its votes, and its COMMIT record must come first), and one
 * record means a crash that keeps any prefix of the batch cannot keep the abort of a
 * round without the abort of the rounds evaluated on top of it (found by the simulator
 * when the records were one per round, oldest first: a torn batch kept ABORT 96, and
 * recovery committed 97 and 98 from their votes). */
static void log_aborts(struct txn *t)
{
    uint64_t newest = 0;
    for (struct round *x = t->aborting; x; x = x->qnext)
        if (!x->ticket && x->rid > newest)
            newest = x->rid;
    if (!newest || (t->qhead && t->qhead->rid < newest))
        return;
    if (newest > t->decided_max)
        t->decided_max = newest;
    if (txn_log_record(t, "ABORT", t->decided_max) < 0) {
        LOG_WARNING("decision log: can't append ABORT (out of memory); exiting");
        exit(1);
    }
    uint64_t ticket = wal_submit(t->log);
    for (struct round *x = t->aborting; x; x = x->qnext)
        if (!x->ticket)
            x->ticket = ticket;
}

static void finish_aborts(struct txn *t, uint64_t done);

static void finish_unfenced(void *arg)
{
    finish_aborts(arg, UINT64_MAX);
}

/* Aborts rd and every round after it in flight; see "Pipelining" above. The decision is
 * fenced (docs/design.md, the commit rule of durable votes): ABORT is logged (log_aborts),
 * and only once it is durable do the replicas get TPC.ABORT and rd's clients their error
 * (finish_aborts) -- else a restart could find every vote YES and
 * commit a round whose clients were told it failed. Until then no round starts (a replica
 * would evaluate it on top of the aborted ones); the later rounds' ops are requeued now. */
void txn_round_abort(struct round *rd, const char *why)
{
    struct txn *t = rd->t;
    struct round **pp = &t->qhead, *prev = NULL;
    while (*pp != rd)
        prev = *pp, pp = &(*pp)->qnext;
    *pp = NULL;
    t->qtail = prev;
    size_t nl = 0;
    for (struct round *x = rd; x; x = x->qnext, nl++) {
        txn_set_state(x, ROUND_ABORTED);
        t->io.timer_cancel(t->io.ctx, x->timer);
        t->ninflight--;
        t->st.aborted++;
        LOG_VERBOSE("round %llu aborted: %s", (unsigned long long)x->rid,
                    x == rd ? why : "an earlier round aborted");
        x->refs++; /* until finish_aborts */
    }
    /* Later rounds' ops go back in order, ahead of what arrived since (newest first, so
     * that each lands in front of the ones after it): walk the chain backwards by
     * collecting it, however many rounds were in flight. */
    struct round **later = nl > 1 ? malloc((nl - 1) * sizeof *later) : NULL;
    size_t k = 0;
    for (struct round *x = rd->qnext; later && x; x = x->qnext)
        later[k++] = x;
    for (struct round *x = later ? NULL : rd->qnext; x; x = x->qnext)
        x->why = strdup("ERR out of memory; write not applied"); /* no memory to requeue */
    while (k-- > 0) {
        if (requeue_front(t, later[k]->ops, later[k]->nops) == 0)
            later[k]->nops = 0; /* the ops now belong to the queue */
        else
            later[k]->why = strdup("ERR out of memory; write not applied");
    }
    free(later);
    rd->why = strdup(why);
    if (!rd->why) {
        LOG_WARNING("out of memory aborting round %llu; exiting", (unsigned long long)rd->rid);
        exit(1);
    }
    if (t->aborting_tail)
        t->aborting_tail->qnext = rd;
    else
        t->aborting = rd;
    while (rd->qnext)
        rd = rd->qnext;
    t->aborting_tail = rd;
    txn_assert_round(rd);
    if (FAILPOINT_ON("coord.bug.unfenced_abort")) {
        /* A deliberate bug, for the simulator: the order of presumed abort kept under the
         * rule of durable votes -- the error and TPC.ABORT go out at once, and no ABORT is
         * logged, so a restart may find every vote YES and commit the round. */
        for (struct round *x = t->aborting; x; x = x->qnext)
            x->ticket = 1;
        t->io.once(t->io.ctx, 0, finish_unfenced, t);
        return;
    }
    log_aborts(t);
}

/* The ABORT records up to ticket done are durable: each aborted round's replicas get
 * TPC.ABORT and its clients their error; new rounds may start again. */
static void finish_aborts(struct txn *t, uint64_t done)
{
    int any = 0;
    while (t->aborting && t->aborting->ticket && t->aborting->ticket <= done) {
        struct round *x = t->aborting;
        t->aborting = x->qnext;
        if (!t->aborting)
            t->aborting_tail = NULL;
        x->qnext = NULL;
        for (int i = 0; i < t->nlinks; i++)
            if (x->need[i])
                txn_send_decision(x, i, "TPC.ABORT", txn_on_abort_ack);
        if (x->why) /* the round that caused it (or one with no memory to requeue) */
            answer_all(x, x->why);
        any = 1;
        x->refs--;
        txn_round_maybe_free(x);
    }
    if (any)
        txn_kick(t);
}

static void send_commits_late(void *arg)
{
    struct round *rd = arg;
    for (int i = 0; i < rd->t->nlinks; i++)
        if (rd->need[i])
            txn_send_decision(rd, i, "TPC.COMMIT", txn_on_commit_ack);
    rd->t->hold--;
    txn_kick(rd->t);
    rd->refs--;
    txn_round_maybe_free(rd);
}

/* The bug of failpoint coord.bug.reply_before_commit: checklist steps 2 and 3 swapped, and
 * COMMIT delayed, so a client can read an older value after seeing OK. */
static void broken_commit(struct round *rd)
{
    answer_all(rd, NULL);
    rd->refs++;
    rd->t->hold++;
    rd->t->io.once(rd->t->io.ctx, 200, send_commits_late, rd);
}

static void round_committed(struct round *rd);

#define LAZY_COMMIT_MS 10 /* how long COMMIT records may wait for the log thread */

static void lazy_commit_cb(void *arg)
{
    struct txn *t = arg;
    if (!t->closing)
        wal_submit(t->log);
}

/* Every round at the head of the queue whose votes are all YES is committed now: the
 * commit point of the rule of durable votes (docs/design.md) is the last durable YES, so
 * each goes straight to round_committed (TPC.COMMIT to every link, then the answers), in
 * round order, and its COMMIT record goes to the log thread without anyone waiting for it
 * (group commit; recovery finds the votes if a crash comes first). A round whose
 * configuration is not durable yet (a member left the in-sync set, txn_members.c) cannot
 * rely on its votes: it aborts. */
static void commit_ready(struct txn *t)
{
    int n = 0;
    char why[256];
    while (t->qhead && t->qhead->all_yes) {
        struct round *rd = t->qhead;
        FAILPOINT("coord.commit.before_log");
        if (t->config_undurable && txn_log_refuses(t, why, sizeof why)) {
            txn_round_abort(rd, why);
            break;
        }
        if (txn_log_record(t, "COMMIT", rd->rid) < 0) {
            LOG_WARNING("decision log: can't append COMMIT (out of memory); exiting");
            exit(1);
        }
        if (rd->rid > t->decided_max)
            t->decided_max = rd->rid;
        t->qhead = rd->qnext;
        if (!t->qhead)
            t->qtail = NULL;
        rd->qnext = NULL;
        t->ninflight--;
        round_committed(rd);
        n++;
    }
    if (n == 0)
        return;
    log_aborts(t); /* aborts of later rounds waited for these (they go in this batch) */
    /* Nobody waits for the COMMIT records: one fsync per LAZY_COMMIT_MS at most, not one
     * per round (each took a disk flush and a VM exit from the replicas' PREPARE fsyncs,
     * which every write waits for). An abort submits them at once with its record. */
    if (!t->io.timer_armed(t->io.ctx, t->lazy_commit))
        txn_timer_arm(t, t->lazy_commit, LAZY_COMMIT_MS);
    FAILPOINT("coord.commit.after_log");
    txn_kick(t);
}

/* The log made records durable: the aborts waiting for their ABORT records finish. (The
 * COMMIT records are nobody's wait: their rounds were answered on their votes.) */
void txn_log_progress(struct txn *t)
{
    char err[256];
    uint64_t done;
    if (wal_durable(t->log, &done, err, sizeof err) < 0) {
        /* Never trust the page cache after a failed fsync: restart and recover. */
        LOG_WARNING("decision log sync failed: %s; exiting", err);
        exit(1);
    }
    char why[256];
    int failing = wal_failing(t->log, why, sizeof why);
    if (failing != t->log_failing) {
        if (failing)
            LOG_WARNING("decision log: can't make records durable (%s); writes are refused "
                        "until the disk recovers, reads go on", why);
        else
            LOG_NOTICE("decision log: writable again; writes resume");
        t->log_failing = failing;
    }
    if (failing && FAILPOINT_ON("coord.bug.trust_failed_fsync")) {
        /* A deliberate bug, for the simulator: fsyncgate -- the failed batch taken for
         * durable, as if a retried fsync that "succeeded" could be trusted. */
        done = UINT64_MAX;
    }
    finish_aborts(t, done);
}

static void round_committed(struct round *rd)
{
    struct txn *t = rd->t;
    txn_set_state(rd, ROUND_COMMITTED);
    t->io.timer_cancel(t->io.ctx, rd->timer);
    rd->next = t->unacked;
    t->unacked = rd;
    t->st.committed++;
    t->st.ops_committed += rd->nops;
    t->st.unacked_rounds++;
    rd->acks_missing = rd->nneed;
    for (size_t i = 0; t->commit_hook && i < rd->nops; i++) {
        const size_t *off = rd->touched.p ? rd->touched_off : NULL;
        const char *res = rd->have_results && rd->res_off ? rd->results.p + rd->res_off[i] : NULL;
        t->commit_hook(t->commit_hook_ctx, rd->ops[i].op, off ? rd->touched.p + off[i] : NULL,
                       off ? off[i + 1] - off[i] : 0, rd->watched.off ? &rd->watched : NULL,
                       res, res ? rd->res_off[i + 1] - rd->res_off[i] : 0);
    }
    if (FAILPOINT_ON("coord.bug.reply_before_commit")) {
        broken_commit(rd); /* a deliberate bug, for tests of the tests */
        return;
    }
    for (int i = 0; i < t->nlinks; i++)
        if (rd->need[i])
            txn_send_decision(rd, i, "TPC.COMMIT", txn_on_commit_ack);
    answer_all(rd, NULL);
    txn_assert_round(rd);
}

/* Copies a YES vote's touched strings (its last element when the PREPARE asked for them:
 * an array of nops strings) into b, raw. Returns nops + 1 offsets into b, or NULL: when the
 * vote has no such element (*bad = 0), or when it is malformed or memory ran out (*bad = 1,
 * b left empty). */
static size_t *copy_touched(const struct round *rd, const struct link_reply *r,
                            struct record_buf *b, int *bad)
{
    *bad = 0;
    if (!rd->want_touched || link_reply_len(r) != 4)
        return NULL;
    const struct link_reply *arr = link_reply_elem(r, 3);
    size_t *off = calloc(rd->nops + 1, sizeof *off);
    *bad = !off || link_reply_len(arr) != rd->nops;
    for (size_t i = 0; !*bad && i < rd->nops; i++) {
        const struct link_reply *e = link_reply_elem(arr, i);
        size_t len = 0;
        const char *s = link_reply_str(e, &len);
        off[i] = b->len;
        *bad = !s || link_reply_is_error(e) || record_buf_sink(b, s, len) < 0;
    }
    if (*bad) {
        free(off);
        free(b->p);
        *b = (struct record_buf){ 0 };
        return NULL;
    }
    off[rd->nops] = b->len;
    return off;
}

static int same_touched(const struct round *rd, const struct record_buf *b, const size_t *off)
{
    return b->len == rd->touched.len && memcmp(b->p, rd->touched.p, b->len) == 0 &&
           memcmp(off, rd->touched_off, (rd->nops + 1) * sizeof *off) == 0;
}

/* Checks a YES vote, *3 +YES :durable $<the nops results, RESP2, back to back> [touched]:
 * the first YES's results are kept, cut into replies (res_off); a later one's are compared
 * byte for byte. Returns 0 if they match the first YES (or are the first), 1 if they
 * differ, -1 if the vote is malformed.
 * A YES without touched strings, first or not, leaves the round without them. */
static int check_results(struct round *rd, const struct link_reply *r)
{
    long long durable;
    size_t n = link_reply_len(r), len = 0;
    const char *res = n >= 3 ? link_reply_str(link_reply_elem(r, 2), &len) : NULL;
    if ((n != 3 && !(rd->want_touched && n == 4)) ||
        !link_reply_is_status(link_reply_elem(r, 0), "YES") ||
        link_reply_int(link_reply_elem(r, 1), &durable) < 0 || !res ||
        link_reply_is_error(link_reply_elem(r, 2)))
        return -1;
    struct record_buf tb = { 0 };
    int bad = 0;
    size_t *toff = copy_touched(rd, r, &tb, &bad);
    if (bad)
        return -1;
    if (!rd->have_results) {
        /* The first YES: keep its results, cut into the nops replies. */
        size_t *off = calloc(rd->nops + 1, sizeof *off);
        char *copy = len ? malloc(len) : NULL;
        size_t at = 0, got = 0;
        for (; off && (copy || !len) && got < rd->nops; got++) {
            long e = resp_reply_len(res + at, len - at);
            if (e < 0)
                break;
            off[got] = at;
            at += (size_t)e;
            off[got + 1] = at;
        }
        if (!off || (len && !copy) || got != rd->nops || at != len) {
            free(off), free(copy), free(tb.p), free(toff);
            return -1; /* malformed, or out of memory */
        }
        if (len)
            memcpy(copy, res, len);
        rd->results = (struct record_buf){ .p = copy, .len = len, .cap = len };
        rd->res_off = off;
        rd->have_results = 1;
        rd->touched = tb;
        rd->touched_off = toff;
        return 0;
    }
    int differ = len != rd->results.len || (len && memcmp(res, rd->results.p, len) != 0) ||
                 (toff && rd->touched_off && !same_touched(rd, &tb, toff));
    if (!toff) { /* this replica did not say: nothing is known */
        free(rd->touched.p);
        free(rd->touched_off);
        rd->touched = (struct record_buf){ 0 };
        rd->touched_off = NULL;
    }
    free(tb.p);
    free(toff);
    return differ;
}

static void handle_vote(struct round *rd, int li, const struct link_reply *r)
{
    struct txn *t = rd->t;
    const char *addr = t->io.addr(t->io.ctx, li);
    char why[512];
    rd->voted[li] = 1;
    if (!r) {
        snprintf(why, sizeof why,
                 "NOREPLICAS Not enough good replicas to write: replica %s is down", addr);
        txn_round_abort(rd, why);
        return;
    }
    if (link_reply_is_error(r)) {
        size_t len = 0;
        const char *msg = link_reply_str(r, &len);
        /* A replica whose vote log is failing says MISCONF; the client is told which. */
        static const char misconf[] = "MISCONF Errors writing to the vote log: ";
        const size_t mlen = sizeof misconf - 1;
        if (!msg)
            msg = "", len = 0;
        if (len > mlen && strncmp(msg, misconf, mlen) == 0)
            snprintf(why, sizeof why, "MISCONF Errors writing to the vote log of replica %s: "
                     "%.*s", addr, (int)(len - mlen > 200 ? 200 : len - mlen), msg + mlen);
        else
            snprintf(why, sizeof why, "ERR write not applied: replica %s voted %.*s", addr,
                     (int)(len > 200 ? 200 : len), msg);
        txn_round_abort(rd, why);
        /* A round in doubt there that this engine is not deciding (it came to the replica
         * late, from a connection that had already died): only a fresh TPC.HELLO reports
         * and settles it, so resynchronize the link (found by the simulator: the replica
         * refused every later round). */
        if (msg && strstr(msg, "is still in doubt")) /* a reply string ends in NUL */
            t->io.drop(t->io.ctx, li, "it holds a round in doubt");
        else if (msg && strstr(msg, "not the coordinator's")) /* its session moved */
            t->io.drop(t->io.ctx, li, "another connection said TPC.HELLO to it");
        return;
    }
    int rc = check_results(rd, r);
    long long durable;
    if (rc >= 0 && link_reply_int(link_reply_elem(r, 1), &durable) == 0)
        txn_note_durable(t, li, durable);
    if (rc > 0) {
        /* Which of the two is wrong is not known here: name both (DEBUG DIGEST tells). */
        const char *first = t->io.addr(t->io.ctx, rd->first_yes);
        LOG_WARNING("DIVERGENCE: replicas %s and %s computed different results (or changes) "
                    "for round %llu", first, addr, (unsigned long long)rd->rid);
        snprintf(why, sizeof why, "ERR write not applied: replicas %s and %s computed "
                 "different results (divergence)", first, addr);
        txn_round_abort(rd, why);
        return;
    }
    if (rc < 0) {
        snprintf(why, sizeof why, "ERR write not applied: replica %s sent a malformed vote",
                 addr);
        txn_round_abort(rd, why);
        return;
    }
    if (rd->votes_missing == rd->nneed)
        rd->first_yes = li; /* check_results kept its results */
    if (--rd->votes_missing == 0 ||
        (FAILPOINT_ON("coord.bug.commit_on_k_votes") && t->min_replicas > 0 &&
         rd->nneed - rd->votes_missing >= t->min_replicas)) {
        /* (The bug: a quorum of min_replicas YES votes taken for the in-sync set's. A
         * deliberate bug, for the simulator's acknowledged-on-every-in-sync-disk check.) */
        rd->all_yes = 1;
        commit_ready(t);
    }
}

static void on_vote(void *arg, int i, const struct link_reply *r)
{
    struct round *rd = arg;
    rd->refs--;
    if (rd->state == ROUND_PREPARING && rd->need[i] && !rd->voted[i] && !rd->all_yes)
        handle_vote(rd, i, r);
    txn_round_maybe_free(rd);
}

static void on_timeout(void *arg)
{
    struct round *rd = arg;
    struct txn *t = rd->t;
    char why[256];
    int i = 0;
    while (i < t->nlinks - 1 && (!rd->need[i] || rd->voted[i]))
        i++;
    snprintf(why, sizeof why,
             "ERR write not applied: replica %s did not vote within %llu ms (round aborted)",
             t->io.addr(t->io.ctx, i),
             (unsigned long long)rd->deadline_ms);
    txn_round_abort(rd, why);
}

/* ---- starting rounds ---- */

static void fail_pending(struct txn *t, const char *why)
{
    size_t n = t->npending;
    struct wop *ops = t->pending;
    t->pending = NULL;
    t->npending = t->cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].done)
            ops[i].done(ops[i].arg, NULL, 0, why);
        op_free(ops[i].op);
    }
    free(ops);
}

/* Asks the commit hook for the keys to send with a round that may flush (see
 * txn_commit_hook_keys); leaves rd->watched empty when there are none. */
static void take_watched(struct round *rd)
{
    struct txn *t = rd->t;
    int rc = 0;
    for (size_t i = 0; t->commit_hook_keys && rc == 0 && i < rd->nops; i++)
        rc = t->commit_hook_keys(t->commit_hook_ctx, rd->ops[i].op, &rd->watched);
    if (rc != 1)
        rd->watched = (struct txn_keys){ 0 };
}

/* Whether every replica the round needs agreed to protocol v or newer. */
static int all_speak(const struct round *rd, int v)
{
    for (int i = 0; i < rd->t->nlinks; i++)
        if (rd->need[i] && rd->t->member[i].proto < v)
            return 0;
    return 1;
}

/* Sends PREPARE [TOUCHED [GONE] [WATCHED n key... [DBS db...]]] rid now nops
 * {argc args}... to every link:
 * TOUCHED when the commit hook wants to know what each op changed, GONE when it also wants
 * to know which of those keys the op left gone (and every replica speaks protocol 3: the
 * votes must be alike), WATCHED when it wants to know which of its keys a flush in the
 * round deletes. Returns links that failed. */
static int send_prepare(struct round *rd)
{
    struct txn *t = rd->t;
    int want = t->commit_hook && t->commit_hook_wanted ? t->commit_hook_wanted(t->commit_hook_ctx)
                                                       : 0;
    rd->want_touched = want != 0;
    rd->want_gone = (want & TXN_WANT_GONE) && all_speak(rd, TWOPC_PROTOCOL_GONE);
    if (rd->want_touched)
        take_watched(rd);
    const struct txn_keys *wk = &rd->watched;
    size_t nargs = 4 + (size_t)rd->want_touched + (size_t)rd->want_gone +
                   (wk->off ? 2 + wk->n : 0) + (wk->dbs ? 1 + wk->n : 0);
    for (size_t i = 0; i < rd->nops; i++)
        nargs += 1 + (size_t)rd->ops[i].op->argc;
    const char **argv = malloc(nargs * sizeof *argv);
    size_t *lens = malloc(nargs * sizeof *lens);
    char *nums = malloc((rd->nops + 4 + (wk->dbs ? wk->n : 0)) * 24);
    if (!argv || !lens || !nums) {
        free(argv), free(lens), free(nums);
        return rd->nneed;
    }
    /* The round's clock: wall time in ms, never going backwards from round to round, so
     * every replica decides expiry the same way and in order. */
    uint64_t now = txn_now_ms(t);
    size_t a = 0;
    argv[a] = "TPC.PREPARE", lens[a++] = 11;
    if (rd->want_touched)
        argv[a] = "TOUCHED", lens[a++] = 7;
    if (rd->want_gone)
        argv[a] = "GONE", lens[a++] = 4;
    if (wk->off) {
        argv[a] = "WATCHED", lens[a++] = 7;
        argv[a] = nums + 72, lens[a++] = util_u64_to_str(wk->n, nums + 72);
        for (size_t i = 0; i < wk->n; i++)
            argv[a] = wk->p + wk->off[i], lens[a++] = wk->off[i + 1] - wk->off[i];
    }
    if (wk->off && wk->dbs) { /* the keys' databases, after the ops' counts in nums */
        argv[a] = "DBS", lens[a++] = 3;
        for (size_t i = 0; i < wk->n; i++) {
            char *num = nums + 24 * (rd->nops + 4 + i);
            argv[a] = num, lens[a++] = util_u64_to_str((uint64_t)wk->dbs[i], num);
        }
    }
    argv[a] = nums, lens[a++] = util_u64_to_str(rd->rid, nums);
    argv[a] = nums + 24, lens[a++] = util_u64_to_str(now, nums + 24);
    argv[a] = nums + 48, lens[a++] = util_u64_to_str(rd->nops, nums + 48);
    for (size_t i = 0; i < rd->nops; i++) {
        const struct op *op = rd->ops[i].op;
        char *num = nums + 24 * (i + 4);
        argv[a] = num, lens[a++] = util_u64_to_str((uint64_t)op->argc, num);
        for (int j = 0; j < op->argc; j++)
            argv[a] = op->argv[j], lens[a++] = op->lens[j];
    }
    /* Formatted once for every link. */
    size_t len = 0;
    char *cmd = link_format((int)a, argv, lens, &len);
    int failed = 0;
    for (int i = 0; i < t->nlinks; i++) {
        if (!rd->need[i])
            continue;
        if (cmd && rd->work_ms && t->io.expect && !t->closing)
            t->io.expect(t->io.ctx, i, rd->work_ms);
        if (cmd && !t->closing && t->io.send(t->io.ctx, i, cmd, len, on_vote, rd) == 0)
            rd->refs++;
        else
            failed++;
    }
    link_format_free(cmd);
    free(argv), free(lens), free(nums);
    return failed;
}

/* At most TXN_MAX_ROUND_OPS ops a round: a mass insertion (redis-cli --pipe, many
 * pipelining clients) must not build one round so big that evaluating and logging it on a
 * replica outlasts the prepare timeout. What is left starts the next round at once. */
#define TXN_MAX_ROUND_OPS 2048

static void take_pending(struct txn *t, struct round *rd)
{
    struct wop *part = t->npending > TXN_MAX_ROUND_OPS
                           ? malloc(TXN_MAX_ROUND_OPS * sizeof *part)
                           : NULL;
    if (!part) { /* all of it (also when memory is too tight to split) */
        rd->ops = t->pending;
        rd->nops = t->npending;
        t->pending = NULL;
        t->npending = t->cap = 0;
        return;
    }
    memcpy(part, t->pending, TXN_MAX_ROUND_OPS * sizeof *part);
    rd->ops = part;
    rd->nops = TXN_MAX_ROUND_OPS;
    t->npending -= TXN_MAX_ROUND_OPS;
    memmove(t->pending, t->pending + TXN_MAX_ROUND_OPS, t->npending * sizeof *t->pending);
    txn_kick(t);
}

/* A round's size allowance (util_work_allowance_ms over its argument bytes and count):
 * how much longer than --prepare-timeout-ms its votes may honestly take, and how much
 * longer each link may stay silent while a replica evaluates, logs or applies it.
 *
 * Why a deadline that grows with the size rather than a timeout on progress: the vote is
 * the only message a replica sends about a PREPARE, and a replica busy in one big piece of
 * work (an fsync of 512 MB, one SQLite transaction of 1,000,000 rows) can say nothing
 * until it is done, so there is no progress to watch between the last byte sent and the
 * vote. A deadline computed from the round's bytes and ops keeps small rounds on the short
 * timeout a client expects (a stuck replica still costs a 10-byte SET 500 ms, not more)
 * while a 512 MB SET gets the 262 s a slow, shared machine may need; it is deterministic, so the
 * simulator replays it exactly. */
static uint64_t round_work_ms(const struct round *rd)
{
    uint64_t bytes = 0, items = 0, offset;
    for (size_t i = 0; i < rd->nops; i++) {
        const struct op *whole = rd->ops[i].op;
        items += (uint64_t)whole->argc;
        for (int j = 0; j < whole->argc; j++)
            bytes += whole->lens[j];
        /* the command inside a DB wrapper (op.h) */
        int db, skip = op_db_wrapper(whole->argc, whole->argv, whole->lens, &db) == 0 ? 2 : 0;
        const struct op inner = { .argc = whole->argc - skip, .argv = whole->argv + skip,
                                  .lens = whole->lens + skip };
        const struct op *op = &inner;
        /* SETRANGE k 33554431 x is 40 bytes that make a replica build (and store) 32 MB;
         * SETBIT k 268435455 1 and BITFIELD k SET u8 #33554431 0 the same */
        if (op->argc == 4 && op_is(op, "setrange") &&
            util_parse_u64(op->argv[2], op->lens[2], &offset) == 0 && offset < (1ULL << 40))
            bytes += offset;
        if (op->argc == 4 && op_is(op, "setbit") &&
            util_parse_u64(op->argv[2], op->lens[2], &offset) == 0 && offset < (1ULL << 43))
            bytes += offset >> 3;
        if (op_is(op, "bitfield") && op_bitfield_writes(op, &offset))
            bytes += offset; /* the value's length its SETs and INCRBYs need */
    }
    return util_work_allowance_ms(bytes, items);
}

static void start_round(struct txn *t)
{
    char why[256];
    if (t->ninflight >= t->max_inflight || t->npending == 0 || t->hold || t->aborting ||
        t->nvr)
        return;
    for (int i = 0; i < t->nlinks; i++) {
        if (!txn_in_sync(t, i))
            continue;
        const char *what = t->io.unready(t->io.ctx, i, (uint64_t)t->prepare_timeout_ms);
        int ms_left;
        if (what && txn_member_may_wait(t, i, &ms_left)) {
            /* Reconnecting (a restart, start-up, a repaired replica coming back), or about
             * to be left out of the in-sync set: the writes wait, a bounded time. */
            txn_timer_arm(t, t->kick, ms_left < 20 ? ms_left : 20);
            return;
        }
        if (what) {
            snprintf(why, sizeof why,
                     "NOREPLICAS Not enough good replicas to write: replica %s is %s",
                     t->io.addr(t->io.ctx, i), what);
            fail_pending(t, why);
            return;
        }
    }
    if (txn_log_refuses(t, why, sizeof why)) {
        fail_pending(t, why); /* fail fast: its COMMIT could not be logged */
        return;
    }
    struct round *rd = txn_round_new(t, t->next_rid, ROUND_PREPARING);
    if (!rd) {
        fail_pending(t, "ERR out of memory; write not applied");
        return;
    }
    t->next_rid++;
    t->issued = 1;
    take_pending(t, rd);
    rd->votes_missing = rd->nneed;
    rd->timer = t->io.timer_new(t->io.ctx, on_timeout, rd);
    if (!rd->timer) {
        requeue_front(t, rd->ops, rd->nops); /* cannot fail: it had room for them */
        rd->nops = 0;
        txn_round_free(rd);
        fail_pending(t, "ERR out of memory; write not applied");
        return;
    }
    if (t->qtail)
        t->qtail->qnext = rd;
    else
        t->qhead = rd;
    t->qtail = rd;
    t->ninflight++;
    rd->work_ms = round_work_ms(rd);
    /* A replica takes a link's requests in order: this round's PREPARE waits behind the
     * rounds ahead of it still being prepared, and behind the COMMITs not yet acknowledged
     * everywhere (applying a 64 MB value takes a replica seconds), so their allowances
     * count too: a small write right after a 64 MB SET timed out after 500 ms. Small
     * rounds have no allowance; the lists are as long as the rounds in flight. */
    uint64_t ahead = 0;
    for (const struct round *q = t->qhead; q && q != rd; q = q->qnext)
        ahead += q->work_ms;
    for (const struct round *q = t->unacked; q; q = q->next)
        if (q->acks_missing)
            ahead += q->work_ms;
    /* And a big round acknowledged a moment ago still costs a replica its vote log's
     * compaction and SQLite's checkpoint of it (txn_on_commit_ack sets work_until_ms). */
    uint64_t now = t->io.mono_ms(t->io.ctx);
    if (t->work_until_ms > now)
        ahead += t->work_until_ms - now;
    uint64_t deadline = (uint64_t)t->prepare_timeout_ms + rd->work_ms + ahead;
    rd->deadline_ms = deadline;
    txn_timer_arm(t, rd->timer, deadline > INT_MAX ? INT_MAX : (int)deadline);
    txn_assert_round(rd);
    if (send_prepare(rd) > 0)
        txn_round_abort(rd, "NOREPLICAS Not enough good replicas to write: a replica link failed");
}

static void kick_cb(void *arg)
{
    start_round(arg);
}

void txn_submit(struct txn *t, struct op *op, txn_done_fn done, void *arg)
{
    if (t->npending == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct wop *np = realloc(t->pending, cap * sizeof *np);
        if (!np) {
            if (done)
                done(arg, NULL, 0, "ERR out of memory; write not applied");
            op_free(op);
            return;
        }
        t->pending = np;
        t->cap = cap;
    }
    t->pending[t->npending++] = (struct wop){ op, done, arg };
    if (t->ninflight < t->max_inflight)
        txn_kick(t);
}

void txn_submit_internal(struct txn *t, struct op *op)
{
    txn_submit(t, op, NULL, NULL);
}

uint64_t txn_now_ms(struct txn *t)
{
    uint64_t now = t->io.wall_ms(t->io.ctx);
    if (now < t->last_now_ms)
        now = t->last_now_ms;
    t->last_now_ms = now;
    return now;
}

void txn_set_commit_hook(struct txn *t, txn_commit_hook fn, txn_commit_hook_wanted wanted,
                         txn_commit_hook_keys keys, void *ctx)
{
    t->commit_hook = fn;
    t->commit_hook_wanted = wanted;
    t->commit_hook_keys = keys;
    t->commit_hook_ctx = ctx;
}

void txn_set_max_inflight(struct txn *t, int n)
{
    t->max_inflight = n > 0 ? n : 1;
}

/* ---- set-up ---- */

struct txn *txn_create(const struct txn_io *io, const char *const *addrs, int naddrs,
                       wal_open_fn open, void *open_arg, int prepare_timeout_ms,
                       uint64_t max_log_bytes, char *err, size_t errlen)
{
    struct txn *t = calloc(1, sizeof *t);
    if (!t || !(t->durable = calloc(TXN_MAX_REPLICAS, sizeof *t->durable)) ||
        !(t->hello_seen = calloc(TXN_MAX_REPLICAS, 1)) ||
        !(t->repair_wanted = calloc(TXN_MAX_REPLICAS, 1))) {
        if (t) {
            free(t->durable);
            free(t->hello_seen);
        }
        free(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->io = *io;
    t->prepare_timeout_ms = prepare_timeout_ms;
    t->max_log_bytes = max_log_bytes;
    t->max_inflight = 1;
    t->repair_chunk = TXN_REPAIR_CHUNK;
    t->databases = 1;
    t->next_rid = 1;
    t->kick = io->timer_new(io->ctx, kick_cb, t);
    t->durable_poll = io->timer_new(io->ctx, txn_durable_poll_cb, t);
    t->lazy_commit = io->timer_new(io->ctx, lazy_commit_cb, t);
    t->repair.timer = io->timer_new(io->ctx, txn_repair_tick, t);
    t->watch = io->timer_new(io->ctx, txn_members_tick, t);
    t->down_after_ms = 5000;
    t->write_wait_ms = 2000;
    if (!t->kick || !t->durable_poll || !t->lazy_commit || !t->repair.timer || !t->watch) {
        snprintf(err, errlen, "out of memory");
        txn_destroy(t);
        return NULL;
    }

    struct journal_info info;
    uint64_t t0 = t->recovery_t0 = io->mono_ms(io->ctx);
    if (!(t->log = open(open_arg, txn_replay_decision, t, &info, err, errlen))) {
        txn_destroy(t);
        return NULL;
    }
    if (txn_members_init(t, addrs, naddrs, err, errlen) < 0) {
        txn_destroy(t);
        return NULL;
    }
    if (!t->votes_seen) {
        /* A new log, or one an older release wrote (its rounds in doubt were decided by
         * presumed abort, and an error could precede the abort): the rule of durable votes
         * starts at a round id beyond any round that release can have left in doubt. */
        if (info.records > 0)
            t->next_rid += TXN_VOTES_GAP;
        t->votes_from = t->next_rid;
        err[0] = '\0';
        if (txn_log_record(t, "VOTES", t->votes_from) < 0 ||
            wal_sync(t->log, err, errlen) < 0) {
            if (!err[0])
                snprintf(err, errlen, "out of memory");
            txn_destroy(t);
            return NULL;
        }
    }
    t->recovered_committed = t->st.unacked_rounds;
    LOG_NOTICE("decision log replayed: %llu records, %zu committed rounds to finish, "
               "next round %llu, in %llu ms",
               (unsigned long long)info.records, t->st.unacked_rounds,
               (unsigned long long)t->next_rid,
               (unsigned long long)(io->mono_ms(io->ctx) - t0));
    return t;
}

void txn_start(struct txn *t)
{
    t->started = 1;
    t->start_ms = t->io.mono_ms(t->io.ctx);
    for (int i = 0; i < t->nlinks; i++) {
        t->member[i].unready_since = t->start_ms;
        if (t->member[i].state != MEMBER_NONE)
            t->io.link_open(t->io.ctx, i, t->member[i].addr);
    }
    txn_timer_arm(t, t->watch, 0);
}

void txn_stop(struct txn *t, int sync)
{
    char err[256];
    t->closing = 1;
    if (t->log && sync && wal_sync(t->log, err, sizeof err) < 0)
        LOG_WARNING("decision log sync at shutdown failed: %s", err);
}

void txn_destroy(struct txn *t)
{
    if (!t)
        return;
    /* No reply callback can run any more: no round is referenced by one. */
    while (t->unacked) {
        struct round *rd = t->unacked;
        t->unacked = rd->next;
        txn_round_free(rd);
    }
    while (t->qhead) { /* only after a simulated crash: rounds still in flight */
        struct round *rd = t->qhead;
        t->qhead = rd->qnext;
        txn_round_free(rd);
    }
    while (t->aborting) { /* the same: aborts whose ABORT record is not durable */
        struct round *rd = t->aborting;
        t->aborting = rd->qnext;
        txn_round_free(rd);
    }
    free(t->vr);
    for (int i = 0; i < TXN_MAX_REPLICAS; i++)
        free(t->member[i].in_doubt);
    wal_close(t->log);
    for (size_t i = 0; i < t->npending; i++)
        op_free(t->pending[i].op);
    free(t->durable);
    free(t->hello_seen);
    free(t->repair_wanted);
    free(t->pending);
    if (t->kick)
        t->io.timer_free(t->io.ctx, t->kick);
    if (t->durable_poll)
        t->io.timer_free(t->io.ctx, t->durable_poll);
    if (t->lazy_commit)
        t->io.timer_free(t->io.ctx, t->lazy_commit);
    if (t->repair.timer)
        t->io.timer_free(t->io.ctx, t->repair.timer);
    if (t->watch)
        t->io.timer_free(t->io.ctx, t->watch);
    free(t);
}

struct wal *txn_log(struct txn *t) { return t->log; }
int txn_nlinks(const struct txn *t) { return t->nlinks; }
int txn_prepare_timeout_ms(const struct txn *t) { return t->prepare_timeout_ms; }
void *txn_io_ctx(const struct txn *t) { return t->io.ctx; }

int txn_read_pick(struct txn *t, int skip)
{
    for (int k = 0; k < t->nlinks; k++) {
        int i = (t->rr + k) % t->nlinks;
        if (i != skip && txn_in_sync(t, i) &&
            !t->io.unready(t->io.ctx, i, (uint64_t)t->prepare_timeout_ms)) {
            t->rr = (i + 1) % t->nlinks;
            return i;
        }
    }
    return -1;
}

void txn_get_stats(const struct txn *t, struct txn_stats *st)
{
    *st = t->st;
    st->next_rid = t->next_rid;
    st->pending_ops = t->npending;
    st->inflight = (size_t)t->ninflight;
}

