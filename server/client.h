/* client.h -- a client connection of the coordinator and its replies in request order.
 *
 * A client may pipeline: its later commands are parsed and dispatched while an earlier
 * write waits for its 2PC round, but replies must leave in request order. Each command that
 * cannot be answered at once gets a slot in the client's reply queue; whoever completes it
 * (the round engine, a replica read) writes the reply into the slot and calls slot_done().
 * Completed slots at the head of the queue are flushed to the socket:
 *
 *     requests:  SET a 1     GET b       SET c 2
 *     queue:     [slot1 w] → [slot2 r] → [slot3 w]
 *     GET b returns first:   slot2 done, but slot1 is not, so nothing is sent yet;
 *     round commits a, c:    slot1, slot3 done → slot1, slot2, slot3 flushed, in order.
 *
 * Read-your-writes: a read is dispatched only when none of this client's writes is still
 * outstanding (else the connection pauses until they complete), so a GET pipelined after
 * the same client's SET always sees it.
 *
 * Back-pressure: once CLIENT_MAX_PENDING replies are queued (not yet sent), the client's
 * input is no longer parsed (and, its input buffer being full, no longer read from the
 * socket) until the queue has drained to half of that, so one pipelining client cannot grow
 * the coordinator's memory without bound (memcached's lesson). Its commands already parsed
 * keep their order; others are served meanwhile.
 *
 * Session state lives here too (name, library, authentication, RESP version, CLIENT REPLY
 * mode, MONITOR flag, timestamps), read and changed through the accessors at the end, and a
 * registry of every open client for CLIENT LIST / KILL, INFO and the idle timeout.
 *
 * Ownership: slots belong to their client. A client whose connection closed lives on until
 * its last slot is done (its replies are then dropped), so completers never hold dangling
 * pointers. A detached slot (client_slot_detached) is not in the reply queue: its bytes go
 * to the callback given at creation, which runs once, from slot_done().
 */
#ifndef TWOPC_CLIENT_H
#define TWOPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "resp_parser.h"
#include "resp_writer.h"

/* Replies a client may have queued before its input is paused; resumes at half. Big enough
 * that a pipelining client fills its rounds well (1024 ops per round, up to --max-inflight
 * rounds at once), small enough to bound memory (a pending write costs well under 1 KB) and
 * to keep one client's share of a round quick for the replicas to evaluate: with 4096, a
 * fresh `redis-cli --pipe` of 100k SETs made rounds slow enough to hit the prepare timeout. */
#define CLIENT_MAX_PENDING 1024

struct conn;
struct client;
struct slot;
struct multi_state;
struct pubsub_state;

/* Hooks the command layer provides. */
struct client_hooks {
    /* Runs one request of a client. */
    void (*dispatch)(struct client *cl, const struct resp_request *req);
    /* The client's connection closed (the client may live on until its slots are done).
     * May be NULL. */
    void (*on_close)(struct client *cl);
    /* The slot that carried ctx (see client_offer_ctx) is done, or no slot took it. May be
     * NULL. */
    void (*ctx_done)(struct client *cl, void *ctx);
    /* How many of the client's pending replies wait on other clients, not on a round (a
     * parked blocking pop): a client that shut its side is not kept open for them, as
     * Redis drops a blocked client that closes. May be NULL. */
    size_t (*waiting)(const struct client *cl);
};

void client_init(const struct client_hooks *hooks);

/* conn_ops callbacks (see conn.h) wired to clients. */
int client_on_open(struct conn *c);
void client_on_request(struct conn *c, const struct resp_request *req);
void client_on_close(struct conn *c);
int client_conn_busy(struct conn *c);

/* The writer for an immediate reply (only valid while no slot is pending ahead of it:
 * client_reply_writer() returns a slot's writer itself when needed). The returned writer
 * is valid until the next call on this client. */
struct resp_writer *client_reply_writer(struct client *cl);

/* Opens a slot for a reply that will come later. is_write: it counts as an outstanding
 * write for read-your-writes. Returns NULL when out of memory. */
struct slot *client_slot_new(struct client *cl, int is_write);
struct resp_writer *slot_writer(struct slot *s);
void slot_done(struct slot *s);

/* A slot outside the reply queue (RESP2 writer): when it is done, fn(arg, bytes, len) runs
 * once and the slot is freed. The client stays alive meanwhile only if it also has a queued
 * slot (the caller's job). Returns NULL when out of memory. */
typedef void (*slot_detached_fn)(void *arg, const char *bytes, size_t len);
struct slot *client_slot_detached(struct client *cl, slot_detached_fn fn, void *arg);

/* Per-command context: offered before dispatch, taken by the first slot the command opens
 * (then hooks->ctx_done runs when that slot is done). After dispatch, client_take_ctx()
 * returns it if no slot took it (NULL otherwise). */
void client_offer_ctx(struct client *cl, void *ctx);
void *client_take_ctx(struct client *cl);

/* While a capture writer is set, client_reply_writer() returns it (EXEC runs queued local
 * commands this way). NULL ends the capture. */
void client_capture(struct client *cl, struct resp_writer *w);
int client_capturing(const struct client *cl);

/* Queues bytes to send to the client in order (MONITOR's feed). */
void client_push(struct client *cl, const char *data, size_t len);
/* A pub/sub message or subscription confirmation for cl: queued like client_push (never
 * silenced by CLIENT REPLY OFF / SKIP: Redis 7.0.15 sends pub/sub pushes regardless, in
 * RESP2 too), and written into the capture while EXEC runs cl's own (P)SUBSCRIBE or
 * PUBLISH (Redis puts it amid EXEC's array). A command must deliver before it takes its
 * reply writer (client_reply_writer), so that what it delivers comes first. */
void client_deliver(struct client *cl, const char *data, size_t len);

/* The client has outstanding writes: a read must wait. */
int client_has_writes(const struct client *cl);
/* Parks req until this client's writes are done, then dispatches it. */
void client_park(struct client *cl, const struct resp_request *req);
int client_is_parked(const struct client *cl);

struct conn *client_conn(const struct client *cl); /* NULL once closed */
int client_proto(const struct client *cl);
void client_set_proto(struct client *cl, int proto);
/* The selected database: every read and write the client sends is in it (op.h's DB
 * wrapper). 0 for a new connection; SELECT, EXEC (of a MULTI holding SELECT) and RESET
 * change it. */
int client_db(const struct client *cl);
void client_set_db(struct client *cl, int db);
uint64_t client_id(const struct client *cl);
void client_close_after_reply(struct client *cl);
/* Closes the connection now (CLIENT KILL, idle timeout); pending replies are dropped. */
void client_kill(struct client *cl);

/* ---- session state ---- */
const char *client_name(const struct client *cl);     /* "" when unset */
const char *client_addr(const struct client *cl);     /* the peer, "127.0.0.1:52344" */
int client_set_name(struct client *cl, const char *name, size_t len); /* -1: bad chars */
const char *client_lib(const struct client *cl, int ver); /* lib-name, or lib-ver if ver */
int client_set_lib(struct client *cl, int ver, const char *s, size_t len);
int client_authenticated(const struct client *cl);
void client_set_authenticated(struct client *cl, int yes);
int client_monitor(const struct client *cl);
void client_set_monitor(struct client *cl, int yes);
size_t client_monitor_count(void);

/* CLIENT REPLY: ON, OFF or SKIP; decides whether this and later replies are sent. */
enum client_reply_mode { CLIENT_REPLY_ON, CLIENT_REPLY_OFF, CLIENT_REPLY_SKIP };
void client_set_reply_mode(struct client *cl, enum client_reply_mode mode);

/* Per-module state stored with the client (MULTI/WATCH, pub/sub), owned by that module. */
struct multi_state *client_multi(const struct client *cl);
void client_set_multi(struct client *cl, struct multi_state *m);
/* Subscriptions (pubsub.c's): NULL exactly while the client has none. */
struct pubsub_state *client_pubsub(const struct client *cl);
void client_set_pubsub(struct client *cl, struct pubsub_state *p);

/* The last command run ("client|list" for a subcommand), for CLIENT LIST. */
void client_set_last_cmd(struct client *cl, const char *name);
/* The RESP3 shape (enum reencode_shape) of the command being dispatched: slots it opens
 * are re-encoded with it for RESP3 clients. */
void client_set_shape(struct client *cl, int shape);

struct client_info {
    uint64_t id;
    const char *addr, *name, *last_cmd, *lib_name, *lib_ver;
    char laddr[64];
    int fd, proto, monitor, closing, db;
    uint64_t age_s, idle_s;
    size_t qbuf, obuf, pending;
};
void client_get_info(const struct client *cl, struct client_info *ci);

/* Every open client, oldest first: for (cl = client_first(); cl; cl = client_next(cl)). */
struct client *client_first(void);
struct client *client_next(const struct client *cl);
size_t client_count(void);
size_t client_pending_total(void); /* replies queued in every client */

/* Connections past maxclients are answered "ERR max number of clients reached" and closed
 * (counted in stats.h, as is every connection accepted). */
void client_set_maxclients(size_t n);
/* Whether new connections start unauthenticated (a password is set). */
void client_set_auth_required(int yes);

/* Closes clients idle for more than timeout_s seconds (0: never), as Redis's "timeout":
 * monitors, subscribers (client_pubsub() not NULL) and clients waiting for a reply are
 * never idle. */
void client_close_idle(int timeout_s);

#endif
