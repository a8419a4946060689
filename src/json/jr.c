/*
 * jr.c — see jr.h.
 *
 * Recursive descent (depth is capped at JR_MAX_DEPTH, so the C stack stays
 * small). Children are pushed on one scratch stack and copied into the arena
 * in one block when their container closes; the scratch stack is malloc'd
 * per parse and freed before returning.
 *
 * Error positions follow serde_json: the 1-based column of the offending
 * byte; at EOF the column of the last byte (0 when the last line is empty,
 * so empty input is "line 1 column 0").
 *
 * The process is assumed to run in the "C" locale (strtod/strtof read '.').
 */
#include "json/jr.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

typedef struct jr_parser {
    const char *start, *p, *end;
    qv_arena   *arena;
    jr_error   *err;
    char       *stack;      /* children of the open containers, as bytes */
    size_t      stack_len, stack_cap;
    char       *sbuf;       /* a string with escapes, while it is unescaped */
    size_t      sbuf_len, sbuf_cap;
    int         depth;
    const jr_opts *opts;    /* NULL: tree form only */
    int         mode;       /* MODE_*: may arrays here take the float form? */
} jr_parser;

enum { MODE_TREE, MODE_F32, MODE_PLAIN }; /* MODE_PLAIN is final: no key undoes it */

#define MSG_CTRL "control character (\\u0000-\\u001F) found while parsing a string"

/* ---- errors ----------------------------------------------------------- */

/* serde_json's position_of_index: line = 1 + newlines before idx, column =
 * idx minus the start of that line. Costs a scan of the input, on error only. */
static int fail_idx(jr_parser *P, const char *msg, size_t idx)
{
    jr_error *e = P->err;
    if (!e)
        return -1;
    unsigned line = 1;
    size_t line_start = 0;
    const char *s = P->start, *stop = P->start + idx, *nl;
    while (s < stop && (nl = memchr(s, '\n', (size_t)(stop - s)))) {
        line++;
        line_start = (size_t)(nl - P->start) + 1;
        s = nl + 1;
    }
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    e->oom = false;
    e->line = line;
    e->column = (unsigned)(idx - line_start);
    return -1;
}

static int fail(jr_parser *P, const char *msg, const char *at)
{
    return fail_idx(P, msg, (size_t)(at - P->start) + 1);
}

/* Out of memory is not the text's fault: no position, and callers answer
 * it as a server error, not as bad input. */
static int fail_oom(jr_parser *P)
{
    if (P->err) {
        snprintf(P->err->msg, sizeof P->err->msg, "out of memory");
        P->err->line = P->err->column = 0;
        P->err->oom = true;
    }
    return -1;
}

static int fail_eof(jr_parser *P, const char *msg)
{
    return fail_idx(P, msg, (size_t)(P->end - P->start));
}

/* ---- scratch ---------------------------------------------------------- */

static int grow(char **buf, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 4096;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    char *n = realloc(*buf, c);
    if (!n)
        return -1;
    *buf = n;
    *cap = c;
    return 0;
}

static int push_slow(jr_parser *P, const void *x, size_t n)
{
    if (grow(&P->stack, &P->stack_cap, P->stack_len + n))
        return fail_oom(P);
    memcpy(P->stack + P->stack_len, x, n);
    P->stack_len += n;
    return 0;
}

static inline int push(jr_parser *P, const void *x, size_t n)
{
    if (__builtin_expect(P->stack_cap - P->stack_len < n, 0))
        return push_slow(P, x, n);
    memcpy(P->stack + P->stack_len, x, n);
    P->stack_len += n;
    return 0;
}

static int sbuf_add(jr_parser *P, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (P->sbuf_cap - P->sbuf_len < n && grow(&P->sbuf, &P->sbuf_cap, P->sbuf_len + n))
        return fail_oom(P);
    memcpy(P->sbuf + P->sbuf_len, s, n);
    P->sbuf_len += n;
    return 0;
}

/* Move the children pushed since base into the arena. */
static int pop_into_arena(jr_parser *P, size_t base, size_t elem, void **out, uint32_t *count)
{
    size_t bytes = P->stack_len - base;
    if (bytes / elem > UINT32_MAX)
        return fail(P, "value too large", P->p);
    void *dst = qv_arena_alloc(P->arena, bytes);
    if (!dst)
        return fail_oom(P);
    if (bytes)
        memcpy(dst, P->stack + base, bytes);
    P->stack_len = base;
    *out = dst;
    *count = (uint32_t)(bytes / elem);
    return 0;
}

/* ---- lexing helpers --------------------------------------------------- */

static inline bool is_digit(char c) { return (unsigned char)(c - '0') < 10; }

static inline bool is_number_start(char c) { return c == '-' || is_digit(c); }

static inline void skip_ws(jr_parser *P)
{
    const char *p = P->p, *end = P->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    P->p = p;
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Skip bytes that need no attention inside a string: printable ASCII other
 * than '"' and '\'. Eight bytes at a time; each test flags its first
 * matching byte exactly (borrows only create flags above a true one). */
static const char *skip_plain(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t x, q, b;
        memcpy(&x, p, 8);
        q = x ^ (ONES * '"');
        b = x ^ (ONES * '\\');
        uint64_t t = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x) | x;
        t &= HIGHS;
        if (t)
            return p + (__builtin_ctzll(t) >> 3);
        p += 8;
    }
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
            break;
        p++;
    }
    return p;
}


/* ---- strings ---------------------------------------------------------- */

/* Four hex digits after "\u" (p at the 'u'); leaves P->p on the last digit. */
static int hex4(jr_parser *P, const char *p, uint32_t *cp)
{
    uint32_t v = 0;
    for (int i = 1; i <= 4; i++) {
        if (p + i == P->end)
            return fail_eof(P, "EOF while parsing a string");
        unsigned char c = (unsigned char)p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return fail(P, "invalid escape", p + i);
        v = v << 4 | d;
    }
    P->p = p + 4;
    *cp = v;
    return 0;
}

/* A \u escape, P->p at the 'u'; surrogate pairs must be complete. */
static int unicode_escape(jr_parser *P, char out[4], size_t *n)
{
    uint32_t cp, lo;
    if (hex4(P, P->p, &cp))
        return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(P, "lone leading surrogate in hex escape", P->p);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        const char *p = P->p + 1;
        for (int i = 0; i < 2; i++, p++) {
            if (p == P->end)
                return fail_eof(P, "EOF while parsing a string");
            if (*p != "\\u"[i])
                return fail(P, "unexpected end of hex escape", p);
        }
        if (hex4(P, p - 1, &lo))
            return -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(P, "lone leading surrogate in hex escape", P->p);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    *n = qv_utf8_encode(cp, out);
    return 0;
}

/* One backslash escape, P->p at the backslash; appends to sbuf. */
static int escape(jr_parser *P)
{
    const char *p = ++P->p;
    if (p == P->end)
        return fail_eof(P, "EOF while parsing a string");
    char c;
    switch (*p) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
        char u[4];
        size_t n = 0;
        if (unicode_escape(P, u, &n))
            return -1;
        P->p++;
        return sbuf_add(P, u, n);
    }
    default:
        return fail(P, "invalid escape", p);
    }
    P->p = p + 1;
    return sbuf_add(P, &c, 1);
}

/*
 * The string whose opening quote is at P->p; leaves P->p after the closing
 * quote. Invalid UTF-8 is reported, as serde_json does, only once the string
 * is otherwise complete, at its closing quote.
 */
static int parse_str(jr_parser *P, const char **out, uint32_t *out_len)
{
    const char *s = P->p + 1, *p = s, *end = P->end;
    bool escaped = false, bad_utf8 = false;
    for (;;) {
        p = skip_plain(p, end);
        if (p == end)
            return fail_eof(P, "EOF while parsing a string");
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\') {
            if (!escaped) {
                escaped = true;
                P->sbuf_len = 0;
            }
            P->p = p;
            if (sbuf_add(P, s, (size_t)(p - s)) || escape(P))
                return -1;
            p = s = P->p;
        } else if (c < 0x20) {
            return fail(P, MSG_CTRL, p);
        } else {
            uint32_t cp;
            size_t n = qv_utf8_decode(p, (size_t)(end - p), &cp);
            bad_utf8 |= n == 0;
            p += n ? n : 1;
        }
    }
    if (bad_utf8)
        return fail(P, "invalid unicode code point", p);
    if (escaped) {
        P->p = p;
        if (sbuf_add(P, s, (size_t)(p - s)))
            return -1;
        s = P->sbuf;
    }
    size_t len = escaped ? P->sbuf_len : (size_t)(p - s);
    if (len > UINT32_MAX)
        return fail(P, "value too large", p);
    char *dst = qv_arena_strndup(P->arena, s, len);
    if (!dst)
        return fail_oom(P);
    *out = dst;
    *out_len = (uint32_t)len;
    P->p = p + 1;
    return 0;
}

/* ---- numbers ---------------------------------------------------------- */

static const double pow10_f64[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static const uint64_t pow10_u64[16] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
    1000000000000ull, 10000000000000ull, 100000000000000ull, 1000000000000000ull,
};

/* Copy a literal to a NUL-terminated buffer for strtod/strtof: a stack
 * buffer for the usual short ones, the heap for long ones. */
static double read_literal(const char *lit, size_t len, bool as_float, bool *ok)
{
    char local[64], *buf = local;
    *ok = true;
    if (len >= sizeof local && !(buf = malloc(len + 1))) {
        *ok = false;
        return 0;
    }
    memcpy(buf, lit, len);
    buf[len] = '\0';
    double d = as_float ? (double)strtof(buf, NULL) : strtod(buf, NULL);
    if (buf != local)
        free(buf);
    return d;
}

#define MANT_LIMIT 1844674407370955161ull /* UINT64_MAX / 10 */
#define MANT_LIMIT8 184467440736ull      /* mant * 10^8 + 99999999 fits */

/*
 * The run of up to 8 digits at p (8 bytes readable): its length k (0..8)
 * and, in *val, its value. The lowest flagged byte is exactly the first
 * non-digit (borrows and carries only flag bytes above a true one); the
 * bytes from it on are shifted out, leaving leading zeros in their place.
 */
static inline unsigned digit_run(const char *p, uint64_t *val)
{
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t lo = x - ONES * '0', hi = x + ONES * (0x7F - '9');
    uint64_t bad = (lo | hi) & HIGHS;
    unsigned k = bad ? (unsigned)__builtin_ctzll(bad) >> 3 : 8;
    if (k == 0)
        return 0;
    if (k < 8)
        lo <<= 8 * (8 - k);
    lo = (lo * 10 + (lo >> 8)) & 0x00FF00FF00FF00FFull;
    lo = (lo * 100 + (lo >> 16)) & 0x0000FFFF0000FFFFull;
    *val = (lo * 10000 + (lo >> 32)) & 0xFFFFFFFFull;
    return k;
}

/*
 * value = mant * 10^exp10, with exact integer mant when no digit was dropped.
 * Clinger's fast path: mant <= 2^53 and 10^|exp10| exact in a double make one
 * correctly rounded multiply or divide; anything else goes to strtod (~10x
 * slower, but rare: more than 15 digits or an exponent beyond 1e22).
 */
static inline double number_value(const char *lit, size_t len, uint64_t mant, int64_t exp10, bool many,
                           bool *ok)
{
    *ok = true;
    if (mant == 0)
        return 0.0;
    if (!many && mant <= (1ull << 53)) {
        if (exp10 >= -22 && exp10 <= 22)
            return exp10 < 0 ? (double)mant / pow10_f64[-exp10] : (double)mant * pow10_f64[exp10];
        /* 1e30-style: move powers of ten into the mantissa while it stays exact. */
        if (exp10 > 22 && exp10 <= 22 + 15 && mant <= (1ull << 53) / pow10_u64[exp10 - 22])
            return (double)(mant * pow10_u64[exp10 - 22]) * 1e22;
    }
    return fabs(read_literal(lit, len, false, ok));
}

/* A number literal, lexed: value = mant x 10^exp10 (exact while !many). */
typedef struct num_scan {
    const char *s;       /* the literal */
    size_t      len;
    uint64_t    mant;
    int64_t     exp10;
    bool        neg, many, is_int;
} num_scan;

/* Lex the number at P->p into *n and move P->p after it; errors as serde. */
static inline int scan_number(jr_parser *P, num_scan *n)
{
    const char *s = P->p, *p = s, *end = P->end;
    bool neg = *p == '-', many = false, is_int = true;
    uint64_t mant = 0;
    int64_t exp10 = 0; /* 64 bits: a digit string can be longer than INT_MAX */
    p += neg;
    if (p == end)
        return fail_eof(P, "EOF while parsing a value");
    if (*p == '0') {
        if (++p < end && is_digit(*p))
            return fail(P, "invalid number", p);
    } else if (is_digit(*p)) {
        do {
            unsigned d = (unsigned)(*p - '0');
            if (mant < MANT_LIMIT || (mant == MANT_LIMIT && d <= 5 && !many))
                mant = mant * 10 + d;
            else
                many = true, exp10++;
        } while (++p < end && is_digit(*p));
    } else {
        return fail(P, "invalid number", p);
    }
    if (p < end && *p == '.') {
        const char *f = ++p;
        is_int = false;
        /* Up to 8 digits at a time while 10^8 x mant + 99999999 fits. */
        while (end - p >= 8 && !many && mant < MANT_LIMIT8) {
            uint64_t run;
            unsigned k = digit_run(p, &run);
            if (k == 0)
                break;
            mant = mant * pow10_u64[k] + run;
            exp10 -= k;
            p += k;
            if (k < 8)
                break;
        }
        for (; p < end && is_digit(*p); p++) {
            unsigned d = (unsigned)(*p - '0');
            if (mant < MANT_LIMIT || (mant == MANT_LIMIT && d <= 5 && !many))
                mant = mant * 10 + d, exp10--;
            else
                many = true;
        }
        if (p == f && p == end)
            return fail_eof(P, "EOF while parsing a value");
        if (p == f)
            return fail(P, "invalid number", p);
    }
    if (p < end && (*p | 0x20) == 'e') {
        is_int = false;
        bool eneg = false;
        if (++p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p == end)
            return fail_eof(P, "EOF while parsing a value");
        if (!is_digit(*p))
            return fail(P, "invalid number", p);
        int e = 0;
        for (; p < end && is_digit(*p); p++)
            if (e < 100000000) /* far beyond any double; no overflow */
                e = e * 10 + (*p - '0');
        exp10 += eneg ? -e : e;
    }
    size_t len = (size_t)(p - s);
    if (len > UINT32_MAX)
        return fail(P, "value too large", s);
    P->p = p;
    *n = (num_scan){s, len, mant, exp10, neg, many, is_int};
    return 0;
}

static int parse_number(jr_parser *P, jr_value *v)
{
    num_scan n = {0};  /* (set on success; the compiler cannot see fail() is never 0) */
    if (scan_number(P, &n))
        return -1;
    const char *s = n.s, *p = P->p;
    size_t len = n.len;
    uint64_t mant = n.mant;
    int64_t exp10 = n.exp10;
    bool neg = n.neg, many = n.many, is_int = n.is_int;
    memset(v, 0, sizeof *v);
    v->type = JR_NUMBER;
    v->flags = neg ? JR_NUM_NEG : 0;
    v->len = (uint32_t)len;
    if (is_int && !many && (!neg || mant <= (1ull << 63))) {
        v->flags |= JR_NUM_INT;
        if (neg) {
            v->x.i64 = mant == (1ull << 63) ? INT64_MIN : -(int64_t)mant;
            v->u.num = -(double)mant;
        } else {
            v->x.u64 = mant;
            v->u.num = (double)mant;
        }
        return 0;
    }
    bool ok;
    double d = number_value(s, len, mant, exp10, many, &ok);
    if (!ok)
        return fail_oom(P);
    if (d > DBL_MAX) /* only strtod can overflow */
        return fail(P, "number out of range", p - 1);
    v->u.num = neg ? -d : d;
    v->x.lit = s;
    return 0;
}

static inline bool is_f32_midpoint(double d);

/*
 * The number at P->p as a float, for the float form: exactly what
 * jr_get_f32 gives for the node parse_number would build (the same steps,
 * without the node). 1: *f set; 0: not a finite float (P->p after the
 * literal); -1: error (those of parse_number).
 */
static inline int number_f32(jr_parser *P, float *f)
{
    num_scan n = {0};  /* (see parse_number) */
    if (scan_number(P, &n))
        return -1;
    if (n.is_int && !n.many && (!n.neg || n.mant <= (1ull << 63))) {
        /* One rounding from the exact integer ("-0" gives -0.0f). */
        *f = n.neg ? -(float)n.mant : (float)n.mant;
        return 1;
    }
    bool ok;
    double d = number_value(n.s, n.len, n.mant, n.exp10, n.many, &ok);
    if (!ok)
        return fail_oom(P);
    if (d > DBL_MAX)
        return fail(P, "number out of range", P->p - 1);
    d = n.neg ? -d : d;
    float x;
    if (is_f32_midpoint(d)) {
        x = (float)read_literal(n.s, n.len, true, &ok);
        if (!ok)
            return 0;  /* as jr_get_f32: the tree form then reads it */
    } else {
        x = (float)d;
    }
    if (isinf(x))
        return 0;
    *f = x;
    return 1;
}

/* ---- values ----------------------------------------------------------- */

static int parse_value(jr_parser *P, jr_value *v);

static int parse_ident(jr_parser *P, const char *word, jr_type t, jr_value *v)
{
    const char *p = P->p;
    for (size_t i = 1; word[i]; i++) {
        if (p + i == P->end)
            return fail_eof(P, "EOF while parsing a value");
        if (p[i] != word[i])
            return fail(P, "expected ident", p + i);
    }
    P->p = p + strlen(word);
    memset(v, 0, sizeof *v);
    v->type = (uint8_t)t;
    return 0;
}

static int enter(jr_parser *P)
{
    if (++P->depth > JR_MAX_DEPTH)
        return fail(P, "recursion limit exceeded", P->p);
    P->p++;
    skip_ws(P);
    return 0;
}

/*
 * The float form of the array whose first element is at P->p (a number).
 * The loop makes the checks of parse_array's in the same order, so an error
 * found here is the one the tree form would report. Returns 1 when done (P->p
 * after the ']'), 0 when the array does not qualify (an element that is not
 * a number or not a finite float: P->p and the stack are as on entry), -1
 * on error.
 */
static int parse_f32_array(jr_parser *P, jr_value *v, size_t base)
{
    const char *first = P->p;
    for (;;) {
        float f;
        if (P->p == P->end || !is_number_start(*P->p))
            goto tree;
        int r = number_f32(P, &f);
        if (r < 0)
            return -1;
        if (r == 0)
            goto tree;
        if (push(P, &f, sizeof f))
            return -1;
        skip_ws(P);
        if (P->p == P->end)
            return fail_eof(P, "EOF while parsing a list");
        if (*P->p == ']')
            break;
        if (*P->p != ',')
            return fail(P, "expected `,` or `]`", P->p);
        P->p++;
        skip_ws(P);
        if (P->p < P->end && *P->p == ']')
            return fail(P, "trailing comma", P->p);
    }
    P->p++;
    P->depth--;
    memset(v, 0, sizeof *v);
    v->type = JR_ARRAY;
    v->flags = JR_ARR_F32;
    void *vals;
    if (pop_into_arena(P, base, sizeof(float), &vals, &v->len))
        return -1;
    v->u.f32 = vals;
    return 1;
tree:
    P->p = first;
    P->stack_len = base;
    return 0;
}

static int parse_array(jr_parser *P, jr_value *v)
{
    size_t base = P->stack_len;
    if (enter(P))
        return -1;
    if (P->p == P->end)
        return fail_eof(P, "EOF while parsing a list");
    if (P->mode == MODE_F32 && is_number_start(*P->p)) {
        int rc = parse_f32_array(P, v, base);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
    if (*P->p != ']') {
        for (;;) {
            if (P->p < P->end && is_number_start(*P->p)) {
                /* Vectors are long runs of numbers: parse each straight into
                 * its stack slot (a number never touches the stack itself),
                 * saving the dispatch and a 24-byte copy per element. */
                if (P->stack_cap - P->stack_len < sizeof(jr_value) &&
                    grow(&P->stack, &P->stack_cap, P->stack_len + sizeof(jr_value)))
                    return fail_oom(P);
                if (parse_number(P, (jr_value *)(void *)(P->stack + P->stack_len)))
                    return -1;
                P->stack_len += sizeof(jr_value);
            } else {
                jr_value item;
                if (parse_value(P, &item) || push(P, &item, sizeof item))
                    return -1;
            }
            skip_ws(P);
            if (P->p == P->end)
                return fail_eof(P, "EOF while parsing a list");
            if (*P->p == ']')
                break;
            if (*P->p != ',')
                return fail(P, "expected `,` or `]`", P->p);
            P->p++;
            skip_ws(P);
            if (P->p < P->end && *P->p == ']')
                return fail(P, "trailing comma", P->p);
        }
    }
    P->p++;
    P->depth--;
    memset(v, 0, sizeof *v);
    v->type = JR_ARRAY;
    return pop_into_arena(P, base, sizeof(jr_value), (void **)&v->u.items, &v->len);
}

static bool key_in(const char *const *keys, size_t n, const jr_member *m)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) == m->key_len && memcmp(keys[i], m->key, m->key_len) == 0)
            return true;
    return false;
}

/* The mode below member m, from the mode around it. */
static int key_mode(const jr_opts *o, const jr_member *m, int mode)
{
    if (key_in(o->plain_keys, o->n_plain_keys, m))
        return MODE_PLAIN;
    if (key_in(o->f32_keys, o->n_f32_keys, m))
        return MODE_F32;
    return mode;
}

static int parse_object(jr_parser *P, jr_value *v)
{
    size_t base = P->stack_len;
    if (enter(P))
        return -1;
    if (P->p == P->end)
        return fail_eof(P, "EOF while parsing an object");
    if (*P->p != '}') {
        for (;;) {
            jr_member m;
            memset(&m, 0, sizeof m);
            if (*P->p != '"')
                return fail(P, "key must be a string", P->p);
            if (parse_str(P, &m.key, &m.key_len))
                return -1;
            skip_ws(P);
            if (P->p == P->end)
                return fail_eof(P, "EOF while parsing an object");
            if (*P->p != ':')
                return fail(P, "expected `:`", P->p);
            P->p++;
            skip_ws(P);
            int mode = P->mode;
            if (P->opts && mode != MODE_PLAIN)
                P->mode = key_mode(P->opts, &m, mode);
            int rc = parse_value(P, &m.value);
            P->mode = mode;
            if (rc || push(P, &m, sizeof m))
                return -1;
            skip_ws(P);
            if (P->p == P->end)
                return fail_eof(P, "EOF while parsing an object");
            if (*P->p == '}')
                break;
            if (*P->p != ',')
                return fail(P, "expected `,` or `}`", P->p);
            P->p++;
            skip_ws(P);
            if (P->p == P->end)
                return fail_eof(P, "EOF while parsing a value");
            if (*P->p == '}')
                return fail(P, "trailing comma", P->p);
        }
    }
    P->p++;
    P->depth--;
    memset(v, 0, sizeof *v);
    v->type = JR_OBJECT;
    return pop_into_arena(P, base, sizeof(jr_member), (void **)&v->u.members, &v->len);
}

/* A value starting at P->p (whitespace already skipped). */
static int parse_value(jr_parser *P, jr_value *v)
{
    if (P->p == P->end)
        return fail_eof(P, "EOF while parsing a value");
    switch (*P->p) {
    case '{':
        return parse_object(P, v);
    case '[':
        return parse_array(P, v);
    case '"':
        memset(v, 0, sizeof *v);
        v->type = JR_STRING;
        return parse_str(P, &v->u.str, &v->len);
    case 't':
        return parse_ident(P, "true", JR_TRUE, v);
    case 'f':
        return parse_ident(P, "false", JR_FALSE, v);
    case 'n':
        return parse_ident(P, "null", JR_NULL, v);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(P, v);
    default:
        return fail(P, "expected value", P->p);
    }
}

int jr_parse(qv_arena *arena, const char *text, size_t len, jr_value **out, jr_error *err)
{
    return jr_parse_opts(arena, text, len, NULL, out, err);
}

int jr_parse_opts(qv_arena *arena, const char *text, size_t len, const jr_opts *opts,
                  jr_value **out, jr_error *err)
{
    jr_parser P = {.start = text, .p = text, .end = text + len, .arena = arena, .err = err,
                   .opts = opts, .mode = MODE_TREE};
    jr_value root;
    int rc = -1;
    if (!text && len)
        return fail_idx(&P, "expected value", 0);
    skip_ws(&P);
    if (parse_value(&P, &root) == 0) {
        skip_ws(&P);
        if (P.p != P.end) {
            fail(&P, "trailing characters", P.p);
        } else if (!(*out = qv_arena_alloc(arena, sizeof root))) {
            fail_oom(&P);
        } else {
            **out = root;
            rc = 0;
        }
    }
    free(P.stack);
    free(P.sbuf);
    return rc;
}

/* ---- access ----------------------------------------------------------- */

const jr_value *jr_get(const jr_value *obj, const char *key)
{
    if (!obj || obj->type != JR_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = obj->len; i-- > 0;) {
        const jr_member *m = &obj->u.members[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return &m->value;
    }
    return NULL;
}

const char *jr_dup_field(const jr_value *obj, const char *const *fields, size_t n)
{
    if (!obj || obj->type != JR_OBJECT || obj->len < 2)
        return NULL;
    for (size_t f = 0; f < n; f++) {
        size_t len = strlen(fields[f]);
        unsigned seen = 0;
        for (uint32_t i = 0; i < obj->len; i++) {
            const jr_member *m = &obj->u.members[i];
            if (m->key_len == len && memcmp(m->key, fields[f], len) == 0 && ++seen == 2)
                return fields[f];
        }
    }
    return NULL;
}

bool jr_get_u64(const jr_value *v, uint64_t *out)
{
    if (!v || v->type != JR_NUMBER || !(v->flags & JR_NUM_INT))
        return false;
    if (v->flags & JR_NUM_NEG) {
        if (v->x.i64 != 0) /* "-0" is 0 */
            return false;
        *out = 0;
        return true;
    }
    *out = v->x.u64;
    return true;
}

bool jr_get_i64(const jr_value *v, int64_t *out)
{
    if (!v || v->type != JR_NUMBER || !(v->flags & JR_NUM_INT))
        return false;
    if (v->flags & JR_NUM_NEG) {
        *out = v->x.i64;
        return true;
    }
    if (v->x.u64 > INT64_MAX)
        return false;
    *out = (int64_t)v->x.u64;
    return true;
}

bool jr_get_f64(const jr_value *v, double *out)
{
    if (!v || v->type != JR_NUMBER)
        return false;
    *out = v->u.num;
    return true;
}

/*
 * Narrowing the correctly rounded double d to float rounds twice; that
 * differs from rounding the literal once only when d lands exactly on a
 * midpoint between two floats (the literal may lie just off it). Midpoint:
 * the bits of d below the float's last place are exactly 100...0.
 */
static inline bool is_f32_midpoint(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    int be = (int)((bits >> 52) & 0x7ff);
    if (be == 0 || be >= 1023 + 128) /* double subnormal: far below floats; >= 2^128: inf anyway */
        return false;
    int e = be - 1023;
    int k = 29 + (e < -126 ? -126 - e : 0); /* dropped bits, more in float subnormals */
    if (k > 53)
        return false;
    uint64_t sig = (bits & ((1ull << 52) - 1)) | (1ull << 52);
    return (sig & ((1ull << k) - 1)) == 1ull << (k - 1);
}

bool jr_get_f32(const jr_value *v, float *out)
{
    if (!v || v->type != JR_NUMBER)
        return false;
    float f;
    if (v->flags & JR_NUM_INT) {
        /* One rounding from the exact integer. */
        f = (v->flags & JR_NUM_NEG) ? -(float)(0 - (uint64_t)v->x.i64) : (float)v->x.u64;
    } else if (is_f32_midpoint(v->u.num)) {
        bool ok;
        f = (float)read_literal(v->x.lit, v->len, true, &ok);
        if (!ok)
            return false;
    } else {
        f = (float)v->u.num;
    }
    if (isinf(f))
        return false;
    *out = f;
    return true;
}

const char *jr_type_name(jr_type t)
{
    switch (t) {
    case JR_NULL: return "null";
    case JR_FALSE:
    case JR_TRUE: return "boolean";
    case JR_NUMBER: return "number";
    case JR_STRING: return "string";
    case JR_ARRAY: return "array";
    case JR_OBJECT: return "object";
    }
    return "unknown";
}
