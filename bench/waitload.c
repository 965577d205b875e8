/* waitload.c -- twopc-waitload: a closed-loop SET load generator that can follow every SET
 * with WAIT, which redis-benchmark cannot do (issue #15: twopc beside Redis with two
 * replicas, where "acknowledged on every replica" is SET then WAIT 2 0).
 *
 * -c clients connect; each sends a SET of a random key (key:%012d below -r, a -d-byte
 * value, as redis-benchmark -t set writes them) and, with -w N, a WAIT N T in the same
 * write (the best case for Redis: one round trip for both), then waits for the last reply
 * before its next request. A request's latency runs from its write to its last reply. One
 * thread, hiredis's async API on libevent, as the coordinator's replica links.
 *
 * Output, one CSV line on stdout:
 *   requests,seconds,rps,avg_ms,p50_ms,p99_ms,max_ms
 * Exit status 0; 1 if any reply was an error or WAIT counted fewer replicas than asked (the
 * first such reply on stderr), or a connection failed; 2 on bad arguments.
 *
 *   twopc-waitload -p 6379 -c 50 -n 100000 -w 2
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

struct load {
    struct event_base *base;
    const char *host;
    int port, clients, wait_replicas, wait_timeout_ms, datasize;
    long requests, keyspace, issued, done, failed;
    int live;
    uint64_t *lat_ns; /* one per completed request */
    char *value;
    uint64_t seed;
};

struct client {
    struct load *l;
    redisAsyncContext *ac;
    uint64_t t0; /* when the current request was written */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: the keys need only be spread, not unpredictable. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static void send_request(struct client *c);

static void fail(struct load *l, const char *what, const redisReply *r)
{
    if (l->failed++ == 0)
        fprintf(stderr, "twopc-waitload: %s: %s\n", what,
                r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply")
                  : "connection lost");
}

static void on_set(redisAsyncContext *ac, void *reply, void *priv)
{
    struct client *c = priv;
    const redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_STATUS)
        fail(c->l, "SET", r);
    if (!c->l->wait_replicas) {
        c->l->lat_ns[c->l->done++] = now_ns() - c->t0;
        send_request(c);
    }
}

static void on_wait(redisAsyncContext *ac, void *reply, void *priv)
{
    struct client *c = priv;
    const redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer < c->l->wait_replicas)
        fail(c->l, "WAIT", r);
    c->l->lat_ns[c->l->done++] = now_ns() - c->t0;
    send_request(c);
}

static void finish_client(struct client *c)
{
    struct load *l = c->l;
    redisAsyncDisconnect(c->ac);
    if (--l->live == 0)
        event_base_loopbreak(l->base);
}

static void send_request(struct client *c)
{
    struct load *l = c->l;
    if (l->issued >= l->requests || l->failed) {
        finish_client(c);
        return;
    }
    l->issued++;
    char key[32];
    int klen = snprintf(key, sizeof key, "key:%012ld",
                        (long)(next_rand(&l->seed) % (uint64_t)l->keyspace));
    c->t0 = now_ns();
    redisAsyncCommand(c->ac, on_set, c, "SET %b %b", key, (size_t)klen, l->value,
                      (size_t)l->datasize);
    if (l->wait_replicas)
        redisAsyncCommand(c->ac, on_wait, c, "WAIT %d %d", l->wait_replicas,
                          l->wait_timeout_ms);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct client *c = ac->data;
    if (status != REDIS_OK) {
        fprintf(stderr, "twopc-waitload: connect to %s:%d: %s\n", c->l->host, c->l->port,
                ac->errstr);
        c->l->failed++;
        if (--c->l->live == 0)
            event_base_loopbreak(c->l->base);
        return;
    }
    send_request(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)ac;
    (void)status;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: twopc-waitload [-h host] -p port [-c clients] [-n requests] [-d bytes]\n"
            "                      [-r keyspace] [-w replicas [-t wait-timeout-ms]]\n"
            "  -c  concurrent connections, one request in flight each (default 50)\n"
            "  -n  requests in all (default 100000)\n"
            "  -d  value size (default 3, as redis-benchmark)\n"
            "  -r  keys drawn from key:000000000000 to -r - 1 (default 1000000)\n"
            "  -w  follow every SET with WAIT <replicas> <timeout> (default: no WAIT)\n"
            "  -t  WAIT's timeout in ms (default 0: wait for ever)\n");
}

static long arg_long(const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min) {
        fprintf(stderr, "twopc-waitload: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct load l = { .host = "127.0.0.1", .clients = 50, .requests = 100000,
                      .datasize = 3, .keyspace = 1000000, .seed = 0x9e3779b97f4a7c15ull };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc || a[0] != '-' || strlen(a) != 2) {
            usage();
            return 2;
        }
        const char *v = argv[++i];
        switch (a[1]) {
        case 'h': l.host = v; break;
        case 'p': l.port = (int)arg_long(v, 1); break;
        case 'c': l.clients = (int)arg_long(v, 1); break;
        case 'n': l.requests = arg_long(v, 1); break;
        case 'd': l.datasize = (int)arg_long(v, 0); break;
        case 'r': l.keyspace = arg_long(v, 1); break;
        case 'w': l.wait_replicas = (int)arg_long(v, 0); break;
        case 't': l.wait_timeout_ms = (int)arg_long(v, 0); break;
        default: usage(); return 2;
        }
    }
    if (!l.port) {
        usage();
        return 2;
    }
    l.lat_ns = calloc((size_t)l.requests, sizeof *l.lat_ns);
    l.value = malloc((size_t)l.datasize + 1);
    struct client *cs = calloc((size_t)l.clients, sizeof *cs);
    l.base = event_base_new();
    if (!l.lat_ns || !l.value || !cs || !l.base) {
        fprintf(stderr, "twopc-waitload: out of memory\n");
        return 1;
    }
    memset(l.value, 'x', (size_t)l.datasize);
    uint64_t t0 = now_ns();
    for (int i = 0; i < l.clients; i++) {
        struct client *c = &cs[i];
        c->l = &l;
        c->ac = redisAsyncConnect(l.host, l.port);
        if (!c->ac || c->ac->err) {
            fprintf(stderr, "twopc-waitload: connect to %s:%d: %s\n", l.host, l.port,
                    c->ac ? c->ac->errstr : "out of memory");
            return 1;
        }
        c->ac->data = c;
        redisLibeventAttach(c->ac, l.base);
        redisAsyncSetConnectCallback(c->ac, on_connect);
        redisAsyncSetDisconnectCallback(c->ac, on_disconnect);
        l.live++;
    }
    event_base_dispatch(l.base);
    double secs = (double)(now_ns() - t0) / 1e9;
    if (l.failed || l.done == 0) {
        fprintf(stderr, "twopc-waitload: %ld of %ld requests failed\n", l.failed, l.issued);
        return 1;
    }
    qsort(l.lat_ns, (size_t)l.done, sizeof *l.lat_ns, cmp_u64);
    double sum = 0;
    for (long i = 0; i < l.done; i++)
        sum += (double)l.lat_ns[i];
    printf("%ld,%.3f,%.0f,%.3f,%.3f,%.3f,%.3f\n", l.done, secs, (double)l.done / secs,
           sum / (double)l.done / 1e6, (double)l.lat_ns[l.done / 2] / 1e6,
           (double)l.lat_ns[(long)((double)l.done * 0.99)] / 1e6,
           (double)l.lat_ns[l.done - 1] / 1e6);
    event_base_free(l.base);
    free(cs);
    free(l.value);
    free(l.lat_ns);
    return 0;
}
