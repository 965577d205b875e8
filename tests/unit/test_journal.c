/* test_journal.c -- unit tests of common/journal.c: replay, torn tails, corruption, sync.
 *
 * Every case works on files in one temporary directory (removed at exit). A journal is
 * written, closed, then damaged the way a crash or a bad disk would damage it (cut at every
 * byte of the last record, garbage or zeros appended, one byte of a middle record flipped,
 * a newline lost), and reopened: the test checks which records come back, at which offsets,
 * what journal_info reports, what the file holds afterwards, and the exact error text.
 * A write failure is provoked for real with RLIMIT_FSIZE (write(2) then fails with EFBIG
 * after a short write), which checks that a failed journal refuses further use and that the
 * half-written record is cut as a torn tail on the next open.
 * The log thread (journal_start_thread) is driven by a real event loop: tickets, the
 * progress callback, journal_sync and journal_rewrite while it runs, close with records
 * still handed over, and a write failure inside the thread.
 *
 * Run: test_journal [case]   (no argument: every case)
 */
#include "check_common.h"
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

/* What the replay callback saw: each record flattened to one byte string (for each field,
 * its length as 8 bytes, then its bytes) and its offset. */
struct seen {
    size_t n, cap;
    char **recs;
    size_t *lens;
    uint64_t *offs;
    size_t stop_at;         /* return -1 on this record (1-based); 0: never */
};

static char *flatten(int argc, const char *const *argv, const size_t *lens, size_t *outlen)
{
    size_t total = 0, pos = 0;
    char *s;

    for (int i = 0; i < argc; i++)
        total += 8 + lens[i];
    s = check_malloc(total);
    for (int i = 0; i < argc; i++) {
        uint64_t l = lens[i];
        memcpy(s + pos, &l, 8);
        memcpy(s + pos + 8, argv[i], lens[i]);
        pos += 8 + lens[i];
    }
    *outlen = total;
    return s;
}

static int on_record(void *ctx, int argc, char **argv, size_t *lens, uint64_t offset)
{
    struct seen *s = ctx;

    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
        s->lens = realloc(s->lens, s->cap * sizeof *s->lens);
        s->offs = realloc(s->offs, s->cap * sizeof *s->offs);
        CHECK(s->recs && s->lens && s->offs);
    }
    s->recs[s->n] = flatten(argc, (const char *const *)argv, lens, &s->lens[s->n]);
    s->offs[s->n] = offset;
    s->n++;
    return s->stop_at != 0 && s->n == s->stop_at ? -1 : 0;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->recs[i]);
    free(s->recs);
    free(s->lens);
    free(s->offs);
    memset(s, 0, sizeof *s);
}

/* The records a test writes: record i is {"REC", decimal i, a value of i % 7 odd bytes}. */
struct rec {
    const char *argv[3];
    size_t lens[3];
    char num[24];
    char val[8];
};

static void make_rec(struct rec *r, size_t i)
{
    snprintf(r->num, sizeof r->num, "%zu", i);
    for (size_t k = 0; k < sizeof r->val; k++)
        r->val[k] = (char)(i * 37 + k * 101);   /* spaces, newlines, '#', NUL ... */
    r->argv[0] = "REC";
    r->argv[1] = r->num;
    r->argv[2] = r->val;
    r->lens[0] = 3;
    r->lens[1] = strlen(r->num);
    r->lens[2] = i % 7;
}

/* Checks that seen record k is make_rec(first + k) for every k. */
static void check_recs(const struct seen *s, size_t count, size_t first)
{
    CHECK_UINT_EQ(s->n, count);
    for (size_t k = 0; k < count; k++) {
        struct rec r;
        size_t len;
        char *want;
        make_rec(&r, first + k);
        want = flatten(3, r.argv, r.lens, &len);
        CHECK_MEM_EQ(s->recs[k], s->lens[k], want, len);
        free(want);
    }
}

static char *path_in_tmp(const char *name)
{
    static char path[512];

    snprintf(path, sizeof path, "%s/%s", check_tmpdir(), name);
    unlink(path);
    return path;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    CHECK(f != NULL);
    CHECK_INT_EQ(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = check_malloc((size_t)n);
    CHECK_UINT_EQ(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    CHECK(f != NULL);
    CHECK_UINT_EQ(fwrite(buf, 1, len, f), len);
    CHECK_INT_EQ(fclose(f), 0);
}

/* Writes records [first, first + n) to a journal at path (created or extended), syncing
 * after every sync_every records and at the end. */
static void write_recs(const char *path, size_t first, size_t n, size_t sync_every)
{
    char err[256] = "";
    struct journal *j = journal_open(path, NULL, NULL, NULL, err, sizeof err);

    CHECK(j != NULL);
    for (size_t i = first; i < first + n; i++) {
        struct rec r;
        make_rec(&r, i);
        CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
        if ((i - first + 1) % sync_every == 0)
            CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);
    }
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);
    journal_close(j);
}

/* Reopens path, expecting success; fills *s and *info. */
static void reopen(const char *path, struct seen *s, struct journal_info *info)
{
    char err[256] = "";
    struct journal *j = journal_open(path, on_record, s, info, err, sizeof err);

    if (j == NULL)
        check_fail(__FILE__, __LINE__, "journal_open(%s): %s", path, err);
    CHECK_UINT_EQ(info->records, s->n);
    CHECK_UINT_EQ(journal_size(j), info->size);
    journal_close(j);
}

/* Offsets of the line starts in buf (one per '\n'-terminated line); returns the count. */
static size_t line_starts(const char *buf, size_t len, uint64_t *offs, size_t max)
{
    size_t n = 0, start = 0;

    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (n < max)
            offs[n] = start;
        n++;
        start = i + 1;
    }
    return n;
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    CHECK_INT_EQ(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void test_reopen(void)
{
    const char *path = path_in_tmp("reopen.log");
    char err[256] = "";
    struct journal_info info;
    struct seen s = {0};
    struct journal *j = journal_open(path, on_record, &s, &info, err, sizeof err);
    uint64_t offs[64];
    size_t len;
    char *buf;

    CHECK(j != NULL);
    CHECK_UINT_EQ(info.records, 0);
    CHECK_UINT_EQ(info.size, 0);
    CHECK_UINT_EQ(s.n, 0);
    CHECK_STR_EQ(journal_path(j), path);
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);   /* nothing buffered */
    for (size_t i = 0; i < 50; i++) {
        struct rec r;
        make_rec(&r, i);
        CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
        CHECK_UINT_EQ(journal_size(j), file_size(path) + journal_pending(j));
        if (i == 19)
            CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);
    }
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);
    CHECK_UINT_EQ(journal_pending(j), 0);
    CHECK_UINT_EQ(journal_size(j), file_size(path));
    journal_close(j);

    reopen(path, &s, &info);
    check_recs(&s, 50, 0);
    buf = read_all(path, &len);
    CHECK_UINT_EQ(line_starts(buf, len, offs, 64), 50);
    for (size_t i = 0; i < 50; i++)
        CHECK_UINT_EQ(s.offs[i], offs[i]);
    CHECK_UINT_EQ(info.size, len);
    CHECK_UINT_EQ(info.torn_bytes, 0);
    CHECK(memcmp(buf, "REC 0 \"\" #", 10) == 0);
    free(buf);
    seen_free(&s);
}

static void test_unsynced_discarded(void)
{
    const char *path = path_in_tmp("unsynced.log");
    char err[256] = "";
    struct journal_info info;
    struct seen s = {0};
    struct journal *j;
    struct rec r;

    write_recs(path, 0, 3, 100);
    j = journal_open(path, NULL, NULL, &info, err, sizeof err);
    CHECK(j != NULL);
    make_rec(&r, 3);
    CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    CHECK(journal_pending(j) > 0);
    CHECK_UINT_EQ(journal_size(j), info.size + journal_pending(j));
    journal_close(j);
    reopen(path, &s, &info);
    check_recs(&s, 3, 0);
    seen_free(&s);
}

/* Many small records, so lines straddle the reader's chunks, and records larger than a
 * chunk, so its line buffer must grow. */
static void test_large_and_many(void)
{
    const char *path = path_in_tmp("large.log");
    char err[256] = "";
    size_t big = 3 * 1024 * 1024 + 5;
    char *v = check_malloc(big);
    const char *argv[2] = {"BIG", v};
    size_t lens[2] = {3, big};
    struct journal_info info;
    struct seen s = {0};
    struct journal *j;
    size_t want_len;
    char *want;

    for (size_t i = 0; i < big; i++)
        v[i] = (char)(i * 7);   /* about 3/4 of these bytes are escaped */
    write_recs(path, 0, 20000, 997);
    j = journal_open(path, NULL, NULL, NULL, err, sizeof err);
    CHECK(j != NULL);
    CHECK_INT_EQ(journal_append(j, 2, argv, lens), 0);
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);
    journal_close(j);
    write_recs(path, 20000, 10, 1);

    reopen(path, &s, &info);
    CHECK_UINT_EQ(s.n, 20011);
    want = flatten(2, argv, lens, &want_len);
    CHECK_MEM_EQ(s.recs[20000], s.lens[20000], want, want_len);
    free(s.recs[20000]);
    memmove(&s.recs[20000], &s.recs[20001], 10 * sizeof *s.recs);
    memmove(&s.lens[20000], &s.lens[20001], 10 * sizeof *s.lens);
    s.n--;
    check_recs(&s, 20010, 0);
    CHECK_UINT_EQ(info.size, file_size(path));
    free(want);
    free(v);
    seen_free(&s);
}

/* After a torn tail was cut: appending works and the new record reads back. */
static void check_append_after_cut(const char *path, size_t kept)
{
    struct journal_info info;
    struct seen s = {0};

    write_recs(path, kept, 1, 1);
    reopen(path, &s, &info);
    check_recs(&s, kept + 1, 0);
    CHECK_UINT_EQ(info.torn_bytes, 0);
    seen_free(&s);
}

static void test_torn_every_offset(void)
{
    const char *path = path_in_tmp("torn.log");
    uint64_t offs[8];
    size_t len, last;
    char *orig;

    write_recs(path, 0, 5, 1);
    orig = read_all(path, &len);
    CHECK_UINT_EQ(line_starts(orig, len, offs, 8), 5);
    last = offs[4];
    for (size_t cut = last; cut < len; cut++) {
        struct journal_info info;
        struct seen s = {0};
        write_all(path, orig, cut);
        reopen(path, &s, &info);
        check_recs(&s, 4, 0);
        CHECK_UINT_EQ(info.torn_bytes, cut - last);
        if (cut > last)
            CHECK_UINT_EQ(info.torn_offset, last);
        CHECK_UINT_EQ(info.size, last);
        CHECK_UINT_EQ(file_size(path), last);
        seen_free(&s);
        check_append_after_cut(path, 4);
    }
    free(orig);
}

/* Writes 5 records, appends tail, reopens: expects the tail cut and 5 records kept. */
static void check_torn_tail(const char *name, const char *tail, size_t tail_len)
{
    const char *path = path_in_tmp(name);
    struct journal_info info;
    struct seen s = {0};
    uint64_t size;
    size_t len;
    char *buf;

    write_recs(path, 0, 5, 2);
    size = file_size(path);
    buf = read_all(path, &len);
    buf = realloc(buf, len + tail_len);
    CHECK(buf != NULL);
    memcpy(buf + len, tail, tail_len);
    write_all(path, buf, len + tail_len);
    reopen(path, &s, &info);
    check_recs(&s, 5, 0);
    CHECK_UINT_EQ(info.torn_offset, size);
    CHECK_UINT_EQ(info.torn_bytes, tail_len);
    CHECK_UINT_EQ(file_size(path), size);
    free(buf);
    seen_free(&s);
    check_append_after_cut(path, 5);
}

static void test_torn_garbage(void)
{
    static const char zeros[8192];
    char bad_crc[] = "REC 5 #00000000\n";

    check_torn_tail("garbage1.log", "PREPARE 9 gar", 13);
    check_torn_tail("garbage2.log", "xyz\n", 4);
    check_torn_tail("garbage3.log", "xyz\nabc\n\nREC 9 #0", 17);
    check_torn_tail("zeros.log", zeros, sizeof zeros);
    /* A complete last line with a bad checksum cannot be told from a torn write whose
     * pages reached the disk out of order: nothing valid follows it, so it is cut. */
    check_torn_tail("badcrc.log", bad_crc, strlen(bad_crc));
}

/* Opens path expecting failure with err starting with prefix; checks that the file is
 * unchanged and that the callback saw exactly want_seen records. */
static void expect_open_fails(const char *path, const char *prefix, size_t want_seen)
{
    char err[512] = "";
    struct seen s = {0};
    size_t before_len, after_len;
    char *before = read_all(path, &before_len), *after;

    CHECK(journal_open(path, on_record, &s, NULL, err, sizeof err) == NULL);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        check_fail(__FILE__, __LINE__, "error \"%s\" does not start with \"%s\"", err,
                   prefix);
    after = read_all(path, &after_len);
    CHECK_MEM_EQ(after, after_len, before, before_len);
    CHECK_UINT_EQ(s.n, want_seen);
    free(before);
    free(after);
    seen_free(&s);
}

static void test_corrupt_middle(void)
{
    const char *path = path_in_tmp("corrupt.log");
    char prefix[512];
    uint64_t offs[8];
    size_t len;
    char *orig, *buf;

    write_recs(path, 0, 5, 1);
    orig = read_all(path, &len);
    buf = check_malloc(len);
    CHECK_UINT_EQ(line_starts(orig, len, offs, 8), 5);
    snprintf(prefix, sizeof prefix, "corrupt record in %s at offset %llu: ", path,
             (unsigned long long)offs[1]);
    /* Every byte of record 2, its '\n' included. */
    for (size_t i = offs[1]; i < offs[2]; i++) {
        memcpy(buf, orig, len);
        buf[i] ^= 0x01;
        write_all(path, buf, len);
        expect_open_fails(path, prefix, 1);
    }
    memcpy(buf, orig, len);
    buf[offs[1]] = 'X';
    write_all(path, buf, len);
    snprintf(prefix, sizeof prefix, "corrupt record in %s at offset %llu: bad checksum",
             path, (unsigned long long)offs[1]);
    expect_open_fails(path, prefix, 1);
    free(buf);
    free(orig);
}

/* The '\n' of record 4 of 5 damaged or deleted: records 4 and 5 read as one bad line, but
 * record 5 is still inside it, so this is corruption, not a torn tail to cut. */
static void test_corrupt_lost_newline(void)
{
    const char *path = path_in_tmp("newline.log");
    char prefix[512];
    uint64_t offs[8];
    size_t len;
    char *buf;

    write_recs(path, 0, 5, 1);
    buf = read_all(path, &len);
    CHECK_UINT_EQ(line_starts(buf, len, offs, 8), 5);
    snprintf(prefix, sizeof prefix, "corrupt record in %s at offset %llu: bad checksum",
             path, (unsigned long long)offs[3]);
    buf[offs[4] - 1] = 'x';
    write_all(path, buf, len);
    expect_open_fails(path, prefix, 3);
    memmove(buf + offs[4] - 1, buf + offs[4], len - offs[4]);
    write_all(path, buf, len - 1);
    expect_open_fails(path, prefix, 3);
    free(buf);
}

static void test_callback_stop(void)
{
    const char *path = path_in_tmp("stop.log");
    char err[256] = "", want[128];
    struct seen s = {.stop_at = 3};
    uint64_t offs[8];
    size_t len;
    char *buf;

    write_recs(path, 0, 5, 1);
    buf = read_all(path, &len);
    CHECK_UINT_EQ(line_starts(buf, len, offs, 8), 5);
    CHECK(journal_open(path, on_record, &s, NULL, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "replay stopped by caller at offset %llu",
             (unsigned long long)offs[2]);
    CHECK_STR_EQ(err, want);
    check_recs(&s, 3, 0);
    seen_free(&s);
    /* Stopped before reaching a torn tail: the tail is not cut. */
    buf = realloc(buf, len + 4);
    CHECK(buf != NULL);
    memcpy(buf + len, "REC ", 4);
    write_all(path, buf, len + 4);
    s.stop_at = 5;
    CHECK(journal_open(path, on_record, &s, NULL, err, sizeof err) == NULL);
    CHECK_UINT_EQ(file_size(path), len + 4);
    seen_free(&s);
    free(buf);
}

/* Appends record 3 with a value long enough that writing it crosses a file size limit of
 * size + 20 bytes, which it sets (RLIMIT_FSIZE, SIGXFSZ ignored); *old is the limit to
 * restore. */
static void append_past_limit(struct journal *j, uint64_t size, struct rlimit *old)
{
    struct rlimit lim;
    struct rec r;

    make_rec(&r, 3);
    r.argv[1] = "a value long enough to cross the limit";
    r.lens[1] = strlen(r.argv[1]);
    CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    CHECK_INT_EQ(getrlimit(RLIMIT_FSIZE, old), 0);
    lim = *old;
    lim.rlim_cur = (rlim_t)size + 20;
    signal(SIGXFSZ, SIG_IGN);
    CHECK_INT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

/* A real write failure: RLIMIT_FSIZE lets the file grow 20 more bytes, then write(2) fails
 * with EFBIG (SIGXFSZ ignored). The journal must not call the record durable, must say it
 * is failing and why, and must not crash or give up: once the limit is lifted the next
 * sync cuts the 20 half-written bytes (a torn record in the middle of the file would be
 * corruption at the next open) and writes the record again. */
static void test_sync_failure(void)
{
    const char *path = path_in_tmp("fail.log");
    char err[256] = "", want[300], cause[96] = "";
    struct rlimit old;
    struct journal_info info;
    struct seen s = {0};
    struct journal *j;
    uint64_t size;
    struct rec r;

    write_recs(path, 0, 3, 1);
    size = file_size(path);
    j = journal_open(path, NULL, NULL, NULL, err, sizeof err);
    CHECK(j != NULL);
    CHECK_INT_EQ(journal_failing(j, NULL, 0, NULL, 0), 0);
    append_past_limit(j, size, &old);
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot write %s: %s", path, strerror(EFBIG));
    CHECK_STR_EQ(err, want);
    CHECK_UINT_EQ(file_size(path), size + 20);
    CHECK_INT_EQ(journal_failing(j, NULL, 0, cause, sizeof cause), 1);
    CHECK_STR_EQ(cause, strerror(EFBIG));
    /* Still failing: the retry cuts back first (the file is whole again), then fails. */
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), -1);
    CHECK_UINT_EQ(file_size(path), size + 20);
    CHECK_INT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);

    make_rec(&r, 4);
    CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);
    CHECK_INT_EQ(journal_failing(j, NULL, 0, NULL, 0), 0);
    journal_close(j);

    reopen(path, &s, &info);
    CHECK_UINT_EQ(info.records, 5); /* 0-2, the long 3 written again, 4 */
    CHECK_UINT_EQ(info.torn_bytes, 0);
    seen_free(&s);
}

static void test_open_errors(void)
{
    char err[1024] = "", want[1024];
    const char *dir = check_tmpdir();
    char path[300];

    CHECK(journal_open(dir, NULL, NULL, NULL, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "cannot open %s: %s", dir, strerror(EISDIR));
    CHECK_STR_EQ(err, want);
    snprintf(path, sizeof path, "%s/no/such/dir.log", dir);
    CHECK(journal_open(path, NULL, NULL, NULL, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "cannot open %s: %s", path, strerror(ENOENT));
    CHECK_STR_EQ(err, want);
    CHECK(journal_open("/dev/null", NULL, NULL, NULL, err, sizeof err) == NULL);
    CHECK_STR_EQ(err, "cannot use /dev/null: not a regular file");
    journal_close(NULL);
}

/* A new file gets mode 0600 (under a zero umask: private to the daemon's user, #16), and a
 * bare file name (its directory is ".") works. */
static void test_create_relative(void)
{
    char err[256] = "", cwd[512];
    struct journal *j;
    struct stat st;
    mode_t old_mask = umask(0);

    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_INT_EQ(chdir(check_tmpdir()), 0);
    unlink("relative.log");
    j = journal_open("relative.log", NULL, NULL, NULL, err, sizeof err);
    umask(old_mask);
    CHECK(j != NULL);
    CHECK_INT_EQ(stat("relative.log", &st), 0);
    CHECK_INT_EQ(st.st_mode & 0777, 0600);
    journal_close(j);
    CHECK_INT_EQ(chdir(cwd), 0);
}

/* ---- the log thread ---- */

struct progress {
    struct journal *j;
    struct event_base *base;
    uint64_t done;
    int calls, failed;
    char err[256];
};

static void on_progress(void *arg)
{
    struct progress *p = arg;
    p->calls++;
    if (journal_durable(p->j, &p->done, p->err, sizeof p->err) < 0)
        p->failed = 1;
}

/* Runs the loop until ticket is durable or the thread failed (at most ~10 s). */
static void loop_until(struct progress *p, uint64_t ticket)
{
    for (int i = 0; i < 10000 && p->done < ticket && !p->failed; i++) {
        struct timeval tv = { 0, 1000 };
        event_base_loopexit(p->base, &tv);
        event_base_dispatch(p->base);
    }
}

static int fill_one(void *ctx, struct journal *tmp)
{
    struct rec r;
    make_rec(&r, *(size_t *)ctx);
    return journal_append(tmp, 3, r.argv, r.lens);
}

static void test_thread_group_commit(void)
{
    const char *path = path_in_tmp("thread.log");
    char err[256] = "";
    struct journal_info info;
    struct seen s = {0};
    struct event_base *base = event_base_new();
    struct journal *j = journal_open(path, NULL, NULL, NULL, err, sizeof err);
    struct progress p = { j, base, 0, 0, 0, "" };
    struct rec r;

    CHECK(j != NULL && base != NULL);
    CHECK_INT_EQ(journal_start_thread(j, base, on_progress, &p, err, sizeof err), 0);
    CHECK_UINT_EQ(journal_submit(j), 0);            /* nothing ever submitted */
    for (size_t i = 0; i < 10; i++) {
        make_rec(&r, i);
        CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    }
    uint64_t t1 = journal_submit(j);
    CHECK_UINT_EQ(journal_pending(j), 0);
    CHECK_UINT_EQ(journal_submit(j), t1);           /* nothing new: the same ticket */
    for (size_t i = 10; i < 20; i++) {
        make_rec(&r, i);
        CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    }
    uint64_t t2 = journal_submit(j);
    CHECK(t2 == t1 + 1);
    loop_until(&p, t2);
    CHECK_INT_EQ(p.failed, 0);
    CHECK(p.calls >= 1);
    CHECK(p.done >= t2);
    CHECK_UINT_EQ(journal_size(j), file_size(path)); /* written when durable */

    /* journal_sync with a thread: submits and waits. */
    for (size_t i = 20; i < 25; i++) {
        make_rec(&r, i);
        CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    }
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), 0);
    CHECK_UINT_EQ(journal_size(j), file_size(path));

    /* A rewrite while the thread runs, then more records through the thread. */
    size_t keep = 100;
    CHECK_INT_EQ(journal_rewrite(j, fill_one, &keep, err, sizeof err), 0);
    CHECK_UINT_EQ(journal_size(j), file_size(path));
    for (size_t i = 101; i < 104; i++) {
        make_rec(&r, i);
        CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    }
    uint64_t t3 = journal_submit(j);
    loop_until(&p, t3);
    CHECK(p.done >= t3);

    /* Handed over but not reported yet: close writes them; not submitted: discarded. */
    make_rec(&r, 104);
    CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    journal_submit(j);
    make_rec(&r, 105);
    CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    journal_close(j);
    event_base_free(base);

    reopen(path, &s, &info);
    check_recs(&s, 5, 100);
    CHECK_UINT_EQ(info.torn_bytes, 0);
    seen_free(&s);
}

/* A write failure inside the thread (RLIMIT_FSIZE, as in sync_failure): the ticket is
 * not reported durable, the callback runs and journal_failing says why; the thread retries
 * on its own, and once the limit is lifted the ticket becomes durable with no torn bytes
 * left in the file. */
static void test_thread_failure(void)
{
    const char *path = path_in_tmp("thread_fail.log");
    char err[256] = "", want[300];
    struct rlimit old;
    struct journal_info info;
    struct seen s = {0};
    struct rec r;

    write_recs(path, 0, 3, 1);
    uint64_t size = file_size(path);
    struct event_base *base = event_base_new();
    struct journal *j = journal_open(path, NULL, NULL, NULL, err, sizeof err);
    struct progress p = { j, base, 0, 0, 0, "" };
    CHECK(j != NULL && base != NULL);
    CHECK_INT_EQ(journal_start_thread(j, base, on_progress, &p, err, sizeof err), 0);
    append_past_limit(j, size, &old);
    uint64_t t = journal_submit(j);
    for (int i = 0; i < 10000 && !journal_failing(j, NULL, 0, NULL, 0); i++) {
        struct timeval tv = { 0, 1000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    CHECK_INT_EQ(journal_failing(j, err, sizeof err, NULL, 0), 1);
    snprintf(want, sizeof want, "cannot write %s: %s", path, strerror(EFBIG));
    CHECK_STR_EQ(err, want);
    CHECK_INT_EQ(p.failed, 0);
    CHECK(p.done < t);
    /* journal_sync does not wait for a failing thread: it says so at once. */
    CHECK_INT_EQ(journal_sync(j, err, sizeof err), -1);
    make_rec(&r, 4);
    CHECK_INT_EQ(journal_append(j, 3, r.argv, r.lens), 0);
    uint64_t t2 = journal_submit(j);
    CHECK_INT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    loop_until(&p, t2);
    CHECK_UINT_EQ(p.done, t2);
    CHECK_INT_EQ(journal_failing(j, NULL, 0, NULL, 0), 0);
    journal_close(j);
    event_base_free(base);

    reopen(path, &s, &info);
    CHECK_UINT_EQ(info.records, 5); /* 0-2, the long 3 written again, 4 */
    CHECK_UINT_EQ(info.torn_bytes, 0);
    seen_free(&s);
}

static const struct check_case cases[] = {
    {"reopen", test_reopen},
    {"unsynced_discarded", test_unsynced_discarded},
    {"large_and_many", test_large_and_many},
    {"torn_every_offset", test_torn_every_offset},
    {"torn_garbage", test_torn_garbage},
    {"corrupt_middle", test_corrupt_middle},
    {"corrupt_lost_newline", test_corrupt_lost_newline},
    {"callback_stop", test_callback_stop},
    {"sync_failure", test_sync_failure},
    {"open_errors", test_open_errors},
    {"create_relative", test_create_relative},
    {"thread_group_commit", test_thread_group_commit},
    {"thread_failure", test_thread_failure},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
