/* record.c -- encode and decode one self-checking log record (one line of a journal).
 *
 * A record is a line of space-separated fields, then " #", then the CRC-32C of everything
 * before the '#' as 8 lowercase hex digits, then '\n':
 *
 *     COMMIT 42 #a7d99ee9            (fields "COMMIT" and "42")
 *
 * Bytes that would break the line apart or make it ambiguous (anything outside 0x21..0x7e,
 * and '\\', '"', '#') are written as \xHH; an empty field is written as "". Decoding is
 * strict: it accepts exactly the lines record_encode() writes and nothing else (no
 * uppercase hex, no needless escapes, no raw byte that should have been escaped), so a line
 * that decodes has one meaning and re-encodes to the same bytes. docs/log-format.md is the
 * reference for the format; common/record.h is the API.
 *
 * Use:
 *     struct record_buf out = {0};
 *     record_encode(&out, argc, argv, lens);      (appends "...#xxxxxxxx\n" to out.p)
 *     ...
 *     struct record_fields f;
 *     if (record_decode(line, len_without_newline, &f, err, sizeof err) < 0) ...;
 *     use f.argc, f.argv[i], f.lens[i];
 *     record_fields_free(&f);
 *
 * Both directions make one pass over the data: encoding copies runs of plain bytes with
 * memcpy and checks for room only at escapes; the CRC is table-driven, eight bytes per step
 * ("slice-by-8"). The tables are built once, on first use, under call_once so that the log
 * thread and the event loop may both call record_crc32c.
 */
#include "record.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

/* CRC-32C (Castagnoli), reflected polynomial. Chosen over zlib's CRC-32 because it has
 * better error detection for the record sizes we write and because it is the checksum of
 * iSCSI, ext4 metadata and many logs, so standard tools can check it. */
#define RECORD_CRC_POLY 0x82F63B78u

/* A line (without its '\n') ends with the space after the last field, then the trailer:
 * '#' and 8 hex digits. The CRC covers everything before the trailer, that space included. */
#define RECORD_CRC_DIGITS 8
#define RECORD_TRAILER (1 + RECORD_CRC_DIGITS)

static uint32_t crc_table[8][256];
static once_flag crc_once = ONCE_FLAG_INIT;

static const char hex_digits[] = "0123456789abcdef";

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Builds table 0 bit by bit, then table k from table k-1: table[k][n] is the CRC of byte n
 * followed by k zero bytes, which is what lets the loop below fold 8 bytes per step. */
static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ RECORD_CRC_POLY : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = crc_table[0][n];
        for (int k = 1; k < 8; k++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[k][n] = c;
        }
    }
}

/* Loads 4 bytes little-endian whatever the host's byte order; compilers turn this into one
 * load on little-endian machines. */
static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint32_t record_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    call_once(&crc_once, crc_init);
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo = crc ^ load_le32(p);
        uint32_t hi = load_le32(p + 4);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* 1 if byte c must be written as \xHH: outside the printable range 0x21..0x7e (so also
 * space, which separates fields, and '\n', which ends the record), or one of the three
 * bytes that have a meaning inside a record: '\\' starts an escape, '"' spells the empty
 * field, '#' starts the checksum. */
static int must_escape(unsigned char c)
{
    return c < 0x21 || c > 0x7e || c == '\\' || c == '"' || c == '#';
}

/* Makes room for extra more bytes in b, at least doubling. Returns 0 or -1 (no memory or
 * size overflow; b unchanged). */
static int buf_reserve(struct record_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - b->len)
        return -1;
    need = b->len + extra;
    if (need <= b->cap)
        return 0;
    cap = b->cap > 64 ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Appends one escaped field and the space after it. Keeps this invariant: before input
 * byte i, there is room for (len - i) more bytes plus the space, so a plain byte needs no
 * check and only an escape (4 bytes for 1) may have to grow the buffer. */
static int encode_field(struct record_buf *out, const unsigned char *s, size_t len)
{
    size_t i = 0;

    if (buf_reserve(out, len == 0 ? 3 : len + 1) < 0)
        return -1;
    if (len == 0) {
        memcpy(out->p + out->len, "\"\" ", 3);
        out->len += 3;
        return 0;
    }
    while (i < len) {
        size_t run = i;
        while (run < len && !must_escape(s[run]))
            run++;
        memcpy(out->p + out->len, s + i, run - i);
        out->len += run - i;
        if (run == len)
            break;
        if (out->cap - out->len < len - run + 4 && buf_reserve(out, len - run + 4) < 0)
            return -1;
        out->p[out->len++] = '\\';
        out->p[out->len++] = 'x';
        out->p[out->len++] = hex_digits[s[run] >> 4];
        out->p[out->len++] = hex_digits[s[run] & 0xf];
        i = run + 1;
    }
    out->p[out->len++] = ' ';
    return 0;
}

int record_encode(struct record_buf *out, int argc, const char *const *argv,
                  const size_t *lens)
{
    size_t start = out->len;
    uint32_t crc;

    if (argc < 1)
        return -1;
    for (int i = 0; i < argc; i++) {
        if (encode_field(out, (const unsigned char *)argv[i], lens[i]) < 0) {
            out->len = start;
            return -1;
        }
    }
    if (buf_reserve(out, RECORD_TRAILER + 1) < 0) {
        out->len = start;
        return -1;
    }
    crc = record_crc32c(0, out->p + start, out->len - start);
    out->p[out->len++] = '#';
    for (int shift = 28; shift >= 0; shift -= 4)
        out->p[out->len++] = hex_digits[(crc >> shift) & 0xf];
    out->p[out->len++] = '\n';
    return 0;
}

/* Value of a lowercase hex digit, or -1 (uppercase is refused: encode never writes it). */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Checks the trailer "#xxxxxxxx" and the CRC of line[0..len-9). Returns 0 or -1. */
static int check_crc(const char *line, size_t len, char *err, size_t errlen)
{
    const char *digits;
    uint32_t want = 0;

    if (len < RECORD_TRAILER + 1 || line[len - RECORD_TRAILER] != '#' ||
        line[len - RECORD_TRAILER - 1] != ' ') {
        set_err(err, errlen, "missing checksum");
        return -1;
    }
    digits = line + len - RECORD_CRC_DIGITS;
    for (int i = 0; i < RECORD_CRC_DIGITS; i++) {
        int v = hex_value(digits[i]);
        if (v < 0) {
            set_err(err, errlen, "malformed checksum");
            return -1;
        }
        want = want << 4 | (uint32_t)v;
    }
    if (record_crc32c(0, line, len - RECORD_TRAILER) != want) {
        set_err(err, errlen, "bad checksum");
        return -1;
    }
    return 0;
}

/* Decodes field s[0..len) into out (room for len + 1 bytes), NUL-terminates it and returns
 * its decoded length, or (size_t)-1 with a reason in err. */
static size_t decode_field(const char *s, size_t len, char *out, char *err, size_t errlen)
{
    size_t n = 0;

    if (len == 2 && s[0] == '"' && s[1] == '"') {
        out[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int hi, lo;
        if (c != '\\') {
            if (must_escape(c)) {
                set_err(err, errlen, "unescaped byte 0x%02x", c);
                return (size_t)-1;
            }
            out[n++] = (char)c;
            continue;
        }
        /* Exactly "\x" and two lowercase digits, of a byte that needed escaping. */
        hi = len - i >= 4 && s[i + 1] == 'x' ? hex_value(s[i + 2]) : -1;
        lo = hi >= 0 ? hex_value(s[i + 3]) : -1;
        if (lo < 0 || !must_escape((unsigned char)(hi << 4 | lo))) {
            set_err(err, errlen, "bad escape");
            return (size_t)-1;
        }
        out[n++] = (char)(hi << 4 | lo);
        i += 3;
    }
    out[n] = '\0';
    return n;
}

/* Allocates f for argc fields; bytes is one block for every field's decoded bytes and NUL.
 * Returns 0 or -1. */
static int fields_alloc(struct record_fields *f, size_t argc, size_t bytes)
{
    f->argv = malloc(argc * sizeof *f->argv);
    f->lens = malloc(argc * sizeof *f->lens);
    if (f->argv != NULL)
        f->argv[0] = malloc(bytes);
    if (f->argv == NULL || f->lens == NULL || f->argv[0] == NULL) {
        if (f->argv != NULL)
            free(f->argv[0]);
        free(f->argv);
        free(f->lens);
        f->argv = NULL;
        f->lens = NULL;
        return -1;
    }
    return 0;
}

/* Splits body[0..len) (the fields, without the space before '#') at single spaces and
 * decodes each field into f. Returns 0 or -1 with err set. */
static int split_fields(const char *body, size_t len, struct record_fields *f, char *err,
                        size_t errlen)
{
    size_t argc = 1, pos = 0;
    char *dst;

    for (const char *sp = body; (sp = memchr(sp, ' ', len - (size_t)(sp - body))); sp++)
        argc++;
    if (argc > INT_MAX) {
        set_err(err, errlen, "too many fields");
        return -1;
    }
    /* Decoded bytes plus one NUL per field never exceed len + 1: each field shrinks or
     * stays, and the argc - 1 separating spaces pay for all NULs but one. */
    if (fields_alloc(f, argc, len + 1) < 0) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    dst = f->argv[0];
    for (size_t i = 0; i < argc; i++) {
        const char *end = memchr(body + pos, ' ', len - pos);
        size_t flen = end ? (size_t)(end - body) - pos : len - pos;
        size_t n;
        if (flen == 0) {
            set_err(err, errlen, "empty field");
            return -1;
        }
        n = decode_field(body + pos, flen, dst, err, errlen);
        if (n == (size_t)-1)
            return -1;
        f->argv[i] = dst;
        f->lens[i] = n;
        f->argc = (int)i + 1;
        dst += n + 1;
        pos += flen + 1;
    }
    return 0;
}

int record_decode(const char *line, size_t len, struct record_fields *f, char *err,
                  size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (len > RECORD_MAX_LINE) {
        set_err(err, errlen, "line too long");
        return -1;
    }
    if (check_crc(line, len, err, errlen) < 0)
        return -1;
    if (len == RECORD_TRAILER + 1) {
        set_err(err, errlen, "no fields");
        return -1;
    }
    if (split_fields(line, len - RECORD_TRAILER - 1, f, err, errlen) < 0) {
        record_fields_free(f);
        return -1;
    }
    return 0;
}

void record_fields_free(struct record_fields *f)
{
    if (f == NULL)
        return;
    if (f->argv != NULL) {
        /* argv[0] is the start of the one block that holds every field's bytes. */
        free(f->argv[0]);
        free(f->argv);
    }
    free(f->lens);
    memset(f, 0, sizeof *f);
}

int record_buf_sink(void *sink, const void *data, size_t len)
{
    struct record_buf *b = sink;
    if (len == 0)
        return 0; /* data may be NULL then, and memcpy's arguments must not be (UBSan) */
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}
