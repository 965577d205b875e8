/* conn.h -- RESP server connections on libevent, shared by both daemons.
 *
 * A conn_server listens (evconnlistener) and, for each accepted socket, creates a conn: a
 * bufferevent, a resp_parser and a reply writer. Bytes that arrive are parsed; each
 * complete request is handed to ops->on_request. Replies are written with conn_writer()
 * into the connection's staging buffer, and leave the process only when the connection is
 * flushed:
 *
 *   socket ──read──▶ parser ──request──▶ on_request() ──replies──▶ staging
 *                                                          │
 *   after the whole read is parsed: on_batch_end() ────────┤ (a replica fsyncs here)
 *                                                          ▼
 *                                  conn_flush(): staging ──▶ bufferevent output ──▶ socket
 *
 * The conn flushes automatically after on_batch_end returns; a replica instead moves the
 * staged votes aside in on_batch_end (conn_move_staged) and sends them once its log thread
 * has made their records durable (the "log before reply" rule).
 * A reply produced later (when a 2PC round completes) is written into staging the same way
 * and followed by conn_flush().
 *
 * A protocol error is answered with its error text and the connection is closed once the
 * reply is written, as Redis does. conn_close_after_reply() does the same for QUIT.
 *
 * Half-close. A client that shuts its write side (`nc -N`, shutdown(SHUT_WR)) still gets
 * every reply to what it sent, in order, then the close, as from Redis: at EOF the conn
 * stops reading, runs what it has read, and closes once nothing is left to parse, to
 * write, or owed (ops->busy).
 *
 * Limits. With conn_server_set_query_limit() (the coordinator sets Redis's
 * client-query-buffer-limit, 1 GB by default; a replica sets none), a request still
 * incomplete after that many bytes closes the connection without a reply, as Redis does. While
 * a conn is paused its input is not parsed, and once CONN_READ_HIGH_WATER bytes wait in its
 * input buffer libevent stops reading the socket: the client's own TCP window then pushes
 * back, so a paused client costs bounded memory.
 *
 * Output. With conn_server_set_output_limit() (Redis's client-output-buffer-limit) a conn
 * whose unsent replies pass the limit is closed. With no hard limit (Redis's default for
 * normal clients, and a replica's), a conn stops being parsed while CONN_WRITE_HIGH_WATER
 * bytes of replies wait to be sent, and resumes as the client reads them: a client that
 * pipelines without reading is paused instead of growing the server without bound (Redis
 * itself would buffer it all). Either way, once a conn whose buffers held a megabyte or
 * more is freed, the heap is trimmed (malloc_trim) so RSS comes back down.
 *
 * Ownership: the server owns its conns. ops->on_close runs exactly once per conn, just
 * before it is freed; after that the owner must drop every pointer to it. A conn is never
 * freed from inside on_request: closes requested there take effect after it returns.
 */
#ifndef TWOPC_CONN_H
#define TWOPC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "resp_parser.h"
#include "resp_writer.h"

struct event_base;
struct conn;
struct conn_server;

struct conn_ops {
    /* A connection was accepted. Return 0 to keep it, -1 to refuse (it is closed). */
    int (*on_open)(struct conn *c);
    /* One complete request; argv memory is valid only during the call. */
    void (*on_request)(struct conn *c, const struct resp_request *req);
    /* Every request that arrived in one read has been handled (may be NULL). */
    void (*on_batch_end)(struct conn *c);
    /* The connection is going away (may be NULL). */
    void (*on_close)(struct conn *c);
    /* Whether replies to requests already handed over are still owed (a write waiting for
     * its round, a vote waiting for the log). A conn whose client shut its write side closes
     * only once this is 0 and its output is written (may be NULL: never busy). The owner
     * calls conn_flush() when it stops being busy. */
    int (*busy)(struct conn *c);
};

/* Listens on host:port. Returns NULL with a message in err (e.g. address in use). */
struct conn_server *conn_server_new(struct event_base *base, const char *host, int port,
                                    const struct conn_ops *ops, void *ctx,
                                    const struct resp_limits *limits, char *err,
                                    size_t errlen);

/* Input bytes buffered before the socket stops being read (see Limits above). */
#define CONN_READ_HIGH_WATER ((size_t)4 << 20)

/* The longest request in bytes a client may have pending; 0 (the default): no limit. */
void conn_server_set_query_limit(struct conn_server *s, size_t bytes);

/* Unsent output a client may have before parsing of its input stops, when no hard output
 * limit is set (see Limits above). */
#define CONN_WRITE_HIGH_WATER ((size_t)16 << 20)

/* Redis's client classes for client-output-buffer-limit: a conn is NORMAL until its owner
 * says otherwise (a pub/sub subscriber is PUBSUB while it has a subscription). */
enum conn_output_class { CONN_OUTPUT_NORMAL, CONN_OUTPUT_PUBSUB, CONN_OUTPUT_CLASS_MAX };

/* Redis's client-output-buffer-limit for the server's clients of class cls (0: no such
 * limit). A conn whose unsent output reaches hard bytes, or stays at soft bytes or more for
 * over soft_seconds, is logged, counted and closed at once, its output dropped. */
void conn_server_set_output_limit(struct conn_server *s, enum conn_output_class cls,
                                  size_t hard, size_t soft, int soft_seconds);
/* Which class's limits apply to c from now on (see above). */
void conn_set_output_class(struct conn *c, enum conn_output_class cls);
/* Conns closed by that limit so far (INFO's client_output_buffer_limit_disconnections). */
uint64_t conn_server_output_disconnections(const struct conn_server *s);
/* Run periodically (the coordinator's cron): applies the soft limit to conns whose output
 * stopped changing. */
void conn_server_cron(struct conn_server *s);

/* Bytes read from and written to every conn of the server so far. */
void conn_server_bytes(const struct conn_server *s, uint64_t *in, uint64_t *out);

/* Closes the listener and every connection (on_close runs for each). Accepts NULL. */
void conn_server_free(struct conn_server *s);

void *conn_server_ctx(const struct conn_server *s);
size_t conn_server_count(const struct conn_server *s);

/* Per-connection accessors. */
struct resp_writer *conn_writer(struct conn *c);
void *conn_server_ctx_of(const struct conn *c);
void conn_set_data(struct conn *c, void *data);
void *conn_data(const struct conn *c);
uint64_t conn_id(const struct conn *c);
const char *conn_peer(const struct conn *c); /* "127.0.0.1:52344" */
int conn_fd(const struct conn *c);
/* Bytes waiting: input not yet parsed (plus the current partial request), and output
 * staged or not yet written to the socket. */
void conn_buffered(const struct conn *c, size_t *in, size_t *out);

/* Appends all of buf's bytes to the staging buffer (buf is left empty). */
struct evbuffer;
int conn_add_buffer(struct conn *c, struct evbuffer *buf);

/* Moves the staged replies (not yet flushed) into dst, to be sent later with
 * conn_add_buffer() + conn_flush() (a replica holds votes until the log is durable). */
int conn_move_staged(struct conn *c, struct evbuffer *dst);

/* Moves staged replies to the socket. */
void conn_flush(struct conn *c);

/* Stops reading, flushes, and closes once the output is written. */
void conn_close_after_reply(struct conn *c);

/* Whether Redis's limits before AUTH apply to c's next requests (resp_parser.h: at most
 * 10 arguments, bulks of 16 KB): the owner sets it while a password is required and c has
 * not authenticated, and clears it once c has. */
void conn_set_unauthenticated(struct conn *c, int yes);

/* Exempts c from the query-buffer limit: a replica's link from the coordinator, whose
 * PREPARE carries a whole round (many clients' requests). */
void conn_set_query_unlimited(struct conn *c, int yes);

/* Stops / restarts parsing input (back-pressure while replies are outstanding). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

#endif
