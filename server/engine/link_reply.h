/* link_reply.h -- what travels on a replica link, seen without hiredis: replies, formatted
 * commands, and the TPC.HELLO answer.
 *
 * A struct link_reply is one reply from a replica (hiredis's redisReply underneath; the
 * cast keeps hiredis out of every other header). The round engine reads votes and
 * acknowledgements through these accessors, whether the reply came over a real hiredis
 * link (replica_link.c) or from the simulator, which parses a participant's bytes with
 * hiredis's reader (link_reply_parse). Commands are formatted once with link_format (our
 * RESP writer) and sent as bytes.
 *
 * Ownership: a reply handed to a callback is valid only during the call; one from
 * link_reply_parse is the caller's, freed with link_reply_free.
 */
#ifndef TWOPC_LINK_REPLY_H
#define TWOPC_LINK_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "resp_writer.h"

struct link_reply;

/* What a replica says in answer to TPC.HELLO (participant.h). */
struct link_hello {
    uint64_t applied;   /* last round the replica applied */
    uint64_t max_rid;   /* highest round id it has seen */
    size_t n_in_doubt;
    const uint64_t *in_doubt; /* rounds it prepared without knowing the outcome */
    uint64_t durable;   /* highest round whose COMMIT is durable there */
    /* Its identity (replica/store.h): the cluster id and its replica id in that cluster,
     * 0 and 0 when it has none (a new or wiped data folder, or a repair under way). */
    uint64_t cluster, member;
    /* Protocol 2 on (common/version.h): the version both speak, the replica's range and
     * its release. 0, 0, 0 and "" in an answer without them (protocol 1). */
    int proto, proto_min, proto_max;
    char release[33];
};

/* Accessors. */
int link_reply_is_error(const struct link_reply *r);
int link_reply_is_status(const struct link_reply *r, const char *text);
const char *link_reply_str(const struct link_reply *r, size_t *len);
/* 0 and *v if r is an integer reply, else -1. */
int link_reply_int(const struct link_reply *r, long long *v);
size_t link_reply_len(const struct link_reply *r); /* elements of an array, else 0 */
const struct link_reply *link_reply_elem(const struct link_reply *r, size_t i);
/* Re-encodes r for a client. Returns 0, or -1 when the writer failed. */
int link_reply_write(const struct link_reply *r, struct resp_writer *w);

/* Decodes a TPC.HELLO answer into *h: 10 elements (participant.h), or the 6 of protocol 1,
 * or the 4 of a replica from before identities (h->cluster = h->member = 0). h->in_doubt is malloc'd (free it).
 * Returns 0, or -1 if r is not a HELLO answer (wrong shape, a non-integer or negative
 * number) or memory ran out. */
int link_reply_hello(const struct link_reply *r, struct link_hello *h);

/* Parses one reply from buf[0..len). Returns 1 with *r (free with link_reply_free) and
 * *used bytes consumed, 0 if the bytes hold no complete reply yet, -1 on a protocol
 * error. */
int link_reply_parse(const char *buf, size_t len, struct link_reply **r, size_t *used);
void link_reply_free(struct link_reply *r);

/* Formats a command as a RESP array of bulk strings, once for every link it goes to.
 * Returns the bytes (free with link_format_free) and *len, or NULL when out of memory. */
char *link_format(int argc, const char *const *argv, const size_t *lens, size_t *len);
void link_format_free(char *cmd);

/* The coordinator's TPC.HELLO <min> <max> <release>: this process's protocol range and
 * release (common/version.h), formatted as link_format does (free with link_format_free).
 * Returns NULL when out of memory. */
char *link_format_hello(size_t *len);

#endif
