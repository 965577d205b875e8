/* test_pubsub.c -- unit tests of server/pubsub.c over the client layer and fake conns.
 *
 * Requests run the registered command directly (registry_lookup, then its fn: no
 * request.c checklist), as many clients as a case needs, each on a fake conn whose sent
 * bytes are checked exactly: confirmations, messages and their order, PUBLISH's count,
 * the conn's output class while subscribed, and that a closed client leaves its channels.
 *
 * Run: test_pubsub [case]   (no argument: every case)
 */
#include "check_common.h"
#include "client.h"
#include "fake_conn.h"
#include "pubsub.h"
#include "registry.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void dispatch(struct client *cl, const struct resp_request *req)
{
    const struct command *cmd = registry_lookup(req->argv[0], req->lens[0]);
    CHECK(cmd != NULL);
    cmd->fn(cl, req);
}

static const struct client_hooks hooks = { dispatch, pubsub_forget, NULL, NULL };

/* Sends the command of the NULL-terminated words on c. */
static void cmd(struct conn *c, ...)
{
    char *argv[16];
    size_t lens[16];
    int argc = 0;
    va_list ap;
    va_start(ap, c);
    for (char *w; (w = va_arg(ap, char *)) != NULL && argc < 16; argc++) {
        argv[argc] = w;
        lens[argc] = strlen(w);
    }
    va_end(ap);
    struct resp_request req = { argc, argv, lens };
    client_on_request(c, &req);
}

/* Checks (and forgets) what c was sent; an immediate reply is flushed first, as conn.c
 * does after the batch of requests it read. */
static void expect(struct conn *c, const char *want, int line)
{
    size_t len;
    conn_flush(c);
    const char *got = fake_conn_sent(c, &len);
    if (len != strlen(want) || memcmp(got, want, len) != 0)
        check_fail(__FILE__, line, "sent \"%s\", want \"%s\"", got, want);
    fake_conn_clear(c);
}
#define EXPECT(c, want) expect(c, want, __LINE__)

static struct conn *fresh(void)
{
    static uint64_t id;
    static int ready;
    client_init(&hooks);
    if (!ready) {
        CHECK_INT_EQ(pubsub_init(), 0);
        ready = 1;
    }
    struct conn *c = fake_conn_new(++id);
    CHECK_INT_EQ(client_on_open(c), 0);
    return c;
}

static void finish(struct conn *c)
{
    client_on_close(c);
    fake_conn_free(c);
}

static void expect_counts(size_t ch, size_t pat, size_t shard)
{
    size_t a, b, s;
    pubsub_counts(&a, &b, &s);
    CHECK_INT_EQ((long long)a, (long long)ch);
    CHECK_INT_EQ((long long)b, (long long)pat);
    CHECK_INT_EQ((long long)s, (long long)shard);
}

/* A channel subscriber and a pattern subscriber; one client with both gets both messages,
 * channel first; PUBLISH counts every delivery. */
static void test_fan_out(void)
{
    struct conn *a = fresh(), *b = fresh(), *p = fresh();
    cmd(a, "subscribe", "news", NULL);
    EXPECT(a, "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    cmd(b, "subscribe", "news", NULL);
    cmd(b, "psubscribe", "n*", NULL);
    EXPECT(b, "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
              "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n");
    cmd(p, "publish", "news", "hi", NULL);
    EXPECT(p, ":3\r\n");
    EXPECT(a, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    EXPECT(b, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
              "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    cmd(p, "publish", "other", "x", NULL);
    EXPECT(p, ":0\r\n");
    EXPECT(a, "");
    expect_counts(1, 1, 0);
    finish(a);
    finish(b);
    finish(p);
    expect_counts(0, 0, 0);
}

/* RESP3: pushes; a publisher subscribed to its own channel gets the message first. */
static void test_resp3_push(void)
{
    struct conn *c = fresh();
    client_set_proto(conn_data(c), 3);
    cmd(c, "ssubscribe", "s", NULL);
    cmd(c, "subscribe", "s", NULL);
    EXPECT(c, ">3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"
              ">3\r\n$9\r\nsubscribe\r\n$1\r\ns\r\n:1\r\n");
    cmd(c, "publish", "s", "m", NULL);
    EXPECT(c, ">3\r\n$7\r\nmessage\r\n$1\r\ns\r\n$1\r\nm\r\n:1\r\n");
    cmd(c, "spublish", "s", "n", NULL);
    EXPECT(c, ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nn\r\n:1\r\n");
    cmd(c, "sunsubscribe", NULL);
    EXPECT(c, ">3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n");
    finish(c);
}

/* UNSUBSCRIBE with no argument: every channel in subscription order, counting down; then a
 * null channel and 0 once there is none. */
static void test_unsubscribe_all(void)
{
    struct conn *c = fresh();
    cmd(c, "subscribe", "b", "a", "b", NULL);
    EXPECT(c, "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:1\r\n"
              "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
              "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
    cmd(c, "unsubscribe", NULL);
    EXPECT(c, "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n"
              "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n");
    cmd(c, "unsubscribe", NULL);
    EXPECT(c, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    expect_counts(0, 0, 0);
    finish(c);
}

/* The conn takes the pubsub class of client-output-buffer-limit while subscribed. */
static void test_output_class(void)
{
    struct conn *c = fresh();
    CHECK_INT_EQ(fake_conn_output_class(c), CONN_OUTPUT_NORMAL);
    cmd(c, "psubscribe", "x*", NULL);
    CHECK_INT_EQ(fake_conn_output_class(c), CONN_OUTPUT_PUBSUB);
    CHECK(pubsub_active(conn_data(c)));
    cmd(c, "subscribe", "y", NULL);
    cmd(c, "punsubscribe", NULL);
    CHECK_INT_EQ(fake_conn_output_class(c), CONN_OUTPUT_PUBSUB); /* y is left */
    cmd(c, "unsubscribe", "y", NULL);
    CHECK_INT_EQ(fake_conn_output_class(c), CONN_OUTPUT_NORMAL);
    CHECK(!pubsub_active(conn_data(c)));
    cmd(c, "ssubscribe", "z", NULL);
    pubsub_forget(conn_data(c)); /* RESET */
    CHECK_INT_EQ(fake_conn_output_class(c), CONN_OUTPUT_NORMAL);
    expect_counts(0, 0, 0);
    finish(c);
}

/* A client that closes leaves every channel, pattern and shard channel; the others stay. */
static void test_close_forgets(void)
{
    struct conn *a = fresh(), *b = fresh(), *p = fresh();
    cmd(a, "subscribe", "c1", "c2", NULL);
    cmd(a, "psubscribe", "c*", NULL);
    cmd(a, "ssubscribe", "s", NULL);
    cmd(b, "subscribe", "c1", NULL);
    expect_counts(2, 1, 1);
    finish(a);
    expect_counts(1, 0, 0);
    fake_conn_clear(p);
    cmd(p, "publish", "c1", "m", NULL);
    EXPECT(p, ":1\r\n");
    cmd(p, "pubsub", "numsub", "c1", "c2", NULL);
    EXPECT(p, "*4\r\n$2\r\nc1\r\n:1\r\n$2\r\nc2\r\n:0\r\n");
    finish(b);
    finish(p);
    expect_counts(0, 0, 0);
}

static const struct check_case cases[] = {
    {"fan_out", test_fan_out},
    {"resp3_push", test_resp3_push},
    {"unsubscribe_all", test_unsubscribe_all},
    {"output_class", test_output_class},
    {"close_forgets", test_close_forgets},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
