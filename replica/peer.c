/* peer.c -- the coordinator-facing command table of a replica (see peer.h).
 *
 * A request is looked up by name in peer_cmds (arity checked as Redis does), then, failing
 * that, as a read command of exec.c, answered at the wall clock. TPC.READ and TPC.MREAD
 * answer at the coordinator's clock instead, so that every replica agrees on which keys have
 * expired; TPC.MREAD runs the reads of one coordinator loop turn inside one SQLite read
 * transaction. TPC.DUMP and TPC.RESTORE (a full resync of a replica that lost data) are
 * restore.c's, TPC.IDENTIFY (the replica's cluster id and replica id) identity.c's;
 * TPC.NOTICE only logs what the coordinator says. Nothing here keeps state between
 * requests: the participant and the rng are the caller's.
 */
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec.h"
#include "identity.h"
#include "log.h"
#include "op.h"
#include "participant.h"
#include "record.h"
#include "restore.h"
#include "store.h"
#include "util.h"
#include "version.h"

/* The context every handler gets. */
struct peer_ctx {
    struct participant *p;
    uint64_t *rng;
    uint64_t conn;
};

/* 0 if the request's connection is the coordinator's, or becomes it now (its first command
 * after its TPC.HELLO); else writes the refusal, which starts with refusal (e.g. "NO
 * TPC.PREPARE": "NO" for a vote, "ERR" for the rest). The coordinator's links drop and
 * say TPC.HELLO again on either refusal ("not the coordinator's"). */
static int fenced(struct peer_ctx *x, const char *refusal, struct resp_writer *w)
{
    int rc = participant_take_session(x->p, x->conn);
    if (rc == 0)
        return 0;
    char msg[200];
    if (rc == -2)
        snprintf(msg, sizeof msg, "%s refused: the rounds changed since this connection's "
                 "TPC.HELLO (another connection decided some); not the coordinator's "
                 "until it says TPC.HELLO again", refusal);
    else
        snprintf(msg, sizeof msg, "%s refused: this connection is not the coordinator's "
                 "(another one is, or it never said TPC.HELLO)", refusal);
    resp_write_error(w, msg);
    return -1;
}

typedef void (*peer_cmd_fn)(struct peer_ctx *x, const struct resp_request *req,
                            struct resp_writer *w);

static void cmd_ping(struct peer_ctx *x, const struct resp_request *req, struct resp_writer *w)
{
    if (req->argc > 1)
        resp_write_bulk(w, req->argv[1], req->lens[1]);
    else
        resp_write_simple(w, "PONG");
}

/* A read command on the committed data, at clock now_ms. */
static void run_read(struct peer_ctx *x, int64_t now_ms, int argc, char **argv, size_t *lens,
                     struct resp_writer *w)
{
    struct op op = { .argc = argc, .argv = argv, .lens = lens };
    *x->rng = *x->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    exec_read(participant_store(x->p), now_ms, *x->rng | 1, &op, w);
}

/* TPC.READ now_ms command args...: the coordinator's reads, answered as of its clock so
 * that every replica agrees on which keys have expired. */
static void cmd_read(struct peer_ctx *x, const struct resp_request *req, struct resp_writer *w)
{
    int64_t now;
    struct op op = { .argc = req->argc - 2, .argv = req->argv + 2, .lens = req->lens + 2 };
    if (util_parse_i64(req->argv[1], req->lens[1], &now) < 0 || now < 0)
        resp_write_error(w, "ERR bad clock in TPC.READ");
    else if (!exec_is_read(&op))
        resp_write_error(w, "ERR TPC.READ of a command that is not a read");
    else
        run_read(x, now, op.argc, op.argv, op.lens, w);
}

/* TPC.MREAD now_ms n {argc command args...}*n: the reads of one coordinator loop turn in one
 * request, answered with an array of n replies, all as of now_ms, inside one SQLite read
 * transaction (one shared lock for the batch instead of one per statement). */
static void cmd_mread(struct peer_ctx *x, const struct resp_request *req,
                      struct resp_writer *w)
{
    int64_t now;
    uint64_t n;
    if (util_parse_i64(req->argv[1], req->lens[1], &now) < 0 || now < 0 ||
        util_parse_u64(req->argv[2], req->lens[2], &n) < 0 || n > (uint64_t)req->argc) {
        resp_write_error(w, "ERR bad arguments for TPC.MREAD");
        return;
    }
    /* Validate the framing first: a malformed batch gets one error, not a partial array. */
    struct op op;
    int at = 3, rc = 1;
    for (uint64_t i = 0; i < n && rc == 1; i++)
        rc = op_frame_next(req->argc, req->argv, req->lens, &at, &op);
    if (rc != 1 || at != req->argc) {
        resp_write_error(w, "ERR malformed TPC.MREAD");
        return;
    }
    struct store *st = participant_store(x->p);
    int txn = store_begin(st) == 0;
    resp_write_array(w, (size_t)n);
    for (at = 3; op_frame_next(req->argc, req->argv, req->lens, &at, &op) == 1;) {
        if (!exec_is_read(&op))
            resp_write_error(w, "ERR TPC.MREAD of a command that is not a read");
        else
            run_read(x, now, op.argc, op.argv, op.lens, w);
    }
    if (txn)
        store_rollback(st); /* nothing was written: ends the read transaction */
}

struct expired_keys {
    struct resp_writer *w;
    struct record_buf buf;
    size_t n;
};

static int add_expired(void *ctx, const struct store_row *row)
{
    struct expired_keys *e = ctx;
    struct resp_writer bw = { record_buf_sink, &e->buf, 2 };
    e->n++;
    return resp_write_bulk(&bw, row->k, row->klen) < 0;
}

/* TPC.EXPIRED now_ms limit [db]: up to limit keys of database db (0 if absent) whose expiry
 * has passed at now_ms, for the coordinator's background sweep (which deletes them through
 * a round, and visits the databases in turn). */
static void cmd_expired(struct peer_ctx *x, const struct resp_request *req,
                        struct resp_writer *w)
{
    int64_t now, limit;
    uint64_t db = 0;
    if (req->argc > 4 || util_parse_i64(req->argv[1], req->lens[1], &now) < 0 ||
        util_parse_i64(req->argv[2], req->lens[2], &limit) < 0 || limit < 0 ||
        (req->argc == 4 && (util_parse_u64(req->argv[3], req->lens[3], &db) < 0 ||
                            db >= OP_DB_LIMIT))) {
        resp_write_error(w, "ERR bad arguments for TPC.EXPIRED");
        return;
    }
    struct expired_keys e = { w, { 0 }, 0 };
    store_use_db(participant_store(x->p), (int)db);
    if (store_expired(participant_store(x->p), now, limit, add_expired, &e) < 0) {
        resp_write_error(w, "ERR storage error");
    } else {
        resp_write_array(w, e.n);
        w->write(w->sink, e.buf.p, e.buf.len);
    }
    free(e.buf.p);
}

static void cmd_digest(struct peer_ctx *x, const struct resp_request *req,
                       struct resp_writer *w)
{
    char hex[17];
    if (store_digest(participant_store(x->p), hex) < 0)
        resp_write_error(w, "ERR storage error");
    else
        resp_write_simple(w, hex);
}

static void cmd_prepare(struct peer_ctx *x, const struct resp_request *req,
                        struct resp_writer *w)
{
    participant_prepare(x->p, req, w);
}

static void cmd_commit(struct peer_ctx *x, const struct resp_request *req,
                       struct resp_writer *w)
{
    participant_commit(x->p, req, w);
}

static void cmd_abort(struct peer_ctx *x, const struct resp_request *req,
                      struct resp_writer *w)
{
    participant_abort(x->p, req, w);
}

static void cmd_durable(struct peer_ctx *x, const struct resp_request *req,
                        struct resp_writer *w)
{
    participant_durable(x->p, w);
}

/* TPC.DUMP cursor count: read-only, from any connection (restore.h). */
static void cmd_dump(struct peer_ctx *x, const struct resp_request *req, struct resp_writer *w)
{
    restore_dump(x->p, req, w);
}

/* TPC.RESTORE BEGIN | ROWS ... | END round: rebuilds this replica's data, so only the
 * coordinator's connection may send it (restore.h). */
static void cmd_restore(struct peer_ctx *x, const struct resp_request *req,
                        struct resp_writer *w)
{
    restore_command(x->p, req, w);
}

/* TPC.IDENTIFY cluster replica: gives this replica its identity, so only the coordinator's
 * connection may send it (identity.h). */
static void cmd_identify(struct peer_ctx *x, const struct resp_request *req,
                         struct resp_writer *w)
{
    identity_command(x->p, req, w);
}

/* The longest TPC.NOTICE text logged: one diagnostics line (log.c cuts lines at 1 KB,
 * its prefix included), not a data channel. */
#define PEER_NOTICE_MAX 900

/* TPC.NOTICE text...: something the coordinator wants in this replica's log, where its
 * operator looks (why it is marked as needing repair, say). The words are joined by
 * spaces, cut at PEER_NOTICE_MAX bytes, and every control byte (CR, LF, NUL...) becomes a
 * space, so one notice stays one log line. From any connection: it changes nothing. */
static void cmd_notice(struct peer_ctx *x, const struct resp_request *req,
                       struct resp_writer *w)
{
    char text[PEER_NOTICE_MAX + 1];
    size_t n = 0;
    (void)x;
    for (int i = 1; i < req->argc && n < PEER_NOTICE_MAX; i++) {
        if (i > 1)
            text[n++] = ' ';
        for (size_t j = 0; j < req->lens[i] && n < PEER_NOTICE_MAX; j++) {
            unsigned char c = (unsigned char)req->argv[i][j];
            text[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
    text[n] = '\0';
    LOG_WARNING("coordinator: %s", text);
    resp_write_simple(w, "OK");
}

/* A version argument of TPC.HELLO: 1 to 1000. */
static int parse_version(const struct resp_request *req, int i, int *v)
{
    int64_t n;
    if (util_parse_i64(req->argv[i], req->lens[i], &n) < 0 || n < 1 || n > 1000)
        return -1;
    *v = (int)n;
    return 0;
}

/* TPC.HELLO <min> <max> <release>: the coordinator's protocol range (version.h). The
 * answer is the participant's 6 fields, then the version both speak (the newest in both
 * ranges), this replica's range and its release; ranges that do not overlap are refused
 * with an error naming both sides (and logged, at most once every 10 s). A TPC.HELLO without
 * arguments is protocol 1, from twopc 0.1.x. It does not move the session: on success the
 * connection may take it at its first protocol command (participant_take_session), so a
 * stranger's TPC.HELLO disturbs no round in flight. */
static void cmd_hello(struct peer_ctx *x, const struct resp_request *req,
                      struct resp_writer *w)
{
    static uint64_t last_log_ms;
    int min, max, cmin = 1, cmax = 1, v;
    char msg[320], coord[120];
    version_range(&min, &max);
    if (req->argc != 1 && (req->argc < 4 || parse_version(req, 1, &cmin) < 0 ||
                           parse_version(req, 2, &cmax) < 0 || cmin > cmax)) {
        resp_write_error(w, "ERR bad arguments for TPC.HELLO (expected MIN MAX RELEASE)");
        return;
    }
    if ((v = version_choose(min, max, cmin, cmax)) < 0) {
        if (req->argc == 1)
            snprintf(coord, sizeof coord, "twopc 0.1.x speaks protocol 1 (no version in "
                     "TPC.HELLO); upgrade the coordinator");
        else {
            char rel[33];
            size_t n = 0;
            for (; n < req->lens[3] && n < sizeof rel - 1; n++) {
                unsigned char ch = (unsigned char)req->argv[3][n];
                rel[n] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
            }
            rel[n] = '\0';
            snprintf(coord, sizeof coord, "twopc %s speaks protocol %d..%d", rel, cmin,
                     cmax);
        }
        snprintf(msg, sizeof msg, "ERR protocol version mismatch: replica twopc %s speaks "
                 "protocol %d..%d, coordinator %s", TWOPC_VERSION, min, max, coord);
        uint64_t now = util_mono_ms();
        if (!last_log_ms || now - last_log_ms >= 10000) { /* it retries every 100 ms */
            last_log_ms = now;
            LOG_WARNING("refused a coordinator: %s", msg + 4);
        }
        resp_write_error(w, msg);
        return;
    }
    participant_hello(x->p, w, 4);
    participant_note_hello(x->p, x->conn);
    resp_write_int(w, v);
    resp_write_int(w, min);
    resp_write_int(w, max);
    resp_write_cstr(w, TWOPC_VERSION);
}

static const struct peer_cmd {
    const char *name;
    int arity; /* Redis convention: -N means at least N */
    peer_cmd_fn fn;
    /* The session fence: a command that changes rounds or data runs only on the
     * coordinator's connection (see fenced()); else this starts its refusal. NULL: any. */
    const char *fence;
} peer_cmds[] = {
    { "ping", -1, cmd_ping, NULL },
    { "digest", 1, cmd_digest, NULL },
    { "tpc.prepare", -4, cmd_prepare, "NO TPC.PREPARE" },
    { "tpc.commit", 2, cmd_commit, "ERR TPC.COMMIT" },
    { "tpc.abort", 2, cmd_abort, "ERR TPC.ABORT" },
    { "tpc.hello", -1, cmd_hello, NULL },
    { "tpc.durable", 1, cmd_durable, NULL },
    { "tpc.read", -3, cmd_read, NULL },
    { "tpc.expired", -3, cmd_expired, NULL },
    { "tpc.mread", -3, cmd_mread, NULL },
    { "tpc.dump", -3, cmd_dump, NULL },
    { "tpc.restore", -2, cmd_restore, "ERR TPC.RESTORE" },
    { "tpc.identify", 3, cmd_identify, "ERR TPC.IDENTIFY" },
    { "tpc.notice", -2, cmd_notice, NULL },
};

int peer_dispatch(struct participant *p, const struct resp_request *req, struct resp_writer *w,
                  uint64_t *rng, uint64_t conn)
{
    struct peer_ctx x = { p, rng, conn };
    for (size_t i = 0; i < sizeof peer_cmds / sizeof peer_cmds[0]; i++) {
        const struct peer_cmd *cmd = &peer_cmds[i];
        if (strcasecmp(req->argv[0], cmd->name) != 0)
            continue;
        if ((cmd->arity > 0 && req->argc != cmd->arity) || req->argc < -cmd->arity) {
            char msg[160];
            snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%s' command",
                     cmd->name);
            resp_write_error(w, msg);
            return 0;
        }
        if (!cmd->fence) {
            cmd->fn(&x, req, w);
        } else if (fenced(&x, cmd->fence, w) == 0) {
            cmd->fn(&x, req, w);
            participant_changed(x.p); /* answers to earlier TPC.HELLOs are stale now */
        }
        return 0;
    }
    struct op op = { .argc = req->argc, .argv = req->argv, .lens = req->lens };
    if (!exec_is_read(&op))
        return -1;
    run_read(&x, (int64_t)util_wall_ms(), req->argc, req->argv, req->lens, w);
    return 0;
}
