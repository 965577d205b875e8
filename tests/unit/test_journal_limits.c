/* test_journal_limits.c -- journal replay of lines longer than the longest record.
 *
 * The real limit (RECORD_MAX_LINE, 4 GB) is too big for a unit test, so this file compiles
 * its own copy of common/journal.c with JOURNAL_MAX_LINE lowered to 4096 bytes and checks
 * that an over-long line is a bad record like any other: corruption when a valid record
 * follows it, a torn tail when none does, and never held in memory whole (checked on the
 * file's own static scanner, which including the .c makes reachable). Its journal_*
 * symbols take the place of the library's; record_* still come from the common library.
 *
 * Run: test_journal_limits [case]   (no argument: every case)
 */
#define JOURNAL_MAX_LINE 4096
#include "journal.c"

#include "check_common.h"

/* Line length without '\n' of {"X", k bytes of 'a'}: "X " + k + " #xxxxxxxx". */
#define LINE_OVERHEAD 12

static int count_record(void *ctx, int argc, char **argv, size_t *lens, uint64_t offset)
{
    (*(size_t *)ctx)++;
    return 0;
}

/* Encodes {"X", k times 'a'} and appends it to b. */
static void add_record(struct record_buf *b, size_t k)
{
    char *v = check_malloc(k);
    const char *argv[2] = {"X", v};
    size_t lens[2] = {1, k};

    memset(v, 'a', k);
    CHECK_INT_EQ(record_encode(b, 2, argv, lens), 0);
    free(v);
}

static const char *write_file(const char *name, const struct record_buf *b, size_t len)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", check_tmpdir(), name);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK_UINT_EQ(fwrite(b->p, 1, len, f), len);
    CHECK_INT_EQ(fclose(f), 0);
    return path;
}

static void test_longest_accepted(void)
{
    struct record_buf b = {0};
    struct journal_info info;
    char err[256] = "";
    size_t n = 0;
    struct journal *j;

    add_record(&b, 3);
    add_record(&b, JOURNAL_MAX_LINE - LINE_OVERHEAD);
    CHECK_UINT_EQ(b.len, 3 + LINE_OVERHEAD + 1 + JOURNAL_MAX_LINE + 1);
    add_record(&b, 3);
    j = journal_open(write_file("longest.log", &b, b.len), count_record, &n, &info, err,
                     sizeof err);
    CHECK(j != NULL);
    CHECK_UINT_EQ(n, 3);
    CHECK_UINT_EQ(info.torn_bytes, 0);
    journal_close(j);
    free(b.p);
}

static void test_too_long_in_middle(void)
{
    struct record_buf b = {0};
    char err[512] = "", want[600];
    const char *path;
    size_t n = 0, off;

    add_record(&b, 3);
    off = b.len;
    add_record(&b, JOURNAL_MAX_LINE - LINE_OVERHEAD + 1);
    add_record(&b, 3);
    path = write_file("middle.log", &b, b.len);
    CHECK(journal_open(path, count_record, &n, NULL, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "corrupt record in %s at offset %zu: record longer than "
             "4096 bytes", path, off);
    CHECK_STR_EQ(err, want);
    CHECK_UINT_EQ(n, 1);
    free(b.p);
}

/* An over-long last line, complete or not, is a torn tail: cut, earlier records kept. */
static void check_too_long_tail(const char *name, size_t k, int drop_newline)
{
    struct record_buf b = {0};
    struct journal_info info;
    char err[256] = "";
    size_t n = 0, off;
    struct journal *j;

    add_record(&b, 3);
    add_record(&b, 5);
    off = b.len;
    add_record(&b, k);
    j = journal_open(write_file(name, &b, b.len - (size_t)drop_newline), count_record, &n,
                     &info, err, sizeof err);
    if (j == NULL)
        check_fail(__FILE__, __LINE__, "journal_open: %s", err);
    CHECK_UINT_EQ(n, 2);
    CHECK_UINT_EQ(info.torn_offset, off);
    CHECK_UINT_EQ(info.torn_bytes, b.len - off - (size_t)drop_newline);
    CHECK_UINT_EQ(info.size, off);
    journal_close(j);
    free(b.p);
}

static void test_too_long_tail(void)
{
    check_too_long_tail("tail1.log", JOURNAL_MAX_LINE, 0);
    check_too_long_tail("tail2.log", JOURNAL_MAX_LINE, 1);
    check_too_long_tail("tail3.log", 5 * JOURNAL_CHUNK, 0);
    check_too_long_tail("tail4.log", 5 * JOURNAL_CHUNK, 1);
}

/* Drives the scanner itself over a 10 MB line: the buffer must not grow to hold it. */
static void test_skip_memory_flat(void)
{
    struct record_buf b = {0};
    struct scanner sc = {0};
    struct line ln;
    size_t lines = 0, max_cap = 0;
    int r;

    add_record(&b, 3);
    add_record(&b, 40 * JOURNAL_CHUNK);
    add_record(&b, 3);
    sc.fd = open(write_file("flat.log", &b, b.len), O_RDONLY | O_CLOEXEC);
    CHECK(sc.fd >= 0);
    while ((r = scan_line(&sc, &ln)) == 1) {
        CHECK((ln.p == NULL) == (lines == 1));
        lines++;
        max_cap = sc.cap > max_cap ? sc.cap : max_cap;
    }
    CHECK_INT_EQ(r, 0);
    CHECK_UINT_EQ(lines, 3);
    CHECK(max_cap <= 4 * JOURNAL_CHUNK);
    CHECK_UINT_EQ(sc.base + sc.end, b.len);
    close(sc.fd);
    free(sc.buf);
    free(b.p);
}

static const struct check_case cases[] = {
    {"longest_accepted", test_longest_accepted},
    {"too_long_in_middle", test_too_long_in_middle},
    {"too_long_tail", test_too_long_tail},
    {"skip_memory_flat", test_skip_memory_flat},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
