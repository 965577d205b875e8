/* sim_internal.h -- what the simulator's files share: the world and its parts.
 *
 * The simulator (sim.h) is four files around one struct world, reached through the global
 * sim_w while a run is in progress (the engine's callbacks carry no context of ours):
 *
 *     sim.c          the world: randomness, violations and the trace, the event queue and
 *                    the loop (pauses), the faults, set-up and teardown
 *     sim_coord.c    the coordinator process: its struct txn_io (links, timers, clocks), the
 *                    links' connect / break / HELLO, its crash and restart, and what became
 *                    durable in each log
 *     sim_replica.c  replica processes: delivery through peer_dispatch, replies held until
 *                    their log ticket is durable, syncs, crash and restart, the per-round
 *                    digest check
 *     sim_client.c   clients (operations, reads, their history) and the end of a run (heal,
 *                    final writes and reads, settle, compare, linearizability)
 *
 * Ownership: the world owns every event (an event owns its message bytes), timer, operation
 * and node; teardown frees them all. Nothing here outlives sim_run().
 */
#ifndef TWOPC_SIM_INTERNAL_H
#define TWOPC_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lincheck.h"
#include "record.h"
#include "resp_parser.h"
#include "sim.h"
#include "txn.h"
#include "wal.h"

struct participant;
struct store;
struct sim_file;

#define NREG 6            /* register keys r0..r5 (SET, MSET, DEL, GET) */
#define NCNT 3            /* counter keys c0..c2 (INCR, GET) */
#define NKEYS (NREG + NCNT)
#define PREPARE_TIMEOUT_MS 500
#define MAX_LOG_BYTES 6000 /* small, so compaction runs often */
#define RETRY_US 100000
#define LAZY_US 20000
#define WALL_BASE_MS 1700000000000ULL
#define FINAL_MS 60000     /* how long the healed cluster gets to settle */
/* The coordinator's link liveness (server/replica_link.c): a link with a request
 * outstanding and no reply for LINK_TIMEOUT_MS is dropped and reconnects; an idle READY
 * link is pinged every HEARTBEAT_US; a connect that cannot complete (the network is cut)
 * is given up after LINK_TIMEOUT_MS. */
#define LINK_TIMEOUT_MS 1000
#define HEARTBEAT_US 250000

enum ev_kind { EV_TIMER, EV_TO_REP, EV_TO_COORD, EV_SYNC, EV_RETRY, EV_LAZY,
               EV_CLIENT, EV_FAULT, EV_RESTART, EV_LIVENESS };

struct ev {
    uint64_t at, seq;
    enum ev_kind kind;
    int node;      /* -1: the world's own */
    uint64_t inc;  /* the node's incarnation when scheduled */
    int link;      /* EV_TO_REP, EV_TO_COORD, EV_RETRY */
    uint64_t conn, gen;
    int dropped;
    int unread; /* to a replica on a connection whose replies nobody reads any more */
    void *p;
    size_t len;
};

struct txn_timer {
    txn_timer_fn fn;
    void *arg;
    uint64_t gen, inc;
    int armed, alive;
};

struct pend {
    txn_reply_fn fn;
    void *arg;
};

enum { SL_DOWN, SL_SYNCING, SL_READY, SL_REPAIR /* connected, data incomplete */ };

struct slink {
    int state;
    uint64_t conn;
    struct pend *q;
    size_t qhead, qn, qcap;
    uint64_t last_to_rep, last_to_coord; /* FIFO: no delivery before the previous one */
    uint64_t progress_us, slow_until;
    /* A partition (cut_* > now): bytes sent that way wait, in order, until the cut heals
     * (TCP retransmits them then); bytes of a connection the coordinator has since closed
     * arrive late_us after the heal (its retransmission timer), so they may reach the
     * replica after a new connection's. */
    uint64_t cut_to_rep, cut_to_coord, late_us;
    char *recent[8]; /* recent commands, for stray duplicates */
    size_t recent_len[8];
    int nrecent;
    int open; /* the engine opened this slot's link (a member's) and has not closed it */
};

struct held {
    uint64_t conn, ticket, vote_rid;
    char *bytes;
    size_t len;
};

struct bits {
    unsigned char *b;
    size_t n;
};

struct node {
    int up;
    uint64_t inc, paused_until;
    struct sim_file *file;
    struct wal *wal;
    int sync_scheduled;
    size_t scanned;        /* durable bytes of file already scanned for records */
    uint64_t scanned_rewrites;
    struct bits seen;      /* rids with a durable COMMIT (coordinator) / PREPARE (replica) */
    struct bits voted;     /* a replica's rids that ever had a durable PREPARE: a YES vote
                            * that decided a round, even if the disk was lost since */
    /* replica only */
    struct participant *p;
    struct store *kept;    /* a crashed replica's store, until it restarts */
    struct resp_parser *parser;
    struct held *held;
    size_t nheld, capheld;
    uint64_t durable_ticket, rng, last_applied;
    int lazy_armed;
    int wiped; /* lost its disk, or was rolled back, and is not complete again yet */
    int retired; /* removed from the replica set: the machine is gone */
    struct sim_file *snap_file; /* an older copy of its folder (rollback), or NULL */
    struct store *snap_store;
};

struct hop { /* one client operation in flight */
    int client, kind, key, key2, tries;
    int64_t val, val2;
    uint64_t call;
    int live; /* waiting for an answer */
};

enum { OP_SET, OP_MSET, OP_DEL, OP_INCR, OP_GET };

struct world {
    const struct sim_config *cfg;
    struct sim_result *res;
    uint64_t rng, now, seq, stamp, conn_counter, value_counter;
    uint64_t stranger_counter; /* connections of stray TPC.HELLOs: 2^62 + n */
    struct ev **heap;
    size_t nheap, capheap;
    struct node nodes[1 + SIM_MAX_REPLICAS];
    struct slink links[SIM_MAX_REPLICAS];
    struct txn *t;
    struct txn_timer **timers;
    size_t ntimers, captimers;
    struct hop **hops;
    size_t nhops, caphops;
    int *client_busy;
    struct lin_hist hist[NKEYS];
    uint64_t *digests; /* per applied round id: a hash of the data (0: not seen yet) */
    size_t ndigests;
    int faults_on, clients_on;
    int nslots;        /* slots (links, nodes 1..nslots) ever used */
    uint64_t addr_counter;
    uint64_t fault_gap_us; /* this seed's mean time between faults (swarm testing) */
    int bug_vote_early;
    int bug_no_fence;
};

/* The run in progress (the engine's callbacks reach it here). */
extern struct world *sim_w;

/* ---- the world (sim.c): randomness, messages, the event queue, the loop ---- */
int sim_chance(int percent);
struct ev *sim_push(uint64_t at, enum ev_kind kind, int node);
int sim_bits_has(const struct bits *b, uint64_t i);
int sim_ev_before(const struct ev *a, const struct ev *b);
uint64_t sim_rnd_in(uint64_t lo, uint64_t hi);
void sim_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sim_bits_set(struct bits *b, uint64_t i);
int sim_run_until(uint64_t until, int (*done)(void));
void sim_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the coordinator process and its links (sim_coord.c) ---- */
void sim_link_connect(int i);
void sim_deliver_to_coord(struct ev *e);
void sim_link_break(int i, const char *why);
/* The liveness check of every link (LINK_TIMEOUT_MS, heartbeats), every HEARTBEAT_US. */
void sim_link_liveness(void);
/* When an event on a link must wait for a partition to heal (0: it may go now). */
uint64_t sim_link_cut_until(const struct ev *e);
int sim_coord_start(void);
void sim_on_durable(void *ctx);
void sim_count_rounds(void);
int sim_io_send(void *ctx, int i, const char *cmd, size_t len, txn_reply_fn fn, void *arg);
void sim_coord_crash(void);
void sim_net_send(int link, int to_rep, uint64_t conn, const char *bytes, size_t len);
struct wal *sim_open_log(void *arg, journal_replay_fn fn, void *ctx,
                         struct journal_info *info, char *err, size_t errlen);
void sim_scan_durable(int n);
/* Whether wiping or rolling back replica i could lose data: no other in-sync member holds
 * a complete copy. */
int sim_last_copy(int i);
/* A membership change (cfg->members). */
void sim_change_members(void);

/* ---- replica processes (sim_replica.c) ---- */
int sim_rep_start(int i);
void sim_rep_sync_done(int i);
void sim_rep_crash(int i);
void sim_rep_wipe(int i);
void sim_rep_snapshot_or_rollback(int i);
/* A new, empty machine in slot i (an added or replacing replica). */
void sim_rep_new(int i);
/* Slot i's machine leaves for good. */
void sim_rep_retire(int i);
void sim_deliver_to_rep(struct ev *e);

/* ---- clients and the end of a run (sim_client.c) ---- */
void sim_client_next(int c, uint64_t delay_us);
void sim_client_op(int c);
void sim_heal_and_check(void);
void sim_hop_finish(struct hop *h, int outcome, int64_t out);

#endif
