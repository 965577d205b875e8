/* test_secret.c -- the cluster secret (common/secret.c) and the protocol range
 * (common/version.c).
 *
 * Proofs are checked against a vector computed independently (Python's hmac module); the
 * secret file's checks (mode, empty line, missing file) each refuse with a message that
 * names the file and never its contents; the negotiation rule picks the newest common
 * version; the test hook's parser refuses malformed ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "check_common.h"
#include "secret.h"
#include "version.h"

#define NONCE "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* hmac.new(b"correct horse", b"twopc-auth " + NONCE, hashlib.sha256).hexdigest() */
#define PROOF "9cac45913476293f251ddbbd627da1f303ff1462bb9c5c8557a97e7fa4d25fa2"

static const char *write_file(const char *name, const char *text, mode_t mode)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", check_tmpdir(), name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    CHECK_INT_EQ(chmod(path, mode), 0);
    return path;
}

static void test_proof(void)
{
    char out[SECRET_HEX_LEN + 1], err[256];
    CHECK_INT_EQ(secret_present(), 0);
    CHECK_INT_EQ(secret_proof(NONCE, 64, out), -1); /* no secret yet */
    CHECK_INT_EQ(secret_verify(NONCE, 64, PROOF, 64), 0);
    CHECK_INT_EQ(secret_load_file(write_file("s", "correct horse\nsecond line\n", 0600), err,
                                  sizeof err), 0);
    CHECK_INT_EQ(secret_present(), 1);
    CHECK_INT_EQ(secret_proof(NONCE, 64, out), 0);
    CHECK_STR_EQ(out, PROOF);
    CHECK_INT_EQ(secret_verify(NONCE, 64, PROOF, 64), 1);
    char bad[] = PROOF;
    bad[63] = bad[63] == '0' ? '1' : '0';
    CHECK_INT_EQ(secret_verify(NONCE, 64, bad, 64), 0);
    CHECK_INT_EQ(secret_verify(NONCE, 64, PROOF, 63), 0);
    CHECK_INT_EQ(secret_verify(NONCE, 63, PROOF, 64), 0);
    /* CRLF line ends are not part of the secret. */
    CHECK_INT_EQ(secret_load_file(write_file("crlf", "correct horse\r\n", 0400), err,
                                  sizeof err), 0);
    CHECK_INT_EQ(secret_verify(NONCE, 64, PROOF, 64), 1);
    CHECK_INT_EQ(secret_set("other", 5, err, sizeof err), 0);
    CHECK_INT_EQ(secret_verify(NONCE, 64, PROOF, 64), 0);
}

static void test_nonce(void)
{
    char a[SECRET_HEX_LEN + 1], b[SECRET_HEX_LEN + 1];
    CHECK_INT_EQ(secret_nonce(a), 0);
    CHECK_INT_EQ(secret_nonce(b), 0);
    CHECK_INT_EQ((int)strlen(a), SECRET_HEX_LEN);
    CHECK_INT_EQ((int)strspn(a, "0123456789abcdef"), SECRET_HEX_LEN);
    CHECK(strcmp(a, b) != 0);
}

static void test_file_checks(void)
{
    char err[512];
    const char *path = write_file("open", "hunter2\n", 0644);
    CHECK_INT_EQ(secret_load_file(path, err, sizeof err), -1);
    CHECK(strstr(err, "accessible by group or others (mode 644)") != NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "hunter2") == NULL);
    CHECK_INT_EQ(secret_load_file(write_file("grp", "hunter2\n", 0640), err, sizeof err), -1);
    CHECK_INT_EQ(secret_load_file(write_file("empty", "\nhunter2\n", 0600), err, sizeof err),
                 -1);
    CHECK(strstr(err, "must hold 1 to 1024 bytes") != NULL);
    CHECK_INT_EQ(secret_load_file("/nonexistent/secret", err, sizeof err), -1);
    CHECK(strstr(err, "can't open the cluster secret file /nonexistent/secret") != NULL);
    CHECK_INT_EQ(secret_load_file(check_tmpdir(), err, sizeof err), -1); /* a folder */
}

static void test_versions(void)
{
    char err[256];
    int lo, hi;
    CHECK_INT_EQ(version_choose(2, 2, 2, 2), 2);
    CHECK_INT_EQ(version_choose(2, 3, 2, 2), 2);
    CHECK_INT_EQ(version_choose(2, 3, 3, 4), 3);
    CHECK_INT_EQ(version_choose(3, 3, 2, 2), -1);
    CHECK_INT_EQ(version_init(err, sizeof err), 0); /* unset: the build's own */
    version_range(&lo, &hi);
    CHECK_INT_EQ(lo, TWOPC_PROTOCOL_MIN);
    CHECK_INT_EQ(hi, TWOPC_PROTOCOL_VERSION);
    static const char *const bad[] = { "3", "3-2", "0-2", "a-b", "2-3x", "-1-2" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("TWOPC_PROTOCOL_RANGE", bad[i], 1);
        CHECK_INT_EQ(version_init(err, sizeof err), -1);
        CHECK(strstr(err, bad[i]) != NULL); /* names what it got */
    }
    setenv("TWOPC_PROTOCOL_RANGE", "2-5", 1);
    CHECK_INT_EQ(version_init(err, sizeof err), 0);
    version_range(&lo, &hi);
    CHECK_INT_EQ(lo, 2);
    CHECK_INT_EQ(hi, 5);
    unsetenv("TWOPC_PROTOCOL_RANGE");
}

static const struct check_case cases[] = {
    { "proof", test_proof },
    { "nonce", test_nonce },
    { "file_checks", test_file_checks },
    { "versions", test_versions },
    { NULL, NULL },
};

int main(int argc, char **argv)
{
    return check_run(cases, argc, argv);
}
