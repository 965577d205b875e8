/* effects.c -- a round's recorded changes, the view of a key through them, and applying
 * them to the store at COMMIT.
 *
 * effects_lookup() scans the records newest first, layer by layer (this round, then each
 * undecided round under it), and stops at the first record that decides the key: a PUT
 * (found), a DEL or a FLUSH (gone). An EXPIRE record on the way only changes the expiry of
 * whatever is found further down. Scanning is linear in the round's size, which is fine for
 * the batch sizes a round carries; a hash index can replace it without changing the API.
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

/* One key of the index: indexes + 1 of a record naming it (for the comparison), of its
 * newest PUT, DEL or COUNT (rec1), of its newest PUT or DEL (whole1: what hides older
 * elements) and of its newest EXPIRE; key1 == 0: an empty slot. An element (k, f) has
 * slots of its own, found by another hash: key1 names one of its EPUT/EDEL records and
 * rec1 the newest. */
struct effects_slot {
    size_t key1, rec1, exp1, whole1;
};

static int is_elem(const struct effect *e)
{
    return e->kind == EFFECT_EPUT || e->kind == EFFECT_EDEL;
}

static uint64_t hash_elem(const char *k, size_t klen, const char *f, size_t flen);

/* Whether record o is about the same key (elem 0) or element (elem 1) as (k, f). */
static int slot_is(const struct effect *o, int elem, const char *k, size_t klen, const char *f,
                   size_t flen)
{
    if (is_elem(o) != elem || o->klen != klen || memcmp(o->k, k, klen) != 0)
        return 0;
    return !elem || (o->flen == flen && memcmp(o->f, f, flen) == 0);
}

static uint64_t hash_bytes(const char *k, size_t len);

/* Notes record i in the index (which has room: the load stays under a half). */
static void index_one(struct effects *fx, size_t i)
{
    const struct effect *e = &fx->v[i];
    if (e->kind == EFFECT_FLUSH) {
        fx->ix_flush = i + 1;
        return;
    }
    int elem = is_elem(e);
    size_t h = (size_t)(elem ? hash_elem(e->k, e->klen, e->f, e->flen)
                             : hash_bytes(e->k, e->klen)) & fx->ix_mask;
    for (;; h = (h + 1) & fx->ix_mask) {
        struct effects_slot *sl = &fx->ix[h];
        if (sl->key1 == 0) {
            *sl = (struct effects_slot){ i + 1, 0, 0, 0 };
            fx->ix_used++;
        } else if (!slot_is(&fx->v[sl->key1 - 1], elem, e->k, e->klen, e->f, e->flen)) {
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

/* The index slot of key k (elem 0) or element (k, f) (elem 1), or NULL. */
static const struct effects_slot *find_slot(const struct effects *layer, int elem,
                                            const char *k, size_t klen, const char *f,
                                            size_t flen)
{
    size_t h = (size_t)(elem ? hash_elem(k, klen, f, flen) : hash_bytes(k, klen)) &
               layer->ix_mask;
    for (;; h = (h + 1) & layer->ix_mask) {
        const struct effects_slot *sl = &layer->ix[h];
        if (sl->key1 == 0)
            return NULL;
        if (slot_is(&layer->v[sl->key1 - 1], elem, k, klen, f, flen))
            return sl;
    }
}

/* The record's view of the key: value, expiry, type and count. */
static void fill_value(const struct effect *e, struct effects_value *v)
{
    v->p = e->kind == EFFECT_PUT && e->t == STORE_STRING ? e->v : "";
    v->len = e->kind == EFFECT_PUT && e->t == STORE_STRING ? e->vlen : 0;
    v->exp = e->exp;
    v->t = e->t;
    v->n = e->n;
}

/* lookup_layer through the index: the same answer as the scan below. */
static int lookup_indexed(const struct effects *layer, const char *k, size_t klen,
                          struct effects_value *v, int *exp_set, int64_t *exp)
{
    const struct effects_slot *sl = find_slot(layer, 0, k, klen, NULL, 0);
    size_t rec1 = sl ? sl->rec1 : 0, exp1 = sl ? sl->exp1 : 0;
    size_t decider = rec1 > layer->ix_flush ? rec1 : layer->ix_flush;
    if (exp1 > decider && !*exp_set)
        *exp = layer->v[exp1 - 1].exp, *exp_set = 1;
    if (decider == 0)
        return UNDECIDED;
    const struct effect *e = &layer->v[decider - 1];
    if (e->kind != EFFECT_PUT && e->kind != EFFECT_COUNT)
        return DECIDED_GONE; /* a FLUSH or a DEL */
    fill_value(e, v);
    return DECIDED_FOUND;
}

/* Looks for k in one layer, newest record first. Returns DECIDED_FOUND (v filled, except
 * its expiry when *exp_set), DECIDED_GONE, or UNDECIDED; an EXPIRE record sets *exp. */
static int lookup_layer(const struct effects *layer, const char *k, size_t klen,
                        struct effects_value *v, int *exp_set, int64_t *exp)
{
    if (layer->ix)
        return lookup_indexed(layer, k, klen, v, exp_set, exp);
    for (size_t i = layer->n; i-- > 0;) {
        const struct effect *e = &layer->v[i];
        if (e->kind == EFFECT_FLUSH)
            return DECIDED_GONE;
        if (is_elem(e) || e->klen != klen || memcmp(e->k, k, klen) != 0)
            continue;
        if (e->kind == EFFECT_DEL)
            return DECIDED_GONE;
        if (e->kind == EFFECT_EXPIRE) {
            if (!*exp_set)
                *exp = e->exp, *exp_set = 1;
            continue;
        }
        fill_value(e, v);
        return DECIDED_FOUND;
    }
    return UNDECIDED;
}

/* Element (k, f) in one layer: DECIDED_FOUND (*v, *vlen), DECIDED_GONE (deleted, or
 * hidden by a whole-key PUT/DEL or a FLUSH newer than any record of it), UNDECIDED. */
static int elem_layer(const struct effects *layer, const char *k, size_t klen, const char *f,
                      size_t flen, const char **v, size_t *vlen)
{
    size_t rec = 0, hide = 0;
    if (layer->ix) {
        const struct effects_slot *es = find_slot(layer, 1, k, klen, f, flen);
        const struct effects_slot *ks = find_slot(layer, 0, k, klen, NULL, 0);
        rec = es ? es->rec1 : 0;
        hide = ks ? ks->whole1 : 0;
        hide = hide > layer->ix_flush ? hide : layer->ix_flush;
    } else {
        for (size_t i = layer->n; i-- > 0 && !rec && !hide;) {
            const struct effect *e = &layer->v[i];
            if (e->kind == EFFECT_FLUSH)
                hide = i + 1;
            else if ((e->kind == EFFECT_PUT || e->kind == EFFECT_DEL) &&
                     slot_is(e, 0, k, klen, NULL, 0))
                hide = i + 1;
            else if (is_elem(e) && slot_is(e, 1, k, klen, f, flen))
                rec = i + 1;
        }
    }
    if (rec > hide) {
        const struct effect *e = &layer->v[rec - 1];
        if (e->kind == EFFECT_EDEL)
            return DECIDED_GONE;
        *v = e->v;
        *vlen = e->vlen;
        return DECIDED_FOUND;
    }
    return hide ? DECIDED_GONE : UNDECIDED;
}

int effects_elem_lookup(struct store *s, const struct effects *fx, const char *k, size_t klen,
                        const char *f, size_t flen, const char **v, size_t *vlen)
{
    for (const struct effects *layer = fx; layer; layer = layer->under) {
        int found = elem_layer(layer, k, klen, f, flen, v, vlen);
        if (found != UNDECIDED)
            return found;
    }
    return store_elem_get(s, k, klen, f, flen, v, vlen);
}

int effects_lookup_raw(struct store *s, const struct effects *fx, const char *k, size_t klen,
                       struct effects_value *v)
{
    int exp_set = 0, found = UNDECIDED;
    int64_t exp = 0;
    for (const struct effects *layer = fx; layer && found == UNDECIDED; layer = layer->under)
        found = lookup_layer(layer, k, klen, v, &exp_set, &exp);
    if (found == UNDECIDED) {
        struct store_row row;
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
    return push(fx, (struct effect){ EFFECT_PUT, k, v, klen, vlen, exp, NULL, 0, STORE_STRING, 0 });
}

int effects_set_expire(struct effects *fx, const char *k, size_t klen, int64_t exp)
{
    return push(fx, (struct effect){ EFFECT_EXPIRE, k, NULL, klen, 0, exp, NULL, 0, 0, 0 });
}

int effects_del(struct effects *fx, const char *k, size_t klen)
{
    return push(fx, (struct effect){ EFFECT_DEL, k, NULL, klen, 0, 0, NULL, 0, 0, 0 });
}

int effects_flush(struct effects *fx)
{
    return push(fx, (struct effect){ EFFECT_FLUSH, "", NULL, 0, 0, 0, NULL, 0, 0, 0 });
}

int effects_put_coll(struct effects *fx, const char *k, size_t klen, int t, int64_t n,
                     int64_t exp)
{
    return push(fx, (struct effect){ EFFECT_PUT, k, "", klen, 0, exp, NULL, 0, t, n });
}

int effects_count(struct effects *fx, const char *k, size_t klen, int t, int64_t n,
                  int64_t exp)
{
    return push(fx, (struct effect){ EFFECT_COUNT, k, "", klen, 0, exp, NULL, 0, t, n });
}

int effects_elem_put(struct effects *fx, const char *k, size_t klen, const char *f,
                     size_t flen, const char *v, size_t vlen)
{
    return push(fx, (struct effect){ EFFECT_EPUT, k, v, klen, vlen, 0, f, flen, 0, 0 });
}

int effects_elem_del(struct effects *fx, const char *k, size_t klen, const char *f,
                     size_t flen)
{
    return push(fx, (struct effect){ EFFECT_EDEL, k, NULL, klen, 0, 0, f, flen, 0, 0 });
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

/* An element's slot hash: the key's, the element's bytes mixed in after a separator. */
static uint64_t hash_elem(const char *k, size_t klen, const char *f, size_t flen)
{
    uint64_t h = hash_bytes(k, klen) ^ 0x9e3779b97f4a7c15ULL;
    h *= 1099511628211ULL;
    for (size_t i = 0; i < flen; i++)
        h = (h ^ (unsigned char)f[i]) * 1099511628211ULL;
    return h;
}

/* A FLUSH record names no key (its k is ""), so it matches no argument, the empty key
 * included. */
static int same_key(const struct effect *e, const char *k, size_t len)
{
    return e->kind != EFFECT_FLUSH && e->klen == len && memcmp(e->k, k, len) == 0;
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
        size_t at = (size_t)hash_bytes(fx->v[i].k, fx->v[i].klen) & *mask;
        while (slots[at])
            at = (at + 1) & *mask;
        slots[at] = i + 1;
    }
    return slots;
}

static int indexed(const struct effects *fx, const size_t *slots, size_t mask, const char *k,
                   size_t len)
{
    for (size_t at = (size_t)hash_bytes(k, len) & mask; slots[at]; at = (at + 1) & mask)
        if (same_key(&fx->v[slots[at] - 1], k, len))
            return 1;
    return 0;
}

static int in_range(const struct effects *fx, size_t from, size_t to, const char *k, size_t len)
{
    for (size_t i = from; i < to; i++)
        if (same_key(&fx->v[i], k, len))
            return 1;
    return 0;
}

int effects_touched(const struct effects *fx, size_t from, size_t to, const struct op *op,
                    char *out)
{
    int flushed = 0;
    for (size_t i = from; i < to; i++)
        flushed |= fx->v[i].kind == EFFECT_FLUSH;
    size_t mask = 0, *slots = NULL;
    if ((to - from) * (size_t)op->argc > TOUCHED_PAIRS)
        slots = index_records(fx, from, to, &mask);
    for (int j = 0; j < op->argc; j++) {
        const char *k = op->argv[j];
        size_t len = op->lens[j];
        int hit = slots ? indexed(fx, slots, mask, k, len) : in_range(fx, from, to, k, len);
        out[j] = hit ? '1' : '0';
    }
    free(slots);
    return flushed;
}

int effects_flushed(struct store *s, const struct effects *fx, size_t from, size_t to,
                    size_t nkeys, char *const *keys, const size_t *lens, char *out)
{
    memset(out, '0', nkeys);
    for (size_t f = from; f < to; f++) {
        if (fx->v[f].kind != EFFECT_FLUSH)
            continue;
        /* A view of fx that ends just before this FLUSH: its earlier records, then the
         * rounds under it, then the store. Only read, never cleared. */
        struct effects before = *fx;
        before.n = f;
        for (size_t i = 0; i < nkeys; i++) {
            struct effects_value v;
            int rc = out[i] == '1' ? 1 : effects_lookup(s, &before, keys[i], lens[i], &v);
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
    switch (e->kind) {
    case EFFECT_PUT:
        return e->t == STORE_STRING ? store_put(s, e->k, e->klen, e->v, e->vlen, e->exp)
                                    : store_put_coll(s, e->k, e->klen, e->t, e->n, e->exp, 1);
    case EFFECT_EXPIRE: return store_set_expire(s, e->k, e->klen, e->exp);
    case EFFECT_DEL: return store_del(s, e->k, e->klen);
    case EFFECT_FLUSH: return store_flush(s);
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
