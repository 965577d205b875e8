/* fake_conn.c -- conn.h's functions over memory buffers (see fake_conn.h).
 *
 * Only what the client layer calls is here; a front-end test that pulls in another user
 * of conn.h fails to link, which is the signal to extend this file rather than to link
 * the real connections.
 */
#include "fake_conn.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

struct conn {
    struct evbuffer *staged, *sent;
    struct resp_writer w;
    void *data;
    char *copy; /* fake_conn_sent()'s answer */
    uint64_t id;
    int paused, closing;
    enum conn_output_class oclass;
};

static int buffer_sink(void *sink, const void *data, size_t len)
{
    return evbuffer_add(sink, data, len);
}

struct conn *fake_conn_new(uint64_t id)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->staged = evbuffer_new();
    c->sent = evbuffer_new();
    c->w = (struct resp_writer){ buffer_sink, c->staged, 2 };
    c->id = id;
    return c;
}

const char *fake_conn_sent(struct conn *c, size_t *len)
{
    *len = evbuffer_get_length(c->sent);
    free(c->copy);
    if (!(c->copy = malloc(*len + 1)))
        abort();
    evbuffer_copyout(c->sent, c->copy, *len);
    c->copy[*len] = 0;
    return c->copy;
}

void fake_conn_clear(struct conn *c)
{
    evbuffer_drain(c->sent, evbuffer_get_length(c->sent));
}

int fake_conn_paused(const struct conn *c) { return c->paused; }
int fake_conn_closing(const struct conn *c) { return c->closing; }

void fake_conn_free(struct conn *c)
{
    evbuffer_free(c->staged);
    evbuffer_free(c->sent);
    free(c->copy);
    free(c);
}

/* ---- conn.h ---- */

struct resp_writer *conn_writer(struct conn *c) { return &c->w; }
void conn_set_data(struct conn *c, void *data) { c->data = data; }
void *conn_data(const struct conn *c) { return c->data; }
uint64_t conn_id(const struct conn *c) { return c->id; }
const char *conn_peer(const struct conn *c) { return "127.0.0.1:4242"; }
int conn_fd(const struct conn *c) { return -1; }
void conn_pause(struct conn *c) { c->paused = 1; }
void conn_set_unauthenticated(struct conn *c, int yes) { (void)c, (void)yes; }
void conn_resume(struct conn *c) { c->paused = 0; }
void conn_close_after_reply(struct conn *c) { c->closing = 1; }

void conn_buffered(const struct conn *c, size_t *in, size_t *out)
{
    *in = 0;
    *out = evbuffer_get_length(c->staged);
}

int conn_add_buffer(struct conn *c, struct evbuffer *buf)
{
    return evbuffer_add_buffer(c->staged, buf);
}

void conn_set_output_class(struct conn *c, enum conn_output_class cls) { c->oclass = cls; }
int fake_conn_output_class(const struct conn *c) { return (int)c->oclass; }

void conn_flush(struct conn *c)
{
    evbuffer_add_buffer(c->sent, c->staged);
}
