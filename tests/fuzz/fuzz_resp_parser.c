/* fuzz_resp_parser.c -- libFuzzer target for resp/resp_parser.c.
 *
 * The input is a byte stream from a client. It is parsed with small limits (so that the
 * limit checks are reached) whole, one byte at a time and split in two at a point derived
 * from the data, and with Redis's default limits whole. Besides the sanitizers' findings,
 * the target aborts when the ways of feeding disagree: the parser promises that the split
 * never changes the requests or the error. Each run renders its result as a dump string
 * ("[<len>:<bytes>,...]" per request, "!<error>" at an error) for the comparison.
 *
 * Build with -DTWOPC_FUZZ=ON and CC=clang; run as fuzz_resp_parser CORPUS_DIR SEED_DIR.
 */
#include "resp_parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct dump {
    char *p;
    size_t len, cap;
};

static void dump_add(struct dump *d, const void *p, size_t n)
{
    if (d->len + n > d->cap) {
        d->cap = (d->len + n) * 2 + 64;
        d->p = realloc(d->p, d->cap);
        if (d->p == NULL)
            abort();
    }
    if (n > 0)
        memcpy(d->p + d->len, p, n);
    d->len += n;
}

static void dump_request(struct dump *d, const struct resp_request *req)
{
    char num[32];
    int i, n;

    if (req->argc < 1)
        abort();
    dump_add(d, "[", 1);
    for (i = 0; i < req->argc; i++) {
        if (req->argv[i][req->lens[i]] != '\0')
            abort();
        n = snprintf(num, sizeof(num), "%zu:", req->lens[i]);
        dump_add(d, num, (size_t)n);
        dump_add(d, req->argv[i], req->lens[i]);
        dump_add(d, ",", 1);
    }
    dump_add(d, "]", 1);
}

/* Feeds one chunk entirely. Returns -1 once the parser reported an error. */
static int feed_chunk(struct resp_parser *p, const char *in, size_t len, struct dump *d)
{
    while (len > 0) {
        size_t used = 0;
        enum resp_status st = resp_parser_feed(p, in, len, &used);

        if (st == RESP_ERR) {
            dump_add(d, "!", 1);
            dump_add(d, resp_parser_error(p), strlen(resp_parser_error(p)));
            return -1;
        }
        if (used > len || (st == RESP_AGAIN && used != len) || (st == RESP_OK && used == 0))
            abort();
        if (st == RESP_AGAIN)
            return 0;
        dump_request(d, resp_parser_request(p));
        in += used;
        len -= used;
    }
    return 0;
}

/* Feeds in[0..len) in chunks of step bytes, or cut in two at split when split > 0. */
static void run(const struct resp_limits *lim, const char *in, size_t len, size_t step,
                size_t split, struct dump *d)
{
    struct resp_parser *p = resp_parser_new(lim);
    size_t pos = 0, n;

    if (p == NULL)
        abort();
    d->len = 0;
    while (pos < len) {
        n = split > 0 ? (pos < split ? split : len) - pos : step;
        n = n < len - pos ? n : len - pos;
        if (feed_chunk(p, in + pos, n, d) < 0)
            break;
        pos += n;
    }
    if (pos == len && resp_parser_pending(p))
        dump_add(d, "+", 1);
    resp_parser_free(p);
}

static void same_or_abort(const struct dump *a, const struct dump *b, const char *how)
{
    if (a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0))
        return;
    fprintf(stderr, "fuzz_resp_parser: %s differs from whole feed\n", how);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dump whole, other;
    struct resp_limits small = {4096, 64, 128};
    const char *in = (const char *)data;
    size_t split = size > 1 ? 1 + (size_t)data[size / 2] * 7919 % (size - 1) : 0;

    run(&small, in, size, size, 0, &whole);
    run(&small, in, size, 1, 0, &other);
    same_or_abort(&whole, &other, "one byte at a time");
    if (split > 0) {
        run(&small, in, size, size, split, &other);
        same_or_abort(&whole, &other, "split in two");
    }
    run(NULL, in, size, size, 0, &other);
    return 0;
}
