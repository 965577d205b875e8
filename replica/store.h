/* store.h -- the replica's committed data in SQLite. The only module that calls sqlite3_*.
 *
 * Schema:
 *     kv(db INTEGER, k BLOB, v BLOB, exp INTEGER, h INTEGER, t INTEGER, n INTEGER,
 *        PRIMARY KEY(db, h, k)) WITHOUT ROWID,
 *         with a partial index on exp (only the rows that have a TTL);
 *     el(db INTEGER, h INTEGER, k BLOB, p INTEGER, f BLOB, v BLOB, s REAL,
 *        PRIMARY KEY(db, h, k, p, f)) WITHOUT ROWID,
 *         with a partial index on (db, h, k, s, f) (only sorted-set members);
 *     meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL).
 * kv holds every committed key: its database (Redis's SELECT number), its value, its
 * absolute expiry time in Unix milliseconds (0: none) and h = store_key_hash(k), the key's
 * position in SCAN order; rows are found by (db, h, k), h computed here from the key and
 * db from the store's current database: store_use_db() sets it, and every function on keys
 * below (get, put, set_expire, del, flush, count_alive, scan, expired) works in it alone.
 * Functions on the whole data (store_flush_all, store_swap_db, store_count, store_keyspace,
 * store_digest) see every database. meta holds 'applied_round', the id of the last
 * round whose effects are in kv. Both change in the same SQLite transaction, so after a
 * crash kv and applied_round always agree, and replaying the vote log skips every round up
 * to applied_round (replay is idempotent). meta also holds the replica's identity, rows
 * 'cluster_id' (the cluster's id, a nonzero 63-bit integer the coordinator chose) and
 * 'replica_id' (this replica's id in that cluster), both or neither: it travels with the
 * data, so a wiped folder has none and a folder copied from another replica or cluster
 * names that one (the coordinator tells them apart at TPC.HELLO). A database from before
 * identities has neither row: no identity. A database whose kv has an older shape
 * (kv(k PRIMARY KEY, v), from before expiry, or kv keyed by (h, k), from before numbered
 * databases) is migrated when it is opened: the table is rebuilt in one transaction, every
 * row keeping its value and expiry, in database 0.
 *
 * Collections (issue #14). Every key, whatever its type, has its one kv row: expiry, SCAN
 * position h, and its type t (enum store_type; 0 = string). A string's value is v; a
 * collection's v is empty, n is its element count (HLEN, SCARD in O(1)) and its elements
 * are rows of el, one per element: a hash's field f with its value v, a set's member f
 * (v empty). el's primary key starts with the key's address (db, h, k), so a key's
 * elements are one contiguous range of the B-tree, and continues with p =
 * store_elem_pos(f), a hash of the element, then f: a single-element command (HSET, HGET,
 * SISMEMBER...) is one O(log n) seek whatever the collection's size, p is the order of
 * HSCAN/SSCAN (a cursor is "the next p", with SCAN's guarantees) and a random element is
 * the first at or after a random p (wrapping): O(log n), the same on every replica. A
 * 1,000,000-field hash is 1,000,000 small rows, never one value rewritten whole.
 *   Later types fit the same table: a list's element is addressed by its position (p an
 *   ordered position, f empty or a tie-breaker). A sorted set's member is addressed as a
 *   set's (p, f), its score is v (as Redis formats it) and, as a REAL, el's column s
 *   (NULL for other types; a database from before gains the column), with a partial index
 *   el_score on (db, h, k, s, f) for score order (store_zrange), and rank buckets in zb
 *   (counts of consecutive members, kept by triggers on el) for ZRANK, ZCOUNT and ZRANGE
 *   by rank without counting every member before.
 *   db: the numbered database, bound from the one field struct store.cur_db (store_use_db),
 *   as kv's rows are. Writing a string over a key (store_put) or deleting it
 *   (store_del, store_flush) deletes its elements in the same transaction. A database
 *   from before collections is migrated when opened: kv gains t and n (0: strings).
 *
 * Expired keys are rows like any other here: whether a key is alive at some instant is
 * decided by the caller (exec), which compares exp with the round's clock. They leave kv
 * through ordinary committed rounds (the coordinator's expiry sweep, see store_expired).
 *
 * Durability: the vote log is the write-ahead log; SQLite is its checkpoint. SQLite runs in
 * WAL mode with synchronous=OFF, because a COMMIT is durable in the vote log before it is
 * acknowledged, and start-up replays the vote log past applied_round.
 *
 *     struct store *s = store_open("data.sqlite", err, sizeof err);
 *     store_begin(s);
 *     store_put(s, "k", 1, "v", 1, 0);  store_del(s, "x", 1);
 *     store_set_applied(s, 42);
 *     store_commit(s);
 *     struct store_row row;
 *     if (store_get(s, "k", 1, &row) == 1) ...   // row.v valid until the next store call
 *
 * Every int function returns 0 (or 1/0 for found/missing) and -1 on an SQLite error, whose
 * text store_error() returns.
 */
#ifndef TWOPC_STORE_H
#define TWOPC_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* kv.t: the type of a key's value. The numbers are stored: never renumber. */
enum store_type {
    STORE_STRING = 0,
    STORE_HASH = 1,
    STORE_SET = 2,
    STORE_LIST = 3,
    STORE_ZSET = 4,
    STORE_TYPE_MAX
};

/* One row of kv. Pointers are valid until the next store call (or, in a visitor, until
 * the visitor returns). v is NULL for rows a scan visits (values are not read there). */
struct store_row {
    const char *k, *v;
    size_t klen, vlen;
    int64_t exp; /* absolute expiry, Unix ms; 0: none */
    uint64_t h;  /* store_key_hash(k) */
    int db;      /* the row's database */
    int t;       /* enum store_type */
    int64_t n;   /* a collection's element count (store_get only; 0 in scans) */
};

/* One element of a collection (el). Pointers valid until the visitor returns. */
struct store_elem {
    const char *f, *v; /* field (or member) and value (empty for a set) */
    size_t flen, vlen;
    uint64_t p;        /* store_elem_pos(f) */
};

/* Called for each element a scan visits; a nonzero return stops it. No store calls. */
typedef int (*store_elem_fn)(void *ctx, const struct store_elem *e);

/* Called for each row a scan visits; a nonzero return stops the scan. It must not call
 * any store function. */
typedef int (*store_visit_fn)(void *ctx, const struct store_row *row);

/* Opens (creating or migrating) the database at path. Returns NULL with err. */
struct store *store_open(const char *path, char *err, size_t errlen);
/* The SQLite page cache of each store opened from then on, in bytes (--store-cache;
 * default 64 MB). A big collection's rows are read and written at random: with SQLite's
 * default 2 MB, every seek missed and read its pages again (a ZADD on 1,000,000 members
 * spent 2.5 times longer in the store). */
extern uint64_t store_cache_bytes;
/* A store in an in-memory SQLite database with the same schema, for tests and the
 * simulator. Returns NULL with err. */
struct store *store_open_memory(char *err, size_t errlen);
/* Power loss of a memory store: closes s and returns a new memory store holding exactly
 * what s's last store_checkpoint() saw (an empty store if there was none): what a replica's
 * SQLite (synchronous=OFF) may be left with after a power cut, when only the checkpoint's
 * fsync is known to have reached the disk. s may be NULL (an empty store). Returns NULL
 * with err (s is closed all the same). */
struct store *store_power_loss(struct store *s, char *err, size_t errlen);
/* A copy of a memory store's whole database as it is now (no transaction may be open),
 * opened as a new memory store: the simulator keeps it as an older copy of a replica's
 * folder, to restore later. Returns NULL with err. */
struct store *store_copy(struct store *s, char *err, size_t errlen);
void store_close(struct store *s);
const char *store_error(const struct store *s);

/* Space a PREPARE must find free on the store's file system besides its own bytes: room
 * for SQLite's WAL to grow to its checkpoint size (1000 pages) and for the vote log, so
 * that a full disk refuses new rounds at PREPARE, where a NO is harmless, rather than fail
 * the COMMIT of a round already voted YES (docs/disk-errors.md). */
#define STORE_DISK_RESERVE (8u << 20)

/* 0 if the file system holding the database has at least need bytes free for an
 * unprivileged writer (statvfs f_bavail; always 0 for an in-memory store or when it cannot
 * be told); -1 with "No space left on device" in cause if not. */
int store_room(struct store *s, uint64_t need, char *cause, size_t causelen);

/* A key's position in SCAN order: a 62-bit hash, in [1, 2^62]. The same on every replica
 * and across restarts (a SCAN cursor names a position, whichever replica serves it). */
uint64_t store_key_hash(const char *k, size_t klen);

/* Sets the database the key functions work in (0 when opened); store_db() returns it.
 * Callers set it before each use: the store keeps whatever was set last. */
void store_use_db(struct store *s, int db);
int store_db(const struct store *s);

/* 1 found (row filled; valid until the next store call), 0 missing, -1 error. */
int store_get(struct store *s, const char *k, size_t klen, struct store_row *row);

int store_begin(struct store *s);
/* Inserts or replaces k with the string v and expiry exp (0: none); a collection that was
 * there loses its elements. */
int store_put(struct store *s, const char *k, size_t klen, const void *v, size_t vlen,
              int64_t exp);
/* Writes k's row as a collection of type t with n elements and expiry exp. replace:
 * whatever k held is gone first (its elements deleted); else k's elements stay (a count
 * that changed). */
int store_put_coll(struct store *s, const char *k, size_t klen, int t, int64_t n, int64_t exp,
                   int replace);
/* A collection element's position, in [1, 2^62]: the order of HSCAN/SSCAN and of random
 * picks, the same on every replica and across restarts. */
uint64_t store_elem_pos(const char *f, size_t flen);
/* Element f of k: 1 found (*v valid until the next store call), 0 missing, -1 error. */
int store_elem_get(struct store *s, const char *k, size_t klen, const char *f, size_t flen,
                   const char **v, size_t *vlen);
/* Inserts or replaces element f of k (the kv row is the caller's: store_put_coll). */
int store_elem_put(struct store *s, const char *k, size_t klen, const char *f, size_t flen,
                   const char *v, size_t vlen);
/* Deletes element f of k (a sorted set's member: its emptied rank buckets too). */
int store_elem_del(struct store *s, const char *k, size_t klen, const char *f, size_t flen);
/* Test hook: the rank buckets' shape (store.c): zb buckets split past 2 * half members, a
 * level above past fan times its children's size. Defaults 128 and 16; small values make a
 * few thousand members build every level. Call before opening a store. */
void store_rank_shape(int half, int fan);
/* Visits k's elements in (p, f) order from the first with p >= from, with store_scan's
 * contract for limit, *more and *last (ties of the last p are visited too). 0 or -1. */
int store_elem_scan(struct store *s, const char *k, size_t klen, uint64_t from, int64_t limit,
                    store_elem_fn fn, void *ctx, int *more, uint64_t *last);

/* Sorted sets (STORE_ZSET): el's s column holds an element's score (its value parsed,
 * -0 as 0; NULL for every other type's elements), indexed on (db, h, k, s, f) for score
 * order, ties by member bytes.
 * store_zrange visits k's members with a score in [min, max] (an ex flag excludes its
 * bound) in (score, member) order, or descending if rev, skipping offset, at most limit
 * (< 0: all): O(log n + offset + visited). The visitor gets each member's score in v
 * as %.17g ("inf", "-inf" included). 0 or -1. */
int store_zrange(struct store *s, const char *k, size_t klen, double min, int minex,
                 double max, int maxex, int rev, int64_t offset, int64_t limit,
                 store_elem_fn fn, void *ctx);
/* store_zrange_rank visits count members of k from rank from (0 the lowest), ascending:
 * O(log n + count) through the tree of rank buckets (store.c, zb and zt). 0 or -1. */
int store_zrange_rank(struct store *s, const char *k, size_t klen, int64_t from,
                      int64_t count, store_elem_fn fn, void *ctx);
/* The number of k's members with a score in the range, or -1. Both this and store_zrank
 * walk the tree of rank buckets down from its top (about 2 * 16 rows a level; 1,000,000
 * members: 3 levels and zb) plus at most one zb bucket's members in the index (256): O(log
 * n), not a count of every member before. */
int64_t store_zcount(struct store *s, const char *k, size_t klen, double min, int minex,
                     double max, int maxex);
/* The number of k's members before (score, f) in order: f's rank, or -1. */
int64_t store_zrank(struct store *s, const char *k, size_t klen, double score, const char *f,
                    size_t flen);

/* Changes the expiry of k, if k is there. */
int store_set_expire(struct store *s, const char *k, size_t klen, int64_t exp);
int store_del(struct store *s, const char *k, size_t klen);
/* Deletes every key of the current database. */
int store_flush(struct store *s);
/* Deletes every key of every database. */
int store_flush_all(struct store *s);
/* Swaps databases a and b (SWAPDB): three UPDATEs over both databases' rows, O(rows) --
 * acceptable for a rare administrative command, and what keeps (db, h, k) the only key. */
int store_swap_db(struct store *s, int a, int b);
int store_set_applied(struct store *s, uint64_t rid);
int store_commit(struct store *s);
int store_rollback(struct store *s);

uint64_t store_applied(struct store *s);

/* The identity in meta: 0 and *cluster, *replica, both 0 when there is none (no rows, as in
 * a new store or one created before identities, or rows cleared to 0); -1 on error. */
int store_identity(struct store *s, uint64_t *cluster, uint64_t *replica);
/* Writes both rows ('cluster_id', 'replica_id'); 0 in either clears the identity (both
 * rows 0). Like store_set_applied it joins the caller's transaction if one is open (a
 * TPC.RESTORE changes it with the data); it is durable only after store_checkpoint(), like
 * every write here, and survives store_power_loss() only then. Returns 0, or -1 (also for a
 * value above INT64_MAX, which an SQLite INTEGER cannot hold). */
int store_set_identity(struct store *s, uint64_t cluster, uint64_t replica);

/* Makes every committed transaction durable (one fsync of SQLite's WAL), so the vote-log
 * records that produced them may be dropped. On a memory store it also keeps a serialized
 * image of the database, which store_power_loss() restores. No transaction may be open.
 * Returns 0 or -1. */
int store_checkpoint(struct store *s);
/* Number of rows (expired or not), or -1. */
int64_t store_count(struct store *s);
/* Number of keys of the current database alive at now_ms (no expiry, or exp >= now_ms),
 * or -1. */
int64_t store_count_alive(struct store *s, int64_t now_ms);

/* The lowest database >= from that has a row (expired or not): 1 with *db, 0 if none, -1
 * on error. One index seek: FLUSHALL visits the databases holding rows this way. */
int store_next_db(struct store *s, int from, int *db);

/* INFO keyspace's numbers at now_ms, per database that has a key alive, in database
 * order: the keys alive, how many of them have a TTL, and the sum of those TTLs (ms left).
 * fn is called once per such database (a nonzero return stops; it must not call the
 * store). Returns 0 or -1. */
struct store_db_stats {
    int db;
    int64_t keys, expires, ttl_sum;
};
typedef int (*store_db_fn)(void *ctx, const struct store_db_stats *d);
int store_keyspace(struct store *s, int64_t now_ms, store_db_fn fn, void *ctx);

/* Visits the current database's rows in (h, k) order, starting at the first with h >= from:
 * at most limit rows (limit < 0: no limit), and when limit is reached, also every further
 * row with the same h as the last one, so a cursor that resumes at last h + 1 never skips
 * a row. Sets *more when the limit was reached (rows may remain) and *last to the last
 * row's h. Returns 0, or -1 on error. */
int store_scan(struct store *s, uint64_t from, int64_t limit, store_visit_fn fn, void *ctx,
               int *more, uint64_t *last);

/* Visits up to limit rows of the current database whose expiry has passed at now_ms
 * (0 < exp < now_ms). */
int store_expired(struct store *s, int64_t now_ms, int64_t limit, store_visit_fn fn,
                  void *ctx);

/* A 64-bit order-independent hash of every (database, key, value, expiry[, type, count])
 * row (database 0's strings hash as before databases and collections existed) and every
 * element row, written as 16 hex
 * digits into out (17 bytes). Equal data gives equal digests. Returns 0 or -1. */
int store_digest(struct store *s, char *out);

#endif
