/* test_resp_writer.c -- unit tests for resp/resp_writer.c.
 *
 * Each function writes into a fixed test buffer through the sink interface, and the bytes
 * are compared exactly, in RESP2 and in RESP3. A sink that fails after a given number of
 * calls checks that every function passes the failure on as -1.
 */
#include "resp_writer.h"

#include "check.h"

#include <math.h>
#include <stdint.h>

struct sink {
    char data[4096];
    size_t len;
    int calls_left; /* fail once this reaches 0; negative means never fail */
};

static int test_sink(void *s, const void *data, size_t len)
{
    struct sink *k = s;

    if (k->calls_left == 0)
        return -1;
    if (k->calls_left > 0)
        k->calls_left--;
    CHECK(k->len + len <= sizeof(k->data));
    memcpy(k->data + k->len, data, len);
    k->len += len;
    return 0;
}

static struct sink out;
static struct resp_writer w2 = {test_sink, &out, 2};
static struct resp_writer w3 = {test_sink, &out, 3};

static void start(void)
{
    out.len = 0;
    out.calls_left = -1;
}

/* Compares what was written since start() with the literal want. */
#define EXPECT(want) CHECK_MEM_EQ(out.data, out.len, want, sizeof(want) - 1)

/* Runs call with w = the RESP2 writer and then the RESP3 one, expecting want2 / want3. */
#define BOTH(call, want2, want3)                                                           \
    do {                                                                                   \
        struct resp_writer *w = &w2;                                                       \
        start();                                                                           \
        CHECK_INT_EQ(call, 0);                                                             \
        EXPECT(want2);                                                                     \
        w = &w3;                                                                           \
        start();                                                                           \
        CHECK_INT_EQ(call, 0);                                                             \
        EXPECT(want3);                                                                     \
    } while (0)

static void test_simple_and_error(void)
{
    BOTH(resp_write_simple(w, "OK"), "+OK\r\n", "+OK\r\n");
    BOTH(resp_write_simple(w, ""), "+\r\n", "+\r\n");
    BOTH(resp_write_simple(w, "a\r\nb\nc\r"), "+a  b c \r\n", "+a  b c \r\n");
    BOTH(resp_write_error(w, "ERR unknown command 'x\r\ny'"), "-ERR unknown command 'x  y'\r\n",
         "-ERR unknown command 'x  y'\r\n");
    BOTH(resp_write_error(w, "ERR Protocol error: invalid bulk length"),
         "-ERR Protocol error: invalid bulk length\r\n",
         "-ERR Protocol error: invalid bulk length\r\n");
}

/* A simple string longer than the writer's stack buffer still comes out whole. */
static void test_long_simple(void)
{
    char s[1001], want[1004];

    memset(s, 'x', 1000);
    s[1000] = '\0';
    s[255] = '\n';
    s[256] = '\r';
    snprintf(want, sizeof(want), "+%s\r\n", s);
    want[256] = ' ';
    want[257] = ' ';
    start();
    CHECK_INT_EQ(resp_write_simple(&w2, s), 0);
    CHECK_MEM_EQ(out.data, out.len, want, 1003);
}

static void test_int(void)
{
    BOTH(resp_write_int(w, 0), ":0\r\n", ":0\r\n");
    BOTH(resp_write_int(w, -42), ":-42\r\n", ":-42\r\n");
    BOTH(resp_write_int(w, INT64_MAX), ":9223372036854775807\r\n", ":9223372036854775807\r\n");
    BOTH(resp_write_int(w, INT64_MIN), ":-9223372036854775808\r\n",
         ":-9223372036854775808\r\n");
}

static void test_bulk(void)
{
    char big[1000];
    char want[1100];
    int n;

    BOTH(resp_write_bulk(w, "hello", 5), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
    BOTH(resp_write_bulk(w, "", 0), "$0\r\n\r\n", "$0\r\n\r\n");
    BOTH(resp_write_bulk(w, NULL, 0), "$0\r\n\r\n", "$0\r\n\r\n");
    BOTH(resp_write_bulk(w, "a\0\r\nb", 5), "$5\r\na\0\r\nb\r\n", "$5\r\na\0\r\nb\r\n");
    BOTH(resp_write_cstr(w, "value"), "$5\r\nvalue\r\n", "$5\r\nvalue\r\n");
    BOTH(resp_write_cstr(w, ""), "$0\r\n\r\n", "$0\r\n\r\n");

    memset(big, 'b', sizeof(big));
    n = snprintf(want, sizeof(want), "$1000\r\n");
    memcpy(want + n, big, sizeof(big));
    memcpy(want + n + sizeof(big), "\r\n", 2);
    start();
    CHECK_INT_EQ(resp_write_bulk(&w3, big, sizeof(big)), 0);
    CHECK_MEM_EQ(out.data, out.len, want, (size_t)n + sizeof(big) + 2);
}

static void test_null_and_aggregates(void)
{
    BOTH(resp_write_null(w), "$-1\r\n", "_\r\n");
    BOTH(resp_write_null_array(w), "*-1\r\n", "_\r\n");
    BOTH(resp_write_array(w, 0), "*0\r\n", "*0\r\n");
    BOTH(resp_write_array(w, 3), "*3\r\n", "*3\r\n");
    BOTH(resp_write_map(w, 0), "*0\r\n", "%0\r\n");
    BOTH(resp_write_map(w, 2), "*4\r\n", "%2\r\n");
    BOTH(resp_write_array(w, 1234567), "*1234567\r\n", "*1234567\r\n");
}

static void test_double(void)
{
    BOTH(resp_write_double(w, 1.5), "$3\r\n1.5\r\n", ",1.5\r\n");
    BOTH(resp_write_double(w, 1), "$1\r\n1\r\n", ",1\r\n");
    BOTH(resp_write_double(w, 0.1), "$19\r\n0.10000000000000001\r\n",
         ",0.10000000000000001\r\n");
    BOTH(resp_write_double(w, -0.0009765625), "$13\r\n-0.0009765625\r\n", ",-0.0009765625\r\n");
    BOTH(resp_write_double(w, 0x1p100), "$22\r\n1.2676506002282294e+30\r\n",
         ",1.2676506002282294e+30\r\n");
    BOTH(resp_write_double(w, INFINITY), "$3\r\ninf\r\n", ",inf\r\n");
    BOTH(resp_write_double(w, -INFINITY), "$4\r\n-inf\r\n", ",-inf\r\n");
    BOTH(resp_write_double(w, NAN), "$3\r\nnan\r\n", ",nan\r\n");
    BOTH(resp_write_double(w, -NAN), "$3\r\nnan\r\n", ",nan\r\n");
}

static void test_verbatim(void)
{
    BOTH(resp_write_verbatim(w, "hello", 5), "$5\r\nhello\r\n", "=9\r\ntxt:hello\r\n");
    BOTH(resp_write_verbatim(w, "", 0), "$0\r\n\r\n", "=4\r\ntxt:\r\n");
    BOTH(resp_write_verbatim(w, "a\r\nb", 4), "$4\r\na\r\nb\r\n", "=8\r\ntxt:a\r\nb\r\n");
}

/* A sequence of calls forming one reply, as a command handler would write it. */
static void test_composite(void)
{
    BOTH((resp_write_map(w, 1) || resp_write_cstr(w, "k") || resp_write_array(w, 2) ||
          resp_write_int(w, 7) || resp_write_null(w)),
         "*2\r\n$1\r\nk\r\n*2\r\n:7\r\n$-1\r\n", "%1\r\n$1\r\nk\r\n*2\r\n:7\r\n_\r\n");
}

/* Every function returns -1 when the sink fails, on its first call or a later one. */
static void test_sink_failure(void)
{
    char big[600];
    int fail_at;

    memset(big, 'q', sizeof(big));
    for (fail_at = 0; fail_at < 3; fail_at++) {
        struct resp_writer *ws[2] = {&w2, &w3};
        for (int i = 0; i < 2; i++) {
            struct resp_writer *w = ws[i];
            check_note("sink fails at call %d, proto %d", fail_at, w->proto);
            start();
            out.calls_left = 0;
            CHECK_INT_EQ(resp_write_simple(w, "OK"), -1);
            CHECK_INT_EQ(resp_write_error(w, "ERR x"), -1);
            CHECK_INT_EQ(resp_write_int(w, 1), -1);
            CHECK_INT_EQ(resp_write_cstr(w, "x"), -1);
            CHECK_INT_EQ(resp_write_null(w), -1);
            CHECK_INT_EQ(resp_write_null_array(w), -1);
            CHECK_INT_EQ(resp_write_array(w, 1), -1);
            CHECK_INT_EQ(resp_write_map(w, 1), -1);
            CHECK_INT_EQ(resp_write_double(w, 1.0), -1);
            CHECK_INT_EQ(resp_write_verbatim(w, "x", 1), -1);
            out.calls_left = fail_at;
            CHECK_INT_EQ(resp_write_bulk(w, big, sizeof(big)), -1);
        }
    }
    check_note("");
}

/* resp_reply_len reads back exactly what the writer wrote (RESP2), and refuses anything
 * cut short or malformed. */
static void test_reply_len(void)
{
    static const char *const good[] = {
        "+OK\r\n", "-ERR x y\r\n", ":0\r\n", ":-9223372036854775\r\n", "$0\r\n\r\n",
        "$5\r\na\r\nbc\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
        "*3\r\n$1\r\nk\r\n*2\r\n:7\r\n$-1\r\n+OK\r\n",
    };
    static const char *const bad[] = {
        "", "+OK", "+OK\r", ":\r\n", ":12x\r\n", "$3\r\nab\r\n", "$2\r\nabc\r\n", "$-2\r\n",
        "*2\r\n:1\r\n", "*1\r\n", "?x\r\n", "*-2\r\n", "$x\r\n",
    };
    char buf[256];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n = strlen(good[i]);
        check_note("good %zu", i);
        CHECK_INT_EQ(resp_reply_len(good[i], n), (long)n);
        /* Followed by more replies: only the first counts. */
        memcpy(buf, good[i], n);
        memcpy(buf + n, "+NEXT\r\n", 7);
        CHECK_INT_EQ(resp_reply_len(buf, n + 7), (long)n);
        /* Cut anywhere: incomplete. */
        for (size_t cut = 0; cut < n; cut++)
            CHECK_INT_EQ(resp_reply_len(good[i], cut), -1);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        check_note("bad %zu", i);
        CHECK_INT_EQ(resp_reply_len(bad[i], strlen(bad[i])), -1);
    }
    /* What the writer produces, value after value, is cut back into the same values. */
    start();
    CHECK_INT_EQ(resp_write_simple(&w2, "OK"), 0);
    size_t a = out.len;
    CHECK_INT_EQ(resp_write_array(&w2, 2) || resp_write_int(&w2, INT64_MIN) ||
                 resp_write_bulk(&w2, "x\r\ny", 4), 0);
    size_t b = out.len;
    CHECK_INT_EQ(resp_write_null(&w2), 0);
    CHECK_INT_EQ(resp_reply_len(out.data, out.len), (long)a);
    CHECK_INT_EQ(resp_reply_len(out.data + a, out.len - a), (long)(b - a));
    CHECK_INT_EQ(resp_reply_len(out.data + b, out.len - b), (long)(out.len - b));
    /* Nesting deeper than 32 is refused. */
    size_t n = 0;
    for (int d = 0; d < 40; d++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "*1\r\n");
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":1\r\n");
    CHECK_INT_EQ(resp_reply_len(buf, n), -1);
    check_note("");
}

int main(void)
{
    test_simple_and_error();
    test_long_simple();
    test_int();
    test_bulk();
    test_null_and_aggregates();
    test_double();
    test_verbatim();
    test_reply_len();
    test_composite();
    test_sink_failure();
    printf("test_resp_writer: all passed\n");
    return 0;
}
