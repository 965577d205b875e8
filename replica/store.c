/* store.c -- SQLite storage of committed keys, with prepared statements.
 *
 * Every statement is prepared once at open and reset after each use. store_get hands out
 * the column pointer itself (no copy); the statement is reset at the start of the next
 * store call, which is why the pointer is valid only until then.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

enum store_stmt { ST_GET, ST_PUT, ST_DEL, ST_SET_APPLIED, ST_GET_APPLIED, ST_COUNT, ST_SCAN,
                  ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_MAX };

static const char *const stmt_sql[ST_MAX] = {
    [ST_GET] = "SELECT v FROM kv WHERE k = ?1",
    [ST_PUT] = "INSERT INTO kv(k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = ?2",
    [ST_DEL] = "DELETE FROM kv WHERE k = ?1",
    [ST_SET_APPLIED] = "INSERT INTO meta(name, value) VALUES ('applied_round', ?1) "
                       "ON CONFLICT(name) DO UPDATE SET value = ?1",
    [ST_GET_APPLIED] = "SELECT value FROM meta WHERE name = 'applied_round'",
    [ST_COUNT] = "SELECT count(*) FROM kv",
    [ST_SCAN] = "SELECT k, v FROM kv",
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_MAX];
    sqlite3_stmt *last; /* statement whose row store_get handed out */
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=OFF;"
    "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

struct store *store_open(const char *path, char *err, size_t errlen)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < ST_MAX; i++)
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK)
            goto fail;
    return s;
fail:
    snprintf(err, errlen, "sqlite %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "open failed");
    store_close(s);
    return NULL;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_MAX; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

const char *store_error(const struct store *s)
{
    return sqlite3_errmsg(s->db);
}

static void release_last(struct store *s)
{
    if (s->last) {
        sqlite3_reset(s->last);
        s->last = NULL;
    }
}

/* Runs a statement that returns no rows; resets it. */
static int run(struct store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int store_get(struct store *s, const char *k, size_t klen, const void **v, size_t *vlen)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_GET];
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *vlen = (size_t)sqlite3_column_bytes(st, 0);
        *v = *vlen ? sqlite3_column_blob(st, 0) : "";
        s->last = st;
        return 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_begin(struct store *s)
{
    release_last(s);
    return run(s, s->st[ST_BEGIN]);
}

int store_commit(struct store *s)
{
    release_last(s);
    return run(s, s->st[ST_COMMIT]);
}

int store_rollback(struct store *s)
{
    release_last(s);
    return run(s, s->st[ST_ROLLBACK]);
}

int store_put(struct store *s, const char *k, size_t klen, const void *v, size_t vlen)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_PUT];
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    /* An empty value must be stored as a zero-length blob, not NULL. */
    sqlite3_bind_blob64(st, 2, vlen ? v : "", vlen, SQLITE_STATIC);
    return run(s, st);
}

int store_del(struct store *s, const char *k, size_t klen)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_DEL];
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    return run(s, st);
}

int store_set_applied(struct store *s, uint64_t rid)
{
    release_last(s);
    sqlite3_bind_int64(s->st[ST_SET_APPLIED], 1, (sqlite3_int64)rid);
    return run(s, s->st[ST_SET_APPLIED]);
}

uint64_t store_applied(struct store *s)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_GET_APPLIED];
    uint64_t v = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

int store_checkpoint(struct store *s)
{
    /* With synchronous=FULL a commit fsyncs the WAL, and the fsync covers every earlier,
     * unsynced commit too. This works whatever readers hold (a WAL checkpoint may not). */
    release_last(s);
    if (sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    uint64_t applied = store_applied(s);
    int rc = store_begin(s) == 0 && store_set_applied(s, applied) == 0 && store_commit(s) == 0
                 ? 0
                 : -1;
    if (sqlite3_exec(s->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK)
        rc = -1;
    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return rc;
}

int64_t store_count(struct store *s)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_COUNT];
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

/* FNV-1a over bytes, 64-bit. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int store_digest(struct store *s, char *out)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_SCAN];
    uint64_t sum = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t kl = (size_t)sqlite3_column_bytes(st, 0);
        size_t vl = (size_t)sqlite3_column_bytes(st, 1);
        uint64_t h = fnv1a(0xcbf29ce484222325ULL, &kl, sizeof kl);
        h = fnv1a(h, sqlite3_column_blob(st, 0), kl);
        h = fnv1a(h, sqlite3_column_blob(st, 1), vl);
        sum += h * 0x9e3779b97f4a7c15ULL; /* order-independent: rows come in key order anyway */
    }
    sqlite3_reset(st);
    snprintf(out, 17, "%016llx", (unsigned long long)sum);
    return rc == SQLITE_DONE ? 0 : -1;
}
