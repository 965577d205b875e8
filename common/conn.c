/* conn.c -- accepted RESP connections: read, parse, dispatch, stage replies, flush.
 *
 * See conn.h for the data flow. Each conn has three flags that decide what its read path
 * may do: `paused` (the owner asked to stop parsing), `closing` (a reply is the last thing
 * this conn will send) and `in_read` (we are inside process_input, so nothing may free the
 * conn). A conn is freed only from its own event callbacks (read: EOF or error; write:
 * a closing conn's output drained; kick: deferred close or a failed write), all run from
 * the event loop, never from inside on_request or from a caller of conn_flush.
 *
 * I/O is evbuffer on a plain socket, not bufferevent, for the syscall count: a read goes
 * straight into reserved evbuffer space (bufferevent's asks the socket's size with an
 * ioctl first), and replies are written with evbuffer_write once per loop turn for every
 * conn that got any (flush_cb); EV_WRITE is armed only when the socket did not take
 * everything (bufferevent arms and disarms it around every
 * reply: two epoll_ctl calls). Measured on the coordinator under redis-benchmark -c 50:
 * 6.1 system calls per SET before, as Redis does it after.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "util.h"

#define CONN_READ_CHUNK 16384 /* bytes per read(2), as Redis's PROTO_IOBUF_LEN */

/* A conn whose buffers once held this much returns the memory to the system when it is
 * freed (malloc_trim, CONN_TRIM_DELAY_MS later, once its owner's replies in flight have
 * been dropped too): glibc keeps freed heap memory otherwise, and a coordinator that
 * served one greedy client kept its 4 GB (#16). */
#define CONN_TRIM_BYTES ((size_t)1 << 20)
#define CONN_TRIM_DELAY_MS 200

/* After accept() fails, the listener rests this long; failures are logged at most once
 * per CONN_ACCEPT_LOG_EVERY_MS (accept_error_cb). */
#define CONN_ACCEPT_BACKOFF_MS 100
#define CONN_ACCEPT_LOG_EVERY_MS 1000

struct conn {
    struct conn_server *srv;
    evutil_socket_t fd;
    struct event *rev, *wev; /* read: persistent while reading; write: only while blocked */
    struct evbuffer *in, *out;
    struct evbuffer *staging;
    struct event *kick; /* deferred re-processing after conn_resume */
    struct resp_parser *parser;
    struct resp_writer writer;
    void *data;
    uint64_t id;
    size_t req_bytes; /* bytes of the request being parsed, for the query limit */
    int paused, closing, in_read, dead, reading, write_queued;
    int eof; /* the client shut its write side: answer what it sent, then close */
    int unlimited; /* no query-buffer limit: a replica's coordinator link */
    int out_full; /* input not parsed while CONN_WRITE_HIGH_WATER bytes wait to be sent */
    int oclass;             /* enum conn_output_class: whose output limits apply */
    uint64_t soft_since_ms; /* output over the soft limit since then (0: it is not) */
    size_t peak_bytes;      /* the most its buffers held: a big conn's free trims the heap */
    char peer[64];
    TAILQ_ENTRY(conn) link;
    TAILQ_ENTRY(conn) wlink; /* on the server's write queue */
};

struct conn_server {
    struct event_base *base;
    struct evconnlistener *listener;
    const struct conn_ops *ops;
    void *ctx;
    struct resp_limits limits;
    size_t count, query_limit;
    /* client-output-buffer-limit per class (0: none) */
    size_t obuf_hard[CONN_OUTPUT_CLASS_MAX], obuf_soft[CONN_OUTPUT_CLASS_MAX];
    int obuf_soft_s[CONN_OUTPUT_CLASS_MAX];
    uint64_t obuf_disconnections;
    uint64_t bytes_in, bytes_out;
    struct event *trim;          /* malloc_trim() once a big conn's memory is freed */
    struct event *relisten;      /* re-enables the listener after an accept() failure */
    uint64_t accept_log_ms;      /* last accept() failure logged */
    unsigned long accept_errors; /* failures since then, not logged */
    TAILQ_HEAD(, conn) conns;
    TAILQ_HEAD(, conn) writeq; /* conns with output to write at the end of this turn */
    struct event *flush;       /* writes the queue once per loop turn */
};

static uint64_t next_conn_id = 1;

static void update_reading(struct conn *c);

static int staging_sink(void *sink, const void *data, size_t len)
{
    return evbuffer_add(sink, data, len);
}

static void schedule_trim(struct conn_server *s)
{
    struct timeval tv = { 0, CONN_TRIM_DELAY_MS * 1000 };
    if (s->trim && !evtimer_pending(s->trim, NULL))
        evtimer_add(s->trim, &tv);
}

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
    util_trim_memory();
}

static void note_peak(struct conn *c)
{
    size_t n = evbuffer_get_length(c->in) + c->req_bytes + evbuffer_get_length(c->staging) +
               evbuffer_get_length(c->out);
    if (n > c->peak_bytes)
        c->peak_bytes = n;
}

static void conn_free(struct conn *c)
{
    struct conn_server *s = c->srv;
    note_peak(c);
    if (c->peak_bytes >= CONN_TRIM_BYTES)
        schedule_trim(s);
    if (s->ops->on_close)
        s->ops->on_close(c);
    TAILQ_REMOVE(&s->conns, c, link);
    if (c->write_queued)
        TAILQ_REMOVE(&s->writeq, c, wlink);
    s->count--;
    event_free(c->rev);
    event_free(c->wev);
    evutil_closesocket(c->fd);
    evbuffer_free(c->in);
    evbuffer_free(c->out);
    evbuffer_free(c->staging);
    event_free(c->kick);
    resp_parser_free(c->parser);
    free(c);
}

/* Whether c has nothing left to do and may be freed: it died, or its last reply (QUIT, a
 * protocol error) is written, or its client shut its write side and every request it sent
 * has been read, answered and written -- replies the owner still owes (a 2PC round, a held
 * vote) count through ops->busy. */
static int conn_finished(struct conn *c)
{
    if (c->dead)
        return 1;
    if (evbuffer_get_length(c->out) > 0 || (c->closing ? 0 : evbuffer_get_length(c->staging) > 0))
        return 0;
    if (c->closing)
        return 1;
    return c->eof && evbuffer_get_length(c->in) == 0 &&
           !(c->srv->ops->busy && c->srv->ops->busy(c));
}

static size_t output_bytes(const struct conn *c)
{
    return evbuffer_get_length(c->staging) + evbuffer_get_length(c->out);
}

/* Without a hard output limit, input is not parsed while CONN_WRITE_HIGH_WATER bytes of
 * replies wait to be sent (conn.h, Limits). */
static int output_full(const struct conn *c)
{
    return c->srv->obuf_hard[c->oclass] == 0 && output_bytes(c) >= CONN_WRITE_HIGH_WATER;
}

/* Redis's client-output-buffer-limit (checkClientOutputBufferLimits): unsent output at the
 * hard limit, or over the soft one for longer than soft-seconds, condemns the conn: it is
 * logged once (Redis's words), counted, and freed without sending the rest. Returns 1 if c
 * is (now) condemned. */
static int check_output_limit(struct conn *c)
{
    struct conn_server *s = c->srv;
    size_t n = output_bytes(c), hard = s->obuf_hard[c->oclass], soft = s->obuf_soft[c->oclass];
    int over = hard && n >= hard;
    if (c->dead)
        return 1;
    if (n > c->peak_bytes)
        c->peak_bytes = n;
    if (soft && n >= soft) {
        uint64_t now = util_mono_ms();
        if (!c->soft_since_ms)
            c->soft_since_ms = now;
        else if (now - c->soft_since_ms > (uint64_t)s->obuf_soft_s[c->oclass] * 1000)
            over = 1;
    } else {
        c->soft_since_ms = 0;
    }
    if (!over)
        return 0;
    LOG_WARNING("Client id=%llu addr=%s obuf=%zu scheduled to be closed ASAP for overcoming "
                "of output buffer limits.", (unsigned long long)c->id, c->peer, n);
    s->obuf_disconnections++;
    c->dead = c->closing = 1;
    update_reading(c);
    event_active(c->kick, 0, 0);
    return 1;
}

/* Redis's client-query-buffer-limit: a request growing past it closes the connection,
 * without a reply (there is no request to answer yet). */
static void check_query_limit(struct conn *c)
{
    size_t limit = c->srv->query_limit;
    if (limit == 0 || c->unlimited || c->req_bytes <= limit)
        return;
    LOG_WARNING("closing client that reached max query buffer length: id=%llu addr=%s "
                "qbuf=%zu (limit %zu)", (unsigned long long)c->id, c->peer, c->req_bytes,
                limit);
    conn_close_after_reply(c);
}

/* Feeds one contiguous chunk to the parser, dispatching each complete request. Returns the
 * bytes consumed; stops early when the conn is paused or closing. */
static size_t feed_chunk(struct conn *c, const char *p, size_t len)
{
    size_t off = 0;
    while (off < len && !c->paused && !c->closing && !output_full(c)) {
        size_t used = 0;
        enum resp_status st = resp_parser_feed(c->parser, p + off, len - off, &used);
        off += used;
        c->req_bytes = st == RESP_AGAIN ? c->req_bytes + used : 0;
        if (st == RESP_AGAIN) {
            check_query_limit(c);
            break;
        }
        if (st == RESP_ERR) {
            resp_write_error(&c->writer, resp_parser_error(c->parser));
            conn_close_after_reply(c);
            break;
        }
        c->srv->ops->on_request(c, resp_parser_request(c->parser));
        resp_parser_release(c->parser); /* ops copied what they keep */
    }
    return off;
}

/* Reading stops while CONN_READ_HIGH_WATER bytes wait unparsed (a paused client). */
static void update_reading(struct conn *c)
{
    int want = !c->closing && !c->dead && !c->eof &&
               evbuffer_get_length(c->in) < CONN_READ_HIGH_WATER;
    if (want == c->reading)
        return;
    c->reading = want;
    if (want)
        event_add(c->rev, NULL);
    else
        event_del(c->rev);
}

static void process_input(struct conn *c)
{
    struct evbuffer *in = c->in;
    c->in_read = 1;
    while (!c->paused && !c->closing && evbuffer_get_length(in) > 0) {
        if (output_full(c)) {
            c->out_full = 1; /* write_some resumes the parse once it has drained */
            break;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t used = feed_chunk(c, v.iov_base, v.iov_len);
        evbuffer_drain(in, used);
        c->srv->bytes_in += used;
        if (used < v.iov_len)
            break;
    }
    c->in_read = 0;
    note_peak(c);
    if (c->srv->ops->on_batch_end)
        c->srv->ops->on_batch_end(c);
    conn_flush(c);
    update_reading(c);
}

/* Returns 1 if bytes were read, 0 if none are there yet, 2 at EOF (the client shut its
 * write side; it may still read), -1 on error. */
static int read_some(struct conn *c)
{
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(c->in, CONN_READ_CHUNK, &v, 1) < 1)
        return -1;
    ssize_t n = read(c->fd, v.iov_base, CONN_READ_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n == 0)
        return 2;
    if (n < 0)
        return -1;
    v.iov_len = (size_t)n;
    evbuffer_commit_space(c->in, &v, 1);
    return 1;
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    int rc = read_some(c);
    if (rc < 0) {
        conn_free(c);
        return;
    }
    if (rc == 2) {
        /* Half-close, as Redis: every request already read is still run and answered, in
         * order; the conn closes once the last reply is written (conn_finished). */
        c->eof = 1;
        update_reading(c);
        if (conn_finished(c))
            conn_free(c);
        else if (!c->paused && !c->closing && evbuffer_get_length(c->in) > 0)
            process_input(c);
        return;
    }
    if (rc > 0 && !c->paused && !c->closing)
        process_input(c);
    else
        update_reading(c);
}

/* Writes what the socket takes now. Returns 0, or -1 if the connection is broken. */
static int write_some(struct conn *c)
{
    while (evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        if (n <= 0)
            return -1;
    }
    if (evbuffer_get_length(c->out) > 0)
        event_add(c->wev, NULL);
    else
        event_del(c->wev);
    if (c->out_full && !output_full(c)) {
        c->out_full = 0;
        event_active(c->kick, 0, 0);
    }
    if (c->soft_since_ms)
        check_output_limit(c); /* below the soft limit again: forget when it was passed */
    return 0;
}

/* Once per loop turn, after every callback that produced replies: one write per conn
 * however many replies it got this turn (a round answering a pipelined burst), as Redis
 * does in beforeSleep. */
static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn_server *s = arg;
    struct conn *c;
    while ((c = TAILQ_FIRST(&s->writeq)) != NULL) {
        TAILQ_REMOVE(&s->writeq, c, wlink);
        c->write_queued = 0;
        if (c->dead || write_some(c) < 0 || conn_finished(c))
            conn_free(c);
    }
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->dead || write_some(c) < 0 || conn_finished(c))
        conn_free(c);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (conn_finished(c))
        conn_free(c);
    else if (!c->paused && !c->closing)
        process_input(c);
}

static void format_peer(struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, outlen, "%s:%d", host, port);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct conn_server *s = arg;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    evutil_make_socket_nonblocking(fd);
    c->srv = s;
    c->id = next_conn_id++;
    c->fd = fd;
    c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, read_cb, c);
    c->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
    c->in = evbuffer_new();
    c->out = evbuffer_new();
    c->staging = evbuffer_new();
    c->kick = event_new(s->base, -1, 0, kick_cb, c);
    c->parser = resp_parser_new(&s->limits);
    c->writer = (struct resp_writer){ staging_sink, c->staging, 2 };
    format_peer(sa, c->peer, sizeof c->peer);
    TAILQ_INSERT_TAIL(&s->conns, c, link);
    s->count++;
    if (!c->rev || !c->wev || !c->in || !c->out || !c->staging || !c->kick || !c->parser ||
        (s->ops->on_open && s->ops->on_open(c) < 0)) {
        conn_free(c);
        return;
    }
    update_reading(c);
}

static void relisten_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn_server *s = arg;
    evconnlistener_enable(s->listener);
}

/* accept() failed (EMFILE, ENFILE, ENOBUFS...): the pending connection stays in the
 * backlog and the listener stays readable, so retrying at once would spin the loop (#16: a
 * coordinator out of descriptors burnt a core and wrote 14 MB/s of log). The listener
 * rests CONN_ACCEPT_BACKOFF_MS; the failure is logged at most once per
 * CONN_ACCEPT_LOG_EVERY_MS, with the number left out. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct conn_server *s = arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = { 0, CONN_ACCEPT_BACKOFF_MS * 1000 };
    uint64_t now = util_mono_ms();
    evconnlistener_disable(l);
    evtimer_add(s->relisten, &tv);
    s->accept_errors++;
    if (s->accept_log_ms && now - s->accept_log_ms < CONN_ACCEPT_LOG_EVERY_MS)
        return;
    LOG_WARNING("Accepting client connection: %s (%lu failures since the last such line; "
                "retrying every %d ms)", evutil_socket_error_to_string(err), s->accept_errors,
                CONN_ACCEPT_BACKOFF_MS);
    s->accept_log_ms = now;
    s->accept_errors = 0;
}

struct conn_server *conn_server_new(struct event_base *base, const char *host, int port,
                                    const struct conn_ops *ops, void *ctx,
                                    const struct resp_limits *limits, char *err,
                                    size_t errlen)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        snprintf(err, errlen, "invalid bind address '%s'", host);
        return NULL;
    }
    struct conn_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->ops = ops;
    s->ctx = ctx;
    s->limits = limits ? *limits
                       : (struct resp_limits){ RESP_DEFAULT_MAX_BULK, RESP_DEFAULT_MAX_MULTIBULK,
                                               RESP_DEFAULT_MAX_INLINE };
    TAILQ_INIT(&s->conns);
    TAILQ_INIT(&s->writeq);
    s->flush = event_new(base, -1, 0, flush_cb, s);
    s->trim = evtimer_new(base, trim_cb, s);
    s->relisten = evtimer_new(base, relisten_cb, s);
    s->listener = evconnlistener_new_bind(base, accept_cb, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                              LEV_OPT_CLOSE_ON_EXEC,
                                          511, (struct sockaddr *)&sin, sizeof sin);
    if (!s->listener) {
        snprintf(err, errlen, "can't listen on %s:%d: %s", host, port, strerror(errno));
        event_free(s->flush);
        if (s->trim)
            event_free(s->trim);
        if (s->relisten)
            event_free(s->relisten);
        free(s);
        return NULL;
    }
    evconnlistener_set_error_cb(s->listener, accept_error_cb);
    return s;
}

void conn_server_free(struct conn_server *s)
{
    if (!s)
        return;
    evconnlistener_free(s->listener);
    while (!TAILQ_EMPTY(&s->conns))
        conn_free(TAILQ_FIRST(&s->conns));
    event_free(s->flush);
    if (s->trim)
        event_free(s->trim);
    if (s->relisten)
        event_free(s->relisten);
    free(s);
}

void conn_server_set_query_limit(struct conn_server *s, size_t bytes)
{
    s->query_limit = bytes;
}

void conn_server_set_output_limit(struct conn_server *s, enum conn_output_class cls,
                                  size_t hard, size_t soft, int soft_seconds)
{
    s->obuf_hard[cls] = hard;
    s->obuf_soft[cls] = soft;
    s->obuf_soft_s[cls] = soft_seconds;
}

void conn_set_output_class(struct conn *c, enum conn_output_class cls)
{
    if (c->oclass == (int)cls)
        return;
    c->oclass = (int)cls;
    c->soft_since_ms = 0; /* the soft-limit clock starts over, with the new limits */
}

uint64_t conn_server_output_disconnections(const struct conn_server *s)
{
    return s->obuf_disconnections;
}

void conn_server_cron(struct conn_server *s)
{
    struct conn *c, *next;
    if (!s->obuf_soft[CONN_OUTPUT_NORMAL] && !s->obuf_soft[CONN_OUTPUT_PUBSUB])
        return;
    for (c = TAILQ_FIRST(&s->conns); c; c = next) {
        next = TAILQ_NEXT(c, link);
        if (!c->dead && output_bytes(c) > 0)
            check_output_limit(c);
    }
}

void conn_server_bytes(const struct conn_server *s, uint64_t *in, uint64_t *out)
{
    *in = s->bytes_in;
    *out = s->bytes_out;
}

void *conn_server_ctx(const struct conn_server *s) { return s->ctx; }
size_t conn_server_count(const struct conn_server *s) { return s->count; }
struct resp_writer *conn_writer(struct conn *c) { return &c->writer; }
void *conn_server_ctx_of(const struct conn *c) { return c->srv->ctx; }
void conn_set_data(struct conn *c, void *data) { c->data = data; }
void *conn_data(const struct conn *c) { return c->data; }
uint64_t conn_id(const struct conn *c) { return c->id; }
const char *conn_peer(const struct conn *c) { return c->peer; }
int conn_fd(const struct conn *c) { return (int)c->fd; }

void conn_buffered(const struct conn *c, size_t *in, size_t *out)
{
    *in = evbuffer_get_length(c->in) + c->req_bytes;
    *out = evbuffer_get_length(c->staging) + evbuffer_get_length(c->out);
}

int conn_add_buffer(struct conn *c, struct evbuffer *buf)
{
    return evbuffer_add_buffer(c->staging, buf);
}

int conn_move_staged(struct conn *c, struct evbuffer *dst)
{
    return evbuffer_add_buffer(dst, c->staging);
}

void conn_flush(struct conn *c)
{
    size_t n = evbuffer_get_length(c->staging);
    if (n > 0 && !c->dead) {
        c->srv->bytes_out += n;
        evbuffer_add_buffer(c->out, c->staging);
        if (check_output_limit(c))
            return;
        if (!c->write_queued) {
            c->write_queued = 1;
            TAILQ_INSERT_TAIL(&c->srv->writeq, c, wlink);
            event_active(c->srv->flush, 0, 0);
        }
        return;
    }
    /* A finished conn with nothing left to write would never see a write event. */
    if (!c->in_read && conn_finished(c))
        event_active(c->kick, 0, 0);
}

void conn_close_after_reply(struct conn *c)
{
    c->closing = 1;
    update_reading(c);
}

void conn_set_unauthenticated(struct conn *c, int yes)
{
    resp_parser_set_unauthenticated(c->parser, yes);
}

void conn_set_query_unlimited(struct conn *c, int yes)
{
    c->unlimited = yes;
}

void conn_pause(struct conn *c)
{
    c->paused = 1;
}

void conn_resume(struct conn *c)
{
    if (!c->paused)
        return;
    c->paused = 0;
    if (!c->in_read)
        event_active(c->kick, 0, 0);
}
