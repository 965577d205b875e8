/* coll.c -- a collection's visible elements: the store's merged with the records of the
 * round and the rounds under it (see coll.h).
 *
 *     store el rows of k (p order):  a  b  c         records (newest first): EDEL b, EPUT d
 *     visible:                       a     c  + d    (sorted back into (p, f) order)
 */
#include "coll.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "glob.h"
#include "util.h"

#include "cmd_keyspace.h"
#include "store.h"

#define COLL_CHUNK 65536

static char *list_copy(struct coll_list *l, const char *p, size_t len)
{
    if (len == 0)
        return "";
    if (l->nchunks == 0 || l->size - l->used < len) {
        size_t size = len > COLL_CHUNK ? len : COLL_CHUNK;
        char **nc = realloc(l->chunks, (l->nchunks + 1) * sizeof *nc);
        if (!nc)
            return NULL;
        l->chunks = nc;
        if (!(l->chunks[l->nchunks] = malloc(size)))
            return NULL;
        l->nchunks++;
        l->size = size;
        l->used = 0;
    }
    char *q = l->chunks[l->nchunks - 1] + l->used;
    memcpy(q, p, len);
    l->used += len;
    return q;
}

/* Adds an element (its bytes copied if copy is set). Returns 0 or -1. */
static int list_add(struct coll_list *l, const struct coll_elem *e, int copy)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct coll_elem *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    struct coll_elem c = *e;
    if (copy && (!(c.f = list_copy(l, e->f, e->flen)) || !(c.v = list_copy(l, e->v, e->vlen))))
        return -1;
    l->v[l->n++] = c;
    return 0;
}

int coll_list_append(struct coll_list *l, const char *f, size_t flen, const char *v,
                     size_t vlen)
{
    struct coll_elem e = { f, v, flen, vlen, 0 };
    return list_add(l, &e, 1);
}

void coll_list_free(struct coll_list *l)
{
    for (size_t i = 0; i < l->nchunks; i++)
        free(l->chunks[i]);
    free(l->chunks);
    free(l->v);
    *l = (struct coll_list){ 0 };
}

/* Position order: p, then the element's bytes as SQLite compares BLOBs. */
static int elem_cmp(const void *a, const void *b)
{
    const struct coll_elem *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    int c = memcmp(x->f, y->f, x->flen < y->flen ? x->flen : y->flen);
    return c ? c : (x->flen > y->flen) - (x->flen < y->flen);
}

void coll_list_dedup(struct coll_list *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, elem_cmp);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (n == 0 || elem_cmp(&l->v[n - 1], &l->v[i]) != 0)
            l->v[n++] = l->v[i];
    l->n = n;
}

/* The records that decide an element of k in fx->db, newest first per element (v NULL:
 * deleted), in position order without repeats; *hidden if a whole-key record, a FLUSH of
 * the database or a FLUSHALL hides the store; *db the database the store holds k's
 * elements in (a SWAPDB on the way changes it, as for effects_lookup). Returns 0 or -1. */
static int decided(const struct effects *fx, const char *k, size_t klen, struct coll_list *d,
                   int *hidden, int *db)
{
    *hidden = 0;
    *db = fx->db;
    for (const struct effects *layer = fx; layer && !*hidden; layer = layer->under)
        for (size_t i = layer->n; i-- > 0 && !*hidden;) {
            const struct effect *e = &layer->v[i];
            if (e->kind == EFFECT_SWAPDB) {
                if (*db == e->db)
                    *db = (int)e->exp;
                else if (*db == (int)e->exp)
                    *db = e->db;
                continue;
            }
            int flush = e->kind == EFFECT_FLUSHALL || (e->kind == EFFECT_FLUSH && e->db == *db);
            int mine = !flush && e->kind != EFFECT_FLUSH && e->kind != EFFECT_FLUSHALL &&
                       e->db == *db && e->klen == klen && memcmp(e->k, k, klen) == 0;
            if (flush || (mine && (e->kind == EFFECT_PUT || e->kind == EFFECT_DEL))) {
                *hidden = 1;
            } else if (mine && (e->kind == EFFECT_EPUT || e->kind == EFFECT_EDEL)) {
                struct coll_elem c = { e->f, e->kind == EFFECT_EPUT ? e->v : NULL, e->flen,
                                       e->vlen, store_elem_pos(e->f, e->flen) };
                if (list_add(d, &c, 0) < 0)
                    return -1;
            }
        }
    /* A stable sort keeps the newest record of each element first among its repeats. */
    for (size_t i = 1; i < d->n; i++) {
        struct coll_elem c = d->v[i];
        size_t j = i;
        for (; j > 0 && elem_cmp(&d->v[j - 1], &c) > 0; j--)
            d->v[j] = d->v[j - 1];
        d->v[j] = c;
    }
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (n == 0 || elem_cmp(&d->v[n - 1], &d->v[i]) != 0)
            d->v[n++] = d->v[i];
    d->n = n;
    return 0;
}

struct gather {
    struct coll_list *out;
    const struct coll_list *decided;
    int failed;
};

static int gather_row(void *ctx, const struct store_elem *e)
{
    struct gather *g = ctx;
    struct coll_elem c = { e->f, e->v, e->flen, e->vlen, e->p };
    if (g->decided->n &&
        bsearch(&c, g->decided->v, g->decided->n, sizeof c, elem_cmp) != NULL)
        return 0;
    g->failed = list_add(g->out, &c, 1) < 0;
    return g->failed;
}

int coll_collect(struct store *s, const struct effects *fx, const char *k, size_t klen,
                 uint64_t from, int64_t limit, struct coll_list *out, uint64_t *next)
{
    struct coll_list d = { 0 };
    struct gather g = { out, &d, 0 };
    int hidden = 0, more = 0, rc = 0, db = fx->db;
    uint64_t last = 0;
    if (!effects_empty(fx) && decided(fx, k, klen, &d, &hidden, &db) < 0)
        rc = -1;
    store_use_db(s, db);
    if (rc == 0 && !hidden &&
        (store_elem_scan(s, k, klen, from, limit, gather_row, &g, &more, &last) < 0 ||
         g.failed))
        rc = -1;
    uint64_t upto = more ? last : UINT64_MAX;
    for (size_t i = 0; rc == 0 && i < d.n; i++)
        if (d.v[i].v && d.v[i].p >= from && d.v[i].p <= upto)
            rc = list_add(out, &d.v[i], 1);
    if (rc == 0 && d.n && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, elem_cmp);
    coll_list_free(&d);
    *next = more ? last + 1 : 0;
    return rc;
}

/* splitmix64 */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t coll_draw(const struct effects *fx, uint64_t salt)
{
    uint64_t x = fx->seed ? fx->seed
                          : mix((uint64_t)fx->now_ms) ^ mix(fx->n * 31 + fx->nowned);
    return (mix(x ^ mix(salt)) >> 2) + 1;
}

int coll_pick(struct store *s, const struct effects *fx, const char *k, size_t klen,
              uint64_t at, struct coll_list *l, struct coll_elem *e)
{
    /* Resumes from at in steps of a few rows until an element is visible: rows a record
     * deleted are skipped; at the end, once around from 0. */
    for (int lap = 0; lap < 2; lap++) {
        uint64_t from = lap ? 0 : at, next;
        do {
            l->n = 0;
            if (coll_collect(s, fx, k, klen, from, 16, l, &next) < 0)
                return -1;
            if (l->n) {
                *e = l->v[0];
                return 1;
            }
            from = next;
        } while (next != 0);
    }
    return 0;
}

/* The COUNT form: n distinct elements (count > 0, at most all of them: a seeded
 * Fisher-Yates over the collection) or -count picks that may repeat (O(log n) each). */
static int random_count(struct store *s, struct effects *fx, const struct op *op,
                        int64_t count, coll_value_fn value, struct resp_writer *w)
{
    int each = value ? 2 : 1;
    struct coll_list l = { 0 };
    struct coll_elem e;
    uint64_t next;
    if (count < 0) {
        uint64_t n = (uint64_t)-count;
        resp_write_array(w, (size_t)(n * (uint64_t)each));
        for (uint64_t i = 0; i < n; i++) {
            int got = coll_pick(s, fx, op->argv[1], op->lens[1], coll_draw(fx, i), &l, &e);
            resp_write_bulk(w, got == 1 ? e.f : "", got == 1 ? e.flen : 0);
            if (value) /* a failed pick still fills its place: the array is started */
                value(w, got == 1 ? &e : NULL);
        }
        coll_list_free(&l);
        return 0;
    }
    if (coll_collect(s, fx, op->argv[1], op->lens[1], 0, -1, &l, &next) < 0) {
        coll_list_free(&l);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    size_t n = (uint64_t)count < l.n ? (size_t)count : l.n;
    for (size_t i = 0; n < l.n && i < n; i++) { /* Fisher-Yates, the first n places */
        size_t j = i + (size_t)(coll_draw(fx, i) % (l.n - i));
        struct coll_elem t = l.v[i];
        l.v[i] = l.v[j];
        l.v[j] = t;
    }
    resp_write_array(w, n * (size_t)each);
    for (size_t i = 0; i < n; i++) {
        resp_write_bulk(w, l.v[i].f, l.v[i].flen);
        if (value)
            value(w, &l.v[i]);
    }
    coll_list_free(&l);
    return 0;
}

int coll_random_command(struct store *s, struct effects *fx, const struct op *op, int t,
                        const char *with, coll_value_fn value, struct resp_writer *w)
{
    int64_t count = 0;
    int counted = op->argc >= 3, withval = op->argc == 4;
    if (counted) {
        if (exec_arg_i64(op, 2, &count) < 0)
            return exec_error(w, EXEC_ERR_NOT_INT);
        if (count < -INT64_MAX)
            return exec_error(w, "ERR value is out of range, value must between "
                                 "-9223372036854775807 and 9223372036854775807");
        if (op->argc > 4 || (withval && (!with || strcasecmp(op->argv[3], with) != 0)))
            return exec_error(w, EXEC_ERR_SYNTAX);
        if (withval && (count < -INT64_MAX / 2 || count > INT64_MAX / 2))
            return exec_error(w, "ERR value is out of range");
    }
    struct effects_value v;
    int found = exec_lookup_type(s, fx, op, 1, t, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (counted && (!found || count == 0)) {
        resp_write_array(w, 0);
        return 0;
    }
    if (counted)
        return random_count(s, fx, op, count, withval ? value : NULL, w);
    struct coll_list l = { 0 };
    struct coll_elem e;
    int rc = found ? coll_pick(s, fx, op->argv[1], op->lens[1], coll_draw(fx, 0), &l, &e) : 0;
    if (rc > 0)
        resp_write_bulk(w, e.f, e.flen);
    else if (rc == 0)
        resp_write_null(w);
    coll_list_free(&l); /* after the write: e points into l */
    return rc < 0 ? exec_error(w, EXEC_ERR_STORAGE) : 0;
}

int coll_copy(struct store *s, struct effects *fx, const char *src, size_t srclen,
              const char *dst, size_t dstlen, int dstdb, int t, int64_t n, int64_t exp)
{
    int was = fx->db;
    struct coll_list l = { 0 };
    uint64_t next;
    int rc = coll_collect(s, fx, src, srclen, 0, -1, &l, &next);
    size_t bytes = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        bytes += l.v[i].flen + l.v[i].vlen;
    char *buf = rc == 0 ? effects_alloc(fx, bytes) : NULL;
    if (!buf)
        rc = -1;
    fx->db = dstdb; /* read in the source's database, recorded in the target's */
    if (rc == 0)
        rc = effects_put_coll(fx, dst, dstlen, t, n, exp);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const struct coll_elem *e = &l.v[i];
        char *f = buf, *v = buf + e->flen;
        memcpy(f, e->f, e->flen);
        memcpy(v, e->v, e->vlen);
        buf += e->flen + e->vlen;
        rc = effects_elem_put(fx, dst, dstlen, f, e->flen, v, e->vlen);
    }
    fx->db = was;
    coll_list_free(&l);
    return rc;
}

/* The options after the cursor: Redis's order of checks (COUNT must be an integer >= 1;
 * TYPE is SCAN's only). Returns 0, or -1 with the error written. */
static int scan_options(const struct op *op, int64_t *count, const char **pat, size_t *plen,
                        struct resp_writer *w)
{
    *count = 10;
    *pat = NULL;
    *plen = 0;
    for (int i = 3; i < op->argc; i += 2) {
        int has_value = i + 1 < op->argc;
        if (has_value && strcasecmp(op->argv[i], "count") == 0) {
            if (exec_arg_i64(op, i + 1, count) < 0)
                return exec_error(w, EXEC_ERR_NOT_INT);
            if (*count < 1)
                return exec_error(w, EXEC_ERR_SYNTAX);
        } else if (has_value && strcasecmp(op->argv[i], "match") == 0) {
            *pat = op->argv[i + 1];
            *plen = op->lens[i + 1];
        } else {
            return exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    return 0;
}

int coll_scan_command(struct store *s, struct effects *fx, const struct op *op, int t,
                      int pairs, struct resp_writer *w)
{
    uint64_t cursor, next = 0;
    if (cmd_keyspace_parse_cursor(op->argv[2], &cursor) < 0)
        return exec_error(w, "ERR invalid cursor");
    struct effects_value v;
    int found = exec_lookup_type(s, fx, op, 1, t, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (!found) {
        resp_write_array(w, 2);
        resp_write_bulk(w, "0", 1);
        resp_write_array(w, 0);
        return 0;
    }
    int64_t count;
    const char *pat;
    size_t plen;
    if (scan_options(op, &count, &pat, &plen, w) < 0)
        return -1;
    struct coll_list l = { 0 };
    if (coll_collect(s, fx, op->argv[1], op->lens[1], cursor, count, &l, &next) < 0) {
        coll_list_free(&l);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (!pat || (plen == 1 && pat[0] == '*') ||
            glob_match(pat, plen, l.v[i].f, l.v[i].flen))
            l.v[n++] = l.v[i];
    char num[24];
    resp_write_array(w, 2);
    resp_write_bulk(w, num, util_u64_to_str(next, num));
    resp_write_array(w, pairs ? 2 * n : n);
    for (size_t i = 0; i < n; i++) {
        resp_write_bulk(w, l.v[i].f, l.v[i].flen);
        if (pairs)
            resp_write_bulk(w, l.v[i].v, l.v[i].vlen);
    }
    coll_list_free(&l);
    return 0;
}

int coll_w_open(struct store *s, const struct effects *fx, const char *k, size_t klen, int t,
                struct coll_w *cw)
{
    struct effects_value v;
    int found = effects_lookup(s, fx, k, klen, &v);
    if (found == 1 && v.t != t)
        found = EXEC_WRONGTYPE;
    int here = found == 1;
    *cw = (struct coll_w){ k, klen, t, here, here ? v.n : 0, here ? v.n : 0, here ? v.exp : 0 };
    return found;
}

int coll_w_create(struct effects *fx, struct coll_w *cw)
{
    if (cw->found)
        return 0;
    cw->found = 1;
    return effects_put_coll(fx, cw->k, cw->klen, cw->t, 0, 0);
}

int coll_w_close(struct effects *fx, const struct coll_w *cw)
{
    if (!cw->found || cw->n == cw->n0)
        return 0;
    if (cw->n == 0)
        return effects_del(fx, cw->k, cw->klen);
    return effects_count(fx, cw->k, cw->klen, cw->t, cw->n, cw->exp);
}
