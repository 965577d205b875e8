/* fuzz_exec.c -- libFuzzer target for the replica's command evaluators (replica/exec.c,
 * cmd_string.c, cmd_keys.c, cmd_keyspace.c, effects.c, store.c), checked against a
 * reference model.
 *
 * The input is a program: each byte sequence picks a command on four keys (SET with
 * NX/XX/GET/EX/PX/KEEPTTL, SETNX, GET, GETDEL, MSET, DEL, EXISTS, INCR/INCRBY/DECRBY, APPEND,
 * STRLEN, GETRANGE, SETRANGE, EXPIRE/PEXPIRE, TTL/PTTL, PERSIST, RENAME, DBSIZE, a TX of
 * several of them), its arguments (from tables of interesting integers, or raw input
 * bytes as values) and how the clock moves. The commands run in rounds as a replica runs
 * them: each round's ops go through exec_op() with one struct effects at the round's clock,
 * on top of up to three rounds still undecided (fx->under, as participant.c chains
 * pipelined rounds), and the rounds are applied to an in-memory SQLite store
 * (exec_apply in a store transaction) when the program says so.
 *
 * The model is a plain array of four keys (value, absolute expiry) updated with Redis 7's
 * rules (a key is gone once now > its expiry; INCR's strict integers and overflow errors;
 * GETRANGE's clamping; SET's option semantics; TTL's rounding). Every reply must equal,
 * byte for byte, the reply the model predicts, and at the end the store must hold exactly
 * the model's live keys with their values and expiries. Besides, "raw" ops -- any command
 * name the evaluators know, with arguments straight from the input -- are evaluated on a
 * throwaway effects on top of the chain and discarded (and sent through exec_read on the
 * committed data): they must not crash or trip a sanitizer, and must write exactly one
 * well-formed reply (a malformed TX once wrote an array header, then an error).
 *
 * Build with -DTWOPC_FUZZ=ON and CC=clang; run as fuzz_exec CORPUS_DIR SEED_DIR.
 */
#include "effects.h"
#include "exec.h"
#include "op.h"
#include "record.h"
#include "resp_writer.h"
#include "store.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#define NKEYS 4
#define MAXVAL 200 /* a model value never grows past this: longer writes become GETs */
#define MAXARGS 32 /* a TX of three 7-argument SETs: 2 + 3 * 8 */
#define MAXCHAIN 3

/* ---- the input ---- */

struct in {
    const uint8_t *p;
    size_t n;
};

static unsigned next(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* ---- the model ---- */

struct mkey {
    int present;
    size_t len;
    char v[MAXVAL];
    int64_t exp; /* 0: none */
};

static struct mkey model[NKEYS];
static int64_t now;

static const char *const key_names[NKEYS] = { "a", "b", "c", "d" };

static struct mkey *mlookup(int k)
{
    struct mkey *m = &model[k];
    if (m->present && m->exp && now > m->exp)
        m->present = 0;
    return m->present ? m : NULL;
}

static void mset(int k, const char *v, size_t len, int64_t exp)
{
    model[k].present = 1;
    memmove(model[k].v, v, len);
    model[k].len = len;
    model[k].exp = exp;
}

/* Redis's string2ll: no sign but '-', no leading zeros, no spaces, in range. */
static int string2ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 20)
        return 0;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (len == 1)
            return 0;
    }
    if (s[i] < '1' || s[i] > '9')
        return 0;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return 0;
        *out = (long long)v;
    }
    return 1;
}

/* ---- expected replies ---- */

struct reply {
    char p[4096];
    size_t len;
};

static void rput(struct reply *r, const void *p, size_t n)
{
    FUZZ_CHECK(r->len + n <= sizeof r->p);
    memcpy(r->p + r->len, p, n);
    r->len += n;
}

static void rfmt(struct reply *r, const char *fmt, long long v)
{
    char b[64];
    int n = snprintf(b, sizeof b, fmt, v);
    rput(r, b, (size_t)n);
}

static void rbulk(struct reply *r, const char *p, size_t n)
{
    rfmt(r, "$%lld\r\n", (long long)n);
    rput(r, p, n);
    rput(r, "\r\n", 2);
}

static void rnil(struct reply *r) { rput(r, "$-1\r\n", 5); }
static void rint(struct reply *r, long long v) { rfmt(r, ":%lld\r\n", v); }
static void rok(struct reply *r) { rput(r, "+OK\r\n", 5); }
static void rerr(struct reply *r, const char *e)
{
    rput(r, "-", 1);
    rput(r, e, strlen(e));
    rput(r, "\r\n", 2);
}

/* ---- one command: its arguments and the model's reply ---- */

struct cmd {
    int argc;
    char *argv[MAXARGS];
    size_t lens[MAXARGS];
    char buf[2048];
    size_t used;
};

static void arg(struct cmd *c, const char *p, size_t n)
{
    FUZZ_CHECK(c->argc < MAXARGS && c->used + n + 1 <= sizeof c->buf);
    c->argv[c->argc] = c->buf + c->used;
    memcpy(c->argv[c->argc], p, n);
    c->argv[c->argc][n] = '\0';
    c->lens[c->argc++] = n;
    c->used += n + 1;
}

static void sarg(struct cmd *c, const char *s) { arg(c, s, strlen(s)); }

static void iarg(struct cmd *c, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    sarg(c, b);
}

static const char *const int_values[] = {
    "0", "1", "-1", "10", "-0", "012", "+1", " 1", "1 ", "abc", "", "1.5",
    "9223372036854775807", "-9223372036854775808", "9223372036854775806",
    "-9223372036854775807", "18446744073709551616", "99999999999999999999",
};
static const char *const incr_args[] = {
    "1", "-1", "5", "-100", "0", "9223372036854775807", "-9223372036854775808",
    "x", "01", "", "100000000000000000000",
};
static const int64_t range_args[] = { 0, 1, 2, 3, -1, -2, -3, -10, 5, 100, -100 };
static const int64_t clock_steps[] = { 0, 0, 0, 1, 499, 500, 501, 999, 1000, 1001, 2500 };

/* A value for SET, APPEND...: an integer string from the table or raw input bytes. */
static void value(struct in *in, char *v, size_t *len)
{
    unsigned b = next(in);
    if (b & 1) {
        const char *s = int_values[(b >> 1) % (sizeof int_values / sizeof *int_values)];
        *len = strlen(s);
        memcpy(v, s, *len);
        return;
    }
    *len = (b >> 1) % 9;
    for (size_t i = 0; i < *len; i++)
        v[i] = (char)next(in);
}

static void cmd_get(struct cmd *c, struct reply *r, int k)
{
    sarg(c, "GET");
    sarg(c, key_names[k]);
    struct mkey *m = mlookup(k);
    if (m)
        rbulk(r, m->v, m->len);
    else
        rnil(r);
}

/* Fills c with one modelled command chosen by the input and writes its reply to r. */
static void gen(struct in *in, struct cmd *c, struct reply *r)
{
    unsigned op = next(in) % 22;
    int k = (int)(next(in) % NKEYS);
    const char *key = key_names[k];
    char v[32];
    size_t vlen;
    switch (op) {
    case 0: { /* SET k v [NX|XX] [GET] [EX s|PX ms|KEEPTTL] */
        unsigned f = next(in);
        value(in, v, &vlen);
        sarg(c, "SET");
        sarg(c, key);
        arg(c, v, vlen);
        int nx = (f & 3) == 1, xx = (f & 3) == 2, get = (f >> 2) & 1;
        unsigned ttl = (f >> 3) & 3;
        int64_t exp = 0, n = 1 + (int64_t)(next(in) % 4);
        if (nx)
            sarg(c, "NX");
        if (xx)
            sarg(c, "XX");
        if (get)
            sarg(c, "GET");
        if (ttl == 1) {
            sarg(c, "EX");
            iarg(c, n);
            exp = now + n * 1000;
        } else if (ttl == 2) {
            sarg(c, "PX");
            n *= 700;
            iarg(c, n);
            exp = now + n;
        } else if (ttl == 3) {
            sarg(c, "KEEPTTL");
        }
        struct mkey *m = mlookup(k);
        if (get) {
            if (m)
                rbulk(r, m->v, m->len);
            else
                rnil(r);
        }
        int doit = nx ? !m : xx ? !!m : 1;
        if (doit) {
            if (ttl == 3)
                exp = m ? m->exp : 0;
            mset(k, v, vlen, exp);
        }
        if (!get) {
            if (doit)
                rok(r);
            else
                rnil(r);
        }
        break;
    }
    case 1:
    case 2:
        cmd_get(c, r, k);
        break;
    case 3: { /* SETNX */
        value(in, v, &vlen);
        sarg(c, "SETNX");
        sarg(c, key);
        arg(c, v, vlen);
        if (mlookup(k)) {
            rint(r, 0);
        } else {
            mset(k, v, vlen, 0);
            rint(r, 1);
        }
        break;
    }
    case 4: { /* GETDEL */
        sarg(c, "GETDEL");
        sarg(c, key);
        struct mkey *m = mlookup(k);
        if (m) {
            rbulk(r, m->v, m->len);
            m->present = 0;
        } else {
            rnil(r);
        }
        break;
    }
    case 5: { /* MSET k v k2 v2 */
        int k2 = (int)(next(in) % NKEYS);
        char v2[32];
        size_t v2len;
        value(in, v, &vlen);
        value(in, v2, &v2len);
        sarg(c, "MSET");
        sarg(c, key);
        arg(c, v, vlen);
        sarg(c, key_names[k2]);
        arg(c, v2, v2len);
        mset(k, v, vlen, 0);
        mset(k2, v2, v2len, 0);
        rok(r);
        break;
    }
    case 6:
    case 7: { /* DEL / EXISTS of 1-3 keys, repeats allowed */
        int n = 1 + (int)(next(in) % 3), count = 0;
        sarg(c, op == 6 ? "DEL" : "EXISTS");
        for (int i = 0; i < n; i++) {
            int ki = i == 0 ? k : (int)(next(in) % NKEYS);
            sarg(c, key_names[ki]);
            struct mkey *m = mlookup(ki);
            if (m) {
                count++;
                if (op == 6)
                    m->present = 0;
            }
        }
        rint(r, count);
        break;
    }
    case 8:
    case 9: { /* INCR / INCRBY / DECRBY */
        unsigned f = next(in);
        const char *by = incr_args[next(in) % (sizeof incr_args / sizeof *incr_args)];
        long long incr = 1;
        int decr = 0;
        if (f % 3 == 0) {
            sarg(c, "INCR");
            sarg(c, key);
        } else {
            decr = f % 3 == 2;
            sarg(c, decr ? "DECRBY" : "INCRBY");
            sarg(c, key);
            sarg(c, by);
            if (!string2ll(by, strlen(by), &incr)) {
                rerr(r, "ERR value is not an integer or out of range");
                break;
            }
            if (decr && incr == LLONG_MIN) {
                rerr(r, "ERR decrement would overflow");
                break;
            }
            if (decr)
                incr = -incr;
        }
        struct mkey *m = mlookup(k);
        long long old = 0;
        if (m && !string2ll(m->v, m->len, &old)) {
            rerr(r, "ERR value is not an integer or out of range");
            break;
        }
        if ((incr < 0 && old < 0 && incr < LLONG_MIN - old) ||
            (incr > 0 && old > 0 && incr > LLONG_MAX - old)) {
            rerr(r, "ERR increment or decrement would overflow");
            break;
        }
        char b[32];
        int n = snprintf(b, sizeof b, "%lld", old + incr);
        mset(k, b, (size_t)n, m ? m->exp : 0);
        rint(r, old + incr);
        break;
    }
    case 10: { /* APPEND */
        value(in, v, &vlen);
        struct mkey *m = mlookup(k);
        if (m && m->len + vlen > MAXVAL) {
            cmd_get(c, r, k);
            break;
        }
        sarg(c, "APPEND");
        sarg(c, key);
        arg(c, v, vlen);
        if (m) {
            memcpy(m->v + m->len, v, vlen);
            m->len += vlen;
        } else {
            mset(k, v, vlen, 0);
        }
        rint(r, (long long)model[k].len);
        break;
    }
    case 11: { /* STRLEN */
        sarg(c, "STRLEN");
        sarg(c, key);
        struct mkey *m = mlookup(k);
        rint(r, m ? (long long)m->len : 0);
        break;
    }
    case 12: { /* GETRANGE */
        int64_t start = range_args[next(in) % (sizeof range_args / sizeof *range_args)];
        int64_t end = range_args[next(in) % (sizeof range_args / sizeof *range_args)];
        sarg(c, "GETRANGE");
        sarg(c, key);
        iarg(c, start);
        iarg(c, end);
        struct mkey *m = mlookup(k);
        int64_t len = m ? (int64_t)m->len : 0;
        if (start < 0 && end < 0 && start > end) {
            rbulk(r, "", 0);
            break;
        }
        if (start < 0)
            start += len;
        if (end < 0)
            end += len;
        if (start < 0)
            start = 0;
        if (end < 0)
            end = 0;
        if (end >= len)
            end = len - 1;
        if (start > end || len == 0)
            rbulk(r, "", 0);
        else
            rbulk(r, m->v + start, (size_t)(end - start + 1));
        break;
    }
    case 13: { /* SETRANGE */
        int64_t off = (int64_t)(next(in) % 24) - 2;
        value(in, v, &vlen);
        struct mkey *m = mlookup(k);
        if (off >= 0 && (size_t)off + vlen > MAXVAL) {
            cmd_get(c, r, k);
            break;
        }
        sarg(c, "SETRANGE");
        sarg(c, key);
        iarg(c, off);
        arg(c, v, vlen);
        if (off < 0) {
            rerr(r, "ERR offset is out of range");
            break;
        }
        if (vlen == 0) {
            rint(r, m ? (long long)m->len : 0);
            break;
        }
        if (!m) {
            model[k].present = 1;
            model[k].len = 0;
            model[k].exp = 0;
            m = &model[k];
        }
        if ((size_t)off > m->len)
            memset(m->v + m->len, 0, (size_t)off - m->len);
        memcpy(m->v + off, v, vlen);
        if ((size_t)off + vlen > m->len)
            m->len = (size_t)off + vlen;
        rint(r, (long long)m->len);
        break;
    }
    case 14:
    case 15: { /* EXPIRE k s / PEXPIRE k ms */
        int64_t n = (int64_t)(next(in) % 16) - 3;
        if (op == 15)
            n = n * 300;
        sarg(c, op == 14 ? "EXPIRE" : "PEXPIRE");
        sarg(c, key);
        iarg(c, n);
        struct mkey *m = mlookup(k);
        if (!m) {
            rint(r, 0);
            break;
        }
        int64_t when = now + (op == 14 ? n * 1000 : n);
        if (when <= now)
            m->present = 0;
        else
            m->exp = when;
        rint(r, 1);
        break;
    }
    case 16: { /* TTL / PTTL */
        int ms = next(in) & 1;
        sarg(c, ms ? "PTTL" : "TTL");
        sarg(c, key);
        struct mkey *m = mlookup(k);
        if (!m) {
            rint(r, -2);
        } else if (!m->exp) {
            rint(r, -1);
        } else {
            int64_t ttl = m->exp - now;
            if (ttl < 0)
                ttl = 0;
            rint(r, ms ? ttl : (ttl + 500) / 1000);
        }
        break;
    }
    case 17: { /* PERSIST */
        sarg(c, "PERSIST");
        sarg(c, key);
        struct mkey *m = mlookup(k);
        if (m && m->exp) {
            m->exp = 0;
            rint(r, 1);
        } else {
            rint(r, 0);
        }
        break;
    }
    case 18: { /* RENAME / RENAMENX */
        int k2 = (int)(next(in) % NKEYS), nx = next(in) & 1;
        sarg(c, nx ? "RENAMENX" : "RENAME");
        sarg(c, key);
        sarg(c, key_names[k2]);
        struct mkey *m = mlookup(k);
        if (!m) {
            rerr(r, "ERR no such key");
            break;
        }
        if (k == k2) {
            if (nx)
                rint(r, 0);
            else
                rok(r);
            break;
        }
        if (nx && mlookup(k2)) {
            rint(r, 0);
            break;
        }
        mset(k2, m->v, m->len, m->exp);
        m->present = 0;
        if (nx)
            rint(r, 1);
        else
            rok(r);
        break;
    }
    case 19: { /* DBSIZE: the live keys (the replica never counts an expired one) */
        sarg(c, "DBSIZE");
        int n = 0;
        for (int i = 0; i < NKEYS; i++)
            n += mlookup(i) != NULL;
        rint(r, n);
        break;
    }
    default: /* 20, 21: a plain SET */
        value(in, v, &vlen);
        sarg(c, "SET");
        sarg(c, key);
        arg(c, v, vlen);
        mset(k, v, vlen, 0);
        rok(r);
        break;
    }
}

/* Every command name the evaluators know, for the raw ops. */
static const char *const raw_names[] = {
    "GET", "SET", "INCR", "MGET", "MSET", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT",
    "SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "MSETNX", "APPEND", "STRLEN",
    "GETRANGE", "SUBSTR", "SETRANGE", "DEL", "EXISTS", "TTL", "PTTL", "EXPIRE", "PEXPIRE",
    "EXPIREAT", "PEXPIREAT", "EXPIRETIME", "PEXPIRETIME", "PERSIST", "UNLINK", "TOUCH",
    "TYPE", "RENAME", "RENAMENX", "COPY", "TPC.EXPIREDEL", "DBSIZE", "SCAN", "KEYS",
    "RANDOMKEY", "FLUSHDB", "FLUSHALL", "TX", "PING", "NOSUCHCOMMAND", "GETBIT", "SETBIT",
    "BITCOUNT", "BITPOS", "BITOP", "BITFIELD", "BITFIELD_RO", "LCS", "OBJECT",
};
static const char *const raw_words[] = {
    "a", "b", "c", "d", "NX", "XX", "GT", "LT", "GET", "EX", "PX", "EXAT", "PXAT",
    "KEEPTTL", "PERSIST", "REPLACE", "MATCH", "COUNT", "TYPE", "string", "*", "ASYNC",
    "0", "1", "-1", "2", "3", "9223372036854775807", "-9223372036854775808", "1e308",
    "inf", "-inf", "nan", "", "4000000000000", "INCRBY", "OVERFLOW", "WRAP", "SAT", "FAIL",
    "i1", "i8", "u8", "i64", "u63", "u64", "#1", "#-1", "7", "63", "IDX", "LEN",
    "WITHMATCHLEN", "MINMATCHLEN", "AND", "XOR", "NOT", "BIT", "ENCODING", "REFCOUNT",
    "FREQ", "IDLETIME", "HELP",
};

static void raw_cmd(struct in *in, struct cmd *c)
{
    sarg(c, raw_names[next(in) % (sizeof raw_names / sizeof *raw_names)]);
    int n = (int)(next(in) % 8);
    for (int i = 0; i < n; i++) {
        unsigned b = next(in);
        if (b < 200) {
            sarg(c, raw_words[b % (sizeof raw_words / sizeof *raw_words)]);
        } else {
            char v[32];
            size_t len = (b - 200) % 12;
            for (size_t j = 0; j < len; j++)
                v[j] = (char)next(in);
            arg(c, v, len);
        }
    }
}

/* Skips one RESP2 reply at p[*at..len): returns 0, or -1 if it is malformed or cut. */
static int skip_reply(const char *p, size_t len, size_t *at, int depth)
{
    if (*at >= len || depth > 8)
        return -1;
    char type = p[*at];
    const char *nl = memchr(p + *at, '\n', len - *at);
    if (!nl || nl == p + *at || nl[-1] != '\r')
        return -1;
    size_t line_end = (size_t)(nl - p) + 1;
    long long n = 0;
    if (type == '$' || type == '*' || type == ':') {
        char *end;
        n = strtoll(p + *at + 1, &end, 10);
        if (end != nl - 1)
            return -1;
    } else if (type != '+' && type != '-') {
        return -1;
    }
    *at = line_end;
    if (type == '$' && n >= 0) {
        if ((size_t)n + 2 > len - *at || p[*at + (size_t)n] != '\r' ||
            p[*at + (size_t)n + 1] != '\n')
            return -1;
        *at += (size_t)n + 2;
    } else if (type == '*') {
        for (long long i = 0; i < n; i++)
            if (skip_reply(p, len, at, depth + 1) < 0)
                return -1;
    }
    return 0;
}

/* True if buf holds exactly one well-formed reply. */
static int one_reply(const struct record_buf *b)
{
    size_t at = 0;
    return b->len > 0 && skip_reply(b->p, b->len, &at, 0) == 0 && at == b->len;
}

/* ---- the rounds ---- */

static struct store *st;
static struct effects chain[MAXCHAIN];
static int nchain;

/* FUZZ_EXEC_TRACE=1: every modelled command, its reply and each flush, to stderr (to read a
 * crash input's whole history: fuzz_exec crash-...). */
static void trace(const char *what, const struct cmd *c, const struct record_buf *got)
{
    static int on = -1;
    if (on < 0)
        on = getenv("FUZZ_EXEC_TRACE") != NULL;
    if (!on)
        return;
    fprintf(stderr, "%s now %" PRId64, what, now);
    for (int i = 0; c && i < c->argc; i++)
        fprintf(stderr, " '%.*s'", (int)c->lens[i], c->argv[i]);
    if (got)
        fprintf(stderr, " -> %.*s", (int)got->len, got->p ? got->p : "");
    fprintf(stderr, "\n");
}

static void flush_chain(void)
{
    if (!nchain)
        return;
    trace("flush", NULL, NULL);
    FUZZ_CHECK(store_begin(st) == 0);
    for (int i = 0; i < nchain; i++)
        FUZZ_CHECK(exec_apply(st, &chain[i]) == 0);
    FUZZ_CHECK(store_commit(st) == 0);
    for (int i = 0; i < nchain; i++)
        effects_clear(&chain[i]);
    nchain = 0;
}

static void fail_reply(const struct cmd *c, const struct record_buf *got,
                       const struct reply *want)
{
    fprintf(stderr, "now %" PRId64 ", command:", now);
    for (int i = 0; i < c->argc; i++)
        fprintf(stderr, " '%.*s'", (int)c->lens[i], c->argv[i]);
    fprintf(stderr, "\n  got  %.*s\n  want %.*s\n", (int)got->len, got->p ? got->p : "",
            (int)want->len, want->p);
    abort();
}

/* Evaluates c in fx (keeping a copy of the op, as a round does) and returns its reply. */
static void eval(struct effects *fx, const struct cmd *c, struct record_buf *out)
{
    struct op *o = op_new(c->argc, c->argv, c->lens);
    FUZZ_CHECK(o && effects_own(fx, o) == 0);
    struct resp_writer w = { record_buf_sink, out, 2 };
    exec_op(st, fx, o, &w);
}

static void check_final(void)
{
    flush_chain();
    store_use_db(st, 0); /* the model's keys: database 0 */
    int64_t live = 0;
    for (int k = 0; k < NKEYS; k++) {
        struct mkey *m = mlookup(k);
        struct store_row row;
        int found = store_get(st, key_names[k], 1, &row);
        FUZZ_CHECK(found >= 0);
        if (m) {
            live++;
            FUZZ_CHECK(found == 1 && row.vlen == m->len && memcmp(row.v, m->v, m->len) == 0);
            FUZZ_CHECK(row.exp == m->exp);
        } else {
            FUZZ_CHECK(found == 0 || (row.exp && now > row.exp));
        }
    }
    FUZZ_CHECK(store_count_alive(st, now) == live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (!st) {
        st = store_open_memory(err, sizeof err);
        FUZZ_CHECK(st);
    }
    struct in in = { data, size };
    memset(model, 0, sizeof model);
    now = INT64_C(1700000000000);
    nchain = 0;
    FUZZ_CHECK(store_begin(st) == 0 && store_flush_all(st) == 0 && store_commit(st) == 0);

    int steps = 0;
    while (in.n && steps++ < 200) {
        /* A round: the clock moves, 1-4 ops, then maybe applied with those ahead of it. */
        unsigned h = next(&in);
        now += clock_steps[(h & 15) % (sizeof clock_steps / sizeof *clock_steps)];
        if (nchain == MAXCHAIN)
            flush_chain();
        struct effects *fx = &chain[nchain];
        *fx = (struct effects){ .now_ms = now, .under = nchain ? &chain[nchain - 1] : NULL };
        nchain++;
        int nops = 1 + (int)((h >> 4) & 3);
        for (int i = 0; i < nops; i++) {
            unsigned kind = next(&in);
            struct cmd c = { 0 };
            struct reply want = { .len = 0 };
            struct record_buf got = { 0 };
            if (kind < 24) {
                /* A raw op on a throwaway effects over the chain, then as a read on the
                 * committed data: anything goes but a crash, and one reply comes back. */
                raw_cmd(&in, &c);
                struct effects scratch = { .now_ms = now, .under = fx };
                eval(&scratch, &c, &got);
                if (!one_reply(&got)) {
                    struct reply none = { .len = 0 };
                    fail_reply(&c, &got, &none);
                }
                effects_clear(&scratch);
                struct op *o = op_new(c.argc, c.argv, c.lens);
                FUZZ_CHECK(o);
                struct record_buf rd = { 0 };
                struct resp_writer w = { record_buf_sink, &rd, 2 };
                exec_read(st, now, 1, o, &w);
                FUZZ_CHECK(one_reply(&rd));
                op_free(o);
                free(rd.p);
            } else if (kind < 40) {
                /* A TX of 1-3 modelled commands: the array of their replies. */
                int n = 1 + (int)(kind % 3);
                struct cmd sub[3];
                struct reply subr = { .len = 0 };
                sarg(&c, "TX");
                iarg(&c, n);
                for (int j = 0; j < n; j++) {
                    sub[j] = (struct cmd){ 0 };
                    gen(&in, &sub[j], &subr);
                    iarg(&c, sub[j].argc);
                    for (int a = 0; a < sub[j].argc; a++)
                        arg(&c, sub[j].argv[a], sub[j].lens[a]);
                }
                rfmt(&want, "*%lld\r\n", n);
                rput(&want, subr.p, subr.len);
                eval(fx, &c, &got);
                trace("op", &c, &got);
                if (got.len != want.len || memcmp(got.p, want.p, want.len) != 0)
                    fail_reply(&c, &got, &want);
            } else {
                gen(&in, &c, &want);
                eval(fx, &c, &got);
                trace("op", &c, &got);
                if (got.len != want.len || memcmp(got.p, want.p, want.len) != 0)
                    fail_reply(&c, &got, &want);
            }
            free(got.p);
        }
        if (h & 0x40)
            flush_chain();
    }
    check_final();
    return 0;
}
