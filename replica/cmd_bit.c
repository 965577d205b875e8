/* cmd_bit.c -- GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO (see
 * cmd_bit.h).
 *
 * Each follows Redis 7.0's bitops.c step for step, errors and their order included: a bit
 * offset is an integer in [0, 2^32) (512 MB of bits); BITCOUNT's and BITPOS's ranges are
 * byte indexes, or bit indexes with BIT, negative ones counting from the end. BITFIELD's
 * fields are i1..i64 or u1..u63 (a u64 could not be replied as a RESP integer), at a bit
 * offset or at #N (N times the width); its SET and INCRBY overflow as OVERFLOW says:
 * WRAP (modulo 2^bits, the default), SAT (clamped to the type's min or max) or FAIL (not
 * written, a null reply).
 */
#include "cmd_bit.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "effects.h"
#include "op.h"
#include "resp_writer.h"
#include "store.h"
#include "util.h"

#define ERR_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_BIT "ERR bit is not an integer or out of range"
#define ERR_BITPOS_BIT "ERR The bit argument must be 1 or 0."
#define ERR_BF_TYPE                                                                       \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported " \
    "but i64 is."

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
    /* An empty result deletes the target, if there was one (Redis's dbDelete: a missing
     * target is no change, for WATCH and keyspace events alike). */
    struct effects_value old;
    int there = maxlen ? 1 : effects_lookup(s, fx, op->argv[2], op->lens[2], &old);
    if (there < 0)
        return exec_error(w, EXEC_ERR_STORAGE);
    int rc = maxlen ? effects_put(fx, op->argv[2], op->lens[2], res, maxlen, 0)
             : there ? effects_del(fx, op->argv[2], op->lens[2])
                     : 0;
    if (rc < 0)
        return exec_error(w, EXEC_ERR_OOM);
    resp_write_int(w, (int64_t)maxlen);
    return 0;
}

/* ---- BITFIELD, BITFIELD_RO ---- */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { BF_WRAP = CMD_BIT_WRAP, BF_SAT = CMD_BIT_SAT, BF_FAIL = CMD_BIT_FAIL };

/* One parsed subcommand. */
struct bf_sub {
    int opcode, overflow, bits, sign;
    uint64_t offset; /* in bits, the #N form already multiplied */
    int64_t value;   /* SET's value, INCRBY's increment */
};

/* BITFIELD's offset: getBitOffsetFromArgument with #N (N times the width; the product wraps
 * as Redis's does), then the same [0, 2^32) bound as SETBIT's. */
static int bf_offset(const struct op *op, int i, int bits, uint64_t *off)
{
    int hash = op->lens[i] > 0 && op->argv[i][0] == '#';
    int64_t v;
    if (util_parse_i64(op->argv[i] + hash, op->lens[i] - (size_t)hash, &v) < 0)
        return -1;
    if (hash)
        v = (int64_t)((uint64_t)v * (uint64_t)bits);
    if (v < 0 || (v >> 3) >= EXEC_MAX_STRING)
        return -1;
    *off = (uint64_t)v;
    return 0;
}

/* The subcommand at *j (advanced past it), in Redis's order of checks; *overflow carries
 * OVERFLOW's setting to the later ones. Returns 1 with *sub filled, 0 at the end, or -1
 * with *err set to Redis's error. */
static int bf_next(const struct op *op, int *j, int *overflow, struct bf_sub *sub,
                   const char **err)
{
    for (;;) {
        if (*j >= op->argc)
            return 0;
        int left = op->argc - *j - 1;
        const char *name = op->argv[*j];
        if (strcasecmp(name, "get") == 0 && left >= 2)
            sub->opcode = BF_GET;
        else if (strcasecmp(name, "set") == 0 && left >= 3)
            sub->opcode = BF_SET;
        else if (strcasecmp(name, "incrby") == 0 && left >= 3)
            sub->opcode = BF_INCRBY;
        else if (strcasecmp(name, "overflow") == 0 && left >= 1) {
            const char *how = op->argv[*j + 1];
            *j += 2;
            if (strcasecmp(how, "wrap") == 0)
                *overflow = BF_WRAP;
            else if (strcasecmp(how, "sat") == 0)
                *overflow = BF_SAT;
            else if (strcasecmp(how, "fail") == 0)
                *overflow = BF_FAIL;
            else
                return *err = "ERR Invalid OVERFLOW type specified", -1;
            continue;
        } else {
            return *err = EXEC_ERR_SYNTAX, -1;
        }
        break;
    }
    const char *type = op->argv[*j + 1];
    int64_t bits;
    sub->sign = type[0] == 'i';
    if ((type[0] != 'i' && type[0] != 'u') ||
        util_parse_i64(type + 1, op->lens[*j + 1] - 1, &bits) < 0 || bits < 1 ||
        bits > (sub->sign ? 64 : 63))
        return *err = ERR_BF_TYPE, -1;
    sub->bits = (int)bits;
    if (bf_offset(op, *j + 2, sub->bits, &sub->offset) < 0)
        return *err = ERR_OFFSET, -1;
    sub->value = 0;
    if (sub->opcode != BF_GET && exec_arg_i64(op, *j + 3, &sub->value) < 0)
        return *err = EXEC_ERR_NOT_INT, -1;
    sub->overflow = *overflow;
    *j += sub->opcode == BF_GET ? 3 : 4;
    return 1;
}

/* The bits [offset, offset + bits) of p, the first one the most significant. */
static uint64_t bf_get(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int i = 0; i < bits; i++, offset++)
        v = (v << 1) | ((p[offset >> 3] >> (7 - (offset & 7))) & 1);
    return v;
}

static void bf_set(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    for (int i = bits - 1; i >= 0; i--, offset++) {
        unsigned shift = 7 - (unsigned)(offset & 7);
        unsigned bit = (unsigned)(v >> i) & 1;
        p[offset >> 3] = (unsigned char)((p[offset >> 3] & ~(1u << shift)) | (bit << shift));
    }
}

/* The low bits bits of v as a signed integer (two's complement, sign-extended). */
static int64_t bf_signed(uint64_t v, int bits)
{
    if (bits < 64 && (v >> (bits - 1)) & 1)
        v |= UINT64_MAX << bits;
    else if (bits < 64)
        v &= (UINT64_C(1) << bits) - 1;
    return (int64_t)v;
}

int cmd_bit_overflow_unsigned(uint64_t value, int64_t incr, int bits, int how,
                              uint64_t *result)
{
    uint64_t max = (UINT64_C(1) << bits) - 1; /* bits <= 63 */
    int dir = 0;
    if (value > max || (incr > 0 && (uint64_t)incr > max - value))
        dir = 1;
    else if (incr < 0 && (uint64_t)0 - (uint64_t)incr > value)
        dir = -1;
    if (!dir)
        *result = value + (uint64_t)incr;
    else if (how == BF_SAT)
        *result = dir > 0 ? max : 0;
    else /* WRAP (and FAIL, whose result is not used) */
        *result = (value + (uint64_t)incr) & max;
    return dir;
}

int cmd_bit_overflow_signed(int64_t value, int64_t incr, int bits, int how, int64_t *result)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)((UINT64_C(1) << (bits - 1)) - 1);
    int64_t min = -max - 1;
    int dir = 0;
    /* Redis's tests, quirk included: value may be out of range (SET's value, incr 0), and
     * then max - value can wrap, which makes SET i8 0 -9223372036854775808 an overflow
     * upward (SAT stores 127). The differences are taken modulo 2^64, as Redis's are. */
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    if (value > max || (bits != 64 && incr > maxincr) ||
        (value >= 0 && incr > 0 && incr > maxincr))
        dir = 1;
    else if (value < min || (bits != 64 && incr < minincr) ||
             (value < 0 && incr < 0 && incr < minincr))
        dir = -1;
    if (!dir)
        *result = value + incr;
    else if (how == BF_SAT)
        *result = dir > 0 ? max : min;
    else
        *result = bf_signed((uint64_t)value + (uint64_t)incr, bits);
    return dir;
}

/* One SET or INCRBY on p (long enough): writes its reply (the old value for SET, the new
 * one for INCRBY, null when OVERFLOW FAIL refuses it). Returns 1 if the field changed. */
static int bf_write(unsigned char *p, const struct bf_sub *sub, struct resp_writer *w)
{
    uint64_t raw = bf_get(p, sub->offset, sub->bits), next;
    int over;
    int64_t reply;
    if (sub->sign) {
        int64_t old = bf_signed(raw, sub->bits), v;
        if (sub->opcode == BF_INCRBY)
            over = cmd_bit_overflow_signed(old, sub->value, sub->bits, sub->overflow, &v);
        else
            over = cmd_bit_overflow_signed(sub->value, 0, sub->bits, sub->overflow, &v);
        next = (uint64_t)v;
        reply = sub->opcode == BF_INCRBY ? v : old;
    } else {
        uint64_t v;
        if (sub->opcode == BF_INCRBY)
            over = cmd_bit_overflow_unsigned(raw, sub->value, sub->bits, sub->overflow, &v);
        else
            over = cmd_bit_overflow_unsigned((uint64_t)sub->value, 0, sub->bits,
                                             sub->overflow, &v);
        next = v;
        reply = (int64_t)(sub->opcode == BF_INCRBY ? v : raw);
    }
    if (over && sub->overflow == BF_FAIL) {
        resp_write_null(w);
        return 0;
    }
    resp_write_int(w, reply);
    if (sub->bits < 64)
        next &= (UINT64_C(1) << sub->bits) - 1;
    bf_set(p, sub->offset, sub->bits, next);
    return next != raw;
}

/* GET on the value p[0..len): bits past its end read as 0. */
static void bf_read(const unsigned char *p, size_t len, const struct bf_sub *sub,
                    struct resp_writer *w)
{
    unsigned char win[9] = { 0 }; /* a 64-bit field spans at most 9 bytes */
    uint64_t byte = sub->offset >> 3;
    for (size_t i = 0; i < sizeof win && byte + i < len; i++)
        win[i] = p[byte + i];
    uint64_t v = bf_get(win, sub->offset & 7, sub->bits);
    resp_write_int(w, sub->sign ? bf_signed(v, sub->bits) : (int64_t)v);
}

/* BITFIELD and BITFIELD_RO (readonly): every subcommand is parsed before any runs, so an
 * error changes nothing. With a SET or INCRBY the value first grows with zero bytes to the
 * last bit they reach (also when OVERFLOW FAIL then refuses them all, as Redis: the key
 * exists afterwards) and keeps its TTL; it is written only when it grew or a field
 * changed. Replies an array with one element per GET, SET and INCRBY. */
static int bitfield(struct store *s, struct effects *fx, const struct op *op,
                    struct resp_writer *w, int readonly)
{
    struct bf_sub sub;
    const char *err = NULL;
    int j = 2, overflow = BF_WRAP, rc, writes = 0;
    size_t nsubs = 0;
    uint64_t need = 0; /* bytes the writes reach */
    while ((rc = bf_next(op, &j, &overflow, &sub, &err)) == 1) {
        nsubs++;
        if (sub.opcode != BF_GET) {
            writes = 1;
            if ((sub.offset + (uint64_t)sub.bits - 1) / 8 + 1 > need)
                need = (sub.offset + (uint64_t)sub.bits - 1) / 8 + 1;
        }
    }
    if (rc < 0)
        return exec_error(w, err);
    if (writes && readonly)
        return exec_error(w, "ERR BITFIELD_RO only supports the GET subcommand");
    struct effects_value v = { .p = "" };
    int found = exec_lookup_type(s, fx, op, 1, STORE_STRING, &v);
    if (found < 0)
        return exec_lookup_error(w, found);
    unsigned char *buf = NULL;
    size_t len = found ? v.len : 0, n = len, mark = fx->n;
    if (writes) {
        /* Recorded before the reply starts, while an error can still be the whole reply;
         * the record points at buf, which the subcommands then change in place. */
        n = need > len ? (size_t)need : len;
        if (!(buf = (unsigned char *)effects_alloc(fx, n)))
            return exec_error(w, EXEC_ERR_OOM);
        memcpy(buf, v.p, len);
        memset(buf + len, 0, n - len);
        if (effects_put(fx, op->argv[1], op->lens[1], (char *)buf, n, found ? v.exp : 0) < 0)
            return exec_error(w, EXEC_ERR_OOM);
    }
    resp_write_array(w, nsubs);
    int changed = !found || n > len;
    j = 2, overflow = BF_WRAP;
    while (bf_next(op, &j, &overflow, &sub, &err) == 1) {
        if (sub.opcode == BF_GET)
            bf_read(buf ? buf : (const unsigned char *)v.p, n, &sub, w);
        else
            changed |= bf_write(buf, &sub, w);
    }
    if (writes && !changed)
        effects_truncate(fx, mark); /* as Redis: the key is not modified (WATCH) */
    return 0;
}

static int bit_bitfield(struct store *s, struct effects *fx, const struct op *op,
                        struct resp_writer *w)
{
    return bitfield(s, fx, op, w, 0);
}

static int bit_bitfield_ro(struct store *s, struct effects *fx, const struct op *op,
                           struct resp_writer *w)
{
    return bitfield(s, fx, op, w, 1);
}

const struct exec_cmd cmd_bit_table[] = {
    { "bitop", -4, 0, bit_bitop },
    { "getbit", 3, EXEC_READ, bit_getbit },
    { "setbit", 4, 0, bit_setbit },
    { "bitcount", -2, EXEC_READ, bit_bitcount },
    { "bitpos", -3, EXEC_READ, bit_bitpos },
    { "bitfield", -2, EXEC_READ_IF_NO_WRITE, bit_bitfield },
    { "bitfield_ro", -2, EXEC_READ, bit_bitfield_ro },
};
const size_t cmd_bit_count = sizeof cmd_bit_table / sizeof cmd_bit_table[0];
