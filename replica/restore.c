/* restore.c -- TPC.DUMP on a source replica and TPC.RESTORE on a target (see restore.h).
 *
 * The coordinator's full resync of a replica that lost data goes through here: DUMP reads
 * the source's rows a chunk at a time in SCAN order (store_scan's cursor contract), RESTORE
 * BEGIN / ROWS / END rebuild the target's store from them. Numbered databases are copied
 * one after another: `TPC.DUMP cursor count db` reads database db (0 without it), and
 * `TPC.RESTORE DBROWS db k v exp ...` writes rows into it (ROWS: database 0); BEGIN empties
 * every database. peer.c routes the requests and
 * applies the session fence to TPC.RESTORE; this file reaches into the participant through
 * participant_internal.h, because a resync moves the marks (applied, committed, durable)
 * in ways no round does: P6 and P7 in participant.c's opening comment say how.
 *
 * Checklist for BEGIN, in this order (a crash after any step leaves a replica that is
 * either as incomplete as before or empty at applied_round 0; both are repaired again):
 *   1. drop every listed round from memory, logging nothing;
 *   2. checkpoint SQLite and rewrite the vote log to SEEN <max_rid> (participant_log_reset),
 *      so no old COMMIT can be replayed onto the emptied store;
 *   3. empty kv, set applied_round 0 and clear the identity (identity.h) in one SQLite
 *      transaction: a replica whose copy is incomplete must not claim to be a member after
 *      a crash, and the store never holds the identity without the data it vouches for;
 *   4. read the identity back into the participant (none now: identity_reload);
 *   5. checkpoint again, so a power cut cannot bring the old rows, or the old identity,
 *      back under the new log.
 * END sets applied_round, and with END <round> <cluster> <replica> the identity too, in one
 * transaction (so the identity appears exactly when the data is complete, never before),
 * reads the identity back, then checkpoints and rewrites the log before it answers, so the
 * reply promises durable data and a durable identity. END <round> alone leaves the
 * identity as it is (none, after BEGIN).
 */
#include "restore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "identity.h"
#include "log.h"
#include "op.h"
#include "participant.h"
#include "participant_internal.h"
#include "record.h"
#include "store.h"
#include "util.h"
#include "version.h"

/* The third element of an element's row (see restore.h). */
#define RESTORE_ELEMENT (-1000)

/* The largest TPC.DUMP chunk: bounds one reply (and the rows held to build it). */
#define RESTORE_MAX_COUNT 100000

/* ---- TPC.DUMP ---- */

/* The keys of one chunk, each stored as its length (a size_t) then its bytes: a scan's
 * visitor may not call the store, so the values are read after the scan. */
struct dump_keys {
    struct record_buf buf;
    size_t n;
    int failed;
};

static int collect_key(void *ctx, const struct store_row *row)
{
    struct dump_keys *d = ctx;
    if (record_buf_sink(&d->buf, &row->klen, sizeof row->klen) < 0 ||
        record_buf_sink(&d->buf, row->k, row->klen) < 0) {
        d->failed = 1;
        return 1;
    }
    d->n++;
    return 0;
}

struct dump_elems {
    struct resp_writer *out;
    size_t n;
    int failed;
};

static int write_elem(void *ctx, const struct store_elem *e)
{
    struct dump_elems *d = ctx;
    d->failed = resp_write_bulk(d->out, e->f, e->flen) < 0 ||
                resp_write_bulk(d->out, e->v, e->vlen) < 0 ||
                resp_write_int(d->out, RESTORE_ELEMENT) < 0;
    d->n++;
    return d->failed;
}

/* A collection's rows: its header {k, "<exp>", -t}, then {f, v, RESTORE_ELEMENT} per
 * element. Adds the number of triples to *n. Returns 0 or -1. */
static int write_collection(struct store *st, const char *k, size_t klen,
                            const struct store_row *row, struct resp_writer *out, size_t *n)
{
    char num[24];
    int len = snprintf(num, sizeof num, "%lld", (long long)row->exp);
    if (resp_write_bulk(out, k, klen) < 0 || resp_write_bulk(out, num, (size_t)len) < 0 ||
        resp_write_int(out, -(int64_t)row->t) < 0)
        return -1;
    struct dump_elems d = { out, 0, 0 };
    int more;
    uint64_t last;
    if (store_elem_scan(st, k, klen, 0, -1, write_elem, &d, &more, &last) < 0 || d.failed)
        return -1;
    *n += 1 + d.n;
    return 0;
}

/* Writes each collected key's rows (key, value, expiry; a collection's as above) into out
 * and their number into *n. Returns 0, or -1 when a row cannot be read (or vanished, which
 * cannot happen inside the read transaction). */
static int write_rows(struct store *st, const struct dump_keys *d, struct resp_writer *out,
                      size_t *n)
{
    size_t at = 0;
    *n = 0;
    for (size_t i = 0; i < d->n; i++) {
        size_t klen;
        memcpy(&klen, d->buf.p + at, sizeof klen);
        const char *k = d->buf.p + at + sizeof klen;
        at += sizeof klen + klen;
        struct store_row row;
        if (store_get(st, k, klen, &row) != 1)
            return -1;
        if (row.t != STORE_STRING) {
            if (write_collection(st, k, klen, &row, out, n) < 0)
                return -1;
            continue;
        }
        if (resp_write_bulk(out, k, klen) < 0 || resp_write_bulk(out, row.v, row.vlen) < 0 ||
            resp_write_int(out, row.exp) < 0)
            return -1;
        ++*n;
    }
    return 0;
}

/* Reads one chunk: the rows into rows (3 RESP elements each), their number into *n and the
 * next cursor into *next. Returns 0, or -1 on a store error. */
static int dump_chunk(struct store *st, uint64_t cursor, int64_t count, struct record_buf *rows,
                      size_t *n, uint64_t *next)
{
    struct dump_keys d = { { 0 }, 0, 0 };
    struct resp_writer w = { record_buf_sink, rows, 2 };
    int more = 0;
    uint64_t last = 0;
    /* One read transaction: the scan and the reads see the same data, under one lock. */
    int txn = store_begin(st) == 0;
    int rc = store_scan(st, cursor, count, collect_key, &d, &more, &last);
    *n = 0;
    if (rc == 0 && !d.failed)
        rc = write_rows(st, &d, &w, n);
    if (txn)
        store_rollback(st); /* nothing was written */
    free(d.buf.p);
    *next = more ? last + 1 : 0;
    return rc < 0 || d.failed ? -1 : 0;
}

/* Database n from argv[i], into *db: 0, or -1 (not a database number). */
static int parse_db(const struct resp_request *req, int i, int *db)
{
    uint64_t n;
    if (util_parse_u64(req->argv[i], req->lens[i], &n) < 0 || n >= OP_DB_LIMIT)
        return -1;
    *db = (int)n;
    return 0;
}

void restore_dump(struct participant *p, const struct resp_request *req, struct resp_writer *w)
{
    uint64_t cursor;
    int64_t count;
    int db = 0;
    if (req->argc > 4 || (req->argc == 4 && parse_db(req, 3, &db) < 0)) {
        resp_write_error(w, "ERR bad database");
        return;
    }
    if (util_parse_u64(req->argv[1], req->lens[1], &cursor) < 0) {
        resp_write_error(w, "ERR invalid cursor");
        return;
    }
    if (util_parse_i64(req->argv[2], req->lens[2], &count) < 0 || count < 1 ||
        count > RESTORE_MAX_COUNT) {
        resp_write_error(w, "ERR bad count");
        return;
    }
    /* An undecided round may still change the data the applied_round below would name. */
    if (p->rounds) {
        resp_write_error(w, "ERR TPC.DUMP refused: rounds are in flight");
        return;
    }
    struct record_buf rows = { 0 };
    size_t n;
    uint64_t next;
    store_use_db(p->store, db);
    if (dump_chunk(p->store, cursor, count, &rows, &n, &next) < 0) {
        LOG_WARNING("TPC.DUMP from cursor %llu failed: %s", (unsigned long long)cursor,
                    store_error(p->store));
        resp_write_error(w, "ERR storage error");
    } else {
        resp_write_array(w, 3);
        resp_write_int(w, (int64_t)p->applied);
        resp_write_int(w, (int64_t)next);
        resp_write_array(w, 3 * n);
        w->write(w->sink, rows.p, rows.len);
    }
    free(rows.p);
    participant_assert_state(p);
}

/* ---- TPC.RESTORE ---- */

static void storage_error(struct participant *p, const char *what, const char *detail,
                          struct resp_writer *w)
{
    LOG_WARNING("TPC.RESTORE %s failed: %s", what, detail ? detail : store_error(p->store));
    resp_write_error(w, "ERR storage error");
}

/* What one transaction of BEGIN or END changes besides applied_round. */
struct restore_txn {
    int flush;          /* empty kv */
    int set_identity;   /* write cluster and replica (0 0: clear) */
    uint64_t cluster, replica;
};

/* Sets applied_round to rid, with what x says, in one SQLite transaction, then reads the
 * identity back into p. Returns 0, or -1 (rolled back: nothing changed). */
static int set_applied(struct participant *p, uint64_t rid, const struct restore_txn *x)
{
    struct store *st = p->store;
    if (store_begin(st) < 0)
        return -1;
    if ((x->flush && store_flush_all(st) < 0) ||
        (x->set_identity && store_set_identity(st, x->cluster, x->replica) < 0) ||
        store_set_applied(st, rid) < 0 || store_commit(st) < 0) {
        store_rollback(st);
        return -1;
    }
    /* Committed: the caller moves the marks to match the store (P6) whatever happens here;
     * a failed read-back leaves the participant claiming no identity (logged), which the
     * coordinator answers with TPC.IDENTIFY. */
    identity_reload(p);
    return 0;
}

/* The marks of a participant whose data is complete at rid (and durable up to durable). */
static void set_marks(struct participant *p, uint64_t rid, uint64_t durable)
{
    p->applied = p->committed = rid;
    p->durable = durable;
    if (rid > p->max_rid)
        p->max_rid = rid;
    for (size_t i = 0; i < p->nmarks; i++) /* P7: no mark above committed */
        if (p->marks[i].committed > rid)
            p->marks[i].committed = rid;
}

static void restore_begin(struct participant *p, struct resp_writer *w)
{
    char err[256];
    size_t dropped = participant_drop_rounds(p);
    if (participant_log_reset(p, err, sizeof err) < 0) {
        storage_error(p, "BEGIN (vote log)", err, w);
        return;
    }
    uint64_t was_cluster = p->cluster, was_replica = p->replica;
    const struct restore_txn clear = { 1, 1, 0, 0 };
    if (set_applied(p, 0, &clear) < 0) {
        storage_error(p, "BEGIN", NULL, w);
        return;
    }
    set_marks(p, 0, 0);
    if (store_checkpoint(p->store) < 0) {
        storage_error(p, "BEGIN (checkpoint)", NULL, w);
        return;
    }
    if (was_cluster)
        LOG_NOTICE("TPC.RESTORE BEGIN: store emptied and identity cleared (was cluster "
                   "%016llx, replica %llu), %zu prepared rounds dropped, max round seen %llu",
                   (unsigned long long)was_cluster, (unsigned long long)was_replica, dropped,
                   (unsigned long long)p->max_rid);
    else
        LOG_NOTICE("TPC.RESTORE BEGIN: store emptied (no identity), %zu prepared rounds "
                   "dropped, max round seen %llu", dropped, (unsigned long long)p->max_rid);
    resp_write_simple(w, "OK");
}

/* The third element of row i: an expiry (>= 0), -t (a collection's header) or
 * RESTORE_ELEMENT. */
static int64_t row_mark(const struct resp_request *req, int i)
{
    int64_t m;
    return util_parse_i64(req->argv[i + 2], req->lens[i + 2], &m) < 0 ? INT64_MIN : m;
}

/* Whether the rows are well formed: each third element an expiry, a type's mark with an
 * expiry as second element, or an element's mark after a header. */
static int rows_valid(const struct resp_request *req, int first)
{
    int in_coll = 0;
    for (int i = first; i < req->argc; i += 3) {
        int64_t m = row_mark(req, i), exp;
        if (m == RESTORE_ELEMENT && in_coll)
            continue;
        /* compared, not negated: an unparsable mark is INT64_MIN */
        in_coll = m > -STORE_TYPE_MAX && m < -STORE_STRING;
        if (in_coll && (util_parse_i64(req->argv[i + 1], req->lens[i + 1], &exp) < 0 ||
                        exp < 0))
            return 0;
        if (!in_coll && m < 0)
            return 0;
    }
    return 1;
}

/* A collection's header row at i and its elements after it; *i moves past them. */
static int restore_collection(struct store *st, const struct resp_request *req, int *i)
{
    const char *k = req->argv[*i];
    size_t klen = req->lens[*i];
    int t = (int)-row_mark(req, *i);
    int64_t exp, n = 0;
    util_parse_i64(req->argv[*i + 1], req->lens[*i + 1], &exp); /* checked */
    int rc = store_put_coll(st, k, klen, t, 0, exp, 1);
    for (*i += 3; rc == 0 && *i < req->argc && row_mark(req, *i) == RESTORE_ELEMENT; *i += 3) {
        rc = store_elem_put(st, k, klen, req->argv[*i], req->lens[*i], req->argv[*i + 1],
                            req->lens[*i + 1]);
        n += !(t == STORE_LIST && req->lens[*i] == 0); /* a list's head is no entry */
    }
    return rc == 0 ? store_put_coll(st, k, klen, t, n, exp, 0) : -1;
}

/* ROWS k v exp ... (database 0) or DBROWS db k v exp ...: argv[first..argc) in triples,
 * validated whole before anything is written. */
static void restore_rows(struct participant *p, const struct resp_request *req, int first,
                         int db, struct resp_writer *w)
{
    int nargs = req->argc - first;
    if (nargs <= 0 || nargs % 3 != 0) {
        resp_write_error(w, "ERR wrong number of arguments for 'tpc.restore' command");
        return;
    }
    if (!rows_valid(req, first)) {
        resp_write_error(w, "ERR bad expiry");
        return;
    }
    int rc = store_begin(p->store);
    store_use_db(p->store, db);
    for (int i = first; rc == 0 && i < req->argc;) {
        int64_t exp = row_mark(req, i);
        if (exp < 0) {
            rc = restore_collection(p->store, req, &i);
            continue;
        }
        rc = store_put(p->store, req->argv[i], req->lens[i], req->argv[i + 1],
                       req->lens[i + 1], exp);
        i += 3;
    }
    if (rc == 0)
        rc = store_commit(p->store);
    if (rc < 0) {
        storage_error(p, "ROWS", NULL, w);
        store_rollback(p->store);
        return;
    }
    resp_write_int(w, nargs / 3);
}

static void restore_end(struct participant *p, const struct resp_request *req,
                        struct resp_writer *w)
{
    char err[256];
    uint64_t rid;
    struct restore_txn x = { 0, 0, 0, 0 };
    if (req->argc < 3 || util_parse_u64(req->argv[2], req->lens[2], &rid) < 0 ||
        rid >= TWOPC_RID_LIMIT) {
        resp_write_error(w, "ERR bad round id");
        return;
    }
    if (req->argc != 3 && req->argc != 5) {
        resp_write_error(w, "ERR wrong number of arguments for 'tpc.restore' command");
        return;
    }
    if (req->argc == 5) {
        if (identity_parse(req, 3, "TPC.RESTORE END", &x.cluster, &x.replica, w) < 0)
            return;
        x.set_identity = 1;
    }
    /* Nothing is prepared during a resync; a round that was would have been evaluated on
     * partial data, and P1 wants every listed round above applied. */
    size_t dropped = participant_drop_rounds(p);
    if (dropped)
        LOG_WARNING("TPC.RESTORE END: dropped %zu rounds prepared during the resync",
                    dropped);
    if (set_applied(p, rid, &x) < 0) {
        storage_error(p, "END", NULL, w);
        return;
    }
    set_marks(p, rid, p->durable); /* durable (0 since BEGIN) rises after the checkpoint */
    if (participant_log_reset(p, err, sizeof err) < 0) {
        storage_error(p, "END (checkpoint and vote log)", err, w);
        return;
    }
    p->durable = rid;
    if (p->cluster)
        LOG_NOTICE("TPC.RESTORE END: data complete at round %llu, %lld rows; identity: "
                   "cluster %016llx, replica %llu", (unsigned long long)rid,
                   (long long)store_count(p->store), (unsigned long long)p->cluster,
                   (unsigned long long)p->replica);
    else
        LOG_NOTICE("TPC.RESTORE END: data complete at round %llu, %lld rows; no identity",
                   (unsigned long long)rid, (long long)store_count(p->store));
    resp_write_int(w, (int64_t)rid);
}

static int is_sub(const struct resp_request *req, const char *name)
{
    size_t n = strlen(name);
    return req->lens[1] == n && strncasecmp(req->argv[1], name, n) == 0;
}

void restore_command(struct participant *p, const struct resp_request *req,
                     struct resp_writer *w)
{
    if (is_sub(req, "begin") && req->argc == 2) {
        restore_begin(p, w);
    } else if (is_sub(req, "rows")) {
        restore_rows(p, req, 2, 0, w);
    } else if (is_sub(req, "dbrows")) {
        int db;
        if (req->argc < 3 || parse_db(req, 2, &db) < 0)
            resp_write_error(w, "ERR bad database");
        else
            restore_rows(p, req, 3, db, w);
    } else if (is_sub(req, "end")) {
        restore_end(p, req, w);
    } else if (is_sub(req, "begin")) {
        resp_write_error(w, "ERR wrong number of arguments for 'tpc.restore' command");
    } else {
        /* Redis's wording; the echoed name is cut and stripped of CR/LF. */
        char name[64], msg[128];
        size_t n = req->lens[1] < sizeof name - 1 ? req->lens[1] : sizeof name - 1;
        for (size_t i = 0; i < n; i++)
            name[i] = req->argv[1][i] == '\r' || req->argv[1][i] == '\n' ? ' '
                                                                          : req->argv[1][i];
        name[n] = '\0';
        snprintf(msg, sizeof msg, "ERR unknown subcommand '%s'. Try TPC.RESTORE HELP.", name);
        resp_write_error(w, msg);
    }
    participant_assert_state(p);
}
