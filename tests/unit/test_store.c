/* test_store.c -- unit tests of the replica's SQLite store (replica/store.c) around
 * numbered databases: the migration of a database from before them, and the per-database
 * statements (get, scan, count, flush, swap, expired, digest); and the rank buckets of
 * sorted sets (zset_ranks: ZRANK, ZCOUNT and ZRANGE by rank on sets of tens of thousands
 * of members, through inserts, score changes, deletes, rollbacks, SWAPDB, and a database
 * from before the buckets, each answer compared with a sorted copy kept here).
 *
 * The migration case writes an old-shape data.sqlite with SQLite itself (the shape of
 * kv before databases: kv(k, v, exp, h) keyed by (h, k)), opens it with store_open(), and
 * checks that every row is in database 0 with its value and expiry, none in database 1,
 * and that the table is keyed by (db, h, k) afterwards.
 *
 * Run: test_store [case]   (no argument: every case)
 */
#include "check_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

/* An old-shape database at path: kv keyed by (h, k), h deliberately wrong (the migration
 * recomputes it), 20 keys, one with an expiry. */
static void write_old_shape(const char *path)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                       "INSERT INTO meta VALUES ('applied_round', 7);"
                       "CREATE TABLE kv(k BLOB NOT NULL, v BLOB NOT NULL, exp INTEGER NOT NULL"
                       " DEFAULT 0, h INTEGER NOT NULL, PRIMARY KEY(h, k)) WITHOUT ROWID;",
                       NULL, NULL, NULL) == SQLITE_OK);
    for (int i = 0; i < 20; i++) {
        char sql[128];
        long long exp = i == 3 ? 4102444800LL : 0;
        snprintf(sql, sizeof sql, "INSERT INTO kv VALUES (CAST('k%d' AS BLOB), "
                 "CAST('v%d' AS BLOB), %lld, %d)", i, i, exp, i + 1);
        CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    }
    sqlite3_close(db);
}

/* The primary key's column positions, as PRAGMA table_info gives them. */
static void check_current_shape(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int dbpk = 0, hpk = 0, kpk = 0;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA table_info(kv)", -1, &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        int pk = sqlite3_column_int(st, 5);
        dbpk = strcmp(name, "db") == 0 ? pk : dbpk;
        hpk = strcmp(name, "h") == 0 ? pk : hpk;
        kpk = strcmp(name, "k") == 0 ? pk : kpk;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK_INT_EQ(dbpk, 1);
    CHECK_INT_EQ(hpk, 2);
    CHECK_INT_EQ(kpk, 3);
}

static int count_row(void *ctx, const struct store_row *row)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_migration(void)
{
    char dir[] = "/tmp/twopc-test-store-XXXXXX", path[128], err[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/data.sqlite", dir);
    write_old_shape(path);
    struct store *s = store_open(path, err, sizeof err);
    if (!s)
        check_fail(__FILE__, __LINE__, "store_open: %s", err);
    CHECK_UINT_EQ(store_applied(s), 7);
    CHECK_INT_EQ(store_count(s), 20);
    struct store_row row;
    store_use_db(s, 0);
    CHECK_INT_EQ(store_get(s, "k5", 2, &row), 1);
    CHECK_MEM_EQ(row.v, row.vlen, "v5", 2);
    CHECK_INT_EQ(store_get(s, "k3", 2, &row), 1);
    CHECK_INT_EQ(row.exp, 4102444800);
    CHECK_INT_EQ(store_count_alive(s, 1), 20);
    int n = 0, more;
    uint64_t last;
    CHECK_INT_EQ(store_scan(s, 0, -1, count_row, &n, &more, &last), 0);
    CHECK_INT_EQ(n, 20);
    store_use_db(s, 1);
    CHECK_INT_EQ(store_get(s, "k5", 2, &row), 0);
    CHECK_INT_EQ(store_count_alive(s, 1), 0);
    store_close(s);
    check_current_shape(path);
    /* Opening again changes nothing (the shape is current). */
    s = store_open(path, err, sizeof err);
    CHECK(s != NULL);
    CHECK_INT_EQ(store_count(s), 20);
    store_close(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* Writes k = v in database db, in its own transaction. */
static void put(struct store *s, int db, const char *k, const char *v, int64_t exp)
{
    store_use_db(s, db);
    CHECK(store_begin(s) == 0);
    CHECK(store_put(s, k, strlen(k), v, strlen(v), exp) == 0);
    CHECK(store_commit(s) == 0);
}

static void expect(struct store *s, int db, const char *k, const char *v)
{
    struct store_row row;
    store_use_db(s, db);
    int found = store_get(s, k, strlen(k), &row);
    CHECK_INT_EQ(found, v != NULL);
    if (v)
        CHECK_MEM_EQ(row.v, row.vlen, v, strlen(v));
}

struct keyspace {
    struct store_db_stats v[8];
    size_t n;
};

static int keyspace_row(void *ctx, const struct store_db_stats *d)
{
    struct keyspace *k = ctx;
    k->v[k->n++] = *d;
    return k->n == 8;
}

static void test_databases(void)
{
    char err[256], d0[17], d1[17];
    struct store *s = store_open_memory(err, sizeof err);
    CHECK(s != NULL);
    put(s, 0, "x", "0x", 0);
    CHECK_INT_EQ(store_digest(s, d0), 0);
    put(s, 1, "x", "1x", 0);
    put(s, 1, "y", "1y", 5);
    put(s, 2, "z", "2z", 0);
    expect(s, 0, "x", "0x");
    expect(s, 1, "x", "1x");
    expect(s, 0, "y", NULL);
    CHECK_INT_EQ(store_count(s), 4);
    store_use_db(s, 1);
    CHECK_INT_EQ(store_count_alive(s, 1), 2);
    struct keyspace ks = { 0 };
    CHECK_INT_EQ(store_keyspace(s, 1, keyspace_row, &ks), 0);
    CHECK_INT_EQ(ks.n, 3);
    CHECK_INT_EQ(ks.v[1].db, 1);
    CHECK_INT_EQ(ks.v[1].keys, 2);
    CHECK_INT_EQ(ks.v[1].expires, 1);
    CHECK_INT_EQ(ks.v[1].ttl_sum, 4);
    CHECK_INT_EQ(ks.v[2].db, 2);
    CHECK_INT_EQ(ks.v[2].expires, 0);
    int n = 0;
    CHECK_INT_EQ(store_expired(s, 100, 10, count_row, &n), 0);
    CHECK_INT_EQ(n, 1); /* y, in database 1 */
    n = 0;
    store_use_db(s, 0);
    CHECK_INT_EQ(store_expired(s, 100, 10, count_row, &n), 0);
    CHECK_INT_EQ(n, 0);

    /* SWAPDB 0 1 with the same key in both: the primary key is never violated. */
    CHECK_INT_EQ(store_digest(s, d1), 0);
    CHECK(strcmp(d0, d1) != 0);
    CHECK(store_begin(s) == 0);
    CHECK_INT_EQ(store_swap_db(s, 0, 1), 0);
    CHECK(store_commit(s) == 0);
    expect(s, 0, "x", "1x");
    expect(s, 0, "y", "1y");
    expect(s, 1, "x", "0x");
    expect(s, 1, "y", NULL);
    expect(s, 2, "z", "2z");
    /* The digest tells databases apart: the same rows in other databases differ. */
    CHECK_INT_EQ(store_digest(s, d0), 0);
    CHECK(strcmp(d0, d1) != 0);

    /* FLUSHDB of 0 leaves 1 and 2; FLUSHALL leaves nothing. */
    store_use_db(s, 0);
    CHECK(store_begin(s) == 0);
    CHECK_INT_EQ(store_flush(s), 0);
    CHECK(store_commit(s) == 0);
    expect(s, 0, "x", NULL);
    expect(s, 1, "x", "0x");
    CHECK_INT_EQ(store_count(s), 2);
    CHECK(store_begin(s) == 0);
    CHECK_INT_EQ(store_flush_all(s), 0);
    CHECK(store_commit(s) == 0);
    CHECK_INT_EQ(store_count(s), 0);
    store_close(s);
}


/* ---- sorted-set rank buckets ---- */

struct zref {
    double s;
    char f[16];
};

static int zref_cmp(const void *a, const void *b)
{
    const struct zref *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    return strcmp(x->f, y->f);
}

/* The reference: member i of the model is "m<i>", present with score sc[i] if on[i]. */
#define ZN 12000
static double zsc[ZN];
static int zon[ZN];
static struct zref zsorted[ZN];

static size_t zmodel_sort(void)
{
    size_t n = 0;
    for (int i = 0; i < ZN; i++)
        if (zon[i]) {
            zsorted[n].s = zsc[i];
            snprintf(zsorted[n].f, sizeof zsorted[n].f, "m%d", i);
            n++;
        }
    qsort(zsorted, n, sizeof *zsorted, zref_cmp);
    return n;
}

static void zput(struct store *s, const char *k, int i, double sc)
{
    char f[16], v[32];
    int flen = snprintf(f, sizeof f, "m%d", i);
    int vlen = isinf(sc) ? snprintf(v, sizeof v, "%sinf", sc < 0 ? "-" : "")
                         : snprintf(v, sizeof v, "%.17g", sc);
    CHECK_INT_EQ(store_elem_put(s, k, strlen(k), f, (size_t)flen, v, (size_t)vlen), 0);
}

static void zdel(struct store *s, const char *k, int i)
{
    char f[16];
    int flen = snprintf(f, sizeof f, "m%d", i);
    CHECK_INT_EQ(store_elem_del(s, k, strlen(k), f, (size_t)flen), 0);
}

struct zvisit {
    const struct zref *want;
    size_t n, bad;
};

static int zvisit_row(void *ctx, const struct store_elem *e)
{
    struct zvisit *z = ctx;
    const struct zref *w = &z->want[z->n++];
    if (e->flen != strlen(w->f) || memcmp(e->f, w->f, e->flen) != 0 ||
        strtod(e->v, NULL) != w->s)
        z->bad++;
    return 0;
}

/* Every member's rank, ZCOUNT over random ranges, and ZRANGE by rank at random places,
 * in k of the current database, against the reference. */
static void zcheck(struct store *s, const char *k, unsigned *seed)
{
    size_t n = zmodel_sort();
    size_t klen = strlen(k);
    for (size_t r = 0; r < n; r += 1 + (size_t)(rand_r(seed) % 97))
        CHECK_INT_EQ(store_zrank(s, k, klen, zsorted[r].s, zsorted[r].f,
                                 strlen(zsorted[r].f)),
                     (int64_t)r);
    CHECK_INT_EQ(store_zcount(s, k, klen, -INFINITY, 0, INFINITY, 0), (int64_t)n);
    for (int t = 0; t < 200; t++) {
        double lo = (double)(rand_r(seed) % 120) - 10, hi = lo + (double)(rand_r(seed) % 60);
        int loex = rand_r(seed) % 2, hiex = rand_r(seed) % 2;
        if (t % 50 == 0)
            lo = -INFINITY;
        if (t % 50 == 1)
            hi = INFINITY;
        int64_t want = 0;
        for (size_t i = 0; i < n; i++)
            want += (loex ? zsorted[i].s > lo : zsorted[i].s >= lo) &&
                    (hiex ? zsorted[i].s < hi : zsorted[i].s <= hi);
        CHECK_INT_EQ(store_zcount(s, k, klen, lo, loex, hi, hiex), want);
    }
    for (int t = 0; t < 50 && n > 0; t++) {
        size_t from = (size_t)rand_r(seed) % (n + 10), count = 1 + (size_t)rand_r(seed) % 40;
        struct zvisit z = { zsorted + (from < n ? from : n), 0, 0 };
        CHECK_INT_EQ(store_zrange_rank(s, k, klen, (int64_t)from, (int64_t)count, zvisit_row,
                                       &z),
                     0);
        CHECK_INT_EQ(z.n, from >= n ? 0 : (n - from < count ? n - from : count));
        CHECK_INT_EQ(z.bad, 0);
    }
}

static int zhalf = 128, zfan = 16; /* the shape store_rank_shape() was given */

static int64_t zsql(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The buckets' shape, read from the file with SQLite: no zb bucket holds more than
 * 2 * zhalf members (a split that never happens leaves one bucket of everything), and
 * their counts add up to the members; every level above counts every member too, every
 * bound there is a bound a level down, and the floor is one. Returns the top level. */
static int zbuckets(const char *path, int64_t members)
{
    sqlite3 *db;
    char sql[512];
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(zsql(db, "SELECT count(*) FROM zb") >= members / (2 * zhalf));
    CHECK(zsql(db, "SELECT coalesce(max(n), 0) FROM zb") <= 2 * zhalf);
    CHECK_INT_EQ(zsql(db, "SELECT coalesce(sum(n), 0) FROM zb"), members);
    int top = (int)zsql(db, "SELECT coalesce(max(lvl), 0) FROM zt");
    for (int l = 1; l <= top; l++) {
        snprintf(sql, sizeof sql, "SELECT coalesce(sum(n), 0) FROM zt WHERE lvl = %d", l);
        CHECK_INT_EQ(zsql(db, sql), members);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM zt WHERE lvl = %d AND s = -9e999 "
                 "AND f = x''", l);
        CHECK_INT_EQ(zsql(db, sql), 1);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM zt a WHERE lvl = %d AND NOT EXISTS "
                 "(SELECT 1 FROM %s b WHERE b.db = a.db AND b.h = a.h AND b.k = a.k AND "
                 "b.s = a.s AND b.f = a.f %s)", l, l == 1 ? "zb" : "zt",
                 l == 1 ? "" : "AND b.lvl = a.lvl - 1");
        CHECK_INT_EQ(zsql(db, sql), 0);
    }
    /* An empty bucket stays only as a floor or as a bound of a bucket a level up. */
    CHECK_INT_EQ(zsql(db, "SELECT count(*) FROM zb a WHERE n = 0 AND NOT (s = -9e999 AND "
                          "f = x'') AND NOT EXISTS (SELECT 1 FROM zt b WHERE b.lvl = 1 AND "
                          "b.db = a.db AND b.h = a.h AND b.k = a.k AND b.s = a.s AND "
                          "b.f = a.f)"),
                 0);
    CHECK_INT_EQ(zsql(db, "SELECT count(*) FROM zt a WHERE n = 0 AND NOT (s = -9e999 AND "
                          "f = x'') AND NOT EXISTS (SELECT 1 FROM zt b WHERE b.lvl = a.lvl + 1 "
                          "AND b.db = a.db AND b.h = a.h AND b.k = a.k AND b.s = a.s AND "
                          "b.f = a.f)"),
                 0);
    sqlite3_close(db);
    return top;
}

static void zopen(struct store *s, const char *k, int64_t n)
{
    CHECK_INT_EQ(store_put_coll(s, k, strlen(k), STORE_ZSET, n, 0, 0), 0);
}

/* Drops the rank buckets' triggers and runs sql on the closed store's file (an older
 * schema), then opens it again, in database 3. */
static struct store *zreopen(const char *path, const char *sql)
{
    sqlite3 *db;
    char err[256];
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "DROP TRIGGER zr_insert; DROP TRIGGER zr_delete; "
                           "DROP TRIGGER zr_update; DROP TRIGGER zt_insert; "
                           "DROP TRIGGER zt_delete; DROP TRIGGER zt_update;",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    struct store *s = store_open(path, err, sizeof err);
    if (!s)
        check_fail(__FILE__, __LINE__, "store_open: %s", err);
    store_use_db(s, 3);
    return s;
}

static void zset_ranks(int half, int fan, int levels)
{
    zhalf = half, zfan = fan;
    store_rank_shape(half, fan);
    char dir[] = "/tmp/twopc-test-store-XXXXXX", path[128], err[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/data.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!s)
        check_fail(__FILE__, __LINE__, "store_open: %s", err);
    unsigned seed = 14;
    store_use_db(s, 0);
    /* Inserts with many ties (score i % 100), in a random order: buckets split. */
    CHECK(store_begin(s) == 0);
    zopen(s, "z", ZN);
    for (int j = 0; j < ZN; j++) {
        int i = (int)((unsigned)j * 7919u % ZN);
        zsc[i] = (double)(i % 100);
        zon[i] = 1;
        zput(s, "z", i, zsc[i]);
    }
    CHECK(store_commit(s) == 0);
    zcheck(s, "z", &seed);
    CHECK_INT_EQ(zbuckets(path, ZN), levels);
    /* Score changes (some to the infinities), deletes, re-inserts below every bucket. */
    CHECK(store_begin(s) == 0);
    for (int t = 0; t < 6000; t++) {
        int i = (int)((unsigned)rand_r(&seed) % ZN), what = rand_r(&seed) % 4;
        if (what == 0 && zon[i]) {
            zon[i] = 0;
            zdel(s, "z", i);
        } else {
            zsc[i] = what == 1 ? -20 - (double)(rand_r(&seed) % 5)
                   : what == 2 ? (t % 7 == 0 ? INFINITY : t % 7 == 1 ? -INFINITY
                                                                      : rand_r(&seed) % 100)
                               : 200 + (double)(rand_r(&seed) % 10);
            zon[i] = 1;
            zput(s, "z", i, zsc[i]);
        }
    }
    CHECK(store_commit(s) == 0);
    zcheck(s, "z", &seed);
    zbuckets(path, (int64_t)zmodel_sort());
    /* A rolled-back transaction leaves the buckets as they were. */
    CHECK(store_begin(s) == 0);
    for (int i = 0; i < ZN; i += 2)
        zdel(s, "z", i);
    for (int i = 1; i < 3000; i += 2)
        zput(s, "z", i, -1000);
    CHECK(store_rollback(s) == 0);
    zcheck(s, "z", &seed);
    /* SWAPDB moves the buckets with the members; a flushed database has none left. */
    CHECK(store_begin(s) == 0);
    CHECK_INT_EQ(store_swap_db(s, 0, 3), 0);
    CHECK(store_commit(s) == 0);
    store_use_db(s, 3);
    zcheck(s, "z", &seed);
    store_use_db(s, 0);
    CHECK_INT_EQ(store_zcount(s, "z", 1, -INFINITY, 0, INFINITY, 0), 0);
    /* Deleting most members one by one (empty buckets go). */
    store_use_db(s, 3);
    CHECK(store_begin(s) == 0);
    for (int i = 0; i < ZN; i++)
        if (zon[i] && i % 10 != 0) {
            zon[i] = 0;
            zdel(s, "z", i);
        }
    CHECK(store_commit(s) == 0);
    zcheck(s, "z", &seed);
    store_close(s);

    /* A database of twopc 0.2.0 (zb, no levels above; it kept no empty bucket): they grow
     * as members come. */
    s = zreopen(path, "DROP TABLE zt; DELETE FROM zb WHERE n = 0;");
    zcheck(s, "z", &seed);
    CHECK(store_begin(s) == 0);
    for (int i = 1; i < ZN; i += 4)
        if (!zon[i]) {
            zsc[i] = (double)(i % 30);
            zon[i] = 1;
            zput(s, "z", i, zsc[i]);
        }
    CHECK(store_commit(s) == 0);
    zcheck(s, "z", &seed);
    zbuckets(path, (int64_t)zmodel_sort());
    store_close(s);
    /* A database from before the buckets: they are built when it is opened. */
    s = zreopen(path, "DROP TABLE zb; DROP TABLE zt;");
    zcheck(s, "z", &seed);
    /* ... and kept from then on. */
    CHECK(store_begin(s) == 0);
    for (int i = 0; i < ZN; i += 3) {
        zsc[i] = (double)(i % 50);
        zon[i] = 1;
        zput(s, "z", i, zsc[i]);
    }
    CHECK(store_commit(s) == 0);
    zcheck(s, "z", &seed);
    /* Deleting the key takes its buckets: a new set under the name starts empty. */
    CHECK(store_begin(s) == 0);
    CHECK_INT_EQ(store_del(s, "z", 1), 0);
    zopen(s, "z", 1);
    memset(zon, 0, sizeof zon);
    zon[5] = 1;
    zsc[5] = 3;
    zput(s, "z", 5, 3);
    CHECK(store_commit(s) == 0);
    zcheck(s, "z", &seed);
    store_close(s);
    store_rank_shape(128, 16);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* The default shape: 12,000 members fill 47 to 94 zb buckets, so level 1 is built. */
static void test_zset_ranks(void)
{
    zset_ranks(128, 16, 1);
}

/* A tiny shape: the same members build every level the tree has, splits, deletes and the
 * empty buckets' cleanup reach all of them. */
static void test_zset_rank_levels(void)
{
    zset_ranks(4, 4, 3);
}

static const struct check_case cases[] = {
    { "migration", test_migration },
    { "databases", test_databases },
    { "zset_ranks", test_zset_ranks },
    { "zset_rank_levels", test_zset_rank_levels },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
