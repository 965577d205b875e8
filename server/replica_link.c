/* replica_link.c -- hiredis async links to replicas, with reconnection and HELLO sync.
 *
 * The only file of the coordinator that includes hiredis. hiredis 0.14 frees its async
 * context itself after a failed connect or a disconnect, and calls every pending callback
 * with a NULL reply first; we therefore never free the context from inside one of its
 * callbacks, and we forget our pointer to it in the disconnect callback.
 */
#include "replica_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "record.h"
#include "util.h"

struct link {
    struct event_base *base;
    redisAsyncContext *ac;
    struct event *retry;
    struct link_events ev;
    enum link_state state;
    char addr[128];
    char host[100];
    int port, index;
    uint64_t connects, down_since_ms, last_complaint_ms;
    size_t pending;       /* requests sent, reply not yet received */
    uint64_t progress_ms; /* last reply, or when pending went from 0 to 1 */
};

struct link_call {
    struct link *l;
    link_reply_fn fn;
    void *arg;
};

static void link_connect(struct link *l);

static void set_state(struct link *l, enum link_state s)
{
    if (l->state == s)
        return;
    LOG_VERBOSE("replica %s: %s -> %s", l->addr, link_state_name(l->state), link_state_name(s));
    l->state = s;
}

static void schedule_retry(struct link *l)
{
    struct timeval tv = { 0, LINK_RETRY_MS * 1000 };
    evtimer_add(l->retry, &tv);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    link_connect(arg);
}

static void went_down(struct link *l, const char *why)
{
    int was_up = l->state != LINK_DOWN;
    l->ac = NULL;
    l->pending = 0;
    set_state(l, LINK_DOWN);
    uint64_t now = util_mono_ms();
    if (was_up) {
        l->down_since_ms = l->last_complaint_ms = now;
        LOG_WARNING("replica %s is down: %s", l->addr, why);
        if (l->ev.on_down)
            l->ev.on_down(l->ev.ctx, l);
    } else if (now - l->last_complaint_ms >= 10000) {
        l->last_complaint_ms = now;
        LOG_WARNING("replica %s still unreachable after %llu s: %s", l->addr,
                    (unsigned long long)((now - l->down_since_ms) / 1000), why);
    }
    schedule_retry(l);
}

static void note_sent(struct link *l)
{
    if (l->pending++ == 0)
        l->progress_ms = util_mono_ms();
}

static void note_reply(struct link *l)
{
    if (l->pending > 0)
        l->pending--;
    l->progress_ms = util_mono_ms();
}

static void hello_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct link *l = privdata;
    redisReply *r = reply;
    if (!r)
        return; /* disconnect callback follows */
    note_reply(l);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[3]->type != REDIS_REPLY_INTEGER ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_ARRAY) {
        LOG_WARNING("replica %s: bad TPC.HELLO reply; is it a twopc replica?", l->addr);
        redisAsyncDisconnect(ac);
        return;
    }
    size_t n = r->element[2]->elements;
    uint64_t *rids = calloc(n ? n : 1, sizeof *rids);
    for (size_t i = 0; rids && i < n; i++)
        rids[i] = (uint64_t)r->element[2]->element[i]->integer;
    struct link_hello h = { (uint64_t)r->element[0]->integer, (uint64_t)r->element[1]->integer,
                            rids ? n : 0, rids, (uint64_t)r->element[3]->integer };
    LOG_NOTICE("replica %s is up: applied round %llu, %zu in doubt", l->addr,
               (unsigned long long)h.applied, h.n_in_doubt);
    if (l->ev.on_hello)
        l->ev.on_hello(l->ev.ctx, l, &h);
    free(rids);
    if (l->ac)
        set_state(l, LINK_READY);
}

static void connect_cb(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;
    if (status != REDIS_OK) {
        went_down(l, ac->errstr);
        return;
    }
    l->connects++;
    set_state(l, LINK_SYNCING);
    if (redisAsyncCommand(l->ac, hello_cb, l, "TPC.HELLO") == REDIS_OK)
        note_sent(l);
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;
    went_down(l, status == REDIS_OK ? "connection closed" : ac->errstr);
}

static void link_connect(struct link *l)
{
    redisAsyncContext *ac = redisAsyncConnect(l->host, l->port);
    if (!ac) {
        schedule_retry(l);
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof why, "%s", ac->errstr);
        redisAsyncFree(ac);
        went_down(l, why);
        return;
    }
    ac->data = l;
    l->ac = ac;
    redisLibeventAttach(ac, l->base);
    redisAsyncSetConnectCallback(ac, connect_cb);
    redisAsyncSetDisconnectCallback(ac, disconnect_cb);
}

struct link *link_new(struct event_base *base, const char *addr, int index,
                      const struct link_events *ev)
{
    struct link *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    if (util_parse_addr(addr, l->host, sizeof l->host, &l->port) < 0) {
        free(l);
        return NULL;
    }
    snprintf(l->addr, sizeof l->addr, "%s", addr);
    l->base = base;
    l->index = index;
    l->ev = *ev;
    l->state = LINK_DOWN;
    l->down_since_ms = l->last_complaint_ms = util_mono_ms();
    l->retry = evtimer_new(base, retry_cb, l);
    link_connect(l);
    return l;
}

void link_free(struct link *l)
{
    if (!l)
        return;
    l->ev.on_down = NULL;
    if (l->ac) {
        l->ac->data = l;
        redisAsyncFree(l->ac); /* runs pending callbacks with NULL, then disconnect_cb */
    }
    event_free(l->retry);
    free(l);
}

void link_drop(struct link *l, const char *why)
{
    if (!l->ac)
        return;
    LOG_WARNING("replica %s: dropping the link to resynchronize it: %s", l->addr, why);
    set_state(l, LINK_SYNCING); /* no more reads from now on */
    redisAsyncDisconnect(l->ac);  /* deferred by hiredis until callbacks return */
}

enum link_state link_state(const struct link *l) { return l->state; }
const char *link_addr(const struct link *l) { return l->addr; }
int link_index(const struct link *l) { return l->index; }
uint64_t link_connects(const struct link *l) { return l->connects; }

int link_stalled(const struct link *l, uint64_t stall_ms)
{
    return l->pending > 0 && util_mono_ms() - l->progress_ms > stall_ms;
}

const char *link_state_name(enum link_state s)
{
    static const char *const names[LINK_STATE_MAX] = { "down", "syncing", "ready" };
    return s < LINK_STATE_MAX ? names[s] : "?";
}

static void call_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct link_call *call = privdata;
    if (reply)
        note_reply(call->l);
    call->fn(call->l, reply, call->arg);
    free(call);
}

int link_send(struct link *l, int argc, const char **argv, const size_t *lens,
              link_reply_fn fn, void *arg)
{
    if (!l->ac || l->state == LINK_DOWN)
        return -1;
    struct link_call *call = malloc(sizeof *call);
    if (!call)
        return -1;
    *call = (struct link_call){ l, fn, arg };
    if (redisAsyncCommandArgv(l->ac, call_cb, call, argc, argv, lens) != REDIS_OK) {
        free(call);
        return -1;
    }
    note_sent(l);
    return 0;
}

/* Our RESP writer, not redisFormatCommandArgv: hiredis 0.14 sprintf()s every argument's
 * header, 2-3% of the coordinator's CPU for a big round or read batch. */
char *link_format(int argc, const char **argv, const size_t *lens, size_t *len)
{
    struct record_buf b = { 0 };
    struct resp_writer w = { record_buf_sink, &b, 2 };
    int rc = resp_write_array(&w, (size_t)argc);
    for (int i = 0; rc == 0 && i < argc; i++)
        rc = resp_write_bulk(&w, argv[i], lens[i]);
    if (rc < 0) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

void link_format_free(char *cmd)
{
    free(cmd);
}

int link_send_formatted(struct link *l, const char *cmd, size_t len, link_reply_fn fn,
                        void *arg)
{
    if (!l->ac || l->state == LINK_DOWN)
        return -1;
    struct link_call *call = malloc(sizeof *call);
    if (!call)
        return -1;
    *call = (struct link_call){ l, fn, arg };
    if (redisAsyncFormattedCommand(l->ac, call_cb, call, cmd, len) != REDIS_OK) {
        free(call);
        return -1;
    }
    note_sent(l);
    return 0;
}

/* A link_reply is a redisReply; the cast keeps hiredis out of every other header. */
static const redisReply *R(const struct link_reply *r) { return (const redisReply *)r; }

int link_reply_is_error(const struct link_reply *r)
{
    return R(r)->type == REDIS_REPLY_ERROR;
}

int link_reply_is_status(const struct link_reply *r, const char *text)
{
    return R(r)->type == REDIS_REPLY_STATUS && strcmp(R(r)->str, text) == 0;
}

const char *link_reply_str(const struct link_reply *r, size_t *len)
{
    int t = R(r)->type;
    if (t != REDIS_REPLY_STRING && t != REDIS_REPLY_STATUS && t != REDIS_REPLY_ERROR)
        return NULL;
    *len = R(r)->len;
    return R(r)->str;
}

int link_reply_int(const struct link_reply *r, long long *v)
{
    if (R(r)->type != REDIS_REPLY_INTEGER)
        return -1;
    *v = R(r)->integer;
    return 0;
}

size_t link_reply_len(const struct link_reply *r)
{
    return R(r)->type == REDIS_REPLY_ARRAY ? R(r)->elements : 0;
}

const struct link_reply *link_reply_elem(const struct link_reply *r, size_t i)
{
    return (const struct link_reply *)R(r)->element[i];
}

int link_reply_write(const struct link_reply *r, struct resp_writer *w)
{
    const redisReply *x = R(r);
    switch (x->type) {
    case REDIS_REPLY_STATUS: return resp_write_simple(w, x->str);
    case REDIS_REPLY_ERROR: return resp_write_error(w, x->str);
    case REDIS_REPLY_INTEGER: return resp_write_int(w, x->integer);
    case REDIS_REPLY_STRING: return resp_write_bulk(w, x->str, x->len);
    case REDIS_REPLY_NIL: return resp_write_null(w);
    case REDIS_REPLY_ARRAY:
        if (resp_write_array(w, x->elements) < 0)
            return -1;
        for (size_t i = 0; i < x->elements; i++)
            if (link_reply_write(link_reply_elem(r, i), w) < 0)
                return -1;
        return 0;
    default: return resp_write_error(w, "ERR unexpected reply from replica");
    }
}
