/* link_reply.c -- replies from replicas (hiredis's redisReply behind an opaque type),
 * formatted commands, and the TPC.HELLO answer. See link_reply.h.
 *
 * Only hiredis's reply reader is used here (no connection): the engine and the simulator
 * link this file without the async client.
 */
#include "link_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "record.h"
#include "version.h"

/* A link_reply is a redisReply; the cast keeps hiredis out of every other header. */
static const redisReply *R(const struct link_reply *r) { return (const redisReply *)r; }

int link_reply_is_error(const struct link_reply *r)
{
    return R(r)->type == REDIS_REPLY_ERROR;
}

int link_reply_is_status(const struct link_reply *r, const char *text)
{
    return R(r)->type == REDIS_REPLY_STATUS && strcmp(R(r)->str, text) == 0;
}

const char *link_reply_str(const struct link_reply *r, size_t *len)
{
    int t = R(r)->type;
    if (t != REDIS_REPLY_STRING && t != REDIS_REPLY_STATUS && t != REDIS_REPLY_ERROR)
        return NULL;
    *len = R(r)->len;
    return R(r)->str;
}

int link_reply_int(const struct link_reply *r, long long *v)
{
    if (R(r)->type != REDIS_REPLY_INTEGER)
        return -1;
    *v = R(r)->integer;
    return 0;
}

size_t link_reply_len(const struct link_reply *r)
{
    return R(r)->type == REDIS_REPLY_ARRAY ? R(r)->elements : 0;
}

const struct link_reply *link_reply_elem(const struct link_reply *r, size_t i)
{
    return (const struct link_reply *)R(r)->element[i];
}

int link_reply_write(const struct link_reply *r, struct resp_writer *w)
{
    const redisReply *x = R(r);
    switch (x->type) {
    case REDIS_REPLY_STATUS: return resp_write_simple(w, x->str);
    case REDIS_REPLY_ERROR: return resp_write_error(w, x->str);
    case REDIS_REPLY_INTEGER: return resp_write_int(w, x->integer);
    case REDIS_REPLY_STRING: return resp_write_bulk(w, x->str, x->len);
    case REDIS_REPLY_NIL: return resp_write_null(w);
    case REDIS_REPLY_ARRAY:
        if (resp_write_array(w, x->elements) < 0)
            return -1;
        for (size_t i = 0; i < x->elements; i++)
            if (link_reply_write(link_reply_elem(r, i), w) < 0)
                return -1;
        return 0;
    default: return resp_write_error(w, "ERR unexpected reply from replica");
    }
}

/* An integer element of r that is not negative (a round id, an identity). */
static int is_count(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER && r->integer >= 0;
}

int link_reply_hello(const struct link_reply *reply, struct link_hello *h)
{
    const redisReply *r = R(reply);
    /* 6 elements: applied, max_rid, [in doubt], durable, cluster, member; a replica from
     * before identities answers the first 4 (and has none: 0, 0). */
    if (r->type != REDIS_REPLY_ARRAY ||
        (r->elements != 4 && r->elements != 6 && r->elements != 10) ||
        !is_count(r->element[0]) || !is_count(r->element[1]) ||
        r->element[2]->type != REDIS_REPLY_ARRAY || !is_count(r->element[3]))
        return -1;
    int ided = r->elements >= 6, versioned = r->elements == 10;
    if (ided && (!is_count(r->element[4]) || !is_count(r->element[5])))
        return -1;
    if (versioned && (!is_count(r->element[6]) || !is_count(r->element[7]) ||
                      !is_count(r->element[8]) || r->element[9]->type != REDIS_REPLY_STRING ||
                      r->element[8]->integer > 1000))
        return -1;
    size_t n = r->element[2]->elements;
    for (size_t i = 0; i < n; i++)
        if (r->element[2]->element[i]->type != REDIS_REPLY_INTEGER)
            return -1;
    uint64_t *rids = calloc(n ? n : 1, sizeof *rids);
    if (!rids)
        return -1;
    for (size_t i = 0; i < n; i++)
        rids[i] = (uint64_t)r->element[2]->element[i]->integer;
    *h = (struct link_hello){ .applied = (uint64_t)r->element[0]->integer,
                              .max_rid = (uint64_t)r->element[1]->integer,
                              .n_in_doubt = n, .in_doubt = rids,
                              .durable = (uint64_t)r->element[3]->integer,
                              .cluster = ided ? (uint64_t)r->element[4]->integer : 0,
                              .member = ided ? (uint64_t)r->element[5]->integer : 0 };
    if (versioned) {
        h->proto = (int)r->element[6]->integer;
        h->proto_min = (int)r->element[7]->integer;
        h->proto_max = (int)r->element[8]->integer;
        size_t rn = r->element[9]->len < sizeof h->release - 1 ? r->element[9]->len
                                                                : sizeof h->release - 1;
        for (size_t i = 0; i < rn; i++) {
            unsigned char ch = (unsigned char)r->element[9]->str[i];
            h->release[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
        }
        h->release[rn] = '\0';
    }
    return 0;
}

int link_reply_parse(const char *buf, size_t len, struct link_reply **r, size_t *used)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    if (!rd)
        return -1;
    int rc = redisReaderFeed(rd, buf, len) == REDIS_OK ? redisReaderGetReply(rd, &reply) : -1;
    size_t left = rd->len - rd->pos;
    redisReaderFree(rd);
    if (rc != REDIS_OK)
        return -1;
    if (!reply)
        return 0;
    *r = reply;
    *used = len - left;
    return 1;
}

void link_reply_free(struct link_reply *r)
{
    if (r)
        freeReplyObject(r);
}

/* Our RESP writer, not redisFormatCommandArgv: hiredis 0.14 sprintf()s every argument's
 * header, 2-3% of the coordinator's CPU for a big round or read batch. */
char *link_format(int argc, const char *const *argv, const size_t *lens, size_t *len)
{
    struct record_buf b = { 0 };
    struct resp_writer w = { record_buf_sink, &b, 2 };
    int rc = resp_write_array(&w, (size_t)argc);
    for (int i = 0; rc == 0 && i < argc; i++)
        rc = resp_write_bulk(&w, argv[i], lens[i]);
    if (rc < 0) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

void link_format_free(char *cmd)
{
    free(cmd);
}

char *link_format_hello(size_t *len)
{
    int lo, hi;
    char nmin[12], nmax[12];
    version_range(&lo, &hi);
    snprintf(nmin, sizeof nmin, "%d", lo);
    snprintf(nmax, sizeof nmax, "%d", hi);
    const char *argv[4] = { "TPC.HELLO", nmin, nmax, TWOPC_VERSION };
    size_t lens[4] = { 9, strlen(nmin), strlen(nmax), strlen(TWOPC_VERSION) };
    return link_format(4, argv, lens, len);
}
