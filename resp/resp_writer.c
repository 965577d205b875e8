/* resp_writer.c -- encodes Redis replies in RESP2 or RESP3.
 *
 * Each resp_write_* call formats one reply element and passes the bytes to the writer's
 * sink, usually in a single call: headers are formatted on the stack, and a short bulk
 * string is joined to its header and trailer so that a typical reply costs one append.
 * w->proto selects the dialect: 3 gives RESP3's null, map, double and verbatim types;
 * anything else gives the RESP2 encoding Redis 7.0 uses for the same reply. Nothing here
 * allocates memory or keeps state between calls.
 */
#include "resp_writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Bulk strings up to this size are copied next to their header into one stack buffer,
 * so the sink sees one append; longer ones go out as header, payload and trailer. */
#define RESP_WRITER_JOIN_MAX 512

/* Room for any header: a type byte, a 20-digit number, CRLF and NUL. */
#define RESP_WRITER_HDR_MAX 32

static int sink(struct resp_writer *w, const void *data, size_t len)
{
    return w->write(w->sink, data, len) == 0 ? 0 : -1;
}

/* Writes "<type><n>\r\n" into out (RESP_WRITER_HDR_MAX bytes); returns its length. Every
 * reply has one or more of these, so no snprintf here. */
static size_t format_header(char *out, char type, uint64_t n, int negative)
{
    char digits[20];
    size_t nd = 0, len = 0;

    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    out[len++] = type;
    if (negative)
        out[len++] = '-';
    while (nd > 0)
        out[len++] = digits[--nd];
    out[len++] = '\r';
    out[len++] = '\n';
    return len;
}

/* "<type><n>\r\n" for a non-negative count or length. */
static int write_header(struct resp_writer *w, char type, size_t n)
{
    char hdr[RESP_WRITER_HDR_MAX];

    return sink(w, hdr, format_header(hdr, type, n, 0));
}

/* "<type>s\r\n" with every CR and LF of s replaced by a space, so that an echoed
 * argument cannot end the line early. Goes out in chunks of a stack buffer. */
static int write_line(struct resp_writer *w, char type, const char *s)
{
    char buf[256];
    size_t n = 0;

    buf[n++] = type;
    for (; *s != '\0'; s++) {
        buf[n++] = (*s == '\r' || *s == '\n') ? ' ' : *s;
        if (n < sizeof(buf))
            continue;
        if (sink(w, buf, n) < 0)
            return -1;
        n = 0;
    }
    if (n + 2 > sizeof(buf)) {
        if (sink(w, buf, n) < 0)
            return -1;
        n = 0;
    }
    memcpy(buf + n, "\r\n", 2);
    return sink(w, buf, n + 2);
}

/* "$len\r\n" prefix "payload\r\n", where prefix (plen bytes, maybe 0) counts in len.
 * Used for bulk strings and, with "txt:" and type '=', for RESP3 verbatim strings. */
static int write_payload(struct resp_writer *w, char type, const char *prefix, size_t plen,
                         const void *p, size_t len)
{
    char buf[RESP_WRITER_HDR_MAX + 8 + RESP_WRITER_JOIN_MAX];
    size_t h = format_header(buf, type, plen + len, 0);

    memcpy(buf + h, prefix, plen);
    h += plen;
    if (len <= RESP_WRITER_JOIN_MAX) {
        if (len > 0)
            memcpy(buf + h, p, len);
        memcpy(buf + h + len, "\r\n", 2);
        return sink(w, buf, h + len + 2);
    }
    if (sink(w, buf, h) < 0 || sink(w, p, len) < 0)
        return -1;
    return sink(w, "\r\n", 2);
}

int resp_write_simple(struct resp_writer *w, const char *s)
{
    return write_line(w, '+', s);
}

int resp_write_error(struct resp_writer *w, const char *s)
{
    return write_line(w, '-', s);
}

int resp_write_int(struct resp_writer *w, int64_t v)
{
    char buf[RESP_WRITER_HDR_MAX];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */

    return sink(w, buf, format_header(buf, ':', mag, v < 0));
}

int resp_write_bulk(struct resp_writer *w, const void *p, size_t len)
{
    return write_payload(w, '$', "", 0, p, len);
}

int resp_write_cstr(struct resp_writer *w, const char *s)
{
    return write_payload(w, '$', "", 0, s, strlen(s));
}

int resp_write_null(struct resp_writer *w)
{
    if (w->proto == 3)
        return sink(w, "_\r\n", 3);
    return sink(w, "$-1\r\n", 5);
}

int resp_write_null_array(struct resp_writer *w)
{
    if (w->proto == 3)
        return sink(w, "_\r\n", 3);
    return sink(w, "*-1\r\n", 5);
}

int resp_write_array(struct resp_writer *w, size_t n)
{
    return write_header(w, '*', n);
}

int resp_write_map(struct resp_writer *w, size_t n)
{
    if (w->proto == 3)
        return write_header(w, '%', n);
    return write_header(w, '*', n * 2);
}

/* Redis's addReplyPushLen: an out-of-band message (pub/sub) is a push in RESP3, an array
 * in RESP2. */
int resp_write_push(struct resp_writer *w, size_t n)
{
    return write_header(w, w->proto == 3 ? '>' : '*', n);
}

/* As Redis's addReplyDouble: %.17g, with infinities spelled "inf" and "-inf" explicitly
 * (libc spellings vary) and NaN as "nan" (glibc would print "-nan" for some NaNs, and
 * Redis 7.2 spells it "nan" too). RESP2 sends the same text as a bulk string. */
int resp_write_double(struct resp_writer *w, double v)
{
    char num[64];
    int n;

    if (isinf(v))
        n = snprintf(num, sizeof(num), "%s", v > 0 ? "inf" : "-inf");
    else if (isnan(v))
        n = snprintf(num, sizeof(num), "nan");
    else
        n = snprintf(num, sizeof(num), "%.17g", v);
    if (w->proto != 3)
        return write_payload(w, '$', "", 0, num, (size_t)n);
    memmove(num + 1, num, (size_t)n);
    num[0] = ',';
    memcpy(num + n + 1, "\r\n", 2);
    return sink(w, num, (size_t)n + 3);
}

int resp_write_verbatim(struct resp_writer *w, const char *p, size_t len)
{
    if (w->proto == 3)
        return write_payload(w, '=', "txt:", 4, p, len);
    return write_payload(w, '$', "", 0, p, len);
}

/* ---- reading back what was written ---- */

/* Parses the decimal at p[*at] up to "\r\n" (an optional '-', at most 19 digits, so any
 * int64 fits); advances *at past the CRLF. *v is the value for lengths and counts: -1 for
 * "-1", -2 for any other negative number. Returns 0, or -1. */
static int read_number(const char *p, size_t len, size_t *at, long long *v)
{
    size_t i = *at;
    int neg = i < len && p[i] == '-';
    unsigned long long n = 0;
    size_t digits = 0;

    i += (size_t)neg;
    for (; i < len && p[i] >= '0' && p[i] <= '9' && digits < 19; i++, digits++)
        n = n * 10 + (unsigned long long)(p[i] - '0');
    if (digits == 0 || i + 1 >= len || p[i] != '\r' || p[i + 1] != '\n' ||
        (!neg && n > (unsigned long long)INT64_MAX))
        return -1;
    *v = !neg ? (long long)n : n == 1 ? -1 : -2;
    *at = i + 2;
    return 0;
}

static long reply_len(const char *p, size_t len, int depth)
{
    size_t at = 1;
    long long n;

    if (len == 0 || depth > 32)
        return -1;
    switch (p[0]) {
    case '+':
    case '-':
        for (; at + 1 < len; at++)
            if (p[at] == '\r' && p[at + 1] == '\n')
                return (long)(at + 2);
        return -1;
    case ':':
        return read_number(p, len, &at, &n) < 0 ? -1 : (long)at;
    case '$':
        if (read_number(p, len, &at, &n) < 0 || n < -1)
            return -1;
        if (n == -1)
            return (long)at;
        if ((unsigned long long)n + 2 > len - at || p[at + (size_t)n] != '\r' ||
            p[at + (size_t)n + 1] != '\n')
            return -1;
        return (long)(at + (size_t)n + 2);
    case '*':
        if (read_number(p, len, &at, &n) < 0 || n < -1)
            return -1;
        for (long long i = 0; i < n; i++) {
            long e = reply_len(p + at, len - at, depth + 1);
            if (e < 0)
                return -1;
            at += (size_t)e;
        }
        return (long)at;
    default:
        return -1;
    }
}

long resp_reply_len(const char *p, size_t len)
{
    return reply_len(p, len, 0);
}
