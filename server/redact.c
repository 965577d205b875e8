/* redact.c -- which arguments are secrets (see redact.h). */
#include "redact.h"

#include <string.h>
#include <strings.h>

static int is(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

/* CONFIG SET's parameters whose values Redis 7 treats as sensitive. */
static int sensitive_config(const char *s, size_t len)
{
    static const char *const names[] = { "requirepass", "masterauth", "tls-key-file-pass",
                                         "tls-client-key-file-pass", NULL };
    for (const char *const *n = names; *n; n++)
        if (is(s, len, *n))
            return 1;
    return 0;
}

static int hello_secret(int argc, char *const *argv, const size_t *lens, int i)
{
    for (int j = 2; j < argc && j < i; j++) {
        if (is(argv[j], lens[j], "auth") && j + 2 < argc) {
            if (i == j + 1 || i == j + 2)
                return 1;
            j += 2;
        } else if (is(argv[j], lens[j], "setname")) {
            j++;
        } else {
            return 0; /* a syntax error: HELLO stops reading there */
        }
    }
    return 0;
}

static int migrate_secret(int argc, char *const *argv, const size_t *lens, int i)
{
    for (int j = 6; j < argc && j < i; j++) {
        if (is(argv[j], lens[j], "auth") && j + 1 < argc) {
            if (i == j + 1)
                return 1;
            j++;
        } else if (is(argv[j], lens[j], "auth2") && j + 2 < argc) {
            if (i == j + 1 || i == j + 2)
                return 1;
            j += 2;
        } else if (is(argv[j], lens[j], "keys")) {
            return 0;
        }
    }
    return 0;
}

int redact_arg(int argc, char *const *argv, const size_t *lens, int i)
{
    if (i <= 0 || i >= argc)
        return 0;
    if (is(argv[0], lens[0], "auth"))
        return 1;
    if (is(argv[0], lens[0], "hello"))
        return hello_secret(argc, argv, lens, i);
    if (is(argv[0], lens[0], "config"))
        return argc >= 4 && is(argv[1], lens[1], "set") && i >= 3 && (i - 3) % 2 == 0 &&
               sensitive_config(argv[i - 1], lens[i - 1]);
    if (is(argv[0], lens[0], "migrate"))
        return migrate_secret(argc, argv, lens, i);
    return 0;
}
