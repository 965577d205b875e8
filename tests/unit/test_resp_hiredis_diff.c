/* test_resp_hiredis_diff.c -- differential test of resp_parser against hiredis's reader.
 *
 * A request in multibulk form is, byte for byte, a RESP array of bulk strings, which
 * hiredis 0.14's reader (the reply parser every hiredis client trusts) decodes too. Each
 * round generates several random requests with random binary arguments (CR, LF, NUL, '$'
 * and '*' made common), concatenates them, and feeds the same bytes to both parsers, each
 * in its own random split. Both results are rendered as the dump of test_resp_parser.c
 * ("[<len>:<bytes>,...]" per request) and must be equal. Empty requests ("*0", "*-1")
 * are mixed in: hiredis returns them as an empty array or a nil, which the comparison
 * drops, as our parser skips them.
 *
 * Usage: test_resp_hiredis_diff [seed [rounds]]. Without a seed one is taken from the
 * clock; it is printed first and with any failure, so a failure can be replayed.
 */
#include "resp_parser.h"

#include "check.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <time.h>

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
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_fmt(struct buf *b, const char *fmt, size_t v)
{
    char num[48];
    int n = snprintf(num, sizeof(num), fmt, v);

    buf_add(b, num, (size_t)n);
}

/* splitmix64: small, fast, and any 64-bit seed is a good one. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A uniform number in [0, n), n > 0. */
static size_t rng_below(size_t n)
{
    return (size_t)(rng_next() % n);
}

static size_t random_arg_len(void)
{
    size_t r = rng_below(100);

    if (r < 60)
        return rng_below(17);
    if (r < 90)
        return rng_below(301);
    if (r < 99)
        return rng_below(5001);
    return rng_below(70001);
}

/* Appends one random request; empty ones ("*0", "*-1") are rare. */
static void gen_request(struct buf *in)
{
    static const char tricky[] = "\r\n\0$*\"' x";
    size_t argc, i, j, len;
    char c;

    if (rng_below(20) == 0) {
        const char *empty = rng_below(2) ? "*0\r\n" : "*-1\r\n";
        buf_add(in, empty, strlen(empty));
        return;
    }
    argc = 1 + rng_below(rng_below(4) == 0 ? 40 : 6);
    buf_fmt(in, "*%zu\r\n", argc);
    for (i = 0; i < argc; i++) {
        len = random_arg_len();
        buf_fmt(in, "$%zu\r\n", len);
        for (j = 0; j < len; j++) {
            c = rng_below(4) == 0 ? tricky[rng_below(sizeof(tricky) - 1)] : (char)rng_next();
            buf_add(in, &c, 1);
        }
        buf_add(in, "\r\n", 2);
    }
}

/* The length of the next chunk to feed: often tiny, sometimes large. */
static size_t random_chunk(size_t left)
{
    size_t r = rng_below(3), n;

    n = r == 0 ? 1 + rng_below(3) : r == 1 ? 1 + rng_below(200) : 1 + rng_below(left);
    return n < left ? n : left;
}

static void dump_hiredis_reply(struct buf *out, const redisReply *r)
{
    size_t i;

    if (r->type == REDIS_REPLY_NIL || (r->type == REDIS_REPLY_ARRAY && r->elements == 0))
        return;
    CHECK_INT_EQ(r->type, REDIS_REPLY_ARRAY);
    buf_add(out, "[", 1);
    for (i = 0; i < r->elements; i++) {
        CHECK_INT_EQ(r->element[i]->type, REDIS_REPLY_STRING);
        buf_fmt(out, "%zu:", r->element[i]->len);
        buf_add(out, r->element[i]->str, r->element[i]->len);
        buf_add(out, ",", 1);
    }
    buf_add(out, "]", 1);
}

static void run_hiredis(const struct buf *in, struct buf *out)
{
    redisReader *r = redisReaderCreate();
    size_t pos = 0, n;
    void *reply;

    CHECK(r != NULL);
    out->len = 0;
    while (pos < in->len) {
        n = random_chunk(in->len - pos);
        CHECK_INT_EQ(redisReaderFeed(r, in->p + pos, n), REDIS_OK);
        pos += n;
        for (;;) {
            reply = NULL;
            if (redisReaderGetReply(r, &reply) != REDIS_OK)
                fprintf(stderr, "hiredis reader error: %s\n", r->errstr);
            CHECK(r->err == 0);
            if (reply == NULL)
                break;
            dump_hiredis_reply(out, reply);
            freeReplyObject(reply);
        }
    }
    redisReaderFree(r);
}

static void dump_request(struct buf *out, const struct resp_request *req)
{
    int i;

    buf_add(out, "[", 1);
    for (i = 0; i < req->argc; i++) {
        buf_fmt(out, "%zu:", req->lens[i]);
        buf_add(out, req->argv[i], req->lens[i]);
        buf_add(out, ",", 1);
    }
    buf_add(out, "]", 1);
}

static void run_ours(struct resp_parser *p, const struct buf *in, struct buf *out)
{
    size_t pos = 0, n, used;
    enum resp_status st;

    out->len = 0;
    while (pos < in->len) {
        n = random_chunk(in->len - pos);
        while (n > 0) {
            st = resp_parser_feed(p, in->p + pos, n, &used);
            CHECK(st != RESP_ERR);
            pos += used;
            n -= used;
            if (st == RESP_OK)
                dump_request(out, resp_parser_request(p));
        }
    }
    CHECK_INT_EQ(resp_parser_pending(p), 0);
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : (uint64_t)time(NULL);
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 3000, round;
    struct buf in = {0}, theirs = {0}, ours = {0};
    struct resp_parser *p = resp_parser_new(NULL);
    size_t requests = 0, k, nreq;

    printf("test_resp_hiredis_diff: seed %llu, %ld rounds\n", (unsigned long long)seed,
           rounds);
    rng_state = seed;
    CHECK(p != NULL);
    for (round = 0; round < rounds; round++) {
        check_note("seed %llu, round %ld (rerun: test_resp_hiredis_diff %llu)",
                   (unsigned long long)seed, round, (unsigned long long)seed);
        in.len = 0;
        nreq = 1 + rng_below(8);
        for (k = 0; k < nreq; k++)
            gen_request(&in);
        requests += nreq;
        run_hiredis(&in, &theirs);
        run_ours(p, &in, &ours);
        CHECK_MEM_EQ(ours.p, ours.len, theirs.p, theirs.len);
    }
    resp_parser_free(p);
    free(in.p);
    free(theirs.p);
    free(ours.p);
    printf("test_resp_hiredis_diff: %zu requests in %ld rounds agree\n", requests, rounds);
    return 0;
}
