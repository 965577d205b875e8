/* reads.c -- the read batcher (see reads.h).
 *
 * Reads are batched: every read of one loop turn is queued on the link chosen for it, and
 * at the end of the turn (flush_reads) each link's queue leaves as one request,
 * TPC.MREAD <now_ms> <n> {<argc> <command...>}*n, answered with an array of n replies.
 * One request, one callback and one timer per batch instead of per read, and one SQLite
 * read transaction on the replica.
 *
 *     GET a  GET b  MGET c d     (one loop turn, any clients)
 *        └──────┴──────┴──▶ link 2: TPC.MREAD 1732... 3 2 GET a 2 GET b 3 MGET c d
 *                                 ◀── *3 $1 A $1 B *2 ...  ──▶ each reply to its caller
 *
 * If the batch's link drops, or gives no answer within the prepare timeout (a stopped
 * replica keeps its connection open), each read not yet answered is sent on its own
 * (TPC.READ) to another link, and the first answer wins. A read_call lives until it has
 * answered and every request it was part of has called back.
 *
 * When no replica can take a read (every one dropped it, or none is READY: all links
 * reconnecting after a replica restart, or after the watchdog dropped them while a 64 MB
 * reply kept them busy), the read waits for one to come back, as a write does: up to
 * write-wait-ms from then, trying again every READ_WAIT_TICK_MS; only then does it answer
 * the error. A link reconnects within ~100 ms of its replica being back.
 */
#include "reads.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "op.h"
#include "replica_link.h"
#include "settings.h"
#include "txn_io.h"
#include "util.h"

struct read_call {
    reads_done_fn fn;    /* and its argument: the caller's, called once */
    void *arg;
    struct op *op;       /* the client's command */
    struct event *timer; /* reads sent on their own (a retry), and the wait for a link */
    int tries, outstanding, done;
    uint64_t wait_until; /* waiting for a READY link until then (util_mono_ms); 0: not */
    const char *err;     /* the answer if none comes back by then */
};

#define READ_WAIT_TICK_MS 20

struct read_batch {
    struct link *l;
    struct read_call **rc;
    size_t n, cap;
    struct event *timer; /* the prepare timeout: then each read also goes elsewhere */
};

#define READ_LINKS_MAX 64
static struct event_base *base;
static struct txn *txn;
static struct read_batch *queued[READ_LINKS_MAX]; /* per link index, this loop turn */
static struct event *flush_ev;

static int read_send(struct read_call *rc, const struct link *skip);
static void read_timeout(evutil_socket_t fd, short what, void *arg);

static void read_finish(struct read_call *rc, const struct link_reply *r, const char *err)
{
    rc->done = 1;
    if (rc->timer)
        evtimer_del(rc->timer);
    rc->fn(rc->arg, r, r ? NULL : err);
}

static void read_maybe_free(struct read_call *rc)
{
    if (!rc->done || rc->outstanding > 0)
        return;
    if (rc->timer)
        event_free(rc->timer);
    op_free(rc->op);
    free(rc);
}

static void arm_ms(struct event *timer, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(timer, &tv);
}

/* No replica can take rc now: wait for one (see the opening comment). Returns 0 (the
 * timer will try again), or -1 when it cannot wait (no time left, no memory). */
static int read_wait(struct read_call *rc, const char *err)
{
    uint64_t now = util_mono_ms();
    if (!rc->wait_until) {
        rc->wait_until = now + (uint64_t)settings_get()->write_wait_ms;
        rc->err = err;
    }
    if (now >= rc->wait_until || (!rc->timer && !(rc->timer = evtimer_new(base, read_timeout,
                                                                          rc))))
        return -1;
    arm_ms(rc->timer, READ_WAIT_TICK_MS);
    return 0;
}

/* The link l failed rc (dropped, or could not take the request): try another one. */
static void read_retry(struct read_call *rc, const struct link *l)
{
    if (rc->done)
        return;
    if (++rc->tries >= txn_nlinks(txn) || read_send(rc, l) < 0)
        if (rc->outstanding == 0 && read_wait(rc, "ERR no replica could serve the read") < 0)
            read_finish(rc, NULL, rc->err); /* every replica dropped it */
}

static void read_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct read_call *rc = arg;
    rc->outstanding--;
    if (!rc->done) {
        if (r)
            read_finish(rc, r, NULL);
        else
            read_retry(rc, l);
    }
    read_maybe_free(rc);
}

static void arm(struct event *timer)
{
    arm_ms(timer, txn_prepare_timeout_ms(txn));
}

static void read_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct read_call *rc = arg;
    if (rc->done)
        return;
    if (rc->outstanding == 0) { /* waiting for a link (read_wait) */
        if (read_send(rc, NULL) < 0 && read_wait(rc, rc->err) < 0) {
            read_finish(rc, NULL, rc->err);
            read_maybe_free(rc);
        }
        return;
    }
    /* No answer yet: ask another replica too (a stalled link is skipped by the choice),
     * but never keep more copies in flight than there are replicas. A replica that takes
     * seconds over a 64 MB GET is slow, not lost (the link watchdog decides lost); sending
     * it a fresh copy every timeout piled GETs up behind each other on every replica
     * faster than they were served, and the read never finished. */
    if (rc->outstanding >= txn_nlinks(txn) || read_send(rc, NULL) < 0)
        arm(rc->timer);
}

/* Sends rc on its own: TPC.READ <now_ms> <command...> on a link other than skip. */
static int read_send(struct read_call *rc, const struct link *skip)
{
    struct link *l = txn_read_link(txn, skip);
    if (!l)
        return -1;
    if (!rc->timer && !(rc->timer = evtimer_new(base, read_timeout, rc)))
        return -1;
    char now[24], *small_argv[16];
    size_t n = (size_t)rc->op->argc + 2, small_lens[16];
    int small = n <= 16;
    const char **argv = small ? (const char **)small_argv : malloc(n * sizeof *argv);
    size_t *lens = small ? small_lens : malloc(n * sizeof *lens);
    int rc_send = -1;
    if (argv && lens) {
        argv[0] = "TPC.READ", lens[0] = 8;
        argv[1] = now, lens[1] = util_u64_to_str(txn_now_ms(txn), now);
        memcpy(argv + 2, rc->op->argv, (size_t)rc->op->argc * sizeof *argv);
        memcpy(lens + 2, rc->op->lens, (size_t)rc->op->argc * sizeof *lens);
        rc_send = link_send(l, (int)n, argv, lens, read_done, rc);
    }
    if (!small) {
        free(argv);
        free(lens);
    }
    if (rc_send < 0)
        return -1;
    rc->outstanding++;
    arm(rc->timer);
    return 0;
}

/* Frees b once every read in it has dropped its reference to b. */
static void batch_release(struct read_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        read_maybe_free(b->rc[i]);
    if (b->timer)
        event_free(b->timer);
    free(b->rc);
    free(b);
}

static void batch_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct read_batch *b = arg;
    int whole = r && !link_reply_is_error(r) && link_reply_len(r) == b->n;
    for (size_t i = 0; i < b->n; i++) {
        struct read_call *rc = b->rc[i];
        rc->outstanding--;
        if (rc->done)
            continue;
        if (whole)
            read_finish(rc, link_reply_elem(r, i), NULL);
        else if (r)
            read_finish(rc, r, NULL); /* the replica refused the batch: its error for each */
        else
            read_retry(rc, l);
    }
    batch_release(b);
}

static void batch_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct read_batch *b = arg;
    /* No answer yet: each read still waiting asks another replica too (if there is none,
     * the batch's answer, or its link's drop, still comes). */
    for (size_t i = 0; i < b->n; i++)
        if (!b->rc[i]->done)
            read_send(b->rc[i], b->l);
}

/* The argument vector of a TPC.MREAD, kept between batches: a big batch's arrays would
 * otherwise be allocated and freed every loop turn. */
static const char **mr_argv;
static size_t *mr_lens, mr_cap;
static char *mr_nums;

static int mr_reserve(size_t argc, size_t nums)
{
    if (argc <= mr_cap && nums <= mr_cap)
        return 0;
    size_t cap = mr_cap ? mr_cap : 256;
    while (cap < argc || cap < nums)
        cap *= 2;
    const char **argv = realloc(mr_argv, cap * sizeof *argv);
    if (argv)
        mr_argv = argv;
    size_t *lens = realloc(mr_lens, cap * sizeof *lens);
    if (lens)
        mr_lens = lens;
    char *n = realloc(mr_nums, cap * 24);
    if (n)
        mr_nums = n;
    if (!argv || !lens || !n)
        return -1;
    mr_cap = cap;
    return 0;
}

static void batch_send(struct read_batch *b)
{
    size_t argc = 3;
    for (size_t i = 0; i < b->n; i++)
        argc += 1 + (size_t)b->rc[i]->op->argc;
    int sent = -1;
    if (mr_reserve(argc, b->n + 2) == 0 &&
        (b->timer = evtimer_new(base, batch_timeout, b))) {
        const char **argv = mr_argv;
        size_t *lens = mr_lens, a = 0;
        char *nums = mr_nums;
        argv[a] = "TPC.MREAD", lens[a++] = 9;
        argv[a] = nums, lens[a++] = util_u64_to_str(txn_now_ms(txn), nums);
        argv[a] = nums + 24, lens[a++] = util_u64_to_str(b->n, nums + 24);
        for (size_t i = 0; i < b->n; i++) {
            const struct op *op = b->rc[i]->op;
            char *num = nums + 24 * (i + 2);
            argv[a] = num, lens[a++] = util_u64_to_str((uint64_t)op->argc, num);
            memcpy(argv + a, op->argv, (size_t)op->argc * sizeof *argv);
            memcpy(lens + a, op->lens, (size_t)op->argc * sizeof *lens);
            a += (size_t)op->argc;
        }
        size_t len = 0;
        char *cmd = link_format((int)argc, argv, lens, &len);
        if (cmd)
            sent = link_send_formatted(b->l, cmd, len, batch_done, b);
        link_format_free(cmd);
    }
    if (sent == 0) {
        arm(b->timer);
        return;
    }
    /* The link went away (or no memory): each read on its own, elsewhere. */
    for (size_t i = 0; i < b->n; i++) {
        struct read_call *rc = b->rc[i];
        rc->outstanding--;
        if (read_send(rc, b->l) < 0 && rc->outstanding == 0 &&
            read_wait(rc, "ERR no replica is available to serve reads") < 0)
            read_finish(rc, NULL, rc->err);
    }
    batch_release(b);
}

static struct link *turn_link;

static void flush_reads(evutil_socket_t fd, short what, void *arg)
{
    turn_link = NULL;
    for (size_t i = 0; i < READ_LINKS_MAX; i++) {
        struct read_batch *b = queued[i];
        if (!b)
            continue;
        queued[i] = NULL;
        batch_send(b);
    }
}

/* Queues rc on a READY link's batch for this loop turn. Returns 0, or -1 (no link). */
static int read_queue(struct read_call *rc)
{
    struct link *l = turn_link && link_state(turn_link) == LINK_READY ? turn_link
                                                                     : txn_read_link(txn, NULL);
    turn_link = l;
    int idx = l ? link_index(l) : -1;
    if (idx < 0 || idx >= READ_LINKS_MAX)
        return read_send(rc, NULL) == 0 ? 0
                                        : read_wait(rc, "ERR no replica is available to "
                                                        "serve reads");
    struct read_batch *b = queued[idx];
    if (!b) {
        if (!(b = calloc(1, sizeof *b)))
            return -1;
        queued[idx] = b;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct read_call **v = realloc(b->rc, cap * sizeof *v);
        if (!v)
            return -1;
        b->rc = v;
        b->cap = cap;
    }
    b->l = l;
    b->rc[b->n++] = rc;
    rc->outstanding++;
    if (!flush_ev)
        flush_ev = event_new(base, -1, 0, flush_reads, NULL);
    if (flush_ev)
        event_active(flush_ev, 0, 0);
    return flush_ev ? 0 : -1;
}

void reads_init(struct event_base *b, struct txn *t)
{
    base = b;
    txn = t;
}

int reads_submit(struct op *op, reads_done_fn fn, void *arg)
{
    struct read_call *rc = calloc(1, sizeof *rc);
    if (!rc) {
        op_free(op);
        return -1;
    }
    rc->op = op;
    rc->fn = fn;
    rc->arg = arg;
    if (read_queue(rc) < 0) {
        rc->done = 1; /* never queued: nothing refers to it */
        read_maybe_free(rc);
        return -1;
    }
    return 0;
}
