/* fuzz_journal_replay.c -- libFuzzer target for the log-record decoder (common/record.c) and
 * journal replay (common/journal.c).
 *
 * The input is the content of a log file. Each of its lines goes through record_decode();
 * a line it accepts must re-encode (record_encode) to exactly the same bytes, since
 * decoding is strict and a valid line has one meaning. The input is then written to a
 * temporary file and opened with journal_open(), and the target aborts unless:
 *   - replay hands over exactly the leading complete lines that record_decode accepts, in
 *     order, each at its own offset and with the fields that line decodes to (re-encoded,
 *     they are the line's bytes);
 *   - when every complete line is valid, open succeeds; a trailing line without '\n' is
 *     cut as a torn tail (torn_offset, torn_bytes, size and the file's new length agree);
 *   - when open succeeds past a bad line, that line and everything after it is reported as
 *     a torn tail and cut; when it fails, the error says "corrupt record" and the file is
 *     left as it was.
 * Replay must never crash, whatever the bytes (the sanitizers check that).
 *
 * Build with -DTWOPC_FUZZ=ON and CC=clang; run as fuzz_journal_replay CORPUS_DIR SEED_DIR.
 */
#include "journal.h"
#include "record.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_check.h"

/* 1 if line[0..len) decodes, after checking that it re-encodes to itself. */
static int line_valid(const char *line, size_t len)
{
    struct record_fields f;
    char err[128];
    if (record_decode(line, len, &f, err, sizeof err) < 0) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }
    struct record_buf b = { 0 };
    FUZZ_CHECK(record_encode(&b, f.argc, (const char *const *)f.argv, f.lens) == 0);
    FUZZ_CHECK(b.len == len + 1 && memcmp(b.p, line, len) == 0 && b.p[len] == '\n');
    free(b.p);
    record_fields_free(&f);
    return 1;
}

struct replay {
    const uint8_t *data;
    size_t size;
    uint64_t next;   /* offset the next record must start at */
    uint64_t count;
};

static int on_record(void *ctx, int argc, char **argv, size_t *lens, uint64_t offset)
{
    struct replay *r = ctx;
    struct record_buf b = { 0 };
    FUZZ_CHECK(offset == r->next && argc >= 1);
    FUZZ_CHECK(record_encode(&b, argc, (const char *const *)argv, lens) == 0);
    FUZZ_CHECK(offset + b.len <= r->size && memcmp(r->data + offset, b.p, b.len) == 0);
    r->next = offset + b.len;
    r->count++;
    free(b.p);
    return 0;
}

static char path[64];

static void write_file(const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
    close(fd);
}

static uint64_t file_size(void)
{
    struct stat st;
    FUZZ_CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) /* /dev/shm when there is one: replay fsyncs after cutting a torn tail */
        snprintf(path, sizeof path, "%s/fuzz_journal_replay.%d.log",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    /* The decoder alone, line by line: where does the valid prefix end? */
    size_t at = 0, good_end = 0, good_lines = 0;
    int all_complete_valid = 1, prefix = 1;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
        int ok = line_valid((const char *)data + at, len);
        if (nl && !ok)
            all_complete_valid = 0;
        if (prefix && nl && ok) {
            good_end = at + len + 1;
            good_lines++;
        } else {
            prefix = 0;
        }
        at += len + (nl ? 1 : 0);
    }

    write_file(data, size);
    struct replay r = { data, size, 0, 0 };
    struct journal_info info;
    char err[256] = "";
    struct journal *j = journal_open(path, on_record, &r, &info, err, sizeof err);
    /* Replay hands over the valid prefix and nothing else. */
    FUZZ_CHECK(r.count <= good_lines && r.next <= good_end);
    if (j) {
        FUZZ_CHECK(r.count == good_lines && r.next == good_end);
        FUZZ_CHECK(info.records == good_lines && info.size == good_end);
        FUZZ_CHECK(info.torn_bytes == size - good_end);
        FUZZ_CHECK(info.torn_bytes == 0 || info.torn_offset == good_end);
        FUZZ_CHECK(file_size() == good_end);
        journal_close(j);
    } else {
        FUZZ_CHECK(!all_complete_valid);
        FUZZ_CHECK(strstr(err, "corrupt record") != NULL);
        FUZZ_CHECK(file_size() == size);
    }
    unlink(path);
    return 0;
}
