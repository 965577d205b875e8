/* resp_writer.h -- encodes Redis replies (RESP2, and RESP3 types for HELLO 3 clients).
 *
 * The writer does no I/O either: each call formats one reply element and hands the bytes
 * to a sink function the caller supplies (an evbuffer, a growable string, a test buffer).
 *
 *     struct resp_writer w = { my_sink, my_buffer, 2 };
 *     resp_write_array(&w, 2);
 *     resp_write_bulk(&w, "v", 1);
 *     resp_write_null(&w);               // "$-1\r\n" in RESP2, "_\r\n" in RESP3
 *
 * Every function returns 0, or -1 if the sink failed (then the output is incomplete).
 * Simple strings and errors have CR and LF replaced by spaces, so an echoed argument can
 * never break the framing.
 */
#ifndef TWOPC_RESP_WRITER_H
#define TWOPC_RESP_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* Appends len bytes to sink; returns 0, or -1 on failure. */
typedef int (*resp_sink_fn)(void *sink, const void *data, size_t len);

struct resp_writer {
    resp_sink_fn write;
    void *sink;
    int proto; /* 2 or 3 */
};

int resp_write_simple(struct resp_writer *w, const char *s);          /* +s */
int resp_write_error(struct resp_writer *w, const char *s);           /* -s */
int resp_write_int(struct resp_writer *w, int64_t v);                 /* :v */
int resp_write_bulk(struct resp_writer *w, const void *p, size_t len); /* $len p */
int resp_write_cstr(struct resp_writer *w, const char *s);            /* bulk of a C string */
int resp_write_null(struct resp_writer *w);       /* null bulk: $-1 (RESP2), _ (RESP3) */
int resp_write_null_array(struct resp_writer *w); /* null array: *-1 (RESP2), _ (RESP3) */
int resp_write_array(struct resp_writer *w, size_t n);  /* *n, then n elements follow */
int resp_write_map(struct resp_writer *w, size_t n);    /* %n (RESP3) or *2n (RESP2) */
int resp_write_push(struct resp_writer *w, size_t n);   /* >n (RESP3) or *n (RESP2) */
int resp_write_double(struct resp_writer *w, double v); /* ,v (RESP3) or bulk (RESP2) */
int resp_write_verbatim(struct resp_writer *w, const char *p, size_t len); /* =len txt:..; bulk in RESP2 */

/* The length in bytes of the first complete RESP2 reply in p[0..len) -- one value as these
 * functions write it with proto 2 (+ - : $ *, nested arrays, nulls) -- or -1 if it is
 * incomplete, malformed or nested deeper than 32. Lets a run of replies written back to
 * back be cut into its replies without parsing them into objects. */
long resp_reply_len(const char *p, size_t len);

#endif
