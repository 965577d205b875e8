/* expire.c -- the background expiry sweep: a timer, one replica query, one internal round.
 *
 * State: at most one TPC.EXPIRED query is outstanding; the timer is re-armed only when it
 * completes (or could not be sent), so sweeps never pile up behind a slow replica. The delete op it submits is
 * evaluated against the data as of its own round, so a duplicate (the previous sweep's op
 * not yet committed when the next query ran) deletes nothing twice: it finds the keys
 * gone and replies 0.
 *
 * Databases are swept in turn: each query asks about one (TPC.EXPIRED now limit db) and
 * the delete goes to that one (DB n TPC.EXPIREDEL key..., op.h). A database that gave fewer
 * than a full batch hands over to the next at once (EXPIRE_SWEEP_SOON_MS), until the turn
 * comes back to database 0, which waits EXPIRE_SWEEP_MS: an idle sweep of 16 databases
 * costs 16 small queries per EXPIRE_SWEEP_MS. Expired keys are invisible to every read
 * the moment they expire whatever the sweep does; it only reclaims their rows.
 */
#include "expire.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "coord.h"
#include "log.h"
#include "op.h"
#include "replica_link.h"
#include "settings.h"
#include "txn_io.h"
#include "util.h"

#define EXPIRE_SWEEP_MS 100   /* how often idle expired rows are looked for */
#define EXPIRE_SWEEP_SOON_MS 10 /* after a full batch: more are probably waiting */
#define EXPIRE_SWEEP_KEYS 128 /* keys per sweep: bounds the query and the round's size */

static struct {
    struct coord *c;
    struct event *timer;
    int db; /* the database the next (or outstanding) query is about */
} sweep;

static void arm(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(sweep.timer, &tv);
}

/* True when every in-sync member's link is READY and answering (a sweep's delete would
 * fail otherwise). Empty slots and members out of the in-sync set do not vote: skipped. */
static int all_ready(struct txn *t)
{
    for (int i = 0; i < txn_nlinks(t); i++) {
        struct link *l = txn_link(t, i);
        if (!txn_in_sync(t, i))
            continue;
        if (!l || link_state(l) != LINK_READY ||
            link_stalled(l, (uint64_t)txn_prepare_timeout_ms(t)))
            return 0;
    }
    return 1;
}

/* Submits TPC.EXPIREDEL with the keys of the reply r (an array of bulk strings), in
 * database db. */
static void submit_deletes(const struct link_reply *r, int db)
{
    size_t n = link_reply_len(r);
    char **argv = calloc(n + 1, sizeof *argv);
    size_t *lens = calloc(n + 1, sizeof *lens);
    struct op *op = NULL;
    if (argv && lens) {
        argv[0] = "TPC.EXPIREDEL", lens[0] = 13;
        for (size_t i = 0; i < n; i++)
            argv[i + 1] = (char *)link_reply_str(link_reply_elem(r, i), &lens[i + 1]);
        op = op_new_db(db, (int)n + 1, argv, lens);
    }
    free(argv);
    free(lens);
    if (op)
        txn_submit_internal(sweep.c->txn, op);
    else
        LOG_WARNING("expiry sweep: out of memory, %zu expired keys left for later", n);
}

static int keys_reply(const struct link_reply *r)
{
    if (!r || link_reply_is_error(r))
        return 0;
    for (size_t i = 0; i < link_reply_len(r); i++) {
        size_t len;
        if (!link_reply_str(link_reply_elem(r, i), &len))
            return 0;
    }
    return 1;
}

static void on_expired(struct link *l, const struct link_reply *r, void *arg)
{
    size_t n = keys_reply(r) ? link_reply_len(r) : 0;
    if (n > 0 && all_ready(sweep.c->txn))
        submit_deletes(r, sweep.db);
    if (n == EXPIRE_SWEEP_KEYS) {
        arm(EXPIRE_SWEEP_SOON_MS); /* more are probably waiting in this database */
        return;
    }
    sweep.db = sweep.db + 1 < settings_databases() ? sweep.db + 1 : 0;
    arm(sweep.db != 0 ? EXPIRE_SWEEP_SOON_MS : EXPIRE_SWEEP_MS);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct txn *t = sweep.c->txn;
    struct link *l = all_ready(t) ? txn_read_link(t, NULL) : NULL;
    char now[24], limit[24], db[24];
    const char *argv[4] = { "TPC.EXPIRED", now, limit, db };
    size_t lens[4] = { 11, util_u64_to_str(txn_now_ms(t), now),
                       util_u64_to_str(EXPIRE_SWEEP_KEYS, limit),
                       util_u64_to_str((uint64_t)sweep.db, db) };
    /* Database 0's query keeps its old shape (no db argument). */
    if (!l || link_send(l, sweep.db ? 4 : 3, argv, lens, on_expired, NULL) < 0) {
        arm(EXPIRE_SWEEP_MS); /* no query outstanding: try again later */
    }
}

void expire_start(struct coord *c)
{
    sweep.c = c;
    sweep.timer = evtimer_new(c->base, on_tick, NULL);
    if (sweep.timer)
        arm(EXPIRE_SWEEP_MS);
}
