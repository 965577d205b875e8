/* cmd_keyspace.c -- DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHDB, FLUSHALL (KEYS and SCAN's MATCH
 * use Redis's glob matcher, common/glob.c).
 *
 * Which keys are visible: on committed data alone (a read, or a round with nothing
 * recorded ahead of it) the store answers, filtering expired rows. Inside a round with
 * records ahead (a TX after a write, a pipelined round), collect_keys() merges: store rows
 * whose key no record touches, plus every touched key that effects_lookup() finds alive.
 * A FLUSH record of the database (or a FLUSHALL) hides the store entirely. The merge costs
 * O(records) extra per call. Everything happens in fx->db: records of other databases are
 * passed over, a SWAPDB on the way switches the database sought below it, and the store
 * is read in the database the lookups end in (effects_store_db).
 *
 *     store rows (h order):   a  b  c  d          records: SET e, DEL b, FLUSH? no
 *     visible:                a     c  d  + e      (sorted back into (h, k) order)
 *
 * SCAN's cursor is a position (see store.h): a call examines up to COUNT store rows from
 * the cursor on, plus the touched keys up to the last row's position, and answers the next
 * position (0 once the end is reached).
 */
#include "cmd_keyspace.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "op.h"
#include "glob.h"
#include "store.h"
#include "util.h"

/* ---- key lists ---- */

struct key {
    uint64_t h;
    const char *k;
    size_t len;
    int t; /* enum store_type (-1: not known) */
};

/* Keys in SCAN order. Copied keys live in chunks that never move. */
struct keylist {
    struct key *v;
    size_t n, cap;
    char **chunks;
    size_t nchunks, size, used; /* size and use of the last chunk */
};

#define KEYLIST_CHUNK 65536

static char *keylist_copy(struct keylist *l, const char *k, size_t len)
{
    if (l->nchunks == 0 || l->size - l->used < len) {
        size_t size = len > KEYLIST_CHUNK ? len : KEYLIST_CHUNK;
        char **nc = realloc(l->chunks, (l->nchunks + 1) * sizeof *nc);
        if (!nc)
            return NULL;
        l->chunks = nc;
        if (!(l->chunks[l->nchunks] = malloc(size)))
            return NULL;
        l->nchunks++;
        l->size = size;
        l->used = 0;
    }
    char *p = l->chunks[l->nchunks - 1] + l->used;
    memcpy(p, k, len);
    l->used += len;
    return p;
}

/* Adds k (copied if copy is set; else k must outlive the list). Returns 0 or -1. */
static int keylist_add(struct keylist *l, const char *k, size_t len, uint64_t h, int copy,
                       int t)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct key *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    const char *p = copy && len ? keylist_copy(l, k, len) : k;
    if (!p)
        return -1;
    l->v[l->n++] = (struct key){ h, p, len, t };
    return 0;
}

static void keylist_free(struct keylist *l)
{
    for (size_t i = 0; i < l->nchunks; i++)
        free(l->chunks[i]);
    free(l->chunks);
    free(l->v);
    *l = (struct keylist){ 0 };
}

/* SCAN order: h, then the key's bytes as SQLite compares BLOBs (memcmp, shorter first). */
static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    int c = memcmp(x->k, y->k, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void keylist_sort(struct keylist *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, key_cmp);
}

static int keylist_has(const struct keylist *l, const char *k, size_t len, uint64_t h)
{
    struct key probe = { h, k, len, -1 };
    return l->n && bsearch(&probe, l->v, l->n, sizeof *l->v, key_cmp) != NULL;
}

/* ---- which keys are visible ---- */

/* Adds the keys of database *db one layer's records touch, newest first; a SWAPDB sends
 * *db on. Returns 1 if a FLUSH of it or a FLUSHALL was met (nothing older counts), 0, or
 * -1 when out of memory. */
static int touched_layer(const struct effects *layer, int *db, struct keylist *t)
{
    for (size_t i = layer->n; i-- > 0;) {
        const struct effect *e = &layer->v[i];
        if (e->kind == EFFECT_FLUSHALL || (e->kind == EFFECT_FLUSH && e->db == *db))
            return 1;
        if (e->kind == EFFECT_SWAPDB) {
            *db = *db == e->db ? (int)e->exp : *db == (int)e->exp ? e->db : *db;
            continue;
        }
        if (e->kind == EFFECT_FLUSH || e->db != *db)
            continue;
        if (keylist_add(t, e->k, e->klen, store_key_hash(e->k, e->klen), 0, -1) < 0)
            return -1;
    }
    return 0;
}

/* The keys the records decide, sorted and without repeats; *flushed if the store is
 * hidden by a FLUSH. Returns 0 or -1 (out of memory). */
static int touched_keys(const struct effects *fx, struct keylist *t, int *flushed)
{
    int rc = 0, db = fx->db;
    for (const struct effects *layer = fx; layer && rc == 0; layer = layer->under)
        rc = touched_layer(layer, &db, t);
    if (rc < 0)
        return -1;
    *flushed = rc == 1;
    keylist_sort(t);
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (n == 0 || key_cmp(&t->v[n - 1], &t->v[i]) != 0)
            t->v[n++] = t->v[i];
    t->n = n;
    return 0;
}

struct collect {
    struct keylist *out;
    const struct keylist *touched; /* keys the records decide: not the store's to say */
    int64_t now;
    int failed;
};

static int collect_row(void *ctx, const struct store_row *row)
{
    struct collect *c = ctx;
    if (!effects_alive(row->exp, c->now) || keylist_has(c->touched, row->k, row->klen, row->h))
        return 0;
    c->failed = keylist_add(c->out, row->k, row->klen, row->h, 1, row->t) < 0;
    return c->failed;
}

/* The touched keys in [from, upto] that are alive, into c->out. Returns 0 or -1. */
static int collect_touched(struct store *s, const struct effects *fx, struct collect *c,
                           uint64_t from, uint64_t upto)
{
    for (size_t i = 0; i < c->touched->n; i++) {
        const struct key *t = &c->touched->v[i];
        struct effects_value v;
        if (t->h < from || t->h > upto)
            continue;
        int found = effects_lookup(s, fx, t->k, t->len, &v);
        if (found < 0 || (found && keylist_add(c->out, t->k, t->len, t->h, 0, v.t) < 0))
            return -1;
    }
    return 0;
}

/* Fills out with the keys visible to fx at positions >= from, in SCAN order, examining at
 * most limit store rows (limit < 0: all). *next is the position to resume at, 0 at the end.
 * Returns 0, or -1 with the error written to w. */
static int collect_keys(struct store *s, const struct effects *fx, uint64_t from,
                        int64_t limit, struct keylist *out, uint64_t *next,
                        struct resp_writer *w)
{
    struct keylist touched = { 0 };
    struct collect c = { out, &touched, fx->now_ms, 0 };
    int flushed = 0, more = 0, rc = 0;
    uint64_t last = 0;
    if (!effects_empty(fx) && touched_keys(fx, &touched, &flushed) < 0)
        rc = exec_error(w, EXEC_ERR_OOM);
    store_use_db(s, effects_store_db(fx, &(int){ 0 }));
    if (rc == 0 && !flushed &&
        (store_scan(s, from, limit, collect_row, &c, &more, &last) < 0 || c.failed))
        rc = exec_error(w, c.failed ? EXEC_ERR_OOM : EXEC_ERR_STORAGE);
    if (rc == 0 && collect_touched(s, fx, &c, from, more ? last : UINT64_MAX) < 0)
        rc = exec_error(w, EXEC_ERR_STORAGE);
    if (rc == 0 && touched.n > 0)
        keylist_sort(out); /* touched keys were appended after the store's */
    keylist_free(&touched);
    *next = more ? last + 1 : 0;
    return rc;
}

/* Whether any key is alive at fx->now_ms, as a lookup would see it through fx's records:
 * 1, 0, or -1 (store error, out of memory). Stops at the first one found. */
struct any_alive {
    const struct keylist *touched;
    int64_t now;
    int found;
};

static int any_alive_row(void *ctx, const struct store_row *row)
{
    struct any_alive *a = ctx;
    a->found = effects_alive(row->exp, a->now) &&
               !keylist_has(a->touched, row->k, row->klen, row->h);
    return a->found; /* nonzero stops the scan */
}

static int any_alive(struct store *s, const struct effects *fx)
{
    struct keylist touched = { 0 };
    struct any_alive a = { &touched, fx->now_ms, 0 };
    int flushed = 0, more, rc = 0;
    uint64_t last;
    if (!effects_empty(fx) && touched_keys(fx, &touched, &flushed) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && !a.found && i < touched.n; i++) {
        struct effects_value v;
        int found = effects_lookup(s, fx, touched.v[i].k, touched.v[i].len, &v);
        rc = found < 0 ? -1 : 0;
        a.found = found == 1;
    }
    store_use_db(s, effects_store_db(fx, &(int){ 0 }));
    if (rc == 0 && !a.found && !flushed &&
        store_scan(s, 0, -1, any_alive_row, &a, &more, &last) < 0)
        rc = -1;
    keylist_free(&touched);
    return rc < 0 ? -1 : a.found;
}

/* ---- FLUSHDB, FLUSHALL, SWAPDB ---- */

/* Whether any database holds a live key, as lookups through fx see it: 1, 0 or -1. The
 * databases that may: those with store rows (store_next_db) and those records ahead name
 * (a SWAPDB's two included), a set that SWAPDB only permutes. */
static int any_alive_anywhere(struct store *s, struct effects *fx)
{
    int was = fx->db, any = 0, db = -1, found;
    while (!any && (found = store_next_db(s, db + 1, &db)) == 1) {
        fx->db = db;
        any = any_alive(s, fx);
    }
    int last = -1; /* records come in runs of one database: each run is asked once */
    for (const struct effects *layer = fx; any == 0 && layer; layer = layer->under)
        for (size_t i = 0; any == 0 && i < layer->n; i++) {
            const struct effect *e = &layer->v[i];
            if (e->db != last) {
                fx->db = last = e->db;
                any = any_alive(s, fx);
            }
            if (any == 0 && e->kind == EFFECT_SWAPDB) {
                fx->db = (int)e->exp;
                any = any_alive(s, fx);
            }
        }
    fx->db = was;
    return found < 0 ? -1 : any;
}

/* FLUSHDB deletes every key of the op's database, FLUSHALL every database's. On databases
 * with no live key they record nothing: the flush changes nothing, and a WATCH must not
 * see a change (Redis dirties only the watchers of keys that existed; the coordinator
 * learns of a FLUSH record through the TOUCHED vote, see participant.h). Expired rows not
 * yet swept stay for the sweep. */
static int ks_flush(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w)
{
    /* ASYNC and SYNC are accepted and mean the same: the round deletes everything. */
    if (op->argc > 2 ||
        (op->argc == 2 && strcasecmp(op->argv[1], "sync") != 0 &&
         strcasecmp(op->argv[1], "async") != 0))
        return exec_error(w, EXEC_ERR_SYNTAX);
    int any = op_is(op, "flushall") ? any_alive_anywhere(s, fx) : any_alive(s, fx);
    if (op_is(op, "flushall")) {
        if (any < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (any && effects_flush_all(fx) < 0)
            return exec_error(w, EXEC_ERR_OOM);
        resp_write_simple(w, "OK");
        return 0;
    }
    if (any < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (any && effects_flush(fx) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_simple(w, "OK");
    return 0;
}

/* A database index argument, as Redis's getIntFromObjectOrReply(msg) and selectDb() check
 * it: 0 with *db set, or -1 with the error written (msg NULL: Redis's generic texts). */
int cmd_keyspace_db_arg(const struct op *op, int i, const char *msg, int *db,
                        struct resp_writer *w)
{
    int64_t v;
    if (exec_arg_i64(op, i, &v) < 0)
        return exec_error(w, msg ? msg : EXEC_ERR_NOT_INT);
    if (v < INT32_MIN || v > INT32_MAX) /* Redis's getIntFromObjectOrReply, typo too */
        return exec_error(w, msg ? msg : "ERR value is out of range, value must between "
                                         "-2147483648 and 2147483647");
    if (v < 0 || v >= OP_DB_LIMIT) /* the coordinator turned v >= databases into -1 */
        return exec_error(w, "ERR DB index is out of range");
    *db = (int)v;
    return 0;
}

static int ks_swapdb(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    /* Both are read as integers before either is checked against the range (Redis). */
    int64_t x, y;
    if (exec_arg_i64(op, 1, &x) < 0 || x < INT32_MIN || x > INT32_MAX)
        return exec_error(w, "ERR invalid first DB index");
    if (exec_arg_i64(op, 2, &y) < 0 || y < INT32_MIN || y > INT32_MAX)
        return exec_error(w, "ERR invalid second DB index");
    int a, b;
    if (cmd_keyspace_db_arg(op, 1, NULL, &a, w) < 0 || cmd_keyspace_db_arg(op, 2, NULL, &b, w) < 0)
        return -1;
    if (a != b && effects_swap_db(fx, a, b) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_simple(w, "OK");
    return 0;
}

/* Up to KEYSPACE_MAX databases' lines: INFO's reply stays small whatever `databases` is. */
#define KEYSPACE_MAX 1024

struct keyspace_rows {
    int64_t v[KEYSPACE_MAX][4];
    size_t n;
};

static int keyspace_row(void *ctx, const struct store_db_stats *d)
{
    struct keyspace_rows *k = ctx;
    int64_t *row = k->v[k->n++];
    row[0] = d->db, row[1] = d->keys, row[2] = d->expires;
    row[3] = d->expires ? d->ttl_sum / d->expires : 0;
    return k->n == KEYSPACE_MAX;
}

/* TPC.KEYSPACE (a read, at the read's clock): INFO keyspace's numbers, an array of
 * [db, keys, expires, avg_ttl] for each database holding a live key, in database order;
 * the coordinator writes them as "db<n>:keys=..,expires=..,avg_ttl=..". avg_ttl is the
 * mean TTL left (ms) of the keys that have one (Redis estimates it from samples). */
static int ks_keyspace(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    struct keyspace_rows *k = calloc(1, sizeof *k);
    if (!k)
        return exec_error(w, EXEC_ERR_OOM);
    if (store_keyspace(s, fx->now_ms, keyspace_row, k) < 0) {
        free(k);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    resp_write_array(w, k->n);
    for (size_t i = 0; i < k->n; i++) {
        resp_write_array(w, 4);
        for (int j = 0; j < 4; j++)
            resp_write_int(w, k->v[i][j]);
    }
    free(k);
    return 0;
}

/* ---- DBSIZE, KEYS ---- */

static int ks_dbsize(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    if (effects_empty(fx)) {
        store_use_db(s, fx->db);
        int64_t n = store_count_alive(s, fx->now_ms);
        if (n < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        resp_write_int(w, n);
        return 0;
    }
    struct keylist keys = { 0 };
    uint64_t next;
    int rc = collect_keys(s, fx, 0, -1, &keys, &next, w);
    if (rc == 0)
        resp_write_int(w, (int64_t)keys.n);
    keylist_free(&keys);
    return rc;
}

/* Keeps the keys matching pattern p (all of them for "*", as Redis shortcuts it). */
static void keep_matching(struct keylist *l, const char *p, size_t plen)
{
    if (plen == 1 && p[0] == '*')
        return;
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (glob_match(p, plen, l->v[i].k, l->v[i].len))
            l->v[n++] = l->v[i];
    l->n = n;
}

static void write_keys(struct resp_writer *w, const struct keylist *l)
{
    resp_write_array(w, l->n);
    for (size_t i = 0; i < l->n; i++)
        resp_write_bulk(w, l->v[i].k, l->v[i].len);
}

static int ks_keys(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w)
{
    struct keylist keys = { 0 };
    uint64_t next;
    int rc = collect_keys(s, fx, 0, -1, &keys, &next, w);
    if (rc == 0) {
        keep_matching(&keys, op->argv[1], op->lens[1]);
        write_keys(w, &keys);
    }
    keylist_free(&keys);
    return rc;
}

/* ---- SCAN ---- */

struct scan_args {
    uint64_t cursor;
    int64_t count;
    const char *pattern, *type; /* NULL: no filter */
    size_t pattern_len;
};

/* Redis's parseScanCursorOrReply: strtoul rules (a sign is accepted, "" is 0), no
 * leading space, nothing after the digits (compared as a C string). */
int cmd_keyspace_parse_cursor(const char *arg, uint64_t *cursor)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (isspace((unsigned char)arg[0]) || *end != '\0' || errno == ERANGE)
        return -1;
    *cursor = v;
    return 0;
}

/* Returns 0, or -1 with the error written. */
static int parse_scan_args(const struct op *op, struct scan_args *a, struct resp_writer *w)
{
    *a = (struct scan_args){ 0, 10, NULL, NULL, 0 };
    if (cmd_keyspace_parse_cursor(op->argv[1], &a->cursor) < 0)
        return exec_error(w, "ERR invalid cursor");
    for (int i = 2; i < op->argc; i += 2) {
        const char *opt = op->argv[i];
        int has_value = i + 1 < op->argc;
        if (has_value && strcasecmp(opt, "count") == 0) {
            if (exec_arg_i64(op, i + 1, &a->count) < 0)
                return exec_error(w, EXEC_ERR_NOT_INT);
            if (a->count < 1)
                return exec_error(w, EXEC_ERR_SYNTAX);
        } else if (has_value && strcasecmp(opt, "match") == 0) {
            a->pattern = op->argv[i + 1];
            a->pattern_len = op->lens[i + 1];
        } else if (has_value && strcasecmp(opt, "type") == 0) {
            a->type = op->argv[i + 1];
        } else {
            return exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    return 0;
}

/* Keeps the keys whose type is called name (none for a name no type has). */
static void keep_type(struct keylist *l, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(exec_type_name(l->v[i].t), name) == 0 && l->v[i].t >= 0)
            l->v[n++] = l->v[i];
    l->n = n;
}

static int ks_scan(struct store *s, struct effects *fx, const struct op *op,
                   struct resp_writer *w)
{
    struct scan_args a;
    if (parse_scan_args(op, &a, w) < 0)
        return -1;
    struct keylist keys = { 0 };
    uint64_t next;
    int rc = collect_keys(s, fx, a.cursor, a.count, &keys, &next, w);
    if (rc < 0) {
        keylist_free(&keys);
        return -1;
    }
    if (a.pattern)
        keep_matching(&keys, a.pattern, a.pattern_len);
    if (a.type)
        keep_type(&keys, a.type); /* Redis 7.0 filters by name, unknown or not */
    char num[24];
    resp_write_array(w, 2);
    resp_write_bulk(w, num, util_u64_to_str(next, num));
    write_keys(w, &keys);
    keylist_free(&keys);
    return 0;
}

/* ---- RANDOMKEY ---- */

/* splitmix64: spreads a seed over 64 bits. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A position to draw from: the read's random seed, or, in a round, one derived from the
 * round's clock and progress so that every replica draws the same key. */
static uint64_t draw(const struct effects *fx)
{
    uint64_t x = fx->seed ? fx->seed
                          : mix((uint64_t)fx->now_ms) ^ mix(fx->n * 31 + fx->nowned);
    return (mix(x) >> 2) + 1;
}

struct first_alive {
    int64_t now;
    struct keylist *out;
    int failed;
};

static int take_first_alive(void *ctx, const struct store_row *row)
{
    struct first_alive *f = ctx;
    if (!effects_alive(row->exp, f->now))
        return 0;
    f->failed = keylist_add(f->out, row->k, row->klen, row->h, 1, row->t) < 0;
    return 1;
}

/* On committed data alone: the first alive key at or after a random position, wrapping
 * around. Returns 0 (out holds 0 or 1 key) or -1. */
static int random_from_store(struct store *s, const struct effects *fx, struct keylist *out)
{
    struct first_alive f = { fx->now_ms, out, 0 };
    int more;
    uint64_t last;
    store_use_db(s, fx->db);
    if (store_scan(s, draw(fx), -1, take_first_alive, &f, &more, &last) < 0)
        return -1;
    if (out->n == 0 && !f.failed &&
        store_scan(s, 0, -1, take_first_alive, &f, &more, &last) < 0)
        return -1;
    return f.failed ? -1 : 0;
}

static int ks_randomkey(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    struct keylist keys = { 0 };
    uint64_t next;
    int rc = 0;
    if (effects_empty(fx))
        rc = random_from_store(s, fx, &keys) < 0 ? exec_error(w, EXEC_ERR_STORAGE) : 0;
    else
        rc = collect_keys(s, fx, 0, -1, &keys, &next, w);
    const struct key *pick = rc == 0 && keys.n ? &keys.v[draw(fx) % keys.n] : NULL;
    if (pick)
        resp_write_bulk(w, pick->k, pick->len);
    else if (rc == 0)
        resp_write_null(w);
    keylist_free(&keys);
    return rc;
}

const struct exec_cmd cmd_keyspace_table[] = {
    { "dbsize", 1, EXEC_READ, ks_dbsize },
    { "scan", -2, EXEC_READ, ks_scan },
    { "keys", 2, EXEC_READ, ks_keys },
    { "randomkey", 1, EXEC_READ, ks_randomkey },
    { "flushdb", -1, 0, ks_flush },
    { "flushall", -1, 0, ks_flush },
    { "swapdb", 3, 0, ks_swapdb },
    { "tpc.keyspace", 1, EXEC_READ, ks_keyspace },
};
const size_t cmd_keyspace_count = sizeof cmd_keyspace_table / sizeof cmd_keyspace_table[0];
