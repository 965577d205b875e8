/* participant.c -- prepare/commit/abort of rounds, the vote log, and replay at start-up.
 *
 * Vote log records (see docs/log-format.md):
 *     PREPARE <rid> <now_ms> <nops> {<argc> <arg>...}*nops   written before the vote leaves
 *     COMMIT <rid>                                  written before the +OK leaves
 *     ABORT <rid>                                   (not forced: presumed abort)
 *     SEEN <rid>                                    highest rid seen, kept by compaction
 *
 * Round states (struct round; enum round_state). Every change of state goes through
 * round_set_state(), which asserts that the change is in the table below and logs it at
 * debug level. A round is on the prepared list (p->rounds, rid order) in exactly the five
 * middle states:
 *
 *           replay: PREPARE record                       replay: COMMIT record
 *    NEW ──────────────────────────────▶ REPLAYED ────────────────────────────┐
 *     │                                     (in doubt)      TPC.COMMIT (head)  │
 *     │ TPC.PREPARE                                                          ▼
 *     └────────────▶ LIVE ──TPC.HELLO──▶ IN_DOUBT ──TPC.COMMIT (head)──▶ COMMITTED
 *                     │  └─────────TPC.COMMIT (head)────────────────────────▲
 *    TPC.ABORT of a   │                     │ TPC.ABORT of a round ahead
 *    round ahead      ▼                     ▼
 *                   DOOMED ──TPC.HELLO──▶ IN_DOUBT_DOOMED
 *
 *    every listed state ──TPC.ABORT (or an ABORT record at replay)──▶ ABORTED
 *
 * Transition table:
 *
 *   from              event                                   to               done by
 *   NEW               PREPARE record read back at start-up    REPLAYED         replay_record()
 *   NEW               TPC.PREPARE evaluated and logged        LIVE             participant_prepare()
 *   REPLAYED          COMMIT record read back                 COMMITTED        replay_record()
 *   REPLAYED          ABORT record read back                  ABORTED          replay_record()
 *   LIVE              TPC.HELLO (a new coordinator decides)   IN_DOUBT         participant_hello()
 *   DOOMED            TPC.HELLO                               IN_DOUBT_DOOMED  participant_hello()
 *   LIVE              TPC.ABORT of a round ahead of it        DOOMED           participant_abort()
 *   IN_DOUBT          TPC.ABORT of a round ahead of it        IN_DOUBT_DOOMED  participant_abort()
 *   REPLAYED, LIVE,   TPC.COMMIT, it is the head of the list  COMMITTED        participant_commit()
 *    IN_DOUBT
 *   any listed state  TPC.ABORT                               ABORTED          participant_abort()
 *   any listed state  TPC.RESTORE BEGIN or END (restore.c):   ABORTED          participant_drop_rounds()
 *                     dropped, nothing logged
 *
 * A NEW round that is refused (malformed, stale rid, the last round in doubt or doomed, a
 * PREPARE record read twice) is freed without entering the list; COMMITTED and ABORTED
 * rounds leave the list and are freed by the function that set the state (a COMMITTED one
 * after round_apply()). A COMMIT of a DOOMED round or of any but the head is refused (a
 * coordinator bug) and changes nothing.
 *
 * Invariants (participant_assert_state() checks every one, after every prepare, commit,
 * abort and hello, and after start-up):
 *   P1. p->rounds holds exactly the rounds in REPLAYED, LIVE, DOOMED, IN_DOUBT and
 *       IN_DOUBT_DOOMED, with strictly increasing rids, each in (applied, max_rid].
 *   P2. REPLAYED: not evaluated (no effects, fx.under NULL); it is evaluated when it
 *       commits, as the head, on the committed data. Only start-up makes REPLAYED rounds,
 *       and a PREPARE is refused while one is listed, so either every listed round is
 *       REPLAYED or none is.
 *   P3. LIVE and IN_DOUBT: fx holds the effects evaluated at PREPARE on top of the round
 *       directly ahead: fx.under == &prev->fx, or NULL at the head (a COMMIT of the head
 *       clears its successor's under, which now sees committed data). prev, if any, is in
 *       the same state.
 *   P4. DOOMED and IN_DOUBT_DOOMED: evaluated, on a round that has since aborted, so they
 *       can only abort; fx.under is NULL (what it pointed at is freed). prev, if any, is
 *       LIVE or DOOMED (resp. IN_DOUBT or IN_DOUBT_DOOMED).
 *   P5. Along the list states never go down in the order REPLAYED < IN_DOUBT <
 *       IN_DOUBT_DOOMED < LIVE < DOOMED, and no LIVE or DOOMED round shares the list with a
 *       round in doubt (REPLAYED, IN_DOUBT, IN_DOUBT_DOOMED): nothing is evaluated live after
 *       a round in doubt, because a PREPARE is refused while the last round is in doubt or
 *       doomed, and TPC.HELLO puts every listed round in doubt. The doomed rounds are a
 *       suffix: an abort dooms every evaluated round after it.
 *   P6. durable <= committed == applied == store_applied(store) <= max_rid: a COMMIT is
 *       appended and applied in the same call, and the durable mark only ever takes a
 *       value committed had. A full resync (restore.c) moves all three at once, and not
 *       only upwards: TPC.RESTORE BEGIN sets them to 0 (the store emptied), TPC.RESTORE END
 *       to the round the copied data is complete at (raising max_rid to it if need be).
 *   P7. The sync marks have non-decreasing tickets (a submission with nothing new to sync
 *       gets the previous ticket again) and committed marks, none above committed
 *       (TPC.RESTORE BEGIN lowers the marks above 0 with committed).
 *   P8. cluster and replica (the identity) are what store_identity() reads from the store:
 *       both 0 (none) or both nonzero. Besides the load at open they change only through
 *       identity_reload() (identity.c), which reads them back from the store after a
 *       committed change (TPC.IDENTIFY; TPC.RESTORE BEGIN and END in restore.c). A store
 *       read per check would cost every round a query, so participant_assert_state()
 *       checks only the pairing.
 * With -DTWOPC_ASSERTS (the build's default) these checks run even where NDEBUG removes
 * assert() (RelWithDebInfo), so the test suites exercise them.
 *
 * Checklist for TPC.PREPARE, in this order:
 *   1. parse and validate the request (a malformed one is refused: -NO, nothing logged);
 *   2. refuse a stale rid or one that would overlap a round in doubt or doomed;
 *   3. evaluate every op (exec.c), collecting effects and per-op results, and, when the
 *      request carries the TOUCHED flag, which arguments of each op name a key it changed
 *      (and, with WATCHED, which listed keys each flushing op deleted);
 *   4. append PREPARE to the vote log, without the flags (handed to the log thread by
 *      participant_submit at the end of the batch; the vote leaves once it is durable, see
 *      participant.h);
 *   5. write the vote.
 * COMMIT appends its record, then applies effects and applied_round in one SQLite
 * transaction. Replay after a crash does the same for every COMMIT past applied_round, so
 * applying is idempotent. Making the records durable (group commit, the durable mark) and
 * compacting the log is participant_log.c's part; the structs both files see are in
 * participant_internal.h.
 */
#include "participant.h"
#include "participant_internal.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon.h"
#include "exec.h"
#include "failpoint.h"
#include "log.h"
#include "op.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "version.h"
#include "wal.h"

static const char *const round_state_names[ROUND_STATE_MAX] = {
    "new", "replayed", "live", "doomed", "in-doubt", "in-doubt-doomed", "committed", "aborted",
};

#if defined(TWOPC_ASSERTS) || !defined(NDEBUG)
/* Invariant checks, kept with TWOPC_ASSERTS whatever NDEBUG says (RelWithDebInfo). */
static void check_failed(const char *cond, int line)
{
    LOG_WARNING("participant.c:%d: invariant violated: %s", line, cond);
    abort();
}
#define PARTICIPANT_CHECK(cond) ((cond) ? (void)0 : check_failed(#cond, __LINE__))
#else
#define PARTICIPANT_CHECK(cond) ((void)sizeof(cond)) /* compiled out, not evaluated */
#endif

static int state_in_doubt(enum round_state s)
{
    return s == ROUND_REPLAYED || s == ROUND_IN_DOUBT || s == ROUND_IN_DOUBT_DOOMED;
}

static int state_doomed(enum round_state s)
{
    return s == ROUND_DOOMED || s == ROUND_IN_DOUBT_DOOMED;
}

/* Listed (on p->rounds): every state but NEW, COMMITTED and ABORTED. */
static int state_listed(enum round_state s)
{
    return s != ROUND_NEW && s != ROUND_COMMITTED && s != ROUND_ABORTED && s < ROUND_STATE_MAX;
}

/* The one place a round changes state: asserts the transition table of the opening
 * comment and logs the change. */
static void round_set_state(struct round *r, enum round_state to)
{
    static const unsigned char allowed[ROUND_STATE_MAX][ROUND_STATE_MAX] = {
        [ROUND_NEW] = { [ROUND_REPLAYED] = 1, [ROUND_LIVE] = 1 },
        [ROUND_REPLAYED] = { [ROUND_COMMITTED] = 1, [ROUND_ABORTED] = 1 },
        [ROUND_LIVE] = { [ROUND_IN_DOUBT] = 1, [ROUND_DOOMED] = 1, [ROUND_COMMITTED] = 1,
                         [ROUND_ABORTED] = 1 },
        [ROUND_DOOMED] = { [ROUND_IN_DOUBT_DOOMED] = 1, [ROUND_ABORTED] = 1 },
        [ROUND_IN_DOUBT] = { [ROUND_IN_DOUBT_DOOMED] = 1, [ROUND_COMMITTED] = 1,
                             [ROUND_ABORTED] = 1 },
        [ROUND_IN_DOUBT_DOOMED] = { [ROUND_ABORTED] = 1 },
    };
    PARTICIPANT_CHECK(r->state < ROUND_STATE_MAX && to < ROUND_STATE_MAX &&
                      allowed[r->state][to]);
    (void)allowed;
    LOG_DEBUG("round %llu: %s -> %s", (unsigned long long)r->rid,
              round_state_names[r->state], round_state_names[to]);
    r->state = to;
}

/* Where a state may stand on the list relative to the others (P5). */
static int state_rank(enum round_state s)
{
    switch (s) {
    case ROUND_REPLAYED: return 0;
    case ROUND_IN_DOUBT: return 1;
    case ROUND_IN_DOUBT_DOOMED: return 2;
    case ROUND_LIVE: return 3;
    default: return 4; /* ROUND_DOOMED */
    }
}

/* One listed round against its predecessor prev (NULL at the head): P1 to P5. */
static void assert_round(const struct participant *p, const struct round *prev,
                         const struct round *r)
{
    PARTICIPANT_CHECK(state_listed(r->state));
    PARTICIPANT_CHECK(r->rid > p->applied && r->rid <= p->max_rid);
    PARTICIPANT_CHECK(r->nops > 0 && r->ops);
    PARTICIPANT_CHECK(!prev || prev->rid < r->rid);
    PARTICIPANT_CHECK(!prev || state_rank(prev->state) <= state_rank(r->state));
    PARTICIPANT_CHECK(!prev || state_in_doubt(prev->state) == state_in_doubt(r->state));
    PARTICIPANT_CHECK(!prev || (prev->state == ROUND_REPLAYED) == (r->state == ROUND_REPLAYED));
    switch (r->state) {
    case ROUND_REPLAYED:
        PARTICIPANT_CHECK(r->fx.n == 0 && !r->fx.under);
        PARTICIPANT_CHECK(!prev || prev->state == ROUND_REPLAYED);
        break;
    case ROUND_LIVE:
    case ROUND_IN_DOUBT:
        PARTICIPANT_CHECK(r->fx.under == (prev ? &prev->fx : NULL));
        PARTICIPANT_CHECK(!prev || prev->state == r->state);
        break;
    default: /* DOOMED, IN_DOUBT_DOOMED (prev's state: see the rank checks above) */
        PARTICIPANT_CHECK(state_doomed(r->state) && !r->fx.under);
        break;
    }
}

void participant_assert_state(const struct participant *p)
{
    const struct round *prev = NULL;
    for (const struct round *r = p->rounds; r; prev = r, r = r->next)
        assert_round(p, prev, r);
    /* P6 */
    PARTICIPANT_CHECK(p->durable <= p->committed && p->committed == p->applied &&
                      p->applied <= p->max_rid);
    PARTICIPANT_CHECK(p->applied == store_applied(p->store));
    /* P8 (the store's half is checked where the identity changes: identity.c, restore.c) */
    PARTICIPANT_CHECK((p->cluster == 0) == (p->replica == 0));
    /* P7 */
    for (size_t i = 0; i < p->nmarks; i++) {
        PARTICIPANT_CHECK(p->marks[i].committed <= p->committed);
        PARTICIPANT_CHECK(i == 0 || (p->marks[i - 1].ticket <= p->marks[i].ticket &&
                                     p->marks[i - 1].committed <= p->marks[i].committed));
    }
}

static void round_free(struct round *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nops; i++)
        op_free(r->ops[i]);
    free(r->ops);
    effects_clear(&r->fx);
    free(r);
}

/* Parses "<rid> <now_ms> <nops> {<argc> <arg>...}*nops" from argv[1..argc). Returns the
 * round, or NULL with a reason in err. */
static struct round *round_parse(int argc, char *const *argv, const size_t *lens, char *err,
                                 size_t errlen)
{
    uint64_t rid, nops, now;
    if (argc < 4 || util_parse_u64(argv[1], lens[1], &rid) < 0 || rid == 0 ||
        util_parse_u64(argv[2], lens[2], &now) < 0 || now > INT64_MAX ||
        util_parse_u64(argv[3], lens[3], &nops) < 0 || nops == 0 || nops > INT_MAX) {
        snprintf(err, errlen, "bad round header");
        return NULL;
    }
    if (rid >= TWOPC_RID_LIMIT) {
        snprintf(err, errlen, "round id %llu is past any a coordinator issues",
                 (unsigned long long)rid);
        return NULL;
    }
    if (nops > (uint64_t)(argc - 4) / 2) { /* each op is at least <argc> <name> */
        snprintf(err, errlen, "round header announces %llu ops in %d arguments",
                 (unsigned long long)nops, argc - 4);
        return NULL;
    }
    struct round *r = calloc(1, sizeof *r);
    if (!r || !(r->ops = calloc(nops, sizeof *r->ops))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->rid = rid;
    r->fx.now_ms = (int64_t)now;
    int at = 4;
    for (uint64_t i = 0; i < nops; i++, r->nops++) {
        struct op frame;
        if (op_frame_next(argc, argv, lens, &at, &frame) != 1) {
            snprintf(err, errlen, "bad op %llu", (unsigned long long)i);
            goto fail;
        }
        r->ops[i] = op_new(frame.argc, frame.argv, frame.lens);
        if (!r->ops[i] || !exec_known(r->ops[i])) {
            snprintf(err, errlen, "unknown op '%.32s'", frame.argv[0]);
            r->nops += r->ops[i] != NULL;
            goto fail;
        }
    }
    if (at == argc)
        return r;
    snprintf(err, errlen, "trailing arguments");
fail:
    round_free(r);
    return NULL;
}

static struct round *round_find(struct participant *p, uint64_t rid, struct round ***prevp)
{
    struct round **pp = &p->rounds;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->rid == rid)
            break;
    if (prevp)
        *prevp = pp;
    return *pp;
}

/* Puts a NEW round at the end of the list, in state to (REPLAYED or LIVE). */
static void round_append(struct participant *p, struct round *r, enum round_state to)
{
    struct round **pp = &p->rounds;
    while (*pp)
        pp = &(*pp)->next;
    round_set_state(r, to);
    *pp = r;
    if (r->rid > p->max_rid)
        p->max_rid = r->rid;
}

static struct round *round_last(struct participant *p)
{
    struct round *last = p->rounds;
    while (last && last->next)
        last = last->next;
    return last;
}

/* Takes r (found with its link *pp) off the list into COMMITTED or ABORTED; the caller
 * frees it. */
static void round_unlink(struct round **pp, struct round *r, enum round_state to)
{
    round_set_state(r, to);
    *pp = r->next;
    r->next = NULL;
}

static void die_store(struct participant *p, const char *what)
{
    LOG_WARNING("store %s failed: %s; exiting so recovery replays the vote log", what,
                store_error(p->store));
    exit(1);
}

/* SIGTERM or SIGINT in the middle of applying round r (exec_apply said EFFECTS_STOPPED):
 * the transaction is rolled back and the process exits at once, as a crash at this point
 * would, which loses nothing: the round's COMMIT was not acknowledged, and its PREPARE
 * record (durable) brings it back at the next start, where the coordinator decides it
 * again. Waiting for the end of a round of a million commands took minutes (#16). */
static void stop_mid_apply(struct participant *p, const struct round *r)
{
    store_rollback(p->store);
    LOG_NOTICE("received %s while applying round %llu (%zu changes): rolled back, exiting; "
               "the round is applied at the next start", daemon_stop_signal() == SIGINT ?
               "SIGINT" : "SIGTERM", (unsigned long long)r->rid, r->fx.n);
    fflush(NULL);
    _exit(0);
}

/* Applies a COMMITTED round's effects and applied_round (evaluating it first if it was
 * REPLAYED: its fx is still empty). in_txn: a transaction is open. */
static void round_apply(struct participant *p, struct round *r, int in_txn, int evaluated)
{
    PARTICIPANT_CHECK(r->state == ROUND_COMMITTED);
    if (!evaluated)
        for (int i = 0; i < r->nops; i++)
            exec_op(p->store, &r->fx, r->ops[i], NULL);
    if (!in_txn && store_begin(p->store) < 0)
        die_store(p, "begin");
    int rc = exec_apply(p->store, &r->fx);
    if (rc == EFFECTS_STOPPED)
        stop_mid_apply(p, r);
    if (rc < 0 || store_set_applied(p->store, r->rid) < 0)
        die_store(p, "apply");
    if (!in_txn && store_commit(p->store) < 0)
        die_store(p, "commit");
    p->applied = r->rid;
}

/* Applies a LIVE or IN_DOUBT round's effects (evaluated at PREPARE) and applied_round in
 * one SQLite transaction. Returns 0; or -1 with the transaction rolled back and the round
 * untouched, when SQLite fails (SQLITE_FULL, SQLITE_IOERR: a full or failing disk), so the
 * COMMIT can be tried again. See docs/disk-errors.md. */
static int round_try_apply(struct participant *p, struct round *r, char *why, size_t whylen)
{
    if (store_begin(p->store) < 0) {
        snprintf(why, whylen, "%s", store_error(p->store));
        return -1;
    }
    int rc = exec_apply(p->store, &r->fx);
    if (rc == EFFECTS_STOPPED)
        stop_mid_apply(p, r);
    if (rc < 0 || store_set_applied(p->store, r->rid) < 0 || store_commit(p->store) < 0) {
        snprintf(why, whylen, "%s", store_error(p->store)); /* before the rollback's */
        store_rollback(p->store); /* may fail if SQLite rolled back already: same result */
        return -1;
    }
    return 0;
}

static int log_decision(struct participant *p, const char *what, uint64_t rid)
{
    char num[24];
    size_t n = util_u64_to_str(rid, num);
    const char *argv[2] = { what, num };
    size_t lens[2] = { strlen(what), n };
    return wal_append(p->log, 2, argv, lens);
}

/* ---- replay ---- */

static int replay_record(void *ctx, int argc, char **argv, size_t *lens, uint64_t offset)
{
    struct participant *p = ctx;
    char err[128];
    uint64_t rid = 0;
    if (strcmp(argv[0], "PREPARE") == 0) {
        struct round *r = round_parse(argc, argv, lens, err, sizeof err);
        if (!r) {
            LOG_WARNING("vote log record at offset %llu: %s", (unsigned long long)offset, err);
            return -1;
        }
        if (r->rid <= p->applied || round_find(p, r->rid, NULL)) {
            if (r->rid > p->max_rid)
                p->max_rid = r->rid;
            round_free(r);
            return 0;
        }
        struct round *last = round_last(p);
        if (last && last->rid > r->rid) {
            /* Rounds are prepared, and compaction writes them, in rid order (P1). */
            LOG_WARNING("vote log record at offset %llu: PREPARE of round %llu after round "
                        "%llu", (unsigned long long)offset, (unsigned long long)r->rid,
                        (unsigned long long)last->rid);
            round_free(r);
            return -1;
        }
        round_append(p, r, ROUND_REPLAYED);
        return 0;
    }
    if (argc != 2 || util_parse_u64(argv[1], lens[1], &rid) < 0) {
        LOG_WARNING("vote log record at offset %llu: unknown record", (unsigned long long)offset);
        return -1;
    }
    if (rid >= TWOPC_RID_LIMIT) {
        LOG_WARNING("vote log record at offset %llu: round %llu is past any a coordinator "
                    "issues (a stray peer's, accepted by twopc 0.2.0 or older); remove this "
                    "replica's data folder to have it repaired", (unsigned long long)offset,
                    (unsigned long long)rid);
        return -1;
    }
    if (strcmp(argv[0], "SEEN") == 0) {
        if (rid > p->max_rid)
            p->max_rid = rid;
        return 0;
    }
    struct round **pp;
    struct round *r = round_find(p, rid, &pp);
    if (!r)
        return 0; /* already applied before the last checkpoint, or aborted */
    if (strcmp(argv[0], "COMMIT") != 0) {
        round_unlink(pp, r, ROUND_ABORTED);
        round_free(r);
        return 0;
    }
    /* A COMMIT was logged only for the head of the list: a round still ahead of it had
     * aborted (its ABORT record, never forced, failed to append). */
    while (p->rounds != r) {
        struct round *ahead = p->rounds;
        LOG_WARNING("vote log: round %llu has no outcome but round %llu committed after it: "
                    "it was aborted", (unsigned long long)ahead->rid, (unsigned long long)rid);
        round_unlink(&p->rounds, ahead, ROUND_ABORTED);
        round_free(ahead);
    }
    round_unlink(&p->rounds, r, ROUND_COMMITTED);
    round_apply(p, r, 1, 0);
    p->replay_applied++;
    round_free(r);
    return 0;
}

struct participant *participant_open_with(struct store *st, wal_open_fn open, void *arg,
                                          char *err, size_t errlen)
{
    /* Only the production opener's argument is known to be a name (the journal's path). */
    const char *name = open == wal_journal_open ? (const char *)arg : "(simulated)";
    struct participant *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        store_close(st);
        return NULL;
    }
    p->store = st;
    p->applied = p->max_rid = store_applied(p->store);
    if (store_identity(p->store, &p->cluster, &p->replica) < 0) {
        snprintf(err, errlen, "sqlite: %s", store_error(p->store));
        goto fail;
    }

    uint64_t t0 = util_mono_ms();
    struct journal_info info;
    if (store_begin(p->store) < 0) {
        snprintf(err, errlen, "sqlite: %s", store_error(p->store));
        goto fail;
    }
    p->log = open(arg, replay_record, p, &info, err, errlen);
    if (!p->log || store_commit(p->store) < 0) {
        if (p->log)
            snprintf(err, errlen, "sqlite: %s", store_error(p->store));
        goto fail;
    }
    /* What replay applied (and what a crashed process left in SQLite's WAL) is made durable
     * now, so the durable mark can start at applied_round. */
    if (store_checkpoint(p->store) < 0) {
        snprintf(err, errlen, "sqlite checkpoint: %s", store_error(p->store));
        goto fail;
    }
    p->committed = p->durable = p->applied;
    participant_assert_state(p); /* every listed round is REPLAYED: in doubt */
    if (info.torn_bytes)
        LOG_WARNING("vote log %s: cut a torn tail of %llu bytes at offset %llu", name,
                    (unsigned long long)info.torn_bytes, (unsigned long long)info.torn_offset);
    LOG_NOTICE("vote log replayed: %llu records, %zu rounds applied, %zu in doubt, "
               "applied_round %llu, in %llu ms",
               (unsigned long long)info.records, p->replay_applied, participant_in_doubt(p),
               (unsigned long long)p->applied, (unsigned long long)(util_mono_ms() - t0));
    if (p->cluster)
        LOG_NOTICE("identity: cluster %016llx, replica %llu, data complete to round %llu",
                   (unsigned long long)p->cluster, (unsigned long long)p->replica,
                   (unsigned long long)p->applied);
    else
        LOG_NOTICE("no identity yet (a new or wiped data folder): the coordinator adopts it "
                   "into a new cluster, or repairs it from a healthy replica");
    return p;
fail:
    participant_close(p);
    return NULL;
}

struct participant *participant_open(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data.sqlite", dir);
    struct store *st = store_open(path, err, errlen);
    if (!st)
        return NULL;
    snprintf(path, sizeof path, "%s/votes.log", dir);
    return participant_open_with(st, wal_journal_open, path, err, errlen);
}

/* Frees everything but the store, which is returned. */
static struct store *participant_free(struct participant *p)
{
    struct store *st = p->store;
    while (p->rounds) {
        struct round *r = p->rounds;
        p->rounds = r->next;
        round_free(r);
    }
    wal_close(p->log);
    free(p->marks);
    free(p);
    return st;
}

void participant_close(struct participant *p)
{
    if (p)
        store_close(participant_free(p));
}

struct store *participant_crash(struct participant *p)
{
    return p ? participant_free(p) : NULL;
}

/* ---- requests from the coordinator ---- */

static void vote_no(struct resp_writer *w, const char *fmt, uint64_t n, const char *detail)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, (unsigned long long)n, detail);
    resp_write_error(w, msg);
}

/* The flags of a TPC.PREPARE, between its name and the round id. */
struct prepare_flags {
    int touched;        /* TOUCHED: the vote says what each op changed */
    int gone;           /* TOUCHED GONE: and marks a changed key gone after the op 'D' */
    int watched;        /* TOUCHED WATCHED n key...: and which of these keys a flush deleted */
    size_t nkeys;
    char *const *keys;  /* the request's own memory */
    const size_t *lens;
    char *const *dbs;   /* DBS d...: the keys' databases (NULL: all in 0) */
    const size_t *dblens;
    int skip;           /* arguments the flags take */
};

static int is_word(const struct resp_request *req, int i, const char *word)
{
    size_t n = strlen(word);
    return req->argc > i && req->lens[i] == n && strncasecmp(req->argv[i], word, n) == 0;
}

/* Parses "[TOUCHED [GONE] [WATCHED n key... [DBS db...]]]" after the command name into f
 * (GONE is protocol 3's; DBS lists n databases, one per key, when a watched key is not in
 * database 0). Returns 0, or -1 when the WATCHED list is malformed (its count is not a
 * number or exceeds what follows). */
static int parse_flags(const struct resp_request *req, struct prepare_flags *f)
{
    uint64_t n;
    *f = (struct prepare_flags){ 0 };
    if (!is_word(req, 1, "touched"))
        return 0;
    f->touched = f->skip = 1;
    if (is_word(req, 2, "gone"))
        f->gone = 1, f->skip = 2;
    int w = 1 + f->skip; /* where WATCHED would be */
    if (!is_word(req, w, "watched"))
        return 0;
    if (req->argc < w + 2 || util_parse_u64(req->argv[w + 1], req->lens[w + 1], &n) < 0 ||
        n > (uint64_t)(req->argc - w - 2))
        return -1;
    f->watched = 1;
    f->nkeys = (size_t)n;
    f->keys = req->argv + w + 2;
    f->lens = req->lens + w + 2;
    f->skip += 2 + (int)n;
    if (is_word(req, w + 2 + (int)n, "dbs")) {
        if ((uint64_t)(req->argc - w - 3) < 2 * n)
            return -1;
        f->dbs = req->argv + w + 3 + n;
        f->dblens = req->lens + w + 3 + n;
        f->skip += 1 + (int)n;
    }
    return 0;
}

/* f's DBS list as numbers, into a new array (NULL when there is none). Sets *bad when a
 * database is not a number in range or memory is short. */
static int *watched_dbs(const struct prepare_flags *f, int *bad)
{
    *bad = 0;
    if (!f->dbs)
        return NULL;
    int *dbs = malloc((f->nkeys + 1) * sizeof *dbs);
    for (size_t i = 0; dbs && i < f->nkeys; i++) {
        uint64_t d;
        if (util_parse_u64(f->dbs[i], f->dblens[i], &d) < 0 || d >= OP_DB_LIMIT) {
            free(dbs);
            dbs = NULL;
            break;
        }
        dbs[i] = (int)d;
    }
    *bad = dbs == NULL;
    return dbs;
}

/* The TOUCHED vote element, one string per op (marks[i]..marks[i + 1] is op i's range of
 * records):
 *   - an op whose records hold no FLUSH: one '0'/'1' per argument (effects_touched),
 *     with GONE a 'D' instead of '1' for a key that no longer exists after the op
 *     (effects_gone: keyspace notifications' "del" when a pop empties a collection);
 *   - one that holds a FLUSH: "F", or, when the request listed watched keys,
 *     "F<bits>|<per argument>": one '0'/'1' per listed key, '1' if it was alive just
 *     before a FLUSH of the op (effects_flushed), then the per-argument string as above
 *     (a TX may also write keys before or after its flush).
 * Returns NULL, or why nothing usable is in out. */
static const char *write_touched(struct participant *p, const struct round *r,
                                 const size_t *marks, const struct prepare_flags *f,
                                 struct record_buf *out)
{
    struct resp_writer w = { record_buf_sink, out, 2 };
    int bad, *dbs = watched_dbs(f, &bad), maxargc = 1;
    if (bad)
        return "bad DBS list";
    for (int i = 0; i < r->nops; i++)
        maxargc = r->ops[i]->argc > maxargc ? r->ops[i]->argc : maxargc;
    char *s = malloc(2 + f->nkeys + (size_t)maxargc);
    char *args = s ? s + 2 + f->nkeys : NULL; /* the per-argument string, after "F<bits>|" */
    int rc = s ? resp_write_array(&w, (size_t)r->nops) : -1;
    for (int i = 0; rc == 0 && i < r->nops; i++) {
        size_t argc = (size_t)r->ops[i]->argc;
        if (effects_touched(&r->fx, marks[i], marks[i + 1], r->ops[i], args) == 0) {
            if (f->gone && effects_gone(p->store, &r->fx, marks[i + 1], r->ops[i], args) < 0) {
                free(s);
                free(dbs);
                return "can't read the store";
            }
            rc = resp_write_bulk(&w, args, argc);
        } else if (!f->watched) {
            rc = resp_write_bulk(&w, "F", 1);
        } else {
            if (effects_flushed(p->store, &r->fx, marks[i], marks[i + 1], f->nkeys, f->keys,
                                f->lens, dbs, s + 1) < 0) {
                free(s);
                free(dbs);
                return "can't read the store";
            }
            s[0] = 'F';
            s[1 + f->nkeys] = '|';
            rc = resp_write_bulk(&w, s, 2 + f->nkeys + argc);
        }
    }
    free(s);
    free(dbs);
    return rc < 0 ? "out of memory" : NULL;
}

/* Evaluates every op of r, writing the results into results and, if marks is not NULL,
 * where each op's records start (marks[nops] = the end). */
static void evaluate(struct participant *p, struct round *r, struct record_buf *results,
                     size_t *marks)
{
    struct resp_writer rw = { record_buf_sink, results, 2 };
    for (int i = 0; i < r->nops; i++) {
        if (marks)
            marks[i] = r->fx.n;
        exec_op(p->store, &r->fx, r->ops[i], &rw);
    }
    if (marks)
        marks[r->nops] = r->fx.n;
}

/* Appends the PREPARE record: the request itself without its flags (the skip arguments
 * after the name), renamed. */
static int log_prepare(struct participant *p, const struct resp_request *req, int skip)
{
    char **argv = req->argv + skip;
    size_t *lens = req->lens + skip;
    char *name = argv[0];
    size_t name_len = lens[0];
    argv[0] = "PREPARE";
    lens[0] = 7;
    int rc = wal_append(p->log, req->argc - skip, (const char *const *)argv, lens);
    argv[0] = name;
    lens[0] = name_len;
    return rc;
}

static void prepare_round(struct participant *p, const struct resp_request *req,
                          struct resp_writer *w)
{
    char err[128];
    struct prepare_flags f;
    if (parse_flags(req, &f) < 0) {
        vote_no(w, "NO bad PREPARE (%llu): %s", 0, "bad WATCHED list");
        return;
    }
    int touched = f.touched;
    struct round *r = round_parse(req->argc - f.skip, req->argv + f.skip, req->lens + f.skip,
                                  err, sizeof err);
    if (!r) {
        vote_no(w, "NO bad PREPARE (%llu): %s", 0, err);
        return;
    }
    if (r->rid - p->max_rid > TWOPC_RID_MAX_AHEAD && r->rid > p->max_rid) {
        LOG_WARNING("refusing PREPARE of round %llu: the highest round seen here is %llu; no "
                    "coordinator jumps that far (a stray or hostile peer?)",
                    (unsigned long long)r->rid, (unsigned long long)p->max_rid);
        vote_no(w, "NO round %llu is too far ahead (%s)", r->rid, "of the highest round seen");
        round_free(r);
        return;
    }
    struct round *last = round_last(p);
    if (r->rid <= p->max_rid || (last && last->state != ROUND_LIVE)) {
        if (r->rid <= p->max_rid)
            vote_no(w, "NO round %llu is stale (%s)", r->rid, "id already used");
        else
            vote_no(w, "NO round %llu is still %s", last->rid,
                    state_in_doubt(last->state) ? "in doubt" : "doomed by an abort");
        round_free(r);
        return;
    }
    char cause[96];
    uint64_t bytes = 0;
    for (int i = 0; i < req->argc; i++)
        bytes += req->lens[i];
    /* A disk too full to apply the round later is refused now, where a NO is harmless:
     * the ops land in the vote log, SQLite's WAL and then its database. */
    if (wal_failing(p->log, cause, sizeof cause) ||
        store_room(p->store, STORE_DISK_RESERVE + 4 * bytes, cause, sizeof cause) < 0) {
        /* The vote could not be made durable: refuse now rather than let the coordinator
         * wait for its prepare timeout. It names this replica in the client's error. */
        char msg[256];
        snprintf(msg, sizeof msg, "MISCONF Errors writing to the vote log: %s; writes are "
                 "refused until the disk recovers", cause);
        resp_write_error(w, msg);
        round_free(r);
        return;
    }
    /* Evaluated on top of every round still undecided ahead of it (pipelined rounds). */
    r->fx.under = last ? &last->fx : NULL;
    r->fx.bounded = 1; /* past --prepared-memory-limit: a NO (effects_alloc) */
    struct record_buf results = { 0 }, tvote = { 0 };
    size_t *marks = touched ? malloc(((size_t)r->nops + 1) * sizeof *marks) : NULL;
    const char *fail = touched && !marks ? "out of memory" : NULL;
    if (!fail)
        evaluate(p, r, &results, marks);
    char over[160];
    if (!fail && r->fx.over) {
        snprintf(over, sizeof over, "OOM the rounds prepared here would hold more than "
                 "prepared-memory-limit (%llu bytes)", (unsigned long long)effects_hold_limit);
        static uint64_t last_log_ms; /* a client may send such writes in a loop */
        uint64_t now = util_mono_ms();
        if (!last_log_ms || now - last_log_ms >= 10000) {
            last_log_ms = now;
            LOG_WARNING("refusing PREPARE of round %llu: %s", (unsigned long long)r->rid,
                        over);
        }
        fail = over;
    }
    if (!fail && touched)
        fail = write_touched(p, r, marks, &f, &tvote);
    free(marks);

    FAILPOINT("replica.prepare.before_log");
    if (!fail && log_prepare(p, req, f.skip) < 0)
        fail = "can't log the vote";
    if (fail) {
        free(results.p);
        free(tvote.p);
        vote_no(w, "NO round %llu: %s", r->rid, fail);
        round_free(r);
        return;
    }
    round_append(p, r, ROUND_LIVE);
    p->prepared_since_sync = 1;
    resp_write_array(w, 3 + (size_t)touched);
    resp_write_simple(w, "YES");
    /* Everything appended so far is durable once this vote may leave (after the sync). */
    resp_write_int(w, (int64_t)p->committed);
    /* The nops results, each one RESP2 reply, back to back in one bulk string: the
     * coordinator compares votes with one memcmp and decodes no reply objects. */
    resp_write_bulk(w, results.p, results.len);
    if (touched)
        w->write(w->sink, tvote.p, tvote.len);
    free(results.p);
    free(tvote.p);
}

static int parse_rid(const struct resp_request *req, uint64_t *rid, struct resp_writer *w)
{
    if (req->argc == 2 && util_parse_u64(req->argv[1], req->lens[1], rid) == 0 && *rid != 0 &&
        *rid < TWOPC_RID_LIMIT)
        return 0;
    resp_write_error(w, "ERR bad round id");
    return -1;
}

static void commit_round(struct participant *p, const struct resp_request *req,
                         struct resp_writer *w)
{
    uint64_t rid;
    if (parse_rid(req, &rid, w) < 0)
        return;
    struct round **pp;
    struct round *r = round_find(p, rid, &pp);
    if (!r) {
        if (rid <= p->applied)
            resp_write_int(w, (int64_t)p->durable); /* a re-sent COMMIT: already applied */
        else
            vote_no(w, "ERR round %llu is unknown here%s", rid, "");
        return;
    }
    int doomed = state_doomed(r->state);
    if (r != p->rounds || doomed) {
        /* Decisions arrive in round order, and a round evaluated on an aborted one is
         * aborted too: anything else is a coordinator bug, refused loudly. */
        LOG_WARNING("refusing COMMIT of round %llu: %s", (unsigned long long)rid,
                    doomed ? "it was evaluated on an aborted round" : "out of order");
        vote_no(w, "ERR round %llu can't commit here: %s", rid,
                doomed ? "evaluated on an aborted round" : "an earlier round is undecided");
        return;
    }
    if (log_decision(p, "COMMIT", rid) < 0) {
        vote_no(w, "ERR round %llu: %s", rid, "can't log the decision");
        return;
    }
    if (FAILPOINT_HIT("replica.commit.before_apply")) {
        char err[256];
        wal_sync(p->log, err, sizeof err);
        failpoint_die("replica.commit.before_apply");
    }
    int evaluated = r->state != ROUND_REPLAYED;
    char why[160];
    if (evaluated && round_try_apply(p, r, why, sizeof why) < 0) {
        /* The store's disk is full or failing: refuse, keep the round prepared. The
         * coordinator drops the link (no reads come here meanwhile) and re-sends the COMMIT
         * after TPC.HELLO; the COMMIT record just logged is harmless (replay ignores a
         * second COMMIT of a round, and this one is the coordinator's decision anyway). */
        LOG_WARNING("round %llu: can't apply the COMMIT to the store: %s; refusing it until "
                    "the disk recovers", (unsigned long long)rid, why);
        vote_no(w, "ERR round %llu can't be applied here now: %s", rid, why);
        return;
    }
    round_unlink(pp, r, ROUND_COMMITTED);
    if (p->rounds)
        p->rounds->fx.under = NULL; /* the new head is evaluated on committed data now */
    if (evaluated)
        p->applied = r->rid;
    else
        round_apply(p, r, 0, evaluated);
    round_free(r);
    p->committed = rid;
    FAILPOINT("replica.commit.after_apply");
    resp_write_int(w, (int64_t)p->durable);
}

static void abort_round(struct participant *p, const struct resp_request *req,
                        struct resp_writer *w)
{
    uint64_t rid;
    if (parse_rid(req, &rid, w) < 0)
        return;
    struct round **pp;
    struct round *r = round_find(p, rid, &pp);
    if (r) {
        /* Not forced on its own (presumed abort), but it rides the next sync. */
        log_decision(p, "ABORT", rid);
        round_unlink(pp, r, ROUND_ABORTED);
        /* Rounds evaluated on top of this one are doomed; the coordinator aborts them
         * next. None may point at the freed effects. (REPLAYED rounds are evaluated only
         * when they commit, as the head: nothing to doom.) */
        for (struct round *later = *pp; later; later = later->next) {
            if (later->state == ROUND_LIVE)
                round_set_state(later, ROUND_DOOMED);
            else if (later->state == ROUND_IN_DOUBT)
                round_set_state(later, ROUND_IN_DOUBT_DOOMED);
            later->fx.under = NULL;
        }
        round_free(r);
    }
    resp_write_simple(w, "OK");
}

void participant_prepare(struct participant *p, const struct resp_request *req,
                         struct resp_writer *w)
{
    prepare_round(p, req, w);
    participant_assert_state(p);
}

void participant_commit(struct participant *p, const struct resp_request *req,
                        struct resp_writer *w)
{
    commit_round(p, req, w);
    participant_assert_state(p);
}

void participant_abort(struct participant *p, const struct resp_request *req,
                       struct resp_writer *w)
{
    abort_round(p, req, w);
    participant_assert_state(p);
}

/* A new coordinator connection: whatever is still prepared is for it to decide, in round
 * order, before anything new is prepared here. */
static void rounds_in_doubt(struct participant *p)
{
    for (struct round *r = p->rounds; r; r = r->next) {
        if (r->state == ROUND_LIVE)
            round_set_state(r, ROUND_IN_DOUBT);
        else if (r->state == ROUND_DOOMED)
            round_set_state(r, ROUND_IN_DOUBT_DOOMED);
    }
    participant_assert_state(p);
}

void participant_hello(struct participant *p, struct resp_writer *w, size_t extra)
{
    if (FAILPOINT_ON("replica.bug.eager_hello")) /* the old rule, for the simulator */
        rounds_in_doubt(p);
    /* The rounds listed are durable YES votes the coordinator may decide a round on (the
     * rule of durable votes): the answer waits for the sync that ends this batch, like a
     * vote (found by the simulator: a restarted coordinator committed a round whose
     * PREPARE a replica had listed but not yet synced). */
    if (p->rounds)
        p->reply_needs_sync = 1;
    resp_write_array(w, 6 + extra);
    resp_write_int(w, (int64_t)p->applied);
    resp_write_int(w, (int64_t)p->max_rid);
    resp_write_array(w, participant_in_doubt(p));
    for (struct round *r = p->rounds; r; r = r->next)
        resp_write_int(w, (int64_t)r->rid);
    resp_write_int(w, (int64_t)p->durable);
    /* Both <= INT64_MAX: identity.c and restore.c accept no larger value. */
    resp_write_int(w, (int64_t)p->cluster);
    resp_write_int(w, (int64_t)p->replica);
}

void participant_identity(const struct participant *p, uint64_t *cluster, uint64_t *replica)
{
    *cluster = p->cluster;
    *replica = p->replica;
}

struct store *participant_store(struct participant *p)
{
    return p->store;
}

uint64_t participant_session(const struct participant *p) { return p->session; }
void participant_changed(struct participant *p) { p->changes++; }

void participant_note_hello(struct participant *p, uint64_t conn)
{
    if (FAILPOINT_ON("replica.bug.eager_hello")) { /* the old rule: the session moves now */
        p->session = conn;
        p->changes++;
        return;
    }
    size_t slot = p->next_hello;
    for (size_t i = 0; i < PARTICIPANT_HELLOS; i++)
        if (p->hellos[i].used && p->hellos[i].conn == conn)
            slot = i; /* a second TPC.HELLO on one connection replaces its first */
    if (slot == p->next_hello)
        p->next_hello = (p->next_hello + 1) % PARTICIPANT_HELLOS;
    p->hellos[slot].conn = conn;
    p->hellos[slot].changes = p->changes;
    p->hellos[slot].used = 1;
}

int participant_take_session(struct participant *p, uint64_t conn)
{
    size_t i = 0;
    while (i < PARTICIPANT_HELLOS && (!p->hellos[i].used || p->hellos[i].conn != conn))
        i++;
    if (i == PARTICIPANT_HELLOS)
        return p->session == conn ? 0 : -1; /* 0 == 0: a harness without connections */
    p->hellos[i].used = 0; /* one answer, one use */
    if (p->hellos[i].changes != p->changes)
        return -2;
    rounds_in_doubt(p);
    p->session = conn;
    p->changes++; /* every other connection's answer is stale now */
    return 0;
}

size_t participant_drop_rounds(struct participant *p)
{
    size_t n = 0;
    while (p->rounds) {
        struct round *r = p->rounds;
        round_unlink(&p->rounds, r, ROUND_ABORTED);
        round_free(r);
        n++;
    }
    return n;
}

size_t participant_in_doubt(const struct participant *p)
{
    size_t n = 0;
    for (const struct round *r = p->rounds; r; r = r->next)
        n++;
    return n;
}
