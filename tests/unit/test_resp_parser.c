/* test_resp_parser.c -- unit tests for resp/resp_parser.c.
 *
 * Every input of the tables below is fed three ways: whole, one byte at a time, and split
 * in two at every possible point (a sample of points for very long inputs). Each way
 * renders what the parser returned as one "dump" string, which must equal the expected
 * one: a request is "[" then "<len>:<bytes>," per argument then "]", an error is
 * "!<error text>" (feeding stops there), and a request still unfinished at the end of the
 * input adds "+". The malformed inputs follow Redis's tests/unit/protocol.tcl. Further
 * tests check the consumed counts, reset after an error, custom limits, large arguments,
 * and that an announced 512 MB argument is not allocated before its bytes arrive.
 */
#include "resp_parser.h"

#include "check.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#endif

/* A growable byte string for dumps and generated inputs. */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        CHECK(b->p != NULL);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_repeat(struct buf *b, char c, size_t n)
{
    buf_add(b, "", 0);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        CHECK(b->p != NULL);
    }
    memset(b->p + b->len, c, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void dump_request(struct buf *out, const struct resp_request *req)
{
    char num[32];
    int i;

    CHECK(req->argc >= 1);
    buf_str(out, "[");
    for (i = 0; i < req->argc; i++) {
        CHECK_INT_EQ(req->argv[i][req->lens[i]], 0);
        snprintf(num, sizeof(num), "%zu:", req->lens[i]);
        buf_str(out, num);
        buf_add(out, req->argv[i], req->lens[i]);
        buf_str(out, ",");
    }
    buf_str(out, "]");
}

/* Feeds one chunk completely, dumping requests and errors. Returns -1 after an error. */
/* Whether run() puts its parsers under the limits before AUTH (test_unauthenticated). */
static int unauthenticated;

static int feed_chunk(struct resp_parser *p, const char *in, size_t len, struct buf *out)
{
    while (len > 0) {
        size_t used = 0;
        enum resp_status st = resp_parser_feed(p, in, len, &used);

        if (st == RESP_ERR) {
            buf_str(out, "!");
            buf_str(out, resp_parser_error(p));
            return -1;
        }
        CHECK(used <= len);
        if (st == RESP_AGAIN) {
            CHECK_INT_EQ(used, len);
            return 0;
        }
        CHECK(used > 0);
        dump_request(out, resp_parser_request(p));
        in += used;
        len -= used;
    }
    return 0;
}

/* Feeds in[0..len) in chunks of at most step bytes, except that a split point split > 0
 * cuts it in two instead. Returns the dump in out (reset first). */
static void run(const struct resp_limits *lim, const char *in, size_t len, size_t step,
                size_t split, struct buf *out)
{
    struct resp_parser *p = resp_parser_new(lim);
    if (p)
        resp_parser_set_unauthenticated(p, unauthenticated);
    size_t pos = 0;

    CHECK(p != NULL);
    out->len = 0;
    buf_str(out, "");
    while (pos < len) {
        size_t n = split > 0 ? (pos < split ? split : len) - pos : step;
        if (n > len - pos)
            n = len - pos;
        if (feed_chunk(p, in + pos, n, out) < 0)
            break;
        pos += n;
    }
    if (pos == len && resp_parser_pending(p))
        buf_str(out, "+");
    resp_parser_free(p);
}

/* Checks the dump of in against want for all three ways of feeding. */
static void check_all_splits(const char *name, const struct resp_limits *lim, const char *in,
                             size_t len, const char *want, size_t want_len)
{
    struct buf out = {0};
    size_t k, stride = len <= 2048 ? 1 : len / 613;

    check_note("case %s, whole", name);
    run(lim, in, len, len, 0, &out);
    CHECK_MEM_EQ(out.p, out.len, want, want_len);
    check_note("case %s, one byte at a time", name);
    run(lim, in, len, 1, 0, &out);
    CHECK_MEM_EQ(out.p, out.len, want, want_len);
    for (k = 1; k < len; k += stride) {
        check_note("case %s, split at %zu", name, k);
        run(lim, in, len, len, k, &out);
        CHECK_MEM_EQ(out.p, out.len, want, want_len);
    }
    check_note("");
    free(out.p);
}

struct pcase {
    const char *name;
    const char *in;
    size_t in_len;
    const char *want;
    size_t want_len;
};

#define PCASE(name, in, want) {name, in, sizeof(in) - 1, want, sizeof(want) - 1}

static const struct pcase valid_cases[] = {
    PCASE("multibulk", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", "[3:SET,1:k,5:value,]"),
    PCASE("empty bulk", "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", "[3:GET,0:,]"),
    PCASE("binary", "*2\r\n$4\r\na\0b\r\r\n$2\r\n\r\n\r\n", "[4:a\0b\r,2:\r\n,]"),
    PCASE("empty multibulks skipped", "*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n", "[4:PING,]"),
    PCASE("many in one buffer", "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n",
          "[4:PING,][4:ECHO,2:hi,][4:PING,]"),
    PCASE("inline crlf", "PING\r\n", "[4:PING,]"),
    PCASE("inline lf", "PING\n", "[4:PING,]"),
    PCASE("inline args", "  set\t a   b  \r\n", "[3:set,1:a,1:b,]"),
    PCASE("empty lines skipped", "\r\n\n  \r\n\t\nPING\n", "[4:PING,]"),
    PCASE("double and single quotes", "set \"a b\" 'c d'\r\n", "[3:set,3:a b,3:c d,]"),
    PCASE("double quote escapes", "echo \"\\n\\r\\t\\b\\a\\\\\\\"\\x41\\x4a\\xzz\\q\"\n",
          "[4:echo,13:\n\r\t\b\a\\\"AJxzzq,]"),
    PCASE("single quote escapes", "set 'it\\'s' 'a\\nb' '\"'\n",
          "[3:set,4:it's,4:a\\nb,1:\",]"),
    PCASE("quote inside a token", "set a\"b c\" d\n", "[3:set,4:ab c,1:d,]"),
    PCASE("empty quoted args", "set \"\" ''\n", "[3:set,0:,0:,]"),
    PCASE("NUL ends inline args", "set a\0b c\nPING\n", "[3:set,1:a,][4:PING,]"),
    PCASE("CR separates inline args", "a\rb\r\n", "[1:a,1:b,]"),
    PCASE("vertical tab inside token", "a\vb \vc\n", "[3:a\vb,1:c,]"),
    PCASE("dollar line is inline", "$3\r\n", "[2:$3,]"),
    PCASE("count line LF unchecked", "*1\rX$1\r\na\r\n", "[1:a,]"),
    PCASE("bulk trailer unchecked", "*1\r\n$1\r\naXY*1\r\n$1\r\nb\r\n", "[1:a,][1:b,]"),
    PCASE("partial request pending", "*2\r\n$3\r\nfoo", "+"),
    PCASE("partial after complete", "PING\r\n*1\r", "[4:PING,]+"),
    PCASE("partial inline pending", "PIN", "+"),
};

static const struct pcase error_cases[] = {
    PCASE("out of range multibulk", "*20000000000\r\n",
          "!ERR Protocol error: invalid multibulk length"),
    PCASE("multibulk over INT_MAX", "*3000000000\r\n",
          "!ERR Protocol error: invalid multibulk length"),
    PCASE("count wrapping 2^64", "*18446744073709551621\r\n",
          "!ERR Protocol error: invalid multibulk length"),
    PCASE("non-number multibulk", "*abc\r\n", "!ERR Protocol error: invalid multibulk length"),
    PCASE("empty multibulk count", "*\r\n", "!ERR Protocol error: invalid multibulk length"),
    PCASE("leading zero count", "*01\r\n", "!ERR Protocol error: invalid multibulk length"),
    PCASE("minus zero count", "*-0\r\n", "!ERR Protocol error: invalid multibulk length"),
    PCASE("space in count", "* 1\r\n", "!ERR Protocol error: invalid multibulk length"),
    PCASE("plus in count", "*+1\r\n", "!ERR Protocol error: invalid multibulk length"),
    PCASE("wrong payload header x", "*3\r\n$3\r\nSET\r\nx",
          "!ERR Protocol error: expected '$', got 'x'"),
    PCASE("wrong payload header f", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
          "!ERR Protocol error: expected '$', got 'f'"),
    PCASE("not followed by bulk", "*1\r\nfoo\r\n", "!ERR Protocol error: expected '$', got 'f'"),
    PCASE("CR shown as space", "*1\r\n\r\n", "!ERR Protocol error: expected '$', got ' '"),
    PCASE("negative bulk length", "*1\r\n$-10\r\n", "!ERR Protocol error: invalid bulk length"),
    PCASE("null bulk in request", "*1\r\n$-1\r\n", "!ERR Protocol error: invalid bulk length"),
    PCASE("bulk over max", "*1\r\n$600000000\r\n", "!ERR Protocol error: invalid bulk length"),
    PCASE("out of range bulk", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
          "!ERR Protocol error: invalid bulk length"),
    PCASE("non-number bulk", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
          "!ERR Protocol error: invalid bulk length"),
    PCASE("bulk length wrapping 2^64", "*1\r\n$18446744073709551617\r\nab\r\n",
          "!ERR Protocol error: invalid bulk length"),
    PCASE("empty bulk length", "*1\r\n$\r\n", "!ERR Protocol error: invalid bulk length"),
    PCASE("leading zero bulk length", "*1\r\n$03\r\nabc\r\n",
          "!ERR Protocol error: invalid bulk length"),
    PCASE("unterminated double quote", "set \"a\r\n",
          "!ERR Protocol error: unbalanced quotes in request"),
    PCASE("protocol.tcl unbalanced", "set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
          "!ERR Protocol error: unbalanced quotes in request"),
    PCASE("unterminated single quote", "set 'a\n",
          "!ERR Protocol error: unbalanced quotes in request"),
    PCASE("text after closing quote", "set \"a\"b\n",
          "!ERR Protocol error: unbalanced quotes in request"),
    PCASE("text after single quote", "set 'a'b\n",
          "!ERR Protocol error: unbalanced quotes in request"),
    PCASE("NUL inside quotes", "set \"a\0\"\n",
          "!ERR Protocol error: unbalanced quotes in request"),
    PCASE("error after a good request", "PING\r\n*x\r\n",
          "[4:PING,]!ERR Protocol error: invalid multibulk length"),
};

/* Redis's limits before AUTH (resp_parser_set_unauthenticated), at every split. */
static void test_unauthenticated(void)
{
    static const struct pcase cases[] = {
        PCASE("10 arguments", "*10\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
              "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
              "[1:a,1:a,1:a,1:a,1:a,1:a,1:a,1:a,1:a,1:a,]"),
        PCASE("11 arguments", "*11\r\n",
              "!ERR Protocol error: unauthenticated multibulk length"),
        PCASE("20 M arguments", "PING\r\n*20000000\r\n",
              "[4:PING,]!ERR Protocol error: unauthenticated multibulk length"),
        PCASE("invalid count first", "*3000000000\r\n",
              "!ERR Protocol error: invalid multibulk length"),
        PCASE("bulk over 16384", "*2\r\n$3\r\nGET\r\n$16385\r\n",
              "!ERR Protocol error: unauthenticated bulk length"),
        PCASE("bulk over max first", "*1\r\n$600000000\r\n",
              "!ERR Protocol error: invalid bulk length"),
        PCASE("inline is not limited", "a b c d e f g h i j k l\n",
              "[1:a,1:b,1:c,1:d,1:e,1:f,1:g,1:h,1:i,1:j,1:k,1:l,]"),
    };
    unauthenticated = 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_all_splits(cases[i].name, NULL, cases[i].in, cases[i].in_len, cases[i].want,
                         cases[i].want_len);
    unauthenticated = 0;
}

static void test_tables(void)
{
    size_t i;

    for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const struct pcase *c = &valid_cases[i];
        check_all_splits(c->name, NULL, c->in, c->in_len, c->want, c->want_len);
    }
    for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const struct pcase *c = &error_cases[i];
        check_all_splits(c->name, NULL, c->in, c->in_len, c->want, c->want_len);
    }
}

/* One argument holding every byte value, as multibulk and as an inline \xHH string. */
static void test_every_byte(void)
{
    struct buf in = {0}, want = {0};
    char hex[8];
    int c;

    buf_str(&in, "*2\r\n$3\r\nSET\r\n$256\r\n");
    for (c = 0; c < 256; c++)
        buf_repeat(&in, (char)c, 1);
    buf_str(&in, "\r\nset \"");
    for (c = 0; c < 256; c++) {
        snprintf(hex, sizeof(hex), "\\x%02x", c);
        buf_str(&in, hex);
    }
    buf_str(&in, "\"\r\n");
    for (c = 0; c < 2; c++) {
        buf_str(&want, c == 0 ? "[3:SET,256:" : "[3:set,256:");
        for (int b = 0; b < 256; b++)
            buf_repeat(&want, (char)b, 1);
        buf_str(&want, ",]");
    }
    check_all_splits("every byte", NULL, in.p, in.len, want.p, want.len);
    free(in.p);
    free(want.p);
}

/* Lines with no terminator longer than the 64 KB limit. */
static void test_too_big_lines(void)
{
    struct buf in = {0}, want = {0};
    static const char inl[] = "!ERR Protocol error: too big inline request";
    static const char mbulk[] = "!ERR Protocol error: too big mbulk count string";
    static const char bulk[] = "!ERR Protocol error: too big bulk count string";

    buf_repeat(&in, 'a', 70000);
    check_all_splits("70000 bytes inline", NULL, in.p, in.len, inl, sizeof(inl) - 1);
    in.len = 0;
    buf_str(&in, "*");
    buf_repeat(&in, '1', 70000);
    check_all_splits("70000 byte count", NULL, in.p, in.len, mbulk, sizeof(mbulk) - 1);
    in.len = 0;
    buf_str(&in, "*1\r\n$");
    buf_repeat(&in, '1', 70000);
    check_all_splits("70000 byte bulk count", NULL, in.p, in.len, bulk, sizeof(bulk) - 1);
    in.len = 0;
    buf_repeat(&in, 'a', 65536);
    buf_str(&in, "\n");
    buf_str(&want, "[65536:");
    buf_repeat(&want, 'a', 65536);
    buf_str(&want, ",]");
    check_all_splits("inline at the limit", NULL, in.p, in.len, want.p, want.len);
    free(in.p);
    free(want.p);
}

/* The same checks with small custom limits: bulk 10, 3 arguments, lines of 16 bytes. */
static void test_limits(void)
{
    struct resp_limits lim = {10, 3, 16};
    static const struct pcase cases[] = {
        PCASE("at all limits", "*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n",
              "[10:0123456789,0:,1:x,]"),
        PCASE("too many args", "*4\r\n", "!ERR Protocol error: invalid multibulk length"),
        PCASE("bulk too long", "*1\r\n$11\r\n", "!ERR Protocol error: invalid bulk length"),
        PCASE("inline 16 + LF", "0123456789abcdef\n", "[16:0123456789abcdef,]"),
        PCASE("inline 15 + CRLF", "0123456789abcde\r\n", "[15:0123456789abcde,]"),
        PCASE("inline 16 + CRLF", "0123456789abcdef\r\n",
              "!ERR Protocol error: too big inline request"),
        PCASE("inline 17 + LF", "0123456789abcdefg\n",
              "!ERR Protocol error: too big inline request"),
        PCASE("count line at limit", "*000000000000000\r\n",
              "!ERR Protocol error: invalid multibulk length"),
        PCASE("count line too big", "*0000000000000000\r\n",
              "!ERR Protocol error: too big mbulk count string"),
        PCASE("bulk line too big", "*1\r\n$0000000000000000\r\n",
              "!ERR Protocol error: too big bulk count string"),
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_all_splits(cases[i].name, &lim, cases[i].in, cases[i].in_len, cases[i].want,
                         cases[i].want_len);
}

/* RESP_OK leaves the next request's bytes unconsumed; len 0 gives RESP_AGAIN. */
static void test_consumed(void)
{
    static const char in[] = "*1\r\n$4\r\nPING\r\nECHO x\r\n";
    struct resp_parser *p = resp_parser_new(NULL);
    const struct resp_request *req;
    size_t used = 99;

    CHECK(p != NULL);
    CHECK_INT_EQ(resp_parser_pending(p), 0);
    CHECK_INT_EQ(resp_parser_feed(p, in, sizeof(in) - 1, &used), RESP_OK);
    CHECK_INT_EQ(used, 14);
    req = resp_parser_request(p);
    CHECK_INT_EQ(req->argc, 1);
    CHECK_MEM_EQ(req->argv[0], req->lens[0], "PING", 4);
    CHECK_INT_EQ(resp_parser_feed(p, in + 14, sizeof(in) - 15, &used), RESP_OK);
    CHECK_INT_EQ(used, sizeof(in) - 15);
    CHECK_INT_EQ(req->argc, 2);
    CHECK_STR_EQ(req->argv[1], "x");
    CHECK_INT_EQ(resp_parser_feed(p, in, 0, &used), RESP_AGAIN);
    CHECK_INT_EQ(used, 0);
    CHECK_INT_EQ(resp_parser_feed(p, "*1\r", 3, &used), RESP_AGAIN);
    CHECK_INT_EQ(resp_parser_pending(p), 1);
    CHECK_INT_EQ(resp_parser_feed(p, "\n$1\r\nz\r", 7, &used), RESP_AGAIN);
    CHECK_INT_EQ(resp_parser_pending(p), 1);
    CHECK_INT_EQ(resp_parser_feed(p, "\n", 1, &used), RESP_OK);
    CHECK_INT_EQ(resp_parser_pending(p), 0);
    CHECK_STR_EQ(req->argv[0], "z");
    resp_parser_free(p);
    resp_parser_free(NULL);
}

/* After RESP_ERR the parser refuses input until reset; then it works again. */
static void test_reset(void)
{
    struct resp_parser *p = resp_parser_new(NULL);
    size_t used;

    CHECK(p != NULL);
    CHECK_INT_EQ(resp_parser_feed(p, "*1\r\n$-10\r\n", 10, &used), RESP_ERR);
    CHECK_STR_EQ(resp_parser_error(p), "ERR Protocol error: invalid bulk length");
    CHECK_INT_EQ(resp_parser_feed(p, "PING\r\n", 6, &used), RESP_ERR);
    CHECK_INT_EQ(resp_parser_pending(p), 0);
    resp_parser_reset(p);
    CHECK_STR_EQ(resp_parser_error(p), "");
    CHECK_INT_EQ(resp_parser_feed(p, "PING\r\n", 6, &used), RESP_OK);
    CHECK_INT_EQ(used, 6);
    CHECK_STR_EQ(resp_parser_request(p)->argv[0], "PING");
    /* reset in the middle of a large argument, then reuse */
    CHECK_INT_EQ(resp_parser_feed(p, "*1\r\n$100000\r\nabc", 16, &used), RESP_AGAIN);
    resp_parser_reset(p);
    CHECK_INT_EQ(resp_parser_pending(p), 0);
    CHECK_INT_EQ(resp_parser_feed(p, "*1\r\n$2\r\nok\r\n", 12, &used), RESP_OK);
    CHECK_STR_EQ(resp_parser_request(p)->argv[0], "ok");
    resp_parser_free(p);
}

/* A 40 MB argument, past the 16 MB preallocation, in uneven chunks; then 3000 small
 * arguments and a small request after both, to exercise growing and releasing slots. */
static void test_large(void)
{
    size_t big = (size_t)40 * 1024 * 1024 + 7, pos = 0, used, i, step = 1;
    struct buf in = {0};
    struct resp_parser *p = resp_parser_new(NULL);
    const struct resp_request *req = resp_parser_request(p);
    enum resp_status st = RESP_AGAIN;
    char hdr[64];

    snprintf(hdr, sizeof(hdr), "*2\r\n$3\r\nSET\r\n$%zu\r\n", big);
    buf_str(&in, hdr);
    buf_repeat(&in, 0, big);
    for (i = 0; i < big; i++)
        in.p[strlen(hdr) + i] = (char)(i * 131 + (i >> 12));
    buf_str(&in, "\r\n");
    while (pos < in.len && st == RESP_AGAIN) {
        size_t n = in.len - pos < step ? in.len - pos : step;
        st = resp_parser_feed(p, in.p + pos, n, &used);
        pos += used;
        step = step * 3 + 1;
    }
    CHECK_INT_EQ(st, RESP_OK);
    CHECK_INT_EQ(pos, in.len);
    CHECK_INT_EQ(req->argc, 2);
    CHECK_MEM_EQ(req->argv[1], req->lens[1], in.p + strlen(hdr), big);

    in.len = 0;
    buf_str(&in, "*3000\r\n");
    for (i = 0; i < 3000; i++)
        buf_str(&in, i % 2 ? "$1\r\nx\r\n" : "$0\r\n\r\n");
    buf_str(&in, "*1\r\n$1\r\ny\r\n");
    CHECK_INT_EQ(resp_parser_feed(p, in.p, in.len, &used), RESP_OK);
    CHECK_INT_EQ(req->argc, 3000);
    CHECK_STR_EQ(req->argv[2999], "x");
    CHECK_INT_EQ(resp_parser_feed(p, in.p + used, in.len - used, &used), RESP_OK);
    CHECK_INT_EQ(req->argc, 1);
    CHECK_STR_EQ(req->argv[0], "y");
    resp_parser_free(p);
    free(in.p);
}

/* A client announcing a 512 MB argument gets at most 16 MB allocated up front: in a child
 * limited to 256 MB of address space, the header and 1 MB of data must parse. Skipped
 * under AddressSanitizer, whose shadow memory cannot live under such a limit. */
static void test_no_big_prealloc(void)
{
#ifndef TEST_UNDER_ASAN
    pid_t pid = fork();
    int status = 0;

    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)256 << 20, (rlim_t)256 << 20};
        static char data[1 << 20];
        struct resp_parser *p;
        size_t used;

        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(3);
        p = resp_parser_new(NULL);
        if (resp_parser_feed(p, "*1\r\n$536870912\r\n", 17, &used) != RESP_AGAIN)
            _exit(1);
        if (resp_parser_feed(p, data, sizeof(data), &used) != RESP_AGAIN)
            _exit(2);
        resp_parser_free(p);
        _exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_INT_EQ(WEXITSTATUS(status), 0);
#endif
}

int main(void)
{
    test_tables();
    test_unauthenticated();
    test_every_byte();
    test_too_big_lines();
    test_limits();
    test_consumed();
    test_reset();
    test_large();
    test_no_big_prealloc();
    printf("test_resp_parser: all passed\n");
    return 0;
}
