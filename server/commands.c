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

static const struct command table[] = {
    { "command", -1, CMD_LOCAL, 0, 0, 0, "server", "2.8.13",
      "Returns detailed information about all commands.", cmd_command },
    { "config", -2, CMD_LOCAL, 0, 0, 0, "server", "2.0.0",
      "A container for server configuration commands.", cmd_config },
    { "dbsize", 1, CMD_READ | CMD_FAST, 0, 0, 0, "server", "1.0.0",
      "Returns the number of keys in the database.", cmd_read },
    { "del", -2, CMD_WRITE, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.",
      cmd_write },
    { "echo", 2, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Returns the given string.", cmd_echo },
    { "exists", -2, CMD_READ | CMD_FAST, 1, -1, 1, "generic", "1.0.0",
      "Determines whether one or more keys exist.", cmd_read },
    { "get", 2, CMD_READ | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Returns the string value of a key.", cmd_read },
    { "info", -1, CMD_LOCAL, 0, 0, 0, "server", "1.0.0",
      "Returns information and statistics about the server.", cmd_info },
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

/* ---- reads: one replica answers ---- */

struct read_call {
    struct slot *slot;
    struct op *op;
    int tries;
};

static int read_send(struct read_call *rc, const struct link *skip);

static void read_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct read_call *rc = arg;
    if (!r && ++rc->tries < txn_nlinks(coord->txn) && read_send(rc, l) == 0)
        return; /* the link dropped: asked another replica */
    if (r)
        link_reply_write(r, slot_writer(rc->slot));
    else
        resp_write_error(slot_writer(rc->slot), "ERR no replica could serve the read");
    slot_done(rc->slot);
    op_free(rc->op);
    free(rc);
}

static int read_send(struct read_call *rc, const struct link *skip)
{
    struct link *l = txn_read_link(coord->txn, skip);
    if (!l)
        return -1;
    return link_send(l, rc->op->argc, (const char **)rc->op->argv, rc->op->lens, read_done, rc);
}

static void cmd_read(struct client *cl, const struct resp_request *req)
{
    if (client_has_writes(cl)) {
        client_park(cl, req); /* read-your-writes: runs again once the writes are done */
        return;
    }
    struct read_call *rc = calloc(1, sizeof *rc);
    if (!rc || !(rc->op = op_new(req->argc, req->argv, req->lens))) {
        free(rc);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    if (!(rc->slot = client_slot_new(cl, 0)) || read_send(rc, NULL) < 0) {
        struct resp_writer *w = rc->slot ? slot_writer(rc->slot) : client_reply_writer(cl);
        resp_write_error(w, "ERR no replica is available to serve reads");
        if (rc->slot)
            slot_done(rc->slot);
        op_free(rc->op);
        free(rc);
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
