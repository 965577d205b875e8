/* secret.h -- loading the cluster secret from a file.
 *
 * The secret proves a coordinator and its replicas belong together (helper "auth" uses it
 * on the replica links). It comes from `cluster-secret-file PATH` (flag or directive) or
 * `cluster-secret VALUE` (config file only, so it never shows in argv). secret_load_file
 * reads the file's first line, trailing blanks trimmed, and refuses a file that group or
 * other may read or write (mode & 077), an empty secret and one over SECRET_MAX bytes. An
 * error names the file, never the value. Never log the secret.
 */
#ifndef TWOPC_SECRET_H
#define TWOPC_SECRET_H

#include <stddef.h>

#define SECRET_MAX 256

/* Reads the secret into out (cap bytes, at least SECRET_MAX + 1). Returns 0, or -1 with
 * err set ("PATH: reason"). */
int secret_load_file(const char *path, char *out, size_t cap, char *err, size_t errlen);

#endif
