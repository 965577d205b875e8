/* client.c -- coordinator clients: dispatch, read-your-writes parking, in-order replies.
 *
 * See client.h for the queue diagram. Invariants, checked by assert_client():
 *   - writes == number of slots in the queue with is_write && !done;
 *   - nslots == the queue's length;
 *   - parked != NULL only while the connection is paused;
 *   - imm (the slot of an immediate reply during dispatch) is only set inside dispatch.
 *
 * The connection is paused for two independent reasons, and resumed only when neither
 * holds: a parked request (waiting for this client's writes) and the pending-reply cap
 * (CLIENT_MAX_PENDING). resume_if_free() is the one place that decides.
 *
 * CLIENT REPLY OFF / SKIP: a command whose reply must not be sent runs with `silent` set;
 * its immediate reply goes to a slot like any other, and silent slots are dropped instead
 * of sent when they reach the head of the queue, so order and accounting stay unchanged.
 *
 * RESP3: round results are encoded by the round engine in RESP2; a RESP3 client's write
 * slots are re-encoded (nulls become "_") when they complete, by reencode_copy(). Slots
 * opened while a command with a RESP3 reply shape runs (HGETALL's map...) are re-encoded
 * the same way with that shape.
 */
#include "client.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>

#include "conn.h"
#include "op.h"
#include "reencode.h"
#include "stats.h"
#include "util.h"

struct slot {
    struct client *cl;
    struct evbuffer *buf;
    struct resp_writer w;
    int done, is_write, silent, detached;
    int shape;            /* enum reencode_shape for RESP3 clients */
    void *ctx;            /* hooks->ctx_done(ctx) when done */
    slot_detached_fn fn;  /* detached slots only */
    void *fn_arg;
    struct slot *next;
};

struct client {
    struct conn *conn; /* NULL once the connection closed */
    struct slot *head, *tail;
    size_t nslots, writes, ndetached;
    struct slot *imm;
    struct op *parked;
    int parked_silent;
    int proto, close_when_drained, capped;
    int db; /* the selected database (SELECT; 0 for a new connection and after RESET) */
    int silent, reply_off, skip_next, authenticated, monitor, shape;
    struct resp_writer *capture;
    void *offered_ctx;
    struct multi_state *multi;
    struct pubsub_state *pubsub;
    uint64_t id, ctime_ms, last_ms;
    char *name, *lib_name, *lib_ver;
    char last_cmd[48];
    char addr[64]; /* the peer, kept after the connection closed (SLOWLOG) */
    TAILQ_ENTRY(client) link; /* on the registry while the connection is open */
};

static TAILQ_HEAD(, client) registry = TAILQ_HEAD_INITIALIZER(registry);
static const struct client_hooks *hooks;
static size_t nclients, nmonitors, pending_total, maxclients = 10000;
static int auth_required;

static void assert_client(const struct client *cl)
{
#ifndef NDEBUG
    size_t w = 0, n = 0;
    for (const struct slot *s = cl->head; s; s = s->next, n++)
        w += s->is_write && !s->done;
    assert(w == cl->writes && n == cl->nslots);
    assert(!cl->parked || !cl->conn || cl->imm == NULL);
#endif
}

void client_init(const struct client_hooks *h)
{
    hooks = h;
}

size_t client_count(void) { return nclients; }
size_t client_pending_total(void) { return pending_total; }
struct client *client_first(void) { return TAILQ_FIRST(&registry); }
struct client *client_next(const struct client *cl) { return TAILQ_NEXT(cl, link); }

static int evbuffer_sink(void *sink, const void *data, size_t len)
{
    return evbuffer_add(sink, data, len);
}

static int discard_sink(void *sink, const void *data, size_t len)
{
    return 0;
}

static void client_free(struct client *cl)
{
    op_free(cl->parked);
    free(cl->name);
    free(cl->lib_name);
    free(cl->lib_ver);
    free(cl);
}

static void maybe_free(struct client *cl)
{
    if (!cl->conn && cl->nslots == 0 && cl->ndetached == 0)
        client_free(cl);
}

int client_on_open(struct conn *c)
{
    struct client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return -1;
    cl->conn = c;
    cl->proto = 2;
    cl->id = conn_id(c);
    cl->ctime_ms = cl->last_ms = util_mono_ms();
    cl->authenticated = !auth_required;
    conn_set_unauthenticated(c, !cl->authenticated);
    strcpy(cl->last_cmd, "NULL");
    snprintf(cl->addr, sizeof cl->addr, "%s", conn_peer(c));
    conn_set_data(c, cl);
    TAILQ_INSERT_TAIL(&registry, cl, link);
    nclients++;
    stats_connection();
    if (nclients > maxclients) {
        /* Redis accepts, answers this error and closes. */
        stats_rejected();
        struct resp_writer *w = conn_writer(c);
        resp_write_error(w, "ERR max number of clients reached");
        conn_close_after_reply(c);
        conn_flush(c);
    }
    return 0;
}

int client_conn_busy(struct conn *c)
{
    struct client *cl = conn_data(c);
    size_t waiting = cl && hooks->waiting ? hooks->waiting(cl) : 0;
    return cl && (cl->nslots > waiting || cl->parked || cl->imm);
}

void client_set_maxclients(size_t n) { maxclients = n; }
void client_set_auth_required(int yes) { auth_required = yes; }

void client_on_close(struct conn *c)
{
    struct client *cl = conn_data(c);
    if (hooks->on_close)
        hooks->on_close(cl);
    TAILQ_REMOVE(&registry, cl, link);
    nclients--;
    if (cl->monitor)
        nmonitors--;
    cl->conn = NULL;
    maybe_free(cl);
}

static void resume_if_free(struct client *cl)
{
    if (cl->conn && !cl->parked && !cl->capped)
        conn_resume(cl->conn);
}

/* Runs one request with the silence CLIENT REPLY asks for. */
static void run_request(struct client *cl, const struct resp_request *req, int silent)
{
    cl->silent = silent;
    cl->last_ms = util_mono_ms();
    hooks->dispatch(cl, req);
    if (cl->imm) {
        struct slot *s = cl->imm;
        cl->imm = NULL;
        slot_done(s);
    }
    cl->silent = 0;
    if (cl->conn && !cl->capped && cl->nslots >= CLIENT_MAX_PENDING) {
        cl->capped = 1;
        conn_pause(cl->conn);
    }
    assert_client(cl);
}

void client_on_request(struct conn *c, const struct resp_request *req)
{
    struct client *cl = conn_data(c);
    int silent = cl->reply_off || cl->skip_next;
    cl->skip_next = 0;
    run_request(cl, req, silent);
}

struct resp_writer *client_reply_writer(struct client *cl)
{
    static struct resp_writer discard = { discard_sink, NULL, 2 };
    if (cl->capture)
        return cl->capture;
    if (!cl->conn) {
        discard.proto = cl->proto;
        return &discard;
    }
    if (!cl->head && !cl->silent) {
        struct resp_writer *w = conn_writer(cl->conn);
        w->proto = cl->proto;
        return w;
    }
    if (!cl->imm)
        cl->imm = client_slot_new(cl, 0);
    if (!cl->imm) {
        discard.proto = cl->proto;
        return &discard;
    }
    return slot_writer(cl->imm);
}

static struct slot *slot_alloc(struct client *cl)
{
    struct slot *s = calloc(1, sizeof *s);
    if (!s || !(s->buf = evbuffer_new())) {
        free(s);
        return NULL;
    }
    s->cl = cl;
    return s;
}

struct slot *client_slot_new(struct client *cl, int is_write)
{
    struct slot *s = slot_alloc(cl);
    if (!s)
        return NULL;
    s->is_write = is_write;
    s->silent = cl->silent;
    s->shape = cl->shape;
    s->ctx = cl->offered_ctx;
    cl->offered_ctx = NULL;
    s->w = (struct resp_writer){ evbuffer_sink, s->buf, cl->proto };
    if (cl->tail)
        cl->tail->next = s;
    else
        cl->head = s;
    cl->tail = s;
    cl->nslots++;
    pending_total++;
    cl->writes += is_write;
    return s;
}

struct slot *client_slot_detached(struct client *cl, slot_detached_fn fn, void *arg)
{
    struct slot *s = slot_alloc(cl);
    if (!s)
        return NULL;
    s->detached = 1;
    s->fn = fn;
    s->fn_arg = arg;
    s->w = (struct resp_writer){ evbuffer_sink, s->buf, 2 };
    cl->ndetached++;
    return s;
}

struct resp_writer *slot_writer(struct slot *s)
{
    return &s->w;
}

/* RESP3 clients: round results arrive in RESP2 (and maps as flat arrays); re-encode. */
static void slot_reencode(struct slot *s)
{
    if (s->cl->proto < 3 || (!s->is_write && s->shape == REENCODE_PLAIN))
        return;
    size_t len = evbuffer_get_length(s->buf);
    struct evbuffer *out = evbuffer_new();
    if (!out || len == 0) {
        evbuffer_free(out);
        return;
    }
    const char *p = (const char *)evbuffer_pullup(s->buf, -1);
    struct resp_writer w = { evbuffer_sink, out, 3 };
    size_t off = 0, used;
    while (off < len && (used = reencode_copy(p + off, len - off, &w, s->shape)) > 0)
        off += used;
    if (off == len) {
        evbuffer_free(s->buf);
        s->buf = out;
    } else {
        evbuffer_free(out); /* not RESP we understand: leave it as it is */
    }
}

/* Sends (or, for a closed client or a silent slot, drops) every completed slot at the head
 * of the queue. */
static void flush_done(struct client *cl)
{
    int sent = 0;
    while (cl->head && cl->head->done) {
        struct slot *s = cl->head;
        cl->head = s->next;
        if (!cl->head)
            cl->tail = NULL;
        cl->nslots--;
        pending_total--;
        if (cl->conn && !s->silent) {
            conn_add_buffer(cl->conn, s->buf);
            sent = 1;
        }
        evbuffer_free(s->buf);
        free(s);
    }
    if (!cl->conn)
        return;
    if (!cl->head && cl->close_when_drained)
        conn_close_after_reply(cl->conn);
    if (sent)
        cl->last_ms = util_mono_ms();
    if (sent || !cl->head)
        conn_flush(cl->conn); /* no longer busy: a half-closed conn may close now */
}

static void dispatch_parked(struct client *cl)
{
    struct op *op = cl->parked;
    cl->parked = NULL;
    struct resp_request req = { op->argc, op->argv, op->lens };
    run_request(cl, &req, cl->parked_silent);
    op_free(op);
    resume_if_free(cl);
}

static void detached_done(struct slot *s)
{
    struct client *cl = s->cl;
    size_t len = evbuffer_get_length(s->buf);
    const char *p = len ? (const char *)evbuffer_pullup(s->buf, -1) : "";
    s->fn(s->fn_arg, p, len);
    evbuffer_free(s->buf);
    free(s);
    cl->ndetached--;
    maybe_free(cl);
}

void slot_done(struct slot *s)
{
    struct client *cl = s->cl;
    void *ctx = s->ctx;
    s->ctx = NULL;
    if (ctx && hooks->ctx_done)
        hooks->ctx_done(cl, ctx);
    if (s->detached) {
        detached_done(s);
        return;
    }
    s->done = 1;
    if (s->is_write)
        cl->writes--;
    slot_reencode(s);
    flush_done(cl);
    if (!cl->conn) {
        maybe_free(cl);
        return;
    }
    if (cl->capped && cl->nslots <= CLIENT_MAX_PENDING / 2) {
        cl->capped = 0;
        resume_if_free(cl);
    }
    if (cl->parked && cl->writes == 0)
        dispatch_parked(cl);
}

void client_offer_ctx(struct client *cl, void *ctx)
{
    cl->offered_ctx = ctx;
}

void *client_take_ctx(struct client *cl)
{
    void *ctx = cl->offered_ctx;
    cl->offered_ctx = NULL;
    return ctx;
}

void client_capture(struct client *cl, struct resp_writer *w)
{
    cl->capture = w;
}

int client_capturing(const struct client *cl)
{
    return cl->capture != NULL;
}

void client_push(struct client *cl, const char *data, size_t len)
{
    if (!cl->conn)
        return;
    int silent = cl->silent;
    cl->silent = 0;
    struct slot *s = client_slot_new(cl, 0);
    cl->silent = silent;
    if (!s)
        return;
    evbuffer_add(s->buf, data, len);
    slot_done(s);
}

void client_deliver(struct client *cl, const char *data, size_t len)
{
    if (!cl->conn)
        return;
    if (cl->capture) {
        /* Published to itself inside EXEC: Redis writes it amid EXEC's array. */
        cl->capture->write(cl->capture->sink, data, len);
        return;
    }
    client_push(cl, data, len);
}

int client_has_writes(const struct client *cl)
{
    return cl->writes > 0;
}

void client_park(struct client *cl, const struct resp_request *req)
{
    assert(!cl->parked);
    cl->parked = op_new(req->argc, req->argv, req->lens);
    if (!cl->parked) {
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    cl->parked_silent = cl->silent;
    conn_pause(cl->conn);
}

int client_is_parked(const struct client *cl) { return cl->parked != NULL; }
struct conn *client_conn(const struct client *cl) { return cl->conn; }
int client_proto(const struct client *cl) { return cl->proto; }
void client_set_proto(struct client *cl, int proto) { cl->proto = proto; }
int client_db(const struct client *cl) { return cl->db; }
void client_set_db(struct client *cl, int db) { cl->db = db; }
uint64_t client_id(const struct client *cl) { return cl->id; }

void client_close_after_reply(struct client *cl)
{
    if (!cl->conn)
        return;
    conn_pause(cl->conn);
    if (cl->head || cl->imm)
        cl->close_when_drained = 1;
    else
        conn_close_after_reply(cl->conn);
}

void client_kill(struct client *cl)
{
    if (!cl->conn)
        return;
    conn_pause(cl->conn);
    conn_close_after_reply(cl->conn);
    conn_flush(cl->conn);
}

/* ---- session state ---- */

static int set_str(char **dst, const char *s, size_t len)
{
    char *copy = NULL;
    if (len > 0) {
        if (!(copy = malloc(len + 1)))
            return -1;
        memcpy(copy, s, len);
        copy[len] = 0;
    }
    free(*dst);
    *dst = copy;
    return 0;
}

/* Redis's rule for names and library attributes: printable ASCII, no spaces. */
static int valid_name(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~')
            return 0;
    return 1;
}

const char *client_name(const struct client *cl) { return cl->name ? cl->name : ""; }
const char *client_addr(const struct client *cl) { return cl->addr; }

int client_set_name(struct client *cl, const char *name, size_t len)
{
    if (!valid_name(name, len))
        return -1;
    return set_str(&cl->name, name, len);
}

const char *client_lib(const struct client *cl, int ver)
{
    const char *s = ver ? cl->lib_ver : cl->lib_name;
    return s ? s : "";
}

int client_set_lib(struct client *cl, int ver, const char *s, size_t len)
{
    if (!valid_name(s, len))
        return -1;
    return set_str(ver ? &cl->lib_ver : &cl->lib_name, s, len);
}

int client_authenticated(const struct client *cl) { return cl->authenticated; }

void client_set_authenticated(struct client *cl, int yes)
{
    cl->authenticated = yes;
    if (cl->conn)
        conn_set_unauthenticated(cl->conn, !yes);
}

int client_monitor(const struct client *cl) { return cl->monitor; }
size_t client_monitor_count(void) { return nmonitors; }
struct multi_state *client_multi(const struct client *cl) { return cl->multi; }
void client_set_multi(struct client *cl, struct multi_state *m) { cl->multi = m; }
struct pubsub_state *client_pubsub(const struct client *cl) { return cl->pubsub; }
void client_set_pubsub(struct client *cl, struct pubsub_state *p) { cl->pubsub = p; }

void client_set_monitor(struct client *cl, int yes)
{
    if (cl->conn && cl->monitor != !!yes)
        nmonitors += yes ? 1 : (size_t)-1;
    cl->monitor = !!yes;
}

void client_set_reply_mode(struct client *cl, enum client_reply_mode mode)
{
    switch (mode) {
    case CLIENT_REPLY_ON:
        cl->reply_off = cl->skip_next = 0;
        cl->silent = 0;
        break;
    case CLIENT_REPLY_OFF:
        cl->reply_off = 1;
        cl->silent = 1;
        break;
    case CLIENT_REPLY_SKIP:
        cl->skip_next = !cl->reply_off;
        cl->silent = 1;
        break;
    }
}

void client_set_shape(struct client *cl, int shape)
{
    cl->shape = shape;
}

void client_set_last_cmd(struct client *cl, const char *name)
{
    size_t n = strlen(name);
    if (n >= sizeof cl->last_cmd)
        n = sizeof cl->last_cmd - 1;
    memcpy(cl->last_cmd, name, n);
    cl->last_cmd[n] = 0;
}

static void local_addr(int fd, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    snprintf(out, outlen, "?:0");
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, outlen, "%s:%d", host, port);
}

void client_get_info(const struct client *cl, struct client_info *ci)
{
    uint64_t now = util_mono_ms();
    memset(ci, 0, sizeof *ci);
    ci->id = cl->id;
    ci->addr = cl->addr;
    ci->fd = cl->conn ? conn_fd(cl->conn) : -1;
    local_addr(ci->fd, ci->laddr, sizeof ci->laddr);
    ci->name = client_name(cl);
    ci->lib_name = client_lib(cl, 0);
    ci->lib_ver = client_lib(cl, 1);
    ci->last_cmd = cl->last_cmd;
    ci->proto = cl->proto;
    ci->db = cl->db;
    ci->monitor = cl->monitor;
    ci->closing = cl->close_when_drained;
    ci->age_s = (now - cl->ctime_ms) / 1000;
    ci->idle_s = (now - cl->last_ms) / 1000;
    ci->pending = cl->nslots;
    if (cl->conn)
        conn_buffered(cl->conn, &ci->qbuf, &ci->obuf);
}

void client_close_idle(int timeout_s)
{
    if (timeout_s <= 0)
        return;
    uint64_t now = util_mono_ms();
    struct client *cl = TAILQ_FIRST(&registry);
    while (cl) {
        struct client *next = TAILQ_NEXT(cl, link);
        int busy = cl->monitor || cl->pubsub || cl->nslots > 0 || cl->ndetached > 0 ||
                   cl->parked;
        if (!busy && now - cl->last_ms > (uint64_t)timeout_s * 1000)
            client_kill(cl);
        cl = next;
    }
}
