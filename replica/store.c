/* store.c -- SQLite storage of committed keys, with prepared statements.
 *
 * Every statement is prepared once at open and reset after each use. store_get hands out
 * the column pointers themselves (no copy); the statement is reset at the start of the
 * next store call, which is why the pointers are valid only until then.
 *
 * SCAN order is (h, k), h being a hash of the key (store_key_hash): a position that does
 * not depend on which other keys exist, so a cursor holding "the next h to visit" never
 * skips a key that exists for the whole iteration, however the data changes meanwhile,
 * and means the same thing on every replica. (h, k) is the table's primary key, so a
 * resume is O(log n) and rows come in SCAN order for free.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <math.h>
#include <sqlite3.h>

#include "log.h"

enum store_stmt { ST_GET, ST_PUT, ST_SET_EXPIRE, ST_DEL, ST_FLUSH, ST_FLUSH_ALL, ST_SWAP_OUT,
                  ST_SWAP_IN, ST_SWAP_BACK, ST_SET_APPLIED, ST_GET_APPLIED, ST_COUNT,
                  ST_COUNT_ALIVE, ST_COUNT_DB, ST_NEXT_DB, ST_DIGEST, ST_SCAN, ST_SCAN_TIES,
                  ST_EXPIRED, ST_SET_META, ST_GET_IDENTITY, ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
                  ST_PUT_COLL, ST_EL_GET, ST_EL_PUT, ST_EL_DEL, ST_EL_DEL_KEY, ST_EL_FLUSH,
                  ST_EL_FLUSH_ALL, ST_EL_SWAP_OUT, ST_EL_SWAP_IN, ST_EL_SWAP_BACK, ST_EL_SCAN,
                  ST_EL_DIGEST, ST_Z_RANGE, ST_Z_REVRANGE, ST_Z_RANGE_FROM, ST_Z_WITHIN,
                  ST_ZB_FIND, ST_ZB_TOTAL, ST_ZB_SPLIT_AT, ST_ZB_ADD, ST_ZB_SET_N,
                  ST_ZB_DEL_KEY, ST_ZB_FLUSH, ST_ZB_FLUSH_ALL, ST_ZB_SWAP_OUT, ST_ZB_SWAP_IN,
                  ST_ZB_SWAP_BACK, ST_ZB_FROM, ST_ZB_COUNT, ST_ZB_AT, ST_ZB_DEL_AT, ST_ZB_FLOOR,
                  ST_ZT_TOP, ST_ZT_FIND, ST_ZT_FROM, ST_ZT_COUNT, ST_ZT_TOTAL, ST_ZT_AT,
                  ST_ZT_ADD, ST_ZT_SET_N, ST_ZT_DEL_AT, ST_ZT_DEL_KEY, ST_ZT_FLUSH,
                  ST_ZT_FLUSH_ALL, ST_ZT_SWAP_OUT, ST_ZT_SWAP_IN, ST_ZT_SWAP_BACK, ST_ZB_SUM,
                  ST_ZT_SUM, ST_EL_ANY, ST_MAX };

/* Rows are found by (db, h, k), the primary key: the caller's key is hashed in C and bound
 * as h, so every statement uses the primary key and no secondary index is maintained on the
 * write path (only the small partial index on rows with a TTL). ?9 is always the
 * database, bound from struct store's db (bind_db) and nowhere else. */
static const char *const stmt_sql[ST_MAX] = {
    [ST_GET] = "SELECT v, exp, t, n FROM kv WHERE db = ?9 AND h = ?2 AND k = ?1",
    [ST_PUT] = "INSERT INTO kv(db, k, v, exp, h, t, n) VALUES (?9, ?1, ?2, ?3, ?4, 0, 0) "
               "ON CONFLICT(db, h, k) DO UPDATE SET v = ?2, exp = ?3, t = 0, n = 0",
    [ST_PUT_COLL] = "INSERT INTO kv(db, k, v, exp, h, t, n) VALUES (?9, ?1, x'', ?2, ?3, ?4, ?5) "
                    "ON CONFLICT(db, h, k) DO UPDATE SET v = x'', exp = ?2, t = ?4, n = ?5",
    [ST_SET_EXPIRE] = "UPDATE kv SET exp = ?2 WHERE db = ?9 AND h = ?3 AND k = ?1",
    [ST_DEL] = "DELETE FROM kv WHERE db = ?9 AND h = ?2 AND k = ?1",
    [ST_FLUSH] = "DELETE FROM kv WHERE db = ?9",
    [ST_FLUSH_ALL] = "DELETE FROM kv",
    /* SWAPDB in three steps through db -1 (never a real database): one UPDATE swapping
     * both values would meet the primary key half-way when both databases hold a key. */
    [ST_SWAP_OUT] = "UPDATE kv SET db = -1 WHERE db = ?1",
    [ST_SWAP_IN] = "UPDATE kv SET db = ?1 WHERE db = ?2",
    [ST_SWAP_BACK] = "UPDATE kv SET db = ?2 WHERE db = -1",
    [ST_SET_APPLIED] = "INSERT INTO meta(name, value) VALUES ('applied_round', ?1) "
                       "ON CONFLICT(name) DO UPDATE SET value = ?1",
    [ST_GET_APPLIED] = "SELECT value FROM meta WHERE name = 'applied_round'",
    [ST_COUNT] = "SELECT count(*) FROM kv",
    [ST_COUNT_ALIVE] = "SELECT count(*) FROM kv WHERE db = ?9 AND (exp = 0 OR exp >= ?1)",
    [ST_COUNT_DB] = "SELECT db, count(*), count(NULLIF(exp, 0)), "
                    "coalesce(sum(CASE WHEN exp > 0 THEN exp - ?1 ELSE 0 END), 0) "
                    "FROM kv WHERE exp = 0 OR exp >= ?1 GROUP BY db ORDER BY db",
    [ST_NEXT_DB] = "SELECT db FROM kv WHERE db >= ?1 ORDER BY db LIMIT 1",
    [ST_DIGEST] = "SELECT k, v, exp, db, t, n FROM kv",
    [ST_SCAN] = "SELECT k, exp, h, t FROM kv WHERE db = ?9 AND h >= ?1 ORDER BY h, k LIMIT ?2",
    [ST_SCAN_TIES] = "SELECT k, exp, h, t FROM kv WHERE db = ?9 AND h = ?1 AND k > ?2 "
                     "ORDER BY k",
    [ST_EXPIRED] = "SELECT k, exp, h, t, db FROM kv WHERE exp > 0 AND exp < ?1 AND db = ?9 "
                   "LIMIT ?2",
    [ST_SET_META] = "INSERT INTO meta(name, value) VALUES (?1, ?2) "
                    "ON CONFLICT(name) DO UPDATE SET value = ?2",
    [ST_GET_IDENTITY] = "SELECT name, value FROM meta WHERE name IN ('cluster_id', 'replica_id')",
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Elements: ?1 db, ?2 h, ?3 k, ?4 p, ?5 f, ?6 v. */
    [ST_EL_GET] = "SELECT v FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 AND p = ?4 AND f = ?5",
    /* s: a sorted set's score (?7, the value parsed), NULL for every other type. */
    [ST_EL_PUT] = "INSERT INTO el(db, h, k, p, f, v, s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                  "CASE WHEN (SELECT t FROM kv WHERE db = ?1 AND h = ?2 AND k = ?3) = 4 "
                  "THEN ?7 END) "
                  "ON CONFLICT(db, h, k, p, f) DO UPDATE SET v = ?6, s = excluded.s",
    /* s: the deleted member's score, for the rank buckets' cleanup (NULL: not a member). */
    [ST_EL_DEL] = "DELETE FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 AND p = ?4 AND f = ?5 "
                  "RETURNING s",
    [ST_EL_DEL_KEY] = "DELETE FROM el WHERE db = ?1 AND h = ?2 AND k = ?3",
    [ST_EL_FLUSH] = "DELETE FROM el WHERE db = ?1",
    [ST_EL_FLUSH_ALL] = "DELETE FROM el",
    [ST_EL_SWAP_OUT] = "UPDATE el SET db = -1 WHERE db = ?1",
    [ST_EL_SWAP_IN] = "UPDATE el SET db = ?1 WHERE db = ?2",
    [ST_EL_SWAP_BACK] = "UPDATE el SET db = ?2 WHERE db = -1",
    [ST_EL_SCAN] = "SELECT f, v, p FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 AND p >= ?4 "
                   "ORDER BY p, f",
    [ST_EL_DIGEST] = "SELECT db, k, f, v FROM el",
    /* Sorted sets, through el_score: ?4 min, ?5 max (inclusive), ?6 offset, ?7 limit. The
     * ranges read only f and s, which the index holds: a member skipped by an offset costs
     * one index step, not a seek in el (1,000,000 skipped: 66 ms rather than 3.7 s). */
    [ST_Z_RANGE] = "SELECT f, s FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 AND s >= ?4 "
                   "AND s <= ?5 ORDER BY s, f LIMIT ?7 OFFSET ?6",
    [ST_Z_REVRANGE] = "SELECT f, s FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 AND s >= ?4 "
                      "AND s <= ?5 ORDER BY s DESC, f DESC LIMIT ?7 OFFSET ?6",
    /* From (?4 score, ?5 member) on, in order: the start of a rank bucket. */
    [ST_Z_RANGE_FROM] = "SELECT f, s FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 "
                        "AND s IS NOT NULL AND (s, f) >= (?4, ?5) ORDER BY s, f "
                        "LIMIT ?7 OFFSET ?6",
    /* Members in [(?4, ?5), (?6, ?7)): the part of a rank inside its bucket. */
    [ST_Z_WITHIN] = "SELECT count(*) FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 "
                    "AND s IS NOT NULL AND (s, f) >= (?4, ?5) AND (s, f) < (?6, ?7)",
    /* Rank buckets (zb and zt, see ZB_SCHEMA): ?4 s and ?5 f a bucket's lower bound, ?6 a
     * zt level, ?7 a count n. */
    [ST_ZB_FIND] = "SELECT s, f, n FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3 "
                   "AND (s, f) <= (?4, ?5) ORDER BY s DESC, f DESC LIMIT 1",
    [ST_ZB_TOTAL] = "SELECT coalesce(sum(n), 0) FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3",
    [ST_ZB_SPLIT_AT] = "SELECT s, f FROM el WHERE db = ?1 AND h = ?2 AND k = ?3 "
                       "AND s IS NOT NULL AND (s, f) >= (?4, ?5) ORDER BY s, f "
                       "LIMIT 1 OFFSET ?6",
    [ST_ZB_ADD] = "INSERT INTO zb(db, h, k, s, f, n) VALUES (?1, ?2, ?3, ?4, ?5, ?7)",
    [ST_ZB_SET_N] = "UPDATE zb SET n = ?7 WHERE db = ?1 AND h = ?2 AND k = ?3 AND s = ?4 "
                    "AND f = ?5",
    [ST_ZB_FROM] = "SELECT s, f, n FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3 "
                   "AND (s, f) >= (?4, ?5) ORDER BY s, f",
    [ST_ZB_COUNT] = "SELECT count(*) FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3",
    [ST_ZB_AT] = "SELECT n FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3 AND s = ?4 AND f = ?5",
    [ST_ZB_DEL_AT] = "DELETE FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3 AND s = ?4 AND f = ?5",
    [ST_ZB_FLOOR] = "INSERT OR IGNORE INTO zb(db, h, k, s, f, n) VALUES (?1, ?2, ?3, -9e999, "
                    "x'', 0)",
    [ST_ZT_TOP] = "SELECT coalesce(max(lvl), 0) FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3",
    [ST_ZT_FIND] = "SELECT s, f, n FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3 AND lvl = ?6 "
                   "AND (s, f) <= (?4, ?5) ORDER BY s DESC, f DESC LIMIT 1",
    [ST_ZT_FROM] = "SELECT s, f, n FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3 AND lvl = ?6 "
                   "AND (s, f) >= (?4, ?5) ORDER BY s, f",
    [ST_ZT_COUNT] = "SELECT count(*) FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3 AND lvl = ?6",
    [ST_ZT_TOTAL] = "SELECT coalesce(sum(n), 0) FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3 "
                    "AND lvl = ?6",
    [ST_ZT_AT] = "SELECT n FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3 AND lvl = ?6 AND s = ?4 "
                 "AND f = ?5",
    [ST_ZT_ADD] = "INSERT INTO zt(db, h, k, lvl, s, f, n) VALUES (?1, ?2, ?3, ?6, ?4, ?5, ?7)",
    [ST_ZT_SET_N] = "UPDATE zt SET n = ?7 WHERE db = ?1 AND h = ?2 AND k = ?3 AND lvl = ?6 "
                    "AND s = ?4 AND f = ?5",
    [ST_ZT_DEL_AT] = "DELETE FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3 AND lvl = ?6 "
                     "AND s = ?4 AND f = ?5",
    [ST_ZT_DEL_KEY] = "DELETE FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3",
    [ST_ZT_FLUSH] = "DELETE FROM zt WHERE db = ?1",
    [ST_ZT_FLUSH_ALL] = "DELETE FROM zt",
    [ST_ZT_SWAP_OUT] = "UPDATE zt SET db = -1 WHERE db = ?1",
    [ST_ZT_SWAP_IN] = "UPDATE zt SET db = ?1 WHERE db = ?2",
    [ST_ZT_SWAP_BACK] = "UPDATE zt SET db = ?2 WHERE db = -1",
    /* The counts of the buckets in [(?4, ?5), (?7, ?8)). */
    [ST_ZB_SUM] = "SELECT coalesce(sum(n), 0) FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3 "
                  "AND (s, f) >= (?4, ?5) AND (s, f) < (?7, ?8)",
    [ST_ZT_SUM] = "SELECT coalesce(sum(n), 0) FROM zt WHERE db = ?1 AND h = ?2 AND k = ?3 "
                  "AND lvl = ?6 AND (s, f) >= (?4, ?5) AND (s, f) < (?7, ?8)",
    [ST_ZB_DEL_KEY] = "DELETE FROM zb WHERE db = ?1 AND h = ?2 AND k = ?3",
    [ST_ZB_FLUSH] = "DELETE FROM zb WHERE db = ?1",
    [ST_ZB_FLUSH_ALL] = "DELETE FROM zb",
    [ST_ZB_SWAP_OUT] = "UPDATE zb SET db = -1 WHERE db = ?1",
    [ST_ZB_SWAP_IN] = "UPDATE zb SET db = ?1 WHERE db = ?2",
    [ST_ZB_SWAP_BACK] = "UPDATE zb SET db = ?2 WHERE db = -1",
    [ST_EL_ANY] = "SELECT EXISTS (SELECT 1 FROM el WHERE db = ?1 AND h = ?2 AND k = ?3)",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_MAX];
    sqlite3_stmt *last; /* statement whose row store_get handed out */
    int memory;         /* an in-memory database (store_open_memory) */
    unsigned char *image; /* memory store: its database as of the last store_checkpoint */
    size_t image_len;     /* (sqlite3_serialize; NULL: never checkpointed) */
    int cur_db;           /* the database every kv statement works in (store_use_db) */
};

#define KV_TABLE(name)                                                                     \
    "CREATE TABLE " name "(db INTEGER NOT NULL DEFAULT 0, k BLOB NOT NULL, v BLOB NOT NULL," \
    " exp INTEGER NOT NULL DEFAULT 0, h INTEGER NOT NULL, t INTEGER NOT NULL DEFAULT 0,"    \
    " n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(db, h, k)) WITHOUT ROWID;"

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=OFF;"
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS el(db INTEGER NOT NULL DEFAULT 0, h INTEGER NOT NULL,"
    " k BLOB NOT NULL, p INTEGER NOT NULL, f BLOB NOT NULL, v BLOB NOT NULL, s REAL,"
    " PRIMARY KEY(db, h, k, p, f)) WITHOUT ROWID;";

/* After the migration, the table is in its current shape in every database. */
static const char indexes[] =
    "CREATE INDEX IF NOT EXISTS kv_exp ON kv(exp) WHERE exp > 0;"
    "CREATE INDEX IF NOT EXISTS el_score ON el(db, h, k, s, f) WHERE s IS NOT NULL;";

/* Rank buckets: ZRANK, ZCOUNT and ZRANGE by rank without counting every member before.
 * A sorted set's members, in (s, f) order, are cut into buckets; a zb row is one bucket:
 * its lower bound (s, f) (inclusive; the bucket runs to the next row's bound) and n, the
 * number of members in it. A member belongs to the bucket with the greatest bound at or
 * below it; (-inf, '') -- below every member, "the floor" -- is the bound of the bucket
 * made when a member arrives below every bucket, so every member has one. A bucket grows
 * to 2 * zb_half members and is then split in two (store_elem_put: the triggers cannot
 * name the bucket that grew once a new one exists); an empty one is deleted.
 *
 * Above zb, zt holds up to ZT_LEVELS levels of coarser buckets, a tree of counts: a level
 * l bucket counts the members from its bound to the next level l bound, and every level l
 * bound is also a level l - 1 bound (zb's, for level 1), so a level l bucket is a run of
 * whole level l - 1 buckets, its children. Every level from 1 up holds the floor. A level
 * l bucket splits past 2 * zb_half * zt_fan^l members (checked when one of its children
 * splits), at the child where half of them lie; level l + 1 is built, from level l's rows,
 * when level l -- the top -- holds more than 2 * zt_fan rows. A rank is then walked down
 * from the top: the counts of the top level's rows before the member's bucket (one seek for
 * the bucket, one sum), then of that bucket's children before the member's, and so on down
 * to zb, and at last the members of its zb bucket before it: about 2 * zt_fan rows a level
 * and 2 * zb_half index entries, O(log n) (1,000,000 members: 2 levels above zb). Past
 * ZT_LEVELS the top level only grows wider (a row per 0.5-1 M members). ZRANGE by rank walks
 * down the same way.
 *
 * The counts of every level are kept by triggers on el, so every row written or deleted (a
 * command, a repair, a rollback, a test editing the file) keeps them true, in the same
 * transaction; the bulk statements (a key, a database, all, SWAPDB) clear or move the rows
 * first. A bucket that empties is deleted unless it is a floor or the bound of a bucket a
 * level up (zb by its trigger, the levels above by store_elem_del, which also deletes the
 * empty buckets under a deleted one's bound), so the tree never keeps more than a few
 * empty rows, even under a sliding window of scores. */
#define ZT_LEVELS 3
static int64_t zb_half = 128, zt_fan = 16; /* store_rank_shape() */
#define ZB_BUCKET(r)                                                                       \
    "(SELECT s, f FROM zb WHERE db = " r ".db AND h = " r ".h AND k = " r ".k AND (s, f) <= (" \
    r ".s, " r ".f) ORDER BY s DESC, f DESC LIMIT 1)"
#define ZB_WHERE(r) " db = " r ".db AND h = " r ".h AND k = " r ".k AND (s, f) = " ZB_BUCKET(r)
/* (Not INSERT OR IGNORE: in a trigger, the conflict policy of the statement that fired it
 * -- ST_EL_PUT's upsert -- would win, and a bucket already there would fail it.) */
#define ZB_IN(r)                                                                           \
    "INSERT INTO zb(db, h, k, s, f, n) SELECT " r ".db, " r ".h, " r ".k, -9e999, x'', 0 "    \
    "WHERE " r ".s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM zb WHERE db = " r ".db AND "  \
    "h = " r ".h AND k = " r ".k AND s = -9e999 AND f = x'');"                             \
    "UPDATE zb SET n = n + 1 WHERE " r ".s IS NOT NULL AND" ZB_WHERE(r) ";"
#define ZB_OUT(r)                                                                          \
    "UPDATE zb SET n = n - 1 WHERE " r ".s IS NOT NULL AND" ZB_WHERE(r) ";"                \
    "DELETE FROM zb WHERE " r ".s IS NOT NULL AND n <= 0 AND" ZB_WHERE(r) " AND NOT EXISTS " \
    "(SELECT 1 FROM zt WHERE zt.db = zb.db AND zt.h = zb.h AND zt.k = zb.k AND zt.lvl = 1 " \
    "AND zt.s = zb.s AND zt.f = zb.f);"
/* Level l's bucket of row r, counted up or down (op "+" or "-"). */
#define ZT_COUNT(r, op, l)                                                                 \
    "UPDATE zt SET n = n " op " 1 WHERE " r ".s IS NOT NULL AND db = " r ".db AND h = " r   \
    ".h AND k = " r ".k AND lvl = " l " AND (s, f) = (SELECT s, f FROM zt WHERE db = " r    \
    ".db AND h = " r ".h AND k = " r ".k AND lvl = " l " AND (s, f) <= (" r ".s, " r ".f) "  \
    "ORDER BY s DESC, f DESC LIMIT 1);"
#define ZT_ALL(r, op) /* ZT_LEVELS of them */                                               \
    ZT_COUNT(r, op, "1") ZT_COUNT(r, op, "2") ZT_COUNT(r, op, "3")
#define ZT_ANY(r)                                                                          \
    "EXISTS (SELECT 1 FROM zt WHERE db = " r ".db AND h = " r ".h AND k = " r ".k)"
static const char zb_schema[] =
    "CREATE TABLE IF NOT EXISTS zb(db INTEGER NOT NULL, h INTEGER NOT NULL, k BLOB NOT NULL,"
    " s REAL NOT NULL, f BLOB NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(db, h, k, s, f)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS zt(db INTEGER NOT NULL, h INTEGER NOT NULL, k BLOB NOT NULL,"
    " lvl INTEGER NOT NULL, s REAL NOT NULL, f BLOB NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(db, h, k, lvl, s, f)) WITHOUT ROWID;"
    /* zb's own triggers, before zt (twopc 0.2.0's stores) */
    "DROP TRIGGER IF EXISTS zb_insert; DROP TRIGGER IF EXISTS zb_delete;"
    "DROP TRIGGER IF EXISTS zb_update;"
    "CREATE TRIGGER IF NOT EXISTS zr_insert AFTER INSERT ON el WHEN NEW.s IS NOT NULL BEGIN "
    ZB_IN("NEW") " END;"
    "CREATE TRIGGER IF NOT EXISTS zr_delete AFTER DELETE ON el WHEN OLD.s IS NOT NULL BEGIN "
    ZB_OUT("OLD") " END;"
    "CREATE TRIGGER IF NOT EXISTS zr_update AFTER UPDATE OF s ON el "
    "WHEN OLD.s IS NOT NEW.s BEGIN " ZB_OUT("OLD") ZB_IN("NEW") " END;"
    /* The levels above, only for a set that has them (a small one pays one seek). */
    "CREATE TRIGGER IF NOT EXISTS zt_insert AFTER INSERT ON el WHEN NEW.s IS NOT NULL AND "
    ZT_ANY("NEW") " BEGIN " ZT_ALL("NEW", "+") " END;"
    "CREATE TRIGGER IF NOT EXISTS zt_delete AFTER DELETE ON el WHEN OLD.s IS NOT NULL AND "
    ZT_ANY("OLD") " BEGIN " ZT_ALL("OLD", "-") " END;"
    "CREATE TRIGGER IF NOT EXISTS zt_update AFTER UPDATE OF s ON el WHEN OLD.s IS NOT NEW.s "
    "AND " ZT_ANY("OLD") " BEGIN " ZT_ALL("OLD", "-") ZT_ALL("NEW", "+") " END;";
/* The buckets of the sorted sets a database held before zb: one per 128 members (zb_half;
 * the levels above are built as they grow). */
#define ZB_FILL_SQL(half)                                                                  \
    "INSERT INTO zb(db, h, k, s, f, n) SELECT db, h, k, s, f, min(" #half ", c - r + 1) "     \
    "FROM (SELECT db, h, k, s, f, row_number() OVER w AS r, count(*) OVER "                \
    "(PARTITION BY db, h, k) AS c FROM el WHERE s IS NOT NULL "                            \
    "WINDOW w AS (PARTITION BY db, h, k ORDER BY s, f)) WHERE (r - 1) % " #half " = 0"
#define ZB_FILL(half) ZB_FILL_SQL(half)

/* An el from before sorted sets has no s: it gains the column (NULL: no element of such a
 * database is a sorted set's). */
static int migrate_el(sqlite3 *db, const char *path)
{
    sqlite3_stmt *st;
    int has_s = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA table_info(el)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW)
        has_s |= strcmp((const char *)sqlite3_column_text(st, 1), "s") == 0;
    sqlite3_finalize(st);
    if (has_s)
        return 0;
    if (sqlite3_exec(db, "ALTER TABLE el ADD COLUMN s REAL", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    LOG_NOTICE("store %s: migrated el to the schema with sorted-set scores", path);
    return 0;
}

/* Creates zb and its triggers; a database from before them gets the buckets of the
 * sorted sets it holds, in the same transaction (a progress line: a pass over every
 * member). */
static int migrate_zb(sqlite3 *db, const char *path)
{
    sqlite3_stmt *st;
    int exists = 0;
    int64_t members = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'zb'", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        exists = sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    if (exists)
        return sqlite3_exec(db, zb_schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM el WHERE s IS NOT NULL", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        members = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (members > 0)
        LOG_NOTICE("store %s: building the rank buckets of %lld sorted-set members", path,
                   (long long)members);
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_exec(db, zb_schema, NULL, NULL, NULL) != SQLITE_OK ||
        (members > 0 && sqlite3_exec(db, ZB_FILL(128), NULL, NULL, NULL) != SQLITE_OK) ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (members > 0)
        LOG_NOTICE("store %s: rank buckets built", path);
    return 0;
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

uint64_t store_key_hash(const char *k, size_t klen)
{
    /* FNV-1a, then a 64-bit finalizer (MurmurHash3's fmix64) so that similar keys
     * ("key:1", "key:2") land far apart; 62 bits so that h + 1 always fits a cursor. */
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, k, klen);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (h >> 2) + 1;
}

/* twopc_key_hash(k) in SQL, for the migration of databases created without h. */
static void sql_key_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const void *k = sqlite3_value_blob(argv[0]);
    size_t klen = (size_t)sqlite3_value_bytes(argv[0]);
    sqlite3_result_int64(ctx, (sqlite3_int64)store_key_hash(k ? k : "", klen));
}

/* kv's columns: *exists, whether it has exp, the (db, h, k) primary key and the type
 * column t (with n, added together). */
static int kv_shape(sqlite3 *db, int *exists, int *has_exp, int *current, int *has_type)
{
    sqlite3_stmt *st;
    int db_first = 0, h_second = 0, k_third = 0;
    *exists = *has_exp = *has_type = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA table_info(kv)", -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        int pk = sqlite3_column_int(st, 5);
        *exists = 1;
        *has_exp |= strcmp(name, "exp") == 0;
        *has_type |= strcmp(name, "t") == 0;
        db_first |= strcmp(name, "db") == 0 && pk == 1;
        h_second |= strcmp(name, "h") == 0 && pk == 2;
        k_third |= strcmp(name, "k") == 0 && pk == 3;
    }
    sqlite3_finalize(st);
    *current = db_first && h_second && k_third;
    return 0;
}

/* Creates kv, or rebuilds one from an older shape (kv(k PRIMARY KEY, v), or
 * kv(k, v, exp, h) keyed by (h, k), from before numbered databases) into the current one,
 * in one transaction: every row keeps its value and expiry, gets its h, and lands in
 * database 0 (the only one older versions had). */
static int migrate(sqlite3 *db, const char *path)
{
    int exists, has_exp, current, has_type;
    if (kv_shape(db, &exists, &has_exp, &current, &has_type) < 0)
        return -1;
    if (!exists)
        return sqlite3_exec(db, KV_TABLE("kv"), NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (current && has_type)
        return 0;
    if (current) {
        /* Every row of a database from before collections is a string: t = 0, n = 0. */
        if (sqlite3_exec(db, "BEGIN;"
                             "ALTER TABLE kv ADD COLUMN t INTEGER NOT NULL DEFAULT 0;"
                             "ALTER TABLE kv ADD COLUMN n INTEGER NOT NULL DEFAULT 0;"
                             "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        LOG_NOTICE("store %s: migrated kv to the schema with value types", path);
        return 0;
    }
    char sql[1024];
    snprintf(sql, sizeof sql,
             "BEGIN;" KV_TABLE("kv_new")
             "INSERT INTO kv_new(db, k, v, exp, h, t, n) "
             "SELECT 0, k, v, %s, twopc_key_hash(k), %s FROM kv;"
             "DROP TABLE kv;"
             "ALTER TABLE kv_new RENAME TO kv;"
             "COMMIT;", has_exp ? "exp" : "0", has_type ? "t, n" : "0, 0");
    if (sqlite3_create_function_v2(db, "twopc_key_hash", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_key_hash,
                                   NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    LOG_NOTICE("store %s: migrated kv to the schema with expiry times, SCAN order and "
               "numbered databases (every key in database 0)", path);
    return 0;
}

/* Opens path (":memory:" for a memory store) and, if image is not NULL, loads it as the
 * database (taken over: freed by SQLite, also on failure), then creates or migrates the
 * schema and prepares the statements. Returns the store, or NULL with err. */
static struct store *open_db(const char *path, unsigned char *image, size_t image_len,
                             char *err, size_t errlen)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        sqlite3_free(image);
        return NULL;
    }
    s->memory = strcmp(path, ":memory:") == 0;
    /* Only the event loop's thread ever touches SQLite (the log thread writes the vote log
     * only), so neither the connection's mutex nor the allocator's statistics (a global
     * mutex around every sqlite3_malloc) are needed: they were 11% of a replica's CPU
     * under pipelined writes. The configuration must precede SQLite's initialization. */
    static int configured;
    if (!configured) {
        configured = 1;
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    }
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_free(image);
        goto fail;
    }
    /* The image becomes the database's memory; SQLite frees it when the database closes
     * (or at once if this fails). */
    if (image && sqlite3_deserialize(s->db, "main", image, (sqlite3_int64)image_len,
                                     (sqlite3_int64)image_len,
                                     SQLITE_DESERIALIZE_FREEONCLOSE |
                                         SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(s->db, 5000);
    char cache[64]; /* negative: KiB */
    snprintf(cache, sizeof cache, "PRAGMA cache_size=-%llu",
             (unsigned long long)(store_cache_bytes >> 10 ? store_cache_bytes >> 10 : 1));
    if (sqlite3_exec(s->db, cache, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        migrate(s->db, path) < 0 || migrate_el(s->db, path) < 0 ||
        sqlite3_exec(s->db, indexes, NULL, NULL, NULL) != SQLITE_OK ||
        migrate_zb(s->db, path) < 0)
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

uint64_t store_cache_bytes = 64ULL << 20;

struct store *store_open(const char *path, char *err, size_t errlen)
{
    return open_db(path, NULL, 0, err, errlen);
}

struct store *store_open_memory(char *err, size_t errlen)
{
    return open_db(":memory:", NULL, 0, err, errlen);
}

struct store *store_power_loss(struct store *s, char *err, size_t errlen)
{
    unsigned char *image = s ? s->image : NULL;
    size_t len = s ? s->image_len : 0;
    if (s)
        s->image = NULL; /* handed over to the new database */
    store_close(s);
    return open_db(":memory:", image, len, err, errlen);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_MAX; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    sqlite3_free(s->image);
    free(s);
}

const char *store_error(const struct store *s)
{
    return sqlite3_errmsg(s->db);
}

int store_room(struct store *s, uint64_t need, char *cause, size_t causelen)
{
    const char *path = s->memory ? NULL : sqlite3_db_filename(s->db, "main");
    struct statvfs v;
    if (!path || !*path || statvfs(path, &v) < 0)
        return 0; /* not known: the writes themselves will tell */
    if ((uint64_t)v.f_bavail * v.f_frsize >= need)
        return 0;
    snprintf(cause, causelen, "%s", strerror(ENOSPC));
    return -1;
}

static void release_last(struct store *s)
{
    if (s->last) {
        sqlite3_reset(s->last);
        s->last = NULL;
    }
}

struct store *store_copy(struct store *s, char *err, size_t errlen)
{
    sqlite3_int64 len = 0;
    release_last(s);
    unsigned char *image = sqlite3_serialize(s->db, "main", &len, 0);
    if (!image) {
        snprintf(err, errlen, "sqlite_serialize failed");
        return NULL;
    }
    return open_db(":memory:", image, (size_t)len, err, errlen);
}

/* Runs a statement that returns no rows; resets it. */
static int run(struct store *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Steps st, a one-count statement, and resets it: the count or -1. */
static int64_t z_count(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return n;
}

/* Binds ?9, the database, in st: every statement on kv that names one takes it from here. */
static void bind_db(struct store *s, sqlite3_stmt *st)
{
    sqlite3_bind_int(st, 9, s->cur_db);
}

void store_use_db(struct store *s, int db)
{
    s->cur_db = db;
}

int store_db(const struct store *s)
{
    return s->cur_db;
}

/* A blob column; never NULL (SQLite returns NULL for a zero-length blob). */
static const char *column_blob(sqlite3_stmt *st, int col, size_t *len)
{
    *len = (size_t)sqlite3_column_bytes(st, col);
    const char *p = sqlite3_column_blob(st, col);
    return p ? p : "";
}

int store_get(struct store *s, const char *k, size_t klen, struct store_row *row)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_GET];
    bind_db(s, st);
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)store_key_hash(k, klen));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row->k = k;
        row->klen = klen;
        row->v = column_blob(st, 0, &row->vlen);
        row->exp = sqlite3_column_int64(st, 1);
        row->t = sqlite3_column_int(st, 2);
        row->n = sqlite3_column_int64(st, 3);
        row->h = 0; /* not read: callers that need it hash the key */
        row->db = s->cur_db;
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

/* Binds (db, h, k) of an element statement: parameters 1 to 3. */
static void bind_el_key(struct store *s, sqlite3_stmt *st, const char *k, size_t klen)
{
    sqlite3_bind_int(st, 1, s->cur_db);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)store_key_hash(k, klen));
    sqlite3_bind_blob64(st, 3, k, klen, SQLITE_STATIC);
}

/* Deletes every element of k, its rank buckets first (the triggers then find none to count
 * down). A string or a missing key has none: one seek in el's primary key finds that, and
 * the DELETEs are skipped -- a DELETE on el runs its trigger program even for no rows,
 * which doubled the cost of a SET's store write. */
static int del_elements(struct store *s, const char *k, size_t klen)
{
    bind_el_key(s, s->st[ST_EL_ANY], k, klen);
    int64_t any = z_count(s->st[ST_EL_ANY]);
    if (any <= 0)
        return (int)any;
    bind_el_key(s, s->st[ST_ZT_DEL_KEY], k, klen);
    bind_el_key(s, s->st[ST_ZB_DEL_KEY], k, klen);
    if (run(s, s->st[ST_ZT_DEL_KEY]) < 0 || run(s, s->st[ST_ZB_DEL_KEY]) < 0)
        return -1;
    sqlite3_stmt *st = s->st[ST_EL_DEL_KEY];
    bind_el_key(s, st, k, klen);
    return run(s, st);
}

int store_put(struct store *s, const char *k, size_t klen, const void *v, size_t vlen,
              int64_t exp)
{
    release_last(s);
    if (del_elements(s, k, klen) < 0)
        return -1;
    sqlite3_stmt *st = s->st[ST_PUT];
    bind_db(s, st);
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    /* An empty value must be stored as a zero-length blob, not NULL. */
    sqlite3_bind_blob64(st, 2, vlen ? v : "", vlen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, exp);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)store_key_hash(k, klen));
    return run(s, st);
}

int store_put_coll(struct store *s, const char *k, size_t klen, int t, int64_t n, int64_t exp,
                   int replace)
{
    release_last(s);
    if (replace && del_elements(s, k, klen) < 0)
        return -1;
    sqlite3_stmt *st = s->st[ST_PUT_COLL];
    bind_db(s, st);
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, exp);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)store_key_hash(k, klen));
    sqlite3_bind_int(st, 4, t);
    sqlite3_bind_int64(st, 5, n);
    return run(s, st);
}

int store_set_expire(struct store *s, const char *k, size_t klen, int64_t exp)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_SET_EXPIRE];
    bind_db(s, st);
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, exp);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)store_key_hash(k, klen));
    return run(s, st);
}

int store_del(struct store *s, const char *k, size_t klen)
{
    release_last(s);
    if (del_elements(s, k, klen) < 0)
        return -1;
    sqlite3_stmt *st = s->st[ST_DEL];
    bind_db(s, st);
    sqlite3_bind_blob64(st, 1, k, klen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)store_key_hash(k, klen));
    return run(s, st);
}

int store_flush(struct store *s)
{
    release_last(s);
    sqlite3_bind_int(s->st[ST_ZT_FLUSH], 1, s->cur_db);
    sqlite3_bind_int(s->st[ST_ZB_FLUSH], 1, s->cur_db);
    sqlite3_bind_int(s->st[ST_EL_FLUSH], 1, s->cur_db);
    if (run(s, s->st[ST_ZT_FLUSH]) < 0 || run(s, s->st[ST_ZB_FLUSH]) < 0 ||
        run(s, s->st[ST_EL_FLUSH]) < 0)
        return -1;
    bind_db(s, s->st[ST_FLUSH]);
    return run(s, s->st[ST_FLUSH]);
}

int store_flush_all(struct store *s)
{
    release_last(s);
    if (run(s, s->st[ST_ZT_FLUSH_ALL]) < 0 || run(s, s->st[ST_ZB_FLUSH_ALL]) < 0 ||
        run(s, s->st[ST_EL_FLUSH_ALL]) < 0)
        return -1;
    return run(s, s->st[ST_FLUSH_ALL]);
}

int store_swap_db(struct store *s, int a, int b)
{
    release_last(s);
    if (a == b)
        return 0;
    sqlite3_bind_int(s->st[ST_SWAP_OUT], 1, a);
    sqlite3_bind_int(s->st[ST_SWAP_IN], 1, a);
    sqlite3_bind_int(s->st[ST_SWAP_IN], 2, b);
    sqlite3_bind_int(s->st[ST_SWAP_BACK], 2, b);
    sqlite3_bind_int(s->st[ST_EL_SWAP_OUT], 1, a);
    sqlite3_bind_int(s->st[ST_EL_SWAP_IN], 1, a);
    sqlite3_bind_int(s->st[ST_EL_SWAP_IN], 2, b);
    sqlite3_bind_int(s->st[ST_EL_SWAP_BACK], 2, b);
    sqlite3_bind_int(s->st[ST_ZB_SWAP_OUT], 1, a);
    sqlite3_bind_int(s->st[ST_ZB_SWAP_IN], 1, a);
    sqlite3_bind_int(s->st[ST_ZB_SWAP_IN], 2, b);
    sqlite3_bind_int(s->st[ST_ZB_SWAP_BACK], 2, b);
    sqlite3_bind_int(s->st[ST_ZT_SWAP_OUT], 1, a);
    sqlite3_bind_int(s->st[ST_ZT_SWAP_IN], 1, a);
    sqlite3_bind_int(s->st[ST_ZT_SWAP_IN], 2, b);
    sqlite3_bind_int(s->st[ST_ZT_SWAP_BACK], 2, b);
    return run(s, s->st[ST_SWAP_OUT]) == 0 && run(s, s->st[ST_SWAP_IN]) == 0 &&
                   run(s, s->st[ST_SWAP_BACK]) == 0 && run(s, s->st[ST_EL_SWAP_OUT]) == 0 &&
                   run(s, s->st[ST_EL_SWAP_IN]) == 0 && run(s, s->st[ST_EL_SWAP_BACK]) == 0 &&
                   run(s, s->st[ST_ZB_SWAP_OUT]) == 0 && run(s, s->st[ST_ZB_SWAP_IN]) == 0 &&
                   run(s, s->st[ST_ZB_SWAP_BACK]) == 0 && run(s, s->st[ST_ZT_SWAP_OUT]) == 0 &&
                   run(s, s->st[ST_ZT_SWAP_IN]) == 0 && run(s, s->st[ST_ZT_SWAP_BACK]) == 0
               ? 0
               : -1;
}

/* ---- elements ---- */

uint64_t store_elem_pos(const char *f, size_t flen)
{
    /* The key hash with another seed: a field's position does not follow its key's. */
    uint64_t h = fnv1a(0x84222325cbf29ce4ULL, f, flen);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (h >> 2) + 1;
}

/* Binds the whole element address (db, h, k, p, f): parameters 1 to 5. */
static void bind_el(struct store *s, sqlite3_stmt *st, const char *k, size_t klen,
                    const char *f, size_t flen)
{
    bind_el_key(s, st, k, klen);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)store_elem_pos(f, flen));
    sqlite3_bind_blob64(st, 5, flen ? f : "", flen, SQLITE_STATIC);
}

int store_elem_get(struct store *s, const char *k, size_t klen, const char *f, size_t flen,
                   const char **v, size_t *vlen)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_EL_GET];
    bind_el(s, st, k, klen, f, flen);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *v = column_blob(st, 0, vlen);
        s->last = st;
        return 1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A bucket bound (s, f): f copied out of its statement's row. */
struct zbound {
    double s;
    char *f;
    size_t flen;
    int64_t n;
};

void store_rank_shape(int half, int fan)
{
    zb_half = half > 0 ? half : 128;
    zt_fan = fan > 1 ? fan : 16;
}

/* The most members a bucket of level lvl holds before it splits. */
static int64_t lv_max(int lvl)
{
    int64_t m = 2 * zb_half;
    for (int i = 0; i < lvl; i++)
        m *= zt_fan;
    return m;
}

static void bind_bound(sqlite3_stmt *st, int i, double sc, const char *f, size_t flen)
{
    sqlite3_bind_double(st, i, sc);
    sqlite3_bind_blob64(st, i + 1, flen ? f : "", flen, SQLITE_STATIC);
}

/* Statement zb (level 0) or zt (a level above) with k bound, and the level. */
static sqlite3_stmt *lv_st(struct store *s, int lvl, enum store_stmt zb, enum store_stmt zt,
                           const char *k, size_t klen)
{
    sqlite3_stmt *st = s->st[lvl ? zt : zb];
    bind_el_key(s, st, k, klen);
    if (lvl)
        sqlite3_bind_int(st, 6, lvl);
    return st;
}

/* Reads (s, f, n) from st's columns 0-2 into *b. 0, or -1 (out of memory). */
static int read_bound(sqlite3_stmt *st, struct zbound *b)
{
    size_t len;
    const char *f = column_blob(st, 1, &len);
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, f, len);
    free(b->f);
    b->f = copy;
    b->s = sqlite3_column_double(st, 0);
    b->flen = len;
    b->n = sqlite3_column_int64(st, 2);
    return 0;
}

/* The bucket of (sc, f) at level lvl of k: 1 with *b (b->f to free), 0 if k has none at or
 * below it (then nothing of k is below (sc, f)), -1. */
static int lv_find(struct store *s, int lvl, const char *k, size_t klen, double sc,
                   const char *f, size_t flen, struct zbound *b)
{
    sqlite3_stmt *st = lv_st(s, lvl, ST_ZB_FIND, ST_ZT_FIND, k, klen);
    bind_bound(st, 4, sc, f, flen);
    int rc = sqlite3_step(st);
    b->f = NULL;
    int found = rc == SQLITE_ROW ? (read_bound(st, b) == 0 ? 1 : -1)
                                 : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return found;
}

/* The count of the level lvl bucket at exactly bound b: n, -2 if there is none, -1. */
static int64_t lv_at(struct store *s, int lvl, const char *k, size_t klen,
                     const struct zbound *b)
{
    sqlite3_stmt *st = lv_st(s, lvl, ST_ZB_AT, ST_ZT_AT, k, klen);
    bind_bound(st, 4, b->s, b->f, b->flen);
    int rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? -2 : -1;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return n;
}

/* Adds (add) or recounts a level lvl bucket at b with n members. 0 or -1. */
static int lv_write(struct store *s, int lvl, int add, const char *k, size_t klen,
                    const struct zbound *b, int64_t n)
{
    sqlite3_stmt *st = add ? lv_st(s, lvl, ST_ZB_ADD, ST_ZT_ADD, k, klen)
                           : lv_st(s, lvl, ST_ZB_SET_N, ST_ZT_SET_N, k, klen);
    bind_bound(st, 4, b->s, b->f, b->flen);
    sqlite3_bind_int64(st, 7, n);
    return run(s, st);
}

/* The highest level of k's tree (0: zb alone), or -1. */
static int zt_top(struct store *s, const char *k, size_t klen)
{
    bind_el_key(s, s->st[ST_ZT_TOP], k, klen);
    return (int)z_count(s->st[ST_ZT_TOP]);
}

static int is_floor(const struct zbound *b)
{
    return b->s == -INFINITY && b->flen == 0;
}

/* Builds level top + 1 of k from level top's rows while level top holds more than
 * 2 * zt_fan rows: runs of its rows of about half a level top + 1 bucket each, the first
 * from the floor. 0 or -1. */
static int zt_grow(struct store *s, const char *k, size_t klen, int top)
{
    while (top < ZT_LEVELS) {
        sqlite3_stmt *cnt = lv_st(s, top, ST_ZB_COUNT, ST_ZT_COUNT, k, klen);
        int64_t rows = z_count(cnt);
        if (rows < 0)
            return -1;
        if (rows <= 2 * zt_fan)
            return 0;
        if (top == 0) { /* zb's floor, which level 1's floor needs under it */
            bind_el_key(s, s->st[ST_ZB_FLOOR], k, klen);
            if (run(s, s->st[ST_ZB_FLOOR]) < 0)
                return -1;
        }
        /* The new level's buckets, one per run of rows (at most one per row; the floor
         * just added makes rows + 1). */
        size_t cap = (size_t)rows + 1, nv = 0;
        struct zbound *v = calloc(cap, sizeof *v);
        int64_t half = lv_max(top + 1) / 2;
        sqlite3_stmt *st = lv_st(s, top, ST_ZB_FROM, ST_ZT_FROM, k, klen);
        bind_bound(st, 4, -INFINITY, "", 0);
        int rc = v ? SQLITE_ROW : SQLITE_NOMEM;
        while (rc == SQLITE_ROW && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if ((nv == 0 || v[nv - 1].n >= half) && nv < cap) {
                if (read_bound(st, &v[nv]) < 0) {
                    rc = SQLITE_NOMEM;
                    break;
                }
                v[nv++].n = 0;
            }
            v[nv - 1].n += sqlite3_column_int64(st, 2);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        for (size_t i = 0; rc == SQLITE_DONE && i < nv; i++)
            if (lv_write(s, top + 1, 1, k, klen, &v[i], v[i].n) < 0)
                rc = SQLITE_ERROR;
        for (size_t i = 0; i < nv; i++)
            free(v[i].f);
        free(v);
        if (rc != SQLITE_DONE)
            return -1;
        top++;
    }
    return 0;
}

/* Splits the level lvl bucket of (sc, f) in k if it outgrew lv_max(lvl): zb's at its
 * zb_half-th member, a higher level's at the child where half its members lie. *split
 * says whether it did. Nothing for an element of another type (k has no buckets). */
static int lv_split(struct store *s, int lvl, const char *k, size_t klen, double sc,
                    const char *f, size_t flen, int *split)
{
    struct zbound b, nb = { 0 };
    int found = lv_find(s, lvl, k, klen, sc, f, flen, &b), rc = 0;
    *split = 0;
    if (found <= 0)
        return found;
    if (b.n <= lv_max(lvl)) {
        free(b.f);
        return 0;
    }
    int64_t left = 0;
    if (lvl == 0) {
        sqlite3_stmt *at = s->st[ST_ZB_SPLIT_AT];
        bind_el_key(s, at, k, klen);
        bind_bound(at, 4, b.s, b.f, b.flen);
        sqlite3_bind_int64(at, 6, zb_half);
        rc = sqlite3_step(at) == SQLITE_ROW && read_bound(at, &nb) == 0 ? 0 : -1;
        sqlite3_reset(at);
        sqlite3_clear_bindings(at);
        left = zb_half;
    } else {
        /* The children from the bucket's bound on, until half its members are behind
         * (never the first child, never past its last member). */
        sqlite3_stmt *st = lv_st(s, lvl - 1, ST_ZB_FROM, ST_ZT_FROM, k, klen);
        bind_bound(st, 4, b.s, b.f, b.flen);
        int step, first = 1;
        rc = 1; /* no split point */
        while ((step = sqlite3_step(st)) == SQLITE_ROW && left < b.n) {
            if (!first && 2 * left >= b.n) {
                rc = read_bound(st, &nb);
                break;
            }
            left += sqlite3_column_int64(st, 2);
            first = 0;
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = -1;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc == 0) {
        rc = lv_write(s, lvl, 1, k, klen, &nb, b.n - left) == 0 &&
                     lv_write(s, lvl, 0, k, klen, &b, left) == 0
                 ? 0
                 : -1;
        *split = rc == 0;
    }
    free(nb.f);
    free(b.f);
    return rc < 0 ? -1 : 0;
}

/* After a member (sc, f) of k was put: its zb bucket split if it outgrew its size, and
 * only then its level 1 bucket if that outgrew its own, and so on up (a bucket a level up
 * overshoots its size by at most a child's, and a put costs one seek more than a plain
 * element's); a level added when the top one split into too many rows. */
static int zb_split(struct store *s, const char *k, size_t klen, double sc, const char *f,
                    size_t flen)
{
    int split = 0;
    if (lv_split(s, 0, k, klen, sc, f, flen, &split) < 0)
        return -1;
    if (!split)
        return 0;
    int top = zt_top(s, k, klen);
    if (top < 0)
        return -1;
    for (int lvl = 1; lvl <= top && split; lvl++)
        if (lv_split(s, lvl, k, klen, sc, f, flen, &split) < 0)
            return -1;
    return split ? zt_grow(s, k, klen, top) : 0;
}

int store_elem_put(struct store *s, const char *k, size_t klen, const char *f, size_t flen,
                   const char *v, size_t vlen)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_EL_PUT];
    bind_el(s, st, k, klen, f, flen);
    sqlite3_bind_blob64(st, 6, vlen ? v : "", vlen, SQLITE_STATIC);
    /* The score, if v reads as one (a sorted set's value always does); the SQL keeps it
     * only for a sorted set's element. */
    char num[64];
    int scored = 0;
    double d = 0;
    if (vlen > 0 && vlen < sizeof num) {
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        char *end;
        d = strtod(num, &end);
        scored = *end == '\0' && !isnan(d);
    }
    if (scored)
        sqlite3_bind_double(st, 7, d == 0 ? 0.0 : d);
    else
        sqlite3_bind_null(st, 7);
    if (run(s, st) < 0)
        return -1;
    return scored ? zb_split(s, k, klen, d == 0 ? 0.0 : d, f, flen) : 0;
}

/* After a member (sc, f) of k was deleted: the buckets above zb that it emptied, top
 * down, unless a floor or a bound a level up; under each one deleted, the empty buckets
 * at its bound (they were kept for it). zb's own empty bucket went with its trigger. */
static int zt_clean(struct store *s, const char *k, size_t klen, double sc, const char *f,
                    size_t flen)
{
    /* A bucket above empties only with every child, so with the zb bucket now holding
     * (sc, f)'s place: while that one has members, nothing above is empty. */
    struct zbound z;
    int in_zb = lv_find(s, 0, k, klen, sc, f, flen, &z);
    free(in_zb > 0 ? z.f : NULL);
    if (in_zb < 0)
        return -1;
    if (in_zb > 0 && z.n > 0)
        return 0;
    int top = zt_top(s, k, klen);
    for (int lvl = top; lvl >= 1; lvl--) {
        struct zbound b;
        int found = lv_find(s, lvl, k, klen, sc, f, flen, &b);
        if (found < 0)
            return -1;
        if (!found)
            continue;
        int64_t above = lvl < top ? lv_at(s, lvl + 1, k, klen, &b) : -2;
        int rc = above == -1 ? -1 : 0;
        for (int j = lvl; rc == 0 && b.n == 0 && !is_floor(&b) && above == -2 && j >= 0; j--) {
            int64_t n = j == lvl ? 0 : lv_at(s, j, k, klen, &b);
            if (n != 0) {
                rc = n == -1 ? -1 : 0;
                break;
            }
            sqlite3_stmt *del = lv_st(s, j, ST_ZB_DEL_AT, ST_ZT_DEL_AT, k, klen);
            bind_bound(del, 4, b.s, b.f, b.flen);
            rc = run(s, del);
        }
        free(b.f);
        if (rc < 0)
            return -1;
    }
    return top < 0 ? -1 : 0;
}

int store_elem_del(struct store *s, const char *k, size_t klen, const char *f, size_t flen)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_EL_DEL];
    bind_el(s, st, k, klen, f, flen);
    int rc = sqlite3_step(st); /* the row is gone once it returns */
    int scored = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    double score = scored ? sqlite3_column_double(st, 0) : 0;
    if (sqlite3_reset(st) != SQLITE_OK || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
        sqlite3_clear_bindings(st);
        return -1;
    }
    sqlite3_clear_bindings(st);
    return scored ? zt_clean(s, k, klen, score, f, flen) : 0;
}

int store_elem_scan(struct store *s, const char *k, size_t klen, uint64_t from, int64_t limit,
                    store_elem_fn fn, void *ctx, int *more, uint64_t *last)
{
    release_last(s);
    *more = 0;
    *last = 0;
    if (from > INT64_MAX)
        return 0;
    sqlite3_stmt *st = s->st[ST_EL_SCAN];
    bind_el_key(s, st, k, klen);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)from);
    /* No LIMIT in the SQL: rows are stepped lazily, and past the limit only the rows that
     * share the last one's position are still visited (a cursor resumes at last + 1). */
    int64_t n = 0;
    int rc, stopped = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_elem e;
        e.p = (uint64_t)sqlite3_column_int64(st, 2);
        if (limit >= 0 && n >= limit && e.p != *last) {
            *more = 1;
            break;
        }
        e.f = column_blob(st, 0, &e.flen);
        e.v = column_blob(st, 1, &e.vlen);
        *last = e.p;
        n++;
        if (fn(ctx, &e) != 0) {
            stopped = 1;
            break;
        }
    }
    int failed = !stopped && !*more && rc != SQLITE_DONE;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return failed ? -1 : 0;
}


/* The next double after d towards +inf (up) or -inf: nextafter() without libm. d is not
 * NaN, and not the infinity it moves towards. */
static double next_double(double d, int up)
{
    if (d == 0)
        return up ? 4.9406564584124654e-324 : -4.9406564584124654e-324;
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    b += (d > 0) == up ? 1 : (uint64_t)-1;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* Binds a score range: ?4 min, ?5 max, exclusive bounds moved to the next double inward.
 * 0, or -1 when the range is empty. */
static int bind_score_range(sqlite3_stmt *st, double min, int minex, double max, int maxex)
{
    if ((minex && min == INFINITY) || (maxex && max == -INFINITY))
        return -1;
    sqlite3_bind_double(st, 4, minex ? next_double(min, 1) : min);
    sqlite3_bind_double(st, 5, maxex ? next_double(max, 0) : max);
    return 0;
}

/* Steps st, a statement of (f, s) rows, through fn; resets it. 0 or -1. */
static int visit_members(sqlite3_stmt *st, store_elem_fn fn, void *ctx)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_elem e = { 0 };
        char num[32];
        e.f = column_blob(st, 0, &e.flen);
        e.vlen = (size_t)snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, 1));
        e.v = num;
        if (fn(ctx, &e) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_zrange(struct store *s, const char *k, size_t klen, double min, int minex,
                 double max, int maxex, int rev, int64_t offset, int64_t limit,
                 store_elem_fn fn, void *ctx)
{
    release_last(s);
    sqlite3_stmt *st = s->st[rev ? ST_Z_REVRANGE : ST_Z_RANGE];
    if (bind_score_range(st, min, minex, max, maxex) < 0)
        return 0;
    bind_el_key(s, st, k, klen);
    sqlite3_bind_int64(st, 6, offset);
    sqlite3_bind_int64(st, 7, limit);
    return visit_members(st, fn, ctx);
}

/* The rank walks: k's tree from the top level down to zb. At each level, the rows from
 * lo's bound on (lo: the floor at the top, then the bucket picked a level up, whose first
 * child has the same bound) add their counts to *before until one is picked, which becomes
 * lo. They end with lo the zb bucket picked (lo->f to free), or lo->f NULL when no row was
 * picked (nothing of k at or below the member; a rank past the last member). 0 or -1. */

/* The bucket of member (sc, f) at each level: the last row at or below it (one seek), and
 * the counts of the rows from lo up to it (one sum). */
static int walk_member(struct store *s, const char *k, size_t klen, double sc, const char *f,
                       size_t flen, struct zbound *lo, int64_t *before)
{
    int top = zt_top(s, k, klen);
    *lo = (struct zbound){ -INFINITY, NULL, 0, 0 };
    *before = 0;
    for (int lvl = top; lvl >= 0; lvl--) {
        struct zbound b;
        int found = lv_find(s, lvl, k, klen, sc, f, flen, &b);
        if (found <= 0) { /* nothing at or below it (at the top), or a failure */
            free(lo->f);
            lo->f = NULL;
            return found;
        }
        sqlite3_stmt *sum = lv_st(s, lvl, ST_ZB_SUM, ST_ZT_SUM, k, klen);
        bind_bound(sum, 4, lo->s, lo->f, lo->flen);
        bind_bound(sum, 7, b.s, b.f, b.flen);
        int64_t n = z_count(sum);
        free(lo->f);
        *lo = b;
        if (n < 0) {
            free(lo->f);
            lo->f = NULL;
            return -1;
        }
        *before += n;
    }
    return top < 0 ? -1 : 0;
}

/* The bucket holding rank at each level: the row whose count reaches past it. */
static int walk_rank(struct store *s, const char *k, size_t klen, int64_t rank,
                     struct zbound *lo, int64_t *before)
{
    int top = zt_top(s, k, klen);
    *lo = (struct zbound){ -INFINITY, NULL, 0, 0 };
    *before = 0;
    for (int lvl = top; lvl >= 0; lvl--) {
        sqlite3_stmt *st = lv_st(s, lvl, ST_ZB_FROM, ST_ZT_FROM, k, klen);
        bind_bound(st, 4, lo->s, lo->f, lo->flen);
        struct zbound cur = { 0 };
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t n = sqlite3_column_int64(st, 2);
            if (*before + n > rank) {
                if (read_bound(st, &cur) < 0)
                    rc = SQLITE_NOMEM;
                break;
            }
            *before += n;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        free(lo->f);
        *lo = cur;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            free(lo->f);
            lo->f = NULL;
            return -1;
        }
        if (!lo->f)
            break;
    }
    return top < 0 ? -1 : 0;
}

int store_zrange_rank(struct store *s, const char *k, size_t klen, int64_t from,
                      int64_t count, store_elem_fn fn, void *ctx)
{
    release_last(s);
    if (from < 0 || count <= 0)
        return 0;
    struct zbound lo;
    int64_t before;
    if (walk_rank(s, k, klen, from, &lo, &before) < 0)
        return -1;
    if (!lo.f) /* past the last member */
        return 0;
    sqlite3_stmt *st = s->st[ST_Z_RANGE_FROM];
    bind_el_key(s, st, k, klen);
    bind_bound(st, 4, lo.s, lo.f, lo.flen);
    sqlite3_bind_int64(st, 6, from - before);
    sqlite3_bind_int64(st, 7, count);
    int rc = visit_members(st, fn, ctx);
    free(lo.f);
    return rc;
}

/* The number of k's members before (sc, f) in (score, member) order: the counts of the
 * buckets before its own at every level, plus its zb bucket's members before it. f NULL:
 * after every member (k's count: the top level's counts). -1 on failure. */
static int64_t count_before(struct store *s, const char *k, size_t klen, double sc,
                            const char *f, size_t flen)
{
    if (!f) {
        int top = zt_top(s, k, klen);
        if (top < 0)
            return -1;
        return z_count(lv_st(s, top, ST_ZB_TOTAL, ST_ZT_TOTAL, k, klen));
    }
    struct zbound lo;
    int64_t before;
    if (walk_member(s, k, klen, sc, f, flen, &lo, &before) < 0)
        return -1;
    if (!lo.f)
        return before;
    sqlite3_stmt *in = s->st[ST_Z_WITHIN];
    bind_el_key(s, in, k, klen);
    bind_bound(in, 4, lo.s, lo.f, lo.flen);
    bind_bound(in, 6, sc, f, flen);
    int64_t c = z_count(in);
    free(lo.f);
    return c < 0 ? -1 : before + c;
}

int64_t store_zcount(struct store *s, const char *k, size_t klen, double min, int minex,
                     double max, int maxex)
{
    release_last(s);
    if ((minex && min == INFINITY) || (maxex && max == -INFINITY))
        return 0;
    double lo = minex ? next_double(min, 1) : min, hi = maxex ? next_double(max, 0) : max;
    if (lo > hi)
        return 0;
    /* Members with a score below lo, and with a score up to hi: members before (lo, '')
     * and before (the next double after hi, '') -- or all of them, hi being +inf. */
    int64_t below = count_before(s, k, klen, lo, "", 0);
    int64_t upto = hi == INFINITY ? count_before(s, k, klen, 0, NULL, 0)
                                  : count_before(s, k, klen, next_double(hi, 1), "", 0);
    return below < 0 || upto < 0 ? -1 : upto - below;
}

int64_t store_zrank(struct store *s, const char *k, size_t klen, double score, const char *f,
                    size_t flen)
{
    release_last(s);
    return count_before(s, k, klen, score == 0 ? 0.0 : score, f ? f : "", flen);
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

/* One meta row: name = value. */
static int set_meta(struct store *s, const char *name, uint64_t value)
{
    sqlite3_stmt *st = s->st[ST_SET_META];
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)value);
    return run(s, st);
}

int store_set_identity(struct store *s, uint64_t cluster, uint64_t replica)
{
    release_last(s);
    if (cluster > INT64_MAX || replica > INT64_MAX)
        return -1; /* an SQLite INTEGER: callers validate before (identity.c) */
    /* Both rows or none: no half identity is ever written, and a zero in either clears
     * both. */
    if (!cluster || !replica)
        cluster = replica = 0;
    return set_meta(s, "cluster_id", cluster) == 0 && set_meta(s, "replica_id", replica) == 0
               ? 0
               : -1;
}

int store_identity(struct store *s, uint64_t *cluster, uint64_t *replica)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_GET_IDENTITY];
    sqlite3_int64 c = 0, r = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        sqlite3_int64 v = sqlite3_column_int64(st, 1);
        if (name && strcmp(name, "cluster_id") == 0)
            c = v;
        else if (name && strcmp(name, "replica_id") == 0)
            r = v;
    }
    sqlite3_reset(st);
    /* A missing row (a database from before identities), a zero or a negative value in
     * either: no identity. */
    int whole = c > 0 && r > 0;
    *cluster = whole ? (uint64_t)c : 0;
    *replica = whole ? (uint64_t)r : 0;
    return rc == SQLITE_DONE ? 0 : -1;
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
    if (rc == 0 && s->memory) {
        /* What a power cut leaves of a memory store (store_power_loss): this image. */
        sqlite3_int64 len;
        unsigned char *image = sqlite3_serialize(s->db, "main", &len, 0);
        if (!image)
            return -1;
        sqlite3_free(s->image);
        s->image = image;
        s->image_len = (size_t)len;
    }
    return rc;
}

static int64_t count(struct store *s, sqlite3_stmt *st)
{
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return n;
}

int64_t store_count(struct store *s)
{
    release_last(s);
    return count(s, s->st[ST_COUNT]);
}

int64_t store_count_alive(struct store *s, int64_t now_ms)
{
    release_last(s);
    sqlite3_bind_int64(s->st[ST_COUNT_ALIVE], 1, now_ms);
    bind_db(s, s->st[ST_COUNT_ALIVE]);
    return count(s, s->st[ST_COUNT_ALIVE]);
}

int store_next_db(struct store *s, int from, int *db)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_NEXT_DB];
    sqlite3_bind_int(st, 1, from);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *db = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_keyspace(struct store *s, int64_t now_ms, store_db_fn fn, void *ctx)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_COUNT_DB];
    sqlite3_bind_int64(st, 1, now_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_db_stats d = { sqlite3_column_int(st, 0), sqlite3_column_int64(st, 1),
                                    sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3) };
        if (fn(ctx, &d) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Steps st (columns k, exp, h, t[, db]), calling fn per row. Returns the number of rows visited
 * (*stopped set if fn stopped it), or -1. Leaves st reset. */
static int64_t visit(sqlite3_stmt *st, store_visit_fn fn, void *ctx, int *stopped,
                     struct store_row *row)
{
    int64_t n = 0;
    int rc;
    *stopped = 0;
    while (!*stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        row->k = column_blob(st, 0, &row->klen);
        row->v = NULL;
        row->vlen = 0;
        row->exp = sqlite3_column_int64(st, 1);
        row->h = (uint64_t)sqlite3_column_int64(st, 2);
        row->t = sqlite3_column_int(st, 3);
        row->n = 0; /* not read by scans */
        row->db = sqlite3_column_count(st) > 4 ? sqlite3_column_int(st, 4) : 0;
        n++;
        *stopped = fn(ctx, row) != 0;
    }
    int failed = !*stopped && rc != SQLITE_DONE;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return failed ? -1 : n;
}

struct scan_ctx {
    store_visit_fn fn;
    void *ctx;
    char *lastk; /* a copy of the last row's key: its pointer dies with the reset */
    size_t lastlen, cap;
    uint64_t lasth;
    int failed;
};

static int remember_last(void *ctx, const struct store_row *row)
{
    struct scan_ctx *sc = ctx;
    if (row->klen > sc->cap) {
        char *nk = realloc(sc->lastk, row->klen);
        if (!nk) {
            sc->failed = 1;
            return 1;
        }
        sc->lastk = nk;
        sc->cap = row->klen;
    }
    if (row->klen)
        memcpy(sc->lastk, row->k, row->klen);
    sc->lastlen = row->klen;
    sc->lasth = row->h;
    return sc->fn(sc->ctx, row);
}

/* The rows after the last one visited that share its h (collisions of a 62-bit hash: in
 * practice none), so that resuming at h + 1 skips nothing. */
static int visit_ties(struct store *s, struct scan_ctx *sc)
{
    sqlite3_stmt *st = s->st[ST_SCAN_TIES];
    bind_db(s, st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)sc->lasth);
    sqlite3_bind_blob64(st, 2, sc->lastk ? sc->lastk : "", sc->lastlen, SQLITE_STATIC);
    int stopped;
    struct store_row row;
    return visit(st, sc->fn, sc->ctx, &stopped, &row) < 0 ? -1 : 0;
}

int store_scan(struct store *s, uint64_t from, int64_t limit, store_visit_fn fn, void *ctx,
               int *more, uint64_t *last)
{
    release_last(s);
    *more = 0;
    *last = 0;
    if (from > INT64_MAX)
        return 0; /* past every h */
    sqlite3_stmt *st = s->st[ST_SCAN];
    bind_db(s, st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 2, limit);
    struct scan_ctx sc = { fn, ctx, NULL, 0, 0, 0, 0 };
    struct store_row row;
    int stopped;
    int64_t n = visit(st, remember_last, &sc, &stopped, &row);
    int rc = n < 0 || sc.failed ? -1 : 0;
    if (rc == 0 && !stopped && limit >= 0 && n == limit && n > 0) {
        rc = visit_ties(s, &sc);
        *more = 1;
        *last = sc.lasth;
    }
    free(sc.lastk);
    return rc;
}

int store_expired(struct store *s, int64_t now_ms, int64_t limit, store_visit_fn fn,
                  void *ctx)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_EXPIRED];
    bind_db(s, st);
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, limit);
    int stopped;
    struct store_row row;
    return visit(st, fn, ctx, &stopped, &row) < 0 ? -1 : 0;
}

int store_digest(struct store *s, char *out)
{
    release_last(s);
    sqlite3_stmt *st = s->st[ST_DIGEST];
    uint64_t sum = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t kl, vl;
        const char *k = column_blob(st, 0, &kl), *v = column_blob(st, 1, &vl);
        int64_t exp = sqlite3_column_int64(st, 2), t = sqlite3_column_int64(st, 4),
                n = sqlite3_column_int64(st, 5);
        int db = sqlite3_column_int(st, 3);
        uint64_t h = fnv1a(0xcbf29ce484222325ULL, &kl, sizeof kl);
        if (db != 0) /* database 0's rows hash as they did before numbered databases */
            h = fnv1a(h, &db, sizeof db);
        h = fnv1a(h, k, kl);
        h = fnv1a(h, v, vl);
        if (exp != 0) /* keys without a TTL hash as they did before expiry existed */
            h = fnv1a(h, &exp, sizeof exp);
        if (t != 0) { /* and strings as they did before collections */
            h = fnv1a(h, &t, sizeof t);
            h = fnv1a(h, &n, sizeof n);
        }
        sum += h * 0x9e3779b97f4a7c15ULL; /* order-independent: rows come in key order anyway */
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    st = s->st[ST_EL_DIGEST];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t kl, fl, vl;
        int64_t db = sqlite3_column_int64(st, 0);
        const char *k = column_blob(st, 1, &kl), *f = column_blob(st, 2, &fl),
                   *v = column_blob(st, 3, &vl);
        uint64_t h = fnv1a(0x84222325cbf29ce4ULL, &db, sizeof db);
        h = fnv1a(h, &kl, sizeof kl);
        h = fnv1a(h, k, kl);
        h = fnv1a(h, &fl, sizeof fl);
        h = fnv1a(h, f, fl);
        h = fnv1a(h, v, vl);
        sum += h * 0xc2b2ae3d27d4eb4fULL;
    }
    sqlite3_reset(st);
    snprintf(out, 17, "%016llx", (unsigned long long)sum);
    return rc == SQLITE_DONE ? 0 : -1;
}
