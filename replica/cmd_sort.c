/* cmd_sort.c -- SORT and SORT_RO, as Redis 7.0's sort.c evaluates them.
 *
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
 * [STORE destination] sorts the members of a list, set or sorted set (a missing key is an
 * empty list) by their own value or by the value a BY pattern finds for them, and replies
 * them, or what GET patterns find for them, or stores the result as a list. A pattern's
 * first `*` is replaced by the element; `->field` after it reads a hash field instead of a
 * string; `#` is the element itself. Without a `*` in BY nothing is sorted: a list or
 * sorted set keeps its order (LIMIT then picks the range directly), a set its hash order
 * (forced to ALPHA order with STORE, as Redis does for replication's sake).
 *
 * Redis's details kept: options parsed in order (a bad LIMIT number is the integer error,
 * STORE is a syntax error in SORT_RO), WRONGTYPE for a key that is no list, set or sorted
 * set, LIMIT's clamping, numbers read with strtod (so "" is 0 and "0x1A" 26; a value that
 * does not parse fails the whole command with "One or more scores can't be converted into
 * double", decided after every lookup), equal scores ordered by the elements' bytes, ALPHA
 * comparing C strings (up to a NUL byte, as strcoll in the C locale) except with STORE
 * (binary), elements BY finds nothing for sorting first under ALPHA, GET of a missing key
 * nil (or "" in a stored list), an empty result deleting the destination.
 *
 * Not Redis's: a set's hash order (SORT ... BY nosort on a set without STORE); ties that
 * Redis leaves to its unstable qsort (ALPHA BY with equal values) keep the input order.
 *
 * SORT with STORE is a write (a round); without it, and SORT_RO, a read (exec_is_read:
 * op_sort_stores()).
 */
#include "cmd_sort.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_list.h"
#include "coll.h"
#include "store.h"
#include "util.h"

struct item {
    const char *v; /* the element */
    size_t vlen;
    double score;
    const char *cmp; /* ALPHA BY: the value found (NULL: none) */
    size_t cmplen;
    size_t at; /* input order: the last tie-break */
};

struct sort_opts {
    int desc, alpha, dontsort, nget;
    int64_t limit_start, limit_count;
    const char *by, *store;
    size_t bylen, storelen;
    int *get; /* argument indexes of the GET patterns */
};

/* The value a pattern finds for element e: 1 (*v, *vlen; the element itself for "#", else
 * valid until the next store call), 0 none, -1 store error. */
static int lookup_pattern(struct store *s, const struct effects *fx, const char *pat,
                          size_t patlen, const char *e, size_t elen, const char **v,
                          size_t *vlen)
{
    if (patlen >= 1 && pat[0] == '#' && (patlen == 1 || pat[1] == '\0')) {
        *v = e;
        *vlen = elen;
        return 1;
    }
    const char *star = strchr(pat, '*'); /* C strings, as Redis's strchr on an sds */
    if (!star)
        return 0;
    const char *arrow = strstr(star + 1, "->");
    size_t fieldlen = arrow && arrow[2] != '\0' ? patlen - (size_t)(arrow - pat) - 2 : 0;
    size_t prefix = (size_t)(star - pat);
    size_t postfix = patlen - prefix - 1 - (fieldlen ? fieldlen + 2 : 0);
    size_t klen = prefix + elen + postfix;
    char small[256], *k = klen <= sizeof small ? small : malloc(klen);
    if (!k)
        return -1;
    memcpy(k, pat, prefix);
    memcpy(k + prefix, e, elen);
    memcpy(k + prefix + elen, star + 1, postfix);
    struct effects_value kv;
    int rc = effects_lookup(s, fx, k, klen, &kv);
    if (rc == 1 && fieldlen)
        rc = kv.t != STORE_HASH ? 0
                                : effects_elem_lookup(s, fx, k, klen, arrow + 2, fieldlen, v,
                                                      vlen);
    else if (rc == 1 && kv.t != STORE_STRING)
        rc = 0;
    else if (rc == 1) {
        *v = kv.p;
        *vlen = kv.len;
    }
    if (k != small)
        free(k);
    return rc;
}

/* Redis's sortCommandGeneric option loop. Returns 0, or -1 with the error written. */
static int parse(const struct op *op, int readonly, struct sort_opts *o, struct resp_writer *w)
{
    for (int j = 2; j < op->argc; j++) {
        int left = op->argc - j - 1;
        const char *a = op->argv[j];
        if (!strcasecmp(a, "asc")) {
            o->desc = 0;
        } else if (!strcasecmp(a, "desc")) {
            o->desc = 1;
        } else if (!strcasecmp(a, "alpha")) {
            o->alpha = 1;
        } else if (!strcasecmp(a, "limit") && left >= 2) {
            if (exec_arg_i64(op, j + 1, &o->limit_start) < 0 ||
                exec_arg_i64(op, j + 2, &o->limit_count) < 0)
                return exec_error(w, EXEC_ERR_NOT_INT);
            j += 2;
        } else if (!readonly && !strcasecmp(a, "store") && left >= 1) {
            o->store = op->argv[j + 1];
            o->storelen = op->lens[j + 1];
            j++;
        } else if (!strcasecmp(a, "by") && left >= 1) {
            o->by = op->argv[j + 1];
            o->bylen = op->lens[j + 1];
            if (!strchr(o->by, '*'))
                o->dontsort = 1; /* and stays so, whatever a later BY says (as Redis) */
            j++;
        } else if (!strcasecmp(a, "get") && left >= 1) {
            o->get[o->nget++] = j + 1;
            j++;
        } else {
            return exec_error(w, EXEC_ERR_SYNTAX);
        }
    }
    return 0;
}

/* Bytes compared as Redis's compareStringObjects (binary) or, for C strings, strcoll in
 * the C locale (up to the first NUL). */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen, int binary)
{
    if (!binary) {
        const char *za = memchr(a, '\0', alen), *zb = memchr(b, '\0', blen);
        if (za)
            alen = (size_t)(za - a);
        if (zb)
            blen = (size_t)(zb - b);
    }
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static struct sort_opts cmp_opts; /* qsort's comparator has no context argument */

static int item_cmp(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    const struct sort_opts *o = &cmp_opts;
    int binary = o->store != NULL, c;
    if (!o->alpha) {
        c = a->score > b->score ? 1 : a->score < b->score ? -1
                                                        : bytes_cmp(a->v, a->vlen, b->v,
                                                                    b->vlen, 1);
    } else if (o->by) {
        if (!a->cmp || !b->cmp)
            c = a->cmp == b->cmp ? 0 : !a->cmp ? -1 : 1;
        else
            c = bytes_cmp(a->cmp, a->cmplen, b->cmp, b->cmplen, binary);
    } else {
        c = bytes_cmp(a->v, a->vlen, b->v, b->vlen, binary);
    }
    if (o->desc)
        c = -c;
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

/* The sorted set's members in (score, member) order, into l (their scores in v). */
static int zset_members(struct store *s, const struct effects *fx, const char *k, size_t klen,
                        struct coll_list *l, struct item **items)
{
    uint64_t next;
    if (coll_collect(s, fx, k, klen, 0, -1, l, &next) < 0)
        return -1;
    *items = calloc(l->n ? l->n : 1, sizeof **items);
    if (!*items)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        char buf[64];
        size_t n = l->v[i].vlen < sizeof buf - 1 ? l->v[i].vlen : sizeof buf - 1;
        memcpy(buf, l->v[i].v, n);
        buf[n] = '\0';
        (*items)[i] = (struct item){ l->v[i].f, l->v[i].flen, strtod(buf, NULL), NULL, 0, i };
    }
    struct sort_opts keep = cmp_opts;
    cmp_opts = (struct sort_opts){ 0 };
    qsort(*items, l->n, sizeof **items, item_cmp); /* by score, then bytes */
    cmp_opts = keep;
    return 0;
}

/* The items to sort, in their load order (Redis's vector), with start/end adjusted where
 * Redis picks the LIMIT range directly. Returns 0 or -1 (store error, out of memory). */
static int load(struct store *s, const struct effects *fx, const char *k, size_t klen,
                const struct effects_value *kv, int found, const struct sort_opts *o,
                int64_t *start, int64_t *end, struct coll_list *l, struct item **items,
                size_t *nitems)
{
    int64_t len = found ? kv->n : 0;
    *start = o->limit_start < 0 ? 0 : o->limit_start;
    /* start + count - 1 as Redis's compiled arithmetic gives it: no wrap (a count past
     * the end is the end). */
    *end = o->limit_count < 0                          ? len - 1
           : o->limit_count - 1 > INT64_MAX - *start ? INT64_MAX
                                                      : *start + (o->limit_count - 1);
    if (*start >= len) {
        *start = len - 1;
        *end = len - 2;
    }
    if (*end >= len)
        *end = len - 1;
    int ordered = found && (kv->t == STORE_LIST || kv->t == STORE_ZSET);
    int64_t want = ordered && o->dontsort && (*start != 0 || *end != len - 1)
                       ? *end - *start + 1
                       : len;
    *items = NULL;
    *nitems = 0;
    if (!found)
        return 0;
    if (kv->t == STORE_ZSET) {
        struct item *all;
        if (zset_members(s, fx, k, klen, l, &all) < 0)
            return -1;
        if (o->dontsort) { /* the rank range, from the top with DESC */
            struct item *range = calloc(want > 0 ? (size_t)want : 1, sizeof *range);
            if (!range) {
                free(all);
                return -1;
            }
            size_t n = 0;
            for (int64_t j = 0; j < want; j++) {
                int64_t r = o->desc ? len - 1 - *start - j : *start + j;
                if (r >= 0 && r < len)
                    range[n++] = all[r];
            }
            for (size_t i = 0; i < n; i++)
                range[i].at = i;
            free(all);
            all = range;
            *end -= *start;
            *start = 0;
            *nitems = n;
        } else {
            *nitems = l->n;
        }
        for (size_t i = 0; i < *nitems; i++)
            all[i].score = 0; /* Redis's vector starts at 0: a BY finding nothing stays */
        *items = all;
        return 0;
    }
    int rc;
    if (kv->t == STORE_LIST && o->dontsort) {
        rc = *end >= *start ? cmd_list_entries(s, fx, k, klen,
                                               o->desc ? len - *start - 1 : *start, want,
                                               o->desc, l)
                            : 0;
        *end -= *start;
        *start = 0;
    } else if (kv->t == STORE_LIST) {
        rc = cmd_list_entries(s, fx, k, klen, 0, len, 0, l);
    } else {
        uint64_t next;
        rc = coll_collect(s, fx, k, klen, 0, -1, l, &next);
    }
    if (rc < 0 || !(*items = calloc(l->n ? l->n : 1, sizeof **items)))
        return -1;
    for (size_t i = 0; i < l->n; i++)
        (*items)[i] = (struct item){ l->v[i].f, l->v[i].flen, 0, NULL, 0, i };
    *nitems = l->n;
    return 0;
}

/* Scores (or ALPHA BY values) for every item. Returns 1 when a value is no number, 0, or
 * -1 (store error, out of memory). */
static int weigh(struct store *s, const struct effects *fx, const struct sort_opts *o,
                 struct item *items, size_t n, struct coll_list *keep)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = items[i].v;
        size_t vlen = items[i].vlen;
        if (o->by) {
            int rc = lookup_pattern(s, fx, o->by, o->bylen, items[i].v, items[i].vlen, &v,
                                    &vlen);
            if (rc < 0)
                return -1;
            if (rc == 0)
                continue;
        }
        if (o->alpha) {
            if (o->by) { /* kept: a store value is gone at the next lookup */
                if (coll_list_append(keep, v, vlen, "", 0) < 0)
                    return -1;
                items[i].cmp = keep->v[keep->n - 1].f;
                items[i].cmplen = vlen;
            }
            continue;
        }
        char small[128], *buf = vlen < sizeof small ? small : malloc(vlen + 1);
        if (!buf)
            return -1;
        memcpy(buf, v, vlen);
        buf[vlen] = '\0';
        char *end;
        errno = 0;
        items[i].score = strtod(buf, &end);
        if (*end != '\0' || errno == ERANGE || isnan(items[i].score))
            bad = 1;
        if (buf != small)
            free(buf);
    }
    return bad;
}

/* Writes the result (no STORE). */
static int reply(struct store *s, const struct effects *fx, const struct op *op,
                 const struct sort_opts *o, const struct item *items, int64_t start,
                 int64_t end, struct resp_writer *w)
{
    int64_t rows = end - start + 1 > 0 ? end - start + 1 : 0;
    resp_write_array(w, (size_t)(o->nget ? o->nget * rows : rows));
    for (int64_t j = start; j <= end; j++) {
        if (!o->nget)
            resp_write_bulk(w, items[j].v, items[j].vlen);
        for (int g = 0; g < o->nget; g++) {
            const char *v;
            size_t vlen;
            int at = o->get[g];
            int rc = lookup_pattern(s, fx, op->argv[at], op->lens[at], items[j].v,
                                    items[j].vlen, &v, &vlen);
            if (rc < 0)
                resp_write_error(w, EXEC_ERR_STORAGE); /* an element: the array is started */
            else if (rc == 0)
                resp_write_null(w);
            else
                resp_write_bulk(w, v, vlen);
        }
    }
    return 0;
}

/* STORE: the destination becomes a list of the results (GET's misses ""), without a TTL;
 * an empty result deletes it. Writes the count. */
static int store_list(struct store *s, struct effects *fx, const struct op *op,
                      const struct sort_opts *o, const struct item *items, int64_t start,
                      int64_t end, struct resp_writer *w)
{
    struct coll_list out = { 0 };
    int rc = 0;
    for (int64_t j = start; rc == 0 && j <= end; j++) {
        if (!o->nget) {
            rc = coll_list_append(&out, items[j].v, items[j].vlen, "", 0);
            continue;
        }
        for (int g = 0; rc == 0 && g < o->nget; g++) {
            const char *v = "";
            size_t vlen = 0;
            int at = o->get[g];
            int found = lookup_pattern(s, fx, op->argv[at], op->lens[at], items[j].v,
                                       items[j].vlen, &v, &vlen);
            rc = found < 0 ? -1 : coll_list_append(&out, found ? v : "", found ? vlen : 0,
                                                   "", 0);
        }
    }
    if (rc == 0)
        rc = cmd_list_store(s, fx, o->store, o->storelen, &out);
    int64_t n = (int64_t)out.n;
    coll_list_free(&out);
    if (rc < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, n);
    return 0;
}

static int sort_command(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    int readonly = op_is(op, "sort_ro");
    struct sort_opts o = { .limit_count = -1 };
    o.get = malloc((size_t)op->argc * sizeof *o.get);
    if (!o.get)
        return exec_error(w, EXEC_ERR_OOM);
    int rc = parse(op, readonly, &o, w);
    struct effects_value kv = { 0 };
    int found = 0;
    if (rc == 0) {
        found = effects_lookup(s, fx, op->argv[1], op->lens[1], &kv);
        if (found < 0)
            rc = exec_error(w, EXEC_ERR_STORAGE);
        else if (found && kv.t != STORE_SET && kv.t != STORE_LIST && kv.t != STORE_ZSET)
            rc = exec_error(w, EXEC_ERR_WRONGTYPE);
    }
    if (rc == 0 && o.dontsort && found && kv.t == STORE_SET && o.store) {
        o.dontsort = 0; /* Redis: a stored set is sorted, for replication */
        o.alpha = 1;
        o.by = NULL;
    }
    struct coll_list l = { 0 }, keep = { 0 };
    struct item *items = NULL;
    size_t n = 0;
    int64_t start = 0, end = -1;
    if (rc == 0 && load(s, fx, op->argv[1], op->lens[1], &kv, found, &o, &start, &end, &l,
                        &items, &n) < 0)
        rc = exec_error(w, EXEC_ERR_STORAGE);
    int bad = 0;
    if (rc == 0 && !o.dontsort) {
        bad = weigh(s, fx, &o, items, n, &keep);
        if (bad < 0)
            rc = exec_error(w, EXEC_ERR_STORAGE);
        cmp_opts = o;
        if (rc == 0 && n > 1) /* items is NULL for a missing key */
            qsort(items, n, sizeof *items, item_cmp);
    }
    if (rc == 0 && end >= (int64_t)n)
        end = (int64_t)n - 1; /* never: the count was the key's */
    if (rc == 0 && bad)
        rc = exec_error(w, "ERR One or more scores can't be converted into double");
    else if (rc == 0 && o.store)
        rc = store_list(s, fx, op, &o, items, start, end, w);
    else if (rc == 0)
        rc = reply(s, fx, op, &o, items, start, end, w);
    free(items);
    coll_list_free(&l);
    coll_list_free(&keep);
    free(o.get);
    return rc;
}

const struct exec_cmd cmd_sort_table[] = {
    { "sort", -2, EXEC_READ_IF_NO_WRITE, sort_command },
    { "sort_ro", -2, EXEC_READ, sort_command },
};
const size_t cmd_sort_count = sizeof cmd_sort_table / sizeof cmd_sort_table[0];
