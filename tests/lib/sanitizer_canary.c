/* sanitizer_canary.c -- a deliberate sanitizer finding, for the sanitizer build's own test
 * (sanitizer.catches.*): the run through sanitizer_run.sh must fail although the command
 * it wraps ignores the canary's exit status, as a pytest suite may ignore a daemon's death.
 *
 * Run: sanitizer_canary asan|ubsan|leak
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocates and drops the only pointer (not inlined: no copy left in main's frame). */
__attribute__((noinline)) static void lose(void)
{
    volatile char *p = malloc(64);
    p[0] = 1;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "asan") == 0) {
        volatile char *p = malloc(8);
        p[8] = 1; /* heap-buffer-overflow */
        free((void *)p);
    } else if (strcmp(what, "ubsan") == 0) {
        volatile int x = INT_MAX;
        x = x + argc; /* signed overflow */
        printf("%d\n", x);
    } else if (strcmp(what, "leak") == 0) {
        lose();
    } else {
        fprintf(stderr, "usage: sanitizer_canary asan|ubsan|leak\n");
        return 2;
    }
    return 0;
}
