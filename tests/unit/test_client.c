/* test_client.c -- unit tests of server/client.c: the per-client reply queue.
 *
 * The client layer is driven as the connection layer drives it (client_on_open,
 * client_on_request, client_on_close) over a fake conn (fake_conn.c, the seam below it),
 * with a dispatch hook standing for the command layer above it. The hook reads the
 * command name as an instruction:
 *
 *     w NAME   open a write slot (answered later with +NAME by complete())
 *     r NAME   open a read slot
 *     i NAME   answer +NAME at once, through client_reply_writer()
 *     p NAME   a read that must see this client's writes: park while any is outstanding,
 *              else answer +NAME
 *
 * and the cases check what reaches the socket, and when: replies leave in request order
 * whatever order the slots complete in.
 *
 * Run: test_client [case]   (no argument: every case)
 */
#include "check_common.h"
#include "client.h"
#include "fake_conn.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OPEN 4096

static struct slot *open_slots[MAX_OPEN];
static char open_names[MAX_OPEN][16];
static size_t nopen, dispatched;

static void dispatch(struct client *cl, const struct resp_request *req)
{
    const char *op = req->argv[0], *name = req->argc > 1 ? req->argv[1] : "";
    dispatched++;
    if (op[0] == 'w' || op[0] == 'r') {
        CHECK(nopen < MAX_OPEN);
        open_slots[nopen] = client_slot_new(cl, op[0] == 'w');
        CHECK(open_slots[nopen] != NULL);
        snprintf(open_names[nopen++], sizeof open_names[0], "%s", name);
    } else if (op[0] == 'p' && client_has_writes(cl)) {
        client_park(cl, req);
    } else {
        resp_write_simple(client_reply_writer(cl), name);
    }
}

static const struct client_hooks hooks = { dispatch, NULL, NULL, NULL };

static void send_req(struct conn *c, const char *op, const char *name)
{
    char *argv[2] = { (char *)op, (char *)name };
    size_t lens[2] = { strlen(op), strlen(name) };
    struct resp_request req = { 2, argv, lens };
    client_on_request(c, &req);
}

/* Completes the i-th slot opened, with +NAME (or with raw bytes when raw is set). */
static void complete(size_t i, const char *raw)
{
    struct resp_writer *w = slot_writer(open_slots[i]);
    if (raw)
        w->write(w->sink, raw, strlen(raw));
    else
        resp_write_simple(w, open_names[i]);
    slot_done(open_slots[i]);
}

static void expect_sent(struct conn *c, const char *want)
{
    size_t len;
    const char *got = fake_conn_sent(c, &len);
    if (len != strlen(want) || memcmp(got, want, len) != 0)
        check_fail(__FILE__, __LINE__, "sent \"%s\", want \"%s\"", got, want);
}

static struct conn *fresh(void)
{
    static uint64_t id;
    client_init(&hooks);
    nopen = dispatched = 0;
    struct conn *c = fake_conn_new(++id);
    CHECK_INT_EQ(client_on_open(c), 0);
    return c;
}

static void finish(struct conn *c)
{
    client_on_close(c);
    fake_conn_free(c);
}

/* client.h's example: SET a, GET b, SET c; GET b answers first, then the round. */
static void test_out_of_order(void)
{
    struct conn *c = fresh();
    send_req(c, "w", "A");
    send_req(c, "r", "B");
    send_req(c, "w", "C");
    complete(1, NULL);
    expect_sent(c, "");
    complete(0, NULL);
    expect_sent(c, "+A\r\n+B\r\n");
    complete(2, NULL);
    expect_sent(c, "+A\r\n+B\r\n+C\r\n");
    finish(c);
}

/* Reverse completion of many slots: nothing leaves until the first is done, then all. */
static void test_reverse_order(void)
{
    struct conn *c = fresh();
    char want[64 * 8] = "", name[8];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "s%d", i);
        send_req(c, i % 2 ? "r" : "w", name);
        strcat(want, "+"), strcat(want, name), strcat(want, "\r\n");
    }
    for (size_t i = nopen; i-- > 1;)
        complete(i, NULL);
    expect_sent(c, "");
    complete(0, NULL);
    expect_sent(c, want);
    finish(c);
}

/* An immediate reply behind a pending slot waits its turn; with none pending it leaves
 * at once. */
static void test_immediate_waits(void)
{
    struct conn *c = fresh();
    send_req(c, "i", "PONG");
    expect_sent(c, "");          /* staged: the connection flushes after the batch */
    conn_flush(c);
    expect_sent(c, "+PONG\r\n");
    fake_conn_clear(c);
    send_req(c, "w", "A");
    send_req(c, "i", "LATER");
    conn_flush(c);
    expect_sent(c, "");          /* LATER waits behind A */
    complete(0, NULL);
    expect_sent(c, "+A\r\n+LATER\r\n");
    finish(c);
}

/* Read-your-writes: a parked request runs once this client's writes are done, and the
 * connection is paused meanwhile. */
static void test_park_until_writes_done(void)
{
    struct conn *c = fresh();
    send_req(c, "w", "A");
    CHECK(client_has_writes(conn_data(c)));
    send_req(c, "p", "READ");
    CHECK_INT_EQ(dispatched, 2);
    CHECK(client_is_parked(conn_data(c)));
    CHECK(fake_conn_paused(c));
    complete(0, NULL);
    CHECK_INT_EQ(dispatched, 3); /* ran again, now without writes outstanding */
    CHECK(!client_is_parked(conn_data(c)));
    CHECK(!fake_conn_paused(c));
    expect_sent(c, "+A\r\n");   /* READ's reply is staged behind it */
    finish(c);
}

/* Back-pressure: input pauses at CLIENT_MAX_PENDING queued replies, resumes at half. */
static void test_pending_cap(void)
{
    struct conn *c = fresh();
    for (int i = 0; i < CLIENT_MAX_PENDING; i++)
        send_req(c, "r", "x");
    CHECK(fake_conn_paused(c));
    CHECK_INT_EQ(client_pending_total(), CLIENT_MAX_PENDING);
    size_t i = 0;
    for (; i < CLIENT_MAX_PENDING / 2 - 1; i++)
        complete(i, NULL);
    CHECK(fake_conn_paused(c));
    complete(i, NULL);
    CHECK(!fake_conn_paused(c));
    for (i++; i < nopen; i++)
        complete(i, NULL);
    CHECK_INT_EQ(client_pending_total(), 0);
    finish(c);
}

/* A closed client lives until its last slot is done; its replies go nowhere. */
static void test_closed_client_drops(void)
{
    struct conn *c = fresh();
    send_req(c, "w", "A");
    send_req(c, "r", "B");
    struct client *cl = conn_data(c);
    client_on_close(c);
    CHECK(client_conn(cl) == NULL);
    CHECK_INT_EQ(client_count(), 0);
    complete(1, NULL);
    complete(0, NULL); /* the client is freed here (ASan builds check it) */
    expect_sent(c, "");
    fake_conn_free(c);
}

/* RESP3: a write slot's RESP2 result is re-encoded (a null becomes "_"); a RESP2
 * client's stays as it came. */
static void test_resp3_reencode(void)
{
    struct conn *c = fresh();
    send_req(c, "w", "A");
    client_set_proto(conn_data(c), 3);
    send_req(c, "w", "B");
    complete(0, "$-1\r\n");
    complete(1, "*2\r\n$-1\r\n:1\r\n");
    expect_sent(c, "_\r\n*2\r\n_\r\n:1\r\n"); /* re-encoding is decided at completion */
    client_set_proto(conn_data(c), 2);
    send_req(c, "w", "C");
    complete(2, "$-1\r\n");
    expect_sent(c, "_\r\n*2\r\n_\r\n:1\r\n$-1\r\n");
    finish(c);
}

static int detached_calls;
static char detached_got[64];

static void on_detached(void *arg, const char *bytes, size_t len)
{
    detached_calls++;
    snprintf(detached_got, sizeof detached_got, "%.*s", (int)len, bytes);
    CHECK(arg == &detached_calls);
}

/* A detached slot's bytes go to its callback, once, not to the socket. */
static void test_detached_slot(void)
{
    struct conn *c = fresh();
    struct slot *s = client_slot_detached(conn_data(c), on_detached, &detached_calls);
    CHECK(s != NULL);
    resp_write_int(slot_writer(s), 5);
    slot_done(s);
    CHECK_INT_EQ(detached_calls, 1);
    CHECK_STR_EQ(detached_got, ":5\r\n");
    expect_sent(c, "");
    finish(c);
}

static const struct check_case cases[] = {
    {"out_of_order", test_out_of_order},
    {"reverse_order", test_reverse_order},
    {"immediate_waits", test_immediate_waits},
    {"park_until_writes_done", test_park_until_writes_done},
    {"pending_cap", test_pending_cap},
    {"closed_client_drops", test_closed_client_drops},
    {"resp3_reencode", test_resp3_reencode},
    {"detached_slot", test_detached_slot},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
