/* commands.c -- dispatch, and the data commands: reads (one replica) and writes (rounds).
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

static void cmd_read(struct client *cl, const struct resp_request *req);
static void cmd_set(struct client *cl, const struct resp_request *req);
static void cmd_write(struct client *cl, const struct resp_request *req);
static void cmd_mset(struct client *cl, const struct resp_request *req);

const struct command data_commands[] = {
    { "dbsize", 1, CMD_READ | CMD_FAST, 0, 0, 0, "server", "1.0.0",
      "Returns the number of keys in the database.", cmd_read },
    { "decr", 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Decrements the integer value of a key by one.", cmd_write },
    { "decrby", 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Decrements a number from the integer value of a key.", cmd_write },
    { "del", -2, CMD_WRITE, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.",
      cmd_write },
    { "exists", -2, CMD_READ | CMD_FAST, 1, -1, 1, "generic", "1.0.0",
      "Determines whether one or more keys exist.", cmd_read },
    { "get", 2, CMD_READ | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Returns the string value of a key.", cmd_read },
    { "incr", 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by one.", cmd_write },
    { "incrby", 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by a number.", cmd_write },
    { "mset", -3, CMD_WRITE, 1, -1, 2, "string", "1.0.1",
      "Atomically creates or modifies the string values of one or more keys.", cmd_mset },
    { "set", -3, CMD_WRITE, 1, 1, 1, "string", "1.0.0",
      "Sets the string value of a key.", cmd_set },
};
const size_t data_commands_count = sizeof data_commands / sizeof data_commands[0];

void commands_init(struct coord *c)
{
    coord = c;
}

struct coord *commands_coord(void)
{
    return coord;
}

size_t commands_count(void)
{
    return data_commands_count + session_commands_count;
}

const struct command *commands_at(size_t i)
{
    return i < data_commands_count ? &data_commands[i]
                                   : &session_commands[i - data_commands_count];
}

const struct command *commands_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < commands_count(); i++) {
        const struct command *cmd = commands_at(i);
        if (strlen(cmd->name) == len && strncasecmp(cmd->name, name, len) == 0)
            return cmd;
    }
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
