/* test_record.c -- unit tests of common/record.c: CRC-32C, encoding, strict decoding.
 *
 * Expected encodings are built here by hand, with a bit-at-a-time CRC-32C written from the
 * definition (not with record_crc32c), so a wrong table or a wrong escape shows up as a
 * byte-for-byte difference. Decoding is checked on round trips of every byte value, empty
 * fields, a 1 MB field and many fields, and on malformed lines, each with its reason.
 *
 * Run: test_record [case]   (no argument: every case)
 */
#include "check_common.h"
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CRC-32C one bit at a time, straight from the definition: reflected, init and final xor
 * 0xffffffff, polynomial 0x82F63B78. Independent of record.c's tables. */
static uint32_t ref_crc32c(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* Returns payload + "#" + its reference CRC + "\n" (malloc'd; *len without the '\n'). */
static char *ref_line(const char *payload, size_t plen, size_t *len)
{
    char *s = check_malloc(plen + 11);

    memcpy(s, payload, plen);
    snprintf(s + plen, 11, "#%08x", (unsigned)ref_crc32c(payload, plen));
    s[plen + 9] = '\n';
    *len = plen + 9;
    return s;
}

/* Encodes argv into a fresh buffer, failing the test on error. */
static struct record_buf encode(int argc, const char *const *argv, const size_t *lens)
{
    struct record_buf b = {0};

    CHECK_INT_EQ(record_encode(&b, argc, argv, lens), 0);
    return b;
}

/* Encodes, checks the line's shape, decodes, and checks the fields come back equal. */
static void round_trip(int argc, const char *const *argv, const size_t *lens)
{
    struct record_buf b = encode(argc, argv, lens);
    struct record_fields f;
    char err[128] = "";

    CHECK(b.len >= 12 && b.p[b.len - 1] == '\n');
    for (size_t i = 0; i + 1 < b.len; i++)
        CHECK(b.p[i] >= 0x20 && b.p[i] <= 0x7e);
    CHECK_INT_EQ(record_decode(b.p, b.len - 1, &f, err, sizeof err), 0);
    CHECK_INT_EQ(f.argc, argc);
    for (int i = 0; i < argc; i++) {
        CHECK_MEM_EQ(f.argv[i], f.lens[i], argv[i], lens[i]);
        CHECK_INT_EQ(f.argv[i][f.lens[i]], '\0');
    }
    record_fields_free(&f);
    free(b.p);
}

static void test_crc(void)
{
    unsigned char buf[300];

    CHECK_UINT_EQ(ref_crc32c("123456789", 9), 0xe3069283u);
    CHECK_UINT_EQ(record_crc32c(0, "123456789", 9), 0xe3069283u);
    CHECK_UINT_EQ(record_crc32c(0, "", 0), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    /* Every length and start offset exercises both the 8-byte loop and the byte loop. */
    for (size_t off = 0; off < 9; off++) {
        for (size_t len = 0; off + len <= sizeof buf; len++)
            CHECK_UINT_EQ(record_crc32c(0, buf + off, len), ref_crc32c(buf + off, len));
    }
    /* Continuing from a previous value equals one pass over the whole. */
    for (size_t cut = 0; cut <= sizeof buf; cut++) {
        uint32_t c = record_crc32c(0, buf, cut);
        CHECK_UINT_EQ(record_crc32c(c, buf + cut, sizeof buf - cut),
                      ref_crc32c(buf, sizeof buf));
    }
}

/* Checks that argv encodes to exactly payload + "#" + reference CRC + "\n". */
static void check_encoding(int argc, const char *const *argv, const size_t *lens,
                           const char *payload)
{
    size_t want_len;
    char *want = ref_line(payload, strlen(payload), &want_len);
    struct record_buf b = encode(argc, argv, lens);

    CHECK_MEM_EQ(b.p, b.len, want, want_len + 1);
    free(want);
    free(b.p);
}

static void test_known_encodings(void)
{
    const char *commit[] = {"COMMIT", "42"};
    size_t commit_lens[] = {6, 2};
    const char *prep[] = {"PREPARE", "42", "2", "3", "SET", "foo", "bar", "2", "DEL", "k\n1"};
    size_t prep_lens[] = {7, 2, 1, 1, 3, 3, 3, 1, 3, 3};
    const char *special[] = {"", "a b", "\\\"#", "\x7f\x80\xff", "x\0y"};
    size_t special_lens[] = {0, 3, 3, 3, 3};
    struct record_buf b = encode(2, commit, commit_lens);

    /* The literal, so the docs' example can be checked by eye: CRC-32C("COMMIT 42 "). */
    CHECK_MEM_EQ(b.p, b.len, "COMMIT 42 #a7d99ee9\n", (size_t)20);
    free(b.p);
    check_encoding(2, commit, commit_lens, "COMMIT 42 ");
    check_encoding(10, prep, prep_lens, "PREPARE 42 2 3 SET foo bar 2 DEL k\\x0a1 ");
    check_encoding(5, special, special_lens,
                   "\"\" a\\x20b \\x5c\\x22\\x23 \\x7f\\x80\\xff x\\x00y ");
    check_encoding(1, special, special_lens, "\"\" ");
}

static void test_encode_appends(void)
{
    const char *argv[] = {"END", "7"};
    size_t lens[] = {3, 1};
    struct record_buf b = {0};

    CHECK_INT_EQ(record_encode(&b, 2, argv, lens), 0);
    CHECK_INT_EQ(record_encode(&b, 2, argv, lens), 0);
    CHECK_UINT_EQ(b.len, 2 * strlen("END 7 #xxxxxxxx\n"));
    CHECK_MEM_EQ(b.p, b.len / 2, b.p + b.len / 2, b.len / 2);
    /* argc 0 is refused and leaves the buffer as it was. */
    CHECK_INT_EQ(record_encode(&b, 0, argv, lens), -1);
    CHECK_UINT_EQ(b.len, 2 * strlen("END 7 #xxxxxxxx\n"));
    free(b.p);
}

static void test_every_byte(void)
{
    char all[256], singles[256][1];
    const char *one[1] = {all}, *many[256];
    size_t one_len[1] = {256}, many_lens[256];

    for (int i = 0; i < 256; i++) {
        all[i] = (char)i;
        singles[i][0] = (char)i;
        many[i] = singles[i];
        many_lens[i] = 1;
    }
    round_trip(1, one, one_len);
    round_trip(256, many, many_lens);
}

static void test_empty_fields(void)
{
    const char *argv[] = {"", "x", "", ""};
    size_t lens[] = {0, 1, 0, 0};

    round_trip(1, argv, lens);
    round_trip(4, argv, lens);
}

static void test_large_field(void)
{
    size_t n = 1024 * 1024;
    char *v = check_malloc(n);
    const char *argv[] = {"SET", v};
    size_t lens[] = {3, n};
    struct record_buf b;

    for (size_t i = 0; i < n; i++)
        v[i] = (char)((i * 2654435761u) >> 13);
    round_trip(2, argv, lens);
    memset(v, 'a', n);
    b = encode(2, argv, lens);
    CHECK_UINT_EQ(b.len, n + strlen("SET  #xxxxxxxx\n"));
    free(b.p);
    memset(v, 0, n);
    b = encode(2, argv, lens);
    CHECK_UINT_EQ(b.len, 4 * n + strlen("SET  #xxxxxxxx\n"));
    round_trip(2, argv, lens);
    free(b.p);
    free(v);
}

static void test_many_fields(void)
{
    enum { N = 20000 };
    static char store[N][8];
    static const char *argv[N];
    static size_t lens[N];

    for (int i = 0; i < N; i++) {
        lens[i] = (size_t)(i % 8);
        for (size_t k = 0; k < lens[i]; k++)
            store[i][k] = (char)(i * 7 + (int)k * 29);
        argv[i] = store[i];
    }
    round_trip(N, argv, lens);
}

/* Decodes line[0..len) and expects failure with exactly reason. */
static void expect_reason(const char *line, size_t len, const char *reason)
{
    struct record_fields f;
    char err[128] = "";

    CHECK_INT_EQ(record_decode(line, len, &f, err, sizeof err), -1);
    CHECK_STR_EQ(err, reason);
    CHECK_INT_EQ(f.argc, 0);
    CHECK(f.argv == NULL && f.lens == NULL);
}

/* Like expect_reason, for a payload given a correct checksum: the error is in the body. */
static void expect_body_reason(const char *payload, const char *reason)
{
    size_t len;
    char *line = ref_line(payload, strlen(payload), &len);

    expect_reason(line, len, reason);
    free(line);
}

static void test_decode_errors(void)
{
    const char good[] = "COMMIT 42 #a7d99ee9";
    char line[sizeof good];

    /* Every single-bit flip anywhere in the line is caught. */
    for (size_t i = 0; i < sizeof good - 1; i++) {
        for (int bit = 0; bit < 8; bit++) {
            struct record_fields f;
            memcpy(line, good, sizeof good);
            line[i] ^= (char)(1 << bit);
            CHECK_INT_EQ(record_decode(line, sizeof good - 1, &f, NULL, 0), -1);
        }
    }
    memcpy(line, good, sizeof good);
    line[1] ^= 0x04;
    expect_reason(line, sizeof good - 1, "bad checksum");
    memcpy(line, good, sizeof good);
    line[sizeof good - 2] = '8';
    expect_reason(line, sizeof good - 1, "bad checksum");
    expect_reason("COMMIT 42 #A7D99EE9", 19, "malformed checksum");
    expect_reason("COMMIT 42 a7d99ee9", 18, "missing checksum");
    expect_reason("COMMIT 42#a7d99ee9", 18, "missing checksum");
    expect_reason("COMMIT 42 #a7d99ee", 18, "missing checksum");
    expect_reason("", 0, "missing checksum");
    expect_body_reason(" ", "no fields");
    expect_body_reason("a\\x4 ", "bad escape");
    expect_body_reason("a\\x4g ", "bad escape");
    expect_body_reason("a\\x0A ", "bad escape");
    expect_body_reason("a\\X0a ", "bad escape");
    expect_body_reason("a\\ ", "bad escape");
    expect_body_reason("\\x41 ", "bad escape");
    expect_body_reason("a\tb ", "unescaped byte 0x09");
    expect_body_reason("a\xff ", "unescaped byte 0xff");
    expect_body_reason("a\"b ", "unescaped byte 0x22");
    expect_body_reason("\"\"x ", "unescaped byte 0x22");
    expect_body_reason("a#b ", "unescaped byte 0x23");
    expect_body_reason("COMMIT  42 ", "empty field");
    expect_body_reason(" COMMIT 42 ", "empty field");
    expect_body_reason("COMMIT 42  ", "empty field");
    expect_body_reason("COMMIT 42\r ", "unescaped byte 0x0d");
    /* And the same bodies are accepted once they are written the way encode writes them. */
    round_trip(1, (const char *[]){"a\tb\"#"}, (size_t[]){5});
}

static void test_fields_free(void)
{
    struct record_fields f;

    memset(&f, 0, sizeof f);
    record_fields_free(&f);
    record_fields_free(&f);
    record_fields_free(NULL);
    CHECK_INT_EQ(record_decode("COMMIT 42 #a7d99ee9", 19, &f, NULL, 0), 0);
    CHECK_INT_EQ(f.argc, 2);
    CHECK_MEM_EQ(f.argv[1], f.lens[1], "42", (size_t)2);
    record_fields_free(&f);
    CHECK(f.argc == 0 && f.argv == NULL && f.lens == NULL);
    record_fields_free(&f);
}

static const struct check_case cases[] = {
    {"crc", test_crc},
    {"known_encodings", test_known_encodings},
    {"encode_appends", test_encode_appends},
    {"every_byte", test_every_byte},
    {"empty_fields", test_empty_fields},
    {"large_field", test_large_field},
    {"many_fields", test_many_fields},
    {"decode_errors", test_decode_errors},
    {"fields_free", test_fields_free},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
