/*
 * plblob.h — the payload blob's bytes, for the payload module's own files
 * only (pl.c: paths, lookup, set, delete; pljson.c: JSON in and out). Other
 * modules go through pl.h. The format is the table atop pl.c and
 * docs/FORMAT.md ("Payload blob").
 *
 * Writers append to a qv_buf and, once it is out of memory, do nothing (the
 * caller checks qv_buf_ok at the end). Readers trust the blob: it was made
 * here or passed pl_validate. All static inline: the walks over a blob are
 * the hot loops of reads and filters.
 */
#ifndef QV_PAYLOAD_PLBLOB_H
#define QV_PAYLOAD_PLBLOB_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "payload/pl.h"
#include "util/buf.h"
#include "util/endian.h"

enum {
    T_NULL = 0x00,
    T_FALSE = 0x01,
    T_TRUE = 0x02,
    T_F64 = 0x03,
    T_INT = 0x04,
    T_UINT = 0x05,
    T_FINT = 0x06,
    T_F32 = 0x07,
    T_STR = 0x08,
    T_SMALLINT = 0x40,
    T_SHORTSTR = 0x80,
    T_ARR = 0xC0,
    T_OBJ = 0xE0,
};
#define PL_INLINE_MAX 30   /* containers with up to 30 elements keep the count in the tag */
#define PL_COUNT_ESC  31   /* tag T_ARR/T_OBJ + 31: the count follows as a varint */

/* ---- primitives ---------------------------------------------------------- */

static inline uint64_t zz_enc(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t  zz_dec(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

static inline size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Trusted read (the blob was made here or passed pl_validate). */
static inline uint64_t get_varint(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = *p & 0x7f;
    unsigned shift = 7;
    while (*p++ & 0x80) {
        v |= (uint64_t)(*p & 0x7f) << shift;
        shift += 7;
    }
    *pp = p;
    return v;
}


/* Room for n more bytes at the end of b; NULL once b is out of memory (the
 * buffer then drops everything and the caller reports QV_NOMEM at the end). */
static inline uint8_t *room(qv_buf *b, size_t n)
{
    if (b->cap - b->len <= n && !qv_buf_reserve(b, n))
        return NULL;
    return (uint8_t *)b->data + b->len;
}

static inline void put_bytes(qv_buf *b, const void *src, size_t n)
{
    uint8_t *p = room(b, n);
    if (p) {
        memcpy(p, src, n);
        b->len += n;
    }
}

static inline void put_byte(qv_buf *b, uint8_t c)
{
    uint8_t *p = room(b, 1);
    if (p) {
        *p = c;
        b->len++;
    }
}

static inline void finish(qv_buf *b)
{
    if (!b->oom && b->cap)
        b->data[b->len] = '\0';
}

/* ---- writing values ------------------------------------------------------- */

static inline void w_int(qv_buf *b, int64_t v)
{
    uint8_t *p = room(b, 11);
    if (!p)
        return;
    if (v >= 0 && v < 64) {
        *p = (uint8_t)(T_SMALLINT + v);
        b->len++;
    } else {
        *p = T_INT;
        b->len += 1 + put_varint(p + 1, zz_enc(v));
    }
}

static inline void w_uint(qv_buf *b, uint64_t v)
{
    if (v <= INT64_MAX) {
        w_int(b, (int64_t)v);
        return;
    }
    uint8_t *p = room(b, 9);
    if (p) {
        *p = T_UINT;
        qv_put_le64(p + 1, v);
        b->len += 9;
    }
}

/* Smallest exact form: integral values as a varint, float32-exact values in
 * 4 bytes; -0.0 keeps its sign through the 8-byte form. */
static inline void w_f64(qv_buf *b, double d)
{
    uint8_t *p = room(b, 11);
    if (!p)
        return;
    if (d > -281474976710656.0 && d < 281474976710656.0 && d == (double)(int64_t)d &&
        !(d == 0 && signbit(d))) {
        *p = T_FINT;
        b->len += 1 + put_varint(p + 1, zz_enc((int64_t)d));
    } else if (fabs(d) <= FLT_MAX && (double)(float)d == d) {
        float f = (float)d;
        *p = T_F32;
        qv_put_lef32(p + 1, f);
        b->len += 5;
    } else {
        *p = T_F64;
        uint64_t bits;
        memcpy(&bits, &d, 8);
        qv_put_le64(p + 1, bits);
        b->len += 9;
    }
}

static inline void w_str(qv_buf *b, const char *s, size_t n)
{
    uint8_t *p = room(b, 11 + n);
    if (!p)
        return;
    if (n < 64) {
        *p++ = (uint8_t)(T_SHORTSTR + n);
        b->len++;
    } else {
        *p = T_STR;
        size_t h = 1 + put_varint(p + 1, n);
        p += h;
        b->len += h;
    }
    memcpy(p, s, n);
    b->len += n;
}

static inline void w_key(qv_buf *b, const char *k, size_t n)
{
    uint8_t *p = room(b, 10 + n);
    if (!p)
        return;
    size_t h = put_varint(p, n);
    memcpy(p + h, k, n);
    b->len += h + n;
}

/* Open a container: reserve tag + 1 size byte; returns the body offset. */
static inline size_t w_open(qv_buf *b)
{
    if (room(b, 2))
        b->len += 2;
    return b->len;
}

/* Close the container whose body starts at offset body: write the real
 * header, moving the body when it needs more than the 2 reserved bytes. */
static inline void w_close(qv_buf *b, size_t body, uint8_t base, uint64_t count)
{
    if (b->oom)
        return;
    size_t size = b->len - body;
    uint8_t hdr[21];
    size_t h = 0;
    if (count <= PL_INLINE_MAX) {
        hdr[h++] = (uint8_t)(base + count);
    } else {
        hdr[h++] = (uint8_t)(base + PL_COUNT_ESC);
        h += put_varint(hdr + h, count);
    }
    h += put_varint(hdr + h, size);
    if (h > 2) {
        if (!room(b, h - 2))
            return;
        memmove(b->data + body - 2 + h, b->data + body, size);
        b->len += h - 2;
    }
    memcpy(b->data + body - 2, hdr, h);
}

/* ---- reading (trusted blobs) ----------------------------------------------- */

/* Container header at p: element count and body; returns the body start. */
static inline const uint8_t *rd_cont(const uint8_t *p, uint64_t *count, uint64_t *size)
{
    uint8_t t = *p++;
    uint64_t c = t & 0x1f;
    if (c == PL_COUNT_ESC)
        c = get_varint(&p);
    *count = c;
    *size = get_varint(&p);
    return p;
}

/* Pointer just past the value at p: O(1) for every type. */
static inline const uint8_t *skip(const uint8_t *p)
{
    uint8_t t = *p;
    if (t >= T_ARR) {
        uint64_t c, s;
        const uint8_t *body = rd_cont(p, &c, &s);
        return body + s;
    }
    if (t >= T_SHORTSTR)
        return p + 1 + (t - T_SHORTSTR);
    if (t >= T_SMALLINT)
        return p + 1;
    p++;
    switch (t) {
    case T_F64:
    case T_UINT: return p + 8;
    case T_F32: return p + 4;
    case T_INT:
    case T_FINT: get_varint(&p); return p;
    case T_STR: {
        uint64_t n = get_varint(&p);
        return p + n;
    }
    default: return p; /* null, false, true */
    }
}

/* Decode the value at p into v; returns the pointer past it. */
static inline const uint8_t *decode(const uint8_t *p, pl_value *v)
{
    const uint8_t *start = p;
    uint8_t t = *p;
    v->raw = start;
    if (t >= T_ARR) {
        uint64_t c, s;
        const uint8_t *body = rd_cont(p, &c, &s);
        v->type = t >= T_OBJ ? PL_OBJECT : PL_ARRAY;
        v->len = (size_t)c;
        v->raw_len = (size_t)(body + s - start);
        return body + s;
    }
    if (t >= T_SHORTSTR) {
        v->type = PL_STRING;
        v->s = (const char *)p + 1;
        v->len = t - T_SHORTSTR;
        p += 1 + v->len;
        v->raw_len = (size_t)(p - start);
        return p;
    }
    if (t >= T_SMALLINT) {
        v->type = PL_INT;
        v->i = t - T_SMALLINT;
        v->raw_len = 1;
        return p + 1;
    }
    p++;
    switch (t) {
    case T_NULL: v->type = PL_NULL; break;
    case T_FALSE: v->type = PL_FALSE; break;
    case T_TRUE: v->type = PL_TRUE; break;
    case T_F64:
        v->type = PL_FLOAT;
        uint64_t bits = qv_get_le64(p);
        memcpy(&v->d, &bits, 8);
        p += 8;
        break;
    case T_F32: {
        v->type = PL_FLOAT;
        v->d = qv_get_lef32(p);
        p += 4;
        break;
    }
    case T_FINT:
        v->type = PL_FLOAT;
        v->d = (double)zz_dec(get_varint(&p));
        break;
    case T_INT:
        v->type = PL_INT;
        v->i = zz_dec(get_varint(&p));
        break;
    case T_UINT:
        v->type = PL_UINT;
        v->u = qv_get_le64(p);
        p += 8;
        break;
    default: { /* T_STR */
        uint64_t n = get_varint(&p);
        v->type = PL_STRING;
        v->s = (const char *)p;
        v->len = (size_t)n;
        p += n;
        break;
    }
    }
    v->raw_len = (size_t)(p - start);
    return p;
}

static inline bool is_obj(const uint8_t *p) { return p && *p >= T_OBJ; }
static inline bool is_arr(const uint8_t *p) { return p && *p >= T_ARR && *p < T_OBJ; }

/* Member key at p (an object body position): returns the value position. */
static inline const uint8_t *rd_key(const uint8_t *p, const char **key, size_t *len)
{
    uint64_t n = get_varint(&p);
    *key = (const char *)p;
    *len = (size_t)n;
    return p + n;
}

#endif
