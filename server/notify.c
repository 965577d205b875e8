/* notify.c -- keyspace notifications for committed writes (see notify.h).
 *
 * Each committed op is walked command by command (a TX op's sub-commands in order, each
 * with its place in the op's touched string). A command's events come from the table
 * below, key position by key position; a key is notified only if the replicas reported
 * it changed ('1' at its position, 'D' when the op also left it gone), so a SETNX that
 * lost, a DEL of a missing key or an INCR that failed publish nothing, as in Redis.
 *
 *     SETEX k 10 v   touched "0110"   ->  k: "set" ($), then "expire" (g)
 *     RENAME a b     touched "011"    ->  a: "rename_from", b: "rename_to" (g)
 *     EXPIRE k -1    touched "010"    ->  k: "del" (g): a time already past deletes
 *     SET k v PXAT 1 touched "01000"  ->  k: "set", "expire", then "expired" (x): Redis
 *                                         keeps such a key until it is next looked at;
 *                                         twopc's replicas never store it
 *
 * A time already past is judged against the coordinator's wall clock as the hook runs, a
 * few ms after the round's clock: only a deadline within those ms of now could be judged
 * differently.
 */
#include "notify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "op.h"
#include "pubsub.h"
#include "reencode.h"
#include "txn.h"
#include "registry.h"
#include "util.h"

/* ---- the flags ---- */

static int flags_now; /* notify-keyspace-events, as settings.c last set it */

void notify_set_flags(int flags)
{
    flags_now = flags;
}

static const struct {
    char c;
    int flag;
} flag_chars[] = {
    { 'A', NOTIFY_ALL },      { 'g', NOTIFY_GENERIC }, { '$', NOTIFY_STRING },
    { 'l', NOTIFY_LIST },     { 's', NOTIFY_SET },     { 'h', NOTIFY_HASH },
    { 'z', NOTIFY_ZSET },     { 'x', NOTIFY_EXPIRED }, { 'e', NOTIFY_EVICTED },
    { 'K', NOTIFY_KEYSPACE }, { 'E', NOTIFY_KEYEVENT }, { 't', NOTIFY_STREAM },
    { 'm', NOTIFY_KEY_MISS }, { 'd', NOTIFY_MODULE }, { 'n', NOTIFY_NEW },
};
#define NFLAGS (sizeof flag_chars / sizeof flag_chars[0])

int notify_flags_parse(const char *s)
{
    int flags = 0;
    for (; *s; s++) {
        size_t i = 0;
        while (i < NFLAGS && flag_chars[i].c != *s)
            i++;
        if (i == NFLAGS)
            return -1;
        flags |= flag_chars[i].flag;
    }
    return flags;
}

/* Redis's order: A or the classes, then K, E and m. */
const char *notify_flags_string(int flags, char *buf, size_t len)
{
    static const char classes[] = "g$lshzxetdn";
    static const int class_flags[] = { NOTIFY_GENERIC, NOTIFY_STRING, NOTIFY_LIST,
                                       NOTIFY_SET, NOTIFY_HASH, NOTIFY_ZSET, NOTIFY_EXPIRED,
                                       NOTIFY_EVICTED, NOTIFY_STREAM, NOTIFY_MODULE,
                                       NOTIFY_NEW };
    char out[24];
    size_t n = 0;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        out[n++] = 'A'; /* n is then not shown, though kept (Redis's quirk) */
    } else {
        for (size_t i = 0; i < sizeof class_flags / sizeof class_flags[0]; i++)
            if (flags & class_flags[i])
                out[n++] = classes[i];
    }
    if (flags & NOTIFY_KEYSPACE)
        out[n++] = 'K';
    if (flags & NOTIFY_KEYEVENT)
        out[n++] = 'E';
    if (flags & NOTIFY_KEY_MISS)
        out[n++] = 'm';
    out[n] = 0;
    snprintf(buf, len, "%s", out);
    return buf;
}

/* ---- publishing ---- */

/* The database of the command whose events are being published (its DB wrapper's, op.h;
 * 0 without one). */
static int event_db;

/* Redis's notifyKeyspaceEvent: the keyspace channel first, then the keyevent one. */
static void notify(int type, const char *event, const char *key, size_t klen)
{
    int flags = flags_now;
    if (!(flags & type))
        return;
    size_t elen = strlen(event);
    char *ch = malloc(48 + (klen > elen ? klen : elen));
    if (!ch)
        return;
    if (flags & NOTIFY_KEYSPACE) {
        int n = sprintf(ch, "__keyspace@%d__:", event_db);
        memcpy(ch + n, key, klen);
        pubsub_publish(ch, (size_t)n + klen, event, elen);
    }
    if (flags & NOTIFY_KEYEVENT) {
        int n = sprintf(ch, "__keyevent@%d__:", event_db);
        memcpy(ch + n, event, elen);
        pubsub_publish(ch, (size_t)n + elen, key, klen);
    }
    free(ch);
}

int notify_wanted(void)
{
    int flags = flags_now;
    return (flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) && pubsub_listened();
}

/* ---- the events of one command ---- */

static int is(const char *argv0, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(argv0, name, len) == 0;
}

/* Whether the time argument of an EXPIRE-family command (or GETEX/SET's option) is
 * already past: relative values in unit ms (1000 for seconds), absolute when abs. */
static int already_past(const char *v, size_t len, int64_t unit, int abs)
{
    int64_t t;
    if (util_parse_i64(v, len, &t) < 0)
        return 0;
    if (!abs)
        return t <= 0;
    return t <= (int64_t)(util_wall_ms() / (uint64_t)unit);
}

/* SET's, GETEX's options: the event its expiry option sends after the write ("expire",
 * "del" for a time already past, "persist"), or NULL. */
static const char *expiry_option(int argc, char *const *argv, const size_t *lens, int from)
{
    for (int i = from; i < argc; i++) {
        const char *o = argv[i];
        size_t l = lens[i];
        if (is(o, l, "persist"))
            return "persist";
        if (i + 1 >= argc)
            continue;
        if (is(o, l, "ex") || is(o, l, "px"))
            return "expire";
        if (is(o, l, "exat") || is(o, l, "pxat"))
            return already_past(argv[i + 1], lens[i + 1], is(o, l, "exat") ? 1000 : 1, 1) ?
                       "del" : "expire";
    }
    return NULL;
}

/* Whether argument j repeats an earlier key argument: DEL a a deletes (and notifies) once,
 * though the replicas report both positions changed. (MSET a 1 a 2 notifies twice, as
 * Redis does: its keys are at step 2, not checked.) */
static int named_before(char *const *argv, const size_t *lens, int j)
{
    for (int i = 1; i < j; i++)
        if (lens[i] == lens[j] && memcmp(argv[i], argv[j], lens[j]) == 0)
            return 1;
    return 0;
}

/* A *STORE command's committed result: its count, -1 unknown (a TX's sub-command). */
static int64_t stored_count(const char *result, size_t rlen)
{
    int64_t n;
    if (!result || rlen < 4 || result[0] != ':' ||
        util_parse_i64(result + 1, rlen - 3, &n) < 0)
        return -1;
    return n;
}

/* The generic "del" Redis adds after a pop or removal's own event when it empties the
 * collection: the replicas mark such a key 'D' (TPC.PREPARE TOUCHED GONE, protocol 3; with
 * an older replica in the set nothing is marked, and nothing is sent). */
static void emptied(const char *k, size_t len, char mark)
{
    if (mark == 'D')
        notify(NOTIFY_GENERIC, "del", k, len);
}

/* The collection commands' events (Redis 7.0's t_hash.c, t_list.c, t_set.c, t_zset.c,
 * sort.c), for each key the replicas report changed, then "del" for one they report gone
 * (emptied). A *STORE (and BITOP) sends "del" instead of its event when its result is
 * empty (its count, from the op's result, or inside a TX from EXEC's array).
 * Returns 1 if the command is one of these (its events sent), 0 if not. */
static int collection_events(int argc, char *const *argv, const size_t *lens, const char *t,
                             const char *result, size_t rlen)
{
    static const struct {
        const char *name, *event;
        int type, all; /* all: every argument may be a changed key (BLPOP's), else key 1 */
    } one[] = {
        { "hset", "hset", NOTIFY_HASH, 0 },          { "hmset", "hset", NOTIFY_HASH, 0 },
        { "hsetnx", "hset", NOTIFY_HASH, 0 },        { "hdel", "hdel", NOTIFY_HASH, 0 },
        { "hincrby", "hincrby", NOTIFY_HASH, 0 },
        { "hincrbyfloat", "hincrbyfloat", NOTIFY_HASH, 0 },
        { "lpush", "lpush", NOTIFY_LIST, 0 },        { "lpushx", "lpush", NOTIFY_LIST, 0 },
        { "rpush", "rpush", NOTIFY_LIST, 0 },        { "rpushx", "rpush", NOTIFY_LIST, 0 },
        { "lpop", "lpop", NOTIFY_LIST, 0 },          { "rpop", "rpop", NOTIFY_LIST, 0 },
        { "linsert", "linsert", NOTIFY_LIST, 0 },    { "lset", "lset", NOTIFY_LIST, 0 },
        { "ltrim", "ltrim", NOTIFY_LIST, 0 },        { "lrem", "lrem", NOTIFY_LIST, 0 },
        { "blpop", "lpop", NOTIFY_LIST, 1 },         { "brpop", "rpop", NOTIFY_LIST, 1 },
        { "sadd", "sadd", NOTIFY_SET, 0 },           { "srem", "srem", NOTIFY_SET, 0 },
        { "spop", "spop", NOTIFY_SET, 0 },           { "zincrby", "zincr", NOTIFY_ZSET, 0 },
        { "zrem", "zrem", NOTIFY_ZSET, 0 },          { "zpopmin", "zpopmin", NOTIFY_ZSET, 0 },
        { "zpopmax", "zpopmax", NOTIFY_ZSET, 0 },
        { "zremrangebyrank", "zremrangebyrank", NOTIFY_ZSET, 0 },
        { "zremrangebyscore", "zremrangebyscore", NOTIFY_ZSET, 0 },
        { "zremrangebylex", "zremrangebylex", NOTIFY_ZSET, 0 },
        { "bzpopmin", "zpopmin", NOTIFY_ZSET, 1 },   { "bzpopmax", "zpopmax", NOTIFY_ZSET, 1 },
        { "lmpop", NULL, NOTIFY_LIST, 1 },           { "blmpop", NULL, NOTIFY_LIST, 1 },
        { "zmpop", NULL, NOTIFY_ZSET, 1 },           { "bzmpop", NULL, NOTIFY_ZSET, 1 },
    };
    static const struct {
        const char *name, *event;
        int type, key; /* the destination's argument (SORT: after STORE) */
    } stores[] = {
        { "sinterstore", "sinterstore", NOTIFY_SET, 1 },
        { "sunionstore", "sunionstore", NOTIFY_SET, 1 },
        { "sdiffstore", "sdiffstore", NOTIFY_SET, 1 },
        { "zunionstore", "zunionstore", NOTIFY_ZSET, 1 },
        { "zinterstore", "zinterstore", NOTIFY_ZSET, 1 },
        { "zdiffstore", "zdiffstore", NOTIFY_ZSET, 1 },
        { "zrangestore", "zrangestore", NOTIFY_ZSET, 1 },
        { "sort", "sortstore", NOTIFY_LIST, -1 },
        { "bitop", "set", NOTIFY_STRING, 2 }, /* its result: the new length, 0 deleted it */
    };
    const char *c = argv[0];
    size_t cl = lens[0];
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        if (!is(c, cl, one[i].name))
            continue;
        const char *event = one[i].event;
        for (int j = 1; !event && j < argc; j++) /* the MPOPs: their end word */
            if (is(argv[j], lens[j], "left") || is(argv[j], lens[j], "min"))
                event = one[i].type == NOTIFY_LIST ? "lpop" : "zpopmin";
            else if (is(argv[j], lens[j], "right") || is(argv[j], lens[j], "max"))
                event = one[i].type == NOTIFY_LIST ? "rpop" : "zpopmax";
        for (int j = 1; event && j < (one[i].all ? argc : 2); j++)
            if (TXN_CHANGED(t[j])) { /* a blocking pop or an MPOP pops from one key */
                notify(one[i].type, event, argv[j], lens[j]);
                emptied(argv[j], lens[j], t[j]);
                break;
            }
        return 1;
    }
    if (is(c, cl, "zadd")) {
        int incr = 0;
        for (int j = 2; j < argc; j++)
            incr |= is(argv[j], lens[j], "incr");
        if (argc > 1 && TXN_CHANGED(t[1]))
            notify(NOTIFY_ZSET, incr ? "zincr" : "zadd", argv[1], lens[1]);
        return 1;
    }
    if (is(c, cl, "lmove") || is(c, cl, "blmove") || is(c, cl, "rpoplpush") ||
        is(c, cl, "brpoplpush") || is(c, cl, "smove")) {
        if (argc < 3)
            return 1;
        int set = is(c, cl, "smove"), rpl = is(c, cl, "rpoplpush") || is(c, cl, "brpoplpush");
        int from_left = !rpl && !set && argc > 3 && is(argv[3], lens[3], "left");
        int to_left = rpl || (!set && argc > 4 && is(argv[4], lens[4], "left"));
        if (set) { /* srem on the source, then sadd on the destination (if added) */
            if (TXN_CHANGED(t[1]))
                notify(NOTIFY_SET, "srem", argv[1], lens[1]);
            emptied(argv[1], lens[1], t[1]);
            if (TXN_CHANGED(t[2]) && !named_before(argv, lens, 2))
                notify(NOTIFY_SET, "sadd", argv[2], lens[2]);
            return 1;
        }
        if (!TXN_CHANGED(t[1]))
            return 1; /* nothing moved */
        notify(NOTIFY_LIST, to_left ? "lpush" : "rpush", argv[2], lens[2]);
        notify(NOTIFY_LIST, from_left ? "lpop" : "rpop", argv[1], lens[1]);
        emptied(argv[1], lens[1], t[1]);
        return 1;
    }
    for (size_t i = 0; i < sizeof stores / sizeof stores[0]; i++) {
        if (!is(c, cl, stores[i].name))
            continue;
        int k = stores[i].key;
        for (int j = 2; k < 0 && j + 1 < argc; j++)
            if (is(argv[j], lens[j], "store"))
                k = j + 1;
        if (k < 0 || k >= argc || !TXN_CHANGED(t[k]))
            return 1;
        int64_t n = stored_count(result, rlen);
        if (n == 0)
            notify(NOTIFY_GENERIC, "del", argv[k], lens[k]);
        else
            notify(stores[i].type, stores[i].event, argv[k], lens[k]);
        return 1;
    }
    return 0;
}

/* One command: t[j] is '1' (or 'D', gone after) where argument j names a key it changed;
 * result its committed result when known (NULL inside a TX). */
static void command_events(int argc, char *const *argv, const size_t *lens, const char *t,
                           const char *result, size_t rlen)
{
    int db = 0;
    if (op_db_wrapper(argc, argv, lens, &db) == 0) {
        argc -= 2, argv += 2, lens += 2, t += 2;
    }
    event_db = db;
    const char *c = argv[0];
    size_t cl = lens[0];
    static const struct {
        const char *name, *event;
        int type, first, step; /* keys at first, first + step ... (step 0: only first) */
    } simple[] = {
        { "incr", "incrby", NOTIFY_STRING, 1, 0 },
        { "decr", "incrby", NOTIFY_STRING, 1, 0 }, /* Redis's name for all four */
        { "incrby", "incrby", NOTIFY_STRING, 1, 0 },
        { "decrby", "incrby", NOTIFY_STRING, 1, 0 },
        { "incrbyfloat", "incrbyfloat", NOTIFY_STRING, 1, 0 },
        { "append", "append", NOTIFY_STRING, 1, 0 },
        { "setrange", "setrange", NOTIFY_STRING, 1, 0 },
        { "setbit", "setbit", NOTIFY_STRING, 1, 0 },
        { "setnx", "set", NOTIFY_STRING, 1, 0 },
        { "getset", "set", NOTIFY_STRING, 1, 0 },
        { "mset", "set", NOTIFY_STRING, 1, 2 },
        { "msetnx", "set", NOTIFY_STRING, 1, 2 },
        { "del", "del", NOTIFY_GENERIC, 1, 1 },
        { "unlink", "del", NOTIFY_GENERIC, 1, 1 },
        { "getdel", "del", NOTIFY_GENERIC, 1, 0 },
        { "persist", "persist", NOTIFY_GENERIC, 1, 0 },
        { "copy", "copy_to", NOTIFY_GENERIC, 2, 0 },
        { "tpc.expiredel", "expired", NOTIFY_EXPIRED, 1, 1 },
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (!is(c, cl, simple[i].name))
            continue;
        for (int j = simple[i].first; j < argc; j += simple[i].step ? simple[i].step : argc)
            if (TXN_CHANGED(t[j]) && !(simple[i].step == 1 && named_before(argv, lens, j)))
                notify(simple[i].type, simple[i].event, argv[j], lens[j]);
        return;
    }
    if (collection_events(argc, argv, lens, t, result, rlen))
        return;
    if (argc < 2 || !TXN_CHANGED(t[1]))
        return;
    if (is(c, cl, "set") || is(c, cl, "setex") || is(c, cl, "psetex")) {
        notify(NOTIFY_STRING, "set", argv[1], lens[1]);
        /* Redis 7.0 sets the expiry even when it is past ("expire"; the key then expires
         * at its next access, or here at the next sweep: "expired"). */
        const char *e = is(c, cl, "set") ? expiry_option(argc, argv, lens, 3) : "expire";
        if (e && strcmp(e, "persist") != 0)
            notify(NOTIFY_GENERIC, "expire", argv[1], lens[1]);
        if (e && strcmp(e, "del") == 0)
            notify(NOTIFY_EXPIRED, "expired", argv[1], lens[1]);
    } else if (is(c, cl, "getex")) {
        const char *e = expiry_option(argc, argv, lens, 2);
        if (e)
            notify(NOTIFY_GENERIC, e, argv[1], lens[1]);
    } else if (is(c, cl, "expire") || is(c, cl, "pexpire") || is(c, cl, "expireat") ||
               is(c, cl, "pexpireat")) {
        int abs = is(c, cl, "expireat") || is(c, cl, "pexpireat");
        int64_t unit = (c[0] == 'p' || c[0] == 'P') ? 1 : 1000;
        int past = argc > 2 && already_past(argv[2], lens[2], abs ? unit : 1, abs);
        notify(NOTIFY_GENERIC, past ? "del" : "expire", argv[1], lens[1]);
    } else if (is(c, cl, "rename") || is(c, cl, "renamenx")) {
        notify(NOTIFY_GENERIC, "rename_from", argv[1], lens[1]);
        if (argc == 3 && TXN_CHANGED(t[2]))
            notify(NOTIFY_GENERIC, "rename_to", argv[2], lens[2]);
    }
}

/* Beyond this many key arguments in one TX, its keys are not compared pairwise: the TX
 * gets no event at all (the comparison is quadratic). */
#define TX_KEYS_MAX 1024

struct keypos {
    int at;  /* the argument's place in the TX op's argv */
    int cmd; /* which command of the TX names it */
    int db;  /* the database it is in (the frame's DB wrapper) */
};

/* The key arguments of every command of TX op, into v (at most max). Returns how many, or
 * -1 if there are more than max or the TX is malformed. */
static int tx_keys(const struct op *op, struct keypos *v, int max)
{
    uint64_t n;
    int at = 2, count = 0;
    if (util_parse_u64(op->argv[1], op->lens[1], &n) < 0)
        return -1;
    for (uint64_t c = 0; c < n; c++) {
        struct op sub;
        if (op_frame_next(op->argc, op->argv, op->lens, &at, &sub) != 1)
            return -1;
        int db = 0;
        if (op_db_wrapper(sub.argc, sub.argv, sub.lens, &db) == 0)
            sub.argc -= 2, sub.argv += 2, sub.lens += 2;
        const struct command *cmd = registry_lookup(sub.argv[0], sub.lens[0]);
        if (!cmd || cmd->first_key <= 0)
            continue;
        int last = cmd->last_key < 0 ? sub.argc + cmd->last_key : cmd->last_key;
        int step = cmd->step > 0 ? cmd->step : 1;
        for (int k = cmd->first_key; k <= last && k < sub.argc; k += step) {
            if (count == max)
                return -1;
            v[count++] = (struct keypos){ (int)(sub.argv - op->argv) + k, (int)c, db };
        }
    }
    return count;
}

/* The replicas report what a whole op changed: inside a TX, a key named by several of its
 * commands cannot be attributed to one of them (MULTI, GETEX k PXAT 1 on a missing k, then
 * SET k: both positions read '1'). Such keys get no event (t cleared at their positions);
 * a key that one command alone names is that command's. Returns 0, or -1 when nothing can
 * be said (too many keys, out of memory). */
static int unshared_keys(const struct op *op, char *t)
{
    struct keypos *v = malloc(TX_KEYS_MAX * sizeof *v);
    int n = v ? tx_keys(op, v, TX_KEYS_MAX) : -1;
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            int a = v[i].at, b = v[j].at;
            if (v[i].cmd != v[j].cmd && v[i].db == v[j].db && op->lens[a] == op->lens[b] &&
                memcmp(op->argv[a], op->argv[b], op->lens[a]) == 0)
                t[a] = t[b] = '0';
        }
    }
    free(v);
    return n < 0 ? -1 : 0;
}

void notify_on_commit(const struct op *op, const char *touched, size_t len,
                      const char *result, size_t rlen)
{
    if (!touched || len != (size_t)op->argc || touched[0] == 'F' || op->argc < 1)
        return;
    if (!(flags_now & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)))
        return;
    if (!op_is(op, "tx")) {
        command_events(op->argc, op->argv, op->lens, touched, result, rlen);
        return;
    }
    char *t = malloc(len);
    uint64_t n;
    int at = 2;
    if (!t || op->argc < 2 || util_parse_u64(op->argv[1], op->lens[1], &n) < 0) {
        free(t);
        return;
    }
    memcpy(t, touched, len);
    if (unshared_keys(op, t) < 0)
        n = 0;
    /* The TX's result is EXEC's array: element i is command i's result. */
    long long nres = -1;
    size_t off = 0;
    if (result && rlen > 3 && result[0] == '*') {
        const char *crlf = memchr(result, '\n', rlen);
        nres = crlf ? strtoll(result + 1, NULL, 10) : -1;
        off = crlf ? (size_t)(crlf - result) + 1 : rlen;
    }
    for (uint64_t i = 0; i < n; i++) {
        struct op sub;
        if (op_frame_next(op->argc, op->argv, op->lens, &at, &sub) != 1)
            break;
        size_t span = nres == (long long)n && off < rlen ? reencode_span(result + off, rlen - off)
                                                         : 0;
        command_events(sub.argc, sub.argv, sub.lens, t + (sub.argv - op->argv),
                       span ? result + off : NULL, span);
        off += span;
    }
    free(t);
}
