/* session.c -- connection and server commands answered by the coordinator itself.
 *
 * PING, ECHO, QUIT, SELECT, DEBUG DIGEST here; INFO, COMMAND and CONFIG in info.c. Each
 * answers without a replica, except DEBUG DIGEST, which fans out to every replica.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "commands.h"
#include "replica_link.h"
#include "txn.h"
#include "util.h"

static void cmd_ping(struct client *cl, const struct resp_request *req);
static void cmd_echo(struct client *cl, const struct resp_request *req);
static void cmd_quit(struct client *cl, const struct resp_request *req);
static void cmd_select(struct client *cl, const struct resp_request *req);
static void cmd_debug(struct client *cl, const struct resp_request *req);

const struct command session_commands[] = {
    { "command", -1, CMD_LOCAL, 0, 0, 0, "server", "2.8.13",
      "Returns detailed information about all commands.", cmd_command },
    { "config", -2, CMD_LOCAL, 0, 0, 0, "server", "2.0.0",
      "A container for server configuration commands.", cmd_config },
    { "debug", -2, CMD_LOCAL, 0, 0, 0, "server", "1.0.0",
      "DEBUG DIGEST: compares every replica's data digest (divergence check).", cmd_debug },
    { "echo", 2, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Returns the given string.", cmd_echo },
    { "info", -1, CMD_LOCAL, 0, 0, 0, "server", "1.0.0",
      "Returns information and statistics about the server.", cmd_info },
    { "ping", -1, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Returns the server's liveliness response.", cmd_ping },
    { "quit", -1, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Closes the connection.", cmd_quit },
    { "select", 2, CMD_LOCAL | CMD_FAST, 0, 0, 0, "connection", "1.0.0",
      "Changes the selected database.", cmd_select },
};
const size_t session_commands_count = sizeof session_commands / sizeof session_commands[0];

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
                                    link_addr(txn_link(commands_coord()->txn, i)),
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
    int n = txn_nlinks(commands_coord()->txn);
    for (int i = 0; i < n; i++) {
        struct link *l = txn_link(commands_coord()->txn, i);
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
        if (link_send(txn_link(commands_coord()->txn, i), 1, argv, lens, digest_done, dc) == 0)
            dc->pending++;
        else
            dc->failed = 1;
    }
    if (--dc->pending == 0)
        digest_reply(dc);
}
