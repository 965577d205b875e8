/* multi.c -- MULTI, EXEC, DISCARD, WATCH, UNWATCH (see multi.h).
 *
 * A client's transaction state, and the life of one EXEC:
 *
 *     MULTI ─▶ active ──queue──▶ [SET a 1] [PING] [GET a]          (each answered +QUEUED)
 *                 │
 *              EXEC ──flagged?──▶ EXECABORT, discarded
 *                 │
 *                 ▼  an exec_call takes the queue and the watch list; the client's state
 *                    is fresh again (it may pipeline a new MULTI at once)
 *        watched keys busy? ──yes──▶ waits on the `waiting` list (re-checked when a write
 *                 │                   is decided or a watched key is dirtied)
 *                 ▼
 *        dirty? ──yes──▶ null array
 *                 │
 *                 ▼  exec_submit: local commands run now (their replies captured), the
 *                    data commands become one TX op, submitted as one write with a
 *                    detached slot
 *        round decided ──▶ exec_result: EXEC's array = the TX's results with the local
 *                          replies spliced in; or the round's error as EXEC's reply.
 *
 * EXEC's own reply slot is opened when EXEC arrives (and counts as a write), so replies
 * stay in request order and the client's later reads wait for the transaction.
 */
#include "multi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "client.h"
#include "coord.h"
#include "data_cmd.h"
#include "log.h"
#include "monitor.h"
#include "op.h"
#include "reencode.h"
#include "registry.h"
#include "settings.h"
#include "util.h"
#include "watch.h"

struct qcmd {
    const struct command *cmd;
    struct op *op;
};

struct multi_state {
    int active, flagged, oversize;
    struct qcmd *q;
    size_t nq, capq;
    size_t bytes; /* what the queue holds, as queued_cost() counts it */
    struct watcher *watch; /* NULL until the first WATCH */
};

struct exec_call {
    struct client *cl;
    struct slot *slot;           /* EXEC's reply, in the client's queue */
    struct qcmd *q;
    size_t nq;
    struct watcher *watch;       /* its WATCHed keys (NULL if none) */
    int db;                      /* the client's database when EXEC arrived */
    int final_db;                /* and after the queue's SELECTs (set at EXEC, see there) */
    struct watch_track *track;   /* the TX's writes, while its round is undecided */
    struct evbuffer *locals;     /* replies of the local commands, in queue order */
    size_t *local_off;           /* nq + 1 offsets into locals */
    TAILQ_ENTRY(exec_call) link; /* on `waiting` */
};

static TAILQ_HEAD(, exec_call) waiting = TAILQ_HEAD_INITIALIZER(waiting);
static struct event *recheck_ev;

static void recheck_cb(evutil_socket_t fd, short what, void *arg);

static void schedule_recheck(void)
{
    if (!TAILQ_EMPTY(&waiting))
        event_active(recheck_ev, 0, 0);
}

static struct multi_state *state(struct client *cl)
{
    struct multi_state *m = client_multi(cl);
    if (!m && (m = calloc(1, sizeof *m)))
        client_set_multi(cl, m);
    return m;
}

int multi_active(const struct client *cl)
{
    const struct multi_state *m = client_multi(cl);
    return m && m->active;
}

int multi_queued_count(const struct client *cl)
{
    const struct multi_state *m = client_multi(cl);
    return m && m->active ? (int)m->nq : -1;
}

int multi_dirty(const struct client *cl)
{
    const struct multi_state *m = client_multi(cl);
    return m && watch_dirty(m->watch);
}

/* Queues at least this long give their memory back to the system once freed (a
 * 1,000,000-command MULTI left the coordinator 100 MB bigger after DISCARD). */
#define MULTI_TRIM_AFTER 4096

static void free_queue(struct qcmd *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        op_free(q[i].op);
    free(q);
    if (n >= MULTI_TRIM_AFTER)
        util_trim_memory();
}

static void discard(struct multi_state *m)
{
    free_queue(m->q, m->nq);
    m->q = NULL;
    m->nq = m->capq = m->bytes = 0;
    m->active = m->flagged = m->oversize = 0;
}

static void unwatch(struct multi_state *m)
{
    watch_free(m->watch);
    m->watch = NULL;
}

void multi_forget(struct client *cl)
{
    struct multi_state *m = client_multi(cl);
    if (!m)
        return;
    discard(m);
    unwatch(m);
    free(m);
    client_set_multi(cl, NULL);
    schedule_recheck(); /* an EXEC of this client may be waiting: it is dropped now */
}

void multi_flag(struct client *cl)
{
    struct multi_state *m = client_multi(cl);
    if (m && m->active)
        m->flagged = 1;
}

void multi_exec_abort(struct client *cl, const char *err)
{
    struct multi_state *m = client_multi(cl);
    char msg[512];
    if (strncmp(err, "ERR ", 4) == 0)
        err += 4; /* Redis shows the reason without its generic prefix */
    snprintf(msg, sizeof msg, "EXECABORT Transaction discarded because of: %s", err);
    resp_write_error(client_reply_writer(cl), msg);
    if (m) {
        discard(m);
        unwatch(m);
    }
}

/* ---- queueing ---- */

static int is_data(const struct command *cmd)
{
    return (cmd->flags & (CMD_READ | CMD_WRITE)) != 0;
}

/* Local commands that cannot run inside EXEC: they answer later or end the session. */
static int refused_in_multi(const struct command *cmd)
{
    static const char *const refused[] = { "debug", "monitor", "shutdown", NULL };
    for (const char *const *s = refused; *s; s++)
        if (strcmp(cmd->name, *s) == 0)
            return 1;
    return 0;
}

/* The memory one queued command pins: its op (one allocation) and its queue entry. */
static size_t queued_cost(const struct resp_request *req)
{
    size_t n = sizeof(struct op) + sizeof(struct qcmd);
    for (int i = 0; i < req->argc; i++)
        n += sizeof(char *) + sizeof(size_t) + req->lens[i] + 1;
    return n;
}

/* The queue's bound: a transaction is submitted as one request, so it gets the limit of
 * one, client-query-buffer-limit (1 GB by default; a 1,000,000-command MULTI of SETs
 * takes ~100 MB). Past it the transaction is flagged, what was queued is freed at once,
 * and every later command until EXEC / DISCARD gets the same error without being kept, so
 * a client queueing without end costs at most the limit. Redis bounds the queue only
 * through maxmemory-clients; the error names what was passed. Returns 1 if refused. */
static int refuse_oversize(struct client *cl, struct multi_state *m, struct resp_writer *w,
                           const struct resp_request *req)
{
    size_t limit = (size_t)settings_get()->query_limit;
    size_t cost = queued_cost(req);
    if (!m->oversize && m->bytes + cost <= limit) {
        m->bytes += cost;
        return 0;
    }
    if (!m->oversize) {
        LOG_WARNING("client %s: MULTI queue of %zu commands passed client-query-buffer-limit "
                    "(%zu bytes); transaction discarded", client_addr(cl), m->nq, limit);
        free_queue(m->q, m->nq);
        m->q = NULL;
        m->nq = m->capq = m->bytes = 0;
    }
    m->oversize = m->flagged = 1;
    resp_write_error(w, "ERR MULTI queue exceeds client-query-buffer-limit; transaction "
                        "discarded (EXEC will fail)");
    return 1;
}

void multi_queue(struct client *cl, const struct command *cmd, const struct resp_request *req)
{
    struct multi_state *m = client_multi(cl);
    struct resp_writer *w = client_reply_writer(cl);
    if (refuse_oversize(cl, m, w, req))
        return;
    if (refused_in_multi(cmd)) {
        resp_write_error(w, "ERR Command not allowed inside a transaction");
        m->flagged = 1;
        return;
    }
    if (m->nq == m->capq) {
        size_t cap = m->capq ? m->capq * 2 : 8;
        struct qcmd *nq = realloc(m->q, cap * sizeof *nq);
        if (!nq) {
            resp_write_error(w, "ERR out of memory");
            m->flagged = 1;
            return;
        }
        m->q = nq;
        m->capq = cap;
    }
    struct op *op = op_new(req->argc, req->argv, req->lens);
    if (!op) {
        resp_write_error(w, "ERR out of memory");
        m->flagged = 1;
        return;
    }
    m->q[m->nq++] = (struct qcmd){ cmd, op };
    resp_write_simple(w, "QUEUED");
}

/* ---- MULTI, DISCARD, WATCH, UNWATCH ---- */

static void cmd_multi(struct client *cl, const struct resp_request *req)
{
    struct multi_state *m = state(cl);
    struct resp_writer *w = client_reply_writer(cl);
    if (!m) {
        resp_write_error(w, "ERR out of memory");
    } else if (m->active) {
        resp_write_error(w, "ERR MULTI calls can not be nested");
    } else {
        m->active = 1;
        resp_write_simple(w, "OK");
    }
}

static void cmd_discard(struct client *cl, const struct resp_request *req)
{
    struct multi_state *m = client_multi(cl);
    struct resp_writer *w = client_reply_writer(cl);
    if (!m || !m->active) {
        resp_write_error(w, "ERR DISCARD without MULTI");
        return;
    }
    discard(m);
    unwatch(m);
    resp_write_simple(w, "OK");
}

static void cmd_watch(struct client *cl, const struct resp_request *req)
{
    struct multi_state *m = state(cl);
    if (m && m->active) {
        resp_write_error(client_reply_writer(cl), "ERR WATCH inside MULTI is not allowed");
        return;
    }
    if (client_has_writes(cl)) {
        client_park(cl, req); /* our own earlier writes must not dirty this WATCH */
        return;
    }
    if (!m || (!m->watch && !(m->watch = watch_new()))) {
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    /* No point in watching more once a watched key changed (Redis skips it too). */
    for (int i = 1; i < req->argc && !watch_dirty(m->watch); i++)
        if (watch_key_db(m->watch, client_db(cl), req->argv[i], req->lens[i]) < 0) {
            resp_write_error(client_reply_writer(cl), "ERR out of memory");
            return;
        }
    resp_write_simple(client_reply_writer(cl), "OK");
}

static void cmd_unwatch(struct client *cl, const struct resp_request *req)
{
    struct multi_state *m = client_multi(cl);
    if (m)
        unwatch(m);
    resp_write_simple(client_reply_writer(cl), "OK");
}

/* ---- EXEC ---- */

static void exec_free(struct exec_call *ec)
{
    free_queue(ec->q, ec->nq);
    watch_free(ec->watch);
    watch_track_free(ec->track);
    if (ec->locals)
        evbuffer_free(ec->locals);
    free(ec->local_off);
    free(ec);
}

/* Answers EXEC with an error (or the null array when err is NULL) and frees ec. */
static void exec_finish(struct exec_call *ec, const char *err)
{
    struct resp_writer *w = slot_writer(ec->slot);
    if (err)
        resp_write_error(w, err);
    else
        resp_write_null_array(w);
    slot_done(ec->slot);
    exec_free(ec);
}

static int evbuffer_sink(void *sink, const void *data, size_t len)
{
    return evbuffer_add(sink, data, len);
}

/* Runs the queued local commands now, capturing each reply; feeds MONITOR every queued
 * command. Returns how many data commands remain for the TX, or -1 (out of memory). */
static int run_locals(struct exec_call *ec)
{
    int ndata = 0;
    ec->locals = evbuffer_new();
    ec->local_off = calloc(ec->nq + 1, sizeof *ec->local_off);
    if (!ec->locals || !ec->local_off)
        return -1;
    struct resp_writer w = { evbuffer_sink, ec->locals, client_proto(ec->cl) };
    for (size_t i = 0; i < ec->nq; i++) {
        struct op *op = ec->q[i].op;
        ec->local_off[i] = evbuffer_get_length(ec->locals);
        monitor_feed(ec->cl, op->argc, op->argv, op->lens);
        if (is_data(ec->q[i].cmd)) {
            ndata++;
            continue;
        }
        struct resp_request req = { op->argc, op->argv, op->lens };
        w.proto = client_proto(ec->cl);
        client_capture(ec->cl, &w);
        ec->q[i].cmd->fn(ec->cl, &req);
        client_capture(ec->cl, NULL);
    }
    ec->local_off[ec->nq] = evbuffer_get_length(ec->locals);
    return ndata;
}

/* Writes EXEC's array into w: local replies at their places, the TX's results (p, len: one
 * RESP2 element each, in order) for the data commands. Returns 0, or -1 if the TX's results
 * do not match the queue. */
static int write_results(struct exec_call *ec, struct resp_writer *w, const char *p, size_t len)
{
    const char *locals = (const char *)evbuffer_pullup(ec->locals, -1);
    resp_write_array(w, ec->nq);
    for (size_t i = 0; i < ec->nq; i++) {
        const struct command *cmd = ec->q[i].cmd;
        if (!is_data(cmd)) {
            w->write(w->sink, locals + ec->local_off[i], ec->local_off[i + 1] - ec->local_off[i]);
            continue;
        }
        const struct op *op = ec->q[i].op;
        size_t used = reencode_copy(p, len, w,
                                    reencode_shape_of_request(op->argc, op->argv, op->lens));
        if (used == 0)
            return -1;
        p += used;
        len -= used;
    }
    return len == 0 ? 0 : -1;
}

/* The TX's round was decided: bytes is its result (an array) or the round's error. */
static void exec_result(void *arg, const char *bytes, size_t len)
{
    struct exec_call *ec = arg;
    watch_track_free(ec->track);
    ec->track = NULL;
    if (len == 0 || bytes[0] != '*') {
        struct resp_writer *w = slot_writer(ec->slot);
        if (len > 0 && bytes[0] == '-')
            w->write(w->sink, bytes, len); /* the round's error, e.g. NOREPLICAS */
        else
            resp_write_error(w, "ERR unexpected transaction result from the replicas");
        slot_done(ec->slot);
        exec_free(ec);
        return;
    }
    /* Built aside first, so that a malformed result never leaves half an array. */
    const char *cr = memchr(bytes, '\n', len);
    size_t hdr = cr ? (size_t)(cr - bytes) + 1 : len;
    struct evbuffer *out = evbuffer_new();
    struct resp_writer w = { evbuffer_sink, out, slot_writer(ec->slot)->proto };
    if (!out || write_results(ec, &w, bytes + hdr, len - hdr) < 0) {
        if (out)
            evbuffer_free(out);
        exec_finish(ec, "ERR unexpected transaction result from the replicas");
        return;
    }
    struct resp_writer *sw = slot_writer(ec->slot);
    size_t n = evbuffer_get_length(out);
    sw->write(sw->sink, evbuffer_pullup(out, -1), n);
    evbuffer_free(out);
    slot_done(ec->slot);
    exec_free(ec);
}

/* Appends `argc arg...` of op at av/lv[*k]; num is 24 bytes for the count's digits. */
static void append_sub(char **av, size_t *lv, size_t *k, const struct op *op, char *num)
{
    av[*k] = num, lv[(*k)++] = util_u64_to_str((uint64_t)op->argc, num);
    for (int j = 0; j < op->argc; j++)
        av[*k] = op->argv[j], lv[(*k)++] = op->lens[j];
}

/* The data commands as the replicas get them (data_cmd_op): each in the database selected
 * where it was queued -- db at EXEC, then whatever a queued SELECT chose (one that fails
 * changes nothing, as in Redis). subs[i] is NULL for a local command. Returns 0, or -1
 * when out of memory (the caller frees subs). */
static int data_ops(const struct exec_call *ec, int db, struct op **subs)
{
    for (size_t i = 0; i < ec->nq; i++) {
        const struct op *op = ec->q[i].op;
        const char *err;
        if (op_is(op, "select") && op->argc == 2) {
            int n = settings_parse_db(op->argv[1], op->lens[1], &err);
            db = n >= 0 ? n : db;
        }
        if (is_data(ec->q[i].cmd) &&
            !(subs[i] = data_cmd_op(db, op->argc, op->argv, op->lens)))
            return -1;
    }
    return 0;
}

/* The database selected after the queue's SELECTs, starting from db (one that fails
 * changes nothing, as in Redis). */
static int queue_db(const struct exec_call *ec, int db)
{
    for (size_t i = 0; i < ec->nq; i++) {
        const struct op *op = ec->q[i].op;
        const char *err;
        if (op_is(op, "select") && op->argc == 2) {
            int n = settings_parse_db(op->argv[1], op->lens[1], &err);
            db = n >= 0 ? n : db;
        }
    }
    return db;
}

/* Builds `TX n {argc arg...}*n` from the data commands, and their write tracking; db is
 * the client's database when EXEC began. */
static struct op *build_tx(struct exec_call *ec, int ndata, int db)
{
    size_t total = 2, k = 0;
    struct op **subs = calloc(ec->nq + 1, sizeof *subs);
    if (!subs || data_ops(ec, db, subs) < 0) {
        for (size_t i = 0; subs && i < ec->nq; i++)
            op_free(subs[i]);
        free(subs);
        return NULL;
    }
    for (size_t i = 0; i < ec->nq; i++)
        if (subs[i])
            total += 1 + (size_t)subs[i]->argc;
    char **av = malloc(total * sizeof *av);
    size_t *lv = malloc(total * sizeof *lv);
    char *nums = malloc(((size_t)ndata + 1) * 24);
    struct op *tx = NULL;
    if (av && lv && nums) {
        av[k] = "TX", lv[k++] = 2;
        av[k] = nums, lv[k++] = util_u64_to_str((uint64_t)ndata, nums);
        char *num = nums + 24;
        for (size_t i = 0; i < ec->nq; i++) {
            const struct qcmd *q = &ec->q[i];
            if (!subs[i])
                continue;
            append_sub(av, lv, &k, subs[i], num);
            num += 24;
            ec->track = watch_track_add(ec->track, q->cmd, q->op->argc, q->op->argv,
                                        q->op->lens);
        }
        tx = op_new((int)k, av, lv);
    }
    for (size_t i = 0; i < ec->nq; i++)
        op_free(subs[i]);
    free(subs);
    free(av), free(lv), free(nums);
    return tx;
}

/* Watched keys are settled and clean: run the local commands and submit the TX. */
static void exec_submit(struct exec_call *ec)
{
    watch_free(ec->watch); /* EXEC unwatches everything, as in Redis */
    ec->watch = NULL;
    int db = client_db(ec->cl); /* cmd_exec set it; a queued SELECT must not undo a later one */
    client_set_db(ec->cl, ec->db);
    int ndata = run_locals(ec);
    client_set_db(ec->cl, db);
    if (ndata < 0) {
        exec_finish(ec, "ERR out of memory");
        return;
    }
    if (ndata == 0) {
        exec_result(ec, "*0\r\n", 4);
        return;
    }
    struct op *tx = build_tx(ec, ndata, ec->db);
    struct slot *ds = tx ? client_slot_detached(ec->cl, exec_result, ec) : NULL;
    if (!ds) {
        op_free(tx);
        exec_finish(ec, "ERR out of memory");
        return;
    }
    data_cmd_submit(tx, ds);
}

/* Decides a waiting EXEC if it can be: returns 1 if it was answered or submitted. */
static int exec_try(struct exec_call *ec)
{
    if (!client_conn(ec->cl)) {
        exec_finish(ec, "ERR connection closed"); /* dropped: nobody to answer */
        return 1;
    }
    if (watch_dirty(ec->watch)) {
        if (client_db(ec->cl) == ec->final_db)
            client_set_db(ec->cl, ec->db); /* nothing ran: no SELECT either */
        exec_finish(ec, NULL);
        return 1;
    }
    if (watch_busy(ec->watch))
        return 0;
    exec_submit(ec);
    return 1;
}

static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    TAILQ_HEAD(, exec_call) todo = TAILQ_HEAD_INITIALIZER(todo);
    TAILQ_CONCAT(&todo, &waiting, link);
    struct exec_call *ec;
    while ((ec = TAILQ_FIRST(&todo)) != NULL) {
        TAILQ_REMOVE(&todo, ec, link);
        watch_set_waiting(ec->watch, 0);
        if (!exec_try(ec)) {
            TAILQ_INSERT_TAIL(&waiting, ec, link);
            watch_set_waiting(ec->watch, 1);
        }
    }
}

static void cmd_exec(struct client *cl, const struct resp_request *req)
{
    struct multi_state *m = client_multi(cl);
    struct resp_writer *w = client_reply_writer(cl);
    if (!m || !m->active) {
        resp_write_error(w, "ERR EXEC without MULTI");
        return;
    }
    if (m->flagged) {
        resp_write_error(w, "EXECABORT Transaction discarded because of previous errors.");
        discard(m);
        unwatch(m);
        return;
    }
    struct exec_call *ec = calloc(1, sizeof *ec);
    if (!ec || !(ec->slot = client_slot_new(cl, 1))) {
        free(ec);
        resp_write_error(w, "ERR out of memory");
        return;
    }
    ec->cl = cl;
    ec->db = client_db(cl);
    ec->q = m->q, ec->nq = m->nq;
    /* The database the queue's SELECTs leave selected is the client's from now on: its
     * commands pipelined after EXEC are in it even while EXEC waits (a dirty WATCH, which
     * runs nothing, gives the old one back in exec_try). */
    ec->final_db = queue_db(ec, ec->db);
    client_set_db(cl, ec->final_db);
    ec->watch = m->watch;
    m->q = NULL, m->nq = m->capq = 0, m->active = 0, m->watch = NULL;
    if (!exec_try(ec)) {
        TAILQ_INSERT_TAIL(&waiting, ec, link);
        watch_set_waiting(ec->watch, 1);
    }
}

/* ---- registration ---- */

/* All allowed while loading, as in Redis 7 (a data command queued then is refused with
 * LOADING at queue time, which flags the transaction). */
#define LF (CMD_LOCAL | CMD_FAST | CMD_LOADING)
static const struct command multi_commands[] = {
    { "discard", 1, LF, 0, 0, 0, "transactions", "2.0.0", "Discards a transaction.",
      cmd_discard, NULL },
    { "exec", 1, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "transactions", "1.2.0",
      "Executes all commands in a transaction.", cmd_exec, NULL },
    { "multi", 1, LF, 0, 0, 0, "transactions", "1.2.0", "Starts a transaction.", cmd_multi,
      NULL },
    { "unwatch", 1, LF, 0, 0, 0, "transactions", "2.2.0",
      "Forgets about watched keys of a transaction.", cmd_unwatch, NULL },
    { "watch", -2, LF, 1, -1, 1, "transactions", "2.2.0",
      "Monitors changes to keys to determine the execution of a transaction.", cmd_watch,
      NULL },
};
#undef LF

int multi_init(struct coord *c)
{
    recheck_ev = event_new(c->base, -1, 0, recheck_cb, NULL);
    if (!recheck_ev)
        return -1;
    watch_set_notify(schedule_recheck);
    return registry_add(multi_commands, sizeof multi_commands / sizeof multi_commands[0]);
}
