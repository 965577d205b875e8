/* lincheck.c -- Wing & Gong's linearizability search with Lowe's cache. See lincheck.h.
 *
 * The history becomes a list of call and return entries in stamp order. The search walks
 * it: at a call, it tries to linearize that operation now (the model accepts its output
 * and the pair (set of linearized ops, state) was not seen before), lifts its call and
 * return out of the list and starts over from the head; at a return whose operation is not
 * linearized yet, it backtracks. It succeeds when every answered operation is linearized
 * (an operation never answered may take effect or not).
 */
#include "lincheck.h"

#include <stdlib.h>
#include <string.h>

int lin_add(struct lin_hist *h, enum lin_kind kind, int64_t arg, int64_t out, uint64_t call,
            uint64_t ret)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        struct lin_op *o = realloc(h->ops, cap * sizeof *o);
        if (!o)
            return -1;
        h->ops = o;
        h->cap = cap;
    }
    h->ops[h->n++] = (struct lin_op){ kind, arg, out, call, ret };
    return 0;
}

void lin_free(struct lin_hist *h)
{
    free(h->ops);
    memset(h, 0, sizeof *h);
}

/* The model: applies op to *state; 0 if its output is what the model gives. An op never
 * answered has no output to check: only its effect counts. */
static int step(int64_t *state, const struct lin_op *op)
{
    if (op->ret == UINT64_MAX && op->kind != LIN_GET) {
        *state = op->kind == LIN_SET ? op->arg : op->kind == LIN_DEL ? 0 : *state + 1;
        return 0;
    }
    switch (op->kind) {
    case LIN_SET: *state = op->arg; return 0;
    case LIN_GET: return op->out == *state ? 0 : -1;
    case LIN_DEL:
        if (op->out != (*state != 0))
            return -1;
        *state = 0;
        return 0;
    case LIN_INCR:
        if (op->out != *state + 1)
            return -1;
        *state += 1;
        return 0;
    }
    return -1;
}

struct entry {
    size_t op;
    int is_call;
    uint64_t stamp;
    struct entry *prev, *next, *match; /* match: a call's return entry (NULL: none) */
};

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->stamp != y->stamp)
        return x->stamp < y->stamp ? -1 : 1;
    return x->is_call > y->is_call ? 1 : (x->is_call < y->is_call ? -1 : 0);
}

/* The cache of (linearized set, state) pairs already explored. */
struct cache {
    uint64_t *keys; /* nwords + 1 words per slot: the bitset, then the state */
    char *used;
    size_t nslots, count, nwords;
};

static uint64_t hash_words(const uint64_t *w, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ w[i]) * 1099511628211ULL ^ (w[i] >> 29);
    return h;
}

static int cache_grow(struct cache *c);

/* Adds the pair; 1 if added, 0 if it was there, -1 when out of memory. */
static int cache_add(struct cache *c, const uint64_t *key)
{
    size_t kw = c->nwords + 1;
    if ((c->count + 1) * 2 > c->nslots && cache_grow(c) < 0)
        return -1;
    size_t i = hash_words(key, kw) & (c->nslots - 1);
    for (; c->used[i]; i = (i + 1) & (c->nslots - 1))
        if (memcmp(c->keys + i * kw, key, kw * sizeof *key) == 0)
            return 0;
    c->used[i] = 1;
    memcpy(c->keys + i * kw, key, kw * sizeof *key);
    c->count++;
    return 1;
}

static int cache_grow(struct cache *c)
{
    struct cache n = { NULL, NULL, c->nslots ? 2 * c->nslots : 1024, 0, c->nwords };
    size_t kw = c->nwords + 1;
    n.keys = malloc(n.nslots * kw * sizeof *n.keys);
    n.used = calloc(n.nslots, 1);
    if (!n.keys || !n.used) {
        free(n.keys);
        free(n.used);
        return -1;
    }
    for (size_t i = 0; i < c->nslots; i++)
        if (c->used[i])
            cache_add(&n, c->keys + i * kw);
    free(c->keys);
    free(c->used);
    *c = n;
    return 0;
}

static void lift(struct entry *e)
{
    e->prev->next = e->next;
    if (e->next)
        e->next->prev = e->prev;
    if (e->match) {
        e->match->prev->next = e->match->next;
        if (e->match->next)
            e->match->next->prev = e->match->prev;
    }
}

static void unlift(struct entry *e)
{
    if (e->match) {
        e->match->prev->next = e->match;
        if (e->match->next)
            e->match->next->prev = e->match;
    }
    e->prev->next = e;
    if (e->next)
        e->next->prev = e;
}

#define LIN_BUDGET 20000000 /* search steps before giving up (undecided) */

int lin_check(const struct lin_hist *h)
{
    size_t n = h->n, ne = 0, answered = 0;
    struct entry *es = calloc(2 * n + 1, sizeof *es);
    struct cache c = { NULL, NULL, 0, 0, (n + 63) / 64 };
    uint64_t *key = calloc(c.nwords + 1, sizeof *key);
    struct { struct entry *e; int64_t state; } *stack = malloc((n + 1) * sizeof *stack);
    if (!es || !key || !stack) {
        free(es), free(key), free(stack);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        es[ne++] = (struct entry){ i, 1, h->ops[i].call, NULL, NULL, NULL };
        if (h->ops[i].ret != UINT64_MAX) {
            es[ne++] = (struct entry){ i, 0, h->ops[i].ret, NULL, NULL, NULL };
            answered++;
        }
    }
    qsort(es, ne, sizeof *es, cmp_entry);
    struct entry **call_of = calloc(n + 1, sizeof *call_of);
    struct entry head = { 0 };
    struct entry *prev = &head;
    for (size_t i = 0; call_of && i < ne; i++) {
        es[i].prev = prev;
        prev->next = &es[i];
        prev = &es[i];
        if (es[i].is_call)
            call_of[es[i].op] = &es[i];
        else
            call_of[es[i].op]->match = &es[i];
    }
    int result = call_of ? 1 : -1;
    int64_t state = 0;
    size_t depth = 0, done = 0;
    uint64_t budget = LIN_BUDGET;
    struct entry *e = head.next;
    while (call_of && budget-- > 0) {
        if (done == answered) {
            result = 0;
            break;
        }
        if (e && e->is_call) {
            int64_t s = state;
            int ok = step(&s, &h->ops[e->op]) == 0;
            if (ok) {
                key[e->op / 64] |= 1ULL << (e->op % 64);
                key[c.nwords] = (uint64_t)s;
                int added = cache_add(&c, key);
                if (added < 0) {
                    result = -1;
                    break;
                }
                if (added) {
                    stack[depth].e = e;
                    stack[depth++].state = state;
                    state = s;
                    done += e->match != NULL;
                    lift(e);
                    e = head.next;
                    continue;
                }
                key[e->op / 64] &= ~(1ULL << (e->op % 64));
            }
            e = e->next;
            continue;
        }
        /* a return whose op is not linearized (or the end): backtrack */
        if (depth == 0) {
            result = 1;
            break;
        }
        struct entry *top = stack[--depth].e;
        state = stack[depth].state;
        key[top->op / 64] &= ~(1ULL << (top->op % 64));
        done -= top->match != NULL;
        unlift(top);
        e = top->next;
    }
    if (budget == (uint64_t)-1)
        result = -1;
    free(es), free(key), free(stack), free(call_of), free(c.keys), free(c.used);
    return result;
}
