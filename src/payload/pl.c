/*
 * pl.c — see pl.h.
 *
 * Blob format (also in docs/FORMAT.md, "Payload blob"). A blob is exactly
 * one encoded value, an object; every value starts with a tag byte:
 *
 *   TAG        FOLLOWED BY                         VALUE
 *   0x00       -                                   null
 *   0x01       -                                   false
 *   0x02       -                                   true
 *   0x03       8 bytes, IEEE double, LE            float
 *   0x04       varint, zigzag                      integer (int64)
 *   0x05       8 bytes, LE                         integer above INT64_MAX (uint64)
 *   0x06       varint, zigzag                      float with an integral value, |v| < 2^48
 *   0x07       4 bytes, IEEE single, LE            float that a float32 holds exactly
 *   0x08       varint n, n bytes                   string (UTF-8)
 *   0x09-0x3F  -                                   invalid
 *   0x40-0x7F  -                                   integer 0..63 (tag - 0x40)
 *   0x80-0xBF  n = tag - 0x80 bytes                string of 0..63 bytes
 *   0xC0-0xDE  varint size, body                   array of tag - 0xC0 (0..30) elements
 *   0xDF       varint count, varint size, body     array of count elements
 *   0xE0-0xFE  varint size, body                   object of tag - 0xE0 (0..30) members
 *   0xFF       varint count, varint size, body     object of count members
 *
 * varint: unsigned LEB128 (7 bits a byte, low first, at most 10 bytes);
 * zigzag: (n << 1) ^ (n >> 63). size is the byte length of the body, so a
 * reader skips any value in O(1). An array body is its elements; an object
 * body is its members, each a varint key length, the key bytes (any bytes,
 * NUL included) and the value. Members keep their JSON order; keys are unique.
 * Float tags 0x03/0x06/0x07 are one JSON type ("1.0" stays a float, "1" an
 * integer); 0x06 and 0x07 only save room and read back the same double.
 * The empty object is E0 00 (2 bytes); {"a":1} is E1 03 01 61 41 (5 bytes).
 *
 * Writing: a container reserves a 2-byte header (tag + one size byte), writes
 * its body, then patches the header; when the header needs more room (30+
 * members or a body of 128+ bytes) the body moves up by 1-3 bytes. Each level
 * moves at most once, so encoding costs O(size x depth) in the worst case and
 * ~O(size) for real payloads; nothing is allocated per value.
 *
 * The tags, writers and readers are in plblob.h (shared with pljson.c, which
 * turns JSON into blobs and blobs into JSON); this file holds what needs no
 * JSON: validation, key paths, lookup, set and delete.
 *
 * Qdrant semantics followed here (lib/segment/src/json_path/mod.rs, parse.rs;
 * lib/segment/src/types.rs PayloadSelector; lib/segment/src/common/utils.rs
 * merge_map): see the comments above each operation.
 */
#include "payload/pl.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "payload/plblob.h"
#include "util/err.h"
#include "util/utf8.h"

const uint8_t pl_empty[] = {T_OBJ, 0};
const size_t  pl_empty_len = sizeof pl_empty;

/* The contract of pl.h: 0, or -1 with err filled. */
#define pl_fail(err, code, ...) (qv_fail((err), (code), __VA_ARGS__), -1)

/* Value of member key in the object at obj, or NULL: linear, skipping each
 * other member's value in O(1). */
static const uint8_t *obj_get(const uint8_t *obj, const char *key, size_t klen)
{
    uint64_t c, s;
    const uint8_t *p = rd_cont(obj, &c, &s);
    for (uint64_t i = 0; i < c; i++) {
        const char *k;
        size_t n;
        p = rd_key(p, &k, &n);
        if (n == klen && memcmp(k, key, n) == 0)
            return p;
        p = skip(p);
    }
    return NULL;
}

/* Element i of the array at arr, or NULL. */
static const uint8_t *arr_get(const uint8_t *arr, uint64_t i)
{
    uint64_t c, s;
    const uint8_t *p = rd_cont(arr, &c, &s);
    if (i >= c)
        return NULL;
    while (i--)
        p = skip(p);
    return p;
}

/* Copy the encoded value at p unchanged. */
static inline void w_raw(qv_buf *b, const uint8_t *p) { put_bytes(b, p, (size_t)(skip(p) - p)); }

/* Nesting depth of the value at p (a scalar is 0, {} is 1). */
static unsigned depth_of(const uint8_t *p)
{
    if (*p < T_ARR)
        return 0;
    bool obj = *p >= T_OBJ;
    uint64_t c, s;
    const uint8_t *q = rd_cont(p, &c, &s);
    unsigned d = 0;
    for (uint64_t i = 0; i < c; i++) {
        if (obj) {
            const char *k;
            size_t n;
            q = rd_key(q, &k, &n);
        }
        if (*q >= T_ARR) {
            unsigned e = depth_of(q);
            if (e > d)
                d = e;
        }
        q = skip(q);
    }
    return d + 1;
}

/* ---- validate ----------------------------------------------------------------- */

/* Bounded varint read: NULL on truncation or a value past 64 bits. */
static const uint8_t *v_varint(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return NULL;
        uint8_t c = *p++;
        if (shift == 63 && c > 1)
            return NULL;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return p;
        }
    }
    return NULL;
}

static const uint8_t *v_value(const uint8_t *p, const uint8_t *end, unsigned depth)
{
    if (p >= end)
        return NULL;
    uint8_t t = *p++;
    uint64_t n;
    if (t >= T_ARR) {
        if (++depth > PL_MAX_DEPTH)
            return NULL;
        bool obj = t >= T_OBJ;
        uint64_t count = t & 0x1f, size;
        if (count == PL_COUNT_ESC && !(p = v_varint(p, end, &count)))
            return NULL;
        if (!(p = v_varint(p, end, &size)) || size > (uint64_t)(end - p))
            return NULL;
        const uint8_t *bend = p + size;
        if (count > size)  /* every element takes at least a byte */
            return NULL;
        for (uint64_t i = 0; i < count; i++) {
            if (obj) {
                if (!(p = v_varint(p, bend, &n)) || n > (uint64_t)(bend - p))
                    return NULL;
                p += n;
            }
            if (!(p = v_value(p, bend, depth)))
                return NULL;
        }
        return p == bend ? p : NULL;
    }
    if (t >= T_SHORTSTR) {
        n = t - T_SHORTSTR;
        return n <= (uint64_t)(end - p) ? p + n : NULL;
    }
    if (t >= T_SMALLINT)
        return p;
    switch (t) {
    case T_NULL:
    case T_FALSE:
    case T_TRUE: return p;
    case T_F64:
    case T_UINT: return end - p >= 8 ? p + 8 : NULL;
    case T_F32: return end - p >= 4 ? p + 4 : NULL;
    case T_INT:
    case T_FINT: return v_varint(p, end, &n);
    case T_STR:
        if (!(p = v_varint(p, end, &n)) || n > (uint64_t)(end - p))
            return NULL;
        return p + n;
    default: return NULL;
    }
}

bool pl_validate(const uint8_t *blob, size_t len)
{
    if (!blob || len == 0 || blob[0] < T_OBJ)
        return false;
    return v_value(blob, blob + len, 0) == blob + len;
}

size_t pl_count(const uint8_t *blob, size_t len)
{
    (void)len;
    uint64_t c, s;
    rd_cont(blob, &c, &s);
    return (size_t)c;
}

void pl_root(const uint8_t *blob, size_t len, pl_value *out)
{
    (void)len;
    decode(blob, out);
}

/* ---- key paths ---------------------------------------------------------------- */

/*
 * Qdrant's grammar (json_path/parse.rs, nom):
 *   path  = (raw | quoted) item*
 *   item  = "." raw | "." quoted | "[" digits "]" | "[]"
 *   raw   = 1+ chars that are alphanumeric (Rust char::is_alphanumeric,
 *           Unicode), "_" or "-"
 *   quoted = '"' any chars but '"' and '\' (no escapes; may be empty) '"'
 *   digits = 1+ ASCII digits, a usize (leading zeros fine; overflow fails)
 * Nothing else: no spaces, no leading "[", no empty raw key.
 *
 * Unicode: Rust's is_alphanumeric is Alphabetic || Numeric. glibc's
 * iswalnum in C.UTF-8 matches it except for category No (², ½, ①...),
 * added below; without that locale every non-ASCII char counts as one
 * (more permissive: a path Qdrant takes is never refused).
 */
static locale_t        utf8_loc;
static pthread_once_t  utf8_once = PTHREAD_ONCE_INIT;
static void            utf8_init(void) { utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

static bool unicode_alnum(uint32_t cp)
{
    if (cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE) ||
        (cp >= 0x2070 && cp <= 0x2089) || (cp >= 0x2150 && cp <= 0x2189) ||
        (cp >= 0x2460 && cp <= 0x249B) || (cp >= 0x24EA && cp <= 0x24FF) ||
        (cp >= 0x2776 && cp <= 0x2793))
        return true;
    pthread_once(&utf8_once, utf8_init);
    return utf8_loc ? iswalnum_l((wint_t)cp, utf8_loc) != 0 : true;
}

/* Bytes of one raw-key char at s (n bytes left), 0 if it is not one. */
static size_t raw_char(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    uint32_t cp;
    size_t len = qv_utf8_decode((const char *)s, n, &cp);
    return len && unicode_alnum(cp) ? len : 0;
}

/* Length of a raw key at s, 0 if none. */
static size_t raw_key(const char *s, size_t n)
{
    size_t i = 0, k;
    while (i < n && (k = raw_char((const unsigned char *)s + i, n - i)))
        i += k;
    return i;
}

/* A quoted key at s (s[0] == '"'): its content length, or -1 if unclosed
 * or holding a backslash. */
static long quoted_key(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '"')
            return (long)i - 1;
        if (s[i] == '\\')
            return -1;
    }
    return -1;
}

int pl_path_parse(qv_arena *a, const char *text, size_t len, pl_path *out, qv_error *err)
{
    /* Every step takes >= 2 bytes but a raw first key (>= 1): len / 2 + 1 bound. */
    pl_step *steps = qv_arena_alloc(a, (len / 2 + 1) * sizeof *steps);
    char *copy = qv_arena_strndup(a, text, len);
    if (!steps || !copy)
        return pl_fail(err, QV_NOMEM, "out of memory");
    uint32_t n = 0;
    size_t i = 0;
    while (i < len || n == 0) {
        pl_step *st = &steps[n];
        memset(st, 0, sizeof *st);
        bool key = n == 0;
        if (n > 0) {
            if (text[i] == '.') {
                key = true;
                i++;
            } else if (text[i] == '[') {
                if (i + 1 < len && text[i + 1] == ']') {
                    st->kind = PL_ALL;
                    i += 2;
                    n++;
                    continue;
                }
                size_t j = i + 1;
                uint64_t v = 0;
                bool over = false;
                while (j < len && text[j] >= '0' && text[j] <= '9') {
                    unsigned d = (unsigned)(text[j] - '0');
                    if (v > (UINT64_MAX - d) / 10)
                        over = true; /* usize overflow: Qdrant refuses the path */
                    v = v * 10 + d;
                    j++;
                }
                if (j == i + 1 || j >= len || text[j] != ']' || over)
                    goto bad;
                st->kind = PL_INDEX;
                /* No array holds 2^32 elements: a bigger index finds nothing either way. */
                st->index = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
                i = j + 1;
                n++;
                continue;
            } else {
                goto bad;
            }
        }
        if (key) {
            size_t k;
            const char *ks;
            if (i < len && text[i] == '"') {
                long q = quoted_key(text + i, len - i);
                if (q < 0)
                    goto bad;
                ks = text + i + 1;
                k = (size_t)q;
                i += k + 2;
            } else {
                k = raw_key(text + i, len - i);
                if (k == 0)
                    goto bad;
                ks = text + i;
                i += k;
            }
            st->kind = PL_KEY;
            st->key = qv_arena_strndup(a, ks, k);
            st->key_len = (uint32_t)k;
            if (!st->key)
                return pl_fail(err, QV_NOMEM, "out of memory");
            n++;
        }
    }
    out->n = n;
    out->steps = steps;
    out->text = copy;
    return 0;
bad:
    if (len > 400)
        return pl_fail(err, QV_BAD_FORMAT, "Invalid json path: '%.400s...'", text);
    return pl_fail(err, QV_BAD_FORMAT, "Invalid json path: '%.*s'", (int)len, text);
}

/* ---- lookup ---------------------------------------------------------------------- */

typedef struct lk_ctx {
    bool (*fn)(void *ctx, const pl_value *v);
    void  *ctx;
    size_t visited;
    bool   stop;
} lk_ctx;

/* Qdrant's value_get (json_path/mod.rs): a key applies to an object only, an
 * index or "[]" to an array only; anything else yields nothing. The value at
 * the end of the path is yielded as is — an array is not flattened. */
static void lookup(lk_ctx *c, const uint8_t *p, const pl_step *st, uint32_t n)
{
    if (c->stop)
        return;
    if (n == 0) {
        pl_value v;
        decode(p, &v);
        c->visited++;
        if (!c->fn(c->ctx, &v))
            c->stop = true;
        return;
    }
    switch (st->kind) {
    case PL_KEY:
        if (is_obj(p) && (p = obj_get(p, st->key, st->key_len)))
            lookup(c, p, st + 1, n - 1);
        break;
    case PL_INDEX:
        if (is_arr(p) && (p = arr_get(p, st->index)))
            lookup(c, p, st + 1, n - 1);
        break;
    default:
        if (is_arr(p)) {
            uint64_t cnt, s;
            const uint8_t *q = rd_cont(p, &cnt, &s);
            for (uint64_t i = 0; i < cnt && !c->stop; i++) {
                lookup(c, q, st + 1, n - 1);
                q = skip(q);
            }
        }
        break;
    }
}

size_t pl_lookup(const uint8_t *blob, size_t len, const pl_path *path,
                 bool (*fn)(void *ctx, const pl_value *v), void *ctx)
{
    (void)len;
    lk_ctx c = {fn, ctx, 0, false};
    lookup(&c, blob, path->steps, path->n);
    return c.visited;
}

/* ---- iterators ---------------------------------------------------------------------- */

void pl_iter_init(pl_iter *it, const pl_value *container)
{
    uint64_t c, s;
    if (container->type != PL_ARRAY && container->type != PL_OBJECT) {
        it->p = it->end = NULL;
        return;
    }
    it->p = rd_cont(container->raw, &c, &s);
    it->end = it->p + s;
}

bool pl_iter_next_elem(pl_iter *it, pl_value *out)
{
    if (it->p >= it->end)
        return false;
    it->p = decode(it->p, out);
    return true;
}

bool pl_iter_next_member(pl_iter *it, const char **key, size_t *key_len, pl_value *out)
{
    if (it->p >= it->end)
        return false;
    it->p = decode(rd_key(it->p, key, key_len), out);
    return true;
}

/* ---- set_payload ------------------------------------------------------------------------ */

/*
 * Qdrant's merge_map (common/utils.rs): each member of patch replaces the
 * base's member of that key in place or is appended; a null value removes
 * the key instead (qdrant/qdrant#5150 kept this on purpose). base may be
 * NULL (absent or not an object: merge into {}).
 */
static void merge(qv_buf *b, const uint8_t *base, const uint8_t *patch)
{
    uint64_t bc = 0, pc, s;
    const uint8_t *bq = NULL, *pq = rd_cont(patch, &pc, &s);
    const uint8_t *pbody = pq;
    if (base)
        bq = rd_cont(base, &bc, &s);
    size_t body = w_open(b);
    uint64_t count = 0;
    for (uint64_t i = 0; i < bc; i++) {
        const char *k;
        size_t n;
        const uint8_t *v = rd_key(bq, &k, &n);
        bq = skip(v);
        const uint8_t *pv = pc ? obj_get(patch, k, n) : NULL;
        if (pv && *pv == T_NULL)
            continue;
        w_key(b, k, n);
        w_raw(b, pv ? pv : v);
        count++;
    }
    pq = pbody;
    for (uint64_t i = 0; i < pc; i++) {
        const char *k;
        size_t n;
        const uint8_t *v = rd_key(pq, &k, &n);
        pq = skip(v);
        if (*v == T_NULL || (base && obj_get(base, k, n)))
            continue;
        w_key(b, k, n);
        w_raw(b, v);
        count++;
    }
    w_close(b, body, T_OBJ, count);
}

typedef struct set_ctx {
    qv_buf        *b;
    const uint8_t *patch;
    unsigned       patch_depth;
    bool           too_deep;
} set_ctx;

/*
 * Qdrant's value_set (json_path/mod.rs) on the value at dest (NULL: absent,
 * i.e. the Null it inserts), writing the result. level is the nesting of
 * the container written here (the root object is 1).
 *   end of path: dest becomes an object if it is not one, then merge;
 *   key:   dest becomes an object if it is not one (arrays and scalars are
 *          replaced); the member is descended into, or created;
 *   [i]:   dest becomes [] if it is not an array; element i is descended
 *          into if it exists (nothing is appended or padded);
 *   []:    each element of an array is descended into; anything else
 *          becomes [].
 */
static void set_in(set_ctx *c, const uint8_t *dest, const pl_step *st, uint32_t n, unsigned level)
{
    qv_buf *b = c->b;
    if (level > PL_MAX_DEPTH) {
        c->too_deep = true;
        return;
    }
    if (n == 0) {
        if (level + c->patch_depth - 1 > PL_MAX_DEPTH)
            c->too_deep = true;
        else
            merge(b, is_obj(dest) ? dest : NULL, c->patch);
        return;
    }
    if (st->kind == PL_KEY) {
        size_t body = w_open(b);
        uint64_t count = 0;
        bool found = false;
        if (is_obj(dest)) {
            uint64_t cnt, s;
            const uint8_t *q = rd_cont(dest, &cnt, &s);
            for (; count < cnt; count++) {
                const char *k;
                size_t kn;
                const uint8_t *v = rd_key(q, &k, &kn);
                q = skip(v);
                w_key(b, k, kn);
                if (!found && kn == st->key_len && memcmp(k, st->key, kn) == 0) {
                    found = true;
                    set_in(c, v, st + 1, n - 1, level + 1);
                } else {
                    w_raw(b, v);
                }
            }
        }
        if (!found) {
            w_key(b, st->key, st->key_len);
            set_in(c, NULL, st + 1, n - 1, level + 1);
            count++;
        }
        w_close(b, body, T_OBJ, count);
        return;
    }
    size_t body = w_open(b);
    uint64_t cnt = 0, s;
    if (is_arr(dest)) {
        const uint8_t *q = rd_cont(dest, &cnt, &s);
        for (uint64_t i = 0; i < cnt; i++) {
            const uint8_t *next = skip(q);
            if (st->kind == PL_ALL || i == st->index)
                set_in(c, q, st + 1, n - 1, level + 1);
            else
                w_raw(b, q);
            q = next;
        }
    }
    w_close(b, body, T_ARR, cnt);
}

int pl_set(const uint8_t *base, size_t base_len, const uint8_t *patch, size_t patch_len,
           const pl_path *path, qv_buf *out, qv_error *err)
{
    (void)base_len;
    (void)patch_len;
    size_t start = out->len;
    if (!path || path->n == 0) {
        merge(out, base, patch);
    } else {
        set_ctx c = {out, patch, depth_of(patch), false};
        set_in(&c, base, path->steps, path->n, 1);
        if (c.too_deep) {
            if (!out->oom)
                out->len = start;
            finish(out);
            return pl_fail(err, QV_BAD_INPUT,
                           "payload nesting would exceed %d levels at key `%s`", PL_MAX_DEPTH,
                           path->text);
        }
    }
    finish(out);
    if (!qv_buf_ok(out))
        return pl_fail(err, QV_NOMEM, "out of memory");
    return 0;
}

/* ---- delete_payload ------------------------------------------------------------------------ */

/*
 * Qdrant's value_remove (json_path/mod.rs): steps are followed only through
 * matching containers (key: object, [i]: array, []: every element); at the
 * last step a key is removed from its object, "[]" empties its array, and
 * "[i]" removes nothing ("Deleting array indices is not idempotent, so we
 * don't support it"). Writes the result; rm_hits tells whether it differs.
 */
static bool rm_hits(const uint8_t *p, const pl_step *st, uint32_t n)
{
    switch (st->kind) {
    case PL_KEY:
        if (!is_obj(p) || !(p = obj_get(p, st->key, st->key_len)))
            return false;
        return n == 1 || rm_hits(p, st + 1, n - 1);
    case PL_INDEX:
        if (n == 1 || !is_arr(p) || !(p = arr_get(p, st->index)))
            return false;
        return rm_hits(p, st + 1, n - 1);
    default: {
        if (!is_arr(p))
            return false;
        uint64_t cnt, s;
        const uint8_t *q = rd_cont(p, &cnt, &s);
        if (n == 1)
            return cnt > 0;
        for (uint64_t i = 0; i < cnt; i++, q = skip(q))
            if (rm_hits(q, st + 1, n - 1))
                return true;
        return false;
    }
    }
}

static void rm_in(qv_buf *b, const uint8_t *p, const pl_step *st, uint32_t n)
{
    uint64_t cnt, s;
    if (st->kind == PL_KEY && is_obj(p)) {
        const uint8_t *q = rd_cont(p, &cnt, &s);
        size_t body = w_open(b);
        uint64_t count = 0;
        for (uint64_t i = 0; i < cnt; i++) {
            const char *k;
            size_t kn;
            const uint8_t *v = rd_key(q, &k, &kn);
            q = skip(v);
            bool match = kn == st->key_len && memcmp(k, st->key, kn) == 0;
            if (match && n == 1)
                continue;
            w_key(b, k, kn);
            if (match)
                rm_in(b, v, st + 1, n - 1);
            else
                w_raw(b, v);
            count++;
        }
        w_close(b, body, T_OBJ, count);
    } else if (st->kind != PL_KEY && is_arr(p) && !(st->kind == PL_INDEX && n == 1)) {
        const uint8_t *q = rd_cont(p, &cnt, &s);
        size_t body = w_open(b);
        if (n == 1) { /* "[]" last: the array is emptied */
            w_close(b, body, T_ARR, 0);
            return;
        }
        for (uint64_t i = 0; i < cnt; i++) {
            if (st->kind == PL_ALL || i == st->index)
                rm_in(b, q, st + 1, n - 1);
            else
                w_raw(b, q);
            q = skip(q);
        }
        w_close(b, body, T_ARR, cnt);
    } else {
        w_raw(b, p);
    }
}

int pl_delete(const uint8_t *base, size_t base_len, const pl_path *paths, size_t n, qv_buf *out,
              qv_error *err)
{
    /* Paths apply one after the other, as Qdrant removes key by key; each
     * that reaches something rewrites the blob once (two scratch buffers). */
    qv_buf tmp[2] = {QV_BUF_INIT, QV_BUF_INIT};
    const uint8_t *cur = base;
    size_t cur_len = base_len;
    int t = 0;
    for (size_t i = 0; i < n; i++) {
        if (paths[i].n == 0 || !rm_hits(cur, paths[i].steps, paths[i].n))
            continue;
        qv_buf *dst = &tmp[t];
        dst->len = 0;
        rm_in(dst, cur, paths[i].steps, paths[i].n);
        if (dst->oom)
            break;
        cur = (const uint8_t *)dst->data;
        cur_len = dst->len;
        t ^= 1;
    }
    bool oom = tmp[0].oom || tmp[1].oom;
    if (!oom)
        put_bytes(out, cur, cur_len);
    qv_buf_free(&tmp[0]);
    qv_buf_free(&tmp[1]);
    finish(out);
    if (oom || !qv_buf_ok(out))
        return pl_fail(err, QV_NOMEM, "out of memory");
    return 0;
}

bool pl_as_f64(const pl_value *v, double *d)
{
    switch (v->type) {
    case PL_INT: *d = (double)v->i; return true;
    case PL_UINT: *d = (double)v->u; return true;
    case PL_FLOAT: *d = v->d; return true;
    default: return false;
    }
}

bool pl_geo_point(const pl_value *v, double *lon, double *lat)
{
    if (v->type != PL_OBJECT)
        return false;
    bool hx = false, hy = false;
    pl_iter it;
    pl_value m;
    const char *k;
    size_t kl;
    pl_iter_init(&it, v);
    while (pl_iter_next_member(&it, &k, &kl, &m)) {
        if (kl == 3 && memcmp(k, "lon", 3) == 0)
            hx = pl_as_f64(&m, lon);
        else if (kl == 3 && memcmp(k, "lat", 3) == 0)
            hy = pl_as_f64(&m, lat);
    }
    return hx && hy;
}

bool pl_contains(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn == 0)
        return true;
    while (hn >= nn) {
        const char *q = memchr(h, nd[0], hn - nn + 1);
        if (!q)
            return false;
        if (memcmp(q, nd, nn) == 0)
            return true;
        hn -= (size_t)(q - h) + 1;
        h = q + 1;
    }
    return false;
}
