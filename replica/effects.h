/* effects.h -- what a round does to the data, recorded while its ops are evaluated, and the
 * view of a key through those records.
 *
 * Evaluating an op never touches the store: it reads keys with effects_lookup() and
 * records changes (put k v exp / set k's expiry / delete k / delete everything). Reads see
 * the newest record first: the op's own and its round's earlier ones, then those of each
 * round still undecided ahead of it (fx->under, a chain), then the committed store. At
 * COMMIT the records are applied to the store in order (effects_apply).
 *
 *     struct effects fx = { .now_ms = round_clock };
 *     struct effects_value old;
 *     if (effects_lookup(store, &fx, "k", 1, &old) == 1) ...    // alive at fx.now_ms
 *     effects_put(&fx, "k", 1, "v", 1, 0);
 *     effects_apply(store, &fx);             // at commit, inside a store transaction
 *     effects_clear(&fx);
 *
 * Memory: records point at memory that must outlive them: the op's arguments, the op's
 * scratch space, or buffers from effects_alloc() (freed by effects_clear()). A value that
 * effects_lookup() found in the store is valid only until the next store call, so a value
 * carried into a record (RENAME, COPY) is copied first.
 *
 * Databases: every record carries the database it is in (fx->db when it was made: exec sets
 * fx->db from the op's DB wrapper, exec.h), and a lookup asks for a key in fx->db. Newest
 * first, a FLUSH of that database or a FLUSHALL hides everything older, and a SWAPDB(a, b)
 * sends the lookup on in the other database: a key sought in a that meets SWAPDB(a, b) is
 * sought in b below it, through the older records, the rounds under fx and finally the
 * store (store_use_db). MOVE is a DEL in one database and a PUT in another; COPY ... DB n
 * a PUT in n. effects_apply() sets the store's database per record.
 *
 * Collections (hashes, sets: store.h). A key's record decides its type and element count
 * as well as its value: EFFECT_PUT of a collection (t != 0) creates it empty, replacing
 * whatever the key held (its elements too, down the layers and in the store), and
 * EFFECT_COUNT rewrites the count of a collection that stays. An element's records
 * (EFFECT_EPUT, EFFECT_EDEL: key k, element f) are found by effects_elem_lookup(): the
 * newest record of (k, f) wins, unless a newer whole-key PUT, DEL or FLUSH hides it (and
 * every older element of k, the store's included). The caller first looks the key up and
 * checks its type; an element of a key that is gone is never consulted.
 *
 * Expiry: a key whose expiry time is set and lies before fx->now_ms (exp < now) is gone
 * for effects_lookup(), exactly as if it had been deleted, whether or not the background
 * sweep has removed it from the store yet; effects_lookup_raw() still sees it.
 */
#ifndef TWOPC_EFFECTS_H
#define TWOPC_EFFECTS_H

#include <stddef.h>
#include <stdint.h>

struct op;
struct store;

enum effect_kind {
    EFFECT_PUT,    /* k = v, with expiry exp (0: none) */
    EFFECT_EXPIRE, /* k keeps its value; its expiry becomes exp (k exists) */
    EFFECT_DEL,    /* k is deleted */
    EFFECT_FLUSH,  /* every key of database db is deleted */
    EFFECT_FLUSHALL, /* every key of every database is deleted */
    EFFECT_SWAPDB, /* databases db and exp swap their keys */
    EFFECT_COUNT,  /* k stays a collection of type t with its elements; its count is n */
    EFFECT_EPUT,   /* element f of k = v */
    EFFECT_EDEL,   /* element f of k is deleted */
    EFFECT_KIND_MAX
};

struct effect {
    enum effect_kind kind;
    const char *k, *v;
    size_t klen, vlen;
    int64_t exp; /* EFFECT_SWAPDB: the second database */
    int db;      /* the database the record is in (fx->db when made) */
    const char *f; /* EPUT, EDEL: the element (field or member) */
    size_t flen;
    int t;         /* PUT, COUNT: enum store_type */
    int64_t n;     /* PUT, COUNT of a collection: element count */
};

struct effects_slot; /* effects.c: the key index */

struct effects {
    struct effect *v;
    size_t n, cap;
    /* Once a layer holds EFFECTS_INDEX_MIN records, a hash index of its keys (newest
     * PUT/DEL and newest EXPIRE per key, and the newest FLUSH) answers lookups: a scan per
     * lookup made evaluating a 1,000,000-SET EXEC quadratic (minutes on a replica). */
    struct effects_slot *ix;
    /* ix_flush: the index + 1 of the newest record that names no key (FLUSH, FLUSHALL,
     * SWAPDB), 0: none. Below it a lookup scans (see lookup_indexed). */
    size_t ix_mask, ix_used, ix_flush;
    /* The effects of the round prepared just before this one and not yet decided (NULL if
     * none): a round is evaluated on top of the rounds ahead of it in the pipeline. */
    const struct effects *under;
    /* Ops created during evaluation (a TX's sub-commands) that effects point into, and
     * buffers from effects_alloc(); freed by effects_clear(). */
    struct op **owned;
    size_t nowned;
    char **bufs;
    size_t nbufs;
    size_t held;  /* bytes of those buffers */
    /* Set for a PREPARE's evaluation: effects_alloc refuses past effects_hold_limit (and
     * sets over, which makes the vote a NO). Never for a COMMIT's, which must apply what
     * was voted. */
    int bounded, over;
    /* The coordinator's clock for this round (Unix ms): whatever depends on time (expiry)
     * is decided by it, identically on every replica. */
    int64_t now_ms;
    /* Nonzero: a random seed (a read served by one replica, e.g. RANDOMKEY). Zero in a
     * round: whatever looks random is derived from the round, so every replica agrees. */
    uint64_t seed;
    /* The database the op being evaluated works in (its DB wrapper, exec.h; 0 without
     * one): lookups ask for keys there and new records are made there. Only the top
     * layer's counts; the layers under it keep theirs in their records. */
    int db;
};

/* The bound on what effects_alloc buffers of rounds prepared and undecided may hold, all
 * together, on this replica (--prepared-memory-limit; 0: none): a 50-byte
 * SETRANGE k 536870911 x makes a 512 MB value, and a few of them in flight would pin
 * gigabytes until their rounds are decided. */
extern uint64_t effects_hold_limit;
/* The bytes held now by every effects' buffers. */
uint64_t effects_held(void);

/* What a key holds. p is valid until the next store call when it came from the store. */
struct effects_value {
    const char *p;
    size_t len;
    int64_t exp; /* absolute, Unix ms; 0: none */
    int t;       /* enum store_type */
    int64_t n;   /* a collection's element count */
};

/* 1 if k exists and is alive at fx->now_ms (v filled), 0 if not, -1 on a store error. */
int effects_lookup(struct store *s, const struct effects *fx, const char *k, size_t klen,
                   struct effects_value *v);
/* The same, but an expired key that has not been deleted yet is found too. */
int effects_lookup_raw(struct store *s, const struct effects *fx, const char *k, size_t klen,
                       struct effects_value *v);
/* True if a key with expiry exp is alive at now_ms. */
int effects_alive(int64_t exp, int64_t now_ms);

/* Recording. Each returns 0, or -1 when out of memory (nothing recorded). */
int effects_put(struct effects *fx, const char *k, size_t klen, const char *v, size_t vlen,
                int64_t exp);
int effects_set_expire(struct effects *fx, const char *k, size_t klen, int64_t exp);
int effects_del(struct effects *fx, const char *k, size_t klen);
int effects_flush(struct effects *fx);
int effects_flush_all(struct effects *fx);
int effects_swap_db(struct effects *fx, int a, int b);
/* A new, empty collection of type t at k (replacing whatever k held), with n elements
 * (those the caller records next) and expiry exp. */
int effects_put_coll(struct effects *fx, const char *k, size_t klen, int t, int64_t n,
                     int64_t exp);
/* The collection at k (type t, expiry exp) keeps its elements and now counts n. */
int effects_count(struct effects *fx, const char *k, size_t klen, int t, int64_t n,
                  int64_t exp);
int effects_elem_put(struct effects *fx, const char *k, size_t klen, const char *f,
                     size_t flen, const char *v, size_t vlen);
int effects_elem_del(struct effects *fx, const char *k, size_t klen, const char *f,
                     size_t flen);

/* Element f of collection k in fx->db: 1 found (*v, *vlen; from the store: valid until the
 * next store call), 0 missing, -1 store error. k must have been found alive by the
 * caller. Records of other databases are passed over and SWAPDB records followed, as for
 * keys. */
int effects_elem_lookup(struct store *s, const struct effects *fx, const char *k, size_t klen,
                        const char *f, size_t flen, const char **v, size_t *vlen);

/* The database whose store rows lookups of fx->db reach below every layer: fx->db as the
 * SWAPDB records of fx and the rounds under it send it on. *flushed is set when a FLUSH of
 * it or a FLUSHALL hides the store on the way. */
int effects_store_db(const struct effects *fx, int *flushed);

/* n bytes that live as long as fx's records (NULL when out of memory, or past
 * effects_hold_limit in a bounded fx: then fx->over is set). */
char *effects_alloc(struct effects *fx, size_t n);
/* fx takes ownership of op (freed by effects_clear). Returns 0 or -1. */
int effects_own(struct effects *fx, struct op *op);

/* Which of op's arguments name a key that the records v[from..to) of fx change (the range
 * one op recorded): out[j] = '1' if a PUT, EXPIRE or DEL record there is on a key equal to
 * op->argv[j] in the argument's database (the op's DB wrapper, or a TX sub-command's; 0
 * without one), else '0', for j < op->argc (a FLUSH, FLUSHALL or SWAPDB record names no
 * key; a DB wrapper's own two arguments are '0'). Returns 1 if the range holds one of
 * those, else 0; out is filled either way. Exact and deterministic (never
 * fails): past a small size it indexes the records by hash, and without memory for the
 * index it compares every pair. */
int effects_touched(const struct effects *fx, size_t from, size_t to, const struct op *op,
                    char *out);

/* Marks, among out's '1's (effects_touched's string for the op whose records end at v[to]),
 * the keys that no longer exist once those records are applied: out[j] = 'D' (seen through
 * fx's records before v[to], the rounds under fx and the store, at fx->now_ms). Redis adds
 * a "del" event when a pop or removal empties a collection; this is how the coordinator
 * learns it (TPC.PREPARE TOUCHED GONE). Returns 0, or -1 on a store error or without memory
 * (out unusable). Costs one lookup per changed key. */
int effects_gone(struct store *s, const struct effects *fx, size_t to, const struct op *op,
                 char *out);

/* Which of nkeys keys (keys[i] in database dbs[i]; dbs NULL: all in 0) a keyless record in
 * v[from..to) touched, as Redis 7 dirties WATCHes: out[i] = '1' if keys[i] was alive (at
 * fx->now_ms), just before a FLUSH of its database or a FLUSHALL, or, for a SWAPDB of its
 * database and another, in either of them; seen through fx's records before that record,
 * the rounds under fx and the store; else '0'. A range without such records gives all
 * '0'. Returns 0, or -1 on a store error (out unusable). Costs one lookup per key
 * and FLUSH: the coordinator sends the keys only for a round that may flush while some
 * key is watched (TPC.PREPARE TOUCHED WATCHED, participant.h). */
int effects_flushed(struct store *s, const struct effects *fx, size_t from, size_t to,
                    size_t nkeys, char *const *keys, const size_t *lens, const int *dbs,
                    char *out);

/* Drops the records made after the first n (an op that failed half-way). */
void effects_truncate(struct effects *fx, size_t n);

/* True if neither fx nor any round under it has recorded anything: the store alone
 * answers. */
int effects_empty(const struct effects *fx);

/* Applies every record in order. Returns 0, -1 (store error), or EFFECTS_STOPPED when the
 * process caught SIGTERM or SIGINT meanwhile (daemon_stop_signal(), checked every 1024
 * records): the caller rolls the transaction back and exits, as a crash would, so that a
 * round of a million commands does not hold a stopping replica for minutes. */
#define EFFECTS_STOPPED (-2)
int effects_apply(struct store *s, const struct effects *fx);

/* Frees the records and owned memory; fx is zeroed (under, now_ms and seed too). */
void effects_clear(struct effects *fx);

#endif
