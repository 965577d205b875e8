/* auth.c -- the replica's gate (see auth.h).
 *
 * One decision per request, in this order:
 *   1. QUIT: the caller's (always allowed);
 *   2. TPC.CHALLENGE, TPC.AUTH, AUTH: answered here;
 *   3. an internal command (TPC.*): refused unless there is no secret or the connection
 *      proved it (without a secret, a TPC.HELLO makes the connection trusted for client
 *      commands too: the coordinator's DIGEST and PING need no password);
 *   4. anything else: refused with NOAUTH while requirepass is set and the connection has
 *      neither authenticated nor proved the secret.
 * Refusals (internal commands, wrong proofs) are logged at most once per AUTH_LOG_EVERY_MS (with the
 * number left out since), so a port scanner cannot fill the log.
 */
#include "auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "log.h"
#include "secret.h"
#include "util.h"

/* One warning per kind every 10 s at most: a coordinator retries every 100 ms. */
#define AUTH_LOG_EVERY_MS 10000

/* What one connection has shown. */
struct auth_conn {
    char nonce[SECRET_HEX_LEN + 1]; /* "" when no challenge is pending */
    int trusted;                    /* proved the cluster secret */
    int authenticated;              /* AUTH with requirepass */
};

/* A rate-limited warning: one line per AUTH_LOG_EVERY_MS, counting the rest. */
struct auth_limiter {
    uint64_t last_ms;
    unsigned long suppressed;
};

static char *requirepass;
static int protected_mode = 1;
static struct auth_limiter refused_log, proof_log;

static const char noauth_internal[] =
    "NOAUTH internal command refused: this connection has not proven the cluster secret "
    "(TPC.CHALLENGE, TPC.AUTH)";

int auth_set_requirepass(const char *password)
{
    free(requirepass);
    requirepass = password && *password ? strdup(password) : NULL;
    return password && *password && !requirepass ? -1 : 0;
}

int auth_set_protected_mode(const char *value, char *err, size_t errlen)
{
    if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "no") == 0) {
        protected_mode = strcasecmp(value, "yes") == 0;
        return 0;
    }
    snprintf(err, errlen, "protected-mode must be yes or no, not '%.40s'", value);
    return -1;
}

static int is_loopback(const char *addr)
{
    return strcmp(addr, "localhost") == 0 || strncmp(addr, "127.", 4) == 0 ||
           strcmp(addr, "::1") == 0;
}

int auth_check_bind(const char *bind, char *err, size_t errlen)
{
    if (secret_present())
        return 0;
    if (protected_mode && !is_loopback(bind)) {
        snprintf(err, errlen, "refusing to listen on %s without a cluster secret: anyone who "
                 "can reach this port could run the coordinator's commands; set "
                 "cluster-secret-file (or protected-mode no to accept that risk)", bind);
        return -1;
    }
    if (requirepass)
        LOG_WARNING("requirepass is set but there is no cluster secret: client commands "
                    "need AUTH, the coordinator's TPC.* commands (which include reads) do "
                    "not; set cluster-secret-file");
    return 0;
}

static struct auth_conn *state_of(struct conn *c)
{
    struct auth_conn *a = conn_data(c);
    if (!a && (a = calloc(1, sizeof *a)))
        conn_set_data(c, a);
    return a;
}

/* Redis's limits before AUTH (conn.h) while this connection could be refused: a password
 * or a cluster secret is set and it has shown neither. A trusted connection (the
 * coordinator's) has no query-buffer limit. */
static void update_limits(struct conn *c, const struct auth_conn *a)
{
    conn_set_unauthenticated(c, (requirepass || secret_present()) && !a->trusted &&
                                    !a->authenticated);
    conn_set_query_unlimited(c, a->trusted); /* the coordinator's rounds may be big */
}

int auth_conn_open(struct conn *c)
{
    struct auth_conn *a = state_of(c);
    if (!a)
        return -1;
    update_limits(c, a);
    return 0;
}

void auth_conn_close(struct conn *c)
{
    struct auth_conn *a = conn_data(c);
    if (a) {
        memset(a, 0, sizeof *a);
        free(a);
        conn_set_data(c, NULL);
    }
}

/* 1 if a warning may go out now; then *suppressed holds how many did not since. */
static int limiter_pass(struct auth_limiter *l, unsigned long *suppressed)
{
    uint64_t now = util_mono_ms();
    if (l->last_ms && now - l->last_ms < AUTH_LOG_EVERY_MS) {
        l->suppressed++;
        return 0;
    }
    l->last_ms = now;
    *suppressed = l->suppressed;
    l->suppressed = 0;
    return 1;
}

/* The command's name for a log line: printable bytes only, at most 32. */
static void printable_name(const struct resp_request *req, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < req->lens[0] && n + 1 < outlen && n < 32; i++) {
        unsigned char ch = (unsigned char)req->argv[0][i];
        out[n++] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
    }
    out[n] = '\0';
}

static void cmd_challenge(struct conn *c, struct auth_conn *a, struct resp_writer *w)
{
    if (!secret_present()) {
        resp_write_error(w, "ERR no cluster secret is configured on this replica (set "
                            "cluster-secret-file)");
        return;
    }
    if (secret_nonce(a->nonce) < 0) {
        a->nonce[0] = '\0';
        resp_write_error(w, "ERR could not draw a random nonce");
        return;
    }
    resp_write_bulk(w, a->nonce, SECRET_HEX_LEN);
}

static void cmd_tpc_auth(struct conn *c, struct auth_conn *a, const struct resp_request *req,
                         struct resp_writer *w)
{
    unsigned long skipped;
    if (req->argc != 2) {
        resp_write_error(w, "ERR wrong number of arguments for 'tpc.auth' command");
        return;
    }
    if (!secret_present()) {
        resp_write_error(w, "ERR no cluster secret is configured on this replica (set "
                            "cluster-secret-file)");
        return;
    }
    if (!a->nonce[0]) {
        resp_write_error(w, "ERR TPC.AUTH without a pending TPC.CHALLENGE");
        return;
    }
    int ok = secret_verify(a->nonce, SECRET_HEX_LEN, req->argv[1], req->lens[1]);
    memset(a->nonce, 0, sizeof a->nonce); /* single use, right or wrong */
    if (ok) {
        a->trusted = 1;
        update_limits(c, a);
        LOG_VERBOSE("%s proved the cluster secret", conn_peer(c));
        resp_write_simple(w, "OK");
        return;
    }
    if (limiter_pass(&proof_log, &skipped))
        LOG_WARNING("refused a wrong cluster secret proof from %s (%lu more refusals not "
                    "logged in the last 10 s)", conn_peer(c), skipped);
    resp_write_error(w, "ERR invalid cluster secret proof");
}

static int password_matches(const char *p, size_t len)
{
    size_t wlen = strlen(requirepass);
    unsigned diff = (unsigned)(len != wlen);
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)p[i] ^ (unsigned char)requirepass[i % wlen];
    return diff == 0;
}

/* AUTH password, AUTH default password: Redis 7's replies. */
static void cmd_auth(struct conn *c, struct auth_conn *a, const struct resp_request *req,
                     struct resp_writer *w)
{
    if (req->argc < 2 || req->argc > 3) {
        resp_write_error(w, req->argc < 2 ? "ERR wrong number of arguments for 'auth' command"
                                          : "ERR syntax error");
        return;
    }
    if (req->argc == 2 && !requirepass) {
        resp_write_error(w, "ERR AUTH <password> called without any password configured for "
                            "the default user. Are you sure your configuration is correct?");
        return;
    }
    int user_ok = req->argc == 2 || (req->lens[1] == 7 && memcmp(req->argv[1], "default", 7) == 0);
    size_t p = (size_t)req->argc - 1;
    if (user_ok && (!requirepass || password_matches(req->argv[p], req->lens[p]))) {
        a->authenticated = 1;
        update_limits(c, a);
        resp_write_simple(w, "OK");
        return;
    }
    resp_write_error(w, "WRONGPASS invalid username-password pair or user is disabled.");
}

static int is_internal(const struct resp_request *req)
{
    return req->lens[0] > 4 && strncasecmp(req->argv[0], "tpc.", 4) == 0;
}

int auth_gate(struct conn *c, const struct resp_request *req)
{
    struct resp_writer *w = conn_writer(c);
    struct auth_conn *a = state_of(c);
    unsigned long skipped;
    char name[40];
    if (!a) {
        resp_write_error(w, "ERR out of memory");
        return 1;
    }
    if (strcasecmp(req->argv[0], "quit") == 0)
        return 0;
    if (strcasecmp(req->argv[0], "tpc.challenge") == 0) {
        cmd_challenge(c, a, w);
        return 1;
    }
    if (strcasecmp(req->argv[0], "tpc.auth") == 0) {
        cmd_tpc_auth(c, a, req, w);
        return 1;
    }
    if (strcasecmp(req->argv[0], "auth") == 0) {
        cmd_auth(c, a, req, w);
        return 1;
    }
    if (is_internal(req)) {
        if (a->trusted)
            return 0;
        if (!secret_present()) {
            /* No secret: the coordinator's protocol is open to anyone, and so are its
             * client commands (DEBUG DIGEST's DIGEST, the link's PING) after TPC.HELLO,
             * which cost nothing more: TPC.READ reads anyway. */
            if (strcasecmp(req->argv[0], "tpc.hello") == 0) {
                a->trusted = 1;
                update_limits(c, a);
            }
            return 0;
        }
        if (limiter_pass(&refused_log, &skipped)) {
            printable_name(req, name, sizeof name);
            LOG_WARNING("refused %s from %s: the connection has not proven the cluster "
                        "secret (%lu more refusals not logged in the last 10 s)", name,
                        conn_peer(c), skipped);
        }
        resp_write_error(w, noauth_internal);
        return 1;
    }
    if (requirepass && !a->authenticated && !a->trusted) {
        resp_write_error(w, "NOAUTH Authentication required.");
        return 1;
    }
    return 0;
}
