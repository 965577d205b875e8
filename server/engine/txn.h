/* txn.h -- the coordinator's 2PC round engine and its decision log, as a state machine
 * that does no I/O of its own.
 *
 * Events come in through calls (txn_submit: a write; a reply callback: a vote or an
 * acknowledgement; txn_log_progress: the log made records durable; txn_link_hello: a
 * replica (re)connected; a timer fired). Effects go out through struct txn_io (send these
 * bytes to replica i, arm or cancel a timer, what time is it, is link i usable) and struct
 * wal (append, submit, which tickets are durable), and a client's write is completed
 * through the txn_done_fn it was submitted with. The daemon's adapter (server/txn_io.c)
 * maps these onto hiredis links, libevent and the journal's log thread; the simulator
 * (tests/sim/) maps them onto a seeded, single-threaded world of its own.
 *
 * Writes are submitted one op at a time with a function to answer; every op waiting when a
 * round starts joins that round (one PREPARE per replica, one decision-log fsync for the
 * whole batch). A round starts at the end of the current event-loop turn, so all writes
 * parsed in one turn (a pipelined burst, many clients) share it.
 *
 * Round states (the transition table is in txn.c):
 *
 *     PREPARING ──all YES──▶ COMMITTED (COMMIT durable, replies sent) ──all acks──▶ ENDED
 *         │
 *         └──NO / link lost / timeout / divergence──▶ ABORTED (errors sent; presumed abort)
 *
 * One round is PREPARING at a time; the next starts as soon as the current one is decided
 * (the decision reaches each replica ahead of the next PREPARE on the same pipelined link),
 * while committed rounds wait for their acknowledgements in the background.
 *
 * Decision log records: "COMMIT <rid>" (forced before any client hears OK) and
 * "END <rid>" (not forced; a lost END only means re-sending a COMMIT after a restart).
 * On start-up every COMMIT without END is re-sent to every replica. When the log grows past
 * max_log_bytes it is rewritten down to "NEXT <next rid>" and the COMMITs not yet ENDed.
 */
#ifndef TWOPC_TXN_H
#define TWOPC_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "link_reply.h"
#include "wal.h"

struct op;
struct txn;
struct txn_timer; /* the io's own */

/* A reply from replica `link` to something sent with txn_io.send: r is NULL when the link
 * was lost first. Runs exactly once per accepted send, never from inside send. */
typedef void (*txn_reply_fn)(void *arg, int link, const struct link_reply *r);
typedef void (*txn_timer_fn)(void *arg);
/* A submitted write's outcome: reply (len bytes of RESP2, the committed result) with error
 * NULL, or error (a Redis error line without '-' and CRLF) with reply NULL. */
typedef void (*txn_done_fn)(void *arg, const char *reply, size_t len, const char *error);

/* Everything the engine does to the world. Links are numbered 0 .. nlinks-1. */
struct txn_io {
    void *ctx;
    /* Sends cmd (len bytes, from link_format) on link i. Returns 0: fn(arg, i, reply) will
     * run exactly once, later; or -1: not sent, fn will not run. */
    int (*send)(void *ctx, int i, const char *cmd, size_t len, txn_reply_fn fn, void *arg);
    /* NULL if link i is READY and answering (a write may go out on it); else what it is
     * instead ("down", "syncing", "not responding"), for the client's error. */
    const char *(*unready)(void *ctx, int i, uint64_t stall_ms);
    /* Link i's replica address ("host:port"), for messages. */
    const char *(*addr)(void *ctx, int i);
    /* Closes link i on purpose (its replica refused a decision): pending replies run with
     * NULL, and it resynchronizes through TPC.HELLO. Safe inside a reply callback. */
    void (*drop)(void *ctx, int i, const char *why);
    /* Timers: armed for ms milliseconds (ms < 0: run at the end of this loop turn); a timer
     * re-armed while armed restarts. once(): a timer that frees itself after firing. */
    struct txn_timer *(*timer_new)(void *ctx, txn_timer_fn fn, void *arg);
    void (*timer_arm)(void *ctx, struct txn_timer *tm, int ms);
    void (*timer_cancel)(void *ctx, struct txn_timer *tm);
    int (*timer_armed)(void *ctx, const struct txn_timer *tm);
    void (*timer_free)(void *ctx, struct txn_timer *tm);
    void (*once)(void *ctx, int ms, txn_timer_fn fn, void *arg);
    /* The engine cannot go on safely (its decision log is older than the replicas' data):
     * the daemon logs why and exits; the simulator records it. */
    void (*fatal)(void *ctx, const char *why);
    /* Clocks: Unix ms (the rounds' clock for expiry) and a monotonic ms (durations). */
    uint64_t (*wall_ms)(void *ctx);
    uint64_t (*mono_ms)(void *ctx);
    /* Links come and go with the replica set (txn_members.c): link_open starts connecting
     * link i to addr (its TPC.HELLO answer goes to txn_link_hello); link_close closes it
     * for good (its pending callbacks run with NULL, before it returns or later). Slot i
     * may be opened again, for another replica, after link_close. */
    void (*link_open)(void *ctx, int i, const char *addr);
    void (*link_close)(void *ctx, int i);
    /* 64 random bits (a new cluster's id). */
    uint64_t (*random)(void *ctx);
    /* Optional (NULL: none): what is sent next on link i is big work that may keep the
     * replica silent ms longer than usual (replica_link.h, link_allow). */
    void (*expect)(void *ctx, int i, uint64_t ms);
};

/* At most this many replicas, and this many link slots (0 .. TXN_MAX_REPLICAS - 1). */
#define TXN_MAX_REPLICAS 16

struct txn_stats {
    uint64_t committed, aborted, ops_committed, next_rid;
    size_t pending_ops, unacked_rounds, inflight;
    uint64_t repairs_done, repairs_failed;
};

/* The repair in progress (txn_repair.c): state "idle", "draining", "copying" or
 * "finishing"; target and source are link indexes (-1 when idle). */
struct txn_repair_stats {
    const char *state;
    int target, source;
    uint64_t round, keys, bytes, elapsed_ms, done, failed;
};
void txn_get_repair(const struct txn *t, struct txn_repair_stats *rs);
/* True while link i's replica has incomplete data and waits for (or is in) repair. */
int txn_link_wants_repair(const struct txn *t, int i);

/* Opens the decision log with open(open_arg, ...) (replaying it); io is copied. addrs
 * (naddrs "host:port" strings) is the replica set the operator configured: on a new
 * cluster it becomes the first configuration; on an existing one the durable
 * configuration in the log wins, and differences are applied as additions and removals
 * (logged). Returns NULL with a message in err. Nothing is connected until txn_start. */
struct txn *txn_create(const struct txn_io *io, const char *const *addrs, int naddrs,
                       wal_open_fn open, void *open_arg, int prepare_timeout_ms,
                       uint64_t max_log_bytes, char *err, size_t errlen);
/* Opens a link (io.link_open) for every member of the configuration. The owner reports
 * each one's TPC.HELLO answer with txn_link_hello() before marking it ready. */
void txn_start(struct txn *t);
/* Shutting down: from now on the engine sends nothing. sync: make the decision log durable
 * now (a clean shutdown; the simulator's crash passes 0). Then the owner closes its links
 * (their pending callbacks may still run, with NULL) and calls txn_destroy. */
void txn_stop(struct txn *t, int sync);
/* Frees the engine, once no reply callback can run any more. Accepts NULL. */
void txn_destroy(struct txn *t);

/* The decision log, for an owner that runs it (the daemon starts its log thread). */
struct wal *txn_log(struct txn *t);

/* The log made records durable (the owner calls this when the log thread reports
 * progress). Exits the process if the log failed. */
void txn_log_progress(struct txn *t);

/* Link i (re)connected and answered TPC.HELLO with h: the engine re-sends the decisions it
 * missed, ahead of anything else on the link. Returns 0; the owner may then treat the link
 * as READY (it has been sent every committed round). -1 when that could not be done (out
 * of memory): the owner must not mark it READY, and should drop and reconnect it. 1 when
 * the replica's data is incomplete (it lost its disk, or its folder came back from an older
 * copy): it needs repair, and must never be READY until a later HELLO shows it complete;
 * the owner keeps the link connected but not READY (io.unready says why), and the engine
 * repairs it by itself (txn_repair.c), then drops the link so that a new HELLO finds it
 * complete. If the replica is ahead of the decision log itself, io.fatal runs (the log was
 * lost or rolled back). */
int txn_link_hello(struct txn *t, int i, const struct link_hello *h);
/* Keys a round's PREPARE carried (TPC.PREPARE TOUCHED WATCHED n key...): key i is
 * p[off[i] .. off[i + 1]); mark is the hook's own, handed back unchanged. p and off are
 * malloc'd; the round frees them. */
struct txn_keys {
    size_t n;
    char *p;
    size_t *off;
    uint64_t mark;
    int *dbs; /* key i's database (sent as DBS); NULL: all in 0. malloc'd, the round's */
};

/* Called for every op of every committed round, in commit order, before the replies go
 * out (WATCH uses it to learn which keys changed). touched, when not NULL, is what the
 * replicas reported about the op (len bytes, not NUL-terminated): for an op that flushed
 * nothing, one '0' or '1' per argument, '1' where the argument names a key the op changed
 * (a TX op's positions index its whole "TX n {argc arg...}*n"); for one that flushed a
 * database holding a key, "F", or, when the round's PREPARE carried keys (keys not NULL),
 * "F<keys->n bits>|<one per argument>": bit i '1' if key i was alive just before one of
 * the op's flushes. touched is NULL when the round did not ask for it (wanted() said no
 * when its PREPARE went out) or a replica's vote lacked it: then nothing is known beyond
 * the op itself. result (rlen bytes, RESP2) is the op's committed result, what its client
 * is about to get (keyspace notifications read SINTERSTORE's count from it). */
typedef void (*txn_commit_hook)(void *ctx, const struct op *op, const char *touched,
                                size_t len, const struct txn_keys *keys, const char *result,
                                size_t rlen);
/* Asked as each round's PREPARE goes out: nonzero if the hook wants the touched strings
 * (the replicas compute them only then: TPC.PREPARE TOUCHED), TXN_WANT_GONE set if it
 * also wants a changed key that the op left gone marked 'D' instead of '1' (TOUCHED GONE,
 * protocol 3: asked only when every replica of the round speaks it). NULL: never. */
#define TXN_WANT_TOUCHED 1
#define TXN_WANT_GONE 2
/* A touched string's mark for an argument the op changed: '1', or 'D' (changed, now gone). */
#define TXN_CHANGED(c) ((c) == '1' || (c) == 'D')
typedef int (*txn_commit_hook_wanted)(void *ctx);
/* Asked next, only when wanted() said yes, for the round's ops in order until it returns
 * nonzero: 0 if op cannot flush a database (or the hook wants no keys for it); 1 when it
 * may, after filling *keys with the keys whose fate in a flush the hook wants to learn
 * (sent with the PREPARE, and given back to the hook at commit); -1 if out of memory
 * (nothing filled; the round goes without keys). NULL: never. */
typedef int (*txn_commit_hook_keys)(void *ctx, const struct op *op, struct txn_keys *keys);
void txn_set_commit_hook(struct txn *t, txn_commit_hook fn, txn_commit_hook_wanted wanted,
                         txn_commit_hook_keys keys, void *ctx);

/* Keys per chunk of a repair's copy (TPC.DUMP / TPC.RESTORE ROWS; <= 0: the default). */
#define TXN_REPAIR_CHUNK 2000
void txn_set_repair_chunk(struct txn *t, int keys);
/* A repair copies databases 0 .. n - 1, one after another (TPC.DUMP cursor count db,
 * TPC.RESTORE DBROWS db ...: replica/restore.h). 1 (database 0 alone) until set. */
void txn_set_databases(struct txn *t, int n);

/* How many rounds may be PREPARING at once (pipelining; default 1). */
void txn_set_max_inflight(struct txn *t, int n);

/* Takes ownership of op; done(arg, ...) runs exactly once, with its result or an error
 * (possibly before txn_submit returns, when the write fails at once). */
void txn_submit(struct txn *t, struct op *op, txn_done_fn done, void *arg);

/* Submits a write that no client waits for (the background expiry sweep): it joins a
 * round like any op, and its result or error goes nowhere. Takes ownership of op. */
void txn_submit_internal(struct txn *t, struct op *op);

/* The coordinator's clock (Unix ms), never below what an earlier round or read was given:
 * reads carry it to the replica (TPC.READ) so that expiry is judged as of one instant that
 * is at least every earlier round's. */
uint64_t txn_now_ms(struct txn *t);

/* Link slots in use are below this (some may be empty: txn_member_get says). */
int txn_nlinks(const struct txn *t);

/* ---- the replica set (txn_members.c) ----
 *
 * The cluster has an id (created with its decision log) and a configuration: an epoch and
 * its members, each with a replica id and an address, in one of three states:
 *   in-sync   votes on every round, serves reads once its link is READY;
 *   out       left out of the in-sync set (it was down longer than down_after with at
 *             least min_replicas others in sync, or it was just added): it never votes
 *             or serves a read until a full repair made it complete, which puts it back
 *             in the set (a new epoch);
 * Every change is written to the decision log and synced before it takes effect. */
struct txn_member_info {
    uint64_t id;       /* replica id in this cluster */
    const char *addr;
    const char *state; /* "in-sync", "out" */
    const char *link;  /* what its link is: "ready", "down", "syncing", "repair" */
    uint64_t epoch;    /* the epoch its state was set in */
    /* What its last TPC.HELLO said (0: nothing yet, or the replica has no identity). */
    uint64_t hello_cluster, hello_id, applied;
    const char *why;   /* why it waits for repair, or "" */
};
/* Whether slot i's member is in sync (votes, may serve reads). */
int txn_in_sync(const struct txn *t, int i);
/* 0 and *mi for slot i, or -1 if slot i holds no member. */
int txn_member_get(const struct txn *t, int i, struct txn_member_info *mi);
uint64_t txn_cluster_id(const struct txn *t);
uint64_t txn_epoch(const struct txn *t);
/* How many members there are, and how many are in sync. */
int txn_members(const struct txn *t, int *in_sync);
/* Adds a replica at addr ("host:port"): it joins out of sync, is repaired from a healthy
 * member, then votes. Returns its slot, or -1 with a message in err (a Redis error line,
 * without '-'). */
int txn_member_add(struct txn *t, const char *addr, char *err, size_t errlen);
/* Removes the member named by which (its address or its replica id) for good: it never
 * votes or serves a read again. Refused if it is the last in-sync member. Returns 0 or -1
 * with err. */
int txn_member_remove(struct txn *t, const char *which, char *err, size_t errlen);
/* Replaces member which by a new replica at addr, in one durable step (the new one joins
 * through repair). Returns the new slot, or -1 with err. */
int txn_member_replace(struct txn *t, const char *which, const char *addr, char *err,
                       size_t errlen);
/* Writes need the votes of every in-sync member; with min_replicas K (0: all, the default)
 * a member down or not answering for down_after_ms is left out of the in-sync set when at
 * least K others remain in it. */
void txn_set_min_replicas(struct txn *t, int k);
int txn_min_replicas(const struct txn *t);
void txn_set_down_after(struct txn *t, int ms);
/* A write that finds an in-sync link down or syncing waits for it up to write_wait_ms
 * (counted from when the link went down) before failing with NOREPLICAS. */
void txn_set_write_wait(struct txn *t, int ms);
/* Start-up: NULL once recovery is over (every in-sync member said TPC.HELLO and is READY,
 * or write_wait_ms passed since start); else what it still waits for, in buf. */
const char *txn_loading(struct txn *t, char *buf, size_t len);
int txn_prepare_timeout_ms(const struct txn *t);
/* The io's ctx (the owner finds its own state from the engine). */
void *txn_io_ctx(const struct txn *t);
/* A READY, not stalled link for a read, round-robin; -1 if none. skip: a link to avoid
 * (or -1). */
int txn_read_pick(struct txn *t, int skip);
void txn_get_stats(const struct txn *t, struct txn_stats *st);

/* The commit rule, checked from outside (the simulator, after every step): NULL, or (in
 * buf) a committed round that lacks the YES vote of a member in sync when it started. */
const char *txn_audit(const struct txn *t, char *buf, size_t len);

/* Checks every round's and list's invariant (txn.c's table), aborting the process if one
 * is broken; the simulator calls it after every step. Compiled in with TWOPC_ASSERTS (the
 * default) or without NDEBUG, else a no-op. */
void txn_assert_invariants(const struct txn *t);

#endif
