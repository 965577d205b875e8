/* txn_members.c -- the cluster's identity and its replica set: who must vote, who may be
 * read from, and how that changes (see txn.h, "the replica set").
 *
 * Identity. A cluster id is created with the decision log (CLUSTER <id>, the log's first
 * record, kept by every compaction). Each member has a replica id, given when it joins;
 * the replica keeps both with its data (replica/store.c) and reports them in TPC.HELLO. A
 * replica is trusted only if it proves it is the member its link is for, in this cluster:
 *
 *   its TPC.HELLO says                         what happens
 *   this cluster, this member, in-sync         txn_link_hello's own checks (missing_data)
 *   this cluster, this member, left out        repair: it missed rounds since it left
 *   this cluster, another member id           repair: the folder is another replica's
 *   no identity, member never identified       adopted if its data is complete (a new
 *     ("fresh": a new cluster, an upgrade)      cluster's first start): TPC.IDENTIFY
 *   no identity, member identified before      repair: its folder is new or was wiped
 *   another cluster, no data                   as "no identity"
 *   another cluster, with data, this log has   io.fatal: the decision log was lost or
 *     never committed a round                   replaced (refuse to presume anything)
 *   another cluster, with data, otherwise      refused, not repaired automatically (a
 *                                               typo in an address must not overwrite
 *                                               another cluster's data); wipe it to let
 *                                               it be repaired
 *
 * Configuration. MEMBERS <epoch> <next id> {<id> <addr> <state> <epoch>}* in the decision
 * log (after CLUSTER, and CONFIGURED <addr>...: the replica list given at the last start,
 * so that a start applies only what changed in that list and never undoes a change made
 * online since), written and synced before a change takes effect (a crash in the middle leaves the
 * old configuration or the new one, never half). State "in" (in sync: votes, may serve
 * reads), "fresh" (in sync, not identified yet) or "out" (left out, or added: votes and
 * reads only after a repair, which puts it back in at a new epoch). A round needs the
 * votes and acknowledgements of the members in sync when it started (struct round.need);
 * one that leaves is struck from every round's need, so rounds end without it, and its
 * return finds it out of sync: a full repair, never a trust of what it held.
 *
 * The watchdog (every WATCH_MS) notes how long each member's link has not been READY: with
 * min_replicas K > 0, an in-sync member down for down_after_ms is left out when at least
 * K others stay in. It also ends start-up's loading state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "log.h"
#include "txn_internal.h"
#include "util.h"

#define WATCH_MS 100

static const char *const member_state_names[MEMBER_STATE_MAX] = { "none", "in-sync", "out" };

int txn_in_sync(const struct txn *t, int i)
{
    return i >= 0 && i < t->nlinks && t->member[i].state == MEMBER_IN;
}

static int count_in_sync(const struct txn *t)
{
    int n = 0;
    for (int i = 0; i < t->nlinks; i++)
        n += t->member[i].state == MEMBER_IN;
    return n;
}

/* ---- the records ---- */

int txn_members_write(struct txn *t, struct wal *w)
{
    char num[24];
    const char *argv[3 + 4 * TXN_MAX_REPLICAS];
    size_t lens[3 + 4 * TXN_MAX_REPLICAS];
    char nums[2 + 2 * TXN_MAX_REPLICAS][24];
    argv[0] = "CLUSTER", lens[0] = 7;
    argv[1] = num, lens[1] = util_u64_to_str(t->cluster_id, num);
    if (wal_append(w, 2, argv, lens) < 0)
        return -1;
    argv[0] = "CONFIGURED", lens[0] = 10;
    for (int c = 0; c < t->nconfigured; c++)
        argv[1 + c] = t->configured[c], lens[1 + c] = strlen(t->configured[c]);
    if (wal_append(w, 1 + t->nconfigured, argv, lens) < 0)
        return -1;
    int a = 0, k = 0;
    argv[a] = "MEMBERS", lens[a++] = 7;
    argv[a] = nums[k], lens[a++] = util_u64_to_str(t->epoch, nums[k]), k++;
    argv[a] = nums[k], lens[a++] = util_u64_to_str(t->next_member_id, nums[k]), k++;
    for (int i = 0; i < t->nlinks; i++) { /* an empty slot too: slots keep their place */
        const struct member *m = &t->member[i];
        argv[a] = nums[k], lens[a++] = util_u64_to_str(m->id, nums[k]), k++;
        argv[a] = m->state == MEMBER_NONE ? "-" : m->addr, lens[a] = strlen(argv[a]), a++;
        argv[a] = m->state == MEMBER_NONE  ? "none"
                  : m->state == MEMBER_OUT ? "out"
                  : m->fresh               ? "fresh"
                                           : "in";
        lens[a] = strlen(argv[a]), a++;
        argv[a] = nums[k], lens[a++] = util_u64_to_str(m->epoch, nums[k]), k++;
    }
    return wal_append(w, a, argv, lens);
}

/* Writes the configuration and syncs the log. No round may commit under a replica set a
 * crash could take back, so when the sync fails (a full or failing disk: the log keeps the
 * record and retries, journal.c) every write is refused with MISCONF (txn_log_refuses)
 * until txn_members_tick finds it durable; reads go on (a member left out is read from no
 * more, one taken back in is complete), and nothing exits (#13: no crash loop). */
static int write_config(struct txn *t)
{
    char err[256];
    if (txn_members_write(t, t->log) < 0) {
        LOG_WARNING("decision log: can't append the replica set (out of memory); exiting");
        exit(1);
    }
    if (wal_sync(t->log, err, sizeof err) == 0)
        return 0;
    if (!t->config_undurable)
        LOG_WARNING("decision log: the replica set change is not durable (%s); writes are "
                    "refused until it is", err);
    t->config_undurable = 1;
    return -1;
}

/* REPLICASET ADD / REMOVE / REPLACE: refused while the decision log fails; a change whose
 * sync fails is made, and reported so (it becomes durable when the disk recovers). */
#define CONFIG_UNDURABLE "MISCONF Errors writing to the decision log of the coordinator: the " \
    "replica set change is made but not durable yet; it is retried, and writes are refused " \
    "until it is durable"
static int config_refuses(struct txn *t, char *err, size_t errlen)
{
    if (!txn_log_refuses(t, err, errlen))
        return 0;
    size_t n = strlen(err);
    snprintf(err + n, errlen > n ? errlen - n : 0, " (the replica set cannot change now)");
    return 1;
}

/* The tick's retry of a replica set change that failed to sync (write_config). */
static void retry_config_sync(struct txn *t)
{
    char err[256];
    if (wal_sync(t->log, err, sizeof err) < 0)
        return;
    t->config_undurable = 0;
    LOG_NOTICE("decision log: the replica set change is durable now; writes resume");
    txn_timer_arm(t, t->kick, 0);
}

int txn_members_replay(struct txn *t, int argc, char **argv, size_t *lens)
{
    uint64_t v;
    if (strcmp(argv[0], "CLUSTER") == 0) {
        if (argc != 2 || util_parse_u64(argv[1], lens[1], &v) < 0 || v == 0)
            return -1;
        t->cluster_id = v;
        return 0;
    }
    if (strcmp(argv[0], "CONFIGURED") == 0) {
        if (argc - 1 > TXN_MAX_REPLICAS)
            return -1;
        for (int c = 1; c < argc; c++) {
            if (lens[c] == 0 || lens[c] >= TXN_ADDR_MAX)
                return -1;
            memcpy(t->configured[c - 1], argv[c], lens[c] + 1);
        }
        t->nconfigured = argc - 1;
        return 0;
    }
    /* MEMBERS */
    if (argc < 3 || (argc - 3) % 4 != 0 || (argc - 3) / 4 > TXN_MAX_REPLICAS)
        return -1;
    uint64_t epoch, next;
    if (util_parse_u64(argv[1], lens[1], &epoch) < 0 ||
        util_parse_u64(argv[2], lens[2], &next) < 0)
        return -1;
    struct member ms[TXN_MAX_REPLICAS];
    int n = (argc - 3) / 4;
    memset(ms, 0, sizeof ms);
    for (int k = 0; k < n; k++) {
        char **f = argv + 3 + 4 * k;
        size_t *fl = lens + 3 + 4 * k;
        struct member *m = &ms[k];
        if (util_parse_u64(f[0], fl[0], &m->id) < 0 || fl[1] == 0 || fl[1] >= TXN_ADDR_MAX ||
            util_parse_u64(f[3], fl[3], &m->epoch) < 0)
            return -1;
        memcpy(m->addr, f[1], fl[1]);
        if (strcmp(f[2], "in") == 0)
            m->state = MEMBER_IN;
        else if (strcmp(f[2], "fresh") == 0)
            m->state = MEMBER_IN, m->fresh = 1;
        else if (strcmp(f[2], "out") == 0)
            m->state = MEMBER_OUT;
        else if (strcmp(f[2], "none") == 0)
            memset(m, 0, sizeof *m);
        else
            return -1;
    }
    memcpy(t->member, ms, sizeof ms);
    t->nlinks = n;
    t->epoch = epoch;
    t->next_member_id = next;
    return 0;
}

/* ---- set-up ---- */

static int valid_addr(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    uint64_t port;
    return colon && colon != addr && strlen(addr) < TXN_ADDR_MAX &&
           util_parse_u64(colon + 1, strlen(colon + 1), &port) == 0 && port > 0 &&
           port < 65536;
}

static int find_addr(const struct txn *t, const char *addr)
{
    for (int i = 0; i < t->nlinks; i++)
        if (t->member[i].state != MEMBER_NONE && strcmp(t->member[i].addr, addr) == 0)
            return i;
    return -1;
}

/* A free slot, or -1. */
static int free_slot(struct txn *t)
{
    for (int i = 0; i < t->nlinks; i++)
        if (t->member[i].state == MEMBER_NONE)
            return i;
    return t->nlinks < TXN_MAX_REPLICAS ? t->nlinks++ : -1;
}

/* Puts a new member in slot i (its state set by the caller). */
static void member_init(struct txn *t, int i, const char *addr, enum member_state state)
{
    struct member *m = &t->member[i];
    memset(m, 0, sizeof *m);
    m->state = state;
    m->id = t->next_member_id++;
    m->epoch = t->epoch;
    snprintf(m->addr, sizeof m->addr, "%s", addr);
    m->unready_since = t->started ? t->io.mono_ms(t->io.ctx) : 0;
    t->durable[i] = 0;
    t->hello_seen[i] = 0;
    t->repair_wanted[i] = 0;
}

/* Strikes link i from every round's need: it no longer votes or acknowledges. A round in
 * flight that still waits for its vote is aborted (with every later one). */
static void strike_from_rounds(struct txn *t, int i, const char *why)
{
    struct round *first_waiting = NULL;
    for (struct round *rd = t->qhead; rd; rd = rd->qnext) {
        if (!rd->need[i])
            continue;
        if (!rd->voted[i] && !rd->all_yes && !rd->ticket) {
            if (!first_waiting)
                first_waiting = rd;
            continue;
        }
        rd->need[i] = 0;
        rd->nneed--;
    }
    if (first_waiting)
        txn_round_abort(first_waiting, why); /* its need goes with it */
    for (struct round *rd = t->unacked; rd; rd = rd->next) {
        if (!rd->need[i])
            continue;
        rd->need[i] = 0;
        rd->nneed--;
        if (!rd->acked[i])
            rd->acks_missing--;
        rd->acked[i] = 0;
    }
    t->durable[i] = 0;
    txn_end_durable_rounds(t);
}

/* Whether addr was in the list configured at the last start. */
static int was_configured(const struct txn *t, const char *addr)
{
    for (int c = 0; c < t->nconfigured; c++)
        if (strcmp(t->configured[c], addr) == 0)
            return 1;
    return 0;
}

static int in_list(const char *const *addrs, int naddrs, const char *addr)
{
    for (int k = 0; k < naddrs; k++)
        if (strcmp(addrs[k], addr) == 0)
            return 1;
    return 0;
}

int txn_members_init(struct txn *t, const char *const *addrs, int naddrs, char *err,
                     size_t errlen)
{
    for (int k = 0; k < naddrs; k++) {
        if (!valid_addr(addrs[k])) {
            snprintf(err, errlen, "bad replica address '%s' (want host:port)", addrs[k]);
            return -1;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(addrs[j], addrs[k]) == 0) {
                snprintf(err, errlen, "replica %s is listed twice", addrs[k]);
                return -1;
            }
    }
    if (naddrs > TXN_MAX_REPLICAS) {
        snprintf(err, errlen, "at most %d replicas", TXN_MAX_REPLICAS);
        return -1;
    }
    int changed = 0; /* write the records only when something is new */
    if (!t->cluster_id) {
        changed = 1;
        int legacy = t->next_rid > 1 || t->unacked || t->ended_max;
        t->cluster_id = (t->io.random(t->io.ctx) & INT64_MAX) | 1;
        LOG_NOTICE("%s: cluster id %016" PRIx64,
                   legacy ? "decision log from before cluster ids (kept): its replicas are "
                            "identified when they say hello with complete data"
                          : "new cluster",
                   t->cluster_id);
    }
    if (t->nlinks == 0) { /* a new cluster, or a log from before replica sets */
        changed = 1;
        t->epoch = 1;
        t->next_member_id = 1;
        for (int k = 0; k < naddrs; k++) {
            int i = free_slot(t);
            member_init(t, i, addrs[k], MEMBER_IN);
            t->member[i].fresh = 1;
        }
    } else {
        /* The durable configuration wins; what changed in the configured list since the
         * last start is applied to it (so online changes made since are kept). */
        int members_changed = 0;
        for (int i = 0; i < t->nlinks; i++) {
            if (t->member[i].state == MEMBER_NONE || !was_configured(t, t->member[i].addr) ||
                in_list(addrs, naddrs, t->member[i].addr))
                continue; /* not configured before (added online), or still configured */
            LOG_WARNING("replica %s (id %" PRIu64 ") is no longer configured: removing it "
                        "from the replica set", t->member[i].addr, t->member[i].id);
            t->member[i].state = MEMBER_NONE;
            members_changed = 1;
        }
        for (int k = 0; k < naddrs; k++) {
            if (find_addr(t, addrs[k]) >= 0 || was_configured(t, addrs[k]))
                continue; /* a member, or configured before and removed online since */
            int i = free_slot(t);
            if (i < 0) {
                snprintf(err, errlen, "at most %d replicas", TXN_MAX_REPLICAS);
                return -1;
            }
            member_init(t, i, addrs[k], MEMBER_OUT);
            LOG_WARNING("replica %s is newly configured: it joins as replica id %" PRIu64
                        " through a full copy from a healthy replica", addrs[k],
                        t->member[i].id);
            members_changed = 1;
        }
        if (count_in_sync(t) == 0) {
            snprintf(err, errlen, "none of the configured replicas is an in-sync member of "
                     "this cluster (its decision log knows them by address; see REPLICASET "
                     "LIST before changing addresses): refusing to start without one");
            return -1;
        }
        if (members_changed)
            t->epoch++;
        changed |= members_changed;
    }
    changed |= t->nconfigured != naddrs; /* (none recorded yet: 0, and naddrs >= 1) */
    for (int k = 0; k < naddrs && !changed; k++)
        changed = strcmp(t->configured[k], addrs[k]) != 0;
    t->nconfigured = naddrs;
    for (int k = 0; k < naddrs; k++)
        snprintf(t->configured[k], TXN_ADDR_MAX, "%s", addrs[k]);
    if (changed)
        write_config(t);
    /* Replayed rounds need the members in sync now (MEMBERS may have come after them). */
    for (struct round *rd = t->unacked; rd; rd = rd->next) {
        txn_round_need_in_sync(rd);
        rd->acks_missing = rd->nneed;
    }
    LOG_NOTICE("replica set: epoch %" PRIu64 ", %d replicas, %d in sync, min-replicas %d",
               t->epoch, txn_members(t, NULL), count_in_sync(t), t->min_replicas);
    return 0;
}

/* ---- TPC.HELLO ---- */

/* No round ever committed in this cluster (so a log that is new). */
static int never_committed(const struct txn *t)
{
    return t->next_rid == 1 && !t->unacked && t->ended_max == 0;
}

static void on_notice_reply(void *arg, int i, const struct link_reply *r)
{
    (void)arg, (void)i, (void)r;
}

/* Tells the replica at link i, for its own log (TPC.NOTICE). */
static void tell(struct txn *t, int i, const char *text)
{
    const char *argv[2] = { "TPC.NOTICE", text };
    size_t lens[2] = { 10, strlen(text) };
    txn_send(t, i, 2, argv, lens, on_notice_reply, NULL);
}

void txn_member_needs_repair(struct txn *t, int i, const char *why)
{
    struct member *m = &t->member[i];
    snprintf(m->why, sizeof m->why, "%s", why);
    LOG_WARNING("replica %s needs repair: %s; it serves no reads and takes no rounds until "
                "it is repaired (from a healthy replica, automatically; replica id %" PRIu64
                ")", m->addr, why, m->id);
    char text[400];
    snprintf(text, sizeof text, "this replica needs repair: %s; its data is replaced by a "
             "copy from a healthy replica", why);
    tell(t, i, text);
    txn_repair_want(t, i, 1);
}

/* What TPC.IDENTIFY carries to its reply: which member of which engine it was for. */
struct identify_call {
    struct txn *t;
    uint64_t id;
};

static void on_identify(void *arg, int i, const struct link_reply *r)
{
    struct identify_call call = *(struct identify_call *)arg;
    struct txn *t = call.t;
    free(arg);
    struct member *m = &t->member[i];
    if (t->closing || m->state == MEMBER_NONE || m->id != call.id)
        return; /* the member left meanwhile */
    if (r && !link_reply_is_error(r) && m->fresh) {
        /* Durable there now: only from here may a replica without identity at this slot
         * be taken for a wiped one (else a crash before the replica's checkpoint would
         * leave every replica of a new cluster unidentified, and none to repair from). */
        m->fresh = 0;
        m->hello_cluster = t->cluster_id; /* what it now holds (INFO shows it) */
        m->hello_id = m->id;
        write_config(t);
    } else if (r && link_reply_is_error(r)) {
        size_t len = 0;
        const char *msg = link_reply_str(r, &len);
        LOG_WARNING("replica %s refused its identity: %.*s", t->io.addr(t->io.ctx, i),
                    (int)len, msg ? msg : "?");
        t->io.drop(t->io.ctx, i, "it refused TPC.IDENTIFY");
    }
}

/* A fresh member's replica, complete: gives it this cluster's identity. The member stays
 * fresh until the replica confirms it holds the identity durably (on_identify). */
void txn_member_hello_done(struct txn *t, int i, const struct link_hello *h)
{
    struct member *m = &t->member[i];
    if (!m->fresh)
        return;
    if (h->cluster == t->cluster_id && h->member == m->id) {
        m->fresh = 0; /* it had it already (the log lost the change, or an upgrade) */
        write_config(t);
        return;
    }
    char c[24], id[24];
    const char *argv[3] = { "TPC.IDENTIFY", c, id };
    size_t lens[3] = { 12, util_u64_to_str(t->cluster_id, c), util_u64_to_str(m->id, id) };
    struct identify_call *call = malloc(sizeof *call);
    if (!call)
        return; /* it stays fresh: its next TPC.HELLO tries again */
    *call = (struct identify_call){ t, m->id };
    if (txn_send(t, i, 3, argv, lens, on_identify, call) < 0) {
        free(call);
        return;
    }
    LOG_NOTICE("replica %s joins cluster %016" PRIx64 " as replica id %" PRIu64, m->addr,
               t->cluster_id, m->id);
}

int txn_members_hello(struct txn *t, int i, const struct link_hello *h)
{
    struct member *m = &t->member[i];
    char why[640];
    int has_data = h->applied > 0 || h->n_in_doubt > 0;
    m->hello_cluster = h->cluster;
    m->hello_id = h->member;
    m->applied = h->applied;
    m->why[0] = '\0';
    why[0] = '\0';
    if (FAILPOINT_ON("coord.bug.trust_lost_data"))
        return 2; /* a deliberate bug, for the simulator: trusted whatever it holds */
    if (h->cluster && h->cluster != t->cluster_id && has_data) {
        if (never_committed(t)) {
            snprintf(why, sizeof why, "replica %s holds data of cluster %016" PRIx64 " "
                     "(applied round %" PRIu64 "), but this decision log is new (cluster %016"
                     PRIx64 ", no round committed): the coordinator's decision.log was lost or "
                     "replaced. Refusing to decide rounds: restore the latest decision.log; or, "
                     "to start the cluster over, remove every replica's data too", m->addr,
                     h->cluster, h->applied, t->cluster_id);
            t->io.fatal(t->io.ctx, why);
            return -1;
        }
        snprintf(m->why, sizeof m->why, "it belongs to another cluster (%016" PRIx64 ", "
                 "replica %" PRIu64 ", applied round %" PRIu64 "): not repaired automatically; "
                 "to make it a replica of this cluster, stop it and remove its data folder",
                 h->cluster, h->member, h->applied);
        LOG_WARNING("replica %s refused: %s", m->addr, m->why);
        tell(t, i, m->why);
        return 1;
    }
    int identified = h->cluster == t->cluster_id && h->cluster != 0;
    if (!identified && !m->fresh)
        snprintf(why, sizeof why, "%s",
                 h->cluster ? "it held another cluster's (empty) data"
                            : "it has no identity: its data folder is new or was wiped");
    else if (identified && h->member != m->id)
        snprintf(why, sizeof why, "it is replica id %" PRIu64 " of this cluster, not %" PRIu64
                 " (its data folder is another replica's)", h->member, m->id);
    else if (m->state == MEMBER_OUT && !FAILPOINT_ON("coord.bug.trust_left_out"))
        snprintf(why, sizeof why, "it is out of the in-sync set (since epoch %" PRIu64 "): "
                 "it may have missed rounds", m->epoch);
    if (why[0]) {
        txn_member_needs_repair(t, i, why);
        return 1;
    }
    if (m->state == MEMBER_OUT) { /* only with the deliberate bug: back in, unrepaired */
        m->state = MEMBER_IN;
        m->epoch = ++t->epoch;
        write_config(t);
        return 2;
    }
    return 0;
}

/* ---- changes ---- */

void txn_member_rejoin(struct txn *t, int i)
{
    struct member *m = &t->member[i];
    m->why[0] = '\0';
    m->fresh = 0;
    m->unready_since = t->io.mono_ms(t->io.ctx); /* writes wait for its reconnection */
    t->durable[i] = t->repair.round;
    if (m->state == MEMBER_IN)
        return;
    m->state = MEMBER_IN;
    m->epoch = ++t->epoch;
    write_config(t);
    LOG_NOTICE("replica %s (id %" PRIu64 ") is in sync again: epoch %" PRIu64 ", %d in-sync "
               "replicas", m->addr, m->id, t->epoch, count_in_sync(t));
}

/* Leaves in-sync member i out of the set (a new epoch, durable first). */
static void leave_out(struct txn *t, int i, const char *why)
{
    struct member *m = &t->member[i];
    m->state = MEMBER_OUT;
    m->epoch = ++t->epoch;
    snprintf(m->why, sizeof m->why, "left out of the in-sync set: %s", why);
    write_config(t);
    LOG_WARNING("replica %s (id %" PRIu64 ") left out of the in-sync set at epoch %" PRIu64
                ": %s; writes go on with %d in-sync replicas (min-replicas %d); it rejoins "
                "through a full repair", m->addr, m->id, t->epoch, why, count_in_sync(t),
                t->min_replicas);
    txn_repair_forget(t, i);
    strike_from_rounds(t, i, "NOREPLICAS Not enough good replicas to write: a replica left the "
                             "in-sync set during the write");
    /* A connected but stalled replica: its next TPC.HELLO finds it out of sync. */
    if (t->started)
        t->io.drop(t->io.ctx, i, "left out of the in-sync set");
    txn_kick(t);
}

/* Whether in-sync member i may be left out: min_replicas other in-sync members are READY
 * now. Counting members that are down too would shrink the set to replicas nobody has
 * heard from -- and if one of them then comes back having lost its disk, no complete copy
 * is left in the set to repair from, though the one left out had every round (found by
 * the simulator: --rollback 20 --min-replicas 1 --members 10, 42 of 2,000 seeds never
 * came back). */
static int can_leave(const struct txn *t, int i)
{
    if (t->min_replicas <= 0)
        return 0;
    int ready = 0;
    for (int k = 0; k < t->nlinks; k++)
        if (k != i && txn_in_sync(t, k) &&
            !t->io.unready(t->io.ctx, k, (uint64_t)t->prepare_timeout_ms))
            ready++;
    return ready >= t->min_replicas;
}

/* Member named by which: a replica id (digits) or an address. */
static int find_member(const struct txn *t, const char *which)
{
    uint64_t id;
    if (util_parse_u64(which, strlen(which), &id) == 0) {
        for (int i = 0; i < t->nlinks; i++)
            if (t->member[i].state != MEMBER_NONE && t->member[i].id == id)
                return i;
        return -1;
    }
    return find_addr(t, which);
}

static int check_new_addr(struct txn *t, const char *addr, char *err, size_t errlen)
{
    if (!valid_addr(addr)) {
        snprintf(err, errlen, "ERR bad replica address '%s' (want host:port)", addr);
        return -1;
    }
    if (find_addr(t, addr) >= 0) {
        snprintf(err, errlen, "ERR replica %s is already a member", addr);
        return -1;
    }
    return 0;
}

/* Whether another in-sync member than i holds complete data (it waits for no repair):
 * without one, removing i could leave no complete copy of the data. */
static int other_complete(const struct txn *t, int i)
{
    for (int k = 0; k < t->nlinks; k++)
        if (k != i && txn_in_sync(t, k) && !t->repair_wanted[k])
            return 1;
    return 0;
}

/* Takes member i out of the set for good (the caller writes the configuration). */
static void forget(struct txn *t, int i)
{
    struct member *m = &t->member[i];
    txn_repair_forget(t, i);
    txn_repair_want(t, i, 0);
    if (m->state == MEMBER_IN)
        strike_from_rounds(t, i, "NOREPLICAS Not enough good replicas to write: a replica was "
                                 "removed during the write");
    m->state = MEMBER_NONE;
}

static int add_at(struct txn *t, const char *addr, char *err, size_t errlen)
{
    int i = free_slot(t);
    if (i < 0) {
        snprintf(err, errlen, "ERR at most %d replicas", TXN_MAX_REPLICAS);
        return -1;
    }
    member_init(t, i, addr, MEMBER_OUT);
    return i;
}

int txn_member_add(struct txn *t, const char *addr, char *err, size_t errlen)
{
    if (config_refuses(t, err, errlen) || check_new_addr(t, addr, err, errlen) < 0)
        return -1;
    int i = add_at(t, addr, err, errlen);
    if (i < 0)
        return -1;
    t->epoch++;
    int durable = write_config(t) == 0;
    LOG_NOTICE("replica %s added as replica id %" PRIu64 " (epoch %" PRIu64 "): it joins "
               "through a full copy from a healthy replica", addr, t->member[i].id, t->epoch);
    if (t->started)
        t->io.link_open(t->io.ctx, i, t->member[i].addr);
    if (!durable) {
        snprintf(err, errlen, "%s", CONFIG_UNDURABLE);
        return -1;
    }
    return i;
}

int txn_member_remove(struct txn *t, const char *which, char *err, size_t errlen)
{
    if (config_refuses(t, err, errlen))
        return -1;
    int i = find_member(t, which);
    if (i < 0) {
        snprintf(err, errlen, "ERR no replica '%s' in the replica set", which);
        return -1;
    }
    if (t->member[i].state == MEMBER_IN && !other_complete(t, i)) {
        snprintf(err, errlen, "ERR replica %s is the only in-sync replica with complete data: "
                 "add another and let it be repaired first", t->member[i].addr);
        return -1;
    }
    uint64_t id = t->member[i].id;
    char addr[TXN_ADDR_MAX];
    snprintf(addr, sizeof addr, "%s", t->member[i].addr);
    forget(t, i);
    t->epoch++;
    int durable = write_config(t) == 0;
    LOG_NOTICE("replica %s (id %" PRIu64 ") removed from the replica set (epoch %" PRIu64 ")",
               addr, id, t->epoch);
    if (t->started)
        t->io.link_close(t->io.ctx, i);
    txn_kick(t);
    if (!durable) {
        snprintf(err, errlen, "%s", CONFIG_UNDURABLE);
        return -1;
    }
    return 0;
}

int txn_member_replace(struct txn *t, const char *which, const char *addr, char *err,
                       size_t errlen)
{
    if (config_refuses(t, err, errlen))
        return -1;
    int old = find_member(t, which);
    if (old < 0) {
        snprintf(err, errlen, "ERR no replica '%s' in the replica set", which);
        return -1;
    }
    if (check_new_addr(t, addr, err, errlen) < 0)
        return -1;
    if (t->member[old].state == MEMBER_IN && !other_complete(t, old)) {
        snprintf(err, errlen, "ERR replica %s is the only in-sync replica with complete data: "
                 "nothing could repair its replacement; add the new one first, then remove it",
                 t->member[old].addr);
        return -1;
    }
    char old_addr[TXN_ADDR_MAX];
    snprintf(old_addr, sizeof old_addr, "%s", t->member[old].addr);
    forget(t, old);
    int i = add_at(t, addr, err, errlen); /* cannot fail: old's slot is free */
    t->epoch++;
    int durable = write_config(t) == 0; /* one record: the old one out and the new in */
    LOG_NOTICE("replica %s replaced by %s, replica id %" PRIu64 " (epoch %" PRIu64 "): it "
               "joins through a full copy from a healthy replica", old_addr, addr,
               t->member[i].id, t->epoch);
    if (t->started) {
        t->io.link_close(t->io.ctx, old);
        t->io.link_open(t->io.ctx, i, t->member[i].addr);
    }
    txn_kick(t);
    if (!durable) {
        snprintf(err, errlen, "%s", CONFIG_UNDURABLE);
        return -1;
    }
    return i;
}

/* ---- the watchdog, waits, loading ---- */

/* Notes whether link i is READY now; returns how long it has not been (ms, 0 if READY). */
static uint64_t unready_for(struct txn *t, int i, uint64_t now)
{
    struct member *m = &t->member[i];
    if (!t->io.unready(t->io.ctx, i, (uint64_t)t->prepare_timeout_ms)) {
        m->unready_since = 0;
        return 0;
    }
    if (!m->unready_since)
        m->unready_since = now;
    return now - m->unready_since;
}

int txn_member_may_wait(struct txn *t, int i, int *ms_left)
{
    uint64_t now = t->io.mono_ms(t->io.ctx);
    uint64_t down = unready_for(t, i, now);
    uint64_t limit = (uint64_t)t->write_wait_ms;
    if (can_leave(t, i) && (uint64_t)t->down_after_ms + 2 * WATCH_MS > limit)
        limit = (uint64_t)t->down_after_ms + 2 * WATCH_MS; /* until it is left out */
    if (down >= limit)
        return 0;
    *ms_left = (int)(limit - down);
    return 1;
}

/* The first in-sync member start-up still waits for (not said hello, or not READY), or
 * -1. */
static int loading_waits_for(const struct txn *t)
{
    for (int i = 0; i < t->nlinks; i++)
        if (txn_in_sync(t, i) && (!t->hello_seen[i] || t->io.unready(t->io.ctx, i, UINT64_MAX)))
            return i;
    return -1;
}

static void check_loaded(struct txn *t, uint64_t now)
{
    if (t->loaded || !t->started)
        return;
    int waiting = loading_waits_for(t);
    if (waiting < 0) {
        t->loaded = 1;
        LOG_NOTICE("ready: every in-sync replica is up, in %" PRIu64 " ms", now - t->start_ms);
    } else if (now - t->start_ms >= (uint64_t)t->write_wait_ms) {
        t->loaded = 1;
        LOG_WARNING("start-up: replica %s is still %s after %d ms; serving without it",
                    t->member[waiting].addr,
                    t->io.unready(t->io.ctx, waiting, UINT64_MAX) ?: "syncing",
                    t->write_wait_ms);
    }
}

void txn_members_tick(void *arg)
{
    struct txn *t = arg;
    if (t->closing)
        return;
    uint64_t now = t->io.mono_ms(t->io.ctx);
    if (t->config_undurable)
        retry_config_sync(t);
    for (int i = 0; i < t->nlinks; i++) {
        if (t->member[i].state == MEMBER_NONE)
            continue;
        uint64_t down = unready_for(t, i, now);
        if (t->member[i].state == MEMBER_IN && down >= (uint64_t)t->down_after_ms &&
            can_leave(t, i)) {
            char why[128];
            snprintf(why, sizeof why, "%s for %" PRIu64 " ms",
                     t->io.unready(t->io.ctx, i, (uint64_t)t->prepare_timeout_ms) ?: "down",
                     down);
            leave_out(t, i, why);
        }
    }
    check_loaded(t, now);
    txn_timer_arm(t, t->watch, WATCH_MS);
}

const char *txn_loading(struct txn *t, char *buf, size_t len)
{
    check_loaded(t, t->io.mono_ms(t->io.ctx));
    if (t->loaded)
        return NULL;
    int i = loading_waits_for(t);
    if (i < 0)
        snprintf(buf, len, "starting");
    else
        snprintf(buf, len, "waiting for replica %s (%s)", t->member[i].addr,
                 t->io.unready(t->io.ctx, i, UINT64_MAX) ?: "syncing");
    return buf;
}

/* ---- settings and reports ---- */

const char *txn_audit(const struct txn *t, char *buf, size_t len)
{
    for (const struct round *rd = t->unacked; rd; rd = rd->next) {
        if (rd->replayed)
            continue;
        for (int i = 0; i < t->nlinks; i++)
            if (rd->need[i] && !rd->voted[i]) {
                snprintf(buf, len, "round %" PRIu64 " committed without the vote of in-sync "
                         "replica %s (epoch %" PRIu64 ")", rd->rid, t->member[i].addr,
                         t->epoch);
                return buf;
            }
    }
    return NULL;
}

void txn_set_min_replicas(struct txn *t, int k) { t->min_replicas = k > 0 ? k : 0; }
int txn_min_replicas(const struct txn *t) { return t->min_replicas; }
void txn_set_down_after(struct txn *t, int ms) { t->down_after_ms = ms > 0 ? ms : 1; }
void txn_set_write_wait(struct txn *t, int ms) { t->write_wait_ms = ms >= 0 ? ms : 0; }
uint64_t txn_cluster_id(const struct txn *t) { return t->cluster_id; }
uint64_t txn_epoch(const struct txn *t) { return t->epoch; }

int txn_members(const struct txn *t, int *in_sync)
{
    int n = 0;
    for (int i = 0; i < t->nlinks; i++)
        n += t->member[i].state != MEMBER_NONE;
    if (in_sync)
        *in_sync = count_in_sync(t);
    return n;
}

int txn_member_get(const struct txn *t, int i, struct txn_member_info *mi)
{
    if (i < 0 || i >= t->nlinks || t->member[i].state == MEMBER_NONE)
        return -1;
    const struct member *m = &t->member[i];
    const char *un = t->io.unready(t->io.ctx, i, UINT64_MAX);
    *mi = (struct txn_member_info){ m->id, m->addr, member_state_names[m->state],
                                    un ? (t->repair_wanted[i] || m->why[0] ? "repair" : un)
                                       : "ready",
                                    m->epoch, m->hello_cluster, m->hello_id, m->applied,
                                    m->why };
    return 0;
}
