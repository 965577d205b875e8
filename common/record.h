/* record.h -- one self-checking, human-readable, binary-safe log record.
 *
 * Both protocol logs (the coordinator's decision log, each replica's vote log) are files of
 * records, one record per line, readable with cat, grep and tail -f:
 *
 *     PREPARE 42 2 3 SET foo bar 2 DEL k\x0a1 #977a4201
 *     COMMIT 42 #a7d99ee9
 *
 * Format (docs/log-format.md is the reference):
 *   - fields separated by one space, then one space, '#', the CRC, '\n';
 *   - the CRC is CRC-32C (Castagnoli) of every byte of the line before the '#' (the fields
 *     and the space that follows the last one), written as 8 lowercase hex digits;
 *   - a field is its bytes, except that every byte outside 0x21..0x7e, and the bytes
 *     '\\', '"' and '#', is written as \xHH (two lowercase hex digits); an empty field is
 *     written as "" (two double quotes). So any byte value is representable and a record
 *     never contains a raw newline before its end.
 *   - a record has at least one field.
 *   - decoding is strict: it accepts only what record_encode writes (lowercase hex only, no
 *     escape of a byte that needs none, no raw byte that needs one), so a valid line has
 *     exactly one meaning.
 *
 * Use: record_encode() appends a record to a growable buffer; record_decode() checks and
 * splits one line (without its '\n') back into fields.
 */
#ifndef TWOPC_RECORD_H
#define TWOPC_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Longest line record_decode accepts (a record carrying a 512 MB value escapes to more,
 * so this is generous): 4 GB. */
#define RECORD_MAX_LINE ((size_t)4 * 1024 * 1024 * 1024)

/* A growable byte buffer: the caller zero-initialises it and frees p when done. */
struct record_buf {
    char *p;
    size_t len;
    size_t cap;
};

/* Appends len bytes to b, growing it. Returns 0, or -1 when out of memory. Its signature
 * is a resp_writer sink's, so a record_buf can collect encoded replies. */
int record_buf_sink(void *b, const void *data, size_t len);

/* Decoded fields; memory owned by the struct, released by record_fields_free(). */
struct record_fields {
    int argc;
    char **argv;  /* each NUL-terminated; may contain NUL bytes: use lens */
    size_t *lens;
};

/* CRC-32C of buf[0..len), continuing from crc (start with 0). */
uint32_t record_crc32c(uint32_t crc, const void *buf, size_t len);

/* Appends one encoded record (with trailing '\n') to out. argc >= 1.
 * Returns 0, or -1 when out of memory (out keeps what it had). */
int record_encode(struct record_buf *out, int argc, const char *const *argv,
                  const size_t *lens);

/* Checks and decodes line[0..len) (without the '\n'). Returns 0 and fills *f, or -1 with
 * a reason in err (e.g. "bad checksum", "bad escape", "missing checksum"); *f is then
 * empty. */
int record_decode(const char *line, size_t len, struct record_fields *f, char *err,
                  size_t errlen);

/* Frees the fields' memory and zeroes *f. Accepts an already-empty struct. */
void record_fields_free(struct record_fields *f);

#endif
