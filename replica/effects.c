/* effects.c -- a round's recorded changes, the view of a key through them, and applying
 * them to the store at COMMIT.
 *
 * effects_lookup() scans the records newest first, layer by layer (this round, then each
 * undecided round under it), and stops at the first record that decides the key: a PUT
 * (found), a DEL or a FLUSH (gone). An EXPIRE record on the way only changes the expiry of
 * whatever is found further down. A layer of EFFECTS_INDEX_MIN records or more is indexed
 * by (database, key).
 *
 * Databases: the lookup carries a database, fx->db to begin with. Records of other
 * databases are passed over, a FLUSH of the database or a FLUSHALL decides "gone", and a
 * SWAPDB(a, b) changes the database sought from there down (a <-> b):
 *
 *     newest  SET x 1 (db 0)   lookup (db 1, x): passed over (db 0)
 *             SWAPDB 0 1       db 1 -> 0 from here down
 *     oldest  SET x 2 (db 0)   found: 2, as Redis answers after SELECT 1
 */
#include "effects.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "failpoint.h"
#include "op.h"
#include "store.h"

enum { DECIDED_GONE = 0, DECIDED_FOUND = 1, UNDECIDED = 2 };

/* Below this many records a layer is scanned; from it on, indexed (struct effects). */
#define EFFECTS_INDEX_MIN 64

/* One (database, key) of the index: indexes + 1 of a record naming it (for the
 * comparison), of its newest PUT, DEL or COUNT (rec1), of its newest PUT or DEL (whole1:
 * what hides older elements) and of its newest EXPIRE; key1 == 0: an empty slot. An
 * element (database, k, f) has slots of its own, found by another hash: key1 names one of
 * its EPUT/EDEL records and rec1 the newest. */
struct effects_slot {
    size_t key1, rec1, exp1, whole1;
};

static int is_elem(const struct effect *e)
{
    return e->kind == EFFECT_EPUT || e->kind == EFFECT_EDEL;
}

static uint64_t hash_bytes(const char *k, size_t len);

/* Records that name no key: they decide for many keys at once, so the index only notes
 * the newest of them (ix_flush). */
static int keyless(enum effect_kind kind)
{
    return kind == EFFECT_FLUSH || kind == EFFECT_FLUSHALL || kind == EFFECT_SWAPDB;
}

static uint64_t hash_key(int db, const char *k, size_t len)
{
    return hash_bytes(k, len) ^ ((uint64_t)(unsigned)db * 0x9e3779b97f4a7c15ULL);
}

/* Whether record e names key k of database db (an element's record names its key too:
 * WATCH counts it as a change of the key). */
static int same_db_key(const struct effect *e, int db, const char *k, size_t len)
{
    return !keyless(e->kind) && e->db == db && e->klen == len && memcmp(e->k, k, len) == 0;
}

/* An element's slot hash: the key's, the element's bytes mixed in after a separator. */
static uint64_t hash_elem(int db, const char *k, size_t klen, const char *f, size_t flen)
{
    uint64_t h = hash_key(db, k, klen) ^ 0x9e3779b97f4a7c15ULL;
    h *= 1099511628211ULL;
    for (size_t i = 0; i < flen; i++)
        h = (h ^ (unsigned char)f[i]) * 1099511628211ULL;
    return h;
}

/* Whether record o is about the same key (elem 0) or element (elem 1) as (db, k, f). */
static int slot_is(const struct effect *o, int elem, int db, const char *k, size_t klen,
                   const char *f, size_t flen)
{
    if (is_elem(o) != elem || !same_db_key(o, db, k, klen))
        return 0;
    return !elem || (o->flen == flen && memcmp(o->f, f, flen) == 0);
}

/* Notes record i in the index (which has room: the load stays under a half). */
static void index_one(struct effects *fx, size_t i)
{
    const struct effect *e = &fx->v[i];
    if (keyless(e->kind)) {
        fx->ix_flush = i + 1;
        return;
    }
    int elem = is_elem(e);
    size_t h = (size_t)(elem ? hash_elem(e->db, e->k, e->klen, e->f, e->flen)
                             : hash_key(e->db, e->k, e->klen)) & fx->ix_mask;
    for (;; h = (h + 1) & fx->ix_mask) {
        struct effects_slot *sl = &fx->ix[h];
        if (sl->key1 == 0) {
            *sl = (struct effects_slot){ i + 1, 0, 0, 0 };
            fx->ix_used++;
        } else if (!slot_is(&fx->v[sl->key1 - 1], elem, e->db, e->k, e->klen, e->f,
                            e->flen)) {
            continue;
        }
        if (e->kind == EFFECT_EXPIRE)
            sl->exp1 = i + 1;
        else
            sl->rec1 = i + 1;
        if (e->kind == EFFECT_PUT || e->kind == EFFECT_DEL)
            sl->whole1 = i + 1;
        return;
    }
}

/* (Re)builds the index of records 0 .. n-1 with room for twice as many keys. Returns 0,
 * or -1 (out of memory: the index is dropped and lookups scan, as before). */
static int index_build(struct effects *fx)
{
    size_t size = 64;
    while (size < fx->n * 4)
        size *= 2;
    free(fx->ix);
    fx->ix = calloc(size, sizeof *fx->ix);
    fx->ix_mask = size - 1;
    fx->ix_used = fx->ix_flush = 0;
    if (!fx->ix)
        return -1;
    for (size_t i = 0; i < fx->n; i++)
        index_one(fx, i);
    return 0;
}

/* After record n-1 was added. */
static void index_note(struct effects *fx)
{
    if (fx->n < EFFECTS_INDEX_MIN)
        return;
    if (!fx->ix || (fx->ix_used + 1) * 2 > fx->ix_mask + 1) {
        index_build(fx);
        return;
    }
    index_one(fx, fx->n - 1);
}

static int lookup_scan(const struct effects *layer, size_t from, int *db, const char *k,
                       size_t klen, struct effects_value *v, int *exp_set, int64_t *exp);

/* The decision of record e (a PUT or COUNT: found, v filled with the value, expiry, type
 * and count; a DEL: gone). */
static int decide(const struct effect *e, struct effects_value *v)
{
    if (e->kind != EFFECT_PUT && e->kind != EFFECT_COUNT)
        return DECIDED_GONE;
    int str = e->kind == EFFECT_PUT && e->t == STORE_STRING;
    v->p = str ? e->v : "";
    v->len = str ? e->vlen : 0;
    v->exp = e->exp;
    v->t = e->t;
    v->n = e->n;
    return DECIDED_FOUND;
}

/* The index slot of (db, k) (elem 0) or of element (db, k, f) (elem 1), or NULL. */
static const struct effects_slot *find_slot(const struct effects *layer, int elem, int db,
                                            const char *k, size_t klen, const char *f,
                                            size_t flen)
{
    size_t h = (size_t)(elem ? hash_elem(db, k, klen, f, flen) : hash_key(db, k, klen)) &
               layer->ix_mask;
    for (;; h = (h + 1) & layer->ix_mask) {
        const struct effects_slot *sl = &layer->ix[h];
        if (sl->key1 == 0)
            return NULL;
        if (slot_is(&layer->v[sl->key1 - 1], elem, db, k, klen, f, flen))
            return sl;
    }
}

/* lookup_layer through the index: the same answer as the scan below. The index knows the
 * newest PUT/DEL and EXPIRE of (db, k); one newer than every keyless record decides, else
 * the records from the newest keyless one down are scanned (it may flush or swap). */
static int lookup_indexed(const struct effects *layer, int *db, const char *k, size_t klen,
                          struct effects_value *v, int *exp_set, int64_t *exp)
{
    const struct effects_slot *sl = find_slot(layer, 0, *db, k, klen, NULL, 0);
    size_t rec1 = sl ? sl->rec1 : 0, exp1 = sl ? sl->exp1 : 0;
    size_t barrier = layer->ix_flush;
    size_t decider = rec1 > barrier ? rec1 : 0;
    if (exp1 > decider && exp1 > barrier && !*exp_set)
        *exp = layer->v[exp1 - 1].exp, *exp_set = 1;
    if (decider)
        return decide(&layer->v[decider - 1], v);
    return barrier ? lookup_scan(layer, barrier, db, k, klen, v, exp_set, exp) : UNDECIDED;
}

/* Scans records from - 1 down to 0 for (*db, k); a SWAPDB on the way changes *db. */
static int lookup_scan(const struct effects *layer, size_t from, int *db, const char *k,
                       size_t klen, struct effects_value *v, int *exp_set, int64_t *exp)
{
    for (size_t i = from; i-- > 0;) {
        const struct effect *e = &layer->v[i];
        if (e->kind == EFFECT_FLUSHALL || (e->kind == EFFECT_FLUSH && e->db == *db))
            return DECIDED_GONE;
        if (e->kind == EFFECT_SWAPDB) {
            if (*db == e->db)
                *db = (int)e->exp;
            else if (*db == (int)e->exp)
                *db = e->db;
            continue;
        }
        if (is_elem(e) || !same_db_key(e, *db, k, klen))
            continue;
        if (e->kind == EFFECT_EXPIRE) {
            if (!*exp_set)
                *exp = e->exp, *exp_set = 1;
            continue;
        }
        return decide(e, v);
    }
    return UNDECIDED;
}

/* Looks for (*db, k) in one layer, newest record first. Returns DECIDED_FOUND (v filled,
 * except its expiry when *exp_set), DECIDED_GONE, or UNDECIDED with *db the database to
 * look in below; an EXPIRE record sets *exp. */
static int lookup_layer(const struct effects *layer, int *db, const char *k, size_t klen,
                        struct effects_value *v, int *exp_set, int64_t *exp)
{
    if (layer->ix)
        return lookup_indexed(layer, db, k, klen, v, exp_set, exp);
    return lookup_scan(layer, layer->n, db, k, klen, v, exp_set, exp);
}

/* Scans records from - 1 down to 0 for element (*db, k, f); a SWAPDB on the way changes
 * *db. DECIDED_FOUND (*v, *vlen), DECIDED_GONE (deleted, or hidden by a whole-key PUT or
 * DEL, a FLUSH of the database or a FLUSHALL), UNDECIDED. */
static int elem_scan(const struct effects *layer, size_t from, int *db, const char *k,
                     size_t klen, const char *f, size_t flen, const char **v, size_t *vlen)
{
    for (size_t i = from; i-- > 0;) {
        const struct effect *e = &layer->v[i];
        if (e->kind == EFFECT_FLUSHALL || (e->kind == EFFECT_FLUSH && e->db == *db))
            return DECIDED_GONE;
        if (e->kind == EFFECT_SWAPDB) {
            if (*db == e->db)
                *db = (int)e->exp;
            else if (*db == (int)e->exp)
                *db = e->db;
            continue;
        }
        if ((e->kind == EFFECT_PUT || e->kind == EFFECT_DEL) &&
            slot_is(e, 0, *db, k, klen, NULL, 0))
            return DECIDED_GONE;
        if (is_elem(e) && slot_is(e, 1, *db, k, klen, f, flen)) {
            if (e->kind == EFFECT_EDEL)
                return DECIDED_GONE;
            *v = e->v;
            *vlen = e->vlen;
            return DECIDED_FOUND;
        }
    }
    return UNDECIDED;
}

/* Element (*db, k, f) in one layer, as elem_scan; with an index, the newest record of the
 * element and the newest whole-key PUT/DEL decide when newer than every keyless record,
 * else the records from the newest keyless one down are scanned. */
static int elem_layer(const struct effects *layer, int *db, const char *k, size_t klen,
                      const char *f, size_t flen, const char **v, size_t *vlen)
{
    if (!layer->ix)
        return elem_scan(layer, layer->n, db, k, klen, f, flen, v, vlen);
    const struct effects_slot *es = find_slot(layer, 1, *db, k, klen, f, flen);
    const struct effects_slot *ks = find_slot(layer, 0, *db, k, klen, NULL, 0);
    size_t rec = es ? es->rec1 : 0, hide = ks ? ks->whole1 : 0, barrier = layer->ix_flush;
    if (rec > hide && rec > barrier) {
        const struct effect *e = &layer->v[rec - 1];
        if (e->kind == EFFECT_EDEL)
            return DECIDED_GONE;
        *v = e->v;
        *vlen = e->vlen;
        return DECIDED_FOUND;
    }
    if (hide > barrier)
        return DECIDED_GONE;
    return barrier ? elem_scan(layer, barrier, db, k, klen, f, flen, v, vlen) : UNDECIDED;
}

int effects_elem_lookup(struct store *s, const struct effects *fx, const char *k, size_t klen,
                        const char *f, size_t flen, const char **v, size_t *vlen)
{
    int db = fx->db;
    for (const struct effects *layer = fx; layer; layer = layer->under) {
        int found = elem_layer(layer, &db, k, klen, f, flen, v, vlen);
        if (found != UNDECIDED)
            return found;
    }
    store_use_db(s, db);
    return store_elem_get(s, k, klen, f, flen, v, vlen);
}

int effects_lookup_raw(struct store *s, const struct effects *fx, const char *k, size_t klen,
                       struct effects_value *v)
{
    int exp_set = 0, found = UNDECIDED, db = fx->db;
    int64_t exp = 0;
    for (const struct effects *layer = fx; layer && found == UNDECIDED; layer = layer->under)
        found = lookup_layer(layer, &db, k, klen, v, &exp_set, &exp);
    if (found == UNDECIDED) {
        struct store_row row;
        store_use_db(s, db);
        found = store_get(s, k, klen, &row);
        if (found == 1)
            *v = (struct effects_value){ row.v, row.vlen, row.exp, row.t, row.n };
    }
    if (found == DECIDED_FOUND && exp_set)
        v->exp = exp;
    return found;
}

int effects_alive(int64_t exp, int64_t now_ms)
{
    /* Redis: a key is expired when now > when, so it still exists at its expiry instant. */
    return exp == 0 || now_ms <= exp;
}

int effects_lookup(struct store *s, const struct effects *fx, const char *k, size_t klen,
                   struct effects_value *v)
{
    int found = effects_lookup_raw(s, fx, k, klen, v);
    if (found == 1 && !effects_alive(v->exp, fx->now_ms))
        return 0;
    return found;
}

static int push(struct effects *fx, struct effect e)
{
    e.db = fx->db;
    if (fx->n == fx->cap) {
        size_t cap = fx->cap ? fx->cap * 2 : 16;
        struct effect *nv = realloc(fx->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        fx->v = nv;
        fx->cap = cap;
    }
    fx->v[fx->n++] = e;
    index_note(fx);
    return 0;
}

int effects_put(struct effects *fx, const char *k, size_t klen, const char *v, size_t vlen,
                int64_t exp)
{
    return push(fx, (struct effect){ .kind = EFFECT_PUT, .k = k, .v = v, .klen = klen,
                                     .vlen = vlen, .exp = exp, .t = STORE_STRING });
}

int effects_set_expire(struct effects *fx, const char *k, size_t klen, int64_t exp)
{
    return push(fx, (struct effect){ .kind = EFFECT_EXPIRE, .k = k, .klen = klen, .exp = exp });
}

int effects_del(struct effects *fx, const char *k, size_t klen)
{
    return push(fx, (struct effect){ .kind = EFFECT_DEL, .k = k, .klen = klen });
}

int effects_flush(struct effects *fx)
{
    return push(fx, (struct effect){ .kind = EFFECT_FLUSH, .k = "" });
}

int effects_flush_all(struct effects *fx)
{
    return push(fx, (struct effect){ .kind = EFFECT_FLUSHALL, .k = "" });
}

int effects_swap_db(struct effects *fx, int a, int b)
{
    int was = fx->db;
    fx->db = a;
    int rc = push(fx, (struct effect){ .kind = EFFECT_SWAPDB, .k = "", .exp = b });
    fx->db = was;
    return rc;
}

int effects_put_coll(struct effects *fx, const char *k, size_t klen, int t, int64_t n,
                     int64_t exp)
{
    return push(fx, (struct effect){ .kind = EFFECT_PUT, .k = k, .v = "", .klen = klen,
                                     .exp = exp, .t = t, .n = n });
}

int effects_count(struct effects *fx, const char *k, size_t klen, int t, int64_t n,
                  int64_t exp)
{
    return push(fx, (struct effect){ .kind = EFFECT_COUNT, .k = k, .v = "", .klen = klen,
                                     .exp = exp, .t = t, .n = n });
}

int effects_elem_put(struct effects *fx, const char *k, size_t klen, const char *f,
                     size_t flen, const char *v, size_t vlen)
{
    return push(fx, (struct effect){ .kind = EFFECT_EPUT, .k = k, .v = v, .klen = klen,
                                     .vlen = vlen, .f = f, .flen = flen });
}

int effects_elem_del(struct effects *fx, const char *k, size_t klen, const char *f,
                     size_t flen)
{
    return push(fx, (struct effect){ .kind = EFFECT_EDEL, .k = k, .klen = klen, .f = f,
                                     .flen = flen });
}

int effects_store_db(const struct effects *fx, int *flushed)
{
    int db = fx->db;
    *flushed = 0;
    for (const struct effects *layer = fx; layer; layer = layer->under)
        for (size_t i = layer->n; i-- > 0;) {
            const struct effect *e = &layer->v[i];
            if (e->kind == EFFECT_FLUSHALL || (e->kind == EFFECT_FLUSH && e->db == db))
                *flushed = 1;
            else if (e->kind == EFFECT_SWAPDB && db == e->db)
                db = (int)e->exp;
            else if (e->kind == EFFECT_SWAPDB && db == (int)e->exp)
                db = e->db;
        }
    return db;
}

uint64_t effects_hold_limit;
static uint64_t held_bytes;

uint64_t effects_held(void) { return held_bytes; }

char *effects_alloc(struct effects *fx, size_t n)
{
    if (fx->bounded && effects_hold_limit && held_bytes + n > effects_hold_limit) {
        fx->over = 1;
        return NULL;
    }
    char **nb = realloc(fx->bufs, (fx->nbufs + 1) * sizeof *nb);
    if (!nb)
        return NULL;
    fx->bufs = nb;
    char *p = malloc(n ? n : 1);
    if (p) {
        fx->bufs[fx->nbufs++] = p;
        fx->held += n;
        held_bytes += n;
    }
    return p;
}

int effects_own(struct effects *fx, struct op *op)
{
    struct op **nv = realloc(fx->owned, (fx->nowned + 1) * sizeof *nv);
    if (!nv)
        return -1;
    fx->owned = nv;
    fx->owned[fx->nowned++] = op;
    return 0;
}

/* ---- which arguments an op changed (for WATCH) ---- */

/* Comparing every argument with every record is fine up to this many pairs; beyond it an
 * index of the records pays (MSET of thousands of keys, a big TX). */
#define TOUCHED_PAIRS 4096

static uint64_t hash_bytes(const char *k, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

/* A keyless record (FLUSH, FLUSHALL, SWAPDB: its k is "") matches no argument, the empty
 * key included. */
static int same_key(const struct effect *e, int db, const char *k, size_t len)
{
    return same_db_key(e, db, k, len);
}

/* Open addressing: slot = record index + 1, 0 = empty; size a power of two >= 2 records. */
static size_t *index_records(const struct effects *fx, size_t from, size_t to, size_t *mask)
{
    size_t size = 16;
    while (size < 2 * (to - from))
        size *= 2;
    size_t *slots = calloc(size, sizeof *slots);
    if (!slots)
        return NULL;
    *mask = size - 1;
    for (size_t i = from; i < to; i++) {
        size_t at = (size_t)hash_key(fx->v[i].db, fx->v[i].k, fx->v[i].klen) & *mask;
        while (slots[at])
            at = (at + 1) & *mask;
        slots[at] = i + 1;
    }
    return slots;
}

static int indexed(const struct effects *fx, const size_t *slots, size_t mask, int db,
                   const char *k, size_t len)
{
    for (size_t at = (size_t)hash_key(db, k, len) & mask; slots[at]; at = (at + 1) & mask)
        if (same_key(&fx->v[slots[at] - 1], db, k, len))
            return 1;
    return 0;
}

static int in_range(const struct effects *fx, size_t from, size_t to, int db, const char *k,
                    size_t len)
{
    for (size_t i = from; i < to; i++)
        if (same_key(&fx->v[i], db, k, len))
            return 1;
    return 0;
}

int effects_touched(const struct effects *fx, size_t from, size_t to, const struct op *op,
                    char *out)
{
    int flushed = 0;
    for (size_t i = from; i < to; i++)
        flushed |= keyless(fx->v[i].kind);
    size_t mask = 0, *slots = NULL;
    int *dbs = malloc(((size_t)op->argc + 1) * sizeof *dbs);
    if (dbs)
        op_arg_dbs(op, dbs);
    if ((to - from) * (size_t)op->argc > TOUCHED_PAIRS)
        slots = index_records(fx, from, to, &mask);
    for (int j = 0; j < op->argc; j++) {
        const char *k = op->argv[j];
        size_t len = op->lens[j];
        /* Without memory for dbs, every argument counts as changed: a WATCH is dirtied
         * too often, never too rarely. */
        int hit = !dbs || (dbs[j] >= 0 && (slots ? indexed(fx, slots, mask, dbs[j], k, len)
                                                 : in_range(fx, from, to, dbs[j], k, len)));
        out[j] = hit ? '1' : '0';
    }
    free(slots);
    free(dbs);
    return flushed;
}

/* Whether (db, k) is alive through before (a view ending just before a keyless record):
 * 1, 0 or -1. */
static int alive_in(struct store *s, struct effects before, int db, const char *k, size_t len)
{
    struct effects_value v;
    before.db = db;
    return effects_lookup(s, &before, k, len, &v);
}

int effects_gone(struct store *s, const struct effects *fx, size_t to, const struct op *op,
                 char *out)
{
    int *dbs = malloc(((size_t)op->argc + 1) * sizeof *dbs);
    if (!dbs)
        return -1;
    op_arg_dbs(op, dbs);
    struct effects after = *fx; /* fx's records up to the op's last, over the rounds under */
    after.n = to;
    int rc = 0;
    for (int j = 0; rc == 0 && j < op->argc; j++) {
        if (out[j] != '1' || dbs[j] < 0)
            continue;
        rc = alive_in(s, after, dbs[j], op->argv[j], op->lens[j]);
        if (rc == 0)
            out[j] = 'D';
        rc = rc < 0 ? -1 : 0;
    }
    free(dbs);
    return rc;
}

int effects_flushed(struct store *s, const struct effects *fx, size_t from, size_t to,
                    size_t nkeys, char *const *keys, const size_t *lens, const int *dbs,
                    char *out)
{
    memset(out, '0', nkeys);
    for (size_t f = from; f < to; f++) {
        const struct effect *e = &fx->v[f];
        if (!keyless(e->kind))
            continue;
        /* A view of fx that ends just before this record: its earlier records, then the
         * rounds under it, then the store. Only read, never cleared. */
        struct effects before = *fx;
        before.n = f;
        for (size_t i = 0; i < nkeys; i++) {
            int db = dbs ? dbs[i] : 0, rc = 0;
            if (out[i] == '1')
                continue;
            if (e->kind == EFFECT_FLUSHALL || (e->kind == EFFECT_FLUSH && e->db == db))
                rc = alive_in(s, before, db, keys[i], lens[i]);
            else if (e->kind == EFFECT_SWAPDB && (db == e->db || db == (int)e->exp)) {
                /* Redis 7: a watched key of either database is touched when it exists in
                 * either. */
                rc = alive_in(s, before, e->db, keys[i], lens[i]);
                if (rc == 0)
                    rc = alive_in(s, before, (int)e->exp, keys[i], lens[i]);
            }
            if (rc < 0)
                return -1;
            out[i] = rc == 1 ? '1' : '0';
        }
    }
    return 0;
}

void effects_truncate(struct effects *fx, size_t n)
{
    if (n < fx->n) {
        fx->n = n;
        if (fx->ix && (n < EFFECTS_INDEX_MIN || index_build(fx) < 0)) {
            free(fx->ix);
            fx->ix = NULL;
        }
    }
}

int effects_empty(const struct effects *fx)
{
    for (const struct effects *layer = fx; layer; layer = layer->under)
        if (layer->n > 0)
            return 0;
    return 1;
}

static int apply_one(struct store *s, const struct effect *e)
{
    store_use_db(s, e->db);
    switch (e->kind) {
    case EFFECT_PUT:
        return e->t == STORE_STRING ? store_put(s, e->k, e->klen, e->v, e->vlen, e->exp)
                                    : store_put_coll(s, e->k, e->klen, e->t, e->n, e->exp, 1);
    case EFFECT_EXPIRE: return store_set_expire(s, e->k, e->klen, e->exp);
    case EFFECT_DEL: return store_del(s, e->k, e->klen);
    case EFFECT_FLUSH: return store_flush(s);
    case EFFECT_FLUSHALL: return store_flush_all(s);
    case EFFECT_SWAPDB: return store_swap_db(s, e->db, (int)e->exp);
    case EFFECT_COUNT: return store_put_coll(s, e->k, e->klen, e->t, e->n, e->exp, 0);
    case EFFECT_EPUT: return store_elem_put(s, e->k, e->klen, e->f, e->flen, e->v, e->vlen);
    case EFFECT_EDEL: return store_elem_del(s, e->k, e->klen, e->f, e->flen);
    default: return -1;
    }
}

int effects_apply(struct store *s, const struct effects *fx)
{
    int slow = FAILPOINT_ON("replica.apply.slow");
    for (size_t i = 0; i < fx->n; i++) {
        if (apply_one(s, &fx->v[i]) < 0)
            return -1;
        if (slow)
            usleep(200); /* a test's huge round, without a huge round */
        if ((i & 1023) == 1023 && daemon_stop_signal())
            return EFFECTS_STOPPED;
    }
    return 0;
}

void effects_clear(struct effects *fx)
{
    for (size_t i = 0; i < fx->nowned; i++)
        op_free(fx->owned[i]);
    for (size_t i = 0; i < fx->nbufs; i++)
        free(fx->bufs[i]);
    held_bytes -= fx->held;
    free(fx->owned);
    free(fx->bufs);
    free(fx->v);
    free(fx->ix);
    *fx = (struct effects){ 0 };
}
