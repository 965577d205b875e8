/* sim.h -- the deterministic simulator: one coordinator and N replicas in one process.
 *
 * The real round engine (server/engine/), the real participant, command evaluators and
 * SQLite store (replica/, on in-memory databases) and the real record codec run under a
 * seeded, single-threaded scheduler that owns time, the network and the disks
 * (sim_log.h). Everything random comes from one seed, so a seed replays exactly, and every
 * failure prints the seed that reproduces it (in the spirit of FoundationDB's simulation
 * and TigerBeetle's VOPR).
 *
 * What the world does to the processes:
 *   - the network: each coordinator-replica connection is FIFO (TCP) with random latency
 *     and latency spikes; a connection can break at any instant, and then the replica still
 *     receives a random prefix of what was in flight while the rest and every reply are
 *     lost; a replica may receive a stray duplicate of an earlier command on a connection
 *     nobody reads; a partition (one link or every link, one direction or both, up to
 *     seconds) holds every byte sent across it until it heals, and the coordinator's link
 *     liveness (LINK_TIMEOUT_MS with no reply: drop and reconnect) closes the connection
 *     meanwhile -- whose bytes still reach the replica after the heal, possibly after the
 *     new connection's (TCP's retransmission timer);
 *   - processes: crash (kill -9 or power cut: the log keeps its synced bytes plus a random
 *     prefix, possibly torn, of what its log thread had not synced; SQLite keeps everything
 *     or only its last checkpoint) and restart; pause (SIGSTOP) for up to longer than the
 *     prepare timeout; slow fsync; optionally (wipe) the loss of one replica's disk, or
 *     (rollback) its folder restored from an older copy, after which that replica must
 *     never be read or vote before it is repaired;
 *   - clients: SET, MSET, DEL, INCR and GET on a few keys, throughout.
 *
 * What it checks (DESIGN.md's invariants), after every step:
 *   - a YES vote leaves a replica only once its PREPARE is durable there (invariant 5);
 *   - a replica applies a round only if it durably prepared it, and only if it is
 *     decided: the coordinator's COMMIT for it is durable, or every replica durably voted
 *     YES on it (invariant 4 under the commit rule of durable votes);
 *   - replicas that have applied the same round hold identical data (invariant 2: one
 *     digest per applied round id);
 * and at the end of a run (faults stopped, every process back, quiet): writes work again,
 * every replica holds the same data, and every key's history of acknowledged, unknown and
 * read operations is linearizable (invariants 1 and 3: no acknowledged write lost, no
 * failed write visible, no stale read).
 *
 * Deliberately broken rules (sim_run's bug), each of which a run must catch:
 *   presumed-abort        a restarted coordinator presumes aborted a round it has no
 *                         decision for, though it may have been answered OK on its votes
 *   unfenced-abort        an abort's error and TPC.ABORT go out with no ABORT logged
 *                         (caught with partitions: a restart then commits the round)
 *   reply-before-commit   it answers before sending COMMIT to the replicas (stale reads)
 *   skip-in-doubt         a reconnecting replica is not sent the decisions it missed
 *   vote-before-durable   a replica's vote leaves before its PREPARE is durable
 *   trust-lost-data       a replica that lost its disk is taken back (with wipe > 0)
 *   commit-on-k-votes     a round commits on min_replicas YES votes, as a quorum system
 *                         would, without leaving the others out of the in-sync set first
 *                         (with min_replicas > 0; caught by the commit-rule audit)
 *   trust-left-out        a replica left out of the in-sync set is taken back without
 *                         repair when it returns (with min_replicas > 0)
 *   no-fence              a replica obeys a command that arrives late on a connection the
 *                         coordinator has closed as if it came on the current one (the
 *                         session fence gone; caught with partitions)
 *   trust-failed-fsync    a batch of the decision log whose sync failed is taken for
 *                         durable (with disk_errors > 0: an abort answered on it)
 */
#ifndef TWOPC_SIM_H
#define TWOPC_SIM_H

#include <stddef.h>
#include <stdint.h>

struct sim_config {
    uint64_t seed;
    int nreplicas;      /* 1 .. SIM_MAX_REPLICAS */
    int nclients;
    uint64_t run_ms;    /* simulated time with faults and clients */
    const char *bug;    /* NULL, or one of the broken rules above */
    int verbose;        /* print every event */
    int wipe;           /* percent of faults that wipe a replica's disk (0: none; issue #11) */
    int rollback;       /* percent of faults that copy a replica's folder, or restore the
                         * older copy (a restored backup or VM snapshot) */
    int min_replicas;   /* the engine's --min-replicas (0: every replica must vote) */
    int members;        /* percent of faults that change the replica set: remove a member,
                         * add a new one (an empty machine), or replace one */
    int partition;      /* percent of faults that cut the network: one replica from the
                         * coordinator, one direction or both, or the coordinator from
                         * every replica, for up to seconds (issue #12) */
    int disk_errors;    /* percent of faults that fail a process's next log syncs (EIO,
                         * ENOSPC: the bytes past the durable offset are cut, kept in memory
                         * and written again; issue #13) */
    int databases;      /* > 1: register k lives in database k % databases (DB-wrapped
                         * writes and reads; an MSET of two databases becomes a TX of two
                         * wrapped SETs) and a repair copies every database; 0 or 1: all in
                         * database 0, the ops as before databases existed */
    int stray_hello;    /* percent of faults that send a TPC.HELLO to a replica from a
                         * connection that is not the coordinator's (any local process
                         * without a cluster secret; issue #16): it must disturb nothing */
};

#define SIM_MAX_REPLICAS 5

struct sim_result {
    int violation;          /* 0: every check held */
    char what[512];         /* the first violation */
    uint64_t rounds, committed, aborted, ops_ok, ops_failed, ops_unknown, reads;
    uint64_t crashes, pauses, breaks, strays, wipes, rollbacks, events;
    uint64_t repairs;      /* replicas repaired (a full resync from a healthy one) */
    uint64_t member_changes; /* replicas added, removed or replaced */
    uint64_t partitions;     /* network cuts */
    uint64_t stray_hellos;   /* TPC.HELLOs from strangers */
    uint64_t disk_errors;    /* failed log syncs injected */
    uint64_t timeouts;       /* links dropped by the liveness check */
};

/* Runs one seed. Returns 0 when it ran (see res->violation), -1 if it could not set up. */
int sim_run(const struct sim_config *cfg, struct sim_result *res);

#endif
