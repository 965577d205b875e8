/* reencode.c -- RESP reply bytes re-encoded for a client's protocol (see reencode.h).
 *
 * A reply element is a header line ("$5", "*3", "+OK"...) followed, for bulk types, by a
 * payload and, for aggregate types, by its elements. reencode_span() walks one element
 * without writing; reencode_copy() checks the span first (so it never writes half an
 * element) and then copies it, header by header, changing only what RESP3 spells
 * differently.
 */
#include "reencode.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    enum reencode_shape shape;
} shapes[] = {
    { "hgetall", REENCODE_MAP },   { "smembers", REENCODE_SET },
    { "sinter", REENCODE_SET },    { "sunion", REENCODE_SET },
    { "sdiff", REENCODE_SET },     { "zscore", REENCODE_DOUBLE },
    { "zincrby", REENCODE_DOUBLE }, { "zmscore", REENCODE_DOUBLE },
    { "lcs", REENCODE_MAP }, /* with IDX: matches, len (its other replies are no arrays) */
    { "zadd", REENCODE_DOUBLE },    { "zpopmin", REENCODE_SCORES },
    { "zpopmax", REENCODE_SCORES }, { "zmpop", REENCODE_KEY_SCORES },
    { "bzmpop", REENCODE_KEY_SCORES }, { "bzpopmin", REENCODE_KEY_MEMBER_SCORE },
    { "bzpopmax", REENCODE_KEY_MEMBER_SCORE },
};

static int arg_is(const char *a, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(a, name, len) == 0;
}

/* Sorted-set replies whose RESP3 shape depends on the arguments: WITHSCORES anywhere after
 * the key gives [member, double] pairs, as does ZPOPMIN/ZPOPMAX with a count. */
static int score_pairs(int argc, char *const *argv, const size_t *lens)
{
    static const char *const ranges[] = { "zrange", "zrevrange", "zrangebyscore",
                                          "zrevrangebyscore", "zrandmember", "zunion",
                                          "zinter", "zdiff" };
    if (argc == 3 && (arg_is(argv[0], lens[0], "zpopmin") ||
                      arg_is(argv[0], lens[0], "zpopmax")))
        return 1;
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (arg_is(argv[0], lens[0], ranges[i]))
            for (int j = 2; j < argc; j++)
                if (arg_is(argv[j], lens[j], "withscores"))
                    return 1;
    return 0;
}

enum reencode_shape reencode_shape_of(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (strlen(shapes[i].name) == len && strncasecmp(shapes[i].name, name, len) == 0)
            return shapes[i].shape;
    return REENCODE_PLAIN;
}

enum reencode_shape reencode_shape_of_request(int argc, char *const *argv, const size_t *lens)
{
    if (argc == 4 && lens[0] == 10 && strncasecmp(argv[0], "hrandfield", 10) == 0 &&
        lens[3] == 10 && strncasecmp(argv[3], "withvalues", 10) == 0)
        return REENCODE_PAIRS;
    if (argc > 0 && score_pairs(argc, argv, lens))
        return REENCODE_SCORE_PAIRS;
    if (argc == 3 && lens[0] == 4 && strncasecmp(argv[0], "spop", 4) == 0)
        return REENCODE_SET; /* SPOP key count: Redis 7's addReplySetLen */
    return argc > 0 ? reencode_shape_of(argv[0], lens[0]) : REENCODE_PLAIN;
}

/* The header line at p: its length including CRLF (0 if incomplete) and its number. */
static size_t header(const char *p, size_t len, long long *num)
{
    const char *cr = len > 1 ? memchr(p + 1, '\r', len - 1) : NULL;
    if (!cr || (size_t)(cr - p) + 2 > len || cr[1] != '\n')
        return 0;
    *num = strtoll(p + 1, NULL, 10);
    return (size_t)(cr - p) + 2;
}

static int is_aggregate(char t) { return strchr("*~>%|", t) != NULL; }
static int is_blob(char t) { return strchr("$=!", t) != NULL; }

size_t reencode_span(const char *p, size_t len)
{
    long long n;
    if (len == 0 || !strchr("+-:_,#($=!*~>%|", p[0]))
        return 0;
    size_t h = header(p, len, &n);
    if (h == 0)
        return 0;
    if (is_blob(p[0]) && n >= 0)
        return len >= h + (size_t)n + 2 ? h + (size_t)n + 2 : 0;
    if (!is_aggregate(p[0]) || n <= 0)
        return h;
    if (p[0] == '%' || p[0] == '|')
        n *= 2;
    size_t off = h;
    for (long long i = 0; i < n; i++) {
        size_t e = reencode_span(p + off, len - off);
        if (e == 0)
            return 0;
        off += e;
    }
    return off;
}

static void copy_elem(const char *p, size_t span, struct resp_writer *w,
                      enum reencode_shape shape, int top);

static void copy_bulk(const char *p, size_t span, struct resp_writer *w, enum reencode_shape shape)
{
    long long n;
    size_t h = header(p, span, &n);
    if (n < 0) {
        resp_write_null(w);
    } else if (shape == REENCODE_DOUBLE && w->proto >= 3) {
        w->write(w->sink, ",", 1);
        w->write(w->sink, p + h, (size_t)n + 2);
    } else {
        w->write(w->sink, p, span);
    }
}

static void copy_array(const char *p, size_t span, struct resp_writer *w,
                       enum reencode_shape shape, int top)
{
    long long n;
    size_t h = header(p, span, &n);
    if (n < 0) {
        resp_write_null_array(w);
        return;
    }
    enum reencode_shape inner = REENCODE_PLAIN;
    if (top && w->proto >= 3 && shape == REENCODE_MAP && n % 2 == 0) {
        resp_write_map(w, (size_t)n / 2);
    } else if (top && w->proto >= 3 &&
               (shape == REENCODE_PAIRS || shape == REENCODE_SCORE_PAIRS) && n % 2 == 0) {
        resp_write_array(w, (size_t)n / 2);
        size_t off = h;
        for (long long i = 0; i < n; i++) {
            if (i % 2 == 0)
                resp_write_array(w, 2);
            size_t e = reencode_span(p + off, span - off);
            copy_elem(p + off, e, w,
                      i % 2 && shape == REENCODE_SCORE_PAIRS ? REENCODE_DOUBLE
                                                             : REENCODE_PLAIN, 0);
            off += e;
        }
        return;
    } else if (top && w->proto >= 3 && shape == REENCODE_KEY_SCORES && n == 2) {
        w->write(w->sink, p, h);
        size_t off = h, e = reencode_span(p + off, span - off);
        copy_elem(p + off, e, w, REENCODE_PLAIN, 0); /* the key */
        off += e;
        long long pairs;
        size_t ph = header(p + off, span - off, &pairs);
        if (p[off] != '*' || pairs < 0) {
            copy_elem(p + off, reencode_span(p + off, span - off), w, REENCODE_PLAIN, 0);
            return;
        }
        w->write(w->sink, p + off, ph);
        off += ph;
        for (long long i = 0; i < pairs; i++) {
            e = reencode_span(p + off, span - off);
            copy_elem(p + off, e, w, REENCODE_SCORES, 1); /* [member, score] */
            off += e;
        }
        return;
    } else if (top && w->proto >= 3 && ((shape == REENCODE_SCORES && n % 2 == 0) ||
                                        (shape == REENCODE_KEY_MEMBER_SCORE && n == 3))) {
        w->write(w->sink, p, h);
        size_t off = h;
        for (long long i = 0; i < n; i++) {
            size_t e = reencode_span(p + off, span - off);
            int dbl = shape == REENCODE_SCORES ? i % 2 : i == 2;
            copy_elem(p + off, e, w, dbl ? REENCODE_DOUBLE : REENCODE_PLAIN, 0);
            off += e;
        }
        return;
    } else if (top && w->proto >= 3 && shape == REENCODE_SET) {
        char hdr[32];
        int len = snprintf(hdr, sizeof hdr, "~%lld\r\n", n);
        w->write(w->sink, hdr, (size_t)len);
    } else {
        w->write(w->sink, p, h);
        inner = top && shape == REENCODE_DOUBLE ? REENCODE_DOUBLE : REENCODE_PLAIN;
    }
    size_t off = h;
    for (long long i = 0; i < n; i++) {
        size_t e = reencode_span(p + off, span - off);
        copy_elem(p + off, e, w, inner, 0);
        off += e;
    }
}

static void copy_elem(const char *p, size_t span, struct resp_writer *w,
                      enum reencode_shape shape, int top)
{
    if (p[0] == '$')
        copy_bulk(p, span, w, shape);
    else if (p[0] == '*')
        copy_array(p, span, w, shape, top);
    else if (is_aggregate(p[0]))
        w->write(w->sink, p, span); /* already RESP3: leave it */
    else
        w->write(w->sink, p, span);
}

size_t reencode_copy(const char *p, size_t len, struct resp_writer *w, enum reencode_shape shape)
{
    size_t span = reencode_span(p, len);
    if (span > 0)
        copy_elem(p, span, w, shape, 1);
    return span;
}
