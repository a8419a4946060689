/*
 * utf8.h — UTF-8 validation and lossy repair of bytes that come from
 * outside (request paths, query values, text echoed in error messages).
 *
 * Valid means well-formed per RFC 3629: no overlong forms, no surrogates
 * (U+D800..DFFF), nothing above U+10FFFF. NUL is a valid character here;
 * callers that hand text on as C strings must refuse it themselves.
 * The lossy copy replaces each maximal ill-formed subsequence with one
 * U+FFFD, the way Rust's String::from_utf8_lossy does (so text Quiver echoes
 * matches what Qdrant would echo). Both run in one pass, O(len).
 * Threading: pure functions.
 */
#ifndef QV_UTIL_UTF8_H
#define QV_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Is s[0..len) well-formed UTF-8? */
bool qv_utf8_valid(const char *s, size_t len);

/* Worst-case output size of qv_utf8_lossy for len input bytes, with the
 * terminating NUL: every byte may become a 3-byte U+FFFD. */
#define QV_UTF8_LOSSY_MAX(len) (3 * (len) + 1)

/* Copy s[0..len) to dst, replacing ill-formed sequences with U+FFFD, and
 * NUL-terminate. dst holds QV_UTF8_LOSSY_MAX(len) bytes and may not overlap
 * s. Returns the output length (without the NUL). */
size_t qv_utf8_lossy(char *dst, const char *s, size_t len);

#endif
