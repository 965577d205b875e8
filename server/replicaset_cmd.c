/* replicaset_cmd.c -- REPLICASET LIST / ADD / REMOVE / REPLACE / HELP (see replicaset_cmd.h).
 *
 * Each subcommand is one call into the round engine's replica-set API (txn.h) and one
 * reply. The engine decides and logs; here the arguments are checked only for what the
 * engine's C strings cannot carry (a NUL byte), and every member is looked up by link
 * slot with txn_member_get(), skipping the empty slots that removed members leave.
 */
#include "replicaset_cmd.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "coord.h"
#include "log.h"
#include "registry.h"
#include "txn.h"

static struct coord *coord;

/* Engine errors are at most a line; this leaves room for an address in it. */
#define REPLICASET_ERR_MAX 512

static void write_member(struct resp_writer *w, const struct txn_member_info *mi)
{
    resp_write_map(w, 7);
    resp_write_cstr(w, "id");
    resp_write_int(w, (int64_t)mi->id);
    resp_write_cstr(w, "addr");
    resp_write_cstr(w, mi->addr ? mi->addr : "");
    resp_write_cstr(w, "state");
    resp_write_cstr(w, mi->state ? mi->state : "");
    resp_write_cstr(w, "link");
    resp_write_cstr(w, mi->link ? mi->link : "");
    resp_write_cstr(w, "epoch");
    resp_write_int(w, (int64_t)mi->epoch);
    resp_write_cstr(w, "applied");
    resp_write_int(w, (int64_t)mi->applied);
    resp_write_cstr(w, "why");
    resp_write_cstr(w, mi->why ? mi->why : "");
}

static void sub_list(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    struct txn_member_info mi;
    int n = txn_nlinks(coord->txn);
    size_t members = 0;
    for (int i = 0; i < n; i++)
        members += txn_member_get(coord->txn, i, &mi) == 0;
    resp_write_array(w, members);
    for (int i = 0; i < n; i++)
        if (txn_member_get(coord->txn, i, &mi) == 0)
            write_member(w, &mi);
}

/* Argument i as the engine's C string: 0, or -1 with an error written (an embedded NUL
 * would cut it short, and no address or id holds one). */
static int plain_arg(struct client *cl, const struct resp_request *req, int i)
{
    if (strlen(req->argv[i]) == req->lens[i])
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "ERR invalid replica address or id '%.128s'", req->argv[i]);
    resp_write_error(client_reply_writer(cl), msg);
    return -1;
}

/* Answers a new member's slot (from ADD or REPLACE) with its replica id, or err. */
static void reply_new_member(struct client *cl, int slot, const char *what, const char *err)
{
    struct resp_writer *w = client_reply_writer(cl);
    struct txn_member_info mi;
    if (slot < 0) {
        resp_write_error(w, err);
        return;
    }
    if (txn_member_get(coord->txn, slot, &mi) < 0) { /* the engine broke its promise */
        resp_write_error(w, "ERR the new replica is not in the replica set");
        return;
    }
    LOG_NOTICE("REPLICASET %s: replica %s joins as id %llu (client id=%llu)", what, mi.addr,
               (unsigned long long)mi.id, (unsigned long long)client_id(cl));
    resp_write_int(w, (int64_t)mi.id);
}

static void sub_add(struct client *cl, const struct resp_request *req)
{
    char err[REPLICASET_ERR_MAX] = "ERR unknown error";
    if (plain_arg(cl, req, 2) < 0)
        return;
    int slot = txn_member_add(coord->txn, req->argv[2], err, sizeof err);
    reply_new_member(cl, slot, "ADD", err);
}

static void sub_remove(struct client *cl, const struct resp_request *req)
{
    char err[REPLICASET_ERR_MAX] = "ERR unknown error";
    if (plain_arg(cl, req, 2) < 0)
        return;
    if (txn_member_remove(coord->txn, req->argv[2], err, sizeof err) < 0) {
        resp_write_error(client_reply_writer(cl), err);
        return;
    }
    LOG_NOTICE("REPLICASET REMOVE: replica %s removed (client id=%llu)", req->argv[2],
               (unsigned long long)client_id(cl));
    resp_write_simple(client_reply_writer(cl), "OK");
}

static void sub_replace(struct client *cl, const struct resp_request *req)
{
    char err[REPLICASET_ERR_MAX] = "ERR unknown error";
    if (plain_arg(cl, req, 2) < 0 || plain_arg(cl, req, 3) < 0)
        return;
    int slot = txn_member_replace(coord->txn, req->argv[2], req->argv[3], err, sizeof err);
    reply_new_member(cl, slot, "REPLACE", err);
}

static void sub_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = {
        "REPLICASET <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LIST",
        "    Return the replica set: one entry per member, with its id, addr, state",
        "    (in-sync|out), link, epoch, applied and why fields.",
        "ADD <host:port>",
        "    Add a replica. It joins out of sync, is repaired from a healthy member, then",
        "    votes. Returns its replica id.",
        "REMOVE <addr|id>",
        "    Remove a member for good.",
        "REPLACE <addr|id> <host:port>",
        "    Replace a member by a new replica in one step. Returns the new replica id.",
        "HELP",
        "    Prints this help.",
    };
    registry_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static const struct subcommand replicaset_subcommands[] = {
    { "list", 2, sub_list },       { "add", 3, sub_add }, { "remove", 3, sub_remove },
    { "replace", 4, sub_replace }, { "help", 2, sub_help }, { NULL, 0, NULL },
};

static void cmd_replicaset(struct client *cl, const struct resp_request *req)
{
    registry_run_subcommand(cl, req, replicaset_subcommands);
}

/* since: twopc's own version (the command is not Redis's). */
static const struct command replicaset_commands[] = {
    { "replicaset", -2, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "server", "0.1.0",
      "A container for replica set commands: list, add, remove, replace replicas.",
      cmd_replicaset, replicaset_subcommands },
};

int replicaset_cmd_init(struct coord *c)
{
    coord = c;
    return registry_add(replicaset_commands, 1);
}
