/*
 * jr.h — strict JSON reader (RFC 8259) that builds an immutable tree in an arena.
 *
 * One pass over the input. Children of an array or object are stored
 * contiguously (collected on a scratch stack, copied into the arena when the
 * container closes), so a document of N values costs about N x 24 bytes of
 * arena plus its unescaped strings, and reading a child is an index.
 *
 * Numbers are parsed once into a double (Clinger fast path, exact fallback to
 * strtod); integer literals that fit also keep their exact int64/uint64.
 * jr_get_f32 gives exactly what strtof would give for the literal: the
 * correctly rounded double is narrowed directly unless it lies exactly on a
 * midpoint between two floats, where the literal is re-read with strtof.
 *
 * Strictness: no trailing commas, no comments, no NaN/Infinity, no leading
 * zeros or '+', valid escapes, valid UTF-8 (overlongs and surrogates
 * rejected), lone surrogate escapes rejected, control characters rejected in
 * strings, nothing but whitespace after the value, nesting <= JR_MAX_DEPTH.
 * Duplicate object keys are kept in order; jr_get returns the last one.
 *
 * Errors name what was wrong in serde_json's words ("expected value",
 * "trailing comma", "EOF while parsing an object", ...) with the 1-based
 * line and column of the offending byte, as Qdrant reports them. Like serde:
 * at EOF the column is that of the last byte (empty input: line 1 column 0);
 * a raw newline inside a string counts as the start of the next line (its
 * error reads "line 2 column 0"); invalid UTF-8 in a string is reported as
 * "invalid unicode code point" at the string's closing quote, once the rest
 * of the string has been checked. Nesting is capped at JR_MAX_DEPTH levels
 * (serde_json's own limit lets only 127 through).
 *
 * Lifetime: the tree lives in the arena passed to jr_parse. Number values
 * that are not integers point into the input (for the strtof fallback), so
 * the input must outlive the tree. Strings are unescaped copies in the arena,
 * NUL-terminated, and may contain NUL bytes (use len).
 * Threading: none; distinct parses may run in parallel on distinct arenas.
 */
#ifndef QV_JSON_JR_H
#define QV_JSON_JR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"

#define JR_MAX_DEPTH 128

typedef enum jr_type {
    JR_NULL = 0,
    JR_FALSE,
    JR_TRUE,
    JR_NUMBER,
    JR_STRING,
    JR_ARRAY,
    JR_OBJECT,
} jr_type;

/* Number flags. */
#define JR_NUM_INT  0x01  /* literal had no fraction/exponent and fits int64 or uint64 */
#define JR_NUM_NEG  0x02  /* literal started with '-' ("-0" is JR_NUM_INT, i64 0) */
/* Array flag. */
#define JR_ARR_F32  0x04  /* float form (jr_parse_opts only): u.f32 holds len floats, no items */

typedef struct jr_value  jr_value;
typedef struct jr_member jr_member;

struct jr_value {
    uint8_t  type;     /* jr_type */
    uint8_t  flags;    /* JR_NUM_* for numbers */
    uint16_t _pad;
    uint32_t len;      /* string: bytes; array: items; object: members; number: literal length */
    union {
        const char *str;       /* JR_STRING: unescaped, NUL-terminated */
        jr_value   *items;     /* JR_ARRAY: len values (not JR_ARR_F32) */
        const float *f32;      /* JR_ARRAY with JR_ARR_F32: len floats */
        jr_member  *members;   /* JR_OBJECT: len members in document order */
        double      num;       /* JR_NUMBER: correctly rounded value */
    } u;
    union {
        uint64_t    u64;       /* JR_NUM_INT and !JR_NUM_NEG: exact value */
        int64_t     i64;       /* JR_NUM_INT and JR_NUM_NEG: exact value */
        const char *lit;       /* number that is not JR_NUM_INT: the literal in the input */
    } x;
};

struct jr_member {
    const char *key;           /* unescaped, NUL-terminated */
    uint32_t    key_len;
    jr_value    value;
};

typedef struct jr_error {
    char     msg[128];  /* e.g. "expected `,` or `}`" */
    unsigned line;      /* 1-based */
    unsigned column;    /* 1-based, in bytes */
    bool     oom;       /* the arena ran out of memory: not the text's fault */
} jr_error;

/*
 * Parse len bytes of text into a tree allocated in arena.
 * Returns 0 and sets *out, or -1 and fills err (the arena may hold garbage,
 * which the caller's reset of the arena reclaims).
 */
int jr_parse(qv_arena *arena, const char *text, size_t len, jr_value **out, jr_error *err);

/*
 * Float arrays, for request bodies made mostly of vectors. A vector parsed
 * as a tree costs a 24-byte node per number, built and then read once; in
 * the float form an array costs 4 bytes per element, converted while
 * parsing. jr_parse_opts gives the float form (JR_ARR_F32) to an array when
 *   - it lies below a member whose key is one of f32_keys (at any depth),
 *     and below no member whose key is one of plain_keys (plain wins), and
 *   - it has at least one element, every element is a number, and every
 *     number converts to a finite float (jr_get_f32 succeeds).
 * Each float is exactly what jr_get_f32 gives for that element in the tree
 * form; any other array keeps the tree form, so the caller reads the exact
 * numbers (and reports out-of-range elements) as before. Parsing, errors
 * and positions are those of jr_parse: only the shape of the tree differs.
 * Callers that pass keys must handle JR_ARR_F32 wherever those keys lead.
 * Cost: an array that turns out not to qualify is read twice (at most).
 */
typedef struct jr_opts {
    const char *const *f32_keys;
    size_t             n_f32_keys;
    const char *const *plain_keys;
    size_t             n_plain_keys;
} jr_opts;

/* jr_parse with options (NULL: as jr_parse). */
int jr_parse_opts(qv_arena *arena, const char *text, size_t len, const jr_opts *opts,
                  jr_value **out, jr_error *err);

static inline bool jr_is_f32_array(const jr_value *v)
{
    return v && v->type == JR_ARRAY && (v->flags & JR_ARR_F32);
}

/* Object lookup by key (linear; objects in requests are small). NULL if absent
 * or if obj is not an object. */
const jr_value *jr_get(const jr_value *obj, const char *key);

/* The first of fields[0..n) that occurs more than once in obj, or NULL.
 * serde's derived structs refuse a repeated known field ("duplicate field
 * `id`") while maps keep the last value; callers check the fields of the
 * structs they read. O(obj->len x n): only known fields count, so a huge
 * object costs a linear scan per field, never a quadratic one. */
const char *jr_dup_field(const jr_value *obj, const char *const *fields, size_t n);

static inline bool jr_is(const jr_value *v, jr_type t) { return v && v->type == t; }
static inline bool jr_is_null(const jr_value *v) { return !v || v->type == JR_NULL; }
static inline bool jr_is_object(const jr_value *v) { return v && v->type == JR_OBJECT; }
static inline bool jr_is_bool(const jr_value *v) { return v && (v->type == JR_TRUE || v->type == JR_FALSE); }

/* Exact integer conversions: true only for integer literals (JR_NUM_INT:
 * no fraction, no exponent — "1.0" and "1e3" are rejected, as serde_json
 * rejects them for integer fields) whose value fits; "-0" reads as 0. */
bool jr_get_u64(const jr_value *v, uint64_t *out);
bool jr_get_i64(const jr_value *v, int64_t *out);
/* Any number as double (false if not a number). */
bool jr_get_f64(const jr_value *v, double *out);
/* Any number as float, exactly as strtof(literal) rounds it; false if not a
 * number or if the value overflows float (|x| > FLT_MAX after rounding). */
bool jr_get_f32(const jr_value *v, float *out);

/* Name of a type for messages: "null", "boolean", "number", "string", "array", "object". */
const char *jr_type_name(jr_type t);

#endif
