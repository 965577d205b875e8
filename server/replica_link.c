/* replica_link.c -- hiredis async links to replicas, with reconnection and HELLO sync.
 *
 * The only file of the coordinator that includes hiredis. hiredis 0.14 frees its async
 * context itself after a failed connect or a disconnect, and calls every pending callback
 * with a NULL reply first; we therefore never free the context from inside one of its
 * callbacks, and we forget our pointer to it in the disconnect callback.
 *
 * Liveness (replica_link.h, "Liveness"): each link has a watchdog timer, a libevent timer
 * of our own, so it never runs inside a hiredis callback and may free the context. It
 * fires every tick_ms() and, in this order:
 *   1. a connect under way for link_timeout_ms: abandon it (redisAsyncFree: no callback
 *      is pending before connect_cb has sent TPC.HELLO, and hiredis calls no disconnect
 *      callback for a context that never connected), then went_down(): retry later;
 *   2. a request outstanding for link_timeout_ms with no reply: a silent partition, a
 *      stopped replica or a stuck disk; drop the connection (redisAsyncFree runs every
 *      pending callback with NULL, then disconnect_cb, exactly as a lost connection does)
 *      and reconnect. redisAsyncDisconnect would not do: it waits for pending replies;
 *      A request that carries big work (a PREPARE of a 512 MB value, the COMMIT that
 *      applies it, a 1,000,000-op EXEC) extends this by link_allow()'s allowance, sized by
 *      the round engine from the round's bytes and ops: a replica busy evaluating, logging
 *      or applying one long SQLite transaction answers nothing, PING included (its event
 *      loop is in that work), so silence is only suspicious once the work had time enough;
 *      Bytes still moving either way count as progress (note_transfer): a 512 MB PREPARE
 *      being written, a 512 MB GET reply being read;
 *   3. nothing outstanding for a quarter of the timeout: send a PING, so a silent
 *      partition is seen within link_timeout_ms * 5/4 even on an idle link.
 * Without this, a connection cut silently stays ESTABLISHED on our side and only TCP's
 * retransmission backoff ends it: writes came back 11 s after a 15 s partition healed.
 */
#include "replica_link.h"

#ifdef TWOPC_ASSERTS
#undef NDEBUG /* the state machine's checks stay in every build (CMakeLists: TWOPC_ASSERTS) */
#endif
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "log.h"
#include "secret.h"
#include "util.h"
#include "version.h"

#define LINK_REFUSAL_LOG_MS 10000 /* the same refusal is logged again after this long */

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
    uint64_t connect_ms;  /* when the connect under way started */
    uint64_t allow_ms;    /* extra silence allowed for big work outstanding (link_allow) */
    size_t seen_in, seen_out; /* hiredis's reader and output buffer sizes at the last tick */
    struct event *watchdog;
    const char *lost_why; /* set while the watchdog frees the context: went_down's reason */
    int proto;            /* the protocol version the replica agreed to; 0: none yet */
    int refused;          /* the connection is closing because one side refused the other */
    char refusal[320];    /* why, for INFO; "" once a HELLO succeeds */
    uint64_t refusal_logged_ms;
};

/* The link timeout, shared by every link (link_set_timeout: a CONFIG parameter). */
static int link_timeout_ms = LINK_TIMEOUT_MS;

struct link_call {
    struct link *l;
    link_reply_fn fn;
    void *arg;
};

static void link_connect(struct link *l);

/* The per-state invariants of replica_link.h. */
static void link_assert(const struct link *l)
{
    switch (l->state) {
    case LINK_DOWN: assert(l->pending == 0); break;
    case LINK_AUTH:
    case LINK_SYNCING:
    case LINK_READY:
    case LINK_REPAIR: assert(l->ac); break;
    default: assert(0);
    }
    (void)l;
}

/* The one place a link changes state; asserts the transition table of replica_link.h. */
static void set_state(struct link *l, enum link_state s)
{
    static const unsigned char allowed[LINK_STATE_MAX][LINK_STATE_MAX] = {
        [LINK_DOWN] = { [LINK_DOWN] = 1, [LINK_SYNCING] = 1, [LINK_AUTH] = 1 },
        [LINK_AUTH] = { [LINK_DOWN] = 1, [LINK_SYNCING] = 1 },
        [LINK_SYNCING] = { [LINK_DOWN] = 1, [LINK_SYNCING] = 1, [LINK_READY] = 1,
                           [LINK_REPAIR] = 1 },
        [LINK_READY] = { [LINK_DOWN] = 1, [LINK_SYNCING] = 1 },
        [LINK_REPAIR] = { [LINK_DOWN] = 1, [LINK_SYNCING] = 1 },
    };
    assert(allowed[l->state][s]);
    (void)allowed;
    if (l->state != s)
        LOG_VERBOSE("replica %s: %s -> %s", l->addr, link_state_name(l->state),
                    link_state_name(s));
    l->state = s;
    link_assert(l);
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
    if (l->lost_why)
        why = l->lost_why;
    int was_up = l->state != LINK_DOWN, quiet = l->refused;
    l->ac = NULL;
    l->pending = 0;
    l->allow_ms = 0;
    l->refused = 0;
    set_state(l, LINK_DOWN);
    uint64_t now = util_mono_ms();
    if (was_up) {
        l->down_since_ms = l->last_complaint_ms = now;
        if (!quiet) /* refuse() said why */
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
    if (l->pending == 0)
        l->allow_ms = 0;
    l->progress_ms = util_mono_ms();
}

/* ---- the handshake: TPC.CHALLENGE / TPC.AUTH, then TPC.HELLO's version ---- */

/* Ends a connection because one side refused the other (a wrong secret, no common
 * protocol): logs why, naming the replica -- again only when the reason changes or
 * LINK_REFUSAL_LOG_MS later, since the link retries every LINK_RETRY_MS -- keeps the reason
 * for INFO and disconnects; the link retries as a down link does. */
static void refuse(struct link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct link *l, const char *fmt, ...)
{
    char why[sizeof l->refusal];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    uint64_t now = util_mono_ms();
    if (strcmp(why, l->refusal) != 0 || now - l->refusal_logged_ms >= LINK_REFUSAL_LOG_MS) {
        l->refusal_logged_ms = now;
        LOG_WARNING("replica %s refused: %s", l->addr, why);
    }
    snprintf(l->refusal, sizeof l->refusal, "%s", why);
    l->refused = 1;
    redisAsyncDisconnect(l->ac);
}

/* The error text of reply r, or NULL if it is not an error. */
static const char *error_of(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR ? r->str : NULL;
}

static void hello_cb(redisAsyncContext *ac, void *reply, void *privdata);

static void send_hello(struct link *l)
{
    size_t len;
    char *cmd = link_format_hello(&len);
    if (cmd && redisAsyncFormattedCommand(l->ac, hello_cb, l, cmd, len) == REDIS_OK)
        note_sent(l);
    link_format_free(cmd);
}

static void auth_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct link *l = privdata;
    if (!reply)
        return;
    note_reply(l);
    const char *e = error_of(reply);
    if (e || !link_reply_is_status(reply, "OK")) {
        refuse(l, "it did not accept this coordinator's cluster secret proof (%.120s): the "
               "cluster secrets differ", e ? e : "unexpected answer");
        return;
    }
    set_state(l, LINK_SYNCING);
    send_hello(l);
}

static void challenge_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct link *l = privdata;
    const redisReply *r = reply;
    char proof[SECRET_HEX_LEN + 1];
    if (!r)
        return;
    note_reply(l);
    const char *e = error_of(r);
    if (e && strstr(e, "no cluster secret"))
        refuse(l, "it has no cluster secret, this coordinator has one; set "
               "cluster-secret-file on the replica too");
    else if (e && strstr(e, "unknown command"))
        refuse(l, "it does not know TPC.CHALLENGE: it speaks protocol 1 (twopc 0.1.x, no "
               "cluster secret); upgrade it");
    else if (e || r->type != REDIS_REPLY_STRING ||
             secret_proof(r->str, r->len, proof) < 0)
        refuse(l, "bad answer to TPC.CHALLENGE (%.120s); is it a twopc replica?",
               e ? e : "not a nonce");
    else if (redisAsyncCommand(ac, auth_cb, l, "TPC.AUTH %s", proof) == REDIS_OK)
        note_sent(l);
}

/* Why a TPC.HELLO answer is refused, into why; 0 if it is accepted. */
/* The first round id in h at or past TWOPC_RID_LIMIT, or 0: numbering rounds after it
 * would overflow (version.h). */
static unsigned long long hello_past_limit(const struct link_hello *h)
{
    uint64_t v[3] = { h->applied, h->max_rid, h->durable };
    for (int i = 0; i < 3; i++)
        if (v[i] >= TWOPC_RID_LIMIT)
            return v[i];
    for (size_t i = 0; i < h->n_in_doubt; i++)
        if (h->in_doubt[i] >= TWOPC_RID_LIMIT)
            return h->in_doubt[i];
    return 0;
}

static int hello_refusal(const redisReply *r, const struct link_hello *h, int decoded,
                         char *why, size_t len)
{
    int lo, hi;
    const char *e = error_of(r);
    version_range(&lo, &hi);
    if (e && strncmp(e, "NOAUTH", 6) == 0)
        snprintf(why, len, "it requires the cluster secret; set cluster-secret-file on this "
                 "coordinator");
    else if ((e && strstr(e, "wrong number of arguments")) || (decoded && !h->proto))
        snprintf(why, len, "it speaks protocol 1 (twopc 0.1.x, no version negotiation); "
                 "upgrade it (this coordinator, twopc %s, speaks protocol %d..%d)",
                 TWOPC_VERSION, lo, hi);
    else if (e) /* the replica's own refusal (a version mismatch names both sides) */
        snprintf(why, len, "%.300s", strncmp(e, "ERR ", 4) == 0 ? e + 4 : e);
    else if (!decoded)
        snprintf(why, len, "bad TPC.HELLO reply; is it a twopc replica?");
    else if (hello_past_limit(h) != 0)
        snprintf(why, len, "it reports round %llu, past any round a coordinator issues "
                 "(a stray or hostile peer's round id?); stop it and remove its data folder "
                 "to have it repaired", hello_past_limit(h));
    else if (h->proto < lo || h->proto > hi)
        snprintf(why, len, "protocol version mismatch: replica twopc %s speaks protocol "
                 "%d..%d and chose %d, coordinator twopc %s speaks %d..%d", h->release,
                 h->proto_min, h->proto_max, h->proto, TWOPC_VERSION, lo, hi);
    else
        return 0;
    return -1;
}

static void hello_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct link *l = privdata;
    if (!reply)
        return; /* disconnect callback follows */
    note_reply(l);
    struct link_hello h = { 0 };
    char why[sizeof l->refusal];
    int decoded = link_reply_hello(reply, &h) == 0;
    if (hello_refusal(reply, &h, decoded, why, sizeof why) < 0) {
        if (decoded)
            free((void *)h.in_doubt);
        refuse(l, "%s", why);
        return;
    }
    l->proto = h.proto;
    l->refusal[0] = '\0';
    LOG_NOTICE("replica %s is up: applied round %llu, %zu in doubt, protocol %d (twopc %s)",
               l->addr, (unsigned long long)h.applied, h.n_in_doubt, h.proto, h.release);
    int rc = l->ev.on_hello ? l->ev.on_hello(l->ev.ctx, l, &h) : 0;
    free((void *)h.in_doubt);
    if (rc == 1) { /* the engine logged why, and repairs it over this connection */
        set_state(l, LINK_REPAIR);
        return;
    }
    if (rc < 0) {
        /* Not every missed decision went out: it must not serve reads; try again. */
        LOG_WARNING("replica %s: could not resynchronize it; reconnecting", l->addr);
        redisAsyncDisconnect(ac);
        return;
    }
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
    if (secret_present()) { /* prove the secret first: TPC.CHALLENGE, TPC.AUTH */
        set_state(l, LINK_AUTH);
        if (redisAsyncCommand(l->ac, challenge_cb, l, "TPC.CHALLENGE") == REDIS_OK)
            note_sent(l);
        return;
    }
    set_state(l, LINK_SYNCING);
    send_hello(l);
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct link *l = ac->data;
    went_down(l, status == REDIS_OK ? "connection closed" : ac->errstr);
}

/* ---- the link's events: hiredis's libevent adapter, without its syscalls ----
 *
 * hiredis 0.14's adapter (adapters/libevent.h) registers a one-shot read event, so each
 * reply costs an EPOLL_CTL_DEL and an EPOLL_CTL_ADD, and it arms EV_WRITE for every command
 * and disarms it after the write: four epoll_ctl and an extra epoll_wait per request on a
 * link, about 25 epoll_ctl per SET at -c 1 on the coordinator (strace -c). Here the read
 * event persists, and a command is written later in the same loop turn -- the write event
 * is activated, not armed -- so that every command queued on a link in one turn leaves in
 * one write. EV_WRITE is armed only while the connect is under way (hiredis learns of it
 * through a write event) or when a write left bytes behind (the socket was full). */
struct link_io {
    redisAsyncContext *ac;
    struct event *rev, *wev;
};

static const redisAsyncContext *io_writing; /* in redisAsyncHandleWrite for this one */

static void io_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct link_io *io = arg;
    redisAsyncHandleRead(io->ac); /* may free io */
}

static void io_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct link_io *io = arg;
    redisAsyncContext *ac = io->ac;
    io_writing = ac;
    redisAsyncHandleWrite(ac); /* may free io and ac: neither is touched after it */
    io_writing = NULL;
}

static void io_add_read(void *arg)
{
    event_add(((struct link_io *)arg)->rev, NULL); /* already added: nothing to do */
}

static void io_del_read(void *arg)
{
    event_del(((struct link_io *)arg)->rev);
}

static void io_add_write(void *arg)
{
    struct link_io *io = arg;
    if (io_writing == io->ac || !(io->ac->c.flags & REDIS_CONNECTED))
        event_add(io->wev, NULL); /* wait for room, or for the connect */
    else
        event_active(io->wev, EV_WRITE, 1); /* write it this turn, no epoll_ctl */
}

static void io_del_write(void *arg)
{
    event_del(((struct link_io *)arg)->wev);
}

static void io_cleanup(void *arg)
{
    struct link_io *io = arg;
    event_free(io->rev);
    event_free(io->wev);
    free(io);
}

/* redisLibeventAttach's part: returns 0, or -1 out of memory. */
static int io_attach(redisAsyncContext *ac, struct event_base *base)
{
    struct link_io *io = calloc(1, sizeof *io);
    if (!io)
        return -1;
    io->ac = ac;
    io->rev = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, io_read_cb, io);
    io->wev = event_new(base, ac->c.fd, EV_WRITE, io_write_cb, io);
    if (!io->rev || !io->wev) {
        if (io->rev)
            event_free(io->rev);
        if (io->wev)
            event_free(io->wev);
        free(io);
        return -1;
    }
    ac->ev.addRead = io_add_read;
    ac->ev.delRead = io_del_read;
    ac->ev.addWrite = io_add_write;
    ac->ev.delWrite = io_del_write;
    ac->ev.cleanup = io_cleanup;
    ac->ev.data = io;
    event_add(io->rev, NULL);
    event_add(io->wev, NULL); /* the connect's completion */
    return 0;
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
    if (io_attach(ac, l->base) < 0) {
        redisAsyncFree(ac);
        went_down(l, "out of memory");
        return;
    }
    ac->data = l;
    l->ac = ac;
    l->connect_ms = util_mono_ms();
    redisAsyncSetConnectCallback(ac, connect_cb);
    redisAsyncSetDisconnectCallback(ac, disconnect_cb);
}

/* ---- liveness: the watchdog (see the opening comment) ---- */

/* How often the watchdog looks: an eighth of the timeout, so a stall is seen at most an
 * eighth late, and never busier than every 10 ms. */
static int tick_ms(void) { return link_timeout_ms / 8 > 10 ? link_timeout_ms / 8 : 10; }

static void arm_watchdog(struct link *l)
{
    int ms = tick_ms();
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(l->watchdog, &tv);
}

static void ping_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
    if (reply)
        note_reply(privdata);
}

/* Ends the connection (or the connect) from the watchdog, never from a hiredis callback.
 * A connected context: redisAsyncFree runs the pending callbacks with NULL and then
 * disconnect_cb, which calls went_down(). A connect under way: no callback runs, so we
 * call went_down() ourselves. */
static void abandon(struct link *l, const char *why)
{
    redisAsyncContext *ac = l->ac;
    int connected = l->state != LINK_DOWN;
    if (connected)
        set_state(l, LINK_SYNCING); /* no reads or writes chosen for it from now on */
    l->lost_why = why;
    redisAsyncFree(ac);
    if (l->ac == ac) /* no disconnect callback ran */
        went_down(l, why);
    l->lost_why = NULL;
}

/* Bytes moving on the connection count as progress: a big request still being written
 * (hiredis's output buffer shrank since the last tick) or a big reply still arriving (its
 * reader holds more unparsed bytes) is not a silent replica, however long it takes. What
 * stays timed by the clock is the silence between the last byte sent and the first byte
 * of the answer: the replica's own work, which link_allow() sizes. */
static void note_transfer(struct link *l, uint64_t now)
{
    if (!l->ac || l->state == LINK_DOWN) {
        l->seen_in = l->seen_out = 0;
        return;
    }
    size_t in = l->ac->c.reader ? l->ac->c.reader->len : 0;
    size_t out = l->ac->c.obuf ? sdslen(l->ac->c.obuf) : 0;
    if (l->pending > 0 && ((in != l->seen_in && in > 0) || out < l->seen_out))
        l->progress_ms = now;
    l->seen_in = in;
    l->seen_out = out;
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    struct link *l = arg;
    uint64_t now = util_mono_ms(), limit = (uint64_t)link_timeout_ms;
    note_transfer(l, now);
    uint64_t busy_limit = limit + l->allow_ms; /* a big round outstanding: see link_allow */
    char why[160];
    if (l->ac && l->state == LINK_DOWN && now - l->connect_ms >= limit) {
        snprintf(why, sizeof why, "connect not completed within %d ms; retrying",
                 link_timeout_ms);
        abandon(l, why);
    } else if (l->ac && l->state != LINK_DOWN && l->pending > 0 &&
               now - l->progress_ms >= busy_limit) {
        snprintf(why, sizeof why,
                 "no reply for %llu ms; dropping the connection and reconnecting",
                 (unsigned long long)(now - l->progress_ms));
        LOG_WARNING("replica %s: %s", l->addr, why);
        abandon(l, why);
    } else if (l->ac && l->state != LINK_DOWN && l->pending == 0 &&
               now - l->progress_ms >= limit / 4) {
        if (redisAsyncCommand(l->ac, ping_cb, l, "PING") == REDIS_OK)
            note_sent(l);
    }
    arm_watchdog(l);
}

void link_allow(struct link *l, uint64_t ms)
{
    l->allow_ms += ms;
}

void link_set_timeout(int ms) { link_timeout_ms = ms > 0 ? ms : 1; }
int link_timeout(void) { return link_timeout_ms; }

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
    l->watchdog = evtimer_new(base, watchdog_cb, l);
    if (!l->retry || !l->watchdog) {
        if (l->retry)
            event_free(l->retry);
        free(l);
        return NULL;
    }
    link_connect(l);
    arm_watchdog(l);
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
    event_free(l->watchdog);
    free(l);
}

void link_drop(struct link *l, const char *why)
{
    /* DOWN with a context: a connect under way, whose TPC.HELLO (once connected) is the
     * resynchronization asked for. Disconnecting it here would leave a SYNCING link on a
     * context that never connects, which the watchdog does not time out (found by
     * multihost.partition: a replica left out while its link was reconnecting never came
     * back). */
    if (!l->ac || l->state == LINK_DOWN)
        return;
    LOG_WARNING("replica %s: dropping the link to resynchronize it: %s", l->addr, why);
    set_state(l, LINK_SYNCING); /* no more reads from now on */
    redisAsyncDisconnect(l->ac);  /* deferred by hiredis until callbacks return */
}

enum link_state link_state(const struct link *l) { return l->state; }
const char *link_addr(const struct link *l) { return l->addr; }
int link_index(const struct link *l) { return l->index; }
uint64_t link_connects(const struct link *l) { return l->connects; }
int link_proto(const struct link *l) { return l->proto; }
const char *link_refusal(const struct link *l) { return l->refusal; }

int link_stalled(const struct link *l, uint64_t stall_ms)
{
    return l->pending > 0 && util_mono_ms() - l->progress_ms > stall_ms + l->allow_ms;
}

const char *link_state_name(enum link_state s)
{
    static const char *const names[LINK_STATE_MAX] = { "down", "syncing", "ready",
                                                       "needs-repair", "authenticating" };
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
