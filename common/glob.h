/* glob.h -- Redis's glob matcher (stringmatchlen, case-sensitive), with its quirks: '\'
 * escapes, [a-z] and [^...] classes, an unterminated '[' and byte ranges compared as signed
 * chars, and its limit of 1000 nested '*'.
 *
 *     if (glob_match(pattern, plen, key, klen)) ...
 *
 * Pure: no allocation, no state; safe on binary strings.
 */
#ifndef TWOPC_GLOB_H
#define TWOPC_GLOB_H

#include <stddef.h>

/* True if s[0..slen) matches pattern p[0..plen); p[plen] must be readable (a NUL, as every
 * op argument and request argument has). */
int glob_match(const char *p, size_t plen, const char *s, size_t slen);

#endif
