/* secret.c -- the cluster secret, its nonces and its HMAC proofs (see secret.h).
 *
 * HMAC-SHA256 and the constant-time comparison are OpenSSL's libcrypto; the nonces come
 * from getrandom(2). The secret sits in one static buffer of this file.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/random.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define PROOF_CONTEXT "twopc-auth "

static char secret[SECRET_MAX];
static size_t secret_len;

int secret_set(const char *value, size_t len, char *err, size_t errlen)
{
    if (len == 0 || len > SECRET_MAX) {
        snprintf(err, errlen, "the cluster secret must be 1 to %d bytes", SECRET_MAX);
        return -1;
    }
    memcpy(secret, value, len);
    secret_len = len;
    return 0;
}

int secret_configure(const char *path, const char *value, char *err, size_t errlen)
{
    if (path)
        return secret_load_file(path, err, errlen);
    if (value && secret_set(value, strlen(value), err, errlen) < 0) {
        size_t n = strlen(err);
        snprintf(err + n, errlen > n ? errlen - n : 0, " (the cluster-secret directive)");
        return -1;
    }
    return 0;
}

int secret_load_file(const char *path, char *err, size_t errlen)
{
    char buf[SECRET_MAX + 2];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "can't open the cluster secret file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "the cluster secret file %s is not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "the cluster secret file %s is accessible by group or others "
                 "(mode %03o); chmod 600 it", path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "can't read the cluster secret file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    size_t len = 0;
    while (len < (size_t)n && buf[len] != '\n' && buf[len] != '\r')
        len++;
    int rc = 0;
    if (len == 0 || len > SECRET_MAX) {
        snprintf(err, errlen, "the first line of the cluster secret file %s must hold 1 to "
                 "%d bytes", path, SECRET_MAX);
        rc = -1;
    } else {
        rc = secret_set(buf, len, err, errlen);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

int secret_present(void) { return secret_len > 0; }

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int secret_nonce(char *out)
{
    unsigned char raw[SECRET_HEX_LEN / 2];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    to_hex(raw, sizeof raw, out);
    return 0;
}

/* The raw 32-byte HMAC of the proof context and nonce. Returns 0 or -1. */
static int mac(const char *nonce, size_t len, unsigned char *out)
{
    unsigned char msg[sizeof PROOF_CONTEXT - 1 + SECRET_HEX_LEN];
    unsigned int out_len = 0;
    if (!secret_len || len != SECRET_HEX_LEN)
        return -1;
    memcpy(msg, PROOF_CONTEXT, sizeof PROOF_CONTEXT - 1);
    memcpy(msg + sizeof PROOF_CONTEXT - 1, nonce, len);
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, msg, sizeof msg, out, &out_len) ||
        out_len != SECRET_HEX_LEN / 2)
        return -1;
    return 0;
}

int secret_proof(const char *nonce, size_t len, char *out)
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    if (mac(nonce, len, raw) < 0)
        return -1;
    to_hex(raw, SECRET_HEX_LEN / 2, out);
    return 0;
}

int secret_verify(const char *nonce, size_t nonce_len, const char *proof, size_t proof_len)
{
    char want[SECRET_HEX_LEN + 1];
    if (proof_len != SECRET_HEX_LEN || secret_proof(nonce, nonce_len, want) < 0)
        return 0;
    return CRYPTO_memcmp(want, proof, SECRET_HEX_LEN) == 0;
}
