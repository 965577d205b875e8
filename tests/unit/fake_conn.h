/* fake_conn.h -- a stand-in for common/conn.c at the seam below the client layer.
 *
 * server/client.c talks to its socket only through conn.h. The front-end unit tests link
 * this file instead of conn.c (the linker takes the first definition, so conn.o is never
 * pulled in): a fake conn keeps what a real one would send in memory, and records the
 * calls that matter to the client layer (pause, resume, close).
 *
 *     struct conn *c = fake_conn_new(7);
 *     client_on_open(c);  ...  client_on_request(c, &req);
 *     CHECK_MEM_EQ(fake_conn_sent(c, &len), len, "+OK\r\n", 5);
 *
 * conn_flush() moves the staged replies to the "sent" buffer, as the real one moves them
 * to the socket; fake_conn_sent() shows everything flushed so far.
 */
#ifndef TWOPC_FAKE_CONN_H
#define TWOPC_FAKE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

struct conn *fake_conn_new(uint64_t id);
/* Bytes flushed so far (NUL-terminated for convenience; *len without it). */
const char *fake_conn_sent(struct conn *c, size_t *len);
/* Forgets the bytes flushed so far. */
void fake_conn_clear(struct conn *c);
int fake_conn_paused(const struct conn *c);
int fake_conn_closing(const struct conn *c);
/* The class conn_set_output_class() gave it last (CONN_OUTPUT_NORMAL at first). */
int fake_conn_output_class(const struct conn *c);
void fake_conn_free(struct conn *c);

#endif
