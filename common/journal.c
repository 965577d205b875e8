/* journal.c -- an append-only file of records: replay on open, buffered appends, and a
 * sync that makes them durable.
 *
 * journal_open() creates or opens the file, replays it record by record (each valid record
 * goes to the caller's callback, in file order), and decides what a bad record means:
 *
 *     file:  [rec][rec][rec][BAD ......................................] EOF
 *                            ^ first bad record (bad checksum, bad escape, no '\n', ...)
 *
 *     any later complete line that decodes as a record?  (or a record glued to the end
 *     of a bad line whose '\n' was damaged)
 *       yes -> corruption: fail "corrupt record in PATH at offset N: REASON"; the file is
 *              left byte for byte as it was, for a human to look at.
 *       no  -> torn tail (a crash during an append): ftruncate at N, fsync, and report
 *              torn_offset = N and torn_bytes in journal_info.
 *
 * The file is read in chunks through one buffer that only grows to hold the longest line,
 * so a log of hundreds of megabytes replays in constant memory, while one record may still
 * be as long as RECORD_MAX_LINE.
 *
 * After open, journal_append() encodes records into an in-memory buffer and journal_sync()
 * writes the whole buffer (one write(2) in the common case, short writes and EINTR handled)
 * and calls fdatasync(2): one sync makes many records durable (group commit).
 *
 * A failed write or fdatasync (ENOSPC, EIO) is survived, never trusted. After a failed
 * fsync the kernel may already have dropped the dirty pages and marked them clean, so a
 * second fsync could report success for data that is not on disk (the PostgreSQL
 * "fsyncgate" lesson); and a short write leaves a torn record that a later append would
 * bury in the middle of the file, where replay calls it corruption. So the journal
 * remembers its last durable offset (durable_off), and after a failure every byte past it
 * counts as never written: the next attempt first cuts the file back to durable_off and
 * fsyncs that (cut_back), then writes the same records again from memory and fdatasyncs
 * them. Until an attempt succeeds the journal is "failing" (journal_failing says why);
 * nothing in the failed batch is reported durable, the records stay in memory, and the
 * log thread retries on its own (20 ms, backing off to 500 ms), so the log heals by
 * itself once the disk accepts writes again. Bytes before durable_off were made durable
 * by an fsync that succeeded and are trusted; nothing after it ever is.
 *
 * The log thread (journal_start_thread) takes the write and the fdatasync off the event
 * loop: journal_submit() hands the buffered records over and returns a ticket at once; the
 * thread writes whatever was handed over since its last pass in one write(2) and one
 * fdatasync(2) (group commit: every submission that arrives while a sync runs rides the
 * next one), then raises an eventfd, and the loop's callback asks journal_durable() how far
 * durability got:
 *
 *   loop:    append append submit(t1) ... append submit(t2) append submit(t3)   durable? t3
 *   thread:                       [write+fdatasync t1]  [write+fdatasync t2..t3] ─▶ eventfd
 *
 * Shared between the two threads, under `mu`: the hand-over buffer (`queued`), the tickets
 * submitted and made durable, the thread's failure, and `stop`. The file descriptor is
 * read by the thread under `mu` when it takes work; only the loop changes it (a rewrite),
 * and only while the thread has nothing to do (journal_sync waits for it first).
 * Everything else in a journal belongs to the loop's thread alone.
 */
#include "journal.h"

#include "failpoint.h"
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

/* Size of one read during replay: big enough that reading costs few system calls, small
 * enough to keep replay's memory flat. */
#define JOURNAL_CHUNK (256 * 1024)

/* Longest line replay will buffer; a longer one is a bad record, skipped without being
 * held in memory. Overridable only so that a test can reach this path with small files. */
#ifndef JOURNAL_MAX_LINE
#define JOURNAL_MAX_LINE RECORD_MAX_LINE
#endif

/* After a sync, an append buffer grown past this is freed rather than kept: one huge
 * record should not pin its memory for the life of the process. */
#define JOURNAL_KEEP_BUF (4 * 1024 * 1024)

struct log_thread {
    pthread_t id;
    pthread_mutex_t mu;
    pthread_cond_t work;       /* the thread waits here for submissions or stop */
    pthread_cond_t done;       /* journal_sync waits here for a ticket to become durable */
    struct record_buf queued;  /* under mu: submitted, not yet taken by the thread */
    uint64_t submitted;        /* under mu: newest ticket handed over */
    uint64_t durable;          /* under mu: every ticket up to this one is durable */
    int failing, stop;         /* under mu: failing: the last pass failed, retry pending */
    int oom;                   /* under mu: records were lost for want of memory */
    char err[256];             /* under mu: why the last pass failed */
    char cause[96];            /* under mu: its strerror text alone */
    int retry_ms;              /* thread only: wait before the next retry */
    int efd;                   /* eventfd: the thread raises it after each pass */
    struct event *ev;
    journal_durable_fn fn;
    void *ctx;
};

struct journal {
    int fd;
    int dead;               /* a rewrite's directory fsync failed: refuse all further use */
    int failing;            /* without a thread: the last sync failed (retry pending) */
    char err[256], cause[96]; /* without a thread: why */
    uint64_t size;          /* bytes in the file (written or handed to the log thread) */
    uint64_t durable_off;   /* bytes known durable; after a failure the file is cut back
                             * to this offset before anything else is written. Owned by
                             * the log thread while one runs. */
    struct record_buf pending;  /* encoded records not yet written */
    char *path;
    struct log_thread *lt;  /* NULL: journal_sync writes and syncs on the caller's thread */
};

/* Replay reads the file through this: buf[start..end) is data not yet handed out, and
 * base is the file offset of buf[0]. */
struct scanner {
    int fd;
    char *buf;
    size_t cap, start, end;
    size_t scanned;         /* buf[start..scanned) is known to hold no '\n' */
    uint64_t base;
    int eof;
    int skipping;           /* discarding the rest of an over-long line */
};

/* One line handed out by scan_line. */
struct line {
    const char *p;          /* NULL for an over-long line */
    size_t len;             /* without the '\n' */
    uint64_t off;           /* file offset of its first byte */
    int complete;           /* ended by '\n' (not by end of file) */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Reads one chunk after buf[end], first moving the unread data to the front and growing
 * the buffer if the current line fills it. Returns 0 (data read, or eof set) or -1. */
static int scan_fill(struct scanner *s)
{
    ssize_t n;

    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->base += s->start;
        s->end -= s->start;
        s->scanned -= s->start;
        s->start = 0;
    }
    if (s->cap - s->end < JOURNAL_CHUNK) {
        size_t cap = s->cap < JOURNAL_CHUNK ? 2 * JOURNAL_CHUNK : 2 * s->cap;
        char *p = realloc(s->buf, cap);
        if (p == NULL) {
            errno = ENOMEM;
            return -1;
        }
        s->buf = p;
        s->cap = cap;
    }
    do {
        n = read(s->fd, s->buf + s->end, s->cap - s->end);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if (n == 0)
        s->eof = 1;
    s->end += (size_t)n;
    return 0;
}

/* Drops bytes up to and including the next '\n' (or to end of file) after an over-long
 * line. Returns 0 or -1. */
static int scan_skip(struct scanner *s)
{
    while (s->skipping) {
        char *nl = memchr(s->buf + s->start, '\n', s->end - s->start);
        if (nl != NULL) {
            s->start = (size_t)(nl - s->buf) + 1;
            s->skipping = 0;
        } else if (s->eof) {
            s->start = s->end;
            s->skipping = 0;
        } else {
            s->start = s->end;
            if (scan_fill(s) < 0)
                return -1;
        }
    }
    s->scanned = s->start;
    return 0;
}

/* Before the first line: allocates the buffer and reads the first chunk (so buf is never
 * NULL below). After an over-long line: skips its rest. Returns 0 or -1. */
static int scan_fill_or_skip(struct scanner *s)
{
    return s->buf == NULL ? scan_fill(s) : scan_skip(s);
}

/* Hands out the next line. Returns 1 with *ln filled, 0 at end of file, or -1 with errno
 * set (read error, no memory). ln->p stays valid until the next call. */
static int scan_line(struct scanner *s, struct line *ln)
{
    if ((s->buf == NULL || s->skipping) && scan_fill_or_skip(s) < 0)
        return -1;
    for (;;) {
        char *nl = memchr(s->buf + s->scanned, '\n', s->end - s->scanned);
        ln->off = s->base + s->start;
        ln->p = s->buf + s->start;
        if (nl != NULL || s->end - s->start > JOURNAL_MAX_LINE) {
            ln->complete = nl != NULL;
            ln->len = nl ? (size_t)(nl - ln->p) : s->end - s->start;
            break;
        }
        s->scanned = s->end;
        if (s->eof) {
            if (s->start == s->end)
                return 0;
            ln->complete = 0;
            ln->len = s->end - s->start;
            break;
        }
        if (scan_fill(s) < 0)
            return -1;
    }
    if (ln->len > JOURNAL_MAX_LINE) {
        /* Hand out only where it starts; its bytes are never held whole. */
        ln->p = NULL;
        s->skipping = 1;
        return 1;
    }
    s->start += ln->len + ln->complete;
    s->scanned = s->start;
    return 1;
}

/* 1 if ln is a valid record; else 0 with the reason in why. */
static int line_is_record(const struct line *ln, char *why, size_t whylen)
{
    struct record_fields f;

    if (ln->p == NULL) {
        set_err(why, whylen, "record longer than %zu bytes", (size_t)JOURNAL_MAX_LINE);
        return 0;
    }
    if (!ln->complete) {
        set_err(why, whylen, "incomplete record (no newline)");
        return 0;
    }
    if (record_decode(ln->p, ln->len, &f, why, whylen) < 0)
        return 0;
    record_fields_free(&f);
    return 1;
}

/* 1 if p[0..len) starts with " #" and 8 lowercase hex digits, then at least one more byte:
 * the end of a record with something after it. */
static int is_inner_trailer(const char *p, size_t len)
{
    if (len <= 10 || p[0] != ' ' || p[1] != '#')
        return 0;
    for (int i = 2; i < 10; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* 1 if the complete line ln holds a valid record: the whole line, or what follows a
 * " #xxxxxxxx" checksum inside it, which is what the next record looks like when the '\n'
 * of the one before it was damaged (then the record starts one byte after the digits) or
 * lost (right after them). Only full trailers are tried, so garbage full of '#' does not
 * make this quadratic. */
static int line_holds_record(const struct line *ln)
{
    const char *end;

    if (ln->p == NULL || !ln->complete)
        return 0;
    end = ln->p + ln->len;
    if (line_is_record(ln, NULL, 0))
        return 1;
    for (const char *h = ln->p; (h = memchr(h, '#', (size_t)(end - h))) != NULL; h++) {
        if (h == ln->p || !is_inner_trailer(h - 1, (size_t)(end - h) + 1))
            continue;
        for (const char *start = h + 9; start <= h + 10 && start < end; start++) {
            struct line tail = {.p = start, .len = (size_t)(end - start), .complete = 1};
            if (line_is_record(&tail, NULL, 0))
                return 1;
        }
    }
    return 0;
}

/* Cuts the torn tail at off and makes the new size durable. Returns 0 or -1. */
static int cut_tail(struct journal *j, uint64_t off, char *err, size_t errlen)
{
    if (ftruncate(j->fd, (off_t)off) < 0) {
        set_err(err, errlen, "cannot cut torn tail of %s at offset %llu: %s", j->path,
                (unsigned long long)off, strerror(errno));
        return -1;
    }
    if (fsync(j->fd) < 0) {
        set_err(err, errlen, "cannot fsync %s after cutting its torn tail: %s", j->path,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Called at the first bad record, bad: reads the rest of the file and either reports
 * corruption (a valid record follows) or cuts the torn tail. Returns 0 or -1. */
static int settle_bad_record(struct journal *j, struct scanner *s, const struct line *bad,
                             struct journal_info *info, char *err, size_t errlen)
{
    char why[128];
    struct line ln = *bad;
    int r = 1;

    line_is_record(bad, why, sizeof why);
    while (r == 1 && !line_holds_record(&ln))
        r = scan_line(s, &ln);
    if (r < 0) {
        set_err(err, errlen, "cannot read %s: %s", j->path, strerror(errno));
        return -1;
    }
    if (r == 1) {
        set_err(err, errlen, "corrupt record in %s at offset %llu: %s", j->path,
                (unsigned long long)bad->off, why);
        return -1;
    }
    if (cut_tail(j, bad->off, err, errlen) < 0)
        return -1;
    info->torn_offset = bad->off;
    info->torn_bytes = s->base + s->end - bad->off;
    j->size = bad->off;
    return 0;
}

/* Hands one valid line to fn. Returns 1 (a record, replayed), 0 (not a valid record), or
 * -1 (fn stopped replay, err set). */
static int replay_line(const struct line *ln, journal_replay_fn fn, void *ctx, char *err,
                       size_t errlen)
{
    struct record_fields f;
    int stop;

    if (ln->p == NULL || !ln->complete || record_decode(ln->p, ln->len, &f, NULL, 0) < 0)
        return 0;
    stop = fn != NULL && fn(ctx, f.argc, f.argv, f.lens, ln->off) != 0;
    record_fields_free(&f);
    if (stop) {
        set_err(err, errlen, "replay stopped by caller at offset %llu",
                (unsigned long long)ln->off);
        return -1;
    }
    return 1;
}

/* Replays the whole file into fn and settles a bad tail. Returns 0 or -1. */
static int replay(struct journal *j, journal_replay_fn fn, void *ctx,
                  struct journal_info *info, char *err, size_t errlen)
{
    struct scanner s = {.fd = j->fd};
    struct line ln;
    int r, ok = 0;

    while ((r = scan_line(&s, &ln)) == 1) {
        int got = replay_line(&ln, fn, ctx, err, errlen);
        if (got < 0)
            break;
        if (got == 0) {
            ok = settle_bad_record(j, &s, &ln, info, err, errlen) == 0;
            break;
        }
        info->records++;
    }
    if (r == 0) {
        ok = 1;
        j->size = s.base + s.end;
    } else if (r < 0) {
        set_err(err, errlen, "cannot read %s: %s", j->path, strerror(errno));
    }
    free(s.buf);
    return ok ? 0 : -1;
}

/* fsyncs the directory holding path, so that the file's name is durable too. Some file
 * systems cannot fsync a directory (EINVAL) and need not. Returns 0 or -1. */
static int sync_parent_dir(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = slash == NULL ? strdup(".") : strndup(path, dirlen);
    int fd, rc = 0;

    if (dir == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (fsync(fd) < 0 && errno != EINVAL)) {
        set_err(err, errlen, "cannot fsync directory %s of %s: %s", dir, path,
                strerror(errno));
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

/* Opens path for reading and appending, creating it if absent, and checks it is a regular
 * file (replaying /dev/zero would never end). Returns the descriptor or -1. */
static int open_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

    if (fd < 0) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        set_err(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "cannot use %s: not a regular file", path);
        close(fd);
        return -1;
    }
    /* One writer per log: a second process on the same data folder (a launcher restarting
     * a replica whose old process still lives, two `make run`s) must fail, not interleave.
     * The lock dies with the process, even on kill -9. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        set_err(err, errlen, "cannot use %s: %s", path,
                errno == EWOULDBLOCK ? "another process has it open (is one already running "
                                       "on this data folder?)"
                                     : strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct journal *journal_open(const char *path, journal_replay_fn fn, void *ctx,
                             struct journal_info *info, char *err, size_t errlen)
{
    struct journal_info scratch;
    struct journal *j = calloc(1, sizeof *j);

    if (info == NULL)
        info = &scratch;
    memset(info, 0, sizeof *info);
    if (j == NULL || (j->path = strdup(path)) == NULL) {
        set_err(err, errlen, "out of memory opening %s", path);
        free(j);
        return NULL;
    }
    j->fd = open_file(path, err, errlen);
    /* The directory is synced on every open, not only when this call created the file:
     * a previous run may have created it and crashed before its own directory sync. */
    if (j->fd < 0 || sync_parent_dir(path, err, errlen) < 0 ||
        replay(j, fn, ctx, info, err, errlen) < 0) {
        journal_close(j);
        return NULL;
    }
    /* What replay read may be only in the page cache (written before a process crash, never
     * synced), yet the caller now acts on it (a COMMIT re-sent, a vote reported in doubt):
     * make it durable before anything depends on it, so a power cut later cannot take back
     * a record that was already acted upon. */
    if (j->size > 0 && fdatasync(j->fd) < 0) {
        set_err(err, errlen, "cannot fdatasync %s: %s", path, strerror(errno));
        journal_close(j);
        return NULL;
    }
    info->size = j->durable_off = j->size;
    return j;
}

int journal_append(struct journal *j, int argc, const char *const *argv,
                   const size_t *lens)
{
    if (j->dead)
        return -1;
    return record_encode(&j->pending, argc, argv, lens);
}

/* Writes buf[0..len) at the end of fd. Returns 0, or -1 with errno set; *size counts
 * whatever part was written. */
static int write_fd(int fd, const char *buf, size_t len, uint64_t *size)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;     /* no progress and no error: do not spin */
            return -1;
        }
        *size += (uint64_t)n;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Records why a pass failed: the whole message in err, the strerror text in cause. */
static void note_cause(char *cause, size_t causelen, int errnum)
{
    snprintf(cause, causelen, "%s", strerror(errnum));
}

/* Writes buf and fdatasyncs fd: the one place records reach the disk, on whichever thread
 * owns the sync. Returns 0, or -1 with a reason in err and the cause in cause. */
static int write_and_sync(int fd, const char *path, const struct record_buf *buf,
                          uint64_t *size, char *err, size_t errlen, char *cause,
                          size_t causelen)
{
    if (FAILPOINT_HIT("journal.torn_write")) {
        write_fd(fd, buf->p, buf->len / 2 + 1, size);
        failpoint_die("journal.torn_write");
    }
    if (FAILPOINT_HIT("journal.write_eio")) {
        /* A failed write that left half a record behind: the cut-back must remove it. */
        write_fd(fd, buf->p, buf->len / 2 + 1, size);
        errno = EIO;
        goto write_failed;
    }
    if (write_fd(fd, buf->p, buf->len, size) < 0)
        goto write_failed;
    /* A failed fdatasync is never retried on the same bytes: see the top of this file. */
    int synced = FAILPOINT_HIT("journal.fsync_eio") ? (errno = EIO, -1) : fdatasync(fd);
    if (synced < 0) {
        int e = errno;
        set_err(err, errlen, "cannot fdatasync %s: %s", path, strerror(e));
        note_cause(cause, causelen, e);
        return -1;
    }
    return 0;
write_failed:
    set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
    note_cause(cause, causelen, errno);
    return -1;
}

/* After a failed write or fdatasync: every byte past off counts as never written (the
 * kernel may have dropped those dirty pages and marked them clean, and a short write may
 * have left a torn record). Cuts the file back to off and makes that durable, so that the
 * records can be written again from memory. Returns 0, or -1 with err and cause. */
static int cut_back(int fd, const char *path, uint64_t off, char *err, size_t errlen,
                    char *cause, size_t causelen)
{
    if (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0) {
        int e = errno;
        set_err(err, errlen, "cannot cut %s back to its durable size %llu: %s", path,
                (unsigned long long)off, strerror(e));
        note_cause(cause, causelen, e);
        return -1;
    }
    return 0;
}

static void buf_reset(struct record_buf *b)
{
    b->len = 0;
    if (b->cap > JOURNAL_KEEP_BUF) {
        free(b->p);
        memset(b, 0, sizeof *b);
    }
}

static int wait_durable(struct journal *j, uint64_t ticket, char *err, size_t errlen);

int journal_sync(struct journal *j, char *err, size_t errlen)
{
    if (j->dead) {
        set_err(err, errlen, "journal %s is unusable after an earlier failure to make a "
                "rewrite durable", j->path);
        return -1;
    }
    if (j->lt)
        return wait_durable(j, journal_submit(j), err, errlen);
    if (j->pending.len == 0 && !j->failing)
        return 0;
    /* The buffer is kept until it is durable: a failed sync is retried by the next. */
    uint64_t size = j->durable_off;
    if ((j->failing && cut_back(j->fd, j->path, j->durable_off, j->err, sizeof j->err,
                                j->cause, sizeof j->cause) < 0) ||
        write_and_sync(j->fd, j->path, &j->pending, &size, j->err, sizeof j->err, j->cause,
                       sizeof j->cause) < 0) {
        j->failing = 1;
        j->size = j->durable_off;
        set_err(err, errlen, "%s", j->err);
        return -1;
    }
    j->failing = 0;
    j->size = j->durable_off = size;
    buf_reset(&j->pending);
    return 0;
}

/* ---- the log thread ---- */

/* Retries of a failed pass start this far apart and back off to the maximum: a full disk
 * is usually freed by a human, in seconds, and a retry costs one ftruncate + fsync. */
#define JOURNAL_RETRY_MIN_MS 20
#define JOURNAL_RETRY_MAX_MS 500

/* With lt->mu held: waits for the retry delay (or stop). */
static void wait_retry(struct log_thread *lt)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)lt->retry_ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    if (!lt->stop)
        pthread_cond_timedwait(&lt->work, &lt->mu, &ts);
    lt->retry_ms = lt->retry_ms * 2 > JOURNAL_RETRY_MAX_MS ? JOURNAL_RETRY_MAX_MS
                                                          : lt->retry_ms * 2;
}

/* With lt->mu held: takes what was handed over into mine (after what a failed pass left
 * there). Returns 0, or -1 if out of memory (the queued records then stay queued). */
static int take_work(struct log_thread *lt, struct record_buf *mine)
{
    if (lt->queued.len == 0)
        return 0;
    if (mine->len == 0) {
        struct record_buf tmp = *mine;
        *mine = lt->queued;
        lt->queued = tmp;
        return 0;
    }
    if (record_buf_sink(mine, lt->queued.p, lt->queued.len) < 0)
        return -1;
    lt->queued.len = 0;
    return 0;
}

/* One pass, without the lock: cut back after a failure, then write and sync mine.
 * Returns 0 with *end the new durable size, or -1 with err and cause. */
static int log_pass(struct journal *j, int fd, int failing, uint64_t off,
                    const struct record_buf *mine, uint64_t *end, char *err, size_t errlen,
                    char *cause, size_t causelen)
{
    if (failing && cut_back(fd, j->path, off, err, errlen, cause, causelen) < 0)
        return -1;
    *end = off;
    return write_and_sync(fd, j->path, mine, end, err, errlen, cause, causelen);
}

static void *log_thread_main(void *arg)
{
    struct journal *j = arg;
    struct log_thread *lt = j->lt;
    struct record_buf mine = { 0 };
    pthread_mutex_lock(&lt->mu);
    lt->retry_ms = JOURNAL_RETRY_MIN_MS;
    for (;;) {
        while (lt->queued.len == 0 && !lt->failing && !lt->stop)
            pthread_cond_wait(&lt->work, &lt->mu);
        if (lt->stop && (lt->failing || lt->queued.len == 0))
            break; /* stopping: everything handed over is written, or cannot be */
        if (take_work(lt, &mine) < 0) {
            set_err(lt->err, sizeof lt->err, "out of memory writing %s", j->path);
            note_cause(lt->cause, sizeof lt->cause, ENOMEM);
            lt->failing = 1;
            wait_retry(lt);
            continue;
        }
        uint64_t ticket = lt->submitted, off = j->durable_off, end = 0;
        int fd = j->fd, failing = lt->failing;
        pthread_mutex_unlock(&lt->mu);

        char err[sizeof lt->err], cause[sizeof lt->cause];
        int rc = log_pass(j, fd, failing, off, &mine, &end, err, sizeof err, cause,
                          sizeof cause);

        pthread_mutex_lock(&lt->mu);
        if (rc < 0) {
            /* mine is kept: the next pass cuts the file back and writes it again. */
            lt->failing = 1;
            memcpy(lt->err, err, sizeof err);
            memcpy(lt->cause, cause, sizeof cause);
        } else {
            buf_reset(&mine);
            j->durable_off = end;
            lt->durable = ticket;
            lt->failing = 0;
            lt->retry_ms = JOURNAL_RETRY_MIN_MS;
        }
        pthread_cond_broadcast(&lt->done);
        uint64_t one = 1;
        ssize_t n = write(lt->efd, &one, sizeof one);
        (void)n; /* the counter only saturates if the loop stopped reading: nothing to do */
        if (rc < 0)
            wait_retry(lt);
    }
    lt->stop = 1;
    pthread_cond_broadcast(&lt->done);
    pthread_mutex_unlock(&lt->mu);
    free(mine.p);
    return NULL;
}

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
    struct journal *j = arg;
    uint64_t count;
    ssize_t n = read(fd, &count, sizeof count);
    (void)n;
    j->lt->fn(j->lt->ctx);
}

int journal_start_thread(struct journal *j, struct event_base *base, journal_durable_fn fn,
                         void *ctx, char *err, size_t errlen)
{
    struct log_thread *lt = calloc(1, sizeof *lt);
    if (!lt) {
        set_err(err, errlen, "out of memory starting the log thread of %s", j->path);
        return -1;
    }
    lt->fn = fn;
    lt->ctx = ctx;
    lt->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lt->efd < 0 ||
        !(lt->ev = event_new(base, lt->efd, EV_READ | EV_PERSIST, on_eventfd, j)) ||
        event_add(lt->ev, NULL) < 0) {
        set_err(err, errlen, "cannot start the log thread of %s: %s", j->path,
                strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&lt->mu, NULL);
    pthread_cond_init(&lt->work, NULL);
    pthread_cond_init(&lt->done, NULL);
    j->lt = lt;
    int rc = pthread_create(&lt->id, NULL, log_thread_main, j);
    if (rc != 0) {
        set_err(err, errlen, "cannot start the log thread of %s: %s", j->path, strerror(rc));
        j->lt = NULL;
        pthread_mutex_destroy(&lt->mu);
        pthread_cond_destroy(&lt->work);
        pthread_cond_destroy(&lt->done);
        goto fail;
    }
    return 0;
fail:
    if (lt->ev)
        event_free(lt->ev);
    if (lt->efd >= 0)
        close(lt->efd);
    free(lt);
    return -1;
}

uint64_t journal_submit(struct journal *j)
{
    struct log_thread *lt = j->lt;
    pthread_mutex_lock(&lt->mu);
    if (j->pending.len > 0 && !lt->oom) {
        j->size += j->pending.len;
        if (lt->queued.len == 0) {
            struct record_buf tmp = lt->queued; /* hand the buffer over: no copy */
            lt->queued = j->pending;
            j->pending = tmp;
        } else if (record_buf_sink(&lt->queued, j->pending.p, j->pending.len) < 0) {
            lt->oom = 1; /* these records are lost: the journal is unusable for good */
        }
        j->pending.len = 0;
        lt->submitted++;
        pthread_cond_signal(&lt->work);
    }
    uint64_t ticket = lt->submitted;
    pthread_mutex_unlock(&lt->mu);
    return ticket;
}

/* With lt->mu held: 0, or -1 with a reason in err if the journal is unusable for good
 * (records were lost for want of memory). Unlocks lt->mu. */
static int unlock_with_status(struct journal *j, char *err, size_t errlen)
{
    struct log_thread *lt = j->lt;
    int dead = lt->oom || j->dead;
    if (dead) {
        set_err(err, errlen, "out of memory queueing records for %s", j->path);
        j->dead = 1;
    }
    pthread_mutex_unlock(&lt->mu);
    return dead ? -1 : 0;
}

int journal_durable(struct journal *j, uint64_t *ticket, char *err, size_t errlen)
{
    pthread_mutex_lock(&j->lt->mu);
    *ticket = j->lt->durable;
    return unlock_with_status(j, err, errlen);
}

int journal_failing(struct journal *j, char *err, size_t errlen, char *cause,
                    size_t causelen)
{
    int failing;
    if (j->lt) {
        pthread_mutex_lock(&j->lt->mu);
        failing = j->lt->failing;
        if (failing) {
            set_err(err, errlen, "%s", j->lt->err);
            set_err(cause, causelen, "%s", j->lt->cause);
        }
        pthread_mutex_unlock(&j->lt->mu);
    } else {
        failing = j->failing;
        if (failing) {
            set_err(err, errlen, "%s", j->err);
            set_err(cause, causelen, "%s", j->cause);
        }
    }
    return failing;
}

/* Blocks until ticket is durable (journal_sync with a log thread); returns -1 at once
 * while the thread is failing (it keeps retrying: the records may become durable later). */
static int wait_durable(struct journal *j, uint64_t ticket, char *err, size_t errlen)
{
    struct log_thread *lt = j->lt;
    pthread_mutex_lock(&lt->mu);
    while (lt->durable < ticket && !lt->oom && !lt->stop) {
        if (lt->failing) {
            set_err(err, errlen, "%s", lt->err);
            pthread_mutex_unlock(&lt->mu);
            return -1;
        }
        pthread_cond_wait(&lt->done, &lt->mu);
    }
    if (lt->durable < ticket && !lt->oom) {
        set_err(err, errlen, "the log thread of %s stopped", j->path);
        pthread_mutex_unlock(&lt->mu);
        return -1;
    }
    return unlock_with_status(j, err, errlen);
}

/* Lets the thread finish what was handed over, then joins it. */
static void stop_thread(struct journal *j)
{
    struct log_thread *lt = j->lt;
    pthread_mutex_lock(&lt->mu);
    lt->stop = 1;
    pthread_cond_signal(&lt->work);
    pthread_mutex_unlock(&lt->mu);
    pthread_join(lt->id, NULL);
    event_free(lt->ev);
    close(lt->efd);
    pthread_mutex_destroy(&lt->mu);
    pthread_cond_destroy(&lt->work);
    pthread_cond_destroy(&lt->done);
    free(lt->queued.p);
    free(lt);
    j->lt = NULL;
}

size_t journal_pending(const struct journal *j)
{
    return j->pending.len;
}

uint64_t journal_size(const struct journal *j)
{
    return j->size + j->pending.len;
}

const char *journal_path(const struct journal *j)
{
    return j->path;
}

void journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    if (j->lt)
        stop_thread(j);
    if (j->fd >= 0)
        close(j->fd);
    free(j->pending.p);
    free(j->path);
    free(j);
}

int journal_rewrite(struct journal *j, journal_fill_fn fill, void *ctx, char *err,
                    size_t errlen)
{
    /* Checklist, each step durable before the next:
     *   1. sync what is buffered (the old file stays complete until step 4);
     *   2. write the new contents to PATH.rewrite and fdatasync it;
     *   3. rename it over PATH (atomic: a crash leaves the old or the new file, whole);
     *   4. fsync the directory so the rename itself survives a crash. */
    if (journal_sync(j, err, errlen) < 0)
        return -1;
    struct journal tmp = { .fd = -1 };
    size_t plen = strlen(j->path);
    if (!(tmp.path = malloc(plen + sizeof ".rewrite"))) {
        set_err(err, errlen, "out of memory rewriting %s", j->path);
        return -1;
    }
    memcpy(tmp.path, j->path, plen);
    memcpy(tmp.path + plen, ".rewrite", sizeof ".rewrite");
    unlink(tmp.path); /* a leftover of a rewrite that crashed before its rename */
    tmp.fd = open_file(tmp.path, err, errlen);
    int rc = tmp.fd < 0 ? -1 : 0;
    if (rc == 0 && fill(ctx, &tmp) < 0) {
        set_err(err, errlen, "rewriting %s: out of memory", j->path);
        rc = -1;
    }
    if (rc == 0)
        rc = journal_sync(&tmp, err, errlen);
    if (rc == 0 && rename(tmp.path, j->path) < 0) {
        set_err(err, errlen, "cannot rename %s: %s", tmp.path, strerror(errno));
        rc = -1;
    }
    if (rc < 0) {
        unlink(tmp.path);
        if (tmp.fd >= 0)
            close(tmp.fd);
        free(tmp.pending.p);
        free(tmp.path);
        return -1;
    }
    if (sync_parent_dir(j->path, err, errlen) < 0)
        j->dead = 1; /* the rename may not be durable: the caller must exit */
    close(j->fd);
    j->fd = tmp.fd;
    j->size = j->durable_off = tmp.size;
    free(tmp.pending.p);
    free(tmp.path);
    return j->dead ? -1 : 0;
}
