/* txn_recovery.c -- a committed round's way to END, and picking up after a restart.
 *
 * After the commit point (txn.c) a round waits on t->unacked until every replica has
 * acknowledged its COMMIT *and* holds it durably: each replica reports its durable mark
 * (the highest round whose COMMIT is fsync'd there) in every vote, acknowledgement and
 * TPC.HELLO, and, when the cluster goes quiet with rounds acknowledged but not yet
 * durable, in answer to TPC.DURABLE (polled every DURABLE_POLL_MS). Then END is logged
 * (not forced) and the round is freed; a decision log grown past max_log_bytes is
 * rewritten to "NEXT <rid>" plus the COMMITs not yet ENDed.
 *
 *     COMMIT durable ──acks from all──▶ acknowledged ──durable marks pass rid──▶ END
 *                                         (TPC.DURABLE polled while idle)
 *
 * After a restart, txn_replay_decision() rebuilds t->unacked from the decision log (a
 * COMMIT without END is a round to finish), the next round id and decided_max (every
 * round up to it without a COMMIT was aborted). When a replica (re)connects,
 * txn_link_hello() sends it, in round order and ahead of anything else on the link, COMMIT
 * for every unacknowledged committed round it has not acknowledged and ABORT for every
 * round it holds in doubt up to decided_max that never committed (presumed abort). A
 * round above decided_max that no live round explains was run by the previous incarnation
 * under the rule of durable votes and may have been answered OK on them: recovery from
 * votes (vr_hello) decides it once every in-sync replica has said TPC.HELLO, and keeps the
 * replicas that hold it in doubt from serving until then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "log.h"
#include "txn_internal.h"
#include "util.h"

static int fill_compacted(void *ctx, struct wal *tmp)
{
    struct txn *t = ctx;
    char num[24];
    if (txn_members_write(t, tmp) < 0)
        return -1;
    const char *argv[2] = { "NEXT", num };
    size_t lens[2] = { 4, util_u64_to_str(t->next_rid, num) };
    if (wal_append(tmp, 2, argv, lens) < 0)
        return -1;
    argv[0] = "ENDED";
    lens[0] = 5;
    lens[1] = util_u64_to_str(t->ended_max, num);
    if (t->ended_max && wal_append(tmp, 2, argv, lens) < 0)
        return -1;
    argv[0] = "COMMIT";
    lens[0] = 6;
    for (struct round *rd = t->unacked; rd; rd = rd->next) {
        lens[1] = util_u64_to_str(rd->rid, num);
        if (wal_append(tmp, 2, argv, lens) < 0)
            return -1;
    }
    /* Every round up to decided_max is decided: the ones not above were aborted (or ended),
     * and the rule of durable votes holds from votes_from on. */
    argv[0] = "DECIDED";
    lens[0] = 7;
    lens[1] = util_u64_to_str(t->decided_max, num);
    if (t->decided_max && wal_append(tmp, 2, argv, lens) < 0)
        return -1;
    argv[0] = "VOTES";
    lens[0] = 5;
    lens[1] = util_u64_to_str(t->votes_from, num);
    return wal_append(tmp, 2, argv, lens);
}

/* Rewrites the decision log once it is big: everything ENDed is garbage. */
static void maybe_compact(struct txn *t)
{
    uint64_t size = wal_size(t->log);
    if (size <= t->max_log_bytes || size <= 2 * t->compacted_size)
        return;
    char err[256];
    uint64_t t0 = t->io.mono_ms(t->io.ctx);
    if (wal_failing(t->log, NULL, 0))
        return; /* the disk is failing: compact once it heals */
    if (wal_rewrite(t->log, fill_compacted, t, err, sizeof err) < 0) {
        /* The old file is intact and the log usable (unless the rewrite's directory fsync
         * failed: then the next wal_durable reports it and the process exits). */
        LOG_WARNING("decision log compaction failed: %s", err);
        return;
    }
    t->compacted_size = wal_size(t->log);
    LOG_VERBOSE("decision log compacted: %llu -> %llu bytes, %zu unacknowledged rounds kept, "
                "in %llu ms", (unsigned long long)size, (unsigned long long)t->compacted_size,
                t->st.unacked_rounds, (unsigned long long)(t->io.mono_ms(t->io.ctx) - t0));
}

static void round_end(struct round *rd)
{
    txn_set_state(rd, ROUND_ENDED);
    txn_unacked_remove(rd->t, rd);
    if (rd->rid > rd->t->ended_max)
        rd->t->ended_max = rd->rid;
    if (txn_log_record(rd->t, "END", rd->rid) < 0)
        LOG_WARNING("round %llu: can't log END (out of memory)", (unsigned long long)rd->rid);
    rd->t->st.unacked_rounds--;
    txn_assert_round(rd);
    maybe_compact(rd->t);
}

/* Whether every replica rd needs holds it durably. */
static int durable_everywhere(const struct round *rd)
{
    for (int i = 0; i < rd->t->nlinks; i++)
        if (rd->need[i] && rd->t->durable[i] < rd->rid)
            return 0;
    return 1;
}

void txn_end_durable_rounds(struct txn *t)
{
    struct round *rd = t->unacked;
    while (rd) {
        struct round *next = rd->next;
        if (rd->acks_missing == 0 && durable_everywhere(rd)) {
            round_end(rd);
            txn_round_maybe_free(rd);
        }
        rd = next;
    }
}

static void on_durable(void *arg, int i, const struct link_reply *r)
{
    long long durable;
    if (r && link_reply_int(r, &durable) == 0)
        txn_note_durable(arg, i, durable);
}

/* Rounds acknowledged everywhere but not yet durable everywhere wait for the replicas'
 * next fsync, which an idle cluster never reports: after DURABLE_POLL_MS, ask. Without
 * it the last rounds before a quiet period would keep their COMMIT records (and be
 * re-sent after a restart) until the next write. */
#define DURABLE_POLL_MS 100

static void arm_durable_poll(struct txn *t);

void txn_durable_poll_cb(void *arg)
{
    struct txn *t = arg;
    static const char *argv[1] = { "TPC.DURABLE" };
    static const size_t lens[1] = { 11 };
    uint64_t want = 0;
    for (struct round *rd = t->unacked; rd; rd = rd->next)
        if (rd->acks_missing == 0 && rd->rid > want)
            want = rd->rid;
    for (int i = 0; want && i < t->nlinks; i++)
        if (txn_in_sync(t, i) && t->durable[i] < want &&
            !t->io.unready(t->io.ctx, i, UINT64_MAX))
            txn_send(t, i, 1, argv, lens, on_durable, t);
    /* Ask again later while a round still waits: a replica that was not ready now, or whose
     * answer fell short (it restarted meanwhile), would otherwise keep the round unended
     * until the next write -- the simulator's quiet cluster never settled. */
    for (int i = 0; want && i < t->nlinks; i++)
        if (txn_in_sync(t, i) && t->durable[i] < want) {
            arm_durable_poll(t);
            break;
        }
}

static void arm_durable_poll(struct txn *t)
{
    if (t->closing || t->io.timer_armed(t->io.ctx, t->durable_poll))
        return;
    txn_timer_arm(t, t->durable_poll, DURABLE_POLL_MS);
}

void txn_note_durable(struct txn *t, int i, long long durable)
{
    if (durable > 0 && (uint64_t)durable > t->durable[i]) {
        t->durable[i] = (uint64_t)durable;
        txn_end_durable_rounds(t);
    }
}

void txn_on_commit_ack(void *arg, int i, const struct link_reply *r)
{
    struct round *rd = arg;
    long long durable;
    rd->refs--;
    if (r && !rd->need[i]) {
        /* It left the in-sync set meanwhile: its acknowledgement no longer counts. */
    } else if (r && link_reply_int(r, &durable) == 0) {
        if (!rd->acked[i]) {
            rd->acked[i] = 1;
            rd->acks_missing--;
            uint64_t until = rd->t->io.mono_ms(rd->t->io.ctx) + rd->work_ms;
            if (rd->work_ms && until > rd->t->work_until_ms)
                rd->t->work_until_ms = until; /* its after-work: start_round() */
        }
        rd->refs++; /* keep rd alive across txn_note_durable, which may end and free rounds */
        txn_note_durable(rd->t, i, durable);
        if (rd->acks_missing == 0 && rd->state == ROUND_COMMITTED)
            txn_end_durable_rounds(rd->t);
        if (rd->acks_missing == 0 && rd->state == ROUND_COMMITTED)
            arm_durable_poll(rd->t); /* acknowledged, still waiting to be durable */
        rd->refs--;
    } else if (r) {
        size_t len = 0;
        const char *msg = link_reply_str(r, &len);
        LOG_WARNING("replica %s refused COMMIT of round %llu: %.*s",
                    rd->t->io.addr(rd->t->io.ctx, i), (unsigned long long)rd->rid, (int)len,
                    msg ? msg : "?");
        rd->t->io.drop(rd->t->io.ctx, i, "it refused a COMMIT");
    }
    txn_round_maybe_free(rd);
}

/* ---- links coming up ---- */

/* After start-up, once every replica has said hello: what recovery found and decided. */
static void report_recovery(struct txn *t, int i)
{
    t->hello_seen[i] = 1;
    if (t->recovery_logged)
        return;
    for (int k = 0; k < t->nlinks; k++)
        if (txn_in_sync(t, k) && !t->hello_seen[k])
            return;
    t->recovery_logged = 1;
    LOG_NOTICE("recovered %llu rounds: %llu committed (re-sent to replicas), %llu aborted "
               "(in doubt, never committed), in %llu ms",
               (unsigned long long)(t->recovered_committed + t->recovered_aborted),
               (unsigned long long)t->recovered_committed,
               (unsigned long long)t->recovered_aborted,
               (unsigned long long)(t->io.mono_ms(t->io.ctx) - t->recovery_t0));
}

/* True if round rid is still in flight here: undecided, or its COMMIT on its way to the
 * log. Its decision reaches every link when it is made (this one included: it was sent
 * this replica's PREPARE, and its vote came back, or the round would have aborted when the
 * old connection dropped), so it must not be presumed aborted: the simulator found a
 * reconnecting replica told ABORT for a round that then committed. */
static int in_flight(const struct txn *t, uint64_t rid)
{
    for (const struct round *rd = t->qhead; rd; rd = rd->qnext)
        if (rd->rid == rid)
            return 1;
    for (const struct round *rd = t->aborting; rd; rd = rd->qnext)
        if (rd->rid == rid)
            return 1; /* its ABORT goes to every link it was sent to once durable */
    return 0;
}

/* Whether a replica's data is complete: every committed round applied, or prepared and in
 * doubt there while it is not yet ended. A replica that lost its disk, or came back from an
 * older copy of its folder, fails this; it must never serve a read or vote again before it
 * is repaired. Returns NULL, or why not (in why). */
static const char *missing_data(const struct txn *t, int i, const struct link_hello *h,
                                char *why, size_t len)
{
    if (h->applied < t->ended_max) {
        snprintf(why, len, "it has applied round %llu but every replica held round %llu "
                 "durably: its data was lost or restored from an older copy",
                 (unsigned long long)h->applied, (unsigned long long)t->ended_max);
        return why;
    }
    for (const struct round *rd = t->unacked; rd; rd = rd->next) {
        if (rd->rid <= h->applied || !rd->need[i])
            continue;
        size_t k = 0;
        while (k < h->n_in_doubt && h->in_doubt[k] != rd->rid)
            k++;
        if (k == h->n_in_doubt) {
            snprintf(why, len, "it has neither applied nor prepared committed round %llu "
                     "(applied %llu): its data was lost or restored from an older copy",
                     (unsigned long long)rd->rid, (unsigned long long)h->applied);
            return why;
        }
    }
    return NULL;
}

/* ---- recovery from votes ---- */

static int holds(const uint64_t *in_doubt, size_t n, uint64_t rid)
{
    for (size_t k = 0; k < n; k++)
        if (in_doubt[k] == rid)
            return 1;
    return 0;
}

/* Keeps link i's TPC.HELLO (applied round, rounds in doubt) for the checks below, which
 * compare replicas heard at different times. Returns 0, or -1 when out of memory. */
static int remember_hello(struct txn *t, int i, const struct link_hello *h)
{
    struct member *m = &t->member[i];
    uint64_t *copy = h->n_in_doubt ? malloc(h->n_in_doubt * sizeof *copy) : NULL;
    if (h->n_in_doubt && !copy)
        return -1;
    if (copy)
        memcpy(copy, h->in_doubt, h->n_in_doubt * sizeof *copy);
    free(m->in_doubt);
    m->in_doubt = copy;
    m->n_in_doubt = h->n_in_doubt;
    m->applied = h->applied;
    m->heard = 1;
    return 0;
}

/* Whether rid is a round this log has no decision for, run under the rule of durable votes:
 * a replica holding it in doubt cannot be told presumed abort, since the clients may have
 * been answered OK on its votes before a crash took the lazy COMMIT record. */
static int undecided(const struct txn *t, uint64_t rid)
{
    return rid > t->decided_max && rid >= t->votes_from &&
           !FAILPOINT_ON("coord.bug.presumed_abort");
}

static struct vote_recovery *vr_find(struct txn *t, uint64_t rid, int add)
{
    size_t k = 0;
    while (k < t->nvr && t->vr[k].rid < rid)
        k++;
    if (k < t->nvr && t->vr[k].rid == rid)
        return &t->vr[k];
    if (!add)
        return NULL;
    struct vote_recovery *n = realloc(t->vr, (t->nvr + 1) * sizeof *n);
    if (!n)
        return NULL;
    t->vr = n;
    memmove(n + k + 1, n + k, (t->nvr - k) * sizeof *n);
    memset(&n[k], 0, sizeof n[k]);
    n[k].rid = rid;
    t->nvr++;
    return &n[k];
}

/* Appends "<what> <rid>" and makes it durable now (recovery only: rare). */
static int log_now(struct txn *t, const char *what, uint64_t rid)
{
    char err[256];
    if (txn_log_record(t, what, rid) < 0)
        return -1;
    if (wal_sync(t->log, err, sizeof err) < 0) {
        LOG_WARNING("decision log: can't make the recovered decisions durable (%s); "
                    "retrying when a replica reconnects", err);
        return -1;
    }
    if (rid > t->decided_max)
        t->decided_max = rid;
    return 0;
}

/* Decides the rounds of t->vr, oldest first, as far as the votes heard allow: one that an
 * in-sync replica neither holds in doubt nor applied was never answered OK (that needed
 * its durable YES), so it aborts, and every later one with it (they were evaluated on top
 * of it); one that every in-sync replica holds in doubt or applied commits (no client was
 * told it failed: an error waits for a durable ABORT). Nothing is decided before every
 * in-sync replica has said TPC.HELLO; a member waiting for repair has no trustworthy vote
 * and does not hold the decisions up. */
static void vr_decide(struct txn *t)
{
    while (t->nvr) {
        struct vote_recovery *v = &t->vr[0];
        int no = -1, unheard = -1;
        for (int k = 0; k < t->nlinks; k++) {
            if (!txn_in_sync(t, k) || t->member[k].why[0])
                continue;
            if (v->vote[k] == 'N' && no < 0)
                no = k;
            else if (!v->vote[k] && unheard < 0)
                unheard = k;
        }
        /* Every in-sync replica is heard first, even to abort: only then is every round
         * it holds in doubt known, and an abort must take each later one along (they were
         * evaluated on top of it; found by the simulator, which saw a later round that a
         * replica reported afterwards commit on top of an aborted one). */
        if (unheard >= 0)
            return;
        if (no >= 0) {
            /* One record, for the newest: it aborts every round up to it (decided_max). */
            if (log_now(t, "ABORT", t->vr[t->nvr - 1].rid) < 0)
                return;
            LOG_NOTICE("round %llu: replica %s never voted on it, so it was never "
                       "acknowledged: aborted (with %zu later rounds in doubt)",
                       (unsigned long long)v->rid, t->io.addr(t->io.ctx, no), t->nvr - 1);
            t->recovered_aborted += t->nvr;
            t->max_aborted = t->vr[t->nvr - 1].rid;
            t->nvr = 0;
            txn_kick(t); /* writes may start again */
            return;
        }
        struct round *rd = txn_round_new(t, v->rid, ROUND_COMMITTED);
        if (!rd || log_now(t, "COMMIT", v->rid) < 0) {
            if (rd)
                txn_round_free(rd);
            return;
        }
        LOG_NOTICE("round %llu: every in-sync replica holds a durable YES vote for it: "
                   "committed (the votes decide it; its COMMIT record was not logged "
                   "before the restart)", (unsigned long long)v->rid);
        rd->acks_missing = rd->nneed;
        rd->replayed = 1;
        rd->next = t->unacked;
        t->unacked = rd;
        t->st.unacked_rounds++;
        t->recovered_committed++;
        /* Replicas that applied it are READY already: their acknowledgements end it (found
         * by the simulator: the round stayed unended). The ones that hold it in doubt are
         * reconnecting, and get it from their next TPC.HELLO (again, if this one is lost). */
        for (int k = 0; k < t->nlinks; k++)
            if (rd->need[k] && !t->io.unready(t->io.ctx, k, UINT64_MAX))
                txn_send_decision(rd, k, "TPC.COMMIT", txn_on_commit_ack);
        memmove(t->vr, t->vr + 1, (t->nvr - 1) * sizeof *t->vr);
        if (--t->nvr == 0)
            txn_kick(t);
    }
}

/* Link i's TPC.HELLO, for recovery from votes: notes which undecided rounds it holds (in
 * doubt, or applied), decides what can be, and returns 1 if it still holds one undecided:
 * it must not be READY (it would serve reads from before a round that may have been
 * acknowledged) until that is decided. -1: out of memory. */
static int vr_hello(struct txn *t, int i, const struct link_hello *h)
{
    for (size_t k = 0; k < h->n_in_doubt; k++) {
        uint64_t rid = h->in_doubt[k];
        if (!undecided(t, rid) || in_flight(t, rid))
            continue;
        const struct round *rd = t->unacked;
        while (rd && rd->rid != rid)
            rd = rd->next;
        if (!rd && !vr_find(t, rid, 1))
            return -1;
    }
    /* Every replica heard so far votes on every such round, also the ones a later TPC.HELLO
     * brought: what a replica holds on a round nobody decides does not change (only a
     * stale connection of the crashed coordinator could bring its PREPARE, and the session
     * fence refuses it). */
    for (int j = 0; j < t->nlinks; j++) {
        const struct member *mj = &t->member[j];
        for (size_t k = 0; mj->heard && k < t->nvr; k++) {
            struct vote_recovery *v = &t->vr[k];
            v->vote[j] = holds(mj->in_doubt, mj->n_in_doubt, v->rid) ||
                         mj->applied >= v->rid ? 'Y' : 'N';
        }
    }
    vr_decide(t);
    for (size_t k = 0; k < h->n_in_doubt; k++)
        if (vr_find(t, h->in_doubt[k], 0)) {
            LOG_NOTICE("replica %s holds round %llu in doubt: waiting for every in-sync "
                       "replica's vote on it before it may serve", t->io.addr(t->io.ctx, i),
                       (unsigned long long)h->in_doubt[k]);
            return 1;
        }
    return 0;
}

/* Before this engine starts its first round: a replica that applied round R proves R
 * committed, and under the rule of durable votes its COMMIT record may be lost with the
 * crash, so missing_data cannot see a replica that lacks it. Every in-sync replica must
 * hold R applied or in doubt (its durable YES); one that does neither lost data or came
 * back from an older copy (found by the simulator's --rollback: such a replica was taken
 * back and diverged). Checks link i's hello against the highest applied round heard so
 * far, and the replicas heard earlier against a higher one it brings (dropping their
 * links: their next TPC.HELLO sends them to repair). Returns NULL, or why (in why). */
static const char *behind_recovered(struct txn *t, int i, const struct link_hello *h,
                                    char *why, size_t len)
{
    if (t->issued)
        return NULL;
    if (h->applied < t->applied_star && !holds(h->in_doubt, h->n_in_doubt, t->applied_star)) {
        snprintf(why, len, "it has applied round %llu but another replica applied round "
                 "%llu, which it neither applied nor holds in doubt: its data was lost or "
                 "restored from an older copy", (unsigned long long)h->applied,
                 (unsigned long long)t->applied_star);
        return why;
    }
    if (h->applied <= t->applied_star)
        return NULL;
    t->applied_star = h->applied;
    for (int k = 0; k < t->nlinks; k++) {
        const struct member *mk = &t->member[k];
        if (k == i || !mk->heard || mk->why[0] || !txn_in_sync(t, k) ||
            mk->applied >= t->applied_star || holds(mk->in_doubt, mk->n_in_doubt,
                                                    t->applied_star))
            continue;
        char w[256];
        snprintf(w, sizeof w, "it has applied round %llu but replica %s applied round %llu, "
                 "which it neither applied nor holds in doubt: its data was lost or "
                 "restored from an older copy", (unsigned long long)mk->applied,
                 t->io.addr(t->io.ctx, i), (unsigned long long)t->applied_star);
        txn_member_needs_repair(t, k, w);
        t->io.drop(t->io.ctx, k, "its data stops short of a committed round");
    }
    return NULL;
}

int txn_link_hello(struct txn *t, int i, const struct link_hello *h)
{
    const char *addr = t->io.addr(t->io.ctx, i);
    char why[256];
    txn_repair_relinked(t, i);
    t->member[i].proto = h->proto;
    int rc = txn_members_hello(t, i, h);
    if (rc == 1 || rc == -1)
        return rc;
    if (h->applied >= t->next_rid + TXN_VOTES_GAP) {
        /* It applied a round far beyond any this log issued. Under the rule of durable
         * votes a replica may have applied rounds whose COMMIT records a crash took (the
         * log thread's last batches: a few thousand rounds at most, far below the gap),
         * but not this many: the log was lost, replaced or restored from an older copy.
         * Deciding anything now could presume aborted a round the log acknowledged. */
        snprintf(why, sizeof why, "replica %s has applied round %llu, but this decision log "
                 "only knows rounds below %llu: the log was lost or restored from an older "
                 "copy. Refusing to decide rounds: restore the latest decision.log, or, to "
                 "start the cluster over, remove every replica's data too", addr,
                 (unsigned long long)h->applied, (unsigned long long)t->next_rid);
        t->io.fatal(t->io.ctx, why);
        return -1;
    }
    if (remember_hello(t, i, h) < 0) {
        LOG_WARNING("replica %s: out of memory resolving its rounds", addr);
        return -1;
    }
    if (!FAILPOINT_ON("coord.bug.trust_lost_data") && rc != 2 &&
        (missing_data(t, i, h, why, sizeof why) || behind_recovered(t, i, h, why, sizeof why))) {
        txn_member_needs_repair(t, i, why);
        return 1;
    }
    txn_repair_want(t, i, 0);
    txn_member_hello_done(t, i, h);
    if (h->max_rid >= t->next_rid)
        t->next_rid = h->max_rid + 1;
    /* Rounds everyone acknowledged may end now that this mark is known (else an idle
     * cluster kept them unended: found by the simulator). */
    txn_note_durable(t, i, (long long)h->durable);
    if (FAILPOINT_ON("coord.bug.skip_in_doubt")) { /* a deliberate bug, for the simulator */
        report_recovery(t, i);
        return 0;
    }
    int waits = vr_hello(t, i, h);
    if (waits)
        return -1; /* reconnects, and says TPC.HELLO again (its vote was heard) */
    /* Decisions this replica missed go out first, ahead of anything else on the link, and
     * in round order: a replica decides its prepared rounds oldest first. Committed rounds
     * it has not acknowledged get COMMIT (answered at once if already applied); rounds in
     * doubt that never committed get ABORT (presumed abort: each is at most decided_max,
     * or older than the rule of durable votes, vr_hello). */
    size_t n = 0;
    for (struct round *rd = t->unacked; rd; rd = rd->next)
        n++;
    struct decision { uint64_t rid; struct round *rd; } *d =
        calloc(n + h->n_in_doubt + 1, sizeof *d);
    if (!d) {
        LOG_WARNING("replica %s: out of memory resolving its rounds", addr);
        return -1;
    }
    n = 0;
    for (struct round *rd = t->unacked; rd; rd = rd->next) {
        if (!rd->need[i] || (rd->acked[i] && rd->rid <= h->durable))
            continue;
        /* An acknowledgement is not durability: a replica that acknowledged and then lost
         * power may hold the round in doubt again (a COMMIT record and SQLite's apply were
         * not synced). Until its durable mark passes the round, it is sent again (found by
         * the simulator: without this the replica stayed in doubt, refusing every write). */
        if (rd->acked[i]) {
            rd->acked[i] = 0;
            rd->acks_missing++;
        }
        d[n++] = (struct decision){ rd->rid, rd };
    }
    for (size_t k = 0; k < h->n_in_doubt; k++) {
        struct round *rd = t->unacked;
        while (rd && rd->rid != h->in_doubt[k])
            rd = rd->next;
        if (!rd && !in_flight(t, h->in_doubt[k]))
            d[n++] = (struct decision){ h->in_doubt[k], NULL };
    }
    for (size_t a = 1; a < n; a++) /* insertion sort: a handful of rounds */
        for (size_t b = a; b > 0 && d[b - 1].rid > d[b].rid; b--) {
            struct decision tmp = d[b];
            d[b] = d[b - 1];
            d[b - 1] = tmp;
        }
    for (size_t k = 0; k < n; k++) {
        if (d[k].rd) {
            txn_send_decision(d[k].rd, i, "TPC.COMMIT", txn_on_commit_ack);
            continue;
        }
        if (d[k].rid > t->max_aborted) { /* count each round once, not once per replica */
            t->max_aborted = d[k].rid;
            t->recovered_aborted++;
        }
        char num[24];
        const char *argv[2] = { "TPC.ABORT", num };
        size_t lens[2] = { 9, util_u64_to_str(d[k].rid, num) };
        LOG_NOTICE("replica %s: round %llu in doubt, not committed: aborting it", addr,
                   (unsigned long long)d[k].rid);
        txn_send(t, i, 2, argv, lens, txn_on_abort_ack, NULL);
    }
    free(d);
    report_recovery(t, i);
    return 0;
}

/* ---- start-up ---- */

int txn_replay_decision(void *ctx, int argc, char **argv, size_t *lens, uint64_t offset)
{
    struct txn *t = ctx;
    uint64_t rid;
    if (argc >= 1 && (strcmp(argv[0], "CLUSTER") == 0 || strcmp(argv[0], "MEMBERS") == 0 ||
                      strcmp(argv[0], "CONFIGURED") == 0))
        return txn_members_replay(t, argc, argv, lens);
    if (argc != 2 || util_parse_u64(argv[1], lens[1], &rid) < 0) {
        LOG_WARNING("decision log: unknown record at offset %llu", (unsigned long long)offset);
        return -1;
    }
    if (rid >= t->next_rid)
        t->next_rid = rid + 1;
    if (strcmp(argv[0], "NEXT") == 0) {
        t->next_rid = rid; /* >= every rid before it, by construction */
    } else if (strcmp(argv[0], "ABORT") == 0 || strcmp(argv[0], "DECIDED") == 0) {
        if (rid > t->decided_max)
            t->decided_max = rid;
    } else if (strcmp(argv[0], "VOTES") == 0) {
        t->votes_from = rid;
        t->votes_seen = 1;
    } else if (strcmp(argv[0], "ENDED") == 0) {
        if (rid > t->ended_max)
            t->ended_max = rid;
    } else if (strcmp(argv[0], "COMMIT") == 0) {
        if (rid > t->decided_max)
            t->decided_max = rid;
        struct round *rd = txn_round_new(t, rid, ROUND_COMMITTED);
        if (!rd)
            return -1;
        rd->acks_missing = rd->nneed; /* txn_members_init sets both again after replay */
        rd->replayed = 1;
        rd->next = t->unacked;
        t->unacked = rd;
        t->st.unacked_rounds++;
    } else if (strcmp(argv[0], "END") == 0) {
        if (rid > t->ended_max)
            t->ended_max = rid;
        for (struct round *rd = t->unacked; rd; rd = rd->next)
            if (rd->rid == rid) {
                txn_unacked_remove(t, rd);
                txn_round_free(rd);
                t->st.unacked_rounds--;
                break;
            }
    } else {
        LOG_WARNING("decision log: unknown record '%s' at offset %llu", argv[0],
                    (unsigned long long)offset);
        return -1;
    }
    return 0;
}
