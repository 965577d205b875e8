/* identity.c -- TPC.IDENTIFY: the replica's cluster id and replica id (see identity.h).
 *
 * Checklist for TPC.IDENTIFY, in this order (a crash after any step leaves either the old
 * identity or the new one, never half of one: both rows change in one SQLite transaction):
 *   1. parse both ids; a malformed or zero one is refused, nothing changes;
 *   2. refuse an identity other than the one already held, nothing changes;
 *   3. write both meta rows in one SQLite transaction (store_set_identity);
 *   4. checkpoint SQLite (store_checkpoint: an fsync), so a power cut cannot take the
 *      identity back once the coordinator has been told +OK;
 *   5. read it back into the participant (identity_reload), log it, answer +OK.
 * A repeated TPC.IDENTIFY of the same identity runs every step again: it is how the
 * coordinator makes sure the identity is durable after a reply it never saw.
 */
#include "identity.h"

#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "participant.h"
#include "participant_internal.h"
#include "store.h"
#include "util.h"

/* An id argument: an integer in [1, INT64_MAX] (an SQLite INTEGER, a RESP integer). */
static int parse_id(const struct resp_request *req, int i, uint64_t *v)
{
    return util_parse_u64(req->argv[i], req->lens[i], v) == 0 && *v != 0 && *v <= INT64_MAX
               ? 0
               : -1;
}

int identity_parse(const struct resp_request *req, int at, const char *what,
                   uint64_t *cluster, uint64_t *replica, struct resp_writer *w)
{
    const char *bad = parse_id(req, at, cluster) < 0       ? "cluster"
                      : parse_id(req, at + 1, replica) < 0 ? "replica"
                                                           : NULL;
    if (!bad)
        return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "ERR %s: the %s id must be an integer in [1, 2^63-1]", what,
             bad);
    resp_write_error(w, msg);
    return -1;
}

int identity_reload(struct participant *p)
{
    if (store_identity(p->store, &p->cluster, &p->replica) == 0)
        return 0;
    LOG_WARNING("can't read the identity back from the store (%s): claiming none",
                store_error(p->store));
    p->cluster = p->replica = 0;
    return -1;
}

/* Steps 3 to 5 of the checklist. Returns 0, or -1 with the failed step in *what. */
static int store_durably(struct participant *p, uint64_t cluster, uint64_t replica,
                         const char **what)
{
    *what = "write";
    if (store_begin(p->store) < 0)
        return -1;
    if (store_set_identity(p->store, cluster, replica) < 0 || store_commit(p->store) < 0) {
        store_rollback(p->store);
        return -1;
    }
    /* Committed: the store holds it now, whether or not the checkpoint below succeeds (a
     * failed one only leaves it undurable, and the coordinator sends it again). */
    *what = "read-back";
    if (identity_reload(p) < 0)
        return -1;
    *what = "checkpoint";
    return store_checkpoint(p->store);
}

void identity_command(struct participant *p, const struct resp_request *req,
                      struct resp_writer *w)
{
    uint64_t cluster, replica;
    const char *what;
    if (identity_parse(req, 1, "TPC.IDENTIFY", &cluster, &replica, w) < 0)
        return;
    if (p->cluster && (p->cluster != cluster || p->replica != replica)) {
        char msg[160];
        snprintf(msg, sizeof msg, "ERR TPC.IDENTIFY: this replica already belongs to cluster "
                 "%016llx as replica %llu", (unsigned long long)p->cluster,
                 (unsigned long long)p->replica);
        LOG_WARNING("TPC.IDENTIFY refused: asked to be cluster %016llx, replica %llu, but "
                    "this replica belongs to cluster %016llx as replica %llu",
                    (unsigned long long)cluster, (unsigned long long)replica,
                    (unsigned long long)p->cluster, (unsigned long long)p->replica);
        resp_write_error(w, msg);
        return;
    }
    if (store_durably(p, cluster, replica, &what) < 0) {
        LOG_WARNING("TPC.IDENTIFY failed (%s): %s", what, store_error(p->store));
        resp_write_error(w, "ERR storage error");
    } else {
        LOG_NOTICE("identity: cluster %016llx, replica %llu", (unsigned long long)cluster,
                   (unsigned long long)replica);
        resp_write_simple(w, "OK");
    }
    participant_assert_state(p);
}
