/* hiredis_client.c -- libhiredis's synchronous API against a running twopc coordinator.
 *
 * Usage: twopc-hiredis-client HOST PORT
 * Runs each check below in order on fresh keys (prefix "hi:<pid>:"), printing "ok <name>"
 * for each; on the first failure prints "FAIL <name>: <why>" and exits 1 (2: cannot
 * connect). tests/clients/test_hiredis.py starts a cluster and runs it.
 *
 * What it covers: replies of every RESP2 type through hiredis's reader (status, error,
 * integer, bulk with binary bytes, nil, arrays), pipelining with redisAppendCommand /
 * redisGetReply, MULTI/EXEC, WATCH conflicts between two connections (EXEC's nil), a 1 MB
 * value, CLIENT SETNAME and INFO.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

static char prefix[64];
static const char *host;
static int port;

static void fail(const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", check);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(1);
}

static redisContext *connect_or_die(void)
{
    struct timeval tv = { 10, 0 };
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        printf("FAIL connect: %s\n", c ? c->errstr : "out of memory");
        exit(2);
    }
    redisSetTimeout(c, tv);
    return c;
}

/* Runs a command; the reply must have the given type (and text, for status/error/string). */
static redisReply *expect(redisContext *c, const char *check, int type, const char *text,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r)
        fail(check, "no reply (%s)", c->errstr);
    if (r->type != type)
        fail(check, "reply type %d, expected %d (%s)", r->type, type,
             r->str ? r->str : "");
    if (text && (!r->str || strcmp(r->str, text) != 0))
        fail(check, "reply '%s', expected '%s'", r->str ? r->str : "(null)", text);
    return r;
}

static void check_types(redisContext *c)
{
    freeReplyObject(expect(c, "ping", REDIS_REPLY_STATUS, "PONG", "PING"));
    freeReplyObject(expect(c, "set", REDIS_REPLY_STATUS, "OK", "SET %sk %b", prefix,
                           "a\0b\r\nc", (size_t)7));
    redisReply *r = expect(c, "get-binary", REDIS_REPLY_STRING, NULL, "GET %sk", prefix);
    if (r->len != 7 || memcmp(r->str, "a\0b\r\nc", 7) != 0)
        fail("get-binary", "wrong bytes (len %zu)", r->len);
    freeReplyObject(r);
    freeReplyObject(expect(c, "get-nil", REDIS_REPLY_NIL, NULL, "GET %smissing", prefix));
    freeReplyObject(expect(c, "incr-error", REDIS_REPLY_ERROR,
                           "ERR value is not an integer or out of range", "INCR %sk", prefix));
    r = expect(c, "exists", REDIS_REPLY_INTEGER, NULL, "EXISTS %sk %sk %smissing", prefix,
               prefix, prefix);
    if (r->integer != 2)
        fail("exists", "got %lld", r->integer);
    freeReplyObject(r);
    printf("ok reply types\n");
}

static void check_pipeline(redisContext *c)
{
    const int n = 2000;
    for (int i = 0; i < n; i++)
        redisAppendCommand(c, "INCR %scounter", prefix);
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            fail("pipeline", "reply %d: %s", i, c->errstr);
        if (r->type != REDIS_REPLY_INTEGER || r->integer != i + 1)
            fail("pipeline", "reply %d is type %d value %lld", i, r->type, r->integer);
        freeReplyObject(r);
    }
    printf("ok pipeline of %d\n", n);
}

static void check_multi(redisContext *c)
{
    freeReplyObject(expect(c, "multi", REDIS_REPLY_STATUS, "OK", "MULTI"));
    freeReplyObject(expect(c, "queued", REDIS_REPLY_STATUS, "QUEUED", "SET %stx 10", prefix));
    freeReplyObject(expect(c, "queued", REDIS_REPLY_STATUS, "QUEUED", "INCRBY %stx 5", prefix));
    freeReplyObject(expect(c, "queued", REDIS_REPLY_STATUS, "QUEUED", "GET %snone", prefix));
    redisReply *r = expect(c, "exec", REDIS_REPLY_ARRAY, NULL, "EXEC");
    if (r->elements != 3 || r->element[0]->type != REDIS_REPLY_STATUS ||
        r->element[1]->type != REDIS_REPLY_INTEGER || r->element[1]->integer != 15 ||
        r->element[2]->type != REDIS_REPLY_NIL)
        fail("exec", "unexpected array of %zu", r->elements);
    freeReplyObject(r);
    freeReplyObject(expect(c, "exec-without-multi", REDIS_REPLY_ERROR, "ERR EXEC without MULTI",
                           "EXEC"));
    printf("ok multi/exec\n");
}

static void check_watch(redisContext *c)
{
    redisContext *other = connect_or_die();
    freeReplyObject(expect(c, "watch", REDIS_REPLY_STATUS, "OK", "WATCH %sw", prefix));
    freeReplyObject(expect(other, "other-set", REDIS_REPLY_STATUS, "OK", "SET %sw 1", prefix));
    freeReplyObject(expect(c, "multi", REDIS_REPLY_STATUS, "OK", "MULTI"));
    freeReplyObject(expect(c, "queued", REDIS_REPLY_STATUS, "QUEUED", "SET %sw 2", prefix));
    freeReplyObject(expect(c, "exec-watched", REDIS_REPLY_NIL, NULL, "EXEC"));
    freeReplyObject(expect(c, "get-after", REDIS_REPLY_STRING, "1", "GET %sw", prefix));
    redisFree(other);
    printf("ok watch\n");
}

static void check_big_and_session(redisContext *c)
{
    size_t len = 1 << 20;
    char *big = malloc(len);
    for (size_t i = 0; i < len; i++)
        big[i] = (char)(i * 7);
    freeReplyObject(expect(c, "set-1mb", REDIS_REPLY_STATUS, "OK", "SET %sbig %b", prefix, big,
                           len));
    redisReply *r = expect(c, "get-1mb", REDIS_REPLY_STRING, NULL, "GET %sbig", prefix);
    if (r->len != len || memcmp(r->str, big, len) != 0)
        fail("get-1mb", "value differs (len %zu)", r->len);
    freeReplyObject(r);
    free(big);
    freeReplyObject(expect(c, "setname", REDIS_REPLY_STATUS, "OK", "CLIENT SETNAME hiredis"));
    freeReplyObject(expect(c, "getname", REDIS_REPLY_STRING, "hiredis", "CLIENT GETNAME"));
    r = expect(c, "info", REDIS_REPLY_STRING, NULL, "INFO server");
    if (!strstr(r->str, "redis_version:"))
        fail("info", "no redis_version");
    freeReplyObject(r);
    printf("ok 1 MB value, client name, info\n");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    snprintf(prefix, sizeof prefix, "hi:%d:", (int)getpid());
    redisContext *c = connect_or_die();
    check_types(c);
    check_pipeline(c);
    check_multi(c);
    check_watch(c);
    check_big_and_session(c);
    redisFree(c);
    printf("all checks passed\n");
    return 0;
}
