/* commands.c -- command table, dispatch, and the connection, read and write commands.
 *
 * Dispatch checklist, in Redis's order: unknown command error, then arity error, then the
 * command itself. Error texts are Redis 7's, byte for byte (CR/LF in echoed arguments are
 * turned into spaces by the reply writer).
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "client.h"
#include "op.h"
#include "replica_link.h"
#include "txn.h"
#include "util.h"

static struct coord *coord;

static void cmd_ping(struct client *cl, const struct resp_request *req);
static void cmd_echo(struct client *cl, const struct resp_request *req);
static void cmd_quit(struct client *cl, const struct resp_request *req);
static void cmd_select(struct client *cl, const struct resp_request *req);
static void cmd_read(struct client *cl, const struct resp_request *req);
static void cmd_set(struct client *cl, const struct resp_request *req);
static void cmd_write(struct client *cl, const struct resp_request *req);
static void cmd_debug(struct client *cl, const struct resp_request *req);
static void cmd_mset(struct client *cl, const struct resp_request *req);

static const struct command table[] = {
    { "command", -1, CMD_LOCAL, 0, 0, 0, "server", "2.8.13",
      "Returns detailed information about all commands.", cmd_command },
    { "config", -2, CMD_LOCAL, 0, 0, 0, "server", "2.0.0",
      "A container for server configuration commands.", cmd_config },
    { "dbsize", 1, CMD_READ | CMD_FAST, 0, 0, 0, "server", "1.0.0",
      "Returns the number of keys in the database.", cmd_read },
    { "debug", -2, CMD_LOCAL, 0, 0, 0, "server", "1.0.0",
      "DEBUG DIGEST: compares every replica's data digest (divergence check).", cmd_debug },
    { "decr", 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Decrements the integer value of a key by one.", cmd_write },
    { "decrby", 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Decrements a number from the integer value of a key.", cmd_write },
    { "del", -2, CMD_WRITE, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.",
      cmd_write },
    { "echo", 2, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Returns the given string.", cmd_echo },
    { "exists", -2, CMD_READ | CMD_FAST, 1, -1, 1, "generic", "1.0.0",
      "Determines whether one or more keys exist.", cmd_read },
    { "get", 2, CMD_READ | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Returns the string value of a key.", cmd_read },
    { "incr", 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by one.", cmd_write },
    { "incrby", 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by a number.", cmd_write },
    { "info", -1, CMD_LOCAL, 0, 0, 0, "server", "1.0.0",
      "Returns information and statistics about the server.", cmd_info },
    { "mset", -3, CMD_WRITE, 1, -1, 2, "string", "1.0.1",
      "Atomically creates or modifies the string values of one or more keys.", cmd_mset },
    { "ping", -1, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Returns the server's liveliness response.", cmd_ping },
    { "quit", -1, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Closes the connection.", cmd_quit },
    { "select", 2, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Changes the selected database.", cmd_select },
    { "set", -3, CMD_WRITE, 1, 1, 1, "string", "1.0.0",
      "Sets the string value of a key.", cmd_set },
};

void commands_init(struct coord *c)
{
    coord = c;
}

struct coord *commands_coord(void)
{
    return coord;
}

const struct command *commands_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

const struct command *commands_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strlen(table[i].name) == len && strncasecmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}

void commands_unknown_subcommand(struct resp_writer *w, const char *cmd, const char *sub)
{
    char msg[256];
    snprintf(msg, sizeof msg, "ERR unknown subcommand '%.128s'. Try %s HELP.", sub, cmd);
    resp_write_error(w, msg);
}

static void unknown_command(struct resp_writer *w, const struct resp_request *req)
{
    /* Redis 7: "unknown command '%.128s', with args beginning with: " then "'%.*s' " for
     * each argument while the list is under 128 bytes. */
    char args[512] = "";
    size_t len = 0;
    for (int i = 1; i < req->argc && len < 128; i++)
        len += (size_t)snprintf(args + len, sizeof args - len, "'%.*s' ",
                                (int)(128 - len < req->lens[i] ? 128 - len : req->lens[i]),
                                req->argv[i]);
    char msg[800];
    snprintf(msg, sizeof msg, "ERR unknown command '%.128s', with args beginning with: %s",
             req->argv[0], args);
    resp_write_error(w, msg);
}

void commands_dispatch(struct client *cl, const struct resp_request *req)
{
    const struct command *cmd = commands_lookup(req->argv[0], req->lens[0]);
    if (!cmd) {
        unknown_command(client_reply_writer(cl), req);
        return;
    }
    if ((cmd->arity > 0 && req->argc != cmd->arity) || req->argc < -cmd->arity) {
        char msg[160];
        snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%s' command", cmd->name);
        resp_write_error(client_reply_writer(cl), msg);
        return;
    }
    cmd->fn(cl, req);
}

/* ---- connection ---- */

static void cmd_ping(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    if (req->argc > 2)
        resp_write_error(w, "ERR wrong number of arguments for 'ping' command");
    else if (req->argc == 2)
        resp_write_bulk(w, req->argv[1], req->lens[1]);
    else
        resp_write_simple(w, "PONG");
}

static void cmd_echo(struct client *cl, const struct resp_request *req)
{
    resp_write_bulk(client_reply_writer(cl), req->argv[1], req->lens[1]);
}

static void cmd_quit(struct client *cl, const struct resp_request *req)
{
    resp_write_simple(client_reply_writer(cl), "OK");
    client_close_after_reply(cl);
}

static void cmd_select(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    int64_t db;
    if (util_parse_i64(req->argv[1], req->lens[1], &db) < 0 || db < INT32_MIN || db > INT32_MAX)
        resp_write_error(w, "ERR value is not an integer or out of range");
    else if (db != 0)
        resp_write_error(w, "ERR DB index is out of range");
    else
        resp_write_simple(w, "OK");
}

/* ---- reads: one replica answers ----
 *
 * A read goes to one READY link that is not stalled. If that link drops, the read moves to
 * another; if it gives no answer within the prepare timeout (a stopped replica keeps its
 * connection open), the read is sent to another link too, and the first answer wins. A
 * read_call lives until it has answered and every link it was sent to has called back.
 */

struct read_call {
    struct slot *slot;
    struct op *op;
    struct event *timer;
    int tries, outstanding, done;
};

static int read_send(struct read_call *rc, const struct link *skip);

static void read_finish(struct read_call *rc, const struct link_reply *r)
{
    if (r)
        link_reply_write(r, slot_writer(rc->slot));
    else
        resp_write_error(slot_writer(rc->slot), "ERR no replica could serve the read");
    rc->done = 1;
    evtimer_del(rc->timer);
    slot_done(rc->slot);
}

static void read_maybe_free(struct read_call *rc)
{
    if (!rc->done || rc->outstanding > 0)
        return;
    event_free(rc->timer);
    op_free(rc->op);
    free(rc);
}

static void read_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct read_call *rc = arg;
    rc->outstanding--;
    if (!rc->done) {
        if (r)
            read_finish(rc, r);
        else if (++rc->tries >= txn_nlinks(coord->txn) || read_send(rc, l) < 0)
            if (rc->outstanding == 0)
                read_finish(rc, NULL); /* every replica dropped it */
    }
    read_maybe_free(rc);
}

static void read_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct read_call *rc = arg;
    /* No answer yet: ask another replica too (a stalled link is skipped by the choice). */
    if (read_send(rc, NULL) < 0) {
        int ms = txn_prepare_timeout_ms(coord->txn);
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        evtimer_add(rc->timer, &tv);
    }
}

static int read_send(struct read_call *rc, const struct link *skip)
{
    struct link *l = txn_read_link(coord->txn, skip);
    if (!l || link_send(l, rc->op->argc, (const char **)rc->op->argv, rc->op->lens, read_done,
                        rc) < 0)
        return -1;
    rc->outstanding++;
    int ms = txn_prepare_timeout_ms(coord->txn);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(rc->timer, &tv);
    return 0;
}

static void cmd_read(struct client *cl, const struct resp_request *req)
{
    if (client_has_writes(cl)) {
        client_park(cl, req); /* read-your-writes: runs again once the writes are done */
        return;
    }
    struct read_call *rc = calloc(1, sizeof *rc);
    if (!rc || !(rc->op = op_new(req->argc, req->argv, req->lens)) ||
        !(rc->timer = evtimer_new(coord->base, read_timeout, rc)) ||
        !(rc->slot = client_slot_new(cl, 0))) {
        if (rc) {
            if (rc->timer)
                event_free(rc->timer);
            op_free(rc->op);
        }
        free(rc);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    if (read_send(rc, NULL) < 0) {
        resp_write_error(slot_writer(rc->slot), "ERR no replica is available to serve reads");
        rc->done = 1;
        slot_done(rc->slot);
        read_maybe_free(rc);
    }
}

/* ---- writes: a 2PC round ---- */

static void cmd_write(struct client *cl, const struct resp_request *req)
{
    struct op *op = op_new(req->argc, req->argv, req->lens);
    struct slot *slot = op ? client_slot_new(cl, 1) : NULL;
    if (!slot) {
        op_free(op);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    txn_submit(coord->txn, op, slot);
}

static void cmd_mset(struct client *cl, const struct resp_request *req)
{
    if (req->argc % 2 == 0) {
        resp_write_error(client_reply_writer(cl),
                         "ERR wrong number of arguments for 'mset' command");
        return;
    }
    cmd_write(cl, req);
}

static void cmd_set(struct client *cl, const struct resp_request *req)
{
    if (req->argc != 3) {
        /* Options (EX, NX, GET...) are not supported yet: Redis's reply to an option it
         * does not understand. */
        resp_write_error(client_reply_writer(cl), "ERR syntax error");
        return;
    }
    cmd_write(cl, req);
}

/* ---- DEBUG DIGEST: every replica's digest, compared ---- */

struct digest_call {
    struct slot *slot;
    int pending, n, failed;
    char (*digests)[17];
};

static void digest_reply(struct digest_call *dc)
{
    struct resp_writer *w = slot_writer(dc->slot);
    int same = !dc->failed;
    for (int i = 1; i < dc->n && same; i++)
        same = strcmp(dc->digests[i], dc->digests[0]) == 0;
    if (same) {
        resp_write_bulk(w, dc->digests[0], 16);
    } else {
        char msg[2048];
        size_t len = (size_t)snprintf(msg, sizeof msg, "%s",
                                      dc->failed ? "ERR a replica did not answer:"
                                                 : "DIVERGENCE replicas disagree:");
        for (int i = 0; i < dc->n && len < sizeof msg - 64; i++)
            len += (size_t)snprintf(msg + len, sizeof msg - len, " %s=%s",
                                    link_addr(txn_link(coord->txn, i)),
                                    dc->digests[i][0] ? dc->digests[i] : "?");
        resp_write_error(w, msg);
    }
    slot_done(dc->slot);
    free(dc->digests);
    free(dc);
}

static void digest_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct digest_call *dc = arg;
    size_t len = 0;
    const char *s = r && !link_reply_is_error(r) ? link_reply_str(r, &len) : NULL;
    if (s && len == 16)
        memcpy(dc->digests[link_index(l)], s, 17);
    else
        dc->failed = 1;
    if (--dc->pending == 0)
        digest_reply(dc);
}

static void cmd_debug(struct client *cl, const struct resp_request *req)
{
    if (strcasecmp(req->argv[1], "digest") != 0 || req->argc != 2) {
        commands_unknown_subcommand(client_reply_writer(cl), "DEBUG", req->argv[1]);
        return;
    }
    if (client_has_writes(cl)) {
        client_park(cl, req);
        return;
    }
    int n = txn_nlinks(coord->txn);
    for (int i = 0; i < n; i++) {
        struct link *l = txn_link(coord->txn, i);
        if (link_state(l) != LINK_READY) {
            char msg[256];
            snprintf(msg, sizeof msg, "ERR replica %s is %s: can't compare digests",
                     link_addr(l), link_state_name(link_state(l)));
            resp_write_error(client_reply_writer(cl), msg);
            return;
        }
    }
    struct digest_call *dc = calloc(1, sizeof *dc);
    if (!dc || !(dc->digests = calloc((size_t)n, sizeof *dc->digests)) ||
        !(dc->slot = client_slot_new(cl, 0))) {
        if (dc)
            free(dc->digests);
        free(dc);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    dc->n = n;
    static const char *argv[1] = { "DIGEST" };
    static const size_t lens[1] = { 6 };
    dc->pending = 1; /* held until every send is issued */
    for (int i = 0; i < n; i++) {
        if (link_send(txn_link(coord->txn, i), 1, argv, lens, digest_done, dc) == 0)
            dc->pending++;
        else
            dc->failed = 1;
    }
    if (--dc->pending == 0)
        digest_reply(dc);
}
