/* check_common.h -- the small assert and runner kit of the common/ unit tests.
 *
 * Each CHECK_* macro prints the file, line, expression and both sides, then exits 1, so
 * the test process fails and CTest shows why. Temporary directories made with
 * check_tmpdir() are removed at exit, also when a check fails.
 *
 * A test file lists its cases in a struct check_case array and calls check_run():
 *
 *     static const struct check_case cases[] = {{"crc", test_crc}, {NULL, NULL}};
 *     int main(int argc, char **argv) { return check_run(cases, argc, argv); }
 *
 * With no argument every case runs; with a name only that case runs (CTest registers one
 * test per case); an unknown name fails, so a stale CTest list cannot pass silently.
 */
#ifndef TWOPC_CHECK_COMMON_H
#define TWOPC_CHECK_COMMON_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond))                                                                     \
            check_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                          \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                               \
    do {                                                                                 \
        long long check_a = (long long)(a), check_b = (long long)(b);                    \
        if (check_a != check_b)                                                          \
            check_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, check_a,    \
                       check_b);                                                         \
    } while (0)

#define CHECK_UINT_EQ(a, b)                                                              \
    do {                                                                                 \
        unsigned long long check_a = (unsigned long long)(a);                            \
        unsigned long long check_b = (unsigned long long)(b);                            \
        if (check_a != check_b)                                                          \
            check_fail(__FILE__, __LINE__, "%s == %s: %llu (0x%llx) != %llu (0x%llx)",   \
                       #a, #b, check_a, check_a, check_b, check_b);                      \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                               \
    do {                                                                                 \
        const char *check_a = (a), *check_b = (b);                                       \
        if (strcmp(check_a, check_b) != 0)                                               \
            check_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,         \
                       check_a, check_b);                                                \
    } while (0)

/* Byte strings: lengths first, then the first differing byte. */
#define CHECK_MEM_EQ(a, alen, b, blen)                                                   \
    do {                                                                                 \
        size_t check_n = check_mem_diff((a), (alen), (b), (blen));                       \
        if (check_n != (size_t)-1)                                                       \
            check_fail(__FILE__, __LINE__, "%s == %s: lengths %zu and %zu, first "       \
                       "difference at byte %zu", #a, #b, (size_t)(alen), (size_t)(blen), \
                       check_n);                                                         \
    } while (0)

struct check_case {
    const char *name;
    void (*fn)(void);
};

static inline void check_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static inline void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: check failed: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Index of the first difference of two byte strings, or (size_t)-1 if equal. */
static inline size_t check_mem_diff(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *x = a, *y = b;
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return i;
    }
    return alen == blen ? (size_t)-1 : n;
}

static char check_tmp_path[256];

/* Removes the temporary directory and the files in it (tests make no subdirectories). */
static inline void check_tmp_cleanup(void)
{
    DIR *d = check_tmp_path[0] != '\0' ? opendir(check_tmp_path) : NULL;
    struct dirent *e;
    char path[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", check_tmp_path, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(check_tmp_path);
}

/* Makes one temporary directory for the process (removed at exit) and returns its path. */
static inline const char *check_tmpdir(void)
{
    if (check_tmp_path[0] == '\0') {
        snprintf(check_tmp_path, sizeof check_tmp_path, "/tmp/twopc-unit-XXXXXX");
        if (mkdtemp(check_tmp_path) == NULL) {
            check_tmp_path[0] = '\0';
            check_fail(__FILE__, __LINE__, "mkdtemp failed");
        }
        atexit(check_tmp_cleanup);
    }
    return check_tmp_path;
}

static inline void *check_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        check_fail(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
    return p;
}

static inline int check_run(const struct check_case *cases, int argc, char **argv)
{
    int ran = 0;

    for (const struct check_case *c = cases; c->name != NULL; c++) {
        if (argc > 1 && strcmp(argv[1], c->name) != 0)
            continue;
        fprintf(stderr, "-- %s\n", c->name);
        c->fn();
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(none)");
        return 1;
    }
    fprintf(stderr, "%d case(s) passed\n", ran);
    return 0;
}

#endif
