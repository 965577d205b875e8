/* cmd_bit.c -- GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP (see cmd_bit.h).
 *
 * Each follows Redis 7.0's bitops.c step for step, errors and their order included: a bit
 * offset is an integer in [0, 2^32) (512 MB of bits); BITCOUNT's and BITPOS's ranges are
 * byte indexes, or bit indexes with BIT, negative ones counting from the end.
 */
#include "cmd_bit.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "effects.h"
#include "op.h"
#include "resp_writer.h"
#include "store.h"

#define ERR_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT "ERR bit is not an integer or out of range"
#define ERR_BITPOS_BIT "ERR The bit argument must be 1 or 0."

/* Redis's getBitOffsetFromArgument without the #N form: [0, 8 * 512 MB). */
static int bit_offset(const struct op *op, int i, uint64_t *off)
{
    int64_t v;
    if (exec_arg_i64(op, i, &v) < 0 || v < 0 || (v >> 3) >= EXEC_MAX_STRING)
        return -1;
    *off = (uint64_t)v;
    return 0;
}

static int bit_getbit(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    uint64_t off;
    if (bit_offset(op, 2, &off) < 0)
        return exec_error(w, ERR_OFFSET);
    struct effects_value v;
    int found = exec_lookup_type(s, fx, op, 1, STORE_STRING, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    uint64_t byte = off >> 3;
    int bit = found && byte < v.len ? (((const unsigned char *)v.p)[byte] >> (7 - (off & 7))) & 1
                                    : 0;
    resp_write_int(w, bit);
    return 0;
}

/* SETBIT key offset 0|1: the old bit. The value is written only when it grows or the bit
 * changes, as Redis signals a modified key only then (WATCH sees the same). */
static int bit_setbit(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    uint64_t off;
    int64_t on;
    if (bit_offset(op, 2, &off) < 0)
        return exec_error(w, ERR_OFFSET);
    if (exec_arg_i64(op, 3, &on) < 0 || (on & ~1))
        return exec_error(w, ERR_BIT);
    struct effects_value v = { "", 0, 0, 0, 0 };
    int found = exec_lookup_type(s, fx, op, 1, STORE_STRING, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    size_t byte = (size_t)(off >> 3), len = found ? v.len : 0;
    int shift = 7 - (int)(off & 7);
    int old = byte < len ? (((const unsigned char *)v.p)[byte] >> shift) & 1 : 0;
    if (!found || byte >= len || old != on) {
        size_t n = byte >= len ? byte + 1 : len;
        char *buf = effects_alloc(fx, n);
        if (!buf)
            return exec_error(w, EXEC_ERR_OOM);
        memcpy(buf, v.p, len);
        memset(buf + len, 0, n - len);
        unsigned char b = (unsigned char)buf[byte];
        b = (unsigned char)((b & ~(1u << shift)) | ((unsigned)on << shift));
        buf[byte] = (char)b;
        if (effects_put(fx, op->argv[1], op->lens[1], buf, n, found ? v.exp : 0) < 0)
            return exec_error(w, EXEC_ERR_OOM);
    }
    resp_write_int(w, old);
    return 0;
}

static long long popcount(const unsigned char *p, size_t n)
{
    long long bits = 0;
    for (size_t i = 0; i < n; i++)
        bits += __builtin_popcount(p[i]);
    return bits;
}

/* The range arguments of BITCOUNT (from index 2) and BITPOS (from 3), Redis's conversion:
 * negative indexes from the end, clamped; with BIT, the masks of the first and last byte's
 * bits outside the range, and start/end turned into byte indexes. */
struct bit_range {
    long long start, end;
    unsigned char first_mask, last_mask; /* bits to ignore in p[start] / p[end] */
    int isbit, end_given;
};

static void clamp_range(struct bit_range *r, long long totlen)
{
    if (r->isbit)
        totlen <<= 3;
    if (r->start < 0)
        r->start = totlen + r->start;
    if (r->end < 0)
        r->end = totlen + r->end;
    if (r->start < 0)
        r->start = 0;
    if (r->end < 0)
        r->end = 0;
    if (r->end >= totlen)
        r->end = totlen - 1;
    if (r->isbit && r->start <= r->end) {
        r->first_mask = (unsigned char)(~((1u << (8 - (r->start & 7))) - 1) & 0xFF);
        r->last_mask = (unsigned char)((1u << (7 - (r->end & 7))) - 1);
        r->start >>= 3;
        r->end >>= 3;
    }
}

/* BYTE or BIT at index i: 0, or -1 (a syntax error). */
static int range_unit(const struct op *op, int i, struct bit_range *r)
{
    if (strcasecmp(op->argv[i], "bit") == 0)
        r->isbit = 1;
    else if (strcasecmp(op->argv[i], "byte") == 0)
        r->isbit = 0;
    else
        return -1;
    return 0;
}

static int bit_bitcount(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    struct effects_value v;
    int found = exec_lookup_type(s, fx, op, 1, STORE_STRING, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (!found) { /* as Redis: 0 for a missing key, before the arguments are looked at */
        resp_write_int(w, 0);
        return 0;
    }
    struct bit_range r = { 0 };
    const unsigned char *p = (const unsigned char *)v.p;
    long long len = (long long)v.len;
    if (op->argc == 4 || op->argc == 5) {
        int64_t a, b;
        if (exec_arg_i64(op, 2, &a) < 0 || exec_arg_i64(op, 3, &b) < 0)
            return exec_error(w, EXEC_ERR_NOT_INT);
        r.start = a, r.end = b;
        if (r.start < 0 && r.end < 0 && r.start > r.end) { /* before the unit, as Redis */
            resp_write_int(w, 0);
            return 0;
        }
        if (op->argc == 5 && range_unit(op, 4, &r) < 0)
            return exec_error(w, EXEC_ERR_SYNTAX);
        clamp_range(&r, len);
    } else if (op->argc == 2) {
        r.start = 0, r.end = len - 1;
    } else {
        return exec_error(w, EXEC_ERR_SYNTAX);
    }
    if (r.start > r.end) {
        resp_write_int(w, 0);
        return 0;
    }
    long long count = popcount(p + r.start, (size_t)(r.end - r.start + 1));
    if (r.first_mask)
        count -= __builtin_popcount(p[r.start] & r.first_mask);
    if (r.last_mask)
        count -= __builtin_popcount(p[r.end] & r.last_mask);
    resp_write_int(w, count);
    return 0;
}

/* Redis's redisBitpos: the first bit equal to bit in p[0..n), counting from p's first bit;
 * for 0 in bytes that are all 1, n * 8 (the zero padding to the right); for 1, -1. */
static long long first_bit(const unsigned char *p, size_t n, int bit)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = bit ? p[i] : (unsigned char)~p[i];
        if (c)
            return (long long)i * 8 + __builtin_clz((unsigned)c) - 24;
    }
    return bit ? -1 : (long long)n * 8;
}

static int bit_bitpos(struct store *s, struct effects *fx, const struct op *op,
                      struct resp_writer *w)
{
    int64_t bit;
    if (exec_arg_i64(op, 2, &bit) < 0)
        return exec_error(w, EXEC_ERR_NOT_INT);
    if (bit != 0 && bit != 1)
        return exec_error(w, ERR_BITPOS_BIT);
    struct effects_value v;
    int found = exec_lookup_type(s, fx, op, 1, STORE_STRING, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    if (!found) { /* an infinite run of 0 bits */
        resp_write_int(w, bit ? -1 : 0);
        return 0;
    }
    const unsigned char *p = (const unsigned char *)v.p;
    long long len = (long long)v.len;
    struct bit_range r = { 0 };
    if (op->argc >= 4 && op->argc <= 6) {
        int64_t a, b;
        if (exec_arg_i64(op, 3, &a) < 0)
            return exec_error(w, EXEC_ERR_NOT_INT);
        r.start = a;
        if (op->argc == 6 && range_unit(op, 5, &r) < 0)
            return exec_error(w, EXEC_ERR_SYNTAX);
        if (op->argc >= 5) {
            if (exec_arg_i64(op, 4, &b) < 0)
                return exec_error(w, EXEC_ERR_NOT_INT);
            r.end = b;
            r.end_given = 1;
        } else {
            r.end = r.isbit ? (len << 3) + 7 : len - 1;
        }
        clamp_range(&r, len);
    } else if (op->argc == 3) {
        r.start = 0, r.end = len - 1;
    } else {
        return exec_error(w, EXEC_ERR_SYNTAX);
    }
    if (r.start > r.end) { /* an empty range holds neither a 0 nor a 1 */
        resp_write_int(w, -1);
        return 0;
    }
    long long start = r.start, bytes = r.end - r.start + 1, pos;
    unsigned char c;
    if (r.first_mask) {
        c = bit ? (unsigned char)(p[start] & ~r.first_mask) : (unsigned char)(p[start] | r.first_mask);
        if (r.last_mask && bytes == 1)
            c = bit ? (unsigned char)(c & ~r.last_mask) : (unsigned char)(c | r.last_mask);
        pos = first_bit(&c, 1, (int)bit);
        if (bytes == 1 || (pos != -1 && pos != 8))
            goto result;
        start++;
        bytes--;
    }
    long long cur = bytes - (r.last_mask ? 1 : 0);
    if (cur > 0) {
        pos = first_bit(p + start, (size_t)cur, (int)bit);
        if (bytes == cur || (pos != -1 && pos != cur << 3))
            goto result;
        start += cur;
        bytes -= cur;
    }
    c = bit ? (unsigned char)(p[r.end] & ~r.last_mask) : (unsigned char)(p[r.end] | r.last_mask);
    pos = first_bit(&c, 1, (int)bit);
result:
    /* Looking for 0 in an explicit range: the padding to its right is not in it. */
    if (r.end_given && bit == 0 && pos == bytes << 3) {
        resp_write_int(w, -1);
        return 0;
    }
    if (pos != -1)
        pos += start << 3;
    resp_write_int(w, pos);
    return 0;
}

/* BITOP AND|OR|XOR|NOT destkey srckey...: the result, as long as the longest source (the
 * shorter ones padded with zero bytes), replaces destkey without a TTL; an empty result
 * deletes it. Replies the result's length. */
static int bit_bitop(struct store *s, struct effects *fx, const struct op *op,
                     struct resp_writer *w)
{
    enum { AND, OR, XOR, NOT } kind;
    const char *name = op->argv[1];
    if (strcasecmp(name, "and") == 0)
        kind = AND;
    else if (strcasecmp(name, "or") == 0)
        kind = OR;
    else if (strcasecmp(name, "xor") == 0)
        kind = XOR;
    else if (strcasecmp(name, "not") == 0)
        kind = NOT;
    else
        return exec_error(w, EXEC_ERR_SYNTAX);
    if (kind == NOT && op->argc != 4)
        return exec_error(w, "ERR BITOP NOT must be called with a single source key.");
    int n = op->argc - 3;
    /* Two passes: the result's length, then the bytes. A value from the store is valid only
     * until the next store read (effects.h), so each pass looks each source up again. */
    size_t maxlen = 0;
    struct effects_value v;
    for (int j = 0; j < n; j++) {
        int found = exec_lookup_type(s, fx, op, 3 + j, STORE_STRING, &v);
        if (found < 0)
            return exec_lookup_error(w, found);
        if (found && v.len > maxlen)
            maxlen = v.len;
    }
    char *res = maxlen ? effects_alloc(fx, maxlen) : NULL;
    if (maxlen && !res)
        return exec_error(w, EXEC_ERR_OOM);
    for (int j = 0; j < n && maxlen; j++) {
        int found = exec_lookup_type(s, fx, op, 3 + j, STORE_STRING, &v);
        if (found < 0)
            return exec_lookup_error(w, found);
        size_t len = found ? v.len : 0; /* shorter sources: zero bytes past their end */
        for (size_t i = 0; i < maxlen; i++) {
            unsigned char a = (unsigned char)res[i];
            unsigned char b = i < len ? ((const unsigned char *)v.p)[i] : 0;
            res[i] = (char)(j == 0 ? (kind == NOT ? (unsigned char)~b : b)
                            : kind == AND ? (a & b) : kind == OR ? (a | b) : (a ^ b));
        }
    }
    int rc = maxlen ? effects_put(fx, op->argv[2], op->lens[2], res, maxlen, 0)
                    : effects_del(fx, op->argv[2], op->lens[2]);
    if (rc < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, (int64_t)maxlen);
    return 0;
}

const struct exec_cmd cmd_bit_table[] = {
    { "bitop", -4, 0, bit_bitop },
    { "getbit", 3, EXEC_READ, bit_getbit },
    { "setbit", 4, 0, bit_setbit },
    { "bitcount", -2, EXEC_READ, bit_bitcount },
    { "bitpos", -3, EXEC_READ, bit_bitpos },
};
const size_t cmd_bit_count = sizeof cmd_bit_table / sizeof cmd_bit_table[0];
