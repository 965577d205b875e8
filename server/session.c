/* session.c -- connection and server commands answered by the coordinator itself.
 *
 * Here, in session_commands[] (registered by session_init): PING, ECHO, QUIT, SELECT,
 * AUTH, HELLO, RESET, MONITOR, TIME, SHUTDOWN and DEBUG DIGEST. The other local commands
 * register their own tables: CLIENT (client_cmd.c), MULTI and friends (multi.c), INFO and
 * COMMAND (info.c), CONFIG (config_cmd.c), SLOWLOG and LATENCY (slowlog.c), REPLICASET
 * (replicaset_cmd.c). Each answers without a replica, except DEBUG DIGEST, which fans out
 * to every in-sync replica, and INFO's keyspace section, which asks one for its key count.
 *
 * Authentication is Redis's with only the `default` user: with a password set
 * (--requirepass or CONFIG SET requirepass) a new connection must AUTH (or HELLO ... AUTH)
 * before anything but AUTH, HELLO, QUIT and RESET (request.c refuses the rest with NOAUTH).
 */
#include "session.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "client.h"
#include "client_cmd.h"
#include "coord.h"
#include "info.h"
#include "log.h"
#include "multi.h"
#include "pubsub.h"
#include "registry.h"
#include "replica_link.h"
#include "settings.h"
#include "txn_io.h"
#include "util.h"

static struct coord *coord;

static void cmd_ping(struct client *cl, const struct resp_request *req);
static void cmd_echo(struct client *cl, const struct resp_request *req);
static void cmd_quit(struct client *cl, const struct resp_request *req);
static void cmd_select(struct client *cl, const struct resp_request *req);
static void cmd_debug(struct client *cl, const struct resp_request *req);
static void cmd_auth(struct client *cl, const struct resp_request *req);
static void cmd_hello(struct client *cl, const struct resp_request *req);
static void cmd_reset(struct client *cl, const struct resp_request *req);
static void cmd_monitor(struct client *cl, const struct resp_request *req);
static void cmd_time(struct client *cl, const struct resp_request *req);
static void cmd_shutdown(struct client *cl, const struct resp_request *req);

/* Redis 7 allows all of these while loading (CMD_LOADING) but ECHO and PING. */
#define L (CMD_LOCAL | CMD_LOADING)
#define LF (CMD_LOCAL | CMD_FAST | CMD_LOADING)
#define F (CMD_LOCAL | CMD_FAST)
static const struct command session_commands[] = {
    { "auth", -2, LF, 0, 0, 0, "connection", "1.0.0", "Authenticates the connection.",
      cmd_auth, NULL },
    { "debug", -2, L, 0, 0, 0, "server", "1.0.0",
      "DEBUG DIGEST: compares every replica's data digest (divergence check).", cmd_debug,
      NULL },
    { "echo", 2, F, 0, 0, 0, "connection", "1.0.0", "Returns the given string.", cmd_echo,
      NULL },
    { "hello", -1, LF, 0, 0, 0, "connection", "6.0.0", "Handshakes with the Redis server.",
      cmd_hello, NULL },
    { "monitor", 1, L, 0, 0, 0, "server", "1.0.0",
      "Listens for all requests received by the server in real-time.", cmd_monitor,
      NULL },
    { "ping", -1, F, 0, 0, 0, "connection", "1.0.0",
      "Returns the server's liveliness response.", cmd_ping, NULL },
    { "quit", -1, LF, 0, 0, 0, "connection", "1.0.0", "Closes the connection.", cmd_quit,
      NULL },
    { "reset", 1, LF, 0, 0, 0, "connection", "6.2.0", "Resets the connection.", cmd_reset,
      NULL },
    { "select", 2, LF, 0, 0, 0, "connection", "1.0.0", "Changes the selected database.",
      cmd_select, NULL },
    { "shutdown", -1, L, 0, 0, 0, "server", "1.0.0",
      "Synchronously saves the database(s) to disk and shuts down the Redis server.",
      cmd_shutdown, NULL },
    { "time", 1, LF, 0, 0, 0, "server", "2.6.0", "Returns the server time.", cmd_time,
      NULL },
};
#undef L
#undef LF
#undef F

int session_init(struct coord *c)
{
    coord = c;
    return registry_add(session_commands, sizeof session_commands / sizeof session_commands[0]);
}

/* ---- connection ---- */

static void cmd_ping(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    if (req->argc > 2) {
        resp_write_error(w, "ERR wrong number of arguments for 'ping' command");
    } else if (client_proto(cl) == 2 && pubsub_active(cl)) {
        /* Redis's answer in RESP2's subscribed context: ["pong", argument or ""]. */
        resp_write_array(w, 2);
        resp_write_cstr(w, "pong");
        resp_write_bulk(w, req->argc == 2 ? req->argv[1] : "", req->argc == 2 ? req->lens[1] : 0);
    } else if (req->argc == 2) {
        resp_write_bulk(w, req->argv[1], req->lens[1]);
    } else {
        resp_write_simple(w, "PONG");
    }
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
    const char *err;
    int db = settings_parse_db(req->argv[1], req->lens[1], &err);
    if (db < 0) {
        resp_write_error(w, err);
        return;
    }
    client_set_db(cl, db);
    resp_write_simple(w, "OK");
}

/* ---- authentication ---- */

/* Compares without an early exit, so the time taken does not tell how much matched. */
static int password_matches(const char *p, size_t len)
{
    const char *want = settings_get()->requirepass;
    size_t wlen = strlen(want);
    unsigned diff = (unsigned)(len != wlen);
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)p[i] ^ (unsigned char)want[i % (wlen ? wlen : 1)];
    return diff == 0 && wlen > 0;
}

/* The default user with the given password: 1 if it authenticates. Without a password set
 * the default user is "nopass": any password is accepted (Redis's behaviour). */
static int check_user(const char *user, size_t ulen, const char *pass, size_t plen)
{
    if (ulen != 7 || memcmp(user, "default", 7) != 0)
        return 0;
    return !settings_password_required() || password_matches(pass, plen);
}

static const char wrongpass[] =
    "WRONGPASS invalid username-password pair or user is disabled.";

static void cmd_auth(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    if (req->argc > 3) {
        resp_write_error(w, "ERR syntax error");
    } else if (req->argc == 2 && !settings_password_required()) {
        resp_write_error(w, "ERR AUTH <password> called without any password configured for "
                            "the default user. Are you sure your configuration is correct?");
    } else if (req->argc == 2 ? password_matches(req->argv[1], req->lens[1])
                              : check_user(req->argv[1], req->lens[1], req->argv[2],
                                           req->lens[2])) {
        client_set_authenticated(cl, 1);
        resp_write_simple(w, "OK");
    } else {
        resp_write_error(w, wrongpass);
    }
}

static void hello_reply(struct client *cl)
{
    struct resp_writer *w = client_reply_writer(cl);
    resp_write_map(w, 7);
    resp_write_cstr(w, "server");
    resp_write_cstr(w, "redis");
    resp_write_cstr(w, "version");
    resp_write_cstr(w, INFO_REDIS_VERSION);
    resp_write_cstr(w, "proto");
    resp_write_int(w, client_proto(cl));
    resp_write_cstr(w, "id");
    resp_write_int(w, (int64_t)client_id(cl));
    resp_write_cstr(w, "mode");
    resp_write_cstr(w, "standalone");
    resp_write_cstr(w, "role");
    resp_write_cstr(w, "master");
    resp_write_cstr(w, "modules");
    resp_write_array(w, 0);
}

/* HELLO's options after the version: where AUTH's user and SETNAME's name are (0: absent).
 * Returns 0, or -1 with Redis's syntax error written. */
static int hello_options(struct resp_writer *w, const struct resp_request *req, int *user_at,
                         int *name_at)
{
    for (int j = 2; j < req->argc; j++) {
        int more = req->argc - 1 - j;
        if (!strcasecmp(req->argv[j], "auth") && more >= 2) {
            *user_at = j + 1;
            j += 2;
        } else if (!strcasecmp(req->argv[j], "setname") && more >= 1) {
            *name_at = ++j;
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "ERR Syntax error in HELLO option '%.128s'", req->argv[j]);
            resp_write_error(w, msg);
            return -1;
        }
    }
    return 0;
}

/* HELLO [protover [AUTH user pass] [SETNAME name]], checked in Redis 7.0's order. */
static void cmd_hello(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    int64_t ver = 0;
    int name_at = 0, user_at = 0;
    if (req->argc >= 2 && util_parse_i64(req->argv[1], req->lens[1], &ver) < 0) {
        resp_write_error(w, "ERR Protocol version is not an integer or out of range");
        return;
    }
    if (req->argc >= 2 && (ver < 2 || ver > 3)) {
        resp_write_error(w, "NOPROTO unsupported protocol version");
        return;
    }
    if (hello_options(w, req, &user_at, &name_at) < 0)
        return;
    if (user_at) {
        if (!check_user(req->argv[user_at], req->lens[user_at], req->argv[user_at + 1],
                        req->lens[user_at + 1])) {
            resp_write_error(w, wrongpass);
            return;
        }
        client_set_authenticated(cl, 1);
    }
    if (settings_password_required() && !client_authenticated(cl)) {
        resp_write_error(w, "NOAUTH HELLO must be called with the client already "
                            "authenticated, otherwise the HELLO AUTH <user> <pass> option can "
                            "be used to authenticate the client and select the RESP protocol "
                            "version at the same time");
        return;
    }
    if (name_at && client_set_name(cl, req->argv[name_at], req->lens[name_at]) < 0) {
        resp_write_error(w, CLIENT_CMD_BAD_NAME);
        return;
    }
    if (ver)
        client_set_proto(cl, (int)ver);
    hello_reply(cl);
}

/* RESET: back to a fresh connection's state (Redis's clearClientConnectionState). */
static void cmd_reset(struct client *cl, const struct resp_request *req)
{
    multi_forget(cl);
    pubsub_forget(cl);
    client_set_monitor(cl, 0);
    client_set_reply_mode(cl, CLIENT_REPLY_ON);
    client_set_proto(cl, 2);
    client_set_db(cl, 0);
    client_set_name(cl, "", 0);
    client_set_authenticated(cl, !settings_password_required());
    resp_write_simple(client_reply_writer(cl), "RESET");
}

/* ---- server ---- */

static void cmd_monitor(struct client *cl, const struct resp_request *req)
{
    client_set_monitor(cl, 1);
    resp_write_simple(client_reply_writer(cl), "OK");
}

static void cmd_time(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    struct timeval tv;
    char buf[32];
    gettimeofday(&tv, NULL);
    resp_write_array(w, 2);
    resp_write_bulk(w, buf, (size_t)snprintf(buf, sizeof buf, "%ld", (long)tv.tv_sec));
    resp_write_bulk(w, buf, (size_t)snprintf(buf, sizeof buf, "%ld", (long)tv.tv_usec));
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: there is nothing to save (every write is
 * already durable), so every form stops the coordinator the way SIGTERM does. */
static void cmd_shutdown(struct client *cl, const struct resp_request *req)
{
    int abort = 0, save = 0, nosave = 0;
    for (int i = 1; i < req->argc; i++) {
        const char *a = req->argv[i];
        if (!strcasecmp(a, "nosave"))
            nosave = 1;
        else if (!strcasecmp(a, "save"))
            save = 1;
        else if (!strcasecmp(a, "abort"))
            abort = 1;
        else if (strcasecmp(a, "now") && strcasecmp(a, "force"))
            save = nosave = 1; /* unknown option: a syntax error below */
    }
    if ((save && nosave) || (abort && req->argc != 2)) {
        resp_write_error(client_reply_writer(cl), "ERR syntax error");
    } else if (abort) {
        resp_write_error(client_reply_writer(cl), "ERR No shutdown in progress.");
    } else {
        LOG_NOTICE("User requested shutdown...");
        client_kill(cl); /* Redis closes the connection without a reply */
        event_base_loopexit(coord->base, NULL);
    }
}

/* ---- DEBUG DIGEST: every in-sync replica's digest, compared ---- */

/* Members out of the in-sync set (being repaired) and empty slots take no part: their
 * data may differ by design until repair puts them back. */
struct digest_call {
    struct slot *slot;
    int pending, n, failed, first;           /* first: a slot that takes part, or -1 */
    unsigned char in[TXN_MAX_REPLICAS];      /* slot i takes part */
    char digests[TXN_MAX_REPLICAS][17];
};

static void digest_reply(struct digest_call *dc)
{
    struct resp_writer *w = slot_writer(dc->slot);
    int same = !dc->failed;
    for (int i = 0; i < dc->n && same; i++)
        same = !dc->in[i] || strcmp(dc->digests[i], dc->digests[dc->first]) == 0;
    if (same) {
        resp_write_bulk(w, dc->digests[dc->first], 16);
    } else {
        char msg[2048];
        size_t len = (size_t)snprintf(msg, sizeof msg, "%s",
                                      dc->failed ? "ERR a replica did not answer:"
                                                 : "DIVERGENCE replicas disagree:");
        for (int i = 0; i < dc->n && len < sizeof msg - 64; i++) {
            struct link *l = txn_link(coord->txn, i);
            if (dc->in[i])
                len += (size_t)snprintf(msg + len, sizeof msg - len, " %s=%s",
                                        l ? link_addr(l) : "-",
                                        dc->digests[i][0] ? dc->digests[i] : "?");
        }
        resp_write_error(w, msg);
    }
    slot_done(dc->slot);
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

/* Marks in dc the slots that take part. Returns 0, or -1 with an error written when one
 * of them cannot answer now. */
static int digest_members(struct client *cl, struct digest_call *dc)
{
    dc->n = txn_nlinks(coord->txn);
    dc->first = -1;
    for (int i = 0; i < dc->n && i < TXN_MAX_REPLICAS; i++) {
        struct link *l = txn_link(coord->txn, i);
        if (!l || !txn_in_sync(coord->txn, i))
            continue;
        if (link_state(l) != LINK_READY) {
            char msg[256];
            snprintf(msg, sizeof msg, "ERR replica %s is %s: can't compare digests",
                     link_addr(l), link_state_name(link_state(l)));
            resp_write_error(client_reply_writer(cl), msg);
            return -1;
        }
        dc->in[i] = 1;
        dc->first = dc->first < 0 ? i : dc->first;
    }
    if (dc->first >= 0)
        return 0;
    resp_write_error(client_reply_writer(cl), "ERR no replica in sync: can't compare digests");
    return -1;
}

static void cmd_debug(struct client *cl, const struct resp_request *req)
{
    if (strcasecmp(req->argv[1], "digest") != 0 || req->argc != 2) {
        char msg[REGISTRY_ERR_MAX];
        registry_unknown_subcommand(msg, sizeof msg, "debug", req->argv[1]);
        resp_write_error(client_reply_writer(cl), msg);
        return;
    }
    if (client_has_writes(cl)) {
        client_park(cl, req);
        return;
    }
    struct digest_call *dc = calloc(1, sizeof *dc);
    if (!dc) {
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    if (digest_members(cl, dc) < 0) {
        free(dc);
        return;
    }
    if (!(dc->slot = client_slot_new(cl, 0))) {
        free(dc);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    static const char *argv[1] = { "DIGEST" };
    static const size_t lens[1] = { 6 };
    dc->pending = 1; /* held until every send is issued */
    for (int i = 0; i < dc->n; i++) {
        if (!dc->in[i])
            continue;
        if (link_send(txn_link(coord->txn, i), 1, argv, lens, digest_done, dc) == 0)
            dc->pending++;
        else
            dc->failed = 1;
    }
    if (--dc->pending == 0)
        digest_reply(dc);
}
