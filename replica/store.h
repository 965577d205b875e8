/* store.h -- the replica's committed data in SQLite. The only module that calls sqlite3_*.
 *
 * Schema: kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID holds every committed key;
 * meta(name TEXT PRIMARY KEY, value INTEGER) holds 'applied_round', the id of the last round
 * whose effects are in kv. Both change in the same SQLite transaction, so after a crash kv
 * and applied_round always agree, and replaying the vote log skips every round up to
 * applied_round (replay is idempotent).
 *
 * Durability: the vote log is the write-ahead log; SQLite is its checkpoint. SQLite runs in
 * WAL mode with synchronous=OFF, because a COMMIT is durable in the vote log before it is
 * acknowledged, and start-up replays the vote log past applied_round.
 *
 *     struct store *s = store_open("data.sqlite", err, sizeof err);
 *     store_begin(s);
 *     store_put(s, "k", 1, "v", 1);  store_del(s, "x", 1);
 *     store_set_applied(s, 42);
 *     store_commit(s);
 *     const void *v; size_t n;
 *     if (store_get(s, "k", 1, &v, &n) == 1) ...   // v valid until the next store call
 *
 * Every int function returns 0 (or 1/0 for found/missing) and -1 on an SQLite error, whose
 * text store_error() returns.
 */
#ifndef TWOPC_STORE_H
#define TWOPC_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *s);
const char *store_error(const struct store *s);

/* 1 found (*v, *vlen valid until the next store call), 0 missing, -1 error. */
int store_get(struct store *s, const char *k, size_t klen, const void **v, size_t *vlen);

int store_begin(struct store *s);
int store_put(struct store *s, const char *k, size_t klen, const void *v, size_t vlen);
int store_del(struct store *s, const char *k, size_t klen);
int store_set_applied(struct store *s, uint64_t rid);
int store_commit(struct store *s);
int store_rollback(struct store *s);

uint64_t store_applied(struct store *s);

/* Makes every committed transaction durable (one fsync of SQLite's WAL), so the vote-log
 * records that produced them may be dropped. Returns 0 or -1. */
int store_checkpoint(struct store *s);
/* Number of keys, or -1. */
int64_t store_count(struct store *s);

/* SHA-256-free digest: a 64-bit order-independent hash of every (key, value) pair, written
 * as 16 hex digits into out (17 bytes). Equal data gives equal digests. Returns 0 or -1. */
int store_digest(struct store *s, char *out);

#endif
