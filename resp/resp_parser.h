/* resp_parser.h -- incremental parser for Redis requests (multibulk and inline).
 *
 * The parser does no I/O: feed it whatever bytes arrived, in any split, and it hands back
 * one complete request at a time. It keeps a resumable state, so a request split anywhere
 * across reads (even one byte at a time) parses exactly as if it had arrived whole, and
 * many requests in one read are returned one after another.
 *
 * Use:
 *     struct resp_parser *p = resp_parser_new(NULL);           // Redis 7 default limits
 *     size_t used;
 *     while (len > 0) {
 *         enum resp_status st = resp_parser_feed(p, buf, len, &used);
 *         buf += used; len -= used;
 *         if (st == RESP_AGAIN) break;                         // all bytes consumed
 *         if (st == RESP_ERR) { reply(resp_parser_error(p)); close(); break; }
 *         const struct resp_request *req = resp_parser_request(p);
 *         run(req->argc, req->argv, req->lens);                 // valid until next feed
 *     }
 *     resp_parser_free(p);
 *
 * Ownership: the parser owns the request's argument memory; it stays valid until the next
 * call of resp_parser_feed/reset/free. Every argument is NUL-terminated for convenience
 * (argv[i][lens[i]] == 0), but may itself contain NUL bytes: always use lens.
 *
 * Errors are Redis 7's texts, without the leading '-' and without CRLF, e.g.
 * "ERR Protocol error: invalid multibulk length". After RESP_ERR the parser must be
 * reset before further use; a server replies with the error and closes the connection.
 *
 * Details the implementation settles (see resp_parser.c for the why):
 *  - The split never changes the result. Hence a line (inline request, "*<n>" or "$<n>")
 *    is "too big" exactly when its first max_inline + 1 bytes hold no terminator ('\n'
 *    for inline, '\r' for count lines), and a bulk header not starting with '$' is
 *    refused as soon as that first byte arrives.
 *  - As in Redis, the byte after a count line's '\r' and the 2 bytes after bulk data are
 *    skipped unchecked; a NUL in an inline line ends its arguments.
 *  - Running out of memory is reported as RESP_ERR with "ERR out of memory".
 *  - A bulk argument gets at most 16 MB before its bytes arrive; the rest grows with them.
 *  - resp_parser_pending() is 0 after RESP_ERR.
 */
#ifndef TWOPC_RESP_PARSER_H
#define TWOPC_RESP_PARSER_H

#include <stddef.h>

enum resp_status {
    RESP_OK,    /* one complete request is available via resp_parser_request() */
    RESP_AGAIN, /* every byte given was consumed; more are needed */
    RESP_ERR    /* protocol error: see resp_parser_error() */
};

/* Redis 7 defaults: proto-max-bulk-len 512 MB, multibulk count up to INT_MAX (1024*1024
 * elements, as Redis enforces for unauthenticated clients, is NOT applied), and 64 KB for
 * an inline request or a count line (PROTO_INLINE_MAX_SIZE). */
#define RESP_DEFAULT_MAX_BULK ((size_t)512 * 1024 * 1024)
#define RESP_DEFAULT_MAX_MULTIBULK 2147483647LL
#define RESP_DEFAULT_MAX_INLINE ((size_t)64 * 1024)

struct resp_limits {
    size_t max_bulk;         /* longest bulk argument accepted */
    long long max_multibulk; /* most arguments in one multibulk request */
    size_t max_inline;       /* longest inline request / count line without a newline */
};

struct resp_request {
    int argc;
    char **argv;  /* argc arguments, each NUL-terminated, binary-safe by lens */
    size_t *lens;
};

struct resp_parser;

/* Returns a new parser, or NULL when out of memory. lim NULL means Redis's defaults. */
struct resp_parser *resp_parser_new(const struct resp_limits *lim);

/* Frees the parser and any request it holds. Accepts NULL. */
void resp_parser_free(struct resp_parser *p);

/* Forgets any partial request and error, ready for a fresh stream. */
void resp_parser_reset(struct resp_parser *p);

/* Consumes bytes from buf[0..len) and sets *consumed to how many were used.
 * RESP_OK: a request is complete (argc >= 1); the bytes after it are not consumed.
 * RESP_AGAIN: all len bytes were consumed (kept in the parser's state).
 * RESP_ERR: a protocol error; *consumed is unspecified.
 * Empty requests (an empty inline line, "*0\r\n", "*-1\r\n") are skipped, as Redis does. */
enum resp_status resp_parser_feed(struct resp_parser *p, const char *buf, size_t len,
                                  size_t *consumed);

/* The request completed by the last RESP_OK. Valid until the next feed/reset/free/release. */
const struct resp_request *resp_parser_request(const struct resp_parser *p);

/* The caller is done with the request: argument buffers it made big are freed now instead
 * of at the next feed (a 512 MB SET's argument is not kept while its round runs). */
void resp_parser_release(struct resp_parser *p);

/* The error text after RESP_ERR, e.g. "ERR Protocol error: invalid bulk length". */
const char *resp_parser_error(const struct resp_parser *p);

/* Redis 7's limits for a client that has not authenticated while a password is required:
 * a multibulk of more than RESP_UNAUTH_MAX_MULTIBULK arguments fails with "ERR Protocol
 * error: unauthenticated multibulk length", a bulk longer than RESP_UNAUTH_MAX_BULK with
 * "ERR Protocol error: unauthenticated bulk length" (networking.c, processMultibulkBuffer:
 * an unauthenticated client cannot make the server allocate much). They apply from the
 * next count or bulk header on, so an AUTH in a pipeline lifts them for what follows. */
#define RESP_UNAUTH_MAX_MULTIBULK 10
#define RESP_UNAUTH_MAX_BULK 16384
void resp_parser_set_unauthenticated(struct resp_parser *p, int yes);

/* True while a request has been started but not completed (a partial read). */
int resp_parser_pending(const struct resp_parser *p);

#endif
