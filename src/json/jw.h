/*
 * jw.h — streaming JSON writer into a qv_buf.
 *
 * The writer only tracks whether a comma is due, so nesting costs nothing and
 * the caller is trusted to pair begin/end and to put a key before each object
 * member's value. Output is compact (no spaces).
 *
 * Numbers: integers print as integers; floats print in the shortest decimal
 * form that reads back to the same float (jw_f32) or double (jw_f64), as
 * serde_json/ryu print them: 0.1f -> "0.1", 3.0f -> "3.0", 1e-7f -> "1e-7"
 * (see jw_fmt_f32 for the exact layout).
 * Non-finite values print as null (JSON has no NaN).
 * Strings are escaped as serde_json does (\" \\ \b \f \n \r \t, other
 * control characters as \u00xx; "/" and DEL are not escaped) and copied byte
 * for byte otherwise. Callers pass valid UTF-8; a string that is not is
 * written with each ill-formed sequence replaced by U+FFFD (and a warning
 * logged once), so the output is always valid UTF-8.
 * Threading: none.
 */
#ifndef QV_JSON_JW_H
#define QV_JSON_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct jw {
    qv_buf *out;
    bool    comma;   /* a value was written at this level: the next one needs ',' */
} jw;

static inline void jw_init(jw *w, qv_buf *out) { w->out = out; w->comma = false; }

void jw_obj_begin(jw *w);
void jw_obj_end(jw *w);
void jw_arr_begin(jw *w);
void jw_arr_end(jw *w);
/* Object key; the next call writes its value. */
void jw_key(jw *w, const char *key);
void jw_keyn(jw *w, const char *key, size_t len);

void jw_str(jw *w, const char *s);
void jw_strn(jw *w, const char *s, size_t len);
void jw_int(jw *w, int64_t v);
void jw_uint(jw *w, uint64_t v);
void jw_f32(jw *w, float v);
void jw_f64(jw *w, double v);
void jw_bool(jw *w, bool v);
void jw_null(jw *w);
/* Insert len bytes of already valid JSON as one value. */
void jw_raw(jw *w, const char *json, size_t len);

/*
 * Shortest round-trip text of a float / double into dst (at least 32 bytes),
 * NUL-terminated; returns the length. Of the shortest decimals that read back
 * as v, the nearest to v (ties to even digit), laid out as Ryu's pretty
 * printer (so byte-identical to serde_json): with x the decimal exponent
 * (v = d.ddd * 10^x), plain notation for x in [-6, 12] (float) or [-5, 15]
 * (double) — "0.000001", "123.5", "1000000000000.0", integral values end in
 * ".0" — else d.ddde[-]X with no '+' or leading zeros ("1e-7", "1.5e22",
 * "1e16"). Always reads back as a JSON number that strtof/strtod turn into
 * the same value. Non-finite -> "null". About 30 M floats/s.
 */
int jw_fmt_f32(char *dst, float v);
int jw_fmt_f64(char *dst, double v);

#endif
