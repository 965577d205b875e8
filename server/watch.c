/* watch.c -- watched keys, dirty flags and the writes in flight (see watch.h).
 *
 * Data structures:
 *
 *     table (hash of watched keys)          watchers (every live watcher)
 *     ┌────────┐                             ┌──────────┐
 *     │ "k1" ──┼─ links ─▶ [A] ─▶ [B]        │ A: dirty │─ links ─▶ k1, k2
 *     │ "k2" ──┼─ links ─▶ [A]               │ B        │─ links ─▶ k1
 *     └────────┘                             └──────────┘
 *
 * A link joins one watcher and one key; it sits on the key's list (doubly linked, so a
 * watcher can leave in O(its keys)) and on the watcher's list. A key with no links left is
 * removed from the table.
 *
 * In-flight writes are counted in `busy[hash(key) % TRACK_BUCKETS]` (and `busy_all` for
 * keyless writes such as FLUSHALL) from watch_track_new() until watch_track_free().
 *
 * Flushes. A round that may flush a database while keys are watched sends the replicas
 * every watched key (watch_keys(), TPC.PREPARE TOUCHED WATCHED); each flushing op's answer
 * says which of them were alive just before the flush, and only their watchers are
 * dirtied, as in Redis (touchAllWatchedKeysInDb). A key entered in the table after that
 * list was taken was not asked about: each key carries the value of a counter bumped at
 * every insertion (`born`), the list carries the counter's value when it was taken
 * (`mark`), and a key born after the mark is dirtied conservatively. A key that left the
 * table and came back is born again, so it counts as new too.
 *
 *     WATCH a, b   PREPARE [FLUSHDB] WATCHED a b (mark 7)   WATCH c (born 8)   commit:
 *                  replicas: a alive, b not -> "F10|.."    dirty a's and c's watchers
 */
#include "watch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "failpoint.h"
#include "op.h"
#include "registry.h"
#include "txn.h"
#include "util.h"

#define TRACK_BUCKETS 65536 /* 256 KB of counters; a collision only delays an EXEC */
/* At most this many watched keys go with a flushing round's PREPARE: each is sent to every
 * replica and looked up there once per flush. Past it the round goes without the list and
 * a flush of a database holding keys dirties every watcher (conservative). */
#define WATCH_SENT_MAX 10000

struct wkey;

struct wlink {
    struct watcher *w;
    struct wkey *k;
    struct wlink *kprev, *knext; /* on the key's list */
    struct wlink *wnext;         /* on the watcher's list */
};

struct wkey {
    struct wkey *next; /* hash chain */
    uint64_t hash;
    uint64_t born;     /* `epoch` when it entered the table */
    int db;            /* the key's database: a key is (db, bytes) */
    size_t len;
    struct wlink *links;
    char key[];
};

struct watcher {
    int dirty, waiting;
    size_t nkeys;
    struct wlink *links;
    LIST_ENTRY(watcher) all;
};

struct watch_track {
    int all;
    size_t n, cap;
    uint32_t *b;       /* points at small[] until more keys than that */
    uint32_t small[4];
};

static struct wkey **table;
static size_t table_size, table_count;
static uint64_t epoch; /* bumped by every key entering the table */
static LIST_HEAD(, watcher) watchers = LIST_HEAD_INITIALIZER(watchers);
static size_t nwaiting;
static uint32_t busy[TRACK_BUCKETS], busy_all;
static void (*notify)(void);

static uint64_t hash_bytes(const char *k, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

/* The table's hash of (db, k). Tracking (busy[]) hashes the bytes alone: a write in
 * flight to k in any database makes EXEC wait, which is only ever longer, never wrong. */
static uint64_t hash_key(int db, const char *k, size_t len)
{
    return hash_bytes(k, len) ^ ((uint64_t)(unsigned)db * 0x9e3779b97f4a7c15ULL);
}

void watch_set_notify(void (*fn)(void)) { notify = fn; }

static void notify_waiters(void)
{
    if (nwaiting > 0 && notify)
        notify();
}

/* ---- the key table ---- */

static struct wkey *find_key(int db, const char *k, size_t len, uint64_t h)
{
    if (!table)
        return NULL;
    for (struct wkey *x = table[h & (table_size - 1)]; x; x = x->next)
        if (x->hash == h && x->db == db && x->len == len && memcmp(x->key, k, len) == 0)
            return x;
    return NULL;
}

static int grow_table(void)
{
    size_t size = table_size ? table_size * 2 : 64;
    struct wkey **nt = calloc(size, sizeof *nt);
    if (!nt)
        return -1;
    for (size_t i = 0; i < table_size; i++) {
        while (table[i]) {
            struct wkey *x = table[i];
            table[i] = x->next;
            x->next = nt[x->hash & (size - 1)];
            nt[x->hash & (size - 1)] = x;
        }
    }
    free(table);
    table = nt;
    table_size = size;
    return 0;
}

static struct wkey *add_key(int db, const char *k, size_t len, uint64_t h)
{
    if (table_count >= table_size && grow_table() < 0)
        return NULL;
    struct wkey *x = malloc(sizeof *x + len);
    if (!x)
        return NULL;
    x->hash = h;
    x->born = ++epoch;
    x->db = db;
    x->len = len;
    x->links = NULL;
    memcpy(x->key, k, len);
    x->next = table[h & (table_size - 1)];
    table[h & (table_size - 1)] = x;
    table_count++;
    return x;
}

static void remove_key(struct wkey *x)
{
    struct wkey **pp = &table[x->hash & (table_size - 1)];
    while (*pp != x)
        pp = &(*pp)->next;
    *pp = x->next;
    table_count--;
    free(x);
}

/* ---- watchers ---- */

struct watcher *watch_new(void)
{
    struct watcher *w = calloc(1, sizeof *w);
    if (w)
        LIST_INSERT_HEAD(&watchers, w, all);
    return w;
}

int watch_key(struct watcher *w, const char *key, size_t len)
{
    return watch_key_db(w, 0, key, len);
}

int watch_key_db(struct watcher *w, int db, const char *key, size_t len)
{
    uint64_t h = hash_key(db, key, len);
    struct wkey *x = find_key(db, key, len, h);
    if (!x && !(x = add_key(db, key, len, h)))
        return -1;
    for (struct wlink *l = x->links; l; l = l->knext)
        if (l->w == w)
            return 0; /* already watched */
    struct wlink *l = calloc(1, sizeof *l);
    if (!l) {
        if (!x->links)
            remove_key(x);
        return -1;
    }
    l->w = w;
    l->k = x;
    l->knext = x->links;
    if (x->links)
        x->links->kprev = l;
    x->links = l;
    l->wnext = w->links;
    w->links = l;
    w->nkeys++;
    return 0;
}

size_t watch_count(const struct watcher *w) { return w ? w->nkeys : 0; }
int watch_dirty(const struct watcher *w) { return w && w->dirty; }

int watch_busy(const struct watcher *w)
{
    if (FAILPOINT_ON("coord.bug.watch_no_wait"))
        return 0; /* a deliberate bug, for tests of the tests */
    if (!w || !w->links)
        return 0;
    if (busy_all > 0)
        return 1;
    for (const struct wlink *l = w->links; l; l = l->wnext)
        if (busy[hash_bytes(l->k->key, l->k->len) % TRACK_BUCKETS] > 0)
            return 1;
    return 0;
}

void watch_set_waiting(struct watcher *w, int yes)
{
    if (w->waiting != !!yes)
        nwaiting += yes ? 1 : (size_t)-1;
    w->waiting = !!yes;
}

void watch_free(struct watcher *w)
{
    if (!w)
        return;
    watch_set_waiting(w, 0);
    while (w->links) {
        struct wlink *l = w->links;
        w->links = l->wnext;
        if (l->kprev)
            l->kprev->knext = l->knext;
        else
            l->k->links = l->knext;
        if (l->knext)
            l->knext->kprev = l->kprev;
        if (!l->k->links)
            remove_key(l->k);
        free(l);
    }
    LIST_REMOVE(w, all);
    free(w);
}

static void make_dirty(struct watcher *w)
{
    w->dirty = 1;
    if (w->waiting && notify)
        notify();
}

static void dirty_all(void)
{
    struct watcher *w;
    LIST_FOREACH(w, &watchers, all)
        if (w->links)
            make_dirty(w);
}

/* ---- keys of a command ---- */

/* The key positions of a command from the table's first/last/step: 0 with the range, or
 * -1 when it has none. */
static int key_range(const struct command *cmd, int argc, int *first, int *last, int *step)
{
    if (cmd->first_key <= 0)
        return -1;
    *first = cmd->first_key;
    *last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    if (*last >= argc)
        *last = argc - 1;
    *step = cmd->step > 0 ? cmd->step : 1;
    return 0;
}

static void touch_key(int db, const char *k, size_t len)
{
    struct wkey *x = find_key(db, k, len, hash_key(db, k, len));
    for (struct wlink *l = x ? x->links : NULL; l; l = l->knext)
        make_dirty(l->w);
}

typedef int (*command_fn)(int db, int argc, char *const *argv, const size_t *lens);

/* fn on one command, unwrapped from its DB wrapper (op.h) if it has one. */
static int one_command(int argc, char *const *argv, const size_t *lens, command_fn fn)
{
    int db = 0;
    if (op_db_wrapper(argc, argv, lens, &db) == 0)
        return fn(db, argc - 2, argv + 2, lens + 2);
    return fn(0, argc, argv, lens);
}

/* Calls fn on the op itself or, for a TX op ("TX n {argc arg...}*n", as multi.c built it),
 * on each of its sub-commands in order, until fn returns nonzero; each in its database.
 * Returns that value, or 0 (also for a malformed TX, whose rest is skipped). */
static int each_command(const struct op *op, command_fn fn)
{
    if (!op_is(op, "tx"))
        return one_command(op->argc, op->argv, op->lens, fn);
    uint64_t n;
    int at = 2, rc = 0, more = 1;
    if (op->argc < 2 || util_parse_u64(op->argv[1], op->lens[1], &n) < 0)
        return 0;
    for (uint64_t i = 0; i < n && more == 1 && rc == 0; i++) {
        struct op sub;
        if ((more = op_frame_next(op->argc, op->argv, op->lens, &at, &sub)) == 1)
            rc = one_command(sub.argc, sub.argv, sub.lens, fn);
    }
    return more < 0 ? 0 : rc;
}

/* A database index argument (MOVE's, COPY ... DB's): 0 with *db, or -1. */
static int db_arg(const char *arg, size_t len, int *db)
{
    int64_t v;
    if (util_parse_i64(arg, len, &v) < 0 || v < 0 || v >= OP_DB_LIMIT)
        return -1;
    *db = (int)v;
    return 0;
}

/* The second database a command writes a key in besides its own: MOVE's target,
 * COPY ... DB n's. Touches that key there. */
static void touch_other_db(int argc, char *const *argv, const size_t *lens)
{
    int db;
    if (argc == 3 && op_name_is(argv[0], lens[0], "move") && db_arg(argv[2], lens[2], &db) == 0)
        touch_key(db, argv[1], lens[1]);
    if (argc < 4 || !op_name_is(argv[0], lens[0], "copy"))
        return;
    for (int j = 3; j + 1 < argc; j++)
        if (op_name_is(argv[j], lens[j], "db") && db_arg(argv[j + 1], lens[j + 1], &db) == 0)
            touch_key(db, argv[2], lens[2]);
}

/* A committed command, when the replicas did not say what it changed: dirties the watchers
 * of every key it may write. The expiry sweep's internal op (TPC.EXPIREDEL key...) may
 * delete any of its arguments. Returns 0 (each_command goes on). */
static int touch(int db, int argc, char *const *argv, const size_t *lens)
{
    const struct command *cmd = registry_lookup(argv[0], lens[0]);
    int first, last, step;
    if (!cmd && lens[0] == 13 && strncasecmp(argv[0], "tpc.expiredel", 13) == 0) {
        for (int i = 1; i < argc; i++)
            touch_key(db, argv[i], lens[i]);
        return 0;
    }
    if (cmd && !(cmd->flags & CMD_WRITE))
        return 0;
    if (!cmd || key_range(cmd, argc, &first, &last, &step) < 0) {
        dirty_all();
        return 0;
    }
    for (int i = first; i <= last; i += step)
        touch_key(db, argv[i], lens[i]);
    touch_other_db(argc, argv, lens);
    return 0;
}

/* MOVE and COPY ... DB write a key in a database their arguments name, which the
 * replicas' per-argument answer does not cover: its watchers are dirtied whether or not
 * the key moved (too often, never too rarely). Returns 0. */
static int touch_targets(int db, int argc, char *const *argv, const size_t *lens)
{
    touch_other_db(argc, argv, lens);
    return 0;
}

/* 1 if the command is FLUSHDB, FLUSHALL or SWAPDB (whatever its arguments): it changes
 * keys it does not name. Else 0. */
static int is_flush(int db, int argc, char *const *argv, const size_t *lens)
{
    return op_name_is(argv[0], lens[0], "flushdb") || op_name_is(argv[0], lens[0], "flushall") ||
           op_name_is(argv[0], lens[0], "swapdb");
}

int watch_wanted(void *ctx)
{
    return table_count > 0;
}

int watch_keys(void *ctx, const struct op *op, struct txn_keys *keys)
{
    if (table_count == 0 || table_count > WATCH_SENT_MAX || !each_command(op, is_flush))
        return 0;
    size_t total = 0, n = 0, at = 0;
    for (size_t b = 0; b < table_size; b++)
        for (const struct wkey *x = table[b]; x; x = x->next)
            total += x->len;
    char *p = malloc(total ? total : 1);
    size_t *off = malloc((table_count + 1) * sizeof *off);
    int *dbs = malloc((table_count + 1) * sizeof *dbs), any_db = 0;
    if (!p || !off || !dbs) {
        free(p);
        free(off);
        free(dbs);
        return -1;
    }
    for (size_t b = 0; b < table_size; b++)
        for (const struct wkey *x = table[b]; x; x = x->next) {
            dbs[n] = x->db;
            any_db |= x->db != 0;
            off[n++] = at;
            memcpy(p + at, x->key, x->len);
            at += x->len;
        }
    off[n] = at;
    if (!any_db) { /* every key in database 0: no DBS list */
        free(dbs);
        dbs = NULL;
    }
    *keys = (struct txn_keys){ n, p, off, epoch, dbs };
    return 1;
}

/* Touches op's arguments marked changed in args (one per argument), each in its database
 * (op_arg_dbs); without memory for that, in every database watched (too often, never too
 * rarely). */
static void touch_args(const struct op *op, const char *args)
{
    int *dbs = malloc(((size_t)op->argc + 1) * sizeof *dbs);
    if (dbs)
        op_arg_dbs(op, dbs);
    for (int j = 0; j < op->argc; j++) {
        if (!TXN_CHANGED(args[j]) || (dbs && dbs[j] < 0))
            continue;
        if (dbs) {
            touch_key(dbs[j], op->argv[j], op->lens[j]);
            continue;
        }
        for (size_t b = 0; b < table_size; b++)
            for (const struct wkey *x = table[b]; x; x = x->next)
                if (x->len == op->lens[j] && memcmp(x->key, op->argv[j], x->len) == 0)
                    touch_key(x->db, x->key, x->len);
    }
    free(dbs);
}

/* Dirties the watchers of every key that entered the table after mark. */
static void dirty_born_after(uint64_t mark)
{
    for (size_t b = 0; b < table_size; b++)
        for (const struct wkey *x = table[b]; x; x = x->next)
            if (x->born > mark)
                touch_key(x->db, x->key, x->len);
}

/* An op that flushed, with the replicas' word on the keys its PREPARE carried:
 * "F<bits>|<per argument>" (txn.h). Dirties the watchers of the keys it changed by
 * argument, of the listed keys that were alive just before a flush, and of every key
 * watched since the list was taken. Returns 0, or -1 when touched is not of that shape
 * (nothing done). */
static int touch_flushed(const struct op *op, const char *touched, size_t len,
                         const struct txn_keys *keys)
{
    if (len != 2 + keys->n + (size_t)op->argc || touched[1 + keys->n] != '|')
        return -1;
    const char *bits = touched + 1, *args = touched + 2 + keys->n;
    touch_args(op, args);
    each_command(op, touch_targets);
    for (size_t i = 0; i < keys->n; i++)
        if (bits[i] == '1')
            touch_key(keys->dbs ? keys->dbs[i] : 0, keys->p + keys->off[i],
                      keys->off[i + 1] - keys->off[i]);
    dirty_born_after(keys->mark);
    return 0;
}

void watch_on_commit(void *ctx, const struct op *op, const char *touched, size_t len,
                     const struct txn_keys *keys)
{
    if (table_count == 0 || op->argc < 1)
        return;
    if (touched && len > 0 && touched[0] == 'F') {
        /* It flushed a database that held keys: without the list, every watcher. */
        if (!keys || touch_flushed(op, touched, len, keys) < 0)
            dirty_all();
        return;
    }
    if (!touched || len != (size_t)op->argc) {
        each_command(op, touch); /* without word from the replicas: conservative */
        return;
    }
    /* Exact: the keys the op changed, by argument position (any position: a TX's too),
     * each in the database of its command. */
    touch_args(op, touched);
    each_command(op, touch_targets);
}

/* ---- writes in flight ---- */

static int track_push(struct watch_track *t, uint32_t b)
{
    if (t->n == t->cap) {
        size_t cap = t->cap * 2;
        uint32_t *nb = malloc(cap * sizeof *nb);
        if (!nb)
            return -1;
        memcpy(nb, t->b, t->n * sizeof *nb);
        if (t->b != t->small)
            free(t->b);
        t->b = nb;
        t->cap = cap;
    }
    t->b[t->n++] = b;
    busy[b]++;
    return 0;
}

struct watch_track *watch_track_add(struct watch_track *t, const struct command *cmd, int argc,
                                    char *const *argv, const size_t *lens)
{
    int first, last, step;
    if (!(cmd->flags & CMD_WRITE))
        return t;
    if (!t) {
        if (!(t = calloc(1, sizeof *t)))
            return NULL;
        t->b = t->small;
        t->cap = sizeof t->small / sizeof t->small[0];
    }
    if (key_range(cmd, argc, &first, &last, &step) < 0) {
        busy_all += !t->all;
        t->all = 1;
        return t;
    }
    for (int i = first; i <= last; i += step)
        if (track_push(t, (uint32_t)(hash_bytes(argv[i], lens[i]) % TRACK_BUCKETS)) < 0 &&
            !t->all) {
            busy_all++; /* out of memory: be conservative */
            t->all = 1;
        }
    return t;
}

struct watch_track *watch_track_new(const struct command *cmd, int argc, char *const *argv,
                                    const size_t *lens)
{
    return watch_track_add(NULL, cmd, argc, argv, lens);
}

void watch_track_free(struct watch_track *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        busy[t->b[i]]--;
    busy_all -= t->all;
    if (t->b != t->small)
        free(t->b);
    free(t);
    notify_waiters();
}
