/* client_cmd.c -- CLIENT and its subcommands (see client_cmd.h).
 *
 * Every subcommand is a row in client_subcommands[] with Redis 7's arity: request.c checks
 * the name and the argument count (registry_check) before CLIENT runs or is queued in MULTI (an unknown one
 * gets "unknown subcommand '<sub>'. Try CLIENT HELP.", a wrong count "wrong number of
 * arguments for 'client|<sub>' command"), so each sub_ function sees a valid count. KILL
 * and LIST share one filter (struct client_filter) built from their options; KILL of the
 * calling client itself closes it after its reply, as Redis does.
 */
#include "client_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "blocking.h"
#include "client.h"
#include "multi.h"
#include "pubsub.h"
#include "registry.h"
#include "util.h"

enum { FILTER_NORMAL = 1, FILTER_PUBSUB = 2 };

struct client_filter {
    uint64_t *ids;
    size_t nids;
    const char *addr, *laddr;
    int none;   /* a TYPE that matches no client of ours (master, replica) */
    int type;   /* TYPE normal or pubsub (FILTER_NORMAL, FILTER_PUBSUB), else 0: any */
    int skipme;
};

static int filter_match(const struct client_filter *f, const struct client *cl,
                        const struct client *self)
{
    struct client_info ci;
    client_get_info(cl, &ci);
    if (f->none || (f->skipme && cl == self))
        return 0;
    /* Redis's client types: pubsub while it has a subscription, else normal. */
    if ((f->type == FILTER_NORMAL && pubsub_active(cl)) ||
        (f->type == FILTER_PUBSUB && !pubsub_active(cl)))
        return 0;
    if (f->addr && strcmp(f->addr, ci.addr) != 0)
        return 0;
    if (f->laddr && strcmp(f->laddr, ci.laddr) != 0)
        return 0;
    if (f->nids == 0)
        return 1;
    for (size_t i = 0; i < f->nids; i++)
        if (f->ids[i] == ci.id)
            return 1;
    return 0;
}

/* TYPE's argument into f: normal, pubsub, or one that matches none of our clients (master,
 * replica). Returns 0, or -1 for an unknown type (error written). */
static int parse_type(struct resp_writer *w, const char *t, struct client_filter *f)
{
    if (!strcasecmp(t, "normal") || !strcasecmp(t, "pubsub")) {
        f->type = !strcasecmp(t, "normal") ? FILTER_NORMAL : FILTER_PUBSUB;
        return 0;
    }
    if (!strcasecmp(t, "master") || !strcasecmp(t, "replica") || !strcasecmp(t, "slave")) {
        f->none = 1;
        return 0;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "ERR Unknown client type '%.128s'", t);
    resp_write_error(w, msg);
    return -1;
}

/* ---- CLIENT LIST / INFO ---- */

static void format_flags(const struct client *cl, const struct client_info *ci, char *out)
{
    char *p = out;
    if (ci->monitor)
        *p++ = 'O';
    if (pubsub_active(cl))
        *p++ = 'P';
    if (multi_active(cl))
        *p++ = 'x';
    if (blocking_waits(cl))
        *p++ = 'b';
    if (multi_dirty(cl))
        *p++ = 'd';
    if (ci->closing)
        *p++ = 'c';
    if (p == out)
        *p++ = 'N';
    *p = 0;
}

static void format_client(struct evbuffer *b, const struct client *cl)
{
    struct client_info ci;
    char flags[16];
    size_t sub, psub, ssub;
    client_get_info(cl, &ci);
    format_flags(cl, &ci, flags);
    pubsub_client_counts(cl, &sub, &psub, &ssub);
    evbuffer_add_printf(
        b,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=%s db=%d sub=%zu "
        "psub=%zu ssub=%zu multi=%d qbuf=%zu qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 "
        "obl=0 oll=%zu omem=%zu tot-mem=%zu events=%s cmd=%s user=default redir=-1 resp=%d "
        "lib-name=%s lib-ver=%s\n",
        (unsigned long long)ci.id, ci.addr, ci.laddr, ci.fd, ci.name,
        (unsigned long long)ci.age_s, (unsigned long long)ci.idle_s, flags, ci.db,
        sub, psub, ssub, multi_queued_count(cl), ci.qbuf, ci.pending, ci.obuf, ci.qbuf + ci.obuf,
        ci.obuf ? "rw" : "r", ci.last_cmd, ci.proto, ci.lib_name, ci.lib_ver);
}

static void write_buffer(struct resp_writer *w, struct evbuffer *b)
{
    size_t len = evbuffer_get_length(b);
    resp_write_verbatim(w, len ? (const char *)evbuffer_pullup(b, -1) : "", len);
    evbuffer_free(b);
}

static void sub_info(struct client *cl, const struct resp_request *req)
{
    struct evbuffer *b = evbuffer_new();
    format_client(b, cl);
    write_buffer(client_reply_writer(cl), b);
}

/* LIST's ID option: every argument from `at` on is a client id. */
static int parse_ids(struct resp_writer *w, const struct resp_request *req, int at,
                     struct client_filter *f)
{
    free(f->ids);
    f->nids = 0;
    if (!(f->ids = calloc((size_t)(req->argc - at), sizeof *f->ids))) {
        resp_write_error(w, "ERR out of memory");
        return -1;
    }
    for (int i = at; i < req->argc; i++) {
        int64_t id;
        if (util_parse_i64(req->argv[i], req->lens[i], &id) < 0 || id <= 0) {
            resp_write_error(w, "ERR Invalid client ID");
            return -1;
        }
        f->ids[f->nids++] = (uint64_t)id;
    }
    return 0;
}

/* LIST [TYPE t] [ID id ...] */
static int list_filter(struct resp_writer *w, const struct resp_request *req,
                       struct client_filter *f)
{
    for (int i = 2; i < req->argc; i++) {
        if (!strcasecmp(req->argv[i], "type") && i + 1 < req->argc) {
            if (parse_type(w, req->argv[++i], f) < 0)
                return -1;
        } else if (!strcasecmp(req->argv[i], "id") && i + 1 < req->argc) {
            return parse_ids(w, req, i + 1, f);
        } else {
            resp_write_error(w, "ERR syntax error");
            return -1;
        }
    }
    return 0;
}

static void sub_list(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    struct client_filter f = { 0 };
    if (list_filter(w, req, &f) == 0) {
        struct evbuffer *b = evbuffer_new();
        for (struct client *c = client_first(); c; c = client_next(c))
            if (filter_match(&f, c, cl))
                format_client(b, c);
        write_buffer(w, b);
    }
    free(f.ids);
}

/* ---- CLIENT KILL ---- */

static int kill_option(struct resp_writer *w, const char *opt, const char *val, size_t vlen,
                       struct client_filter *f)
{
    int64_t id;
    char msg[200];
    if (!strcasecmp(opt, "id")) {
        if (util_parse_i64(val, vlen, &id) < 0 || id <= 0) {
            resp_write_error(w, "ERR client-id should be greater than 0");
            return -1;
        }
        f->ids[f->nids++] = (uint64_t)id;
    } else if (!strcasecmp(opt, "type")) {
        if (parse_type(w, val, f) < 0)
            return -1;
    } else if (!strcasecmp(opt, "user")) {
        if (strcmp(val, "default") != 0) {
            snprintf(msg, sizeof msg, "ERR No such user '%.128s'", val);
            resp_write_error(w, msg);
            return -1;
        }
    } else if (!strcasecmp(opt, "addr")) {
        f->addr = val;
    } else if (!strcasecmp(opt, "laddr")) {
        f->laddr = val;
    } else if (!strcasecmp(opt, "skipme") && (!strcasecmp(val, "yes") || !strcasecmp(val, "no"))) {
        f->skipme = !strcasecmp(val, "yes");
    } else {
        resp_write_error(w, "ERR syntax error");
        return -1;
    }
    return 0;
}

/* Kills every client f matches; the caller itself is closed after its reply. */
static size_t kill_matching(const struct client_filter *f, struct client *self)
{
    size_t n = 0;
    int kill_self = 0;
    struct client *c = client_first();
    while (c) {
        struct client *next = client_next(c);
        if (filter_match(f, c, self)) {
            n++;
            if (c == self)
                kill_self = 1;
            else
                client_kill(c);
        }
        c = next;
    }
    if (kill_self)
        client_close_after_reply(self);
    return n;
}

static void sub_kill(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    uint64_t ids[64];
    struct client_filter f = { .ids = ids, .skipme = 1 };
    if (req->argc == 3) { /* the old form: CLIENT KILL addr:port */
        f.addr = req->argv[2];
        f.skipme = 0;
        if (kill_matching(&f, cl) == 0)
            resp_write_error(w, "ERR No such client");
        else
            resp_write_simple(w, "OK");
        return;
    }
    if ((req->argc - 2) % 2 != 0 || req->argc - 2 > 2 * 64) {
        resp_write_error(w, "ERR syntax error");
        return;
    }
    for (int i = 2; i < req->argc; i += 2)
        if (kill_option(w, req->argv[i], req->argv[i + 1], req->lens[i + 1], &f) < 0)
            return;
    resp_write_int(w, (int64_t)kill_matching(&f, cl));
}

/* ---- the small ones ---- */

static void sub_id(struct client *cl, const struct resp_request *req)
{
    resp_write_int(client_reply_writer(cl), (int64_t)client_id(cl));
}

static void sub_getname(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    const char *name = client_name(cl);
    if (name[0])
        resp_write_cstr(w, name);
    else
        resp_write_null(w);
}

static void sub_setname(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    if (client_set_name(cl, req->argv[2], req->lens[2]) < 0)
        resp_write_error(w, CLIENT_CMD_BAD_NAME);
    else
        resp_write_simple(w, "OK");
}

/* CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; clients send it on connect). */
static void sub_setinfo(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    const char *attr = req->argv[2];
    int ver = !strcasecmp(attr, "lib-ver");
    char msg[256];
    if (!ver && strcasecmp(attr, "lib-name")) {
        snprintf(msg, sizeof msg, "ERR Unrecognized option '%.128s'", attr);
        resp_write_error(w, msg);
    } else if (client_set_lib(cl, ver, req->argv[3], req->lens[3]) < 0) {
        snprintf(msg, sizeof msg,
                 "ERR %.128s cannot contain spaces, newlines or special characters.", attr);
        resp_write_error(w, msg);
    } else {
        resp_write_simple(w, "OK");
    }
}

static void sub_reply(struct client *cl, const struct resp_request *req)
{
    const char *mode = req->argv[2];
    if (!strcasecmp(mode, "on")) {
        client_set_reply_mode(cl, CLIENT_REPLY_ON);
        resp_write_simple(client_reply_writer(cl), "OK");
    } else if (!strcasecmp(mode, "off")) {
        client_set_reply_mode(cl, CLIENT_REPLY_OFF);
    } else if (!strcasecmp(mode, "skip")) {
        client_set_reply_mode(cl, CLIENT_REPLY_SKIP);
    } else {
        resp_write_error(client_reply_writer(cl), "ERR syntax error");
    }
}

/* NO-EVICT, NO-TOUCH: there is no eviction here; the switch is accepted. */
static void sub_onoff(struct client *cl, const struct resp_request *req)
{
    const char *v = req->argv[2];
    struct resp_writer *w = client_reply_writer(cl);
    if (!strcasecmp(v, "on") || !strcasecmp(v, "off"))
        resp_write_simple(w, "OK");
    else
        resp_write_error(w, "ERR syntax error");
}

/* PAUSE is accepted but does not pause (documented in client_cmd.h's users' notes). */
static void sub_pause(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    int64_t ms;
    if (util_parse_i64(req->argv[2], req->lens[2], &ms) < 0 || ms < 0)
        resp_write_error(w, "ERR timeout is not an integer or out of range");
    else if (req->argc == 4 && strcasecmp(req->argv[3], "write") && strcasecmp(req->argv[3], "all"))
        resp_write_error(w, "ERR syntax error");
    else
        resp_write_simple(w, "OK");
}

static void sub_ok(struct client *cl, const struct resp_request *req)
{
    resp_write_simple(client_reply_writer(cl), "OK");
}

static void sub_getredir(struct client *cl, const struct resp_request *req)
{
    resp_write_int(client_reply_writer(cl), -1);
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client parked in a blocking pop (blocking.h). */
static void sub_unblock(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    int64_t id;
    int error = 0;
    if (req->argc > 4) {
        char msg[256];
        snprintf(msg, sizeof msg, "ERR unknown subcommand or wrong number of arguments for "
                 "'%.128s'. Try CLIENT HELP.", req->argv[1]);
        resp_write_error(w, msg);
        return;
    }
    if (req->argc == 4 && !strcasecmp(req->argv[3], "error")) { /* the reason first */
        error = 1;
    } else if (req->argc == 4 && strcasecmp(req->argv[3], "timeout")) {
        resp_write_error(w, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        return;
    }
    if (util_parse_i64(req->argv[2], req->lens[2], &id) < 0) {
        resp_write_error(w, "ERR value is not an integer or out of range");
        return;
    }
    resp_write_int(w, id > 0 && blocking_unblock((uint64_t)id, error));
}

static void sub_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client library name or version.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    };
    registry_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static const struct subcommand client_subcommands[] = {
    { "id", 2, sub_id },             { "getname", 2, sub_getname },
    { "setname", 3, sub_setname },   { "setinfo", 4, sub_setinfo },
    { "info", 2, sub_info },         { "list", -2, sub_list },
    { "kill", -3, sub_kill },        { "reply", 3, sub_reply },
    { "no-evict", 3, sub_onoff },    { "no-touch", 3, sub_onoff },
    { "pause", -3, sub_pause },      { "unpause", 2, sub_ok },
    { "getredir", 2, sub_getredir }, { "unblock", -3, sub_unblock },
    { "help", 2, sub_help },         { NULL, 0, NULL },
};

static void cmd_client(struct client *cl, const struct resp_request *req)
{
    registry_run_subcommand(cl, req, client_subcommands);
}

static const struct command client_commands[] = {
    { "client", -2, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "connection", "2.4.0",
      "A container for client connection commands.", cmd_client, client_subcommands },
};

int client_cmd_init(void)
{
    return registry_add(client_commands, 1);
}
