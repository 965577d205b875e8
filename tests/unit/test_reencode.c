/* test_reencode.c -- unit tests of server/reencode.c: RESP2 replies re-encoded for RESP3.
 *
 * Each case feeds reply bytes, as the round engine and the replicas produce them, through
 * reencode_copy() into a writer whose sink is a memory buffer, and compares the bytes
 * with what Redis 7 sends a RESP3 (or RESP2) client for the same reply. Incomplete input
 * must be refused without writing anything, at every split point.
 *
 * Run: test_reencode [case]   (no argument: every case)
 */
#include "check_common.h"
#include "reencode.h"

#include <stdlib.h>
#include <string.h>

struct buf {
    char data[4096];
    size_t len;
};

/* The seam: a resp_writer sink that appends to a struct buf. */
static int buf_sink(void *sink, const void *data, size_t len)
{
    struct buf *b = sink;
    CHECK(b->len + len <= sizeof b->data);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

/* Copies in (one complete element) for proto with shape; checks all of in was used and
 * the output is want. */
static void expect(int proto, enum reencode_shape shape, const char *in, const char *want)
{
    struct buf b = { .len = 0 };
    struct resp_writer w = { buf_sink, &b, proto };
    size_t used = reencode_copy(in, strlen(in), &w, shape);
    if (used != strlen(in) || b.len != strlen(want) || memcmp(b.data, want, b.len) != 0) {
        b.data[b.len < sizeof b.data ? b.len : sizeof b.data - 1] = 0;
        check_fail(__FILE__, __LINE__, "proto %d shape %d: \"%s\" -> \"%s\" (used %zu), "
                   "want \"%s\"", proto, (int)shape, in, b.data, used, want);
    }
}

static void test_shape_of(void)
{
    CHECK_INT_EQ(reencode_shape_of("hgetall", 7), REENCODE_MAP);
    CHECK_INT_EQ(reencode_shape_of("HGetAll", 7), REENCODE_MAP);
    CHECK_INT_EQ(reencode_shape_of("smembers", 8), REENCODE_SET);
    CHECK_INT_EQ(reencode_shape_of("zscore", 6), REENCODE_DOUBLE);
    CHECK_INT_EQ(reencode_shape_of("get", 3), REENCODE_PLAIN);
    CHECK_INT_EQ(reencode_shape_of("hgetallx", 8), REENCODE_PLAIN);
    CHECK_INT_EQ(reencode_shape_of("hgetall", 6), REENCODE_PLAIN); /* a prefix is no match */
}

static void test_nulls(void)
{
    expect(3, REENCODE_PLAIN, "$-1\r\n", "_\r\n");
    expect(3, REENCODE_PLAIN, "*-1\r\n", "_\r\n");
    expect(3, REENCODE_PLAIN, "*3\r\n$1\r\na\r\n$-1\r\n*-1\r\n", "*3\r\n$1\r\na\r\n_\r\n_\r\n");
    expect(2, REENCODE_PLAIN, "$-1\r\n", "$-1\r\n");
    expect(2, REENCODE_PLAIN, "*-1\r\n", "*-1\r\n");
    expect(2, REENCODE_PLAIN, "*2\r\n$-1\r\n$1\r\nb\r\n", "*2\r\n$-1\r\n$1\r\nb\r\n");
}

static void test_unchanged(void)
{
    static const char *const same[] = {
        "+OK\r\n", "-ERR no such key\r\n", ":42\r\n", ":-7\r\n", "$0\r\n\r\n",
        "$5\r\nhe\r\no\r\n", "*0\r\n", "*2\r\n:1\r\n+x\r\n", "_\r\n", ",1.5\r\n",
        "%1\r\n+a\r\n:1\r\n", "~2\r\n+a\r\n+b\r\n",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        expect(3, REENCODE_PLAIN, same[i], same[i]);
        expect(2, REENCODE_PLAIN, same[i], same[i]);
    }
}

static void test_map(void)
{
    expect(3, REENCODE_MAP, "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$-1\r\n",
           "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n_\r\n");
    expect(3, REENCODE_MAP, "*0\r\n", "%0\r\n");
    expect(3, REENCODE_MAP, "*3\r\n:1\r\n:2\r\n:3\r\n", "*3\r\n:1\r\n:2\r\n:3\r\n"); /* odd */
    expect(3, REENCODE_MAP, "-WRONGTYPE x\r\n", "-WRONGTYPE x\r\n");
    expect(2, REENCODE_MAP, "*2\r\n$1\r\na\r\n$1\r\n1\r\n", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
}

static void test_set_and_double(void)
{
    expect(3, REENCODE_SET, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "~2\r\n$1\r\na\r\n$1\r\nb\r\n");
    expect(2, REENCODE_SET, "*1\r\n$1\r\na\r\n", "*1\r\n$1\r\na\r\n");
    expect(3, REENCODE_DOUBLE, "$3\r\n1.5\r\n", ",1.5\r\n");
    expect(3, REENCODE_DOUBLE, "$-1\r\n", "_\r\n");
    expect(3, REENCODE_DOUBLE, "*2\r\n$1\r\n2\r\n$-1\r\n", "*2\r\n,2\r\n_\r\n");
    expect(2, REENCODE_DOUBLE, "$3\r\n1.5\r\n", "$3\r\n1.5\r\n");
    /* Only the top level takes the shape: nested arrays stay arrays. */
    expect(3, REENCODE_MAP, "*2\r\n*1\r\n:1\r\n*0\r\n", "%1\r\n*1\r\n:1\r\n*0\r\n");
}

/* Every proper prefix of a complete reply is refused: 0 and nothing written. */
static void test_incomplete(void)
{
    static const char *const replies[] = {
        "$5\r\nhello\r\n", "*2\r\n$1\r\na\r\n$-1\r\n", "+OK\r\n",
        "*2\r\n*1\r\n:1\r\n$2\r\nxy\r\n",
    };
    for (size_t r = 0; r < sizeof replies / sizeof replies[0]; r++) {
        size_t n = strlen(replies[r]);
        CHECK_INT_EQ(reencode_span(replies[r], n), n);
        for (size_t k = 0; k < n; k++) {
            struct buf b = { .len = 0 };
            struct resp_writer w = { buf_sink, &b, 3 };
            CHECK_INT_EQ(reencode_span(replies[r], k), 0);
            CHECK_INT_EQ(reencode_copy(replies[r], k, &w, REENCODE_MAP), 0);
            CHECK_INT_EQ(b.len, 0);
        }
    }
    CHECK_INT_EQ(reencode_span("hello\r\n", 7), 0); /* not RESP */
}

/* Two replies back to back: each copy takes exactly one. */
static void test_one_element_at_a_time(void)
{
    const char *in = "$-1\r\n:1\r\n*1\r\n$-1\r\n";
    struct buf b = { .len = 0 };
    struct resp_writer w = { buf_sink, &b, 3 };
    size_t off = 0, used, n = strlen(in), steps = 0;
    while (off < n && (used = reencode_copy(in + off, n - off, &w, REENCODE_PLAIN)) > 0) {
        off += used;
        steps++;
    }
    CHECK_INT_EQ(steps, 3);
    CHECK_MEM_EQ(b.data, b.len, "_\r\n:1\r\n*1\r\n_\r\n", strlen("_\r\n:1\r\n*1\r\n_\r\n"));
}

static const struct check_case cases[] = {
    {"shape_of", test_shape_of},
    {"nulls", test_nulls},
    {"unchanged", test_unchanged},
    {"map", test_map},
    {"set_and_double", test_set_and_double},
    {"incomplete", test_incomplete},
    {"one_element_at_a_time", test_one_element_at_a_time},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
