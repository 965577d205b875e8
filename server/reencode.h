/* reencode.h -- copies reply bytes through a resp_writer, re-encoding them for its protocol.
 *
 * The round engine encodes write results in RESP2, and replicas answer reads in RESP2 (a
 * RESP2 array where Redis's RESP3 would send a map, a bulk string where it would send a
 * double). A RESP3 client must get Redis 7's RESP3 types, so replies to it are copied
 * through this module: null bulks and null arrays become "_", and the top level of a reply
 * is given the RESP3 type its command returns (reencode_shape_of()).
 *
 *     size_t used = reencode_copy(bytes, len, client_writer, reencode_shape_of("hgetall", 7));
 *
 * Input may be RESP2 or already RESP3; anything already in the right form is copied as is.
 * Pure functions over buffers, no state.
 */
#ifndef TWOPC_REENCODE_H
#define TWOPC_REENCODE_H

#include <stddef.h>

#include "resp_writer.h"

enum reencode_shape {
    REENCODE_PLAIN,  /* only nulls change */
    REENCODE_MAP,    /* a flat array of field, value... is a map (HGETALL) */
    REENCODE_SET,    /* an array is a set (SMEMBERS) */
    REENCODE_DOUBLE, /* a bulk string, or each bulk of an array, is a double (ZSCORE) */
    REENCODE_PAIRS,  /* a flat array of field, value... is an array of [field, value]
                      * pairs (HRANDFIELD ... WITHVALUES) */
    REENCODE_SCORE_PAIRS, /* the same, each value a double (ZRANGE ... WITHSCORES) */
    REENCODE_SCORES,      /* a flat array of member, score...: each score a double
                           * (ZPOPMIN key without a count) */
    REENCODE_KEY_SCORES,  /* [key, [[member, score]...]]: each score a double (ZMPOP) */
    REENCODE_KEY_MEMBER_SCORE, /* [key, member, score]: the score a double (BZPOPMIN) */
    REENCODE_SHAPE_MAX
};

/* The RESP3 shape of a command's reply, by command name (any case). */
enum reencode_shape reencode_shape_of(const char *name, size_t len);
/* The same for a whole request: shapes that depend on arguments too (HRANDFIELD key count
 * WITHVALUES: pairs; WITHSCORES, ZPOPMIN's count: scores; SPOP key count: a set). argv[0]
 * is the command's name. */
enum reencode_shape reencode_shape_of_request(int argc, char *const *argv, const size_t *lens);

/* The length of the one complete reply element at p[0..len), or 0 if it is incomplete or
 * not RESP. */
size_t reencode_span(const char *p, size_t len);

/* Writes the reply element at p through w, converted for w->proto with the given shape
 * (only applied when w->proto is 3). Returns the bytes consumed, or 0 (nothing written)
 * if p does not hold one complete element. */
size_t reencode_copy(const char *p, size_t len, struct resp_writer *w, enum reencode_shape shape);

#endif
