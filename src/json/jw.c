/*
 * jw.c — see jw.h.
 *
 * Float printing finds the shortest decimal inside the rounding interval of
 * the binary value, and among those the one nearest to it (ties to even),
 * which is what Ryu — hence serde_json — prints. Scheme:
 *
 *   1. v = M * 2^E with M = 4m, so the interval bounds (M - 2 or M - 1 below
 *      a power of two, M + 2) * 2^E are integers times 2^E.
 *   2. Pick q with 10^q <= 2^E: the interval is >= 3 units of 10^q wide, so
 *      it holds an integer multiple of 10^q. Compute exactly the smallest and
 *      largest such multiples (lo, hi) and floor(v / 10^q) with its fraction.
 *   3. Drop decimal digits while [lo, hi] still holds a multiple of 10; then
 *      round v's digits to the nearest in-range value.
 *
 * Step 2 is exact integer arithmetic: a 64x64->128 multiply per bound for
 * 2^-89 <= 2^E < 1 (floats in [5e-20, 3e7), doubles in [3e-11, 1.8e16)),
 * 128-bit division for larger values (all larger floats, doubles up to
 * 3e47), and a small bignum for the rest (~1 us each). Being exact, it needs
 * no error analysis; it was also checked against the bignum path for every
 * float and against glibc's exact printf/strtod (tests/unit/test_json.c).
 * Cost: ~30 ns per float (about 4x faster than snprintf("%.9g")).
 */
#include "json/jw.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/utf8.h"

typedef unsigned __int128 u128;

/* ---- digits ---------------------------------------------------------- */

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static const uint64_t pow10_u64[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
    1000000000000ull, 10000000000000ull, 100000000000000ull,
    1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull,
};

static int bit_length(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

/* Digits of n: t = bits * log10(2) (1233 / 4096) is the digit count or one
 * more than it; one comparison settles it without a data-dependent loop. */
static int count_digits(uint64_t n)
{
    n |= 1; /* same count, and 0 gets one digit */
    int t = (bit_length(n) * 1233) >> 12;
    return t + (n >= pow10_u64[t]);
}

/* Write the len decimal digits of n ending just before end. */
static void put_digits(char *end, uint64_t n, int len)
{
    while (len >= 2) {
        unsigned r = (unsigned)(n % 100);
        n /= 100;
        end -= 2;
        memcpy(end, digit_pairs + 2 * r, 2);
        len -= 2;
    }
    if (len)
        *--end = (char)('0' + n);
}

/* Digits of n < 10^10 (len of them) at dst, in a fixed number of steps: a
 * float's 6 to 9 digits vary from value to value, and a loop over them
 * mispredicts its exit. Writes 16 bytes at dst. */
static void put_digits10(char *dst, uint32_t n, int len)
{
    char t[32] = {0};
    uint32_t hi = n / 100000, lo = n % 100000; /* 5 + 5 digits */
    memcpy(t + 0, digit_pairs + 2 * (hi / 1000), 2);
    memcpy(t + 2, digit_pairs + 2 * (hi / 10 % 100), 2);
    t[4] = (char)('0' + hi % 10);
    memcpy(t + 5, digit_pairs + 2 * (lo / 1000), 2);
    memcpy(t + 7, digit_pairs + 2 * (lo / 10 % 100), 2);
    t[9] = (char)('0' + lo % 10);
    memcpy(dst, t + 10 - len, 16); /* past len: junk the caller overwrites */
}

/* len digits of n at p; may also scribble on the bytes up to p + 16. */
static void put_sig(char *p, uint64_t n, int len)
{
    if (n <= UINT32_MAX)
        put_digits10(p, (uint32_t)n, len);
    else
        put_digits(p + len, n, len);
}

static int fmt_u64(char *dst, uint64_t n)
{
    int len = count_digits(n);
    put_digits(dst + len, n, len);
    return len;
}

/* ---- exact scaling ---------------------------------------------------- */

/* Decimal view of a value v at scale 10^q. */
typedef struct dec_scan {
    uint64_t lo, hi; /* smallest and largest n with n * 10^q reading back as v */
    uint64_t mid;    /* floor(v / 10^q) */
    int      frac;   /* v / 10^q - mid: 0 zero, 1 below 1/2, 2 exactly 1/2, 3 above */
    int      q;
} dec_scan;

/* Binary value: M * 2^E, interval from (M - dlo) * 2^E to (M + 2) * 2^E,
 * bounds included when incl (even mantissa: ties round to it). */
typedef struct bin_val {
    uint64_t M;
    int      E;
    unsigned dlo;
    bool     incl;
} bin_val;

static const uint64_t pow5_u64[28] = {
    1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull,
    1953125ull, 9765625ull, 48828125ull, 244140625ull, 1220703125ull,
    6103515625ull, 30517578125ull, 152587890625ull, 762939453125ull,
    3814697265625ull, 19073486328125ull, 95367431640625ull, 476837158203125ull,
    2384185791015625ull, 11920928955078125ull, 59604644775390625ull,
    298023223876953125ull, 1490116119384765625ull, 7450580596923828125ull,
};

/* floor(e * log10(2)) for 0 <= e <= 1650: 78913 / 2^18 is just below
 * log10(2), and the error never crosses an integer in that range (checked
 * against exact powers for every e). */
static int floor_log10_pow2(int e) { return (int)(((unsigned)e * 78913u) >> 18); }

/* Scale: largest q with 10^q <= 2^E. For E < 0, E * log10(2) is never an
 * integer, so the ceiling of its negation is floor + 1. */
static int scale_for(int E) { return E >= 0 ? floor_log10_pow2(E) : -(floor_log10_pow2(-E) + 1); }

/* rem / div against 1/2, as dec_scan.frac. */
static int frac_code(u128 rem, u128 div)
{
    if (rem == 0)
        return 0;
    u128 r2 = rem << 1; /* rem < div < 2^127 */
    return r2 < div ? 1 : r2 == div ? 2 : 3;
}

static void set_bounds(dec_scan *d, const bin_val *b, uint64_t af, bool aex, uint64_t cf, bool cex)
{
    d->lo = af + !(b->incl && aex); /* smallest allowed integer >= a */
    d->hi = cf - (!b->incl && cex); /* largest allowed integer <= c */
}

/* 2^E < 1, 10^-q fits the 5^k table: v * 10^k = (M * 5^k) >> (-E - k). */
static bool scan_mul(const bin_val *b, dec_scan *d)
{
    int q = scale_for(b->E), k = -q;
    if (b->E >= 0 || k > 27)
        return false;
    unsigned s = (unsigned)(-b->E - k); /* <= 89 - 27 */
    uint64_t p5 = pow5_u64[k];
    if (k <= 13 && b->M < (1ull << 32)) {
        /* Floats near 1 (>= 4e-6): (M + 2) * 5^13 < 2^64, s < 64, all in 64 bits. */
        uint64_t a = (b->M - b->dlo) * p5, v = b->M * p5, c = (b->M + 2) * p5;
        uint64_t mask = (1ull << s) - 1;
        set_bounds(d, b, a >> s, !(a & mask), c >> s, !(c & mask));
        d->mid = v >> s;
        uint64_t r = v & mask, half = (1ull << s) >> 1;
        d->frac = r == 0 ? 0 : r < half ? 1 : r == half ? 2 : 3;
        d->q = q;
        return true;
    }
    u128 a = (u128)(b->M - b->dlo) * p5, v = (u128)b->M * p5, c = (u128)(b->M + 2) * p5;
    u128 mask = ((u128)1 << s) - 1;
    set_bounds(d, b, (uint64_t)(a >> s), !(a & mask), (uint64_t)(c >> s), !(c & mask));
    d->mid = (uint64_t)(v >> s);
    d->frac = frac_code(v & mask, (u128)1 << s);
    d->q = q;
    return true;
}

/* 2^E >= 1: v / 10^q = (M << (E - q)) / 5^q in 128 bits while it fits. */
static bool scan_div(const bin_val *b, dec_scan *d)
{
    int q = scale_for(b->E);
    if (b->E < 0 || q > 54 || bit_length(b->M + 2) + (b->E - q) > 127)
        return false;
    u128 p5 = q <= 27 ? pow5_u64[q] : (u128)pow5_u64[27] * pow5_u64[q - 27];
    unsigned s = (unsigned)(b->E - q);
    u128 a = (u128)(b->M - b->dlo) << s, v = (u128)b->M << s, c = (u128)(b->M + 2) << s;
    set_bounds(d, b, (uint64_t)(a / p5), a % p5 == 0, (uint64_t)(c / p5), c % p5 == 0);
    d->mid = (uint64_t)(v / p5);
    d->frac = frac_code(v % p5, p5);
    d->q = q;
    return true;
}

/* ---- bignum fallback: only for values outside the two fast ranges. ---- */

#define BIG_LIMBS 40 /* 1280 bits: 2^55 * 10^324 and 2^1076 both fit */

typedef struct big {
    int      n;               /* limbs in use; no leading zero limbs */
    uint32_t w[BIG_LIMBS];    /* little-endian */
} big;

static void big_set(big *x, uint64_t v)
{
    x->n = 0;
    while (v) {
        x->w[x->n++] = (uint32_t)v;
        v >>= 32;
    }
}

static void big_mul32(big *x, uint32_t m)
{
    if (m == 0)
        x->n = 0;
    uint64_t carry = 0;
    for (int i = 0; i < x->n; i++) {
        carry += (uint64_t)x->w[i] * m;
        x->w[i] = (uint32_t)carry;
        carry >>= 32;
    }
    if (carry)
        x->w[x->n++] = (uint32_t)carry;
}

static void big_mul_pow10(big *x, int k)
{
    for (; k >= 9; k -= 9)
        big_mul32(x, 1000000000u);
    big_mul32(x, (uint32_t)pow10_u64[k]);
}

static void big_shl(big *x, unsigned s)
{
    if (x->n == 0)
        return;
    unsigned limbs = s / 32, bits = s % 32;
    int n = x->n;
    if (bits) {
        x->w[n] = 0;
        for (int i = n; i > 0; i--)
            x->w[i] = (x->w[i] << bits) | (x->w[i - 1] >> (32 - bits));
        x->w[0] <<= bits;
        n += x->w[n] != 0;
    }
    if (limbs) {
        memmove(x->w + limbs, x->w, (size_t)n * sizeof(uint32_t));
        memset(x->w, 0, limbs * sizeof(uint32_t));
        n += (int)limbs;
    }
    x->n = n;
}

static int big_cmp(const big *x, const big *y)
{
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    for (int i = x->n - 1; i >= 0; i--)
        if (x->w[i] != y->w[i])
            return x->w[i] < y->w[i] ? -1 : 1;
    return 0;
}

static void big_sub(big *x, const big *y) /* x >= y */
{
    int64_t borrow = 0;
    for (int i = 0; i < x->n; i++) {
        int64_t t = (int64_t)x->w[i] - (i < y->n ? y->w[i] : 0) - borrow;
        borrow = t < 0;
        x->w[i] = (uint32_t)t;
    }
    while (x->n && x->w[x->n - 1] == 0)
        x->n--;
}

static void big_add(big *x, const big *y)
{
    uint64_t carry = 0;
    int n = x->n > y->n ? x->n : y->n;
    for (int i = 0; i < n; i++) {
        carry += (uint64_t)(i < x->n ? x->w[i] : 0) + (i < y->n ? y->w[i] : 0);
        x->w[i] = (uint32_t)carry;
        carry >>= 32;
    }
    x->n = n;
    if (carry)
        x->w[x->n++] = (uint32_t)carry;
}

static void big_shr1(big *x)
{
    for (int i = 0; i < x->n; i++)
        x->w[i] = (x->w[i] >> 1) | (i + 1 < x->n ? x->w[i + 1] << 31 : 0);
    if (x->n && x->w[x->n - 1] == 0)
        x->n--;
}

static int big_bits(const big *x)
{
    return x->n ? 32 * (x->n - 1) + bit_length(x->w[x->n - 1]) : 0;
}

/* x = x mod d, returning floor(x / d); the quotient must fit 64 bits.
 * Shift-and-subtract: one step per quotient bit. */
static uint64_t big_divmod(big *x, const big *d)
{
    int top = big_bits(x) - big_bits(d);
    if (top < 0)
        return 0;
    uint64_t q = 0;
    big t = *d;
    big_shl(&t, (unsigned)top);
    for (int i = top; i >= 0; i--) {
        if (big_cmp(x, &t) >= 0) {
            big_sub(x, &t);
            q |= (uint64_t)1 << i;
        }
        big_shr1(&t);
    }
    return q;
}

/* x = x mod 2^s, returning floor(x / 2^s); the quotient must fit 64 bits. */
static uint64_t big_divmod_pow2(big *x, unsigned s)
{
    unsigned limb = s / 32, bit = s % 32;
    u128 win = 0;
    for (int i = 2; i >= 0; i--) { /* the 64 quotient bits span at most 3 limbs */
        unsigned k = limb + (unsigned)i;
        win = win << 32 | ((int)k < x->n ? x->w[k] : 0);
    }
    uint64_t q = (uint64_t)(win >> bit);
    if ((int)limb < x->n) {
        x->n = (int)limb + 1;
        x->w[limb] &= (1u << bit) - 1;
        while (x->n && x->w[x->n - 1] == 0)
            x->n--;
    }
    return q;
}

/*
 * v / 10^q = M * F / D with F = 2^max(E-q,0) * 10^max(-q,0) and
 * D = 2^max(-E,0) * 5^max(q,0): a power of two for small values (a shift),
 * a power of five for large ones (a long division). The bounds differ from v
 * by 2F and dlo*F, less than 20 D, so a few additions settle them.
 */
static void scan_big(const bin_val *b, dec_scan *d)
{
    int q = scale_for(b->E);
    big unit, den, r, t;
    big_set(&unit, 1);
    big_set(&den, 1);
    if (b->E > 0) { /* then q >= 0: 2^E / 10^q = 2^(E-q) / 5^q */
        big_shl(&unit, (unsigned)(b->E - q));
        for (int k = q; k > 0; k -= 13)
            big_mul32(&den, (uint32_t)pow5_u64[k < 13 ? k : 13]);
    } else { /* then q < 0: 2^E * 10^-q */
        big_mul_pow10(&unit, -q);
        big_shl(&den, (unsigned)-b->E);
    }

    r = unit;
    big_mul32(&r, (uint32_t)b->M);
    t = unit;
    big_mul32(&t, (uint32_t)(b->M >> 32));
    big_shl(&t, 32);
    big_add(&r, &t); /* r = M * F */
    uint64_t mid = b->E > 0 ? big_divmod(&r, &den) : big_divmod_pow2(&r, (unsigned)-b->E);

    t = unit; /* upper bound: (r + 2F) / D past mid */
    big_mul32(&t, 2);
    big_add(&t, &r);
    uint64_t cf = mid;
    for (; big_cmp(&t, &den) >= 0; cf++)
        big_sub(&t, &den);
    bool cex = t.n == 0;

    big lo = unit; /* lower bound: (r - dlo F) / D, borrowing D's from mid */
    big_mul32(&lo, b->dlo);
    t = r;
    uint64_t af = mid;
    for (; big_cmp(&t, &lo) < 0; af--)
        big_add(&t, &den);
    big_sub(&t, &lo);
    set_bounds(d, b, af, t.n == 0, cf, cex);

    d->mid = mid;
    if (r.n == 0) {
        d->frac = 0;
    } else {
        big_shl(&r, 1);
        int c = big_cmp(&r, &den);
        d->frac = c < 0 ? 1 : c == 0 ? 2 : 3;
    }
    d->q = q;
}

/* ---- shortest digits -------------------------------------------------- */

/* Shortest n (and *q) with n * 10^q in the interval, nearest to v. */
static uint64_t shortest(const bin_val *b, int *q)
{
    dec_scan d;
    if (!scan_mul(b, &d) && !scan_div(b, &d))
        scan_big(b, &d);
    uint64_t lo = d.lo, hi = d.hi, mid = d.mid;
    int j = 0;
    for (;;) {
        uint64_t nlo = (lo + 9) / 10, nhi = hi / 10; /* lo < 2^60 */
        if (nlo > nhi)
            break;
        lo = nlo;
        hi = nhi;
        mid /= 10;
        j++;
    }
    *q = d.q + j;
    /* Round: compare what was dropped, (d.mid mod 10^j) + frac, with half a unit. */
    bool up;
    if (j == 0) {
        up = d.frac == 3 || (d.frac == 2 && (mid & 1));
    } else {
        uint64_t rest = d.mid - mid * pow10_u64[j], half = 5 * pow10_u64[j - 1];
        up = rest > half || (rest == half && (d.frac != 0 || (mid & 1)));
    }
    uint64_t n = mid + up;
    /* The nearest multiple may fall outside; the other neighbour is then inside. */
    if (n < lo)
        n = lo;
    if (n > hi)
        n = hi;
    return n;
}

/*
 * Layout as Ryu's pretty printer: kk = digits + q is the position of the
 * decimal point. Integral values below 10^max_kk print as "123.0", others
 * with max_kk >= kk > min_kk as "12.5" / "0.00125", the rest as "1.25e-7".
 */
static int layout(char *dst, bool neg, uint64_t n, int q, int max_kk, int min_kk)
{
    /* dst has >= 32 bytes: the fixed-size fills and digit writes below (16
     * bytes from at most offset 8) compile to a few stores, no calls. */
    char *p = dst + neg;
    *dst = '-';
    int len = count_digits(n), kk = len + q;
    if (q >= 0 && kk <= max_kk) {
        memset(p, '0', 16); /* kk <= 16 */
        put_digits(p + len, n, len);
        p += kk;
        memcpy(p, ".0", 2);
        p += 2;
    } else if (kk > 0 && kk <= max_kk) {
        put_sig(p + 1, n, len);
        for (int i = 0; i < kk; i++) /* the integer part, usually 1-2 digits */
            p[i] = p[i + 1];
        p[kk] = '.';
        p += len + 1;
    } else if (kk > min_kk && kk <= 0) {
        memcpy(p, "0.000000", 8); /* -kk <= 5 */
        p += 2 - kk;
        put_sig(p, n, len);
        p += len;
    } else {
        put_sig(p + 1, n, len);
        p[0] = p[1];
        p[1] = '.';
        p += len + (len > 1);
        *p++ = 'e';
        int x = kk - 1;
        if (x < 0) {
            *p++ = '-';
            x = -x;
        }
        p += fmt_u64(p, (uint64_t)x);
    }
    *p = '\0';
    return (int)(p - dst);
}

int jw_fmt_f32(char *dst, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    bool neg = bits >> 31;
    uint32_t frac = bits & 0x7fffffu, bexp = (bits >> 23) & 0xffu;
    if (bexp == 0xff) {
        memcpy(dst, "null", 5);
        return 4;
    }
    if (bexp == 0 && frac == 0)
        return layout(dst, neg, 0, 0, 13, -6); /* "0.0" */
    uint32_t m = bexp ? frac | 0x800000u : frac;
    int e = bexp ? (int)bexp - 150 : -149;
    bin_val b = {(uint64_t)m << 2, e - 2, (frac == 0 && bexp > 1) ? 1u : 2u, (m & 1) == 0};
    int q;
    uint64_t n = shortest(&b, &q);
    return layout(dst, neg, n, q, 13, -6);
}

int jw_fmt_f64(char *dst, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    bool neg = bits >> 63;
    uint64_t frac = bits & 0xfffffffffffffull;
    unsigned bexp = (unsigned)(bits >> 52) & 0x7ffu;
    if (bexp == 0x7ff) {
        memcpy(dst, "null", 5);
        return 4;
    }
    if (bexp == 0 && frac == 0)
        return layout(dst, neg, 0, 0, 16, -5);
    uint64_t m = bexp ? frac | (1ull << 52) : frac;
    int e = bexp ? (int)bexp - 1075 : -1074;
    bin_val b = {m << 2, e - 2, (frac == 0 && bexp > 1) ? 1u : 2u, (m & 1) == 0};
    int q;
    uint64_t n = shortest(&b, &q);
    return layout(dst, neg, n, q, 16, -5);
}

/* ---- writer ----------------------------------------------------------- */

static inline void sep(jw *w)
{
    if (w->comma)
        qv_buf_putc(w->out, ',');
}

/* Escape for each byte: 0 = copy, 'u' = \u00XX, else \ and that letter. */
static const char esc_table[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    ['"'] = '"', ['\\'] = '\\',
};

static void put_escaped(qv_buf *b, const char *s, size_t len);

/*
 * The writer must never emit invalid UTF-8: a client's JSON parser would
 * refuse the whole response. Every string is checked (one extra pass, with an
 * ASCII fast path; small next to the escaping itself) and, if ill-formed,
 * written repaired, each bad sequence as U+FFFD, the way Qdrant's Rust
 * strings would show such bytes. This is always on rather than a debug
 * assert: the bytes come from storage that an older build or a bug may have
 * written, and a release build must still answer valid JSON. The first
 * repair is logged (once per process) so the bug or old data gets noticed.
 */
static void put_string(qv_buf *b, const char *s, size_t len)
{
    /* Fast path, keys and most values: printable ASCII without escapes,
     * copied in one pass into room reserved once; at the first byte that
     * needs a look (non-ASCII, an escape) the general path starts over. */
    if (qv_buf_reserve(b, len + 2)) {
        char *d = b->data + b->len;
        size_t i = 0;
        d[0] = '"';
        for (; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x80 || esc_table[c])
                break;
            d[1 + i] = (char)c;
        }
        if (i == len) {
            d[1 + len] = '"';
            b->len += len + 2;
            b->data[b->len] = '\0';
            return;
        }
    }
    if (qv_utf8_valid(s, len)) {
        put_escaped(b, s, len);
        return;
    }
    static atomic_flag logged = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&logged))
        QV_WARN("JSON writer: a string of %zu bytes was not valid UTF-8 and was written with "
                "U+FFFD replacements (logged once)", len);
    char small[256];
    char *fixed = QV_UTF8_LOSSY_MAX(len) <= sizeof small ? small : malloc(QV_UTF8_LOSSY_MAX(len));
    if (!fixed) {
        qv_buf_append(b, "\"\xef\xbf\xbd\"", 5); /* out of memory: one U+FFFD stands for it all */
        return;
    }
    size_t n = qv_utf8_lossy(fixed, s, len);
    put_escaped(b, fixed, n);
    if (fixed != small)
        free(fixed);
}

static void put_escaped(qv_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    qv_buf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = esc_table[c];
        if (!e)
            continue;
        qv_buf_append(b, s + start, i - start);
        if (e == 'u') {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            qv_buf_append(b, u, 6);
        } else {
            char two[2] = {'\\', e};
            qv_buf_append(b, two, 2);
        }
        start = i + 1;
    }
    qv_buf_append(b, s + start, len - start);
    qv_buf_putc(b, '"');
}

void jw_obj_begin(jw *w)
{
    sep(w);
    qv_buf_putc(w->out, '{');
    w->comma = false;
}

void jw_obj_end(jw *w)
{
    qv_buf_putc(w->out, '}');
    w->comma = true;
}

void jw_arr_begin(jw *w)
{
    sep(w);
    qv_buf_putc(w->out, '[');
    w->comma = false;
}

void jw_arr_end(jw *w)
{
    qv_buf_putc(w->out, ']');
    w->comma = true;
}

void jw_key(jw *w, const char *key) { jw_keyn(w, key, strlen(key)); }

void jw_keyn(jw *w, const char *key, size_t len)
{
    sep(w);
    put_string(w->out, key, len);
    qv_buf_putc(w->out, ':');
    w->comma = false;
}

void jw_str(jw *w, const char *s) { jw_strn(w, s, strlen(s)); }

void jw_strn(jw *w, const char *s, size_t len)
{
    sep(w);
    put_string(w->out, s, len);
    w->comma = true;
}

/* Reserve room and format in place; avoids a copy on the hot path. */
static void put_formatted(jw *w, int kind, uint64_t u, double d)
{
    qv_buf *b = w->out;
    if (!qv_buf_reserve(b, 33))
        return;
    char *p = b->data + b->len;
    if (w->comma)
        *p++ = ',';
    switch (kind) {
    case 0: p += fmt_u64(p, u); break;
    case 1: *p++ = '-'; p += fmt_u64(p, u); break;
    case 2: p += jw_fmt_f32(p, (float)d); break;
    default: p += jw_fmt_f64(p, d); break;
    }
    *p = '\0';
    b->len = (size_t)(p - b->data);
    w->comma = true;
}

void jw_int(jw *w, int64_t v)
{
    if (v < 0)
        put_formatted(w, 1, 0 - (uint64_t)v, 0);
    else
        put_formatted(w, 0, (uint64_t)v, 0);
}

void jw_uint(jw *w, uint64_t v) { put_formatted(w, 0, v, 0); }
void jw_f32(jw *w, float v) { put_formatted(w, 2, 0, v); }
void jw_f64(jw *w, double v) { put_formatted(w, 3, 0, v); }

void jw_bool(jw *w, bool v) { jw_raw(w, v ? "true" : "false", v ? 4 : 5); }
void jw_null(jw *w) { jw_raw(w, "null", 4); }

void jw_raw(jw *w, const char *json, size_t len)
{
    sep(w);
    qv_buf_append(w->out, json, len);
    w->comma = true;
}
