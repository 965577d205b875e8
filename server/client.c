/* client.c -- coordinator clients: dispatch, read-your-writes parking, in-order replies.
 *
 * See client.h for the queue diagram. Invariants, checked by assert_client():
 *   - writes == number of slots in the queue with is_write && !done;
 *   - parked != NULL only while the connection is paused;
 *   - imm (the slot of an immediate reply during dispatch) is only set inside dispatch.
 */
#include "client.h"

#include <assert.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "conn.h"
#include "op.h"

struct slot {
    struct client *cl;
    struct evbuffer *buf;
    struct resp_writer w;
    int done, is_write;
    struct slot *next;
};

struct client {
    struct conn *conn; /* NULL once the connection closed */
    struct slot *head, *tail;
    size_t nslots, writes;
    struct slot *imm;
    struct op *parked;
    int proto, close_when_drained;
    uint64_t id;
};

static const struct client_hooks *hooks;
static size_t nclients;

static void assert_client(const struct client *cl)
{
#ifndef NDEBUG
    size_t w = 0, n = 0;
    for (const struct slot *s = cl->head; s; s = s->next, n++)
        w += s->is_write && !s->done;
    assert(w == cl->writes && n == cl->nslots);
#endif
}

void client_init(const struct client_hooks *h)
{
    hooks = h;
}

size_t client_count(void)
{
    return nclients;
}

static int evbuffer_sink(void *sink, const void *data, size_t len)
{
    return evbuffer_add(sink, data, len);
}

static void client_free(struct client *cl)
{
    op_free(cl->parked);
    free(cl);
    nclients--;
}

int client_on_open(struct conn *c)
{
    struct client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return -1;
    cl->conn = c;
    cl->proto = 2;
    cl->id = conn_id(c);
    conn_set_data(c, cl);
    nclients++;
    return 0;
}

void client_on_close(struct conn *c)
{
    struct client *cl = conn_data(c);
    cl->conn = NULL;
    if (cl->nslots == 0)
        client_free(cl);
}

void client_on_request(struct conn *c, const struct resp_request *req)
{
    struct client *cl = conn_data(c);
    hooks->dispatch(cl, req);
    if (cl->imm) {
        struct slot *s = cl->imm;
        cl->imm = NULL;
        slot_done(s);
    }
    assert_client(cl);
}

struct resp_writer *client_reply_writer(struct client *cl)
{
    if (!cl->head) {
        struct resp_writer *w = conn_writer(cl->conn);
        w->proto = cl->proto;
        return w;
    }
    if (!cl->imm)
        cl->imm = client_slot_new(cl, 0);
    return slot_writer(cl->imm);
}

struct slot *client_slot_new(struct client *cl, int is_write)
{
    struct slot *s = calloc(1, sizeof *s);
    if (!s || !(s->buf = evbuffer_new())) {
        free(s);
        return NULL;
    }
    s->cl = cl;
    s->is_write = is_write;
    s->w = (struct resp_writer){ evbuffer_sink, s->buf, cl->proto };
    if (cl->tail)
        cl->tail->next = s;
    else
        cl->head = s;
    cl->tail = s;
    cl->nslots++;
    cl->writes += is_write;
    return s;
}

struct resp_writer *slot_writer(struct slot *s)
{
    return &s->w;
}

/* Sends (or, for a closed client, drops) every completed slot at the head of the queue. */
static void flush_done(struct client *cl)
{
    int sent = 0;
    while (cl->head && cl->head->done) {
        struct slot *s = cl->head;
        cl->head = s->next;
        if (!cl->head)
            cl->tail = NULL;
        cl->nslots--;
        if (cl->conn) {
            conn_add_buffer(cl->conn, s->buf);
            sent = 1;
        }
        evbuffer_free(s->buf);
        free(s);
    }
    if (!cl->conn)
        return;
    if (!cl->head && cl->close_when_drained)
        conn_close_after_reply(cl->conn);
    if (sent)
        conn_flush(cl->conn);
}

static void dispatch_parked(struct client *cl)
{
    struct op *op = cl->parked;
    cl->parked = NULL;
    struct resp_request req = { op->argc, op->argv, op->lens };
    client_on_request(cl->conn, &req);
    op_free(op);
    if (cl->conn && !cl->parked)
        conn_resume(cl->conn);
}

void slot_done(struct slot *s)
{
    struct client *cl = s->cl;
    s->done = 1;
    if (s->is_write)
        cl->writes--;
    flush_done(cl);
    if (!cl->conn) {
        if (cl->nslots == 0)
            client_free(cl);
        return;
    }
    if (cl->parked && cl->writes == 0)
        dispatch_parked(cl);
}

int client_has_writes(const struct client *cl)
{
    return cl->writes > 0;
}

void client_park(struct client *cl, const struct resp_request *req)
{
    assert(!cl->parked);
    cl->parked = op_new(req->argc, req->argv, req->lens);
    if (!cl->parked) {
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    conn_pause(cl->conn);
}

struct conn *client_conn(const struct client *cl) { return cl->conn; }
int client_proto(const struct client *cl) { return cl->proto; }
void client_set_proto(struct client *cl, int proto) { cl->proto = proto; }
uint64_t client_id(const struct client *cl) { return cl->id; }

void client_close_after_reply(struct client *cl)
{
    if (!cl->conn)
        return;
    conn_pause(cl->conn);
    if (cl->head || cl->imm)
        cl->close_when_drained = 1;
    else
        conn_close_after_reply(cl->conn);
}
