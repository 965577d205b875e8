/* test_store.c -- unit tests of the replica's SQLite store (replica/store.c) around
 * numbered databases: the migration of a database from before them, and the per-database
 * statements (get, scan, count, flush, swap, expired, digest).
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

static const struct check_case cases[] = {
    { "migration", test_migration },
    { "databases", test_databases },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
