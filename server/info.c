/* info.c -- INFO, COMMAND and CONFIG: what tools ask a server about itself.
 *
 * INFO's sections follow Redis's "field:value\r\n" format so that tools parsing INFO
 * (redis-cli --stat, client libraries, monitoring) read it; the "# Twopc" section adds the
 * round engine and the state of each replica link. CONFIG GET answers from a small table
 * of the settings this server has (and a few fixed values tools ask for); it returns an
 * empty list for everything else, which redis-benchmark accepts.
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "client.h"
#include "commands.h"
#include "conn.h"
#include "replica_link.h"
#include "txn.h"
#include "util.h"

#define TWOPC_VERSION "0.1.0"
#define REDIS_COMPAT_VERSION "7.0.0"

static void section_server(struct evbuffer *b, const struct coord *c)
{
    struct utsname u;
    uname(&u);
    uint64_t up = (util_mono_ms() - c->start_ms) / 1000;
    evbuffer_add_printf(b,
                        "# Server\r\nredis_version:%s\r\ntwopc_version:%s\r\n"
                        "redis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                        "process_id:%d\r\ntcp_port:%d\r\nuptime_in_seconds:%llu\r\n"
                        "uptime_in_days:%llu\r\nexecutable:%s\r\nconfig_file:%s\r\n\r\n",
                        REDIS_COMPAT_VERSION, TWOPC_VERSION, u.sysname, u.release, u.machine,
                        (int)(sizeof(void *) * 8), (int)getpid(), c->port,
                        (unsigned long long)up, (unsigned long long)(up / 86400),
                        c->executable ? c->executable : "", c->config_file ? c->config_file : "");
}

static void section_clients(struct evbuffer *b, const struct coord *c)
{
    evbuffer_add_printf(b, "# Clients\r\nconnected_clients:%zu\r\n\r\n", client_count());
}

static void section_twopc(struct evbuffer *b, const struct coord *c)
{
    struct txn_stats st;
    txn_get_stats(c->txn, &st);
    int n = txn_nlinks(c->txn), ready = 0;
    for (int i = 0; i < n; i++)
        ready += link_state(txn_link(c->txn, i)) == LINK_READY;
    evbuffer_add_printf(b,
                        "# Twopc\r\nreplicas:%d\r\nreplicas_ready:%d\r\nrounds_committed:%llu\r\n"
                        "rounds_aborted:%llu\r\nops_committed:%llu\r\nrounds_unacked:%zu\r\n"
                        "ops_pending:%zu\r\nnext_round:%llu\r\nprepare_timeout_ms:%d\r\n",
                        n, ready, (unsigned long long)st.committed,
                        (unsigned long long)st.aborted, (unsigned long long)st.ops_committed,
                        st.unacked_rounds, st.pending_ops, (unsigned long long)st.next_rid,
                        c->prepare_timeout_ms);
    for (int i = 0; i < n; i++) {
        struct link *l = txn_link(c->txn, i);
        evbuffer_add_printf(b, "replica_%d:addr=%s,state=%s,connects=%llu,stalled=%d\r\n",
                            i + 1, link_addr(l), link_state_name(link_state(l)),
                            (unsigned long long)link_connects(l),
                            link_stalled(l, (uint64_t)c->prepare_timeout_ms));
    }
    evbuffer_add(b, "\r\n", 2);
}

static const struct {
    const char *name;
    void (*fn)(struct evbuffer *, const struct coord *);
} sections[] = {
    { "server", section_server },
    { "clients", section_clients },
    { "twopc", section_twopc },
};

void cmd_info(struct client *cl, const struct resp_request *req)
{
    struct evbuffer *b = evbuffer_new();
    const struct coord *c = commands_coord();
    int all = req->argc == 1;
    for (int i = 1; i < req->argc; i++)
        if (!strcasecmp(req->argv[i], "all") || !strcasecmp(req->argv[i], "default") ||
            !strcasecmp(req->argv[i], "everything"))
            all = 1;
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        int want = all;
        for (int i = 1; i < req->argc && !want; i++)
            want = strcasecmp(req->argv[i], sections[s].name) == 0;
        if (want)
            sections[s].fn(b, c);
    }
    size_t len = evbuffer_get_length(b);
    /* Like Redis, no trailing blank line after the last section. */
    if (len >= 2)
        len -= 2;
    resp_write_bulk(client_reply_writer(cl), evbuffer_pullup(b, -1), len);
    evbuffer_free(b);
}

/* ---- COMMAND ---- */

static void write_flags(struct resp_writer *w, const struct command *cmd)
{
    const char *flags[3];
    size_t n = 0;
    if (cmd->flags & CMD_WRITE)
        flags[n++] = "write";
    if (cmd->flags & CMD_READ)
        flags[n++] = "readonly";
    if (cmd->flags & CMD_FAST)
        flags[n++] = "fast";
    resp_write_array(w, n);
    for (size_t i = 0; i < n; i++)
        resp_write_simple(w, flags[i]);
}

static void write_info(struct resp_writer *w, const struct command *cmd)
{
    resp_write_array(w, 10);
    resp_write_cstr(w, cmd->name);
    resp_write_int(w, cmd->arity);
    write_flags(w, cmd);
    resp_write_int(w, cmd->first_key);
    resp_write_int(w, cmd->last_key);
    resp_write_int(w, cmd->step);
    resp_write_array(w, 0); /* ACL categories */
    resp_write_array(w, 0); /* tips */
    resp_write_array(w, 0); /* key specs */
    resp_write_array(w, 0); /* subcommands */
}

static void write_docs(struct resp_writer *w, const struct command *cmd)
{
    resp_write_cstr(w, cmd->name);
    resp_write_map(w, 3);
    resp_write_cstr(w, "summary");
    resp_write_cstr(w, cmd->summary);
    resp_write_cstr(w, "since");
    resp_write_cstr(w, cmd->since);
    resp_write_cstr(w, "group");
    resp_write_cstr(w, cmd->group);
}

void cmd_command(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    size_t n = commands_count();
    const char *sub = req->argc > 1 ? req->argv[1] : "";
    if (req->argc == 1 || (!strcasecmp(sub, "info") && req->argc == 2)) {
        resp_write_array(w, n);
        for (size_t i = 0; i < n; i++)
            write_info(w, commands_at(i));
    } else if (!strcasecmp(sub, "count") && req->argc == 2) {
        resp_write_int(w, (int64_t)n);
    } else if (!strcasecmp(sub, "list") && req->argc == 2) {
        resp_write_array(w, n);
        for (size_t i = 0; i < n; i++)
            resp_write_cstr(w, commands_at(i)->name);
    } else if (!strcasecmp(sub, "info")) {
        resp_write_array(w, (size_t)req->argc - 2);
        for (int i = 2; i < req->argc; i++) {
            const struct command *cmd = commands_lookup(req->argv[i], req->lens[i]);
            if (cmd)
                write_info(w, cmd);
            else
                resp_write_null_array(w);
        }
    } else if (!strcasecmp(sub, "docs")) {
        size_t found = 0;
        for (int i = 2; i < req->argc; i++)
            found += commands_lookup(req->argv[i], req->lens[i]) != NULL;
        resp_write_map(w, req->argc == 2 ? n : found);
        for (size_t i = 0; req->argc == 2 && i < n; i++)
            write_docs(w, commands_at(i));
        for (int i = 2; i < req->argc; i++) {
            const struct command *cmd = commands_lookup(req->argv[i], req->lens[i]);
            if (cmd)
                write_docs(w, cmd);
        }
    } else {
        commands_unknown_subcommand(w, "COMMAND", sub);
    }
}

/* ---- CONFIG ---- */

static void config_get(struct resp_writer *w, const struct resp_request *req)
{
    const struct coord *c = commands_coord();
    char port[16], timeout[16];
    snprintf(port, sizeof port, "%d", c->port);
    snprintf(timeout, sizeof timeout, "%d", c->prepare_timeout_ms);
    const char *params[][2] = {
        { "port", port }, { "bind", c->bind }, { "dir", c->dir }, { "databases", "1" },
        /* Every write is fsync'd on every replica before it is acknowledged. */
        { "appendonly", "yes" }, { "appendfsync", "always" }, { "save", "" },
        { "maxmemory", "0" }, { "timeout", "0" }, { "proto-max-bulk-len", "536870912" },
        { "prepare-timeout-ms", timeout },
    };
    size_t np = sizeof params / sizeof params[0];
    char match[sizeof params / sizeof params[0]] = { 0 };
    size_t n = 0;
    for (int i = 2; i < req->argc; i++)
        for (size_t p = 0; p < np; p++)
            if (!match[p] && fnmatch(req->argv[i], params[p][0], FNM_CASEFOLD) == 0)
                match[p] = 1, n++;
    resp_write_map(w, n);
    for (size_t p = 0; p < np; p++)
        if (match[p]) {
            resp_write_cstr(w, params[p][0]);
            resp_write_cstr(w, params[p][1]);
        }
}

void cmd_config(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    const char *sub = req->argv[1];
    if (!strcasecmp(sub, "get")) {
        if (req->argc < 3)
            resp_write_error(w, "ERR wrong number of arguments for 'config|get' command");
        else
            config_get(w, req);
    } else if (!strcasecmp(sub, "resetstat") && req->argc == 2) {
        resp_write_simple(w, "OK");
    } else if (!strcasecmp(sub, "set")) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "ERR Unknown option or number of arguments for CONFIG SET - '%.128s'",
                 req->argc > 2 ? req->argv[2] : "");
        resp_write_error(w, msg);
    } else {
        commands_unknown_subcommand(w, "CONFIG", sub);
    }
}
