/* secret.h -- the cluster secret and the challenge-response that proves it.
 *
 * Every process of a cluster may hold the same secret (--cluster-secret-file FILE: the
 * file's first line; or the config directive cluster-secret). A replica with a secret
 * accepts internal commands only on a connection that proved it knows the secret, and the
 * secret itself never crosses the wire:
 *
 *     coordinator                               replica
 *     TPC.CHALLENGE                ──────────▶  nonce = 32 random bytes, in hex, kept for
 *                                  ◀──────────  this connection only ($64 hex)
 *     TPC.AUTH hex(HMAC-SHA256(secret, "twopc-auth " + nonce))
 *                                  ──────────▶  recomputed and compared in constant time;
 *                                  ◀──────────  +OK, and the connection is trusted
 *     TPC.HELLO <min> <max> <release> ...
 *
 * A nonce is used once: TPC.AUTH consumes it, right or wrong, so a recorded proof is worth
 * nothing on another connection or a second try.
 *
 * The secret lives in this module's memory only: no accessor returns it, nothing logs it,
 * and it is never an argument on a command line (there is no flag for the value itself).
 * Use: secret_load_file() or secret_set() once at start-up; then secret_present(),
 * secret_nonce(), secret_proof(), secret_verify().
 */
#ifndef TWOPC_SECRET_H
#define TWOPC_SECRET_H

#include <stddef.h>

#define SECRET_MAX 1024     /* bytes of a secret */
#define SECRET_HEX_LEN 64   /* a nonce and a proof: 32 bytes in hex */

/* Reads the first line of path (without its line end) as the secret. Refuses a file that
 * its group or others may read (a secret in a world-readable file is not a secret), an
 * empty first line and a line longer than SECRET_MAX. Returns 0, or -1 with a message in
 * err that names the file (never its contents). */
int secret_load_file(const char *path, char *err, size_t errlen);

/* Sets the secret from a config file's value. Returns 0, or -1 if it is empty or longer
 * than SECRET_MAX. */
int secret_set(const char *value, size_t len, char *err, size_t errlen);

/* The secret the options named (a daemon keeps only the last of `cluster-secret-file`
 * and `cluster-secret`): path's first line, or value; neither (both NULL) leaves none.
 * Returns 0, or -1 with the reason in err (which names the file, never the secret). */
int secret_configure(const char *path, const char *value, char *err, size_t errlen);

/* 1 if this process has a cluster secret, else 0. */
int secret_present(void);

/* Writes a fresh nonce: SECRET_HEX_LEN hex digits and a NUL (out holds
 * SECRET_HEX_LEN + 1). Returns 0, or -1 if the kernel's random source failed. */
int secret_nonce(char *out);

/* Writes the proof for nonce: hex HMAC-SHA256(secret, "twopc-auth " + nonce), NUL
 * terminated (out holds SECRET_HEX_LEN + 1). Returns 0, or -1 without a secret. */
int secret_proof(const char *nonce, size_t len, char *out);

/* 1 if proof is the right proof for nonce, compared in constant time; else 0. */
int secret_verify(const char *nonce, size_t nonce_len, const char *proof, size_t proof_len);

#endif
