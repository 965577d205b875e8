/* coll.h -- the elements of a collection (hash, set) as a round sees them.
 *
 * A collection's elements live in the store's el table (store.h) and in the element
 * records of the round and the rounds undecided under it (effects.h). coll_collect()
 * merges both, as cmd_keyspace.c merges keys: the store's elements that no record decides,
 * plus every element whose newest record is a put, unless a whole-key PUT, DEL or FLUSH in
 * a layer hides the store (and the older layers). The result is in element-position order
 * (store_elem_pos, then the element's bytes): the order of HSCAN/SSCAN cursors and random
 * picks, identical on every replica.
 *
 *     struct coll_list l = { 0 };
 *     uint64_t next;
 *     if (coll_collect(s, fx, k, klen, 0, -1, &l, &next) == 0)
 *         for (size_t i = 0; i < l.n; i++) ... l.v[i].f, l.v[i].v
 *     coll_list_free(&l);
 *
 * Cost: O(records of the layers) to find those about k, plus the store rows visited. A
 * single element never needs this: effects_elem_lookup() is O(log n).
 *
 * Randomness (SPOP, SRANDMEMBER, HRANDFIELD): coll_draw() is a 62-bit position, from the
 * read's seed, or in a round from the round's clock and progress (as RANDOMKEY's), so
 * every replica draws the same; the element picked is the first at or after it, wrapping.
 */
#ifndef TWOPC_COLL_H
#define TWOPC_COLL_H

#include <stddef.h>
#include <stdint.h>

#include "effects.h"
#include "exec_cmd.h"

struct store;

struct coll_elem {
    const char *f, *v;
    size_t flen, vlen;
    uint64_t p; /* store_elem_pos(f) */
};

/* Elements, with the bytes they point to (copied from the store, or the records'). */
struct coll_list {
    struct coll_elem *v;
    size_t n, cap;
    char **chunks;
    size_t nchunks, size, used;
};

/* Fills out with the elements of k visible to fx at positions >= from, in position order,
 * examining at most limit store rows (limit < 0: all); *next is the position to resume at,
 * 0 at the end. k must be a live collection (the caller looked it up). Returns 0 or -1
 * (store error, out of memory). */
int coll_collect(struct store *s, const struct effects *fx, const char *k, size_t klen,
                 uint64_t from, int64_t limit, struct coll_list *out, uint64_t *next);
void coll_list_free(struct coll_list *l);
/* Appends an element, its bytes copied into l. 0 or -1 (out of memory). */
int coll_list_append(struct coll_list *l, const char *f, size_t flen, const char *v,
                     size_t vlen);
/* Sorts l into position order and drops repeated elements (a union of several lists). */
void coll_list_dedup(struct coll_list *l);

/* A position to draw an element from (see above); salt tells draws of one op apart. */
uint64_t coll_draw(const struct effects *fx, uint64_t salt);
/* The first element of k at or after position at, wrapping around: 1 (*e filled, its bytes
 * in l), 0 if k has none, -1 on error. O(log n) when no record touches k. */
int coll_pick(struct store *s, const struct effects *fx, const char *k, size_t klen,
              uint64_t at, struct coll_list *l, struct coll_elem *e);

/* Records dst, in database dstdb, as a copy of the live collection src of fx->db (type t,
 * n elements) with expiry exp, replacing whatever dst held; the elements are copied into
 * fx's memory. 0 or -1. */
int coll_copy(struct store *s, struct effects *fx, const char *src, size_t srclen,
              const char *dst, size_t dstlen, int dstdb, int t, int64_t n, int64_t exp);

/* A collection being written (SADD, SREM, SMOVE, *STORE...): open it (the lookup), create
 * it before its first element if it was missing, record each element change and the
 * count, close it (the new count once, or a DEL when it ends empty, as Redis deletes an
 * empty collection). */
struct coll_w {
    const char *k;
    size_t klen;
    int t, found;
    int64_t n, n0, exp;
};
/* 1 found (of type t), 0 missing, EXEC_WRONGTYPE, or -1 (store error). */
int coll_w_open(struct store *s, const struct effects *fx, const char *k, size_t klen, int t,
                struct coll_w *cw);
/* Creates the collection if it was missing. 0 or -1. */
int coll_w_create(struct effects *fx, struct coll_w *cw);
/* Records the count if it changed, or deletes an emptied collection. 0 or -1. */
int coll_w_close(struct effects *fx, const struct coll_w *cw);

/* HSCAN and SSCAN, as Redis 7.0's scanGenericCommand: key cursor [MATCH p] [COUNT n]. The
 * cursor is a position (0: start, and end); COUNT store rows are examined per call. The
 * reply is [next cursor, elements] with each field followed by its value if pairs is set.
 * Returns 0 or -1 with the error written. */
/* Writes an element's value after its name (WITHVALUES, WITHSCORES); e NULL: the
 * placeholder of a pick that failed once the reply's array was started. */
typedef void (*coll_value_fn)(struct resp_writer *w, const struct coll_elem *e);

/* HRANDFIELD and ZRANDMEMBER: key 1 of type t, then an optional count and an optional
 * with-word (`with`, e.g. "withvalues"; NULL: none accepted), checked in Redis's order.
 * Without a count one pick (or nil); a positive count that many distinct elements, a
 * negative one -count picks that may repeat, each followed by value() with the word. Every
 * choice comes from coll_draw, so every replica makes it alike. */
int coll_random_command(struct store *s, struct effects *fx, const struct op *op, int t,
                        const char *with, coll_value_fn value, struct resp_writer *w);

int coll_scan_command(struct store *s, struct effects *fx, const struct op *op, int t,
                      int pairs, struct resp_writer *w);

#endif
