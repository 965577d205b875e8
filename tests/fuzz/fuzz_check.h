/* fuzz_check.h -- what every libFuzzer target here shares: its entry point's prototype and
 * FUZZ_CHECK, an assertion that stays on in any build and aborts, so libFuzzer keeps the
 * input as a crash. */
#ifndef TWOPC_FUZZ_CHECK_H
#define TWOPC_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif
