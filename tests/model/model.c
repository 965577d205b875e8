/* model.c -- twopc-model: an exhaustive search of a small model of the commit protocol, to
 * check a commit rule before it is built (issue #15, item 1).
 *
 * The model: one coordinator, NR replicas (default 2, --replicas 3), two rounds, round 2
 * evaluated on round 1's undecided effects (a speculative round: it may commit only if
 * round 1 does). Every process can crash and restart (bounded: --coordinator-crashes,
 * --replica-crashes each), every message can be lost (--drops in all), messages are
 * delivered in any order, a coordinator may time a round out at any moment, a replica may
 * refuse a round (a conflict, a full disk). Durable state -- the coordinator's decision
 * log, each replica's vote log and applied decisions -- survives a crash; everything else
 * (votes received, what was replied, messages in flight to a dead process) does not.
 *
 * The rules (--rule):
 *   classic   the coordinator answers OK after it has logged COMMIT, and a restarted
 *             coordinator presumes every round its log does not name aborted (twopc today).
 *   votes     the decision implied by durable votes: a round every replica has durably
 *             voted YES on is committed, so the coordinator answers OK as soon as it holds
 *             those votes (and round 1 is known committed, for round 2), and logs COMMIT
 *             lazily. An abort is fenced: the coordinator logs ABORT before answering an
 *             error. A restarted coordinator decides each round its log does not name by
 *             asking the replicas: a replica that has not voted durably refuses the round
 *             first, so an answer can never change; all YES commits (round 2 only after
 *             round 1 committed), any NO aborts. A replica holding a YES vote on an
 *             undecided round holds a read of it until the decision.
 * --bug breaks one part of the rule, and the search must then find a violation:
 *   unfenced-abort   the error reply before (without) the logged ABORT
 *   vote-before-durable  a replica sends YES before its vote is on disk
 *   spec-ok-early    round 2 answered OK on its own votes, round 1 still undecided
 *   read-undecided   a replica answers a read of an undecided round from before it
 *   presumed-abort   recovery as today: a round the log does not name is aborted
 *   volatile-refusal a replica that has not voted answers recovery NO without recording it
 *                    (not a violation in this model: see docs/design.md)
 *
 * Invariants, checked in every reachable state:
 *   ack-kept     a round answered OK is never aborted (by the log or on any replica)
 *   error-kept   a round answered with an error is never committed
 *   agreement    no replica commits a round another aborts; round 2 commits nowhere round 1
 *                aborted
 *   read-your-write  a read sent after an OK sees the write
 * A violation prints the shortest trace (breadth-first search) and exits 1; with
 * --expect-violation the exit statuses swap (the CTest entries model.catches.*).
 *
 *   twopc-model --rule votes --coordinator-crashes 2 --drops 0
 * (--replicas 3 is allowed but does not fit: more than 100 M states.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXR 3
#define NT 2 /* rounds */

enum { NONE = 0, YES = 1, NO = 2 };         /* votes */
enum { UNDECIDED = 0, COMMIT = 1, ABORT = 2 }; /* decisions */
enum { NOREPLY = 0, OK = 1, ERR = 2 };       /* client replies */
enum { RULE_CLASSIC, RULE_VOTES };
enum { BUG_NONE, BUG_UNFENCED_ABORT, BUG_VOTE_BEFORE_DURABLE, BUG_SPEC_OK_EARLY,
       BUG_READ_UNDECIDED, BUG_PRESUMED_ABORT, BUG_VOLATILE_REFUSAL };

/* One state of the whole system; every field a small number, compared bytewise. */
struct st {
    /* coordinator */
    uint8_t c_up, c_crashes;
    uint8_t clog[NT];     /* durable decision */
    uint8_t started[NT];  /* PREPAREs sent in this incarnation (volatile) */
    uint8_t yes[NT];      /* bitmask of YES votes received (volatile) */
    uint8_t no[NT];       /* a NO received (volatile) */
    uint8_t okd[NT];      /* answered OK in this incarnation: decided commit (volatile) */
    uint8_t asked[NT];    /* recovery: the replicas were asked (volatile) */
    uint8_t qans[NT][2];  /* recovery: bitmasks of YES / NO answers (volatile) */
    /* client */
    uint8_t reply[NT];
    /* replicas */
    uint8_t r_up[MAXR], r_crashes[MAXR];
    uint8_t vote[MAXR][NT];    /* durable */
    uint8_t unlogged[MAXR][NT]; /* BUG_VOTE_BEFORE_DURABLE: YES sent, not yet logged */
    uint8_t dec[MAXR][NT];     /* durable, applied */
    /* network: messages in flight */
    uint8_t m_prep[MAXR][NT], m_vote[MAXR][NT], m_dec[MAXR][NT], m_query[MAXR][NT],
        m_qans[MAXR][NT];
    uint8_t drops;
};

static int nr = 2, rule = RULE_VOTES, bug = BUG_NONE;
static int max_c_crashes = 1, max_r_crashes = 1, max_drops = 1;
static uint8_t all_mask;

/* ---- the visited set and the queue: states in one array, a hash table of indexes ---- */

struct node {
    struct st s;
    int32_t parent;
    const char *why;
    int8_t who, round;
};

static struct node *nodes;
static size_t n_nodes, cap_nodes;
static int32_t *table;
static size_t table_cap;

static uint64_t hash_st(const struct st *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < sizeof *s; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

static void table_grow(void);

/* Adds s if new: 1 added, 0 seen before. */
static int visit(const struct st *s, int32_t parent, const char *why, int who, int round)
{
    if ((n_nodes + 1) * 2 > table_cap)
        table_grow();
    size_t i = hash_st(s) & (table_cap - 1);
    while (table[i] >= 0) {
        if (memcmp(&nodes[table[i]].s, s, sizeof *s) == 0)
            return 0;
        i = (i + 1) & (table_cap - 1);
    }
    if (n_nodes == cap_nodes) {
        cap_nodes = cap_nodes ? cap_nodes * 2 : 1 << 16;
        nodes = realloc(nodes, cap_nodes * sizeof *nodes);
        if (!nodes) {
            fprintf(stderr, "twopc-model: out of memory\n");
            exit(2);
        }
    }
    nodes[n_nodes] = (struct node){ *s, parent, why, (int8_t)who, (int8_t)round };
    table[i] = (int32_t)n_nodes++;
    return 1;
}

static void table_grow(void)
{
    size_t cap = table_cap ? table_cap * 2 : 1 << 17;
    int32_t *t = malloc(cap * sizeof *t);
    if (!t) {
        fprintf(stderr, "twopc-model: out of memory\n");
        exit(2);
    }
    memset(t, 0xff, cap * sizeof *t);
    for (size_t k = 0; k < n_nodes; k++) {
        size_t i = hash_st(&nodes[k].s) & (cap - 1);
        while (t[i] >= 0)
            i = (i + 1) & (cap - 1);
        t[i] = (int32_t)k;
    }
    free(table);
    table = t;
    table_cap = cap;
}

/* ---- invariants ---- */

static const char *violated(const struct st *s)
{
    for (int t = 0; t < NT; t++) {
        int commit = s->clog[t] == COMMIT, abort_ = s->clog[t] == ABORT;
        for (int r = 0; r < nr; r++) {
            commit |= s->dec[r][t] == COMMIT;
            abort_ |= s->dec[r][t] == ABORT;
        }
        if (s->reply[t] == OK && abort_)
            return "ack-kept: a round answered OK was aborted";
        if (s->reply[t] == ERR && commit)
            return "error-kept: a round answered with an error was committed";
        for (int r = 0; r < nr; r++)
            for (int q = 0; q < nr; q++)
                if (s->dec[r][t] == COMMIT && s->dec[q][t] == ABORT)
                    return "agreement: replicas decided a round differently";
        /* A read of the round's key, sent to any live replica after the OK: a replica
         * that has applied the decision answers from it; one holding a durable YES on
         * the undecided round holds the read until the decision; one that has not voted
         * answers from the state before the round. */
        if (s->reply[t] == OK)
            for (int r = 0; r < nr; r++) {
                if (!s->r_up[r] || s->dec[r][t])
                    continue;
                if (bug == BUG_READ_UNDECIDED || (!s->vote[r][t] && !s->unlogged[r][t]))
                    return "read-your-write: a read after OK would miss the write";
            }
    }
    for (int r = 0; r < nr; r++)
        for (int q = 0; q < nr; q++)
            if (s->dec[r][1] == COMMIT && s->dec[q][0] == ABORT)
                return "agreement: round 2 committed where round 1 (its basis) aborted";
    return NULL;
}

/* ---- transitions ---- */

static int32_t cur;
static size_t added;

static void emit(const struct st *n, const char *why, int who, int round)
{
    /* Forget what can no longer matter, so states that differ only there are one. */
    struct st m = *n;
    if (!m.c_up) { /* what a replica sends a dead coordinator is lost */
        memset(m.m_vote, 0, sizeof m.m_vote);
        memset(m.m_qans, 0, sizeof m.m_qans);
    }
    for (int t = 0; t < NT; t++) {
        if (m.clog[t] || !m.started[t]) { /* votes on a decided or foreign round */
            m.yes[t] = m.no[t] = 0;
            for (int r = 0; r < nr; r++)
                m.m_vote[r][t] = 0;
        }
        if (m.clog[t]) { /* the log decides: recovery's answers and okd are moot */
            m.okd[t] = 0;
            m.qans[t][0] = m.qans[t][1] = 0;
            for (int r = 0; r < nr; r++)
                m.m_qans[r][t] = 0;
        }
        for (int r = 0; r < nr; r++)
            if (m.dec[r][t]) /* a PREPARE of a round the replica has decided */
                m.m_prep[r][t] = 0;
    }
    added += (size_t)visit(&m, cur, why, who, round);
}

/* The coordinator logs decision d for round t (and, aborting round 1, round 2 too: it was
 * evaluated on round 1) and sends it to every replica. */
static void decide(struct st *n, int t, int d)
{
    if (!n->clog[t])
        n->clog[t] = (uint8_t)d;
    for (int r = 0; r < nr; r++)
        n->m_dec[r][t] = n->clog[t];
    if (t == 0 && n->clog[0] == ABORT && !n->clog[1]) {
        n->clog[1] = ABORT;
        for (int r = 0; r < nr; r++)
            n->m_dec[r][1] = ABORT;
    }
}

/* A link comes back (a restart of either end): the coordinator sends each logged decision
 * a replica has not applied -- to replica r, or to every live one when r < 0. */
static void resend_decisions(struct st *n, int only)
{
    for (int r = 0; r < nr; r++)
        if ((only < 0 && n->r_up[r]) || r == only)
            for (int t = 0; t < NT; t++)
                if (n->clog[t] && n->dec[r][t] != n->clog[t])
                    n->m_dec[r][t] = n->clog[t];
}

/* Round 1 is known committed to this coordinator incarnation. */
static int round1_committed(const struct st *s)
{
    return s->clog[0] == COMMIT || s->okd[0];
}

static void coordinator_steps(const struct st *s)
{
    struct st n;
    if (!s->c_up) {
        n = *s;
        n.c_up = 1;
        resend_decisions(&n, -1);
        emit(&n, "coordinator restarts (votes, replies, rounds in progress forgotten)", -1, -1);
        return;
    }
    if (s->c_crashes < max_c_crashes) {
        n = *s;
        n.c_up = 0;
        n.c_crashes++;
        memset(n.started, 0, sizeof n.started);
        memset(n.yes, 0, sizeof n.yes);
        memset(n.no, 0, sizeof n.no);
        memset(n.okd, 0, sizeof n.okd);
        memset(n.qans, 0, sizeof n.qans);
        memset(n.asked, 0, sizeof n.asked);
        for (int r = 0; r < nr; r++)
            for (int t = 0; t < NT; t++)
                n.m_vote[r][t] = n.m_qans[r][t] = 0; /* its connections are gone */
        emit(&n, "coordinator crashes", -1, -1);
    }
    for (int t = 0; t < NT; t++) {
        /* Start a round: only before the first crash (the client's connection is lost
         * then), round 2 after round 1. */
        if (!s->started[t] && !s->c_crashes && !s->clog[t] && !s->reply[t] &&
            (t == 0 || s->started[0])) {
            n = *s;
            n.started[t] = 1;
            for (int r = 0; r < nr; r++)
                n.m_prep[r][t] = 1;
            emit(&n, "coordinator sends PREPARE", -1, t);
        }
        int undecided = s->started[t] && !s->clog[t] && !s->okd[t] && !s->reply[t];
        /* Answer OK. */
        if (undecided && s->yes[t] == all_mask) {
            int may = rule == RULE_CLASSIC ? 0
                      : t == 0 || bug == BUG_SPEC_OK_EARLY || round1_committed(s);
            if (may) {
                n = *s;
                n.okd[t] = 1;
                n.reply[t] = OK;
                emit(&n, "coordinator answers OK on durable YES votes (COMMIT not logged)",
                     -1, t);
            }
            if (t == 0 || round1_committed(s)) {
                n = *s;
                decide(&n, t, COMMIT);
                n.okd[t] = 1;
                n.reply[t] = OK;
                emit(&n, "coordinator logs COMMIT, then answers OK", -1, t);
            }
        }
        /* Lazy COMMIT after an OK on votes. */
        if (s->okd[t] && !s->clog[t] && (t == 0 || round1_committed(s))) {
            n = *s;
            decide(&n, t, COMMIT);
            emit(&n, "coordinator logs COMMIT lazily", -1, t);
        }
        /* Abort: a NO, or a timeout at any moment. */
        if (undecided) {
            n = *s;
            if (bug == BUG_UNFENCED_ABORT) {
                n.reply[t] = ERR; /* answered, nothing logged, ABORT only sent */
                for (int r = 0; r < nr; r++)
                    n.m_dec[r][t] = ABORT;
                n.okd[t] = 0;
                emit(&n, "coordinator times out: answers an error, sends ABORT (not logged)",
                     -1, t);
            } else {
                decide(&n, t, ABORT);
                n.reply[t] = ERR;
                if (t == 0 && n.clog[1] == ABORT && n.started[1] && !n.reply[1])
                    n.reply[1] = ERR;
                emit(&n, s->no[t] ? "coordinator got NO: logs ABORT, answers an error"
                                  : "coordinator times out: logs ABORT, answers an error",
                     -1, t);
            }
        }
        /* Recovery of a round its log does not name: ask the replicas (or, today's rule
         * and --bug presumed-abort, presume it aborted). */
        if (s->c_crashes && !s->clog[t] && !s->started[t] &&
            (rule == RULE_CLASSIC || bug == BUG_PRESUMED_ABORT)) {
            n = *s;
            decide(&n, t, ABORT);
            emit(&n, "recovering coordinator: no record of the round -> presumes ABORT", -1, t);
        } else if (s->c_crashes && !s->clog[t] && !s->started[t]) {
            if (!s->asked[t]) {
                n = *s;
                n.asked[t] = 1;
                for (int r = 0; r < nr; r++)
                    n.m_query[r][t] = 1;
                emit(&n, "recovering coordinator asks every replica about the round", -1, t);
            }
            if (s->qans[t][1]) {
                n = *s;
                decide(&n, t, ABORT);
                emit(&n, "recovering coordinator: a replica refused -> logs ABORT", -1, t);
            } else if (s->qans[t][0] == all_mask && (t == 0 || s->clog[0] == COMMIT)) {
                n = *s;
                decide(&n, t, COMMIT);
                emit(&n, "recovering coordinator: every replica voted YES -> logs COMMIT", -1,
                     t);
            }
        }
    }
    /* Deliveries to the coordinator. */
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < NT; t++) {
            if (s->m_vote[r][t]) {
                n = *s;
                n.m_vote[r][t] = 0;
                if (!s->started[t])
                    ; /* a vote on a PREPARE of the incarnation before a crash: ignored */
                else if (s->m_vote[r][t] == YES)
                    n.yes[t] |= (uint8_t)(1u << r);
                else
                    n.no[t] = 1;
                emit(&n, s->m_vote[r][t] == YES ? "coordinator receives YES"
                                                 : "coordinator receives NO", r, t);
            }
            if (s->m_qans[r][t]) {
                n = *s;
                n.m_qans[r][t] = 0;
                n.qans[t][s->m_qans[r][t] == YES ? 0 : 1] |= (uint8_t)(1u << r);
                emit(&n, "recovering coordinator receives a replica's answer", r, t);
            }
        }
}

/* The vote replica r would give round t now: NO if round 2's basis (round 1) is refused
 * or aborted here, else YES or NO as it chooses (both explored). */
static void replica_steps(const struct st *s, int r)
{
    struct st n;
    if (!s->r_up[r]) {
        n = *s;
        n.r_up[r] = 1;
        if (n.c_up) {
            resend_decisions(&n, r);
            for (int t = 0; t < NT; t++)
                if (n.asked[t] && !n.clog[t])
                    n.m_query[r][t] = 1; /* recovery asks again on the new link */
        }
        emit(&n, "replica restarts", r, -1);
        return;
    }
    if (s->r_crashes[r] < max_r_crashes) {
        n = *s;
        n.r_up[r] = 0;
        n.r_crashes[r]++;
        for (int t = 0; t < NT; t++) {
            n.unlogged[r][t] = 0; /* a vote not on disk is gone */
            n.m_prep[r][t] = n.m_dec[r][t] = n.m_query[r][t] = 0;
        }
        emit(&n, "replica crashes", r, -1);
    }
    for (int t = 0; t < NT; t++) {
        /* PREPARE, in order: round 2 only after round 1's vote. */
        if (s->m_prep[r][t] && (t == 0 || s->vote[r][0] || s->unlogged[r][0])) {
            int voted = s->vote[r][t] || s->unlogged[r][t] || s->dec[r][t];
            int basis_bad = t == 1 && (s->vote[r][0] == NO || s->dec[r][0] == ABORT);
            for (int v = YES; v <= NO; v++) {
                if (voted && v == YES)
                    continue;
                if (basis_bad && v == YES)
                    continue;
                n = *s;
                n.m_prep[r][t] = 0;
                if (voted) {
                    /* Already voted or decided: repeat its vote (a refused round: NO). */
                    n.m_vote[r][t] = s->vote[r][t] == YES || s->unlogged[r][t] ? YES : NO;
                    if (s->dec[r][t] == ABORT)
                        n.m_vote[r][t] = NO;
                    emit(&n, "replica gets PREPARE again: repeats its vote", r, t);
                    break;
                }
                if (v == YES && bug == BUG_VOTE_BEFORE_DURABLE)
                    n.unlogged[r][t] = 1;
                else
                    n.vote[r][t] = (uint8_t)v;
                n.m_vote[r][t] = (uint8_t)v;
                emit(&n, v == YES ? "replica logs YES, sends it" : "replica refuses: logs NO",
                     r, t);
            }
        }
        if (s->unlogged[r][t]) {
            n = *s;
            n.unlogged[r][t] = 0;
            n.vote[r][t] = YES;
            emit(&n, "replica's YES reaches its disk (after it was sent)", r, t);
        }
        if (s->m_dec[r][t]) {
            n = *s;
            n.m_dec[r][t] = 0;
            if (!s->dec[r][t])
                n.dec[r][t] = s->m_dec[r][t];
            emit(&n, s->m_dec[r][t] == COMMIT ? "replica applies COMMIT" : "replica applies ABORT",
                 r, t);
        }
        if (s->m_query[r][t]) {
            n = *s;
            n.m_query[r][t] = 0;
            int v = s->dec[r][t] == COMMIT ? YES
                    : s->dec[r][t] == ABORT ? NO
                    : s->vote[r][t] ? s->vote[r][t]
                                    : s->unlogged[r][t] ? YES : NONE;
            if (v == NONE) {
                /* Not voted: refuse durably first, so a late PREPARE cannot make it YES
                 * (--bug volatile-refusal: answer NO and record nothing). */
                if (bug != BUG_VOLATILE_REFUSAL)
                    n.vote[r][t] = NO;
                v = NO;
            }
            n.m_qans[r][t] = (uint8_t)v;
            emit(&n, "replica answers the recovering coordinator", r, t);
        }
    }
}

static void network_steps(const struct st *s)
{
    if (s->drops >= max_drops)
        return;
    struct st n;
    uint8_t(*boxes[])[NT] = { n.m_prep, n.m_vote, n.m_dec, n.m_query, n.m_qans };
    for (size_t b = 0; b < sizeof boxes / sizeof *boxes; b++)
        for (int r = 0; r < nr; r++)
            for (int t = 0; t < NT; t++) {
                n = *s;
                if (!boxes[b][r][t])
                    continue;
                boxes[b][r][t] = 0;
                n.drops++;
                emit(&n, "the network loses a message", r, t);
            }
}

static void print_trace(int32_t k)
{
    if (k < 0)
        return;
    print_trace(nodes[k].parent);
    if (!nodes[k].why)
        return;
    printf("  %s", nodes[k].why);
    if (nodes[k].who >= 0)
        printf(" [replica %d]", nodes[k].who + 1);
    if (nodes[k].round >= 0)
        printf(" [round %d]", nodes[k].round + 1);
    printf("\n");
}

static const char *const bug_names[] = { "none",           "unfenced-abort",
                                         "vote-before-durable", "spec-ok-early",
                                         "read-undecided", "presumed-abort",
                                         "volatile-refusal" };

static void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: twopc-model [--rule classic|votes] [--replicas 2|3] [--bug NAME]\n"
            "                   [--coordinator-crashes N] [--replica-crashes N] [--drops N]\n"
            "                   [--expect-violation] [--progress]\n"
            "  bugs: unfenced-abort vote-before-durable spec-ok-early read-undecided\n"
            "        presumed-abort volatile-refusal\n");
    exit(status);
}

/* A small count for a bound: 0..max, else the usage message. */
static int count_arg(const char *v, int max)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 0 || n > max) {
        fprintf(stderr, "twopc-model: '%s' is not a number from 0 to %d\n", v, max);
        usage(2);
    }
    return (int)n;
}

int main(int argc, char **argv)
{
    int expect = 0, progress = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--expect-violation")) {
            expect = 1;
            continue;
        }
        if (!strcmp(a, "--progress")) {
            progress = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            usage(0);
        if (!v)
            usage(2);
        i++;
        if (!strcmp(a, "--rule")) {
            if (!strcmp(v, "classic"))
                rule = RULE_CLASSIC;
            else if (!strcmp(v, "votes"))
                rule = RULE_VOTES;
            else
                usage(2);
        } else if (!strcmp(a, "--bug")) {
            int found = 0;
            for (int b = 0; b < (int)(sizeof bug_names / sizeof *bug_names); b++)
                if (!strcmp(v, bug_names[b])) {
                    bug = b;
                    found = 1;
                }
            if (!found)
                usage(2);
        } else if (!strcmp(a, "--replicas")) {
            nr = count_arg(v, MAXR);
            if (nr < 1)
                usage(2);
        } else if (!strcmp(a, "--coordinator-crashes")) {
            max_c_crashes = count_arg(v, 9);
        } else if (!strcmp(a, "--replica-crashes")) {
            max_r_crashes = count_arg(v, 9);
        } else if (!strcmp(a, "--drops")) {
            max_drops = count_arg(v, 9);
        } else {
            usage(2);
        }
    }
    all_mask = (uint8_t)((1u << nr) - 1);
    struct st init;
    memset(&init, 0, sizeof init);
    init.c_up = 1;
    for (int r = 0; r < nr; r++)
        init.r_up[r] = 1;
    visit(&init, -1, NULL, -1, -1);
    const char *bad = NULL;
    size_t k;
    for (k = 0; k < n_nodes && !bad; k++) {
        cur = (int32_t)k;
        if (progress && k && k % 1000000 == 0)
            fprintf(stderr, "twopc-model: %zu states explored, %zu found\n", k, n_nodes);
        struct st s = nodes[k].s;
        if ((bad = violated(&s)) != NULL)
            break;
        coordinator_steps(&s);
        for (int r = 0; r < nr; r++)
            replica_steps(&s, r);
        network_steps(&s);
    }
    printf("twopc-model: rule %s, bug %s, %d replicas, %d rounds, crashes <= %d coordinator "
           "/ %d per replica, drops <= %d: %zu states\n",
           rule == RULE_CLASSIC ? "classic" : "votes", bug_names[bug], nr, NT, max_c_crashes,
           max_r_crashes, max_drops, n_nodes);
    if (bad) {
        printf("VIOLATION %s, after:\n", bad);
        print_trace((int32_t)k);
    } else {
        printf("every invariant holds in every reachable state\n");
    }
    free(nodes);
    free(table);
    if (expect)
        return bad ? 0 : 1;
    return bad ? 1 : 0;
}
