/* cmd_zset.c -- sorted-set commands, as Redis 7.0's t_zset.c evaluates them.
 *
 * A sorted set is a kv row of type STORE_ZSET holding its member count, and one element
 * per member whose value is the score, formatted as Redis replies with it (%.17g, "inf",
 * "-inf": the text parses back to the same double). A single member (ZSCORE, ZADD, ZREM,
 * ZINCRBY) is one O(log n) element lookup through the rounds ahead (effects_elem_lookup).
 * Ordered reads: when no record of the round or the rounds undecided under it names the
 * key (always for a TPC.READ), ranges by rank or score, ZCOUNT, ZRANK and ZPOPMIN/ZPOPMAX
 * are served by the store's score index (store_zrange: O(log n + m) from a score bound or
 * an end, a step per member skipped by a rank); everything else (a key the pipeline
 * changes, lex ranges, ZREMRANGE*, ZMPOP, set algebra) loads the members with
 * coll_collect(), which merges the undecided layers, and sorts them by (score, member
 * bytes), doubles compared exactly: O(n log n).
 *
 * Writing follows cmd_hash.c: a set that did not exist is created with effects_put_coll()
 * before its first member; each member written or deleted is one element record; a count
 * that changed is recorded once at the end, and a set left empty is deleted. Records are
 * made only for real changes. Errors come in Redis's order: argument parsing first, then
 * WRONGTYPE, then the rest.
 */
#include "cmd_zset.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coll.h"
#include "store.h"
#include "util.h"

#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_NAN "ERR resulting score is not a number (NaN)"
#define ERR_RANGE_FLOAT "ERR min or max is not a float"
#define ERR_RANGE_LEX "ERR min or max not valid string range item"

/* The longest score text: %.17g of a double. */
#define SCORE_CHARS 32

/* ---- scores ---- */

/* Redis's string2d: the whole string, no leading space, no NaN, no overflow. */
static int parse_score(const char *p, size_t len, double *out)
{
    char buf[128];
    if (len == 0 || len >= sizeof buf || isspace((unsigned char)p[0]))
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if ((size_t)(end - buf) != len || isnan(d) ||
        (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || d == 0)))
        return -1;
    *out = d;
    return 0;
}

/* A stored score (always our own format). */
static double stored_score(const char *p, size_t len)
{
    char buf[SCORE_CHARS + 1];
    if (len > SCORE_CHARS)
        len = SCORE_CHARS;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return strtod(buf, NULL);
}

/* addReplyDouble's text for RESP2. Returns the length. */
static size_t format_score(char *buf, double d)
{
    if (isinf(d))
        return (size_t)snprintf(buf, SCORE_CHARS, "%s", d > 0 ? "inf" : "-inf");
    return (size_t)snprintf(buf, SCORE_CHARS, "%.17g", d);
}

static void write_score(struct resp_writer *w, double d)
{
    char buf[SCORE_CHARS];
    resp_write_bulk(w, buf, format_score(buf, d));
}

/* ---- loading a set in order ---- */

struct zm {
    const char *f;
    size_t flen;
    double s;
};

struct zset {
    struct coll_list l;
    struct zm *m;
    size_t n;
};

static int lex_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int zm_cmp(const void *pa, const void *pb)
{
    const struct zm *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s < b->s ? -1 : 1;
    return lex_cmp(a->f, a->flen, b->f, b->flen);
}

static void zset_free(struct zset *z)
{
    coll_list_free(&z->l);
    free(z->m);
    *z = (struct zset){ 0 };
}

/* Loads the members of the live set at key argument i in (score, member) order. 0 or -1. */
static int zset_load(struct store *s, const struct effects *fx, const char *k, size_t klen,
                     struct zset *z)
{
    uint64_t next;
    *z = (struct zset){ 0 };
    if (coll_collect(s, fx, k, klen, 0, -1, &z->l, &next) < 0)
        return -1;
    z->m = malloc((z->l.n ? z->l.n : 1) * sizeof *z->m);
    if (!z->m)
        return -1;
    for (size_t i = 0; i < z->l.n; i++)
        z->m[i] = (struct zm){ z->l.v[i].f, z->l.v[i].flen,
                               stored_score(z->l.v[i].v, z->l.v[i].vlen) };
    z->n = z->l.n;
    qsort(z->m, z->n, sizeof *z->m, zm_cmp);
    return 0;
}

static int lookup(struct store *s, const struct effects *fx, const struct op *op, int i,
                  struct effects_value *v)
{
    return exec_lookup_type(s, fx, op, i, STORE_ZSET, v);
}

/* Looks key argument i up and loads it: 1 found, 0 missing, or -1 with the error written. */
static int load_arg(struct store *s, const struct effects *fx, const struct op *op, int i,
                    struct zset *z, struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, i, &v);
    *z = (struct zset){ 0 };
    if (found < 0)
        return exec_lookup_error(w, found);
    if (found && zset_load(s, fx, op->argv[i], op->lens[i], z) < 0) {
        zset_free(z);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    return found;
}

/* ---- ranges ---- */

enum { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

struct score_range {
    double min, max;
    int minex, maxex;
};

/* zslParseRangeItem: strtod over the rest (which may be empty: 0), '(' exclusive. */
static int parse_range_item(const char *p, size_t len, double *d, int *ex)
{
    char buf[128];
    *ex = len > 0 && p[0] == '(';
    p += *ex;
    len -= (size_t)*ex;
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    *d = strtod(buf, &end);
    return *end != '\0' || isnan(*d) ? -1 : 0;
}

static int parse_score_range(const struct op *op, int mi, int ma, struct score_range *r)
{
    return parse_range_item(op->argv[mi], op->lens[mi], &r->min, &r->minex) < 0 ||
                   parse_range_item(op->argv[ma], op->lens[ma], &r->max, &r->maxex) < 0
               ? -1
               : 0;
}

static int gte_min(const struct score_range *r, double v)
{
    return r->minex ? v > r->min : v >= r->min;
}

static int lte_max(const struct score_range *r, double v)
{
    return r->maxex ? v < r->max : v <= r->max;
}

struct lex_item {
    const char *p;
    size_t len;
    int inf; /* -1: "-", 1: "+", 0: a string */
    int ex;
};

struct lex_range {
    struct lex_item min, max;
};

static int parse_lex_item(const char *p, size_t len, struct lex_item *it)
{
    *it = (struct lex_item){ 0 };
    if (len == 0)
        return -1;
    if (p[0] == '+' || p[0] == '-') {
        if (len != 1)
            return -1;
        it->inf = p[0] == '+' ? 1 : -1;
        it->ex = 1;
        return 0;
    }
    if (p[0] != '(' && p[0] != '[')
        return -1;
    it->ex = p[0] == '(';
    it->p = p + 1;
    it->len = len - 1;
    return 0;
}

static int parse_lex_range(const struct op *op, int mi, int ma, struct lex_range *r)
{
    return parse_lex_item(op->argv[mi], op->lens[mi], &r->min) < 0 ||
                   parse_lex_item(op->argv[ma], op->lens[ma], &r->max) < 0
               ? -1
               : 0;
}

/* Compares member f with a range item: <0, 0, >0. */
static int lex_item_cmp(const char *f, size_t flen, const struct lex_item *it)
{
    if (it->inf)
        return -it->inf;
    return lex_cmp(f, flen, it->p, it->len);
}

static int lex_gte_min(const struct lex_range *r, const struct zm *m)
{
    int c = lex_item_cmp(m->f, m->flen, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}

static int lex_lte_max(const struct lex_range *r, const struct zm *m)
{
    int c = lex_item_cmp(m->f, m->flen, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

/* Which members of z (ascending indexes [*from, *to)) a score or lex range selects. */
static void select_score(const struct zset *z, const struct score_range *r, size_t *from,
                         size_t *to)
{
    size_t a = 0, b;
    while (a < z->n && !gte_min(r, z->m[a].s))
        a++;
    for (b = a; b < z->n && lte_max(r, z->m[b].s); b++)
        ;
    *from = a;
    *to = b;
}

/* sdscmplex of two range items ("-" below every string, "+" above). */
static int lex_items_cmp(const struct lex_item *a, const struct lex_item *b)
{
    if (a->inf || b->inf)
        return a->inf - b->inf;
    return lex_cmp(a->p, a->len, b->p, b->len);
}

/* Redis's zzlFirstInLexRange/zzlLastInLexRange and the walk after them: lex ranges assume
 * equal scores, so with mixed scores Redis stops at the first member out of range in score
 * order; this does the same. Forward: from the first member >= min (if it is <= max) on
 * while <= max; rev: from the last member <= max (if it is >= min) back while >= min. */
static void select_lex(const struct zset *z, const struct lex_range *r, int rev, size_t *from,
                       size_t *to)
{
    *from = *to = 0;
    int cmp = lex_items_cmp(&r->min, &r->max);
    if (z->n == 0 || cmp > 0 || (cmp == 0 && (r->min.ex || r->max.ex)) ||
        !lex_gte_min(r, &z->m[z->n - 1]) || !lex_lte_max(r, &z->m[0]))
        return;
    if (!rev) {
        size_t a = 0, b;
        while (a < z->n && !lex_gte_min(r, &z->m[a]))
            a++;
        if (a == z->n || !lex_lte_max(r, &z->m[a]))
            return;
        for (b = a; b < z->n && lex_lte_max(r, &z->m[b]); b++)
            ;
        *from = a;
        *to = b;
        return;
    }
    size_t b = z->n, a;
    while (b > 0 && !lex_lte_max(r, &z->m[b - 1]))
        b--;
    if (b == 0 || !lex_gte_min(r, &z->m[b - 1]))
        return;
    for (a = b; a > 0 && lex_gte_min(r, &z->m[a - 1]); a--)
        ;
    *from = a;
    *to = b;
}

/* Redis's rank sanitizing (start, end inclusive, negative from the end): 0 and the
 * ascending-order range [*from, *to) of ranks, or -1 when it is empty. */
static int select_rank(size_t n, int64_t start, int64_t end, int rev, size_t *from, size_t *to)
{
    int64_t llen = (int64_t)n;
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen)
        return -1;
    if (end >= llen)
        end = llen - 1;
    if (rev) {
        *from = (size_t)(llen - 1 - end);
        *to = (size_t)(llen - start);
    } else {
        *from = (size_t)start;
        *to = (size_t)end + 1;
    }
    return 0;
}

/* ---- the store's score index: keys no undecided record names ---- */

/* Whether no record of fx or the rounds under it names key k in any database (nor
 * flushes or swaps databases): the store alone holds k's members, in fx->db, so its index
 * answers; the store is then set to that database. O(records), as coll_collect's merge. */
static int untouched(struct store *s, const struct effects *fx, const char *k, size_t klen)
{
    for (const struct effects *layer = fx; layer; layer = layer->under)
        for (size_t i = 0; i < layer->n; i++) {
            const struct effect *e = &layer->v[i];
            if (e->kind == EFFECT_FLUSH || e->kind == EFFECT_FLUSHALL ||
                e->kind == EFFECT_SWAPDB || (e->klen == klen && memcmp(e->k, k, klen) == 0))
                return 0;
        }
    store_use_db(s, fx->db);
    return 1;
}

/* Members the store visited, copied (struct zset's m, with its own bytes). */
struct zcollect {
    struct zm *m;
    size_t n, cap;
    int failed;
};

static int zcollect_row(void *ctx, const struct store_elem *e)
{
    struct zcollect *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct zm *m = realloc(c->m, cap * sizeof *m);
        if (!m)
            return c->failed = 1;
        c->m = m;
        c->cap = cap;
    }
    char *f = malloc(e->flen ? e->flen : 1);
    if (!f)
        return c->failed = 1;
    memcpy(f, e->f, e->flen);
    c->m[c->n++] = (struct zm){ f, e->flen, stored_score(e->v, e->vlen) };
    return 0;
}

static void zcollect_free(struct zcollect *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((char *)c->m[i].f);
    free(c->m);
}

/* ZRANGE by rank or score of a key no record touches, from the index: by rank through
 * the rank buckets, by score O(log n + offset + m). n is the set's count; the range
 * arguments as range_generic parsed them. */
static int range_indexed(struct store *s, const struct op *op, int ks, int64_t n, int by,
                         int rev, int withscores, int64_t start, int64_t end,
                         const struct score_range *r, int64_t offset, int64_t limit,
                         struct resp_writer *w)
{
    struct zcollect c = { 0 };
    int rc = 0;
    size_t from = 0, to = 0;
    if (by == BY_RANK) {
        /* Through the rank buckets: the member at rank from is found without stepping
         * over every member before it. */
        if (select_rank((size_t)n, start, end, rev, &from, &to) == 0 && from < to)
            rc = store_zrange_rank(s, op->argv[ks], op->lens[ks], (int64_t)from,
                                   (int64_t)(to - from), zcollect_row, &c);
    } else if (offset >= 0) {
        rc = store_zrange(s, op->argv[ks], op->lens[ks], r->min, r->minex, r->max, r->maxex,
                          rev, offset, limit, zcollect_row, &c);
    }
    if (rc < 0 || c.failed) {
        zcollect_free(&c);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    int flip = by == BY_RANK && rev; /* ranks come ascending; a score range in its order */
    resp_write_array(w, c.n * (withscores ? 2 : 1));
    for (size_t i = 0; i < c.n; i++) {
        const struct zm *m = &c.m[flip ? c.n - 1 - i : i];
        resp_write_bulk(w, m->f, m->flen);
        if (withscores)
            write_score(w, m->s);
    }
    zcollect_free(&c);
    return 0;
}

/* ---- writing ---- */

struct zw {
    int found;
    int64_t n, n0, exp;
};

static int zw_open(struct store *s, const struct effects *fx, const struct op *op, int i,
                   struct zw *z, struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, i, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    *z = (struct zw){ found, found ? v.n : 0, found ? v.n : 0, found ? v.exp : 0 };
    return 0;
}

static int zw_close(struct effects *fx, const char *k, size_t klen, const struct zw *z)
{
    if (!z->found || z->n == z->n0)
        return 0;
    if (z->n == 0)
        return effects_del(fx, k, klen);
    return effects_count(fx, k, klen, STORE_ZSET, z->n, z->exp);
}

/* Writes member f (any memory: copied) with score d into k, creating k first if needed. */
static int zw_put(struct effects *fx, const char *k, size_t klen, struct zw *z, const char *f,
                  size_t flen, int copy, double d)
{
    char num[SCORE_CHARS];
    /* A listpack (any set Redis keeps small) stores -0 as the integer 0. */
    size_t n = format_score(num, d == 0 ? 0.0 : d);
    char *buf = effects_alloc(fx, n + (copy ? flen : 0));
    if (!buf)
        return -1;
    memcpy(buf, num, n);
    if (copy) {
        memcpy(buf + n, f, flen);
        f = buf + n;
    }
    if (!z->found) {
        z->found = 1;
        if (effects_put_coll(fx, k, klen, STORE_ZSET, 0, 0) < 0)
            return -1;
    }
    return effects_elem_put(fx, k, klen, f, flen, buf, n);
}

/* Deletes member f (copied into fx's memory). */
static int zw_del(struct effects *fx, const char *k, size_t klen, struct zw *z, const char *f,
                  size_t flen)
{
    char *buf = effects_alloc(fx, flen ? flen : 1);
    if (!buf)
        return -1;
    memcpy(buf, f, flen);
    z->n--;
    return effects_elem_del(fx, k, klen, buf, flen);
}

/* The score of member argument i in the set at argument 1: 1 (*d), 0 missing, -1. */
static int member_score(struct store *s, const struct effects *fx, const struct op *op,
                        int keyi, const char *f, size_t flen, double *d)
{
    const char *v;
    size_t vlen;
    int rc = effects_elem_lookup(s, fx, op->argv[keyi], op->lens[keyi], f, flen, &v, &vlen);
    if (rc == 1)
        *d = stored_score(v, vlen);
    return rc;
}

/* ---- ZADD, ZINCRBY ---- */

static int zset_zadd(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int incr = op_is(op, "zincrby"), nx = 0, xx = 0, gt = 0, lt = 0, ch = 0;
    int i = 2;
    for (; i < op->argc; i++) {
        const char *o = op->argv[i];
        if (!strcasecmp(o, "nx"))
            nx = 1;
        else if (!strcasecmp(o, "xx"))
            xx = 1;
        else if (!strcasecmp(o, "ch"))
            ch = 1;
        else if (!strcasecmp(o, "incr"))
            incr = 1;
        else if (!strcasecmp(o, "gt"))
            gt = 1;
        else if (!strcasecmp(o, "lt"))
            lt = 1;
        else
            break;
    }
    int elements = op->argc - i;
    if (elements % 2 || !elements)
        return exec_error(w, EXEC_ERR_SYNTAX);
    elements /= 2;
    if (nx && xx)
        return exec_error(w, "ERR XX and NX options at the same time are not compatible");
    if ((gt && nx) || (lt && nx) || (gt && lt))
        return exec_error(w,
                          "ERR GT, LT, and/or NX options at the same time are not compatible");
    if (incr && elements > 1)
        return exec_error(w, "ERR INCR option supports a single increment-element pair");
    for (int j = 0; j < elements; j++) {
        double d;
        if (parse_score(op->argv[i + 2 * j], op->lens[i + 2 * j], &d) < 0)
            return exec_error(w, ERR_NOT_FLOAT);
    }
    struct zw z = { 0 };
    if (zw_open(s, fx, op, 1, &z, w) < 0)
        return -1;
    int64_t added = 0, updated = 0, processed = 0;
    double score = 0;
    for (int j = 0; j < elements && (z.found || !xx); j++) {
        const char *f = op->argv[i + 2 * j + 1];
        size_t flen = op->lens[i + 2 * j + 1];
        double cur;
        parse_score(op->argv[i + 2 * j], op->lens[i + 2 * j], &score);
        int found = z.n ? member_score(s, fx, op, 1, f, flen, &cur) : 0;
        if (found < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (found) {
            if (nx)
                continue;
            if (incr) {
                score += cur;
                if (isnan(score))
                    return exec_error(w, ERR_NAN);
            }
            if ((lt && score >= cur) || (gt && score <= cur))
                continue;
            processed++;
            if (score != cur) {
                if (zw_put(fx, op->argv[1], op->lens[1], &z, f, flen, 0, score) < 0)
                    return exec_error(w, EXEC_ERR_OOM);
                updated++;
            }
        } else if (!xx) {
            if (zw_put(fx, op->argv[1], op->lens[1], &z, f, flen, 0, score) < 0)
                return exec_error(w, EXEC_ERR_OOM);
            z.n++;
            added++;
            processed++;
        }
    }
    if (zw_close(fx, op->argv[1], op->lens[1], &z) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    if (incr) {
        if (processed)
            write_score(w, score);
        else
            resp_write_null(w);
    } else {
        resp_write_int(w, ch ? added + updated : added);
    }
    return 0;
}

/* ---- ZREM ---- */

static int zset_zrem(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    struct zw z = { 0 };
    if (zw_open(s, fx, op, 1, &z, w) < 0)
        return -1;
    int64_t deleted = 0;
    for (int i = 2; z.found && z.n > 0 && i < op->argc; i++) {
        double d;
        int found = member_score(s, fx, op, 1, op->argv[i], op->lens[i], &d);
        if (found < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (!found)
            continue;
        if (zw_del(fx, op->argv[1], op->lens[1], &z, op->argv[i], op->lens[i]) < 0)
            return exec_error(w, EXEC_ERR_OOM);
        deleted++;
    }
    if (zw_close(fx, op->argv[1], op->lens[1], &z) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, deleted);
    return 0;
}

/* ---- ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK ---- */

static int zset_zcard(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    resp_write_int(w, found ? v.n : 0);
    return 0;
}

static int zset_zscore(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    struct effects_value v;
    int found = lookup(s, fx, op, 1, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    int multi = op_is(op, "zmscore");
    if (multi)
        resp_write_array(w, (size_t)op->argc - 2);
    for (int i = 2; i < op->argc; i++) {
        double d;
        int rc = found ? member_score(s, fx, op, 1, op->argv[i], op->lens[i], &d) : 0;
        if (rc < 0 && !multi)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (rc < 0)
            resp_write_error(w, EXEC_ERR_STORAGE); /* an element: the array is started */
        else if (rc)
            write_score(w, d);
        else
            resp_write_null(w);
    }
    return 0;
}

static int zset_zrank(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    if (untouched(s, fx, op->argv[1], op->lens[1])) {
        struct effects_value v;
        double d;
        int found = lookup(s, fx, op, 1, &v);
        if (found < 0)
            return exec_lookup_error(w, found);
        found = found ? member_score(s, fx, op, 1, op->argv[2], op->lens[2], &d) : 0;
        int64_t rank = found == 1 ? store_zrank(s, op->argv[1], op->lens[1], d, op->argv[2],
                                                op->lens[2])
                                  : 0;
        if (found < 0 || rank < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (found)
            resp_write_int(w, op_is(op, "zrevrank") ? v.n - 1 - rank : rank);
        else
            resp_write_null(w);
        return 0;
    }
    struct zset z;
    int found = load_arg(s, fx, op, 1, &z, w);
    if (found < 0)
        return -1;
    size_t i = 0;
    while (i < z.n && lex_cmp(z.m[i].f, z.m[i].flen, op->argv[2], op->lens[2]) != 0)
        i++;
    if (i < z.n)
        resp_write_int(w, op_is(op, "zrevrank") ? (int64_t)(z.n - 1 - i) : (int64_t)i);
    else
        resp_write_null(w);
    zset_free(&z);
    return 0;
}

/* ---- ZCOUNT, ZLEXCOUNT ---- */

static int zset_zcount(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    int lex = op_is(op, "zlexcount");
    struct score_range r;
    struct lex_range lr;
    if (!lex && parse_score_range(op, 2, 3, &r) < 0)
        return exec_error(w, ERR_RANGE_FLOAT);
    if (lex && parse_lex_range(op, 2, 3, &lr) < 0)
        return exec_error(w, ERR_RANGE_LEX);
    if (!lex && untouched(s, fx, op->argv[1], op->lens[1])) {
        struct effects_value v;
        int found = lookup(s, fx, op, 1, &v);
        if (found < 0)
            return exec_lookup_error(w, found);
        int64_t n = found ? store_zcount(s, op->argv[1], op->lens[1], r.min, r.minex, r.max,
                                         r.maxex)
                          : 0;
        if (n < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        resp_write_int(w, n);
        return 0;
    }
    struct zset z;
    if (load_arg(s, fx, op, 1, &z, w) < 0)
        return -1;
    size_t from, to;
    if (lex)
        select_lex(&z, &lr, 0, &from, &to);
    else
        select_score(&z, &r, &from, &to);
    resp_write_int(w, (int64_t)(to - from));
    zset_free(&z);
    return 0;
}

/* ---- ZRANGE and its family, ZRANGESTORE ---- */


/* Stores members [from, to) of z (ascending) at dst; replies the count. */
static int range_store(struct effects *fx, const struct op *op, struct store *s,
                       const struct zset *z, size_t from, size_t to, struct resp_writer *w)
{
    const char *dst = op->argv[1];
    size_t dstlen = op->lens[1];
    struct effects_value v;
    int found = effects_lookup(s, fx, dst, dstlen, &v);
    if (found < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    if (to == from) {
        if (found && effects_del(fx, dst, dstlen) < 0)
            return exec_error(w, EXEC_ERR_OOM);
        resp_write_int(w, 0);
        return 0;
    }
    struct zw zd = { 1, (int64_t)(to - from), 0, 0 };
    if (effects_put_coll(fx, dst, dstlen, STORE_ZSET, (int64_t)(to - from), 0) < 0)
        return exec_error(w, EXEC_ERR_OOM);
    for (size_t i = from; i < to; i++)
        if (zw_put(fx, dst, dstlen, &zd, z->m[i].f, z->m[i].flen, 1, z->m[i].s) < 0)
            return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, (int64_t)(to - from));
    return 0;
}

/* zrangeGenericCommand: ks is the source key's argument, by and dir what the command's
 * name fixes (AUTO: options decide), store for ZRANGESTORE. */
static int range_generic(struct store *s, struct effects *fx, const struct op *op, int ks,
                         int by, int dir, int store, struct resp_writer *w)
{
    int mi = ks + 1, ma = ks + 2, withscores = 0;
    int64_t offset = 0, limit = -1, start = 0, end = 0;
    for (int j = ks + 3; j < op->argc; j++) {
        int left = op->argc - j - 1;
        const char *o = op->argv[j];
        if (!store && !strcasecmp(o, "withscores")) {
            withscores = 1;
        } else if (!strcasecmp(o, "limit") && left >= 2) {
            if (exec_arg_i64(op, j + 1, &offset) < 0 || exec_arg_i64(op, j + 2, &limit) < 0)
                return exec_error(w, EXEC_ERR_NOT_INT);
            j += 2;
        } else if (dir == DIR_AUTO && !strcasecmp(o, "rev")) {
            dir = DIR_REV;
        } else if (by == BY_AUTO && !strcasecmp(o, "bylex")) {
            by = BY_LEX;
        } else if (by == BY_AUTO && !strcasecmp(o, "byscore")) {
            by = BY_SCORE;
        } else {
            return exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    if (dir == DIR_AUTO)
        dir = DIR_FWD;
    if (by == BY_AUTO)
        by = BY_RANK;
    if (limit != -1 && by == BY_RANK)
        return exec_error(w, "ERR syntax error, LIMIT is only supported in combination with "
                             "either BYSCORE or BYLEX");
    if (withscores && by == BY_LEX)
        return exec_error(w, "ERR syntax error, WITHSCORES not supported in combination with "
                             "BYLEX");
    int rev = dir == DIR_REV;
    if (rev && by != BY_RANK) {
        int t = mi;
        mi = ma;
        ma = t;
    }
    struct score_range r;
    struct lex_range lr;
    if (by == BY_RANK &&
        (exec_arg_i64(op, mi, &start) < 0 || exec_arg_i64(op, ma, &end) < 0))
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (by == BY_SCORE && parse_score_range(op, mi, ma, &r) < 0)
        return exec_error(w, ERR_RANGE_FLOAT);
    if (by == BY_LEX && parse_lex_range(op, mi, ma, &lr) < 0)
        return exec_error(w, ERR_RANGE_LEX);
    if (!store && by != BY_LEX && untouched(s, fx, op->argv[ks], op->lens[ks])) {
        struct effects_value v;
        int found = lookup(s, fx, op, ks, &v);
        if (found < 0)
            return exec_lookup_error(w, found);
        if (!found) {
            resp_write_array(w, 0);
            return 0;
        }
        return range_indexed(s, op, ks, v.n, by, rev, withscores, start, end, &r, offset,
                             limit, w);
    }
    struct zset z;
    if (load_arg(s, fx, op, ks, &z, w) < 0)
        return -1;
    size_t from = 0, to = 0;
    if (by == BY_RANK) {
        if (select_rank(z.n, start, end, rev, &from, &to) < 0)
            from = to = 0;
    } else {
        if (by == BY_SCORE)
            select_score(&z, &r, &from, &to);
        else
            select_lex(&z, &lr, rev, &from, &to);
        /* LIMIT: a negative offset skips everything, a negative count takes all. */
        uint64_t avail = to - from;
        uint64_t skip = offset < 0 ? avail : (uint64_t)offset < avail ? (uint64_t)offset : avail;
        uint64_t take = avail - skip;
        if (limit >= 0 && (uint64_t)limit < take)
            take = (uint64_t)limit;
        if (rev) {
            to -= skip;
            from = to - take;
        } else {
            from += skip;
            to = from + take;
        }
    }
    int rc = 0;
    if (store) {
        rc = range_store(fx, op, s, &z, from, to, w);
    } else {
        resp_write_array(w, (to - from) * (withscores ? 2 : 1));
        for (size_t i = 0; i < to - from; i++) {
            const struct zm *m = &z.m[rev ? to - 1 - i : from + i];
            resp_write_bulk(w, m->f, m->flen);
            if (withscores)
                write_score(w, m->s);
        }
    }
    zset_free(&z);
    return rc;
}

static int zset_zrange(struct store *s, struct effects *fx, const struct op *op,
                       struct resp_writer *w)
{
    static const struct {
        const char *name;
        int by, dir;
    } kinds[] = {
        { "zrange", BY_AUTO, DIR_AUTO },
        { "zrevrange", BY_RANK, DIR_REV },
        { "zrangebyscore", BY_SCORE, DIR_FWD },
        { "zrevrangebyscore", BY_SCORE, DIR_REV },
        { "zrangebylex", BY_LEX, DIR_FWD },
        { "zrevrangebylex", BY_LEX, DIR_REV },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (op_is(op, kinds[i].name))
            return range_generic(s, fx, op, 1, kinds[i].by, kinds[i].dir, 0, w);
    return range_generic(s, fx, op, 2, BY_AUTO, DIR_AUTO, 1, w); /* zrangestore */
}

/* ---- ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX ---- */

static int zset_zremrange(struct store *s, struct effects *fx, const struct op *op,
                          struct resp_writer *w)
{
    int by = op_is(op, "zremrangebyrank") ? BY_RANK
             : op_is(op, "zremrangebyscore") ? BY_SCORE
                                             : BY_LEX;
    int64_t start = 0, end = 0;
    struct score_range r;
    struct lex_range lr;
    if (by == BY_RANK && (exec_arg_i64(op, 2, &start) < 0 || exec_arg_i64(op, 3, &end) < 0))
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (by == BY_SCORE && parse_score_range(op, 2, 3, &r) < 0)
        return exec_error(w, ERR_RANGE_FLOAT);
    if (by == BY_LEX && parse_lex_range(op, 2, 3, &lr) < 0)
        return exec_error(w, ERR_RANGE_LEX);
    struct zw zw = { 0 };
    if (zw_open(s, fx, op, 1, &zw, w) < 0)
        return -1;
    struct zset z = { 0 };
    if (zw.found && zset_load(s, fx, op->argv[1], op->lens[1], &z) < 0) {
        zset_free(&z);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    size_t from = 0, to = 0;
    if (by == BY_RANK) {
        if (select_rank(z.n, start, end, 0, &from, &to) < 0)
            from = to = 0;
    } else if (by == BY_SCORE) {
        select_score(&z, &r, &from, &to);
    } else {
        select_lex(&z, &lr, 0, &from, &to);
    }
    int rc = 0;
    for (size_t i = from; rc == 0 && i < to; i++)
        rc = zw_del(fx, op->argv[1], op->lens[1], &zw, z.m[i].f, z.m[i].flen);
    if (rc == 0)
        rc = zw_close(fx, op->argv[1], op->lens[1], &zw);
    zset_free(&z);
    if (rc < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, (int64_t)(to - from));
    return 0;
}

/* ---- ZPOPMIN, ZPOPMAX ---- */

/* Pops count members (count < 0: one) of the sorted set open in zw at argument i, from
 * the low end (or the high end, max), replying [member, score...], or with key
 * [key, member, score] (BZPOPMIN's one member). 0, or -1 with the error written. */
static int zpop_open(struct store *s, struct effects *fx, const struct op *op, int i,
                     struct zw *zw, int max, int64_t count, int with_key,
                     struct resp_writer *w)
{
    const char *k = op->argv[i];
    size_t klen = op->lens[i];
    struct zset z = { 0 };
    struct zcollect c = { 0 };
    int fast = untouched(s, fx, k, klen);
    if (fast) { /* the count from either end of the index, in pop order */
        int64_t want = count < 0 ? 1 : count;
        if (store_zrange(s, k, klen, -INFINITY, 0, INFINITY, 0, max, 0, want, zcollect_row,
                         &c) < 0 || c.failed) {
            zcollect_free(&c);
            return exec_error(w, EXEC_ERR_STORAGE);
        }
        z.m = c.m; /* borrowed: freed with c */
        z.n = c.n;
        max = 0;
    } else if (zset_load(s, fx, k, klen, &z) < 0) {
        zset_free(&z);
        return exec_error(w, EXEC_ERR_STORAGE);
    }
    size_t n = count < 0 ? 1 : (uint64_t)count < z.n ? (size_t)count : z.n;
    int rc = 0;
    for (size_t m = 0; rc == 0 && m < n; m++) {
        const struct zm *e = &z.m[max ? z.n - 1 - m : m];
        rc = zw_del(fx, k, klen, zw, e->f, e->flen);
    }
    if (rc == 0)
        rc = zw_close(fx, k, klen, zw);
    if (rc == 0) {
        resp_write_array(w, 2 * n + (with_key ? 1 : 0));
        if (with_key)
            resp_write_bulk(w, k, klen);
        for (size_t m = 0; m < n; m++) {
            const struct zm *e = &z.m[max ? z.n - 1 - m : m];
            resp_write_bulk(w, e->f, e->flen);
            write_score(w, e->s);
        }
    }
    if (fast)
        zcollect_free(&c);
    else
        zset_free(&z);
    return rc < 0 ? exec_error(w, EXEC_ERR_OOM) : 0;
}

static int zset_zpop(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    int max = op_is(op, "zpopmax");
    int64_t count = -1;
    if (op->argc > 3)
        return exec_error(w, EXEC_ERR_SYNTAX);
    if (op->argc == 3) {
        if (exec_arg_i64(op, 2, &count) < 0 || count < 0) /* one message for both */
            return exec_error(w, "ERR value is out of range, must be positive");
    }
    struct zw zw = { 0 };
    if (zw_open(s, fx, op, 1, &zw, w) < 0)
        return -1;
    if (!zw.found || count == 0) {
        resp_write_array(w, 0);
        return 0;
    }
    return zpop_open(s, fx, op, 1, &zw, max, count, 0, w);
}

/* BZPOPMIN, BZPOPMAX: the first of keys 1 .. argc - 2 that holds a sorted set gives one
 * member, [key, member, score]; none, the null array (the coordinator waits: blocking.h). */
static int zset_bzpop(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    if (exec_check_timeout(fx, op, op->argc - 1, w) < 0)
        return -1;
    for (int i = 1; i < op->argc - 1; i++) {
        struct zw zw = { 0 };
        if (zw_open(s, fx, op, i, &zw, w) < 0)
            return -1;
        if (zw.found)
            return zpop_open(s, fx, op, i, &zw, op_is(op, "bzpopmax"), -1, 1, w);
    }
    resp_write_null_array(w);
    return 0;
}

/* ---- ZRANDMEMBER ---- */

/* ZRANDMEMBER's WITHSCORES: the member's score. */
static void write_member_score(struct resp_writer *w, const struct coll_elem *e)
{
    write_score(w, e ? stored_score(e->v, e->vlen) : 0);
}

static int zset_zrandmember(struct store *s, struct effects *fx, const struct op *op,
                            struct resp_writer *w)
{
    return coll_random_command(s, fx, op, STORE_ZSET, "withscores", write_member_score, w);
}

static int zset_zscan(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    return coll_scan_command(s, fx, op, STORE_ZSET, 1, w);
}

/* ---- ZUNION, ZINTER, ZDIFF (and their STORE forms), ZINTERCARD ---- */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

/* One input: a sorted set (or a set: every score 1), by member for lookups. */
struct zsrc {
    struct zset z;
    struct zm *bym; /* z's members sorted by member bytes */
    double weight;
};

static int zm_member_cmp(const void *pa, const void *pb)
{
    const struct zm *a = pa, *b = pb;
    return lex_cmp(a->f, a->flen, b->f, b->flen);
}

static const struct zm *zsrc_find(const struct zsrc *src, const struct zm *m)
{
    return src->z.n ? bsearch(m, src->bym, src->z.n, sizeof *m, zm_member_cmp) : NULL;
}

static double aggregate(int agg, double a, double b)
{
    if (agg == AGG_MIN)
        return a < b ? a : b;
    if (agg == AGG_MAX)
        return a > b ? a : b;
    double r = a + b;
    return isnan(r) ? 0.0 : r;
}

static double weighted(double w, double s)
{
    double r = w * s;
    return isnan(r) ? 0.0 : r;
}

static int zsrc_cmp_card(const void *pa, const void *pb)
{
    const struct zsrc *a = pa, *b = pb;
    return (a->z.n > b->z.n) - (a->z.n < b->z.n);
}

/* zunionInterDiffGenericCommand: dst the destination's argument (0: none), nk the numkeys
 * argument. */
static int setop_generic(struct store *s, struct effects *fx, const struct op *op, int dst,
                         int nk, int setop, int card_only, struct resp_writer *w)
{
    int64_t setnum, limit = 0;
    if (exec_arg_i64(op, nk, &setnum) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (setnum < 1) {
        char name[32];
        size_t n = op->lens[0] < sizeof name - 1 ? op->lens[0] : sizeof name - 1;
        for (size_t i = 0; i < n; i++)
            name[i] = (char)tolower((unsigned char)op->argv[0][i]);
        name[n] = '\0';
        return exec_errorf(w, "ERR at least 1 input key is needed for '%s' command", name);
    }
    if (setnum > op->argc - (nk + 1))
        return exec_error(w, EXEC_ERR_SYNTAX);
    for (int j = nk + 1; j < nk + 1 + setnum; j++) {
        struct effects_value v;
        int found = effects_lookup(s, fx, op->argv[j], op->lens[j], &v);
        if (found < 0)
            return exec_error(w, EXEC_ERR_STORAGE);
        if (found && v.t != STORE_ZSET && v.t != STORE_SET)
            return exec_error(w, EXEC_ERR_WRONGTYPE);
    }
    struct zsrc *src = calloc((size_t)setnum, sizeof *src);
    if (!src)
        return exec_error(w, EXEC_ERR_OOM);
    for (int64_t i = 0; i < setnum; i++)
        src[i].weight = 1.0;
    int agg = AGG_SUM, withscores = 0, rc = 0;
    int j = nk + 1 + (int)setnum;
    while (rc == 0 && j < op->argc) {
        int remaining = op->argc - j;
        const char *o = op->argv[j];
        if (setop != OP_DIFF && !card_only && remaining >= setnum + 1 &&
            !strcasecmp(o, "weights")) {
            j++;
            for (int64_t i = 0; rc == 0 && i < setnum; i++, j++)
                if (parse_score(op->argv[j], op->lens[j], &src[i].weight) < 0)
                    rc = exec_error(w, "ERR weight value is not a float");
        } else if (setop != OP_DIFF && !card_only && remaining >= 2 &&
                   !strcasecmp(o, "aggregate")) {
            const char *a = op->argv[j + 1];
            if (!strcasecmp(a, "sum"))
                agg = AGG_SUM;
            else if (!strcasecmp(a, "min"))
                agg = AGG_MIN;
            else if (!strcasecmp(a, "max"))
                agg = AGG_MAX;
            else
                rc = exec_error(w, EXEC_ERR_SYNTAX);
            j += 2;
        } else if (!dst && !card_only && !strcasecmp(o, "withscores")) {
            withscores = 1;
            j++;
        } else if (card_only && remaining >= 2 && !strcasecmp(o, "limit")) {
            if (exec_arg_i64(op, j + 1, &limit) < 0 || limit < 0)
                rc = exec_error(w, "ERR LIMIT can't be negative");
            j += 2;
        } else {
            rc = exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    /* Load every input (a set's members score 1). */
    for (int64_t i = 0; rc == 0 && i < setnum; i++) {
        const char *k = op->argv[nk + 1 + i];
        size_t klen = op->lens[nk + 1 + i];
        struct effects_value v;
        int found = effects_lookup(s, fx, k, klen, &v);
        if (found == 1 && zset_load(s, fx, k, klen, &src[i].z) < 0)
            rc = exec_error(w, EXEC_ERR_STORAGE);
        if (rc == 0 && found == 1 && v.t == STORE_SET)
            for (size_t m = 0; m < src[i].z.n; m++)
                src[i].z.m[m].s = 1.0;
        src[i].bym = rc == 0 ? malloc((src[i].z.n ? src[i].z.n : 1) * sizeof(struct zm)) : NULL;
        if (rc == 0 && !src[i].bym)
            rc = exec_error(w, EXEC_ERR_OOM);
        if (rc == 0 && src[i].z.n) { /* a missing key: no members, z.m NULL */
            memcpy(src[i].bym, src[i].z.m, src[i].z.n * sizeof(struct zm));
            qsort(src[i].bym, src[i].z.n, sizeof(struct zm), zm_member_cmp);
        }
    }
    struct zm *out = NULL;
    size_t nout = 0, cap = 0;
    if (rc == 0) {
        if (setop == OP_INTER)
            qsort(src, (size_t)setnum, sizeof *src, zsrc_cmp_card);
        for (int64_t i = 0; i < setnum; i++)
            cap += src[i].z.n;
        out = malloc((cap ? cap : 1) * sizeof *out);
        if (!out)
            rc = exec_error(w, EXEC_ERR_OOM);
    }
    if (rc == 0 && setop == OP_INTER) {
        for (size_t m = 0; m < src[0].z.n; m++) {
            const struct zm *e = &src[0].z.m[m];
            double score = weighted(src[0].weight, e->s);
            int64_t i = 1;
            for (; i < setnum; i++) {
                const struct zm *o = zsrc_find(&src[i], e);
                if (!o)
                    break;
                score = aggregate(agg, score, weighted(src[i].weight, o->s));
            }
            if (i == setnum)
                out[nout++] = (struct zm){ e->f, e->flen, score };
            if (card_only && limit && (int64_t)nout >= limit)
                break;
        }
    } else if (rc == 0 && setop == OP_DIFF) {
        for (size_t m = 0; m < src[0].z.n; m++) {
            const struct zm *e = &src[0].z.m[m];
            int64_t i = 1;
            while (i < setnum && !zsrc_find(&src[i], e))
                i++;
            if (i == setnum)
                out[nout++] = *e;
        }
    } else if (rc == 0) {
        /* Union: every member once, its scores aggregated in the inputs' order. */
        for (int64_t i = 0; i < setnum; i++)
            for (size_t m = 0; m < src[i].z.n; m++) {
                const struct zm *e = &src[i].z.m[m];
                int64_t p = 0;
                while (p < i && !zsrc_find(&src[p], e))
                    p++;
                if (p < i)
                    continue; /* counted with an earlier input */
                double score = weighted(src[i].weight, e->s);
                for (int64_t q = i + 1; q < setnum; q++) {
                    const struct zm *o = zsrc_find(&src[q], e);
                    if (o)
                        score = aggregate(agg, score, weighted(src[q].weight, o->s));
                }
                out[nout++] = (struct zm){ e->f, e->flen, score };
            }
    }
    if (rc == 0) {
        qsort(out, nout, sizeof *out, zm_cmp);
        if (card_only) {
            resp_write_int(w, (int64_t)nout);
        } else if (dst) {
            struct zset res = { .m = out, .n = nout };
            struct op dop = *op;
            char *argv1[2] = { op->argv[0], op->argv[dst] };
            size_t lens1[2] = { op->lens[0], op->lens[dst] };
            dop.argc = 2;
            dop.argv = argv1;
            dop.lens = lens1;
            rc = range_store(fx, &dop, s, &res, 0, nout, w);
        } else {
            resp_write_array(w, nout * (withscores ? 2 : 1));
            for (size_t i = 0; i < nout; i++) {
                resp_write_bulk(w, out[i].f, out[i].flen);
                if (withscores)
                    write_score(w, out[i].s);
            }
        }
    }
    free(out);
    for (int64_t i = 0; i < setnum; i++) {
        zset_free(&src[i].z);
        free(src[i].bym);
    }
    free(src);
    return rc;
}

static int zset_setop(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    static const struct {
        const char *name;
        int setop, store, card;
    } kinds[] = {
        { "zunion", OP_UNION, 0, 0 },      { "zinter", OP_INTER, 0, 0 },
        { "zdiff", OP_DIFF, 0, 0 },        { "zunionstore", OP_UNION, 1, 0 },
        { "zinterstore", OP_INTER, 1, 0 }, { "zdiffstore", OP_DIFF, 1, 0 },
        { "zintercard", OP_INTER, 0, 1 },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (op_is(op, kinds[i].name))
            return setop_generic(s, fx, op, kinds[i].store ? 1 : 0, kinds[i].store ? 2 : 1,
                                 kinds[i].setop, kinds[i].card, w);
    return exec_error(w, EXEC_ERR_SYNTAX);
}

/* ---- ZMPOP ---- */

/* ZMPOP numkeys key... MIN|MAX [COUNT count]: the first key that exists gives up to count
 * members, replied as [key, [[member, score]...]] (a null array when no key exists). */
static int zset_zmpop(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    int at = op_is(op, "bzmpop") ? 2 : 1; /* numkeys; BZMPOP's timeout is argument 1 */
    int wi, max;
    int64_t count;
    if (exec_mpop_args(fx, op, at, "min", "max", &wi, &max, &count, w) < 0)
        return -1;
    for (int i = at + 1; i < wi; i++) {
        struct zw zw = { 0 };
        if (zw_open(s, fx, op, i, &zw, w) < 0)
            return -1;
        if (!zw.found)
            continue;
        struct zset z;
        if (zset_load(s, fx, op->argv[i], op->lens[i], &z) < 0) {
            zset_free(&z);
            return exec_error(w, EXEC_ERR_STORAGE);
        }
        size_t n = (uint64_t)count < z.n ? (size_t)count : z.n;
        int rc = 0;
        for (size_t m = 0; rc == 0 && m < n; m++) {
            const struct zm *e = &z.m[max ? z.n - 1 - m : m];
            rc = zw_del(fx, op->argv[i], op->lens[i], &zw, e->f, e->flen);
        }
        if (rc == 0)
            rc = zw_close(fx, op->argv[i], op->lens[i], &zw);
        if (rc < 0) {
            zset_free(&z);
            return exec_error(w, EXEC_ERR_OOM);
        }
        resp_write_array(w, 2);
        resp_write_bulk(w, op->argv[i], op->lens[i]);
        resp_write_array(w, n);
        for (size_t m = 0; m < n; m++) {
            const struct zm *e = &z.m[max ? z.n - 1 - m : m];
            resp_write_array(w, 2);
            resp_write_bulk(w, e->f, e->flen);
            write_score(w, e->s);
        }
        zset_free(&z);
        return 0;
    }
    resp_write_null_array(w);
    return 0;
}

const struct exec_cmd cmd_zset_table[] = {
    { "zadd", -4, 0, zset_zadd },
    { "zincrby", 4, 0, zset_zadd },
    { "zscore", 3, EXEC_READ, zset_zscore },
    { "zrem", -3, 0, zset_zrem },
    { "zcard", 2, EXEC_READ, zset_zcard },
    { "zrange", -4, EXEC_READ, zset_zrange },
    { "zrevrange", -4, EXEC_READ, zset_zrange },
    { "zrangebyscore", -4, EXEC_READ, zset_zrange },
    { "zrevrangebyscore", -4, EXEC_READ, zset_zrange },
    { "zrangebylex", -4, EXEC_READ, zset_zrange },
    { "zrevrangebylex", -4, EXEC_READ, zset_zrange },
    { "zrangestore", -5, 0, zset_zrange },
    { "zmscore", -3, EXEC_READ, zset_zscore },
    { "zrank", 3, EXEC_READ, zset_zrank },
    { "zrevrank", 3, EXEC_READ, zset_zrank },
    { "zcount", 4, EXEC_READ, zset_zcount },
    { "zlexcount", 4, EXEC_READ, zset_zcount },
    { "zpopmin", -2, 0, zset_zpop },
    { "zpopmax", -2, 0, zset_zpop },
    { "zremrangebyrank", 4, 0, zset_zremrange },
    { "zremrangebyscore", 4, 0, zset_zremrange },
    { "zremrangebylex", 4, 0, zset_zremrange },
    { "zrandmember", -2, EXEC_READ, zset_zrandmember },
    { "zscan", -3, EXEC_READ, zset_zscan },
    { "zunion", -3, EXEC_READ, zset_setop },
    { "zinter", -3, EXEC_READ, zset_setop },
    { "zdiff", -3, EXEC_READ, zset_setop },
    { "zunionstore", -4, 0, zset_setop },
    { "zinterstore", -4, 0, zset_setop },
    { "zdiffstore", -4, 0, zset_setop },
    { "zintercard", -3, EXEC_READ, zset_setop },
    { "zmpop", -4, 0, zset_zmpop },
    { "bzpopmin", -3, 0, zset_bzpop },
    { "bzpopmax", -3, 0, zset_bzpop },
    { "bzmpop", -5, 0, zset_zmpop },
};
const size_t cmd_zset_count = sizeof cmd_zset_table / sizeof cmd_zset_table[0];
