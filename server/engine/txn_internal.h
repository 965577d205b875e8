/* txn_internal.h -- what txn.c and txn_recovery.c share: the round and engine structs and
 * the helpers each file calls in the other. Nothing else includes it (the public API is
 * txn.h).
 *
 *     txn.c            batching, PREPARE, votes, the commit point, aborts, set-up
 *     txn_recovery.c   after the commit point and after a restart: COMMIT acknowledgements,
 *                      durable marks and END, decision-log compaction and replay, and the
 *                      TPC.HELLO resolution of a (re)connected replica's missed decisions
 *
 * The round state machine (states, transition table, invariants) is described in txn.c;
 * every state change goes through txn_set_state() there.
 */
#ifndef TWOPC_TXN_INTERNAL_H
#define TWOPC_TXN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "txn.h"
#include "wal.h"

enum round_state { ROUND_PREPARING, ROUND_COMMITTED, ROUND_ABORTED, ROUND_ENDED,
                   ROUND_STATE_MAX };

enum repair_state { REPAIR_IDLE, REPAIR_DRAINING, REPAIR_COPYING, REPAIR_FINISHING,
                    REPAIR_STATE_MAX };

/* The repair in progress (txn_repair.c has its state machine). */
struct txn_repair {
    enum repair_state state;
    int target, source;     /* link indexes, outside IDLE */
    uint64_t gen;           /* bumped when a repair ends: replies of an older one are stale */
    uint64_t round;         /* the round the copy is of (the source's applied round) */
    uint64_t cursor;        /* where the next TPC.DUMP starts (0 once the last chunk came) */
    int db;                 /* the database being copied (0 .. databases - 1, in turn) */
    uint64_t rows, bytes;   /* copied so far */
    uint64_t t0, progress_ms, reported_ms;
    struct txn_timer *timer;
};

enum member_state { MEMBER_NONE, MEMBER_IN, MEMBER_OUT, MEMBER_STATE_MAX };

#define TXN_ADDR_MAX 256

/* A slot of the replica set (txn_members.c). Durable: state, id, addr, epoch, fresh (the
 * decision log's MEMBERS record); the rest is learned from the link. */
struct member {
    enum member_state state;
    uint64_t id;             /* its replica id in this cluster */
    uint64_t epoch;          /* the epoch its state was set in */
    int fresh;               /* never identified yet: a replica without identity whose data
                              * is complete is adopted (a new cluster, or an upgrade) */
    char addr[TXN_ADDR_MAX];
    uint64_t unready_since;  /* mono ms its link was first seen not READY (0: READY) */
    uint64_t hello_cluster, hello_id, applied; /* from its last TPC.HELLO */
    int proto;               /* the protocol its link agreed to at that TPC.HELLO */
    uint64_t *in_doubt;      /* the rounds that TPC.HELLO listed in doubt (recovery from */
    size_t n_in_doubt;       /* votes), and whether it was heard since the start */
    int heard;
    char why[256];           /* why it waits for repair ("" if it does not) */
};

struct wop {
    struct op *op;
    txn_done_fn done; /* NULL: an internal op (txn_submit_internal), nobody waits */
    void *arg;
};

struct round {
    struct txn *t;
    uint64_t rid;
    enum round_state state;
    struct wop *ops;
    size_t nops;
    int votes_missing, acks_missing, refs;
    char *voted, *acked;     /* per link */
    char *need;              /* per link: its vote and acknowledgement count (the in-sync
                              * members when the round started; cleared for one that
                              * leaves the set) */
    int nneed;
    int replayed;            /* rebuilt from the decision log (no votes known) */
    struct record_buf results; /* encoded per-op results of the first YES vote */
    size_t *res_off;         /* nops + 1 offsets into results */
    int have_results, all_yes;
    int first_yes;           /* link index of the YES whose results are kept */
    /* The touched strings (txn.h, txn_commit_hook) of the first YES vote, raw, one after
     * the other; touched_off (nops + 1 offsets) is NULL when the PREPARE did not ask for
     * them (want_touched == 0) or a YES vote came without them. */
    int want_touched, want_gone; /* TOUCHED, TOUCHED GONE */
    struct record_buf touched;
    size_t *touched_off;
    /* The keys sent after WATCHED (n == 0 and no memory when none were). */
    struct txn_keys watched;
    uint64_t work_ms;        /* its size allowance (txn.c, round_work_ms): added to the
                              * prepare timeout and to the links' patience */
    uint64_t deadline_ms;    /* how long its votes may take: the timeout, its allowance and
                              * those of the rounds in flight ahead of it */
    uint64_t ticket;         /* ABORTED: its ABORT record went to the log thread with this
                              * ticket; it waits on t->aborting until that is durable */
    char *why;               /* the error its clients get once the ABORT is durable (the
                              * round that caused an abort; NULL for the ones it took along) */
    struct txn_timer *timer;
    struct round *next;      /* on t->unacked */
    struct round *qnext;     /* on the in-flight queue, or on t->aborting */
};
/* A round of an earlier incarnation that a replica holds in doubt, with no decision in the
 * log: decided from the in-sync members' durable votes (txn_recovery.c, "recovery from
 * votes"). vote[i]: 0 not heard yet, 'Y' holds it in doubt or applied it, 'N' neither. */
/* The gap between the last round id of a log an older release wrote and the first round
 * under the rule of durable votes: more than that release could have in flight. */
#define TXN_VOTES_GAP (1ULL << 20)
struct vote_recovery {
    uint64_t rid;
    char vote[TXN_MAX_REPLICAS];
};

struct txn {
    struct txn_io io;
    struct wal *log;
    int nlinks, rr, prepare_timeout_ms;
    struct wop *pending;
    size_t npending, cap;
    struct round *qhead, *qtail; /* rounds PREPARING, oldest first */
    int ninflight, max_inflight;
    struct round *unacked;
    /* Aborted rounds whose ABORT record is not durable yet, oldest first (on qnext): their
     * clients' errors and the replicas' TPC.ABORT wait for it, and so do new rounds (hold). */
    struct round *aborting, *aborting_tail;
    /* The commit rule of durable votes (docs/design.md). Every round up to decided_max has
     * a decision in the log (COMMIT, or ABORT / presumed abort); rounds from votes_from on
     * were run under the rule (a log of an older release: only later rounds). */
    uint64_t decided_max, votes_from;
    int issued;               /* this engine has started a round */
    uint64_t applied_star;    /* before that: the highest round a replica said it applied */
    int votes_seen;           /* the log had a VOTES record */
    struct vote_recovery *vr; /* rounds decided from votes, rising rid */
    size_t nvr;
    uint64_t work_until_ms; /* replicas may still be busy with a big round until then (mono) */
    int config_undurable;   /* a replica set change failed to sync: writes wait (txn_members.c) */
    struct txn_timer *kick;
    uint64_t next_rid;
    struct txn_stats st;
    int closing; /* txn_destroy is running: send nothing */
    int log_failing; /* the decision log could not make records durable last time: new
                      * writes are refused with MISCONF until it heals (docs/disk-errors.md) */
    uint64_t max_log_bytes, compacted_size;
    int hold; /* rounds may not start: a repair copies (txn_repair.c), or a failpoint bug
               * delays a COMMIT */
    uint64_t *durable; /* per link: highest round whose COMMIT is durable on that replica */
    uint64_t last_now_ms; /* the clock given to the last round */
    struct txn_timer *durable_poll; /* asks replicas for their durable mark when idle */
    struct txn_timer *lazy_commit;  /* hands the COMMIT records to the log thread */
    txn_commit_hook commit_hook;
    txn_commit_hook_wanted commit_hook_wanted;
    txn_commit_hook_keys commit_hook_keys;
    void *commit_hook_ctx;
    /* Recovery report: logged once every replica has said hello after start-up. */
    char *hello_seen;
    int recovery_logged;
    uint64_t recovery_t0, recovered_committed, recovered_aborted, max_aborted;
    /* Every committed round up to ended_max was durable on every replica (END, or the
     * decision log's ENDED record after a compaction): a replica whose data stops short of
     * it lost data. */
    uint64_t ended_max;
    char *repair_wanted; /* per link: its data is incomplete (a TPC.HELLO said so) */
    int repair_chunk;    /* keys per TPC.DUMP / TPC.RESTORE ROWS */
    int databases;       /* how many databases a repair copies (txn_set_databases; 1) */
    struct txn_repair repair;
    /* The replica set (txn_members.c). */
    struct member member[TXN_MAX_REPLICAS];
    uint64_t cluster_id, epoch, next_member_id;
    /* The replica addresses the operator configured at the last start (CONFIGURED): a
     * start applies only what changed in that list, never undoing online changes. */
    char configured[TXN_MAX_REPLICAS][TXN_ADDR_MAX];
    int nconfigured;
    int min_replicas, down_after_ms, write_wait_ms;
    int started, loaded;
    uint64_t start_ms;
    struct txn_timer *watch; /* the members' watchdog: down too long, loading */
};

/* ---- in txn.c ---- */

/* Asserts the per-state invariants of rd (debug builds). */
void txn_assert_round(const struct round *rd);
/* The one place a round changes state; asserts that the transition is allowed. */
void txn_set_state(struct round *rd, enum round_state to);
/* A round with no ops; NULL when out of memory. */
struct round *txn_round_new(struct txn *t, uint64_t rid, enum round_state state);
void txn_round_free(struct round *rd);
/* Sets rd's need (and nneed) to the members in sync now. */
void txn_round_need_in_sync(struct round *rd);
/* Starts rounds at the end of this loop turn (unless the engine is stopping). */
void txn_kick(struct txn *t);
/* Frees rd if it is ABORTED or ENDED and no callback still refers to it. */
void txn_round_maybe_free(struct round *rd);
void txn_unacked_remove(struct txn *t, struct round *rd);
/* Appends "<what> <rid>" to the decision log (not synced). Returns 0 or -1. */
int txn_log_record(struct txn *t, const char *what, uint64_t rid);
/* 1 with a MISCONF error in why if the decision log is failing (a full or failing disk),
 * or a replica set change is not durable yet (txn_members.c):
 * new writes are refused; 0 if it is healthy. */
int txn_log_refuses(struct txn *t, char *why, size_t whylen);
/* Sends argv to link i (formatted with link_format). Returns 0 (fn will run) or -1. */
int txn_send(struct txn *t, int i, int argc, const char *const *argv, const size_t *lens,
             txn_reply_fn fn, void *arg);
/* Sends "<cmd> <rid>" to one replica; rd is referenced until fn runs. */
void txn_send_decision(struct round *rd, int i, const char *cmd, txn_reply_fn fn);
/* The reply callback of TPC.ABORT (arg: the round, or NULL). */
void txn_on_abort_ack(void *arg, int i, const struct link_reply *r);
/* Aborts PREPARING round rd and every later one (txn.c's round_abort). */
void txn_round_abort(struct round *rd, const char *why);
/* Arms a timer for ms milliseconds (ms < 0: at the end of this loop turn). */
void txn_timer_arm(struct txn *t, struct txn_timer *tm, int ms);

/* ---- in txn_repair.c ---- */

/* The repair timer's callback: starts, watches and times out repairs. */
void txn_repair_tick(void *arg);
/* Link i said TPC.HELLO again: a repair copying from or to it starts over. */
void txn_repair_relinked(struct txn *t, int i);
/* Link i's member is gone or left the in-sync set: a repair to or from it stops. */
void txn_repair_forget(struct txn *t, int i);
/* Link i wants repair (want = 1), or no longer does (0). */
void txn_repair_want(struct txn *t, int i, int want);

/* ---- in txn_members.c ---- */

/* After the log's replay: creates the cluster id and first configuration of a new cluster,
 * or applies the configured addresses' differences to the durable one. 0, or -1 with err. */
int txn_members_init(struct txn *t, const char *const *addrs, int naddrs, char *err,
                     size_t errlen);
/* The decision log's CLUSTER and MEMBERS records (replay, and compaction). */
int txn_members_replay(struct txn *t, int argc, char **argv, size_t *lens);
int txn_members_write(struct txn *t, struct wal *w);
/* Link i's TPC.HELLO, as far as identity and membership go: 0 if it may be trusted (and
 * txn_link_hello goes on), 1 if it needs repair (why in the member's why), -1 after
 * io.fatal; 2 only with the deliberate bug coord.bug.trust_left_out (trusted whatever its
 * data). */
int txn_members_hello(struct txn *t, int i, const struct link_hello *h);
/* Link i's replica is incomplete (why): it waits for repair, and says so in its log. */
void txn_member_needs_repair(struct txn *t, int i, const char *why);
/* Link i's TPC.HELLO passed every check: a fresh member's replica is given its identity. */
void txn_member_hello_done(struct txn *t, int i, const struct link_hello *h);
/* A repair made the replica at link i complete at the copy's round: it rejoins the in-sync
 * set (a new epoch, durable). */
void txn_member_rejoin(struct txn *t, int i);
/* Whether start_round may wait for in-sync link i that is not READY (it went down less than
 * the bounded wait ago); *ms_left is how long still. */
int txn_member_may_wait(struct txn *t, int i, int *ms_left);
/* The watchdog timer's callback. */
void txn_members_tick(void *arg);

/* ---- in txn_recovery.c ---- */

/* The reply callback of TPC.COMMIT (arg: the round). */
void txn_on_commit_ack(void *arg, int i, const struct link_reply *r);
/* Ends every committed round that all its in-sync members acknowledged and hold durably. */
void txn_end_durable_rounds(struct txn *t);
/* Replica i reported its durable mark (in a vote, an acknowledgement or TPC.DURABLE). */
void txn_note_durable(struct txn *t, int i, long long durable);
/* The durable_poll timer's callback. */
void txn_durable_poll_cb(void *arg);
/* journal_open's replay callback for the decision log. */
int txn_replay_decision(void *ctx, int argc, char **argv, size_t *lens, uint64_t offset);

#endif
