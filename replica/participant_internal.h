/* participant_internal.h -- what participant.c and participant_log.c share: the
 * participant's and a round's insides. Nothing else includes it; participant.h is the API.
 *
 * participant.c owns the rounds and their state machine (its opening comment has the
 * transition table and the invariants P1-P8 that hold for these fields);
 * participant_log.c makes the vote log durable and compacts it, reading the rounds and
 * the marks below but changing no round's state. identity.c (TPC.IDENTIFY) and restore.c
 * (TPC.RESTORE) change the identity fields, always after the store holds the new value.
 */
#ifndef TWOPC_PARTICIPANT_INTERNAL_H
#define TWOPC_PARTICIPANT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "effects.h"
#include "participant.h"

struct op;

enum round_state {
    ROUND_NEW,             /* parsed, not on the list */
    ROUND_REPLAYED,        /* read back from the log at start-up, not evaluated: in doubt */
    ROUND_LIVE,            /* evaluated and logged at PREPARE, for this coordinator */
    ROUND_DOOMED,          /* LIVE, but evaluated on a round that aborted: can only abort */
    ROUND_IN_DOUBT,        /* LIVE, then a TPC.HELLO: a new coordinator decides it */
    ROUND_IN_DOUBT_DOOMED, /* both of the above */
    ROUND_COMMITTED,       /* off the list, being applied, then freed */
    ROUND_ABORTED,         /* off the list, then freed */
    ROUND_STATE_MAX
};

struct round {
    uint64_t rid;
    int nops;
    struct op **ops;
    struct effects fx;
    enum round_state state; /* changed only by round_set_state() */
    struct round *next;
};

/* What one submission to the log thread makes durable once its ticket is. */
struct sync_mark {
    uint64_t ticket;
    uint64_t committed; /* p->committed when submitted: the durable mark it brings */
    int prepared;       /* it carries PREPARE records (votes wait for it) */
};

/* How many connections may be between their TPC.HELLO and their first command at once. */
#define PARTICIPANT_HELLOS 16

struct participant {
    struct wal *log;
    struct store *store;
    struct round *rounds; /* the listed rounds (P1), in rid order */
    uint64_t applied;     /* == store_applied(store) */
    uint64_t max_rid;     /* highest rid prepared or applied */
    uint64_t session;     /* the coordinator's connection (peer.c's fence) */
    uint64_t changes;     /* bumped by every command the session runs (participant_changed) */
    /* Connections that said TPC.HELLO and may take the session at their first protocol
     * command if changes is still what their answer reflected (participant_take_session);
     * the oldest entry makes room for a new one. */
    struct { uint64_t conn, changes; int used; } hellos[PARTICIPANT_HELLOS];
    size_t next_hello;
    uint64_t cluster, replica; /* the identity, == store_identity(store) (P8); 0 0: none */
    size_t replay_applied;
    int prepared_since_sync; /* a PREPARE is waiting for participant_submit */
    int reply_needs_sync;    /* a TPC.DURABLE answer is waiting for participant_submit */
    uint64_t committed;      /* highest rid whose COMMIT record was appended */
    uint64_t durable;        /* highest rid whose COMMIT is durable (log synced, or SQLite) */
    uint64_t compacted_size; /* log size right after the last compaction */
    struct sync_mark *marks; /* submissions to the log thread not yet durable, oldest first */
    size_t nmarks, capmarks;
};

/* participant.c: takes every listed round off the list (state ABORTED) and frees it,
 * logging nothing: for TPC.RESTORE (restore.c), whose rounds belong to a past the restored
 * data replaces. Returns how many were dropped. */
size_t participant_drop_rounds(struct participant *p);

/* participant_log.c: checkpoints SQLite, then rewrites the vote log down to SEEN <max_rid>
 * and the listed rounds (what a compaction keeps), durably. Unlike the compaction that
 * participant_log_progress() runs, a failed rewrite is an error: returns 0, or -1 with err
 * (the old log then stays whole, as wal_rewrite leaves it). Changes no mark. */
int participant_log_reset(struct participant *p, char *err, size_t errlen);

#endif
