/* check.h -- typed asserts for the unit tests.
 *
 * Each macro checks one thing and, on failure, prints file:line, the expression, both
 * sides, and the note set by check_note() (say, which table row was running), then exits
 * with status 1 so that CTest reports the test as failed. Unlike assert() they stay on
 * under NDEBUG.
 *
 *     check_note("case %s, split at %zu", name, k);
 *     CHECK(p != NULL);
 *     CHECK_INT_EQ(req->argc, 3);
 *     CHECK_STR_EQ(resp_parser_error(p), "ERR Protocol error: invalid bulk length");
 *     CHECK_MEM_EQ(req->argv[0], req->lens[0], "SET", 3);
 */
#ifndef TWOPC_CHECK_H
#define TWOPC_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The note printed with the next failure; check_note("") clears it. */
static char check_note_text[256];

static inline void check_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(check_note_text, sizeof(check_note_text), fmt, ap);
    va_end(ap);
}

static inline void check_fail_head(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
    if (check_note_text[0] != '\0')
        fprintf(stderr, "  note: %s\n", check_note_text);
}

/* Prints len bytes, escaping anything unprintable, at most 200 of them. */
static inline void check_print_mem(const char *label, const void *p, size_t len)
{
    const unsigned char *s = p;
    size_t i;

    fprintf(stderr, "  %s (%zu bytes): \"", label, len);
    for (i = 0; i < len && i < 200; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
            fputc(s[i], stderr);
        else
            fprintf(stderr, "\\x%02x", s[i]);
    }
    fprintf(stderr, "\"%s\n", len > 200 ? "..." : "");
}

static inline void check_int_eq(const char *file, int line, const char *expr, long long a,
                                long long b)
{
    if (a == b)
        return;
    check_fail_head(file, line, expr);
    fprintf(stderr, "  left:  %lld\n  right: %lld\n", a, b);
    exit(1);
}

static inline void check_mem_eq(const char *file, int line, const char *expr, const void *a,
                                size_t alen, const void *b, size_t blen)
{
    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0))
        return;
    check_fail_head(file, line, expr);
    check_print_mem("left ", a, alen);
    check_print_mem("right", b, blen);
    exit(1);
}

static inline void check_str_eq(const char *file, int line, const char *expr, const char *a,
                                const char *b)
{
    if (a != NULL && b != NULL && strcmp(a, b) == 0)
        return;
    check_fail_head(file, line, expr);
    fprintf(stderr, "  left:  %s%s%s\n", a ? "\"" : "", a ? a : "NULL", a ? "\"" : "");
    fprintf(stderr, "  right: %s%s%s\n", b ? "\"" : "", b ? b : "NULL", b ? "\"" : "");
    exit(1);
}

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            check_fail_head(__FILE__, __LINE__, #cond);                                    \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                 \
    check_int_eq(__FILE__, __LINE__, #a " == " #b, (long long)(a), (long long)(b))

#define CHECK_MEM_EQ(a, alen, b, blen)                                                     \
    check_mem_eq(__FILE__, __LINE__, #a " == " #b, (a), (size_t)(alen), (b), (size_t)(blen))

#define CHECK_STR_EQ(a, b) check_str_eq(__FILE__, __LINE__, #a " == " #b, (a), (b))

#endif
