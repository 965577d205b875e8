/* pubsub.c -- SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH and
 * PUBSUB (see pubsub.h).
 *
 * Three tables, one per kind of subscription (channel, pattern, shard channel), map a name
 * to a `chan`: the name and its subscribers in subscription order. Each client keeps the
 * chans it is subscribed to, per kind, in subscription order (UNSUBSCRIBE with no argument
 * answers in that order; Redis answers channels in its dict's order, patterns in this one).
 *
 *     tables[CHANNEL]:  "news" ─▶ [cl1, cl3]        cl1's state: CHANNEL [news]
 *     tables[PATTERN]:  "n*"   ─▶ [cl3]                          PATTERN []
 *     PUBLISH news hi:  cl1, cl3 get "message news hi"; then cl3 "pmessage n* news hi": 3
 *
 * Invariants: a client is in a chan's subscribers iff the chan is in that client's list of
 * the same kind; a chan with no subscriber is not in its table (so a table's size is what
 * INFO and PUBSUB NUMPAT count). Subscribing twice to the same name changes nothing but
 * answers the confirmation again, as Redis does.
 *
 * Messages and confirmations go through client_deliver() (client.h): in request order
 * behind the client's pending replies, not silenced by CLIENT REPLY OFF (as Redis 7.0.15
 * sends pub/sub pushes), into EXEC's array for the client's own, and never re-entrant (a
 * close or a resume it triggers is deferred by conn.c), so the subscriber lists are stable
 * while a message fans out.
 */
#include "pubsub.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "client.h"
#include "conn.h"
#include "glob.h"
#include "registry.h"

enum pubsub_kind { PUBSUB_CHANNEL, PUBSUB_PATTERN, PUBSUB_SHARD, PUBSUB_KIND_MAX };

/* Per kind: the confirmation words and the message word. */
static const struct {
    const char *sub, *unsub, *message;
} kind_words[PUBSUB_KIND_MAX] = {
    { "subscribe", "unsubscribe", "message" },
    { "psubscribe", "punsubscribe", "pmessage" },
    { "ssubscribe", "sunsubscribe", "smessage" },
};

struct chan {
    char *name; /* NUL-terminated copy (glob_match reads name[len]) */
    size_t len;
    uint64_t hash;
    struct client **subs;
    size_t nsubs, cap;
    struct chan *next; /* hash chain */
};

struct table {
    struct chan **buckets;
    size_t nbuckets, count;
};

struct pubsub_state {
    struct chan **v[PUBSUB_KIND_MAX];
    size_t n[PUBSUB_KIND_MAX], cap[PUBSUB_KIND_MAX];
};

static struct table tables[PUBSUB_KIND_MAX];

/* ---- the tables ---- */

static uint64_t hash_name(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static struct chan *table_find(const struct table *t, const char *name, size_t len)
{
    if (t->nbuckets == 0)
        return NULL;
    uint64_t h = hash_name(name, len);
    for (struct chan *c = t->buckets[h % t->nbuckets]; c; c = c->next)
        if (c->hash == h && c->len == len && memcmp(c->name, name, len) == 0)
            return c;
    return NULL;
}

/* Doubles the buckets once the table is as full as it is wide. Returns 0 or -1. */
static int table_grow(struct table *t)
{
    if (t->count < t->nbuckets)
        return 0;
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    struct chan **b = calloc(n, sizeof *b);
    if (!b)
        return t->nbuckets ? 0 : -1; /* a full table still works, only slower */
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (struct chan *c = t->buckets[i], *next; c; c = next) {
            next = c->next;
            c->next = b[c->hash % n];
            b[c->hash % n] = c;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

/* The chan named name, created (empty) if needed. NULL when out of memory. */
static struct chan *table_get(struct table *t, const char *name, size_t len)
{
    struct chan *c = table_find(t, name, len);
    if (c)
        return c;
    if (table_grow(t) < 0 || !(c = calloc(1, sizeof *c)) || !(c->name = malloc(len + 1))) {
        free(c);
        return NULL;
    }
    memcpy(c->name, name, len);
    c->name[len] = 0;
    c->len = len;
    c->hash = hash_name(name, len);
    c->next = t->buckets[c->hash % t->nbuckets];
    t->buckets[c->hash % t->nbuckets] = c;
    t->count++;
    return c;
}

/* Removes and frees c, which has no subscriber left. */
static void table_drop(struct table *t, struct chan *c)
{
    struct chan **pp = &t->buckets[c->hash % t->nbuckets];
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    t->count--;
    free(c->subs);
    free(c->name);
    free(c);
}

/* Removes the first element equal to x from v[0..*n), keeping the order. */
static void remove_ptr(void **v, size_t *n, const void *x)
{
    for (size_t i = 0; i < *n; i++) {
        if (v[i] == x) {
            memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof *v);
            (*n)--;
            return;
        }
    }
}

/* Appends x to *v (capacity *cap). Returns 0 or -1. */
static int append_ptr(void ***v, size_t *n, size_t *cap, void *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        void **nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 0;
}

/* ---- one client's subscriptions ---- */

static size_t total(const struct pubsub_state *ps)
{
    return ps ? ps->n[PUBSUB_CHANNEL] + ps->n[PUBSUB_PATTERN] + ps->n[PUBSUB_SHARD] : 0;
}

int pubsub_active(const struct client *cl)
{
    return total(client_pubsub(cl)) > 0;
}

void pubsub_client_counts(const struct client *cl, size_t *sub, size_t *psub, size_t *ssub)
{
    const struct pubsub_state *ps = client_pubsub(cl);
    *sub = ps ? ps->n[PUBSUB_CHANNEL] : 0;
    *psub = ps ? ps->n[PUBSUB_PATTERN] : 0;
    *ssub = ps ? ps->n[PUBSUB_SHARD] : 0;
}

/* The count a confirmation carries: channels and patterns together, shard channels apart
 * (Redis 7.0's clientSubscriptionsCount / clientShardSubscriptionsCount). */
static size_t confirm_count(const struct pubsub_state *ps, enum pubsub_kind k)
{
    if (!ps)
        return 0;
    if (k == PUBSUB_SHARD)
        return ps->n[PUBSUB_SHARD];
    return ps->n[PUBSUB_CHANNEL] + ps->n[PUBSUB_PATTERN];
}

/* The pub/sub context begins or ends: Redis's client class decides the output limits. A
 * client with no subscription left has no state (client.c's idle timeout spares clients
 * with one, as Redis spares its pub/sub clients). */
static void context_changed(struct client *cl)
{
    struct pubsub_state *ps = client_pubsub(cl);
    if (ps && total(ps) == 0) {
        for (int k = 0; k < PUBSUB_KIND_MAX; k++)
            free(ps->v[k]);
        free(ps);
        client_set_pubsub(cl, NULL);
    }
    struct conn *c = client_conn(cl);
    if (c)
        conn_set_output_class(c, pubsub_active(cl) ? CONN_OUTPUT_PUBSUB : CONN_OUTPUT_NORMAL);
}

/* Subscribes cl to name. Returns 0 (also when it already was), or -1 when out of memory
 * (nothing changed). */
static int subscribe(struct client *cl, enum pubsub_kind k, const char *name, size_t len)
{
    struct pubsub_state *ps = client_pubsub(cl);
    if (!ps) {
        if (!(ps = calloc(1, sizeof *ps)))
            return -1;
        client_set_pubsub(cl, ps);
    }
    struct chan *c = table_find(&tables[k], name, len);
    if (c)
        for (size_t i = 0; i < ps->n[k]; i++)
            if (ps->v[k][i] == c)
                return 0;
    if (!c && !(c = table_get(&tables[k], name, len)))
        return -1;
    if (append_ptr((void ***)&c->subs, &c->nsubs, &c->cap, cl) < 0 ||
        append_ptr((void ***)&ps->v[k], &ps->n[k], &ps->cap[k], c) < 0) {
        remove_ptr((void **)c->subs, &c->nsubs, cl);
        if (c->nsubs == 0)
            table_drop(&tables[k], c);
        return -1;
    }
    return 0;
}

/* Unsubscribes cl from c (which it is subscribed to). */
static void unsubscribe(struct client *cl, enum pubsub_kind k, struct chan *c)
{
    struct pubsub_state *ps = client_pubsub(cl);
    remove_ptr((void **)ps->v[k], &ps->n[k], c);
    remove_ptr((void **)c->subs, &c->nsubs, cl);
    if (c->nsubs == 0)
        table_drop(&tables[k], c);
}

/* cl's subscription of kind k to name, or NULL. */
static struct chan *subscribed(const struct client *cl, enum pubsub_kind k, const char *name,
                               size_t len)
{
    const struct pubsub_state *ps = client_pubsub(cl);
    struct chan *c = table_find(&tables[k], name, len);
    if (!ps || !c)
        return NULL;
    for (size_t i = 0; i < ps->n[k]; i++)
        if (ps->v[k][i] == c)
            return c;
    return NULL;
}

void pubsub_forget(struct client *cl)
{
    struct pubsub_state *ps = client_pubsub(cl);
    if (!ps)
        return;
    for (int k = 0; k < PUBSUB_KIND_MAX; k++)
        while (ps->n[k] > 0)
            unsubscribe(cl, (enum pubsub_kind)k, ps->v[k][ps->n[k] - 1]);
    context_changed(cl); /* frees ps */
}

void pubsub_counts(size_t *channels, size_t *patterns, size_t *shard_channels)
{
    *channels = tables[PUBSUB_CHANNEL].count;
    *patterns = tables[PUBSUB_PATTERN].count;
    *shard_channels = tables[PUBSUB_SHARD].count;
}

/* ---- replies and messages ---- */

static int evbuffer_sink(void *sink, const void *data, size_t len)
{
    return evbuffer_add(sink, data, len);
}

/* One confirmation: [word, name or null, count]. */
static void write_confirm(struct resp_writer *w, const char *word, const char *name, size_t len,
                          size_t count)
{
    resp_write_push(w, 3);
    resp_write_cstr(w, word);
    if (name)
        resp_write_bulk(w, name, len);
    else
        resp_write_null(w);
    resp_write_int(w, (int64_t)count);
}

/* Sends one message to every subscriber of c, encoded once per protocol. pattern: the
 * pmessage's pattern (c's name), or NULL. Returns the number of subscribers. */
static size_t fan_out(const struct chan *c, enum pubsub_kind k, const char *ch, size_t chlen,
                      const char *msg, size_t msglen)
{
    struct evbuffer *enc[2] = { NULL, NULL }; /* RESP2, RESP3 */
    for (size_t i = 0; i < c->nsubs; i++) {
        struct client *sub = c->subs[i];
        int p3 = client_proto(sub) >= 3;
        if (!enc[p3]) {
            if (!(enc[p3] = evbuffer_new()))
                continue;
            struct resp_writer w = { evbuffer_sink, enc[p3], p3 ? 3 : 2 };
            resp_write_push(&w, k == PUBSUB_PATTERN ? 4 : 3);
            resp_write_cstr(&w, kind_words[k].message);
            if (k == PUBSUB_PATTERN)
                resp_write_bulk(&w, c->name, c->len);
            resp_write_bulk(&w, ch, chlen);
            resp_write_bulk(&w, msg, msglen);
        }
        size_t len = evbuffer_get_length(enc[p3]);
        client_deliver(sub, (const char *)evbuffer_pullup(enc[p3], -1), len);
    }
    for (int i = 0; i < 2; i++)
        if (enc[i])
            evbuffer_free(enc[i]);
    return c->nsubs;
}

/* Redis's pubsubPublishMessage: the channel's subscribers, then (for a plain channel) every
 * matching pattern's. Returns the deliveries made. */
static size_t publish(enum pubsub_kind k, const char *ch, size_t chlen, const char *msg,
                      size_t msglen)
{
    size_t n = 0;
    const struct chan *c = table_find(&tables[k], ch, chlen);
    if (c)
        n += fan_out(c, k, ch, chlen, msg, msglen);
    if (k != PUBSUB_CHANNEL)
        return n;
    const struct table *t = &tables[PUBSUB_PATTERN];
    for (size_t b = 0; b < t->nbuckets; b++)
        for (const struct chan *p = t->buckets[b]; p; p = p->next)
            if (glob_match(p->name, p->len, ch, chlen))
                n += fan_out(p, PUBSUB_PATTERN, ch, chlen, msg, msglen);
    return n;
}

size_t pubsub_publish(const char *channel, size_t chlen, const char *msg, size_t msglen)
{
    return publish(PUBSUB_CHANNEL, channel, chlen, msg, msglen);
}

int pubsub_listened(void)
{
    return tables[PUBSUB_CHANNEL].count > 0 || tables[PUBSUB_PATTERN].count > 0;
}

/* ---- the commands ---- */

/* Sends the confirmations collected in b (see client_deliver: CLIENT REPLY OFF does not
 * silence them) and frees b. */
static void send_confirms(struct client *cl, struct evbuffer *b)
{
    size_t len = evbuffer_get_length(b);
    if (len)
        client_deliver(cl, (const char *)evbuffer_pullup(b, -1), len);
    evbuffer_free(b);
}

static void do_subscribe(struct client *cl, const struct resp_request *req, enum pubsub_kind k)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    struct resp_writer w = { evbuffer_sink, b, client_proto(cl) };
    int i;
    for (i = 1; i < req->argc; i++) {
        if (subscribe(cl, k, req->argv[i], req->lens[i]) < 0)
            break;
        write_confirm(&w, kind_words[k].sub, req->argv[i], req->lens[i],
                      confirm_count(client_pubsub(cl), k));
    }
    send_confirms(cl, b);
    if (i < req->argc)
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
    context_changed(cl);
}

/* With no argument: every subscription of kind k, in subscription order (a null name and
 * a count of 0 when there is none); else each name given, subscribed or not. */
static void do_unsubscribe(struct client *cl, const struct resp_request *req,
                           enum pubsub_kind k)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    struct resp_writer wb = { evbuffer_sink, b, client_proto(cl) }, *w = &wb;
    struct pubsub_state *ps = client_pubsub(cl);
    const char *word = kind_words[k].unsub;
    if (req->argc == 1) {
        if (!ps || ps->n[k] == 0)
            write_confirm(w, word, NULL, 0, confirm_count(ps, k));
        while (ps && ps->n[k] > 0) {
            struct chan *c = ps->v[k][0];
            write_confirm(w, word, c->name, c->len, confirm_count(ps, k) - 1);
            unsubscribe(cl, k, c);
        }
    }
    for (int i = 1; i < req->argc; i++) {
        struct chan *c = subscribed(cl, k, req->argv[i], req->lens[i]);
        if (c)
            unsubscribe(cl, k, c);
        write_confirm(w, word, req->argv[i], req->lens[i], confirm_count(ps, k));
    }
    send_confirms(cl, b);
    context_changed(cl);
}

static void cmd_subscribe(struct client *cl, const struct resp_request *req)
{
    do_subscribe(cl, req, PUBSUB_CHANNEL);
}

static void cmd_psubscribe(struct client *cl, const struct resp_request *req)
{
    do_subscribe(cl, req, PUBSUB_PATTERN);
}

/* Redis 7.0 refuses SSUBSCRIBE inside EXEC (not SUBSCRIBE: "backward compatibility"). */
static void cmd_ssubscribe(struct client *cl, const struct resp_request *req)
{
    if (client_capturing(cl))
        resp_write_error(client_reply_writer(cl),
                         "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    else
        do_subscribe(cl, req, PUBSUB_SHARD);
}

static void cmd_unsubscribe(struct client *cl, const struct resp_request *req)
{
    do_unsubscribe(cl, req, PUBSUB_CHANNEL);
}

static void cmd_punsubscribe(struct client *cl, const struct resp_request *req)
{
    do_unsubscribe(cl, req, PUBSUB_PATTERN);
}

static void cmd_sunsubscribe(struct client *cl, const struct resp_request *req)
{
    do_unsubscribe(cl, req, PUBSUB_SHARD);
}

/* Delivers before taking the reply writer: a publisher subscribed to its own channel gets
 * the message first (client_deliver). */
static void cmd_publish(struct client *cl, const struct resp_request *req)
{
    size_t n = publish(PUBSUB_CHANNEL, req->argv[1], req->lens[1], req->argv[2], req->lens[2]);
    resp_write_int(client_reply_writer(cl), (int64_t)n);
}

static void cmd_spublish(struct client *cl, const struct resp_request *req)
{
    size_t n = publish(PUBSUB_SHARD, req->argv[1], req->lens[1], req->argv[2], req->lens[2]);
    resp_write_int(client_reply_writer(cl), (int64_t)n);
}

/* ---- PUBSUB ---- */

/* Redis's addReplySubcommandSyntaxError, with the subcommand as the client typed it. */
static void syntax_error(struct client *cl, const struct resp_request *req)
{
    char err[160];
    snprintf(err, sizeof err,
             "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB HELP.",
             (int)(req->lens[1] > 64 ? 64 : req->lens[1]), req->argv[1]);
    resp_write_error(client_reply_writer(cl), err);
}

/* CHANNELS / SHARDCHANNELS [pattern]: the names of table k matching pattern (all). */
static void list_channels(struct client *cl, const struct resp_request *req, enum pubsub_kind k)
{
    if (req->argc > 3) {
        syntax_error(cl, req);
        return;
    }
    const struct table *t = &tables[k];
    const char *pat = req->argc == 3 ? req->argv[2] : NULL;
    size_t plen = req->argc == 3 ? req->lens[2] : 0, n = 0;
    for (size_t b = 0; b < t->nbuckets; b++)
        for (const struct chan *c = t->buckets[b]; c; c = c->next)
            n += !pat || glob_match(pat, plen, c->name, c->len);
    struct resp_writer *w = client_reply_writer(cl);
    resp_write_array(w, n);
    for (size_t b = 0; b < t->nbuckets; b++)
        for (const struct chan *c = t->buckets[b]; c; c = c->next)
            if (!pat || glob_match(pat, plen, c->name, c->len))
                resp_write_bulk(w, c->name, c->len);
}

/* NUMSUB / SHARDNUMSUB channel...: a flat array of name, subscriber count (an array in
 * RESP3 too, as Redis 7.0 sends it). */
static void count_subscribers(struct client *cl, const struct resp_request *req,
                              enum pubsub_kind k)
{
    struct resp_writer *w = client_reply_writer(cl);
    resp_write_array(w, (size_t)(req->argc - 2) * 2);
    for (int i = 2; i < req->argc; i++) {
        const struct chan *c = table_find(&tables[k], req->argv[i], req->lens[i]);
        resp_write_bulk(w, req->argv[i], req->lens[i]);
        resp_write_int(w, c ? (int64_t)c->nsubs : 0);
    }
}

static void sub_channels(struct client *cl, const struct resp_request *req)
{
    list_channels(cl, req, PUBSUB_CHANNEL);
}

static void sub_shardchannels(struct client *cl, const struct resp_request *req)
{
    list_channels(cl, req, PUBSUB_SHARD);
}

static void sub_numsub(struct client *cl, const struct resp_request *req)
{
    count_subscribers(cl, req, PUBSUB_CHANNEL);
}

static void sub_shardnumsub(struct client *cl, const struct resp_request *req)
{
    count_subscribers(cl, req, PUBSUB_SHARD);
}

static void sub_numpat(struct client *cl, const struct resp_request *req)
{
    resp_write_int(client_reply_writer(cl), (int64_t)tables[PUBSUB_PATTERN].count);
}

static void sub_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    registry_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static const struct subcommand pubsub_subs[] = {
    { "channels", -2, sub_channels },
    { "help", 2, sub_help },
    { "numpat", 2, sub_numpat },
    { "numsub", -2, sub_numsub },
    { "shardchannels", -2, sub_shardchannels },
    { "shardnumsub", -2, sub_shardnumsub },
    { NULL, 0, NULL },
};

static void cmd_pubsub(struct client *cl, const struct resp_request *req)
{
    registry_run_subcommand(cl, req, pubsub_subs);
}

/* Redis 7.0 allows every pub/sub command while loading; PUBLISH and SPUBLISH are fast. */
#define L (CMD_LOCAL | CMD_LOADING)
#define LF (CMD_LOCAL | CMD_FAST | CMD_LOADING)
static const struct command pubsub_commands[] = {
    { "psubscribe", -2, L, 0, 0, 0, "pubsub", "2.0.0",
      "Listens for messages published to channels that match one or more patterns.",
      cmd_psubscribe, NULL },
    { "publish", 3, LF, 0, 0, 0, "pubsub", "2.0.0", "Posts a message to a channel.",
      cmd_publish, NULL },
    { "pubsub", -2, L, 0, 0, 0, "pubsub", "2.8.0", "A container for Pub/Sub commands.",
      cmd_pubsub, pubsub_subs },
    { "punsubscribe", -1, L, 0, 0, 0, "pubsub", "2.0.0",
      "Stops listening to messages published to channels that match one or more patterns.",
      cmd_punsubscribe, NULL },
    { "spublish", 3, LF, 1, 1, 1, "pubsub", "7.0.0", "Post a message to a shard channel",
      cmd_spublish, NULL },
    { "ssubscribe", -2, L, 1, -1, 1, "pubsub", "7.0.0",
      "Listens for messages published to shard channels.", cmd_ssubscribe, NULL },
    { "subscribe", -2, L, 0, 0, 0, "pubsub", "2.0.0",
      "Listens for messages published to channels.", cmd_subscribe, NULL },
    { "sunsubscribe", -1, L, 1, -1, 1, "pubsub", "7.0.0",
      "Stops listening to messages posted to shard channels.", cmd_sunsubscribe, NULL },
    { "unsubscribe", -1, L, 0, 0, 0, "pubsub", "2.0.0",
      "Stops listening to messages posted to channels.", cmd_unsubscribe, NULL },
};
#undef L
#undef LF

int pubsub_init(void)
{
    return registry_add(pubsub_commands, sizeof pubsub_commands / sizeof pubsub_commands[0]);
}
