/* slowlog.c -- SLOWLOG entries and the LATENCY command (see slowlog.h).
 *
 * The log is a list, newest first; adding trims its oldest entries to slowlog-max-len.
 * Entry ids keep growing across SLOWLOG RESET, as in Redis.
 */
#include "slowlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "client.h"
#include "op.h"
#include "redact.h"
#include "registry.h"
#include "settings.h"
#include "util.h"

struct entry {
    uint64_t id, duration_us;
    int64_t time_s;
    struct op *args;
    char *name;
    char peer[64];
    TAILQ_ENTRY(entry) link;
};

static TAILQ_HEAD(entry_list, entry) entries = TAILQ_HEAD_INITIALIZER(entries); /* newest first */
static size_t nentries;
static uint64_t next_id;

static int reserve(struct slowlog_args *a, size_t more)
{
    if (a->len + more <= a->cap)
        return 0;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more)
        cap *= 2;
    char *nb = realloc(a->buf, cap);
    if (!nb)
        return -1;
    a->buf = nb;
    a->cap = cap;
    return 0;
}

/* Appends one argument, cut as Redis cuts it: past 32 arguments the last one says how
 * many more there were; past 128 bytes a string says how many bytes more it had. */
static int pack_one(struct slowlog_args *a, const char *s, size_t len, int i, int argc)
{
    char note[48];
    size_t keep = len, nlen = 0;
    if (argc > SLOWLOG_MAX_ARGC && i == SLOWLOG_MAX_ARGC - 1) {
        keep = 0;
        nlen = (size_t)snprintf(note, sizeof note, "... (%d more arguments)",
                                argc - SLOWLOG_MAX_ARGC + 1);
    } else if (len > SLOWLOG_MAX_STRING) {
        keep = SLOWLOG_MAX_STRING;
        nlen = (size_t)snprintf(note, sizeof note, "... (%zu more bytes)",
                                len - SLOWLOG_MAX_STRING);
    }
    if (reserve(a, keep + nlen + 1) < 0)
        return -1;
    a->offs[i] = a->len;
    memcpy(a->buf + a->len, s, keep);
    memcpy(a->buf + a->len + keep, note, nlen);
    a->lens[i] = keep + nlen;
    a->len += keep + nlen + 1;
    a->buf[a->len - 1] = 0;
    return 0;
}

int slowlog_args_pack(struct slowlog_args *a, int argc, char *const *argv, const size_t *lens)
{
    int n = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    a->len = 0;
    a->argc = 0;
    for (int i = 0; i < n; i++) {
        int secret = redact_arg(argc, argv, lens, i); /* AUTH's password... (redact.h) */
        if (pack_one(a, secret ? REDACT_TEXT : argv[i],
                     secret ? sizeof REDACT_TEXT - 1 : lens[i], i, argc) < 0)
            return -1;
    }
    a->argc = n;
    return 0;
}

void slowlog_args_free(struct slowlog_args *a)
{
    free(a->buf);
    memset(a, 0, sizeof *a);
}

static void entry_free(struct entry *e)
{
    op_free(e->args);
    free(e->name);
    free(e);
}

static void trim(size_t max)
{
    while (nentries > max) {
        struct entry *e = TAILQ_LAST(&entries, entry_list);
        TAILQ_REMOVE(&entries, e, link);
        entry_free(e);
        nentries--;
    }
}

void slowlog_add(const struct slowlog_args *a, uint64_t duration_us, const char *peer,
                 const char *name)
{
    char *argv[SLOWLOG_MAX_ARGC];
    for (int i = 0; i < a->argc; i++)
        argv[i] = a->buf + a->offs[i];
    struct entry *e = calloc(1, sizeof *e);
    if (!e || a->argc == 0 || !(e->args = op_new(a->argc, argv, a->lens)) ||
        !(e->name = strdup(name))) {
        if (e)
            op_free(e->args);
        free(e);
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    snprintf(e->peer, sizeof e->peer, "%s", peer);
    e->id = next_id++;
    e->time_s = tv.tv_sec;
    e->duration_us = duration_us;
    TAILQ_INSERT_HEAD(&entries, e, link);
    nentries++;
    trim((size_t)settings_get()->slowlog_max_len);
}

static void write_entry(struct resp_writer *w, const struct entry *e)
{
    resp_write_array(w, 6);
    resp_write_int(w, (int64_t)e->id);
    resp_write_int(w, e->time_s);
    resp_write_int(w, (int64_t)e->duration_us);
    resp_write_array(w, (size_t)e->args->argc);
    for (int i = 0; i < e->args->argc; i++)
        resp_write_bulk(w, e->args->argv[i], e->args->lens[i]);
    resp_write_cstr(w, e->peer);
    resp_write_cstr(w, e->name);
}

static void sub_get(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    int64_t count = 10;
    if (req->argc > 3) {
        /* slowlog|get has arity -2, so this passes the checks before a command runs (and
         * is queued in MULTI); SLOWLOG itself then refuses it with its own text (Redis 7.0
         * slowlogCommand's addReplySubcommandSyntaxError). */
        char msg[256];
        snprintf(msg, sizeof msg,
                 "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try "
                 "SLOWLOG HELP.", req->argv[1]);
        resp_write_error(w, msg);
        return;
    }
    if (req->argc == 3 && (util_parse_i64(req->argv[2], req->lens[2], &count) < 0 || count < -1)) {
        resp_write_error(w, "ERR count should be greater than or equal to -1");
        return;
    }
    size_t n = count < 0 || (uint64_t)count > nentries ? nentries : (size_t)count;
    resp_write_array(w, n);
    const struct entry *e = TAILQ_FIRST(&entries);
    for (size_t i = 0; i < n; i++, e = TAILQ_NEXT(e, link))
        write_entry(w, e);
}

static void sub_len(struct client *cl, const struct resp_request *req)
{
    resp_write_int(client_reply_writer(cl), (int64_t)nentries);
}

static void sub_reset(struct client *cl, const struct resp_request *req)
{
    trim(0);
    resp_write_simple(client_reply_writer(cl), "OK");
}

static void sub_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    };
    registry_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static const struct subcommand slowlog_subcommands[] = {
    { "get", -2, sub_get },  { "len", 2, sub_len }, { "reset", 2, sub_reset },
    { "help", 2, sub_help }, { NULL, 0, NULL },
};

static void cmd_slowlog(struct client *cl, const struct resp_request *req)
{
    registry_run_subcommand(cl, req, slowlog_subcommands);
}

/* ---- LATENCY: monitoring is off, as in a default Redis ---- */

static void lat_empty(struct client *cl, const struct resp_request *req)
{
    resp_write_array(client_reply_writer(cl), 0);
}

static void lat_reset(struct client *cl, const struct resp_request *req)
{
    resp_write_int(client_reply_writer(cl), 0);
}

static void lat_doctor(struct client *cl, const struct resp_request *req)
{
    static const char text[] =
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
        "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
        "order to enable it. If we weren't in a deep space mission I'd suggest to take a look "
        "at https://redis.io/topics/latency-monitor.\n";
    resp_write_verbatim(client_reply_writer(cl), text, sizeof text - 1);
}

static void lat_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HELP",
        "    Prints this help.",
    };
    registry_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static void lat_graph(struct client *cl, const struct resp_request *req)
{
    char msg[256];
    snprintf(msg, sizeof msg, "ERR No samples available for event '%.128s'", req->argv[2]);
    resp_write_error(client_reply_writer(cl), msg);
}

static const struct subcommand latency_subcommands[] = {
    { "latest", 2, lat_empty },  { "history", 3, lat_empty }, { "reset", -2, lat_reset },
    { "doctor", 2, lat_doctor }, { "graph", 3, lat_graph },   { "help", 2, lat_help },
    { NULL, 0, NULL },
};

static void cmd_latency(struct client *cl, const struct resp_request *req)
{
    registry_run_subcommand(cl, req, latency_subcommands);
}

static const struct command slowlog_commands[] = {
    { "latency", -2, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "server", "2.8.13",
      "A container for latency diagnostics commands.", cmd_latency, latency_subcommands },
    { "slowlog", -2, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "server", "2.2.12", "A container for slow log commands.",
      cmd_slowlog, slowlog_subcommands },
};

int slowlog_init(void)
{
    return registry_add(slowlog_commands, sizeof slowlog_commands / sizeof slowlog_commands[0]);
}
