/* blocking.c -- parks the blocking pops that found nothing and submits them again when a
 * committed op changes one of their keys (blocking.h).
 *
 * A blocked pop is in one of two states: in flight (its op is in a round; its done
 * callback decides what next) or parked (on the FIFO list, ordered by seq, the order the
 * clients first blocked in). A commit that names a key of a parked pop marks it ready and
 * schedules one deferred pass that submits every ready pop in seq order; a commit that
 * names a key of a pop in flight sets `again`, so a null answer from a round evaluated
 * before that commit submits again at once instead of parking (no wake-up is lost).
 *
 * Which keys: the argument positions the replicas reported changed (touched); without
 * that report (a round whose PREPARE went out before anyone blocked), or for an op that
 * flushed or swapped databases, every parked pop wakes. Keys are compared by name only,
 * whatever the database: a wake-up too many costs one round that answers null and parks
 * again; one too few would leave a client waiting, so the rule errs on that side.
 */
#include "blocking.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "client.h"
#include "conn.h"
#include "coord.h"
#include "data_cmd.h"
#include "op.h"
#include "resp_writer.h"
#include "txn.h"
#include "util.h"

struct blocked {
    TAILQ_ENTRY(blocked) link; /* on `parked` while parked, on `flying` while in flight */
    struct client *cl;
    struct slot *slot;
    struct op *req; /* the request as the client sent it */
    int db;
    uint64_t seq;
    uint64_t deadline;   /* util_mono_ms() past which it times out; 0: never */
    int first, last;     /* the key arguments: first .. last */
    int is_parked, ready, again, expired, gone;
    int unblock;         /* CLIENT UNBLOCK while in flight: 1 TIMEOUT, 2 ERROR */
    struct event *timer;
};

TAILQ_HEAD(blocked_list, blocked);
static struct blocked_list parked = TAILQ_HEAD_INITIALIZER(parked);
static struct blocked_list flying = TAILQ_HEAD_INITIALIZER(flying);
static size_t nparked, nflying;
static uint64_t next_seq = 1;
static struct coord *coord;
static struct event *pass; /* the deferred submission of ready pops */

static void submit(struct blocked *b);



size_t blocking_count(int timed)
{
    if (!timed)
        return nparked + nflying;
    size_t n = 0;
    struct blocked_list *lists[2] = { &parked, &flying };
    for (int l = 0; l < 2; l++) {
        struct blocked *b;
        TAILQ_FOREACH(b, lists[l], link)
            n += b->deadline != 0;
    }
    return n;
}

int blocking_wanted(void)
{
    return nparked + nflying > 0;
}

static void free_blocked(struct blocked *b)
{
    if (b->timer)
        event_free(b->timer);
    op_free(b->req);
    free(b);
}

/* Answers the client (what the caller wrote into the slot) and forgets b. */
static void finish(struct blocked *b)
{
    struct slot *slot = b->slot;
    free_blocked(b);
    slot_done(slot); /* may free the client */
}

/* A timeout's answer: the null array for every blocking pop (BLMOVE's too, as Redis
 * 7.0's replyToBlockedClientTimedOut; only inside MULTI does BLMOVE answer a null bulk). */
static void answer_null(struct blocked *b)
{
    resp_write_null_array(slot_writer(b->slot));
}

static void answer_unblocked(struct blocked *b, int error)
{
    if (error == 2)
        resp_write_error(slot_writer(b->slot), "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else
        answer_null(b);
}

static void unpark(struct blocked *b)
{
    TAILQ_REMOVE(&parked, b, link);
    nparked--;
    b->is_parked = 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct blocked *b = arg;
    if (!b->is_parked) {
        b->expired = 1; /* in flight: its answer decides */
        return;
    }
    unpark(b);
    answer_null(b);
    finish(b);
}

/* Parks b in seq order (a pop woken and parked again keeps its place). */
static void park(struct blocked *b)
{
    struct blocked *at;
    TAILQ_FOREACH_REVERSE(at, &parked, blocked_list, link)
        if (at->seq < b->seq)
            break;
    if (at)
        TAILQ_INSERT_AFTER(&parked, at, b, link);
    else
        TAILQ_INSERT_HEAD(&parked, b, link);
    nparked++;
    b->is_parked = 1;
    b->ready = b->again = 0;
    if (client_conn(b->cl))
        conn_flush(client_conn(b->cl)); /* a client that shut its side meanwhile closes */
    if (b->deadline && !b->timer) {
        uint64_t now = util_mono_ms(), left = b->deadline > now ? b->deadline - now : 0;
        struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
        b->timer = evtimer_new(coord->base, on_timer, b);
        if (!b->timer || evtimer_add(b->timer, &tv) < 0) {
            unpark(b);
            resp_write_error(slot_writer(b->slot), "ERR out of memory");
            finish(b);
        }
    }
}

static int is_null(const char *reply, size_t len)
{
    return len == 5 && (memcmp(reply, "*-1\r\n", 5) == 0 || memcmp(reply, "$-1\r\n", 5) == 0);
}

static void on_done(void *arg, const char *reply, size_t len, const char *error)
{
    struct blocked *b = arg;
    TAILQ_REMOVE(&flying, b, link);
    nflying--;
    struct resp_writer *w = slot_writer(b->slot);
    if (b->gone) {
        finish(b);
    } else if (error) {
        resp_write_error(w, error);
        finish(b);
    } else if (!is_null(reply, len)) {
        w->write(w->sink, reply, len);
        finish(b);
    } else if (b->unblock) {
        answer_unblocked(b, b->unblock);
        finish(b);
    } else if (b->expired || (b->deadline && util_mono_ms() >= b->deadline)) {
        answer_null(b);
        finish(b);
    } else if (b->again) {
        b->again = 0;
        submit(b);
    } else {
        park(b);
    }
}

static void submit(struct blocked *b)
{
    struct op *op = data_cmd_op(b->db, b->req->argc, b->req->argv, b->req->lens);
    if (!op) {
        resp_write_error(slot_writer(b->slot), "ERR out of memory");
        finish(b);
        return;
    }
    TAILQ_INSERT_TAIL(&flying, b, link);
    nflying++;
    txn_submit(coord->txn, op, on_done, b); /* on_done may run at once */
}

/* The deferred pass: every ready parked pop, in blocking order. */
static void on_pass(evutil_socket_t fd, short what, void *arg)
{
    struct blocked *b = TAILQ_FIRST(&parked), *next;
    for (; b; b = next) {
        next = TAILQ_NEXT(b, link);
        if (!b->ready)
            continue;
        unpark(b);
        submit(b);
    }
}

/* The key arguments of a blocking command, from its request. */
static void key_range(const struct op *req, int *first, int *last)
{
    const char *name = req->argv[0];
    *first = 1;
    *last = req->argc - 2; /* BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: all but the timeout */
    if (!strcasecmp(name, "blmove") || !strcasecmp(name, "brpoplpush")) {
        *last = 1; /* the source: what the pop waits for */
    } else if (!strcasecmp(name, "blmpop") || !strcasecmp(name, "bzmpop")) {
        int64_t n;
        *first = 3;
        *last = req->argc > 2 && util_parse_i64(req->argv[2], req->lens[2], &n) == 0 &&
                        n >= 1 && n <= req->argc - 3
                    ? 2 + (int)n
                    : 2;
    }
}

/* The timeout argument's deadline (0: none). The replicas check its syntax: a pop that
 * comes back null had a valid one. */
static uint64_t deadline_of(const struct op *req)
{
    const char *name = req->argv[0];
    int i = !strcasecmp(name, "blmpop") || !strcasecmp(name, "bzmpop") ? 1 : req->argc - 1;
    char buf[64];
    size_t n = req->lens[i] < sizeof buf - 1 ? req->lens[i] : sizeof buf - 1;
    memcpy(buf, req->argv[i], n);
    buf[n] = '\0';
    long double s = strtold(buf, NULL);
    if (!(s * 1000.0L >= 1.0L) || s * 1000.0L > 9.2e18L)
        return 0;
    return util_mono_ms() + (uint64_t)(s * 1000.0L);
}

void cmd_block(struct client *cl, const struct resp_request *req)
{
    struct blocked *b = calloc(1, sizeof *b);
    if (b)
        b->req = op_new(req->argc, req->argv, req->lens);
    if (b && b->req)
        b->slot = client_slot_new(cl, 1);
    if (!b || !b->req || !b->slot) {
        if (b)
            op_free(b->req);
        free(b);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    b->cl = cl;
    b->db = client_db(cl);
    b->seq = next_seq++;
    b->deadline = deadline_of(b->req);
    key_range(b->req, &b->first, &b->last);
    submit(b);
}

/* Marks the pops waiting for key k (every pop when k is NULL). Returns whether a parked
 * one became ready. */
static int wake(const char *k, size_t klen)
{
    int any = 0;
    struct blocked_list *lists[2] = { &parked, &flying };
    for (int l = 0; l < 2; l++) {
        struct blocked *b;
        TAILQ_FOREACH(b, lists[l], link) {
            int hit = !k;
            for (int i = b->first; !hit && i <= b->last && i < b->req->argc; i++)
                hit = b->req->lens[i] == klen && memcmp(b->req->argv[i], k, klen) == 0;
            if (!hit)
                continue;
            if (!b->is_parked) {
                b->again = 1;
            } else if (!b->ready) {
                b->ready = 1;
                any = 1;
            }
        }
    }
    return any;
}

void blocking_on_commit(const struct op *op, const char *touched, size_t len)
{
    if (nparked + nflying == 0)
        return;
    int all = !touched || len != (size_t)op->argc || (len && touched[0] == 'F');
    for (int i = 0; !all && i < op->argc; i++)
        all = op_name_is(op->argv[i], op->lens[i], "swapdb");
    int any = 0;
    if (all) {
        any = wake(NULL, 0);
    } else {
        for (int i = 0; i < op->argc; i++)
            if (TXN_CHANGED(touched[i]))
                any |= wake(op->argv[i], op->lens[i]);
    }
    if (!any)
        return;
    if (!pass)
        pass = event_new(coord->base, -1, 0, on_pass, NULL);
    if (pass)
        event_active(pass, 0, 0);
}

void blocking_forget(struct client *cl)
{
    struct blocked *b, *next;
    for (b = TAILQ_FIRST(&parked); b; b = next) {
        next = TAILQ_NEXT(b, link);
        if (b->cl == cl) {
            unpark(b);
            finish(b); /* nothing written: the connection is gone */
        }
    }
    TAILQ_FOREACH(b, &flying, link)
        if (b->cl == cl)
            b->gone = 1;
}

size_t blocking_parked(const struct client *cl)
{
    struct blocked *b;
    TAILQ_FOREACH(b, &parked, link)
        if (b->cl == cl)
            return 1;
    return 0;
}

int blocking_waits(const struct client *cl)
{
    struct blocked_list *lists[2] = { &parked, &flying };
    for (int l = 0; l < 2; l++) {
        struct blocked *b;
        TAILQ_FOREACH(b, lists[l], link)
            if (b->cl == cl)
                return 1;
    }
    return 0;
}

int blocking_unblock(uint64_t id, int error)
{
    struct blocked *b;
    TAILQ_FOREACH(b, &parked, link)
        if (client_id(b->cl) == id) {
            unpark(b);
            answer_unblocked(b, error ? 2 : 1);
            finish(b);
            return 1;
        }
    TAILQ_FOREACH(b, &flying, link)
        if (client_id(b->cl) == id && !b->gone) {
            b->unblock = error ? 2 : 1;
            return 1;
        }
    return 0;
}

/* ---- the commands ---- */

#define W CMD_WRITE
#define B CMD_BLOCKING
#define F CMD_FAST

/* Doc fields (group, since, summary) are Redis 7.0's. */
static const struct command blocking_commands[] = {
    { "blmove", 6, W | B, 1, 2, 1, "list", "6.2.0",
      "Pop an element from a list, push it to another list and return it; or block until "
      "one is available", cmd_block, NULL },
    { "blmpop", -5, W | B, 0, 0, 0, "list", "7.0.0",
      "Pop elements from a list, or block until one is available", cmd_block, NULL },
    { "blpop", -3, W | B, 1, -2, 1, "list", "2.0.0",
      "Remove and get the first element in a list, or block until one is available",
      cmd_block, NULL },
    { "brpop", -3, W | B, 1, -2, 1, "list", "2.0.0",
      "Remove and get the last element in a list, or block until one is available",
      cmd_block, NULL },
    { "brpoplpush", 4, W | B, 1, 2, 1, "list", "2.2.0",
      "Pop an element from a list, push it to another list and return it; or block until "
      "one is available", cmd_block, NULL },
    { "bzmpop", -5, W | B, 0, 0, 0, "sorted-set", "7.0.0",
      "Remove and return members with scores in a sorted set or block until one is "
      "available", cmd_block, NULL },
    { "bzpopmax", -3, W | B | F, 1, -2, 1, "sorted-set", "5.0.0",
      "Remove and return the member with the highest score from one or more sorted sets, or "
      "block until one is available", cmd_block, NULL },
    { "bzpopmin", -3, W | B | F, 1, -2, 1, "sorted-set", "5.0.0",
      "Remove and return the member with the lowest score from one or more sorted sets, or "
      "block until one is available", cmd_block, NULL },
};

#undef W
#undef B
#undef F

int blocking_init(struct coord *c)
{
    coord = c;
    return registry_add(blocking_commands, sizeof blocking_commands / sizeof blocking_commands[0]);
}
