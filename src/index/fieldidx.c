/*
 * fieldidx.c — payload field indexes (see fieldidx.h).
 *
 * Layout of the pieces, bottom up:
 *   fx_set   the ordered set of (hi, lo) pairs: blocks of FIDX_BLK pairs,
 *            a directory (block pointers + each block's first pair);
 *   fx_dict  strings -> dense ids with a pair count (keyword, uuid, text);
 *   bitmaps  per slot: has an indexed value / holds an "other" value;
 *   extract  the pairs a payload blob gives for this index;
 *   update   diff of old and new pairs applied to the set;
 *   answer   conditions -> runs and ranges of the set (+ the others);
 *   out      facets and order_by iteration.
 */
#include "index/fieldidx.h"

#include "util/bitset.h"
#include "util/datetime.h"
#include "util/hash.h"
#include "util/pointid.h"
#include "util/utf8.h"

#include <assert.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

/* Tests include this file to fail allocations on purpose. */
#ifndef FX_ALLOC
#define FX_ALLOC(size)        malloc(size)
#define FX_REALLOC(p, size)   realloc(p, size)
#endif

/* ---- the ordered set ------------------------------------------------------------- */

typedef struct fx_ent {
    uint64_t hi, lo;
} fx_ent;

typedef struct fx_blk {
    uint32_t n;
    fx_ent   e[FIDX_BLK];
} fx_blk;

typedef struct fx_set {
    fx_blk  **b;
    fx_ent   *first;  /* first[i] == b[i]->e[0] */
    uint32_t  nb, cap;
    uint64_t  n;      /* pairs */
} fx_set;

/* A position: block b, pair i; b >= nb is the end. */
typedef struct fx_pos {
    uint32_t b, i;
} fx_pos;

static inline bool ent_lt(fx_ent a, fx_ent b) { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo); }
static inline bool ent_eq(fx_ent a, fx_ent b) { return a.hi == b.hi && a.lo == b.lo; }

/* The block that holds e or would: the last whose first pair <= e (0 if none). */
static uint32_t set_block(const fx_set *s, fx_ent e)
{
    uint32_t lo = 0, hi = s->nb;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ent_lt(e, s->first[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo ? lo - 1 : 0;
}

/* First index in k with pair >= e. */
static uint32_t blk_lower(const fx_blk *k, fx_ent e)
{
    uint32_t lo = 0, hi = k->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ent_lt(k->e[mid], e))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Position of the first pair >= e. */
static fx_pos set_seek(const fx_set *s, fx_ent e)
{
    fx_pos p = {0, 0};
    if (!s->nb)
        return p;
    p.b = set_block(s, e);
    p.i = blk_lower(s->b[p.b], e);
    if (p.i == s->b[p.b]->n) {
        p.b++;
        p.i = 0;
    }
    return p;
}

static inline bool pos_end(const fx_set *s, fx_pos p) { return p.b >= s->nb; }
static inline fx_ent pos_get(const fx_set *s, fx_pos p) { return s->b[p.b]->e[p.i]; }

static inline void pos_next(const fx_set *s, fx_pos *p)
{
    if (++p->i == s->b[p->b]->n) {
        p->b++;
        p->i = 0;
    }
}

/* Step back; false (p unchanged) at the first pair. */
static inline bool pos_prev(const fx_set *s, fx_pos *p)
{
    if (p->i) {
        p->i--;
        return true;
    }
    if (!p->b)
        return false;
    p->b--;
    p->i = s->b[p->b]->n - 1;
    return true;
}

/* Pairs in [a, z) (zinf: to the end): whole blocks are added, not visited. */
static uint64_t set_count(const fx_set *s, fx_ent a, fx_ent z, bool zinf)
{
    if (!zinf && !ent_lt(a, z))
        return 0;
    fx_pos p = set_seek(s, a), q = zinf ? (fx_pos){s->nb, 0} : set_seek(s, z);
    if (p.b == q.b)
        return q.i > p.i ? q.i - p.i : 0;
    uint64_t c = s->b[p.b]->n - p.i;
    for (uint32_t b = p.b + 1; b < q.b; b++)
        c += s->b[b]->n;
    return c + (q.b < s->nb ? q.i : 0);
}

static bool dir_reserve(fx_set *s)
{
    if (s->nb < s->cap)
        return true;
    uint32_t cap = s->cap ? s->cap * 2 : 8;
    fx_blk **b = FX_REALLOC(s->b, cap * sizeof *b);
    if (!b)
        return false;
    s->b = b;
    fx_ent *f = FX_REALLOC(s->first, cap * sizeof *f);
    if (!f)
        return false;
    s->first = f;
    s->cap = cap;
    return true;
}

static void dir_insert(fx_set *s, uint32_t at, fx_blk *k, fx_ent first)
{
    memmove(s->b + at + 1, s->b + at, (s->nb - at) * sizeof *s->b);
    memmove(s->first + at + 1, s->first + at, (s->nb - at) * sizeof *s->first);
    s->b[at] = k;
    s->first[at] = first;
    s->nb++;
}

static void dir_remove(fx_set *s, uint32_t at)
{
    free(s->b[at]);
    memmove(s->b + at, s->b + at + 1, (s->nb - at - 1) * sizeof *s->b);
    memmove(s->first + at, s->first + at + 1, (s->nb - at - 1) * sizeof *s->first);
    s->nb--;
}

/*
 * Add e: 1 added, 0 already there, -1 out of memory (the set unchanged).
 * A full block splits in half, except when e goes past the block's last
 * pair: then a new block starts with it, so runs that grow at their end
 * (new slots of a value, growing timestamps) fill blocks completely.
 */
static int set_insert(fx_set *s, fx_ent e)
{
    if (!s->nb) {
        if (!dir_reserve(s))
            return -1;
        fx_blk *k = FX_ALLOC(sizeof *k);
        if (!k)
            return -1;
        k->n = 0;
        dir_insert(s, 0, k, e);
    }
    uint32_t bi = set_block(s, e);
    fx_blk *k = s->b[bi];
    uint32_t i = blk_lower(k, e);
    if (i < k->n && ent_eq(k->e[i], e))
        return 0;
    if (k->n == FIDX_BLK) {
        if (!dir_reserve(s))
            return -1;
        fx_blk *r = FX_ALLOC(sizeof *r);
        if (!r)
            return -1;
        if (i == k->n) {
            r->n = 0;
            dir_insert(s, bi + 1, r, e);
            k = r;
            bi++;
            i = 0;
        } else {
            uint32_t half = FIDX_BLK / 2;
            r->n = k->n - half;
            memcpy(r->e, k->e + half, r->n * sizeof(fx_ent));
            k->n = half;
            dir_insert(s, bi + 1, r, r->e[0]);
            if (i >= half) {
                k = r;
                bi++;
                i -= half;
            }
        }
    }
    memmove(k->e + i + 1, k->e + i, (k->n - i) * sizeof(fx_ent));
    k->e[i] = e;
    k->n++;
    if (i == 0)
        s->first[bi] = e;
    s->n++;
    return 1;
}

/* Remove e; false if absent. Never allocates. A block under a quarter full
 * merges with a neighbour when both fit in three quarters of a block. */
static bool set_erase(fx_set *s, fx_ent e)
{
    if (!s->nb)
        return false;
    uint32_t bi = set_block(s, e);
    fx_blk *k = s->b[bi];
    uint32_t i = blk_lower(k, e);
    if (i >= k->n || !ent_eq(k->e[i], e))
        return false;
    memmove(k->e + i, k->e + i + 1, (k->n - i - 1) * sizeof(fx_ent));
    k->n--;
    s->n--;
    if (!k->n) {
        dir_remove(s, bi);
        return true;
    }
    if (i == 0)
        s->first[bi] = k->e[0];
    if (k->n < FIDX_BLK / 4) {
        if (bi + 1 < s->nb && k->n + s->b[bi + 1]->n <= FIDX_BLK * 3 / 4) {
            fx_blk *r = s->b[bi + 1];
            memcpy(k->e + k->n, r->e, r->n * sizeof(fx_ent));
            k->n += r->n;
            dir_remove(s, bi + 1);
        } else if (bi > 0 && k->n + s->b[bi - 1]->n <= FIDX_BLK * 3 / 4) {
            fx_blk *l = s->b[bi - 1];
            memcpy(l->e + l->n, k->e, k->n * sizeof(fx_ent));
            l->n += k->n;
            dir_remove(s, bi);
        }
    }
    return true;
}

static void set_free(fx_set *s)
{
    for (uint32_t i = 0; i < s->nb; i++)
        free(s->b[i]);
    free(s->b);
    free(s->first);
    memset(s, 0, sizeof *s);
}

/* ---- the dictionary ----------------------------------------------------------------- */

typedef struct fx_word {
    char    *s;      /* NULL: a free id, next free in `count` */
    uint32_t len;
    uint32_t count;  /* pairs with this id */
    uint64_t hash;
} fx_word;

typedef struct fx_dict {
    fx_word  *w;
    uint32_t  nw, capw;
    uint32_t  free_id;   /* UINT32_MAX: none */
    uint32_t *tab;       /* id + 1, 0 empty; linear probing */
    uint32_t  tcap;      /* power of two */
    uint32_t  live;
    size_t    bytes;     /* string bytes held */
} fx_dict;

/* The id of s, or UINT32_MAX. */
static uint32_t dict_find(const fx_dict *d, const char *s, size_t len)
{
    if (!d->tcap)
        return UINT32_MAX;
    uint64_t h = qv_hash_bytes(s, len);
    for (uint32_t j = (uint32_t)h & (d->tcap - 1);; j = (j + 1) & (d->tcap - 1)) {
        uint32_t t = d->tab[j];
        if (!t)
            return UINT32_MAX;
        const fx_word *w = &d->w[t - 1];
        if (w->hash == h && w->len == len && memcmp(w->s, s, len) == 0)
            return t - 1;
    }
}

static bool dict_rehash(fx_dict *d, uint32_t tcap)
{
    uint32_t *tab = calloc(tcap, sizeof *tab);
    if (!tab)
        return false;
    for (uint32_t id = 0; id < d->nw; id++) {
        if (!d->w[id].s)
            continue;
        uint32_t j = (uint32_t)d->w[id].hash & (tcap - 1);
        while (tab[j])
            j = (j + 1) & (tcap - 1);
        tab[j] = id + 1;
    }
    free(d->tab);
    d->tab = tab;
    d->tcap = tcap;
    return true;
}

/* The id of s, added (count 0) if absent; UINT32_MAX when out of memory. */
static uint32_t dict_add(fx_dict *d, const char *s, size_t len)
{
    uint32_t id = dict_find(d, s, len);
    if (id != UINT32_MAX)
        return id;
    if (len > UINT32_MAX)
        return UINT32_MAX;
    if ((uint64_t)(d->live + 1) * 4 > (uint64_t)d->tcap * 3 &&
        !dict_rehash(d, d->tcap ? d->tcap * 2 : 64))
        return UINT32_MAX;
    if (d->free_id == UINT32_MAX && d->nw == d->capw) {
        uint32_t cap = d->capw ? d->capw * 2 : 64;
        fx_word *w = FX_REALLOC(d->w, cap * sizeof *w);
        if (!w)
            return UINT32_MAX;
        d->w = w;
        d->capw = cap;
    }
    char *copy = FX_ALLOC(len ? len : 1);
    if (!copy)
        return UINT32_MAX;
    memcpy(copy, s, len);
    if (d->free_id != UINT32_MAX) {
        id = d->free_id;
        d->free_id = d->w[id].count;
    } else {
        id = d->nw++;
    }
    uint64_t h = qv_hash_bytes(s, len);
    d->w[id] = (fx_word){copy, (uint32_t)len, 0, h};
    uint32_t j = (uint32_t)h & (d->tcap - 1);
    while (d->tab[j])
        j = (j + 1) & (d->tcap - 1);
    d->tab[j] = id + 1;
    d->live++;
    d->bytes += len;
    return id;
}

/* Drop id (its count is 0): backward-shift deletion keeps probe chains whole. */
static void dict_drop(fx_dict *d, uint32_t id)
{
    uint32_t mask = d->tcap - 1, j = (uint32_t)d->w[id].hash & mask;
    while (d->tab[j] != id + 1)
        j = (j + 1) & mask;
    for (uint32_t k = (j + 1) & mask; d->tab[k]; k = (k + 1) & mask) {
        uint32_t home = (uint32_t)d->w[d->tab[k] - 1].hash & mask;
        /* The entry at k may move to j if its home is not in (j, k]. */
        if ((k > j && (home <= j || home > k)) || (k < j && home <= j && home > k)) {
            d->tab[j] = d->tab[k];
            j = k;
        }
    }
    d->tab[j] = 0;
    d->bytes -= d->w[id].len;
    free(d->w[id].s);
    d->w[id].s = NULL;
    d->w[id].count = d->free_id;
    d->free_id = id;
    d->live--;
}

static void dict_free(fx_dict *d)
{
    for (uint32_t i = 0; i < d->nw; i++)
        free(d->w[i].s);
    free(d->w);
    free(d->tab);
    memset(d, 0, sizeof *d);
    d->free_id = UINT32_MAX;
}

/* ---- bitmaps over slots ------------------------------------------------------------------ */

typedef struct fx_bits {
    uint64_t *w;
    size_t    nw;
    uint64_t  count;  /* bits set */
} fx_bits;

static bool bits_reserve(fx_bits *b, uint32_t slot)
{
    size_t need = qv_bits_words((size_t)slot + 1);
    if (need <= b->nw)
        return true;
    size_t nw = b->nw ? b->nw : 16;
    while (nw < need)
        nw *= 2;
    uint64_t *w = FX_REALLOC(b->w, nw * sizeof *w);
    if (!w)
        return false;
    memset(w + b->nw, 0, (nw - b->nw) * sizeof *w);
    b->w = w;
    b->nw = nw;
    return true;
}

/* slot must be reserved. */
static void bits_put(fx_bits *b, uint32_t slot, bool on)
{
    if (qv_bit_put(b->w, slot, on))
        b->count += on ? 1 : (uint64_t)-1;
}

static void bits_free(fx_bits *b)
{
    free(b->w);
    memset(b, 0, sizeof *b);
}

/* ---- datetimes ---- */

typedef struct fx_time {
    int64_t sec;
    int64_t nsec;
} fx_time;

/* One grammar for the whole engine (util/datetime.h). */
static bool parse_datetime(const char *s, size_t len, fx_time *out)
{
    return qv_datetime_parse(s, len, &out->sec, &out->nsec);
}

/* ---- the index ------------------------------------------------------------------------ */

/* A growable array of pairs (scratch of an update). */
typedef struct fx_vec {
    fx_ent *e;
    size_t  n, cap;
} fx_vec;

struct fidx {
    fidx_params p;
    pl_path     key;
    fx_set      set;
    fx_dict     dict;     /* KEYWORD, UUID, TEXT */
    fx_bits     has;      /* slots with an indexed value */
    fx_bits     other;    /* see extract(): values the index does not hold */
    fx_bits     other2;   /* INTEGER: u64 / float values (candidates of a range) */
    bool        broken;
    fx_vec      vold, vnew;
};

static const char *const type_names[] = {"keyword", "integer", "float", "bool",
                                         "geo",     "datetime", "text", "uuid"};

const char *fidx_type_name(fidx_type type) { return type_names[type]; }

bool fidx_type_from_name(const char *name, size_t len, fidx_type *out)
{
    for (int t = 0; t < 8; t++) {
        if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0) {
            *out = (fidx_type)t;
            return true;
        }
    }
    return false;
}

void fidx_params_default(fidx_type type, fidx_params *out)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    out->lookup = out->range = true;
    out->lowercase = true;
}

qv_status fidx_new(const pl_path *key, const fidx_params *params, fidx **out)
{
    fidx *x = calloc(1, sizeof *x);
    if (!x)
        return QV_NOMEM;
    x->p = *params;
    x->dict.free_id = UINT32_MAX;
    /* One allocation for the steps, the keys and the text. */
    size_t tlen = strlen(key->text), size = key->n * sizeof(pl_step) + tlen + 1;
    for (uint32_t i = 0; i < key->n; i++)
        size += key->steps[i].kind == PL_KEY ? key->steps[i].key_len + 1 : 0;
    char *mem = malloc(size);
    if (!mem) {
        free(x);
        return QV_NOMEM;
    }
    pl_step *steps = (pl_step *)mem;
    char *q = mem + key->n * sizeof(pl_step);
    memcpy(steps, key->steps, key->n * sizeof(pl_step));
    for (uint32_t i = 0; i < key->n; i++) {
        if (steps[i].kind != PL_KEY)
            continue;
        memcpy(q, key->steps[i].key, steps[i].key_len);
        q[steps[i].key_len] = '\0';
        steps[i].key = q;
        q += steps[i].key_len + 1;
    }
    memcpy(q, key->text, tlen + 1);
    x->key = (pl_path){key->n, steps, q};
    *out = x;
    return QV_OK;
}

void fidx_clear(fidx *x)
{
    set_free(&x->set);
    dict_free(&x->dict);
    bits_free(&x->has);
    bits_free(&x->other);
    bits_free(&x->other2);
    free(x->vold.e);
    free(x->vnew.e);
    memset(&x->vold, 0, sizeof x->vold);
    memset(&x->vnew, 0, sizeof x->vnew);
    x->broken = false;
}

void fidx_free(fidx *x)
{
    if (!x)
        return;
    fidx_clear(x);
    free((void *)x->key.steps);
    free(x);
}

const fidx_params *fidx_get_params(const fidx *x) { return &x->p; }
const pl_path *fidx_key(const fidx *x) { return &x->key; }
bool fidx_broken(const fidx *x) { return x->broken; }
uint64_t fidx_points(const fidx *x) { return x->has.count; }

size_t fidx_memory(const fidx *x)
{
    return sizeof *x + (size_t)x->set.nb * sizeof(fx_blk) +
           (size_t)x->set.cap * (sizeof(fx_blk *) + sizeof(fx_ent)) +
           (size_t)x->dict.capw * sizeof(fx_word) + (size_t)x->dict.tcap * sizeof(uint32_t) +
           x->dict.bytes + (x->has.nw + x->other.nw + x->other2.nw) * sizeof(uint64_t) +
           (x->vold.cap + x->vnew.cap) * sizeof(fx_ent);
}

/* ---- encodings: values to order keys ---- */

static inline uint64_t enc_i64(int64_t i) { return (uint64_t)i ^ (1ull << 63); }
static inline int64_t dec_i64(uint64_t h) { return (int64_t)(h ^ (1ull << 63)); }

/* Order-preserving for every non-NaN double; -0.0 is taken as 0.0 (they
 * compare equal in a range). */
static inline uint64_t enc_f64(double d)
{
    if (d == 0)
        d = 0;
    uint64_t b;
    memcpy(&b, &d, 8);
    return b >> 63 ? ~b : b | (1ull << 63);
}

static inline double dec_f64(uint64_t h)
{
    uint64_t b = h >> 63 ? h & ~(1ull << 63) : ~h;
    double d;
    memcpy(&d, &b, 8);
    return d;
}

/* Geo grid: 4096 x 4096 cells over lat/lon (about 5 x 10 km at the
 * equator); hi = lat cell << 12 | lon cell, so a row of cells is one range. */
#define GEO_BITS  12
#define GEO_CELLS (1u << GEO_BITS)

static uint32_t geo_cell(double v, double lo, double span)
{
    double c = floor((v - lo) / span * GEO_CELLS);
    return c < 0 ? 0 : c >= GEO_CELLS ? GEO_CELLS - 1 : (uint32_t)c;
}

/* ---- tokenizer ---- */

static locale_t       fx_loc;
static pthread_once_t fx_loc_once = PTHREAD_ONCE_INIT;
static void           fx_loc_init(void) { fx_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

/* Rust's char::is_alphanumeric: glibc's iswalnum in C.UTF-8 plus the
 * numbers of category No it leaves out (as pl.c does for key paths). */
static bool unicode_alnum(uint32_t cp)
{
    if (cp < 0x80)
        return ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') || (cp >= '0' && cp <= '9');
    if (cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE) ||
        (cp >= 0x2070 && cp <= 0x2089) || (cp >= 0x2150 && cp <= 0x2189) ||
        (cp >= 0x2460 && cp <= 0x249B) || (cp >= 0x24EA && cp <= 0x24FF) ||
        (cp >= 0x2776 && cp <= 0x2793))
        return true;
    pthread_once(&fx_loc_once, fx_loc_init);
    return fx_loc ? iswalnum_l((wint_t)cp, fx_loc) != 0 : false;
}

static uint32_t lower_cp(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    pthread_once(&fx_loc_once, fx_loc_init);
    return fx_loc ? (uint32_t)towlower_l((wint_t)cp, fx_loc) : cp;
}

/* One UTF-8 char at s (n > 0 bytes left) into *cp; its length. Invalid
 * bytes decode as U+FFFD of length 1 (not alphanumeric: a separator). */
static inline size_t char_at(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t k = qv_utf8_decode((const char *)s, n, cp);
    if (k)
        return k;
    *cp = 0xFFFD;
    return 1;
}

bool fidx_tokenize(const fidx_params *p, const char *s, size_t len,
                   bool (*fn)(void *ctx, const char *tok, size_t len), void *ctx)
{
    const unsigned char *q = (const unsigned char *)s, *e = q + len;
    char stack[256], *buf = stack;
    size_t cap = sizeof stack;
    bool ok = true;
    while (q < e && ok) {
        uint32_t cp;
        size_t k = char_at(q, (size_t)(e - q), &cp);
        if (!unicode_alnum(cp)) {
            q += k;
            continue;
        }
        size_t n = 0, chars = 0;
        while (q < e) {
            k = char_at(q, (size_t)(e - q), &cp);
            if (!unicode_alnum(cp))
                break;
            if (n + 4 > cap) {
                char *nb = malloc(cap * 2);
                if (!nb) {
                    ok = false;
                    break;
                }
                memcpy(nb, buf, n);
                if (buf != stack)
                    free(buf);
                buf = nb;
                cap *= 2;
            }
            n += qv_utf8_encode(p->lowercase ? lower_cp(cp) : cp, buf + n);
            chars++;
            q += k;
        }
        if (!ok)
            break;
        if ((p->min_token_len && chars < p->min_token_len) ||
            (p->max_token_len && chars > p->max_token_len))
            continue;
        ok = fn(ctx, buf, n);
    }
    if (buf != stack)
        free(buf);
    return ok;
}

/* ---- extraction: the pairs of a blob ---- */

typedef struct fx_ext {
    fidx    *x;
    fx_vec  *v;
    uint32_t slot;
    bool     create;   /* add unknown strings to the dictionary (new blob) */
    bool     other, other2;
    bool     fail;
} fx_ext;

static bool vec_push(fx_ext *c, uint64_t hi, uint64_t lo)
{
    fx_vec *v = c->v;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        fx_ent *e = FX_REALLOC(v->e, cap * sizeof *e);
        if (!e) {
            c->fail = true;
            return false;
        }
        v->e = e;
        v->cap = cap;
    }
    v->e[v->n++] = (fx_ent){hi, lo};
    return true;
}

/* A string's dictionary id as a pair; an unknown string of an old blob
 * has no pair to remove. */
static bool push_word(void *ctx, const char *s, size_t len)
{
    fx_ext *c = ctx;
    uint32_t id = c->create ? dict_add(&c->x->dict, s, len) : dict_find(&c->x->dict, s, len);
    if (id == UINT32_MAX) {
        if (c->create)
            c->fail = true;
        return !c->fail;
    }
    return vec_push(c, id, c->slot);
}



/*
 * One value (an element of a yielded array, or a yielded non-array). An
 * "other" is a value the index does not hold but some answered test could
 * match: keyword/uuid any non-null non-string (match.except), integer any
 * non-null non-i64 (except; other2: u64 and floats, for range), geo a geo
 * point outside -180..180 / -90..90 (kept out of the grid). Values no
 * answered test can match (a string at a float key) are ignored.
 */
static bool is_uuid_text(const char *p, size_t len)
{
    qv_point_id id;
    return pid_parse_uuid(p, len, &id);
}

/* Every string of a test is a UUID (a uuid index can answer it). */
static bool all_uuid_strings(const fidx_test *t)
{
    if (t->kind == FLT_TEST_MATCH_VALUE)
        return t->u.value.type == PL_STRING && is_uuid_text(t->u.value.s.p, t->u.value.s.len);
    for (uint32_t i = 0; i < t->u.set.n; i++)
        if (!is_uuid_text(t->u.set.s[i].p, t->u.set.s[i].len))
            return false;
    return true;
}

static void ext_value(fx_ext *c, const pl_value *v)
{
    fidx *x = c->x;
    double d, lon = 0, lat = 0;
    switch (x->p.type) {
    case FIDX_KEYWORD:
    case FIDX_UUID:
        /* A uuid index holds UUID strings only (as Qdrant's): other strings
         * are "others", like numbers. Strings are kept as written, so an
         * answer equals the scan's string comparison. */
        if (v->type == PL_STRING && (x->p.type == FIDX_KEYWORD || is_uuid_text(v->s, v->len)))
            push_word(c, v->s, v->len);
        else if (v->type != PL_NULL)
            c->other = true;
        break;
    case FIDX_TEXT:
        if (v->type == PL_STRING && !fidx_tokenize(&x->p, v->s, v->len, push_word, c))
            c->fail = true;
        break;
    case FIDX_INTEGER:
        if (v->type == PL_INT) {
            vec_push(c, enc_i64(v->i), c->slot);
        } else if (v->type != PL_NULL) {
            c->other = true;
            c->other2 = c->other2 || v->type == PL_UINT || v->type == PL_FLOAT;
        }
        break;
    case FIDX_FLOAT:
        if (pl_as_f64(v, &d) && !isnan(d))
            vec_push(c, enc_f64(d), c->slot);
        break;
    case FIDX_BOOL:
        if (v->type == PL_TRUE || v->type == PL_FALSE)
            vec_push(c, v->type == PL_TRUE, c->slot);
        break;
    case FIDX_DATETIME: {
        fx_time t;
        if (v->type == PL_STRING && parse_datetime(v->s, v->len, &t))
            vec_push(c, enc_i64(t.sec), (uint64_t)t.nsec << 32 | c->slot);
        break;
    }
    case FIDX_GEO:
        if (!pl_geo_point(v, &lon, &lat))
            break;
        if (lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90)
            vec_push(c, geo_cell(lat, -90, 180) << GEO_BITS | geo_cell(lon, -180, 360), c->slot);
        else
            c->other = true;
        break;
    }
}

static bool ext_cb(void *ctx, const pl_value *v)
{
    fx_ext *c = ctx;
    if (v->type == PL_ARRAY) {
        pl_iter it;
        pl_value e;
        pl_iter_init(&it, v);
        while (!c->fail && pl_iter_next_elem(&it, &e))
            ext_value(c, &e);
    } else {
        ext_value(c, v);
    }
    return !c->fail;
}

static int cmp_ent(const void *a, const void *b)
{
    const fx_ent *p = a, *q = b;
    return ent_lt(*p, *q) ? -1 : ent_lt(*q, *p) ? 1 : 0;
}

/* Sorted, distinct pairs of blob into v; false when out of memory. */
static bool extract(fidx *x, uint32_t slot, const uint8_t *blob, size_t len, bool create,
                    fx_vec *v, bool *other, bool *other2)
{
    fx_ext c = {x, v, slot, create, false, false, false};
    v->n = 0;
    if (blob)
        pl_lookup(blob, len, &x->key, ext_cb, &c);
    if (c.fail)
        return false;
    if (v->n > 1) {
        qsort(v->e, v->n, sizeof *v->e, cmp_ent);
        size_t k = 1;
        for (size_t i = 1; i < v->n; i++)
            if (!ent_eq(v->e[i], v->e[k - 1]))
                v->e[k++] = v->e[i];
        v->n = k;
    }
    *other = c.other;
    *other2 = c.other2;
    return true;
}

static bool has_dict(const fidx *x)
{
    return x->p.type == FIDX_KEYWORD || x->p.type == FIDX_UUID || x->p.type == FIDX_TEXT;
}

/*
 * Remove the pairs of old missing from new, add those of new missing from
 * old. Erasing never allocates; an insert that fails leaves the set
 * consistent but incomplete, so the index turns broken.
 */
void fidx_update(fidx *x, uint32_t slot, const uint8_t *old_blob, size_t old_len,
                 const uint8_t *new_blob, size_t new_len)
{
    bool o1, o2, n1, n2;
    if (x->broken)
        return;
    if (!bits_reserve(&x->has, slot) || !bits_reserve(&x->other, slot) ||
        !bits_reserve(&x->other2, slot) ||
        !extract(x, slot, old_blob, old_len, false, &x->vold, &o1, &o2) ||
        !extract(x, slot, new_blob, new_len, true, &x->vnew, &n1, &n2))
        goto fail;
    const fx_vec *o = &x->vold, *n = &x->vnew;
    size_t i = 0, j = 0;
    while (i < o->n) {  /* old \ new */
        if (j < n->n && ent_lt(n->e[j], o->e[i])) {
            j++;
        } else if (j < n->n && ent_eq(n->e[j], o->e[i])) {
            i++;
            j++;
        } else {
            fx_ent e = o->e[i++];
            if (set_erase(&x->set, e) && has_dict(x) && --x->dict.w[e.hi].count == 0)
                dict_drop(&x->dict, (uint32_t)e.hi);
        }
    }
    for (i = 0, j = 0; j < n->n;) {  /* new \ old */
        if (i < o->n && ent_lt(o->e[i], n->e[j])) {
            i++;
        } else if (i < o->n && ent_eq(o->e[i], n->e[j])) {
            i++;
            j++;
        } else {
            fx_ent e = n->e[j++];
            int r = set_insert(&x->set, e);
            if (r < 0)
                goto fail;
            if (r > 0 && has_dict(x))
                x->dict.w[e.hi].count++;
        }
    }
    /* Words added for new values but whose pairs already existed keep
     * their counts; a word added with count 0 cannot stay (its pair was
     * inserted above). */
    bits_put(&x->has, slot, n->n > 0);
    bits_put(&x->other, slot, n1);
    bits_put(&x->other2, slot, n2);
    return;
fail:
    x->broken = true;
}

/* ---- answers ----------------------------------------------------------------------------- */

static bool bsearch_str(const fidx_str *set, uint32_t n, const char *s, size_t len)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        size_t m = set[mid].len < len ? set[mid].len : len;
        int c = memcmp(set[mid].p, s, m);
        if (!c)
            c = (set[mid].len > len) - (set[mid].len < len);
        if (!c)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool bsearch_i64(const int64_t *set, uint32_t n, int64_t v)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (set[mid] == v)
            return true;
        if (set[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}


/* What one test gets from x. */
static fidx_answer test_answer(const fidx *x, const fidx_test *t)
{
    switch (x->p.type) {
    case FIDX_UUID:
        /* Strings that are not UUIDs live among the others: only tests
         * whose strings are all UUIDs are answered. */
        if (t->kind == FLT_TEST_MATCH_VALUE || t->kind == FLT_TEST_MATCH_ANY ||
            t->kind == FLT_TEST_MATCH_EXCEPT)
            return (t->kind == FLT_TEST_MATCH_VALUE || !t->u.set.ints) && all_uuid_strings(t)
                       ? FIDX_EXACT
                       : FIDX_NO;
        return FIDX_NO;
    case FIDX_KEYWORD:
        switch (t->kind) {
        case FLT_TEST_MATCH_VALUE: return t->u.value.type == PL_STRING ? FIDX_EXACT : FIDX_NO;
        case FLT_TEST_MATCH_ANY:
        case FLT_TEST_MATCH_EXCEPT: return t->u.set.ints && t->u.set.n ? FIDX_NO : FIDX_EXACT;
        case FLT_TEST_MATCH_TEXT:
        case FLT_TEST_MATCH_TEXT_ANY:
        case FLT_TEST_MATCH_PHRASE:
        case FLT_TEST_MATCH_PREFIX: return FIDX_EXACT;
        default: return FIDX_NO;
        }
    case FIDX_INTEGER:
        switch (t->kind) {
        case FLT_TEST_MATCH_VALUE:
            return x->p.lookup && t->u.value.type == PL_INT ? FIDX_EXACT : FIDX_NO;
        case FLT_TEST_MATCH_ANY:
            return x->p.lookup && (t->u.set.ints || !t->u.set.n) ? FIDX_EXACT : FIDX_NO;
        case FLT_TEST_MATCH_EXCEPT:
            /* a string list: strings not in it are others too */
            return !x->p.lookup ? FIDX_NO
                   : t->u.set.ints || !t->u.set.n ? FIDX_EXACT
                                                  : FIDX_SUPERSET;
        case FLT_TEST_RANGE:
            return !x->p.range ? FIDX_NO : x->other2.count ? FIDX_SUPERSET : FIDX_EXACT;
        default: return FIDX_NO;
        }
    case FIDX_FLOAT: return t->kind == FLT_TEST_RANGE ? FIDX_EXACT : FIDX_NO;
    case FIDX_BOOL:
        return t->kind == FLT_TEST_MATCH_VALUE &&
                       (t->u.value.type == PL_TRUE || t->u.value.type == PL_FALSE)
                   ? FIDX_EXACT
                   : FIDX_NO;
    case FIDX_DATETIME: return t->kind == FLT_TEST_DATETIME_RANGE ? FIDX_EXACT : FIDX_NO;
    case FIDX_GEO:
        return t->kind == FLT_TEST_GEO_BOUNDING_BOX || t->kind == FLT_TEST_GEO_RADIUS ||
                       t->kind == FLT_TEST_GEO_POLYGON
                   ? FIDX_SUPERSET
                   : FIDX_NO;
    case FIDX_TEXT:
        return t->kind == FLT_TEST_MATCH_TEXT || t->kind == FLT_TEST_MATCH_TEXT_ANY ? FIDX_EXACT
                                                                                    : FIDX_NO;
    }
    return FIDX_NO;
}

static fidx_answer cond_answer(const fidx *x, const fidx_cond *c)
{
    if (x->broken || c->flags || !c->n)
        return FIDX_NO;
    fidx_answer a = FIDX_EXACT;
    for (uint32_t i = 0; i < c->n; i++) {
        fidx_answer b = test_answer(x, &c->tests[i]);
        if (b == FIDX_NO)
            return FIDX_NO;
        if (b == FIDX_SUPERSET)
            a = FIDX_SUPERSET;
    }
    return a;
}

/* Counting (estimates) or marking slots in a bitmap (selection). */
typedef struct fx_walk {
    const fidx *x;
    bool        count;
    uint64_t    n;
    uint64_t   *bits;
    size_t      nw;
    bool        fail;
} fx_walk;

static inline void mark(fx_walk *w, uint32_t slot)
{
    if (slot < w->nw * 64)
        qv_bit_set(w->bits, slot);
}

/* Pairs in [a, z) (zinf: to the end). */
static void walk_range(fx_walk *w, fx_ent a, fx_ent z, bool zinf)
{
    const fx_set *s = &w->x->set;
    if (w->count) {
        w->n += set_count(s, a, z, zinf);
        return;
    }
    for (fx_pos p = set_seek(s, a); !pos_end(s, p); pos_next(s, &p)) {
        fx_ent e = pos_get(s, p);
        if (!zinf && !ent_lt(e, z))
            break;
        mark(w, (uint32_t)e.lo);
    }
}

static void walk_run(fx_walk *w, uint64_t hi)
{
    if (w->count && has_dict(w->x)) {
        w->n += w->x->dict.w[hi].count;
        return;
    }
    walk_range(w, (fx_ent){hi, 0}, (fx_ent){hi + 1, 0}, hi == UINT64_MAX);
}

static void walk_bits(fx_walk *w, const fx_bits *b)
{
    if (w->count) {
        w->n += b->count;
        return;
    }
    qv_bits_or(w->bits, b->w, b->nw < w->nw ? b->nw : w->nw);
}

/* First i with (double)i >= b (> b if strict); false if none. (double)i is
 * monotone in i, so the answer is a binary search over all of int64. */
static bool int_from(double b, bool strict, int64_t *out)
{
#define P(i) (strict ? (double)(i) > b : (double)(i) >= b)
    if (!P(INT64_MAX))
        return false;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    while (lo < hi) {
        int64_t mid = (int64_t)((uint64_t)lo + (((uint64_t)hi - (uint64_t)lo) >> 1));
        if (P(mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    *out = lo;
    return true;
#undef P
}

/* Last i with (double)i <= b (< b if strict); false if none. */
static bool int_to(double b, bool strict, int64_t *out)
{
#define Q(i) (strict ? (double)(i) < b : (double)(i) <= b)
    if (!Q(INT64_MIN))
        return false;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    while (lo < hi) {
        uint64_t d = (uint64_t)hi - (uint64_t)lo;
        int64_t mid = (int64_t)((uint64_t)lo + (d >> 1) + (d & 1));
        if (Q(mid))
            lo = mid;
        else
            hi = mid - 1;
    }
    *out = lo;
    return true;
#undef Q
}

/* A range of the set: [a, z), zinf = no upper end; empty = nothing. */
typedef struct fx_range {
    fx_ent a, z;
    bool   zinf, empty;
} fx_range;

static void range_from(fx_range *r, fx_ent a)
{
    if (ent_lt(r->a, a))
        r->a = a;
}

static void range_to(fx_range *r, fx_ent z)
{
    if (r->zinf || ent_lt(z, r->z)) {
        r->z = z;
        r->zinf = false;
    }
}

/* A numeric range of an integer or float index. */
static fx_range num_range(const fidx *x, unsigned has, const double b[4])
{
    fx_range r = {{0, 0}, {0, 0}, true, false};
    if (x->p.type == FIDX_INTEGER) {
        int64_t lo = INT64_MIN, hi = INT64_MAX, v;
        for (int k = 0; k < 4; k++) {
            if (!(has & (1u << k)))
                continue;
            bool upper = k == 0 || k == 2, strict = k < 2;
            if (!(upper ? int_to(b[k], strict, &v) : int_from(b[k], strict, &v))) {
                r.empty = true;
                return r;
            }
            if (upper && v < hi)
                hi = v;
            if (!upper && v > lo)
                lo = v;
        }
        if (lo > hi) {
            r.empty = true;
            return r;
        }
        r.a = (fx_ent){enc_i64(lo), 0};
        if (hi != INT64_MAX)
            range_to(&r, (fx_ent){enc_i64(hi + 1), 0});
        return r;
    }
    for (int k = 0; k < 4; k++) {
        if (!(has & (1u << k)))
            continue;
        uint64_t h = enc_f64(b[k]);
        switch (1u << k) {
        case FIDX_LT: range_to(&r, (fx_ent){h, 0}); break;
        case FIDX_LTE:
            if (h != UINT64_MAX)
                range_to(&r, (fx_ent){h + 1, 0});
            break;
        case FIDX_GT:
            if (h == UINT64_MAX)
                r.empty = true;
            else
                range_from(&r, (fx_ent){h + 1, 0});
            break;
        case FIDX_GTE: range_from(&r, (fx_ent){h, 0}); break;
        }
    }
    return r;
}

static fx_range time_range(const fidx_test *t)
{
    fx_range r = {{0, 0}, {0, 0}, true, false};
    for (int k = 0; k < 4; k++) {
        if (!(t->u.trange.has & (1u << k)))
            continue;
        uint64_t h = enc_i64(t->u.trange.b[k].sec), ns = (uint64_t)t->u.trange.b[k].nsec;
        switch (1u << k) {
        case FIDX_LT: range_to(&r, (fx_ent){h, ns << 32}); break;
        case FIDX_LTE: range_to(&r, (fx_ent){h, (ns + 1) << 32}); break;
        case FIDX_GT: range_from(&r, (fx_ent){h, (ns + 1) << 32}); break;
        case FIDX_GTE: range_from(&r, (fx_ent){h, ns << 32}); break;
        }
    }
    return r;
}

static void walk_fx_range(fx_walk *w, const fx_range *r)
{
    if (!r->empty && (r->zinf || ent_lt(r->a, r->z)))
        walk_range(w, r->a, r->z, r->zinf);
}

/* Cells of lat [la0, la1] x lon [lo0, lo1] (degrees, inclusive). */
static void walk_rect(fx_walk *w, double la0, double la1, double lo0, double lo1)
{
    if (!(la0 <= la1) || !(lo0 <= lo1))
        return;
    uint32_t r0 = geo_cell(la0, -90, 180), r1 = geo_cell(la1, -90, 180);
    uint32_t c0 = geo_cell(lo0, -180, 360), c1 = geo_cell(lo1, -180, 360);
    for (uint32_t r = r0; r <= r1; r++)
        walk_range(w, (fx_ent){(uint64_t)r << GEO_BITS | c0, 0},
                   (fx_ent){((uint64_t)r << GEO_BITS | c1) + 1, 0}, false);
}

/* A lon range that may wrap past +-180. */
static void walk_lon_wrap(fx_walk *w, double la0, double la1, double lo0, double lo1)
{
    if (lo1 - lo0 >= 360) {
        walk_rect(w, la0, la1, -180, 180);
    } else if (lo0 < -180) {
        walk_rect(w, la0, la1, lo0 + 360, 180);
        walk_rect(w, la0, la1, -180, lo1);
    } else if (lo1 > 180) {
        walk_rect(w, la0, la1, lo0, 180);
        walk_rect(w, la0, la1, -180, lo1 - 360);
    } else {
        walk_rect(w, la0, la1, lo0, lo1);
    }
}

#define GEO_MARGIN 1e-6  /* degrees added around every query box */
#define EARTH_R    6371008.8

static void walk_geo(fx_walk *w, const fidx_test *t)
{
    const double m = GEO_MARGIN;
    switch (t->kind) {
    case FLT_TEST_GEO_BOUNDING_BOX: {
        double la0 = t->u.box.br_lat - m, la1 = t->u.box.tl_lat + m;
        if (t->u.box.tl_lon > t->u.box.br_lon) {
            walk_rect(w, la0, la1, t->u.box.tl_lon - m, 180);
            walk_rect(w, la0, la1, -180, t->u.box.br_lon + m);
        } else {
            walk_rect(w, la0, la1, t->u.box.tl_lon - m, t->u.box.br_lon + m);
        }
        break;
    }
    case FLT_TEST_GEO_RADIUS: {
        /* The box around a spherical cap (Matuschek): lat +- d; lon +-
         * asin(sin d / cos lat) unless the cap holds a pole. */
        double r = t->u.circle.radius, lat = t->u.circle.lat, lon = t->u.circle.lon;
        if (!(r > 0))
            break;
        double d = r / EARTH_R, deg = 180.0 / M_PI;
        if (d >= M_PI) {
            walk_rect(w, -90, 90, -180, 180);
            break;
        }
        double la0 = lat - d * deg - m, la1 = lat + d * deg + m;
        if (la0 <= -90 || la1 >= 90) {
            walk_rect(w, la0 < -90 ? -90 : la0, la1 > 90 ? 90 : la1, -180, 180);
            break;
        }
        double s = sin(d) / cos(lat / deg);
        if (s >= 1) {
            walk_rect(w, la0, la1, -180, 180);
            break;
        }
        double dl = asin(s) * deg * (1 + 1e-9) + m;
        walk_lon_wrap(w, la0, la1, lon - dl, lon + dl);
        break;
    }
    case FLT_TEST_GEO_POLYGON: {
        double la0 = 90, la1 = -90, lo0 = 180, lo1 = -180;
        for (uint32_t i = 0; i < t->u.poly.rings[0].n; i++) {
            la0 = fmin(la0, t->u.poly.rings[0].y[i]);
            la1 = fmax(la1, t->u.poly.rings[0].y[i]);
            lo0 = fmin(lo0, t->u.poly.rings[0].x[i]);
            lo1 = fmax(lo1, t->u.poly.rings[0].x[i]);
        }
        walk_rect(w, la0 - m, la1 + m, lo0 - m, lo1 + m);
        break;
    }
    default: break;
    }
    walk_bits(w, &w->x->other);
}

/* Text queries: the ids of the text's tokens. */
typedef struct fx_toks {
    const fidx *x;
    uint32_t   *id;     /* UINT32_MAX: a token the index does not know */
    size_t      n, cap;
    bool        fail;
} fx_toks;

static bool tok_cb(void *ctx, const char *s, size_t len)
{
    fx_toks *t = ctx;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        uint32_t *id = realloc(t->id, cap * sizeof *id);
        if (!id) {
            t->fail = true;
            return false;
        }
        t->id = id;
        t->cap = cap;
    }
    t->id[t->n++] = dict_find(&t->x->dict, s, len);
    return true;
}

static bool pair_in(const fx_set *s, fx_ent e)
{
    fx_pos p = set_seek(s, e);
    return !pos_end(s, p) && ent_eq(pos_get(s, p), e);
}

static void walk_text(fx_walk *w, const fidx_test *t)
{
    const fidx *x = w->x;
    fx_toks tk = {x, NULL, 0, 0, false};
    if (!fidx_tokenize(&x->p, t->text.p, t->text.len, tok_cb, &tk) || tk.fail) {
        w->fail = true;
        goto done;
    }
    if (t->kind == FLT_TEST_MATCH_TEXT_ANY) {
        for (size_t i = 0; i < tk.n; i++) {
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = tk.id[j] == tk.id[i];
            if (tk.id[i] != UINT32_MAX && !dup)
                walk_run(w, tk.id[i]);
        }
        goto done;
    }
    /* all tokens: walk the rarest, keep slots holding every other one */
    if (!tk.n)
        goto done;
    size_t best = 0;
    for (size_t i = 0; i < tk.n; i++) {
        if (tk.id[i] == UINT32_MAX)
            goto done;
        if (x->dict.w[tk.id[i]].count < x->dict.w[tk.id[best]].count)
            best = i;
    }
    if (w->count) {
        w->n += x->dict.w[tk.id[best]].count;
        goto done;
    }
    uint64_t hi = tk.id[best];
    for (fx_pos p = set_seek(&x->set, (fx_ent){hi, 0}); !pos_end(&x->set, p);
         pos_next(&x->set, &p)) {
        fx_ent e = pos_get(&x->set, p);
        if (e.hi != hi)
            break;
        bool all = true;
        for (size_t i = 0; i < tk.n && all; i++)
            all = i == best || pair_in(&x->set, (fx_ent){tk.id[i], e.lo});
        if (all)
            mark(w, (uint32_t)e.lo);
    }
done:
    free(tk.id);
}

/* Whether a dictionary word passes a scan-semantics string test. */
static bool word_passes(const fidx_test *t, const fx_word *wd)
{
    switch (t->kind) {
    case FLT_TEST_MATCH_TEXT:
    case FLT_TEST_MATCH_PHRASE: return pl_contains(wd->s, wd->len, t->text.p, t->text.len);
    case FLT_TEST_MATCH_PREFIX:
        return wd->len >= t->text.len && memcmp(wd->s, t->text.p, t->text.len) == 0;
    case FLT_TEST_MATCH_TEXT_ANY:
        for (uint32_t i = 0; i < t->u.words.n; i++)
            if (pl_contains(wd->s, wd->len, t->u.words.tok[i].p, t->u.words.tok[i].len))
                return true;
        return false;
    case FLT_TEST_MATCH_EXCEPT: return !bsearch_str(t->u.set.s, t->u.set.n, wd->s, wd->len);
    default: return false;
    }
}

static void walk_test(fx_walk *w, const fidx_test *t)
{
    const fidx *x = w->x;
    uint32_t id;
    switch (x->p.type) {
    case FIDX_KEYWORD:
    case FIDX_UUID:
        switch (t->kind) {
        case FLT_TEST_MATCH_VALUE:
            if ((id = dict_find(&x->dict, t->u.value.s.p, t->u.value.s.len)) != UINT32_MAX)
                walk_run(w, id);
            return;
        case FLT_TEST_MATCH_ANY:
            for (uint32_t i = 0; i < t->u.set.n; i++)
                if ((id = dict_find(&x->dict, t->u.set.s[i].p, t->u.set.s[i].len)) != UINT32_MAX)
                    walk_run(w, id);
            return;
        case FLT_TEST_MATCH_EXCEPT:
            if (t->u.set.n && !t->u.set.ints && w->count && t->u.set.n < x->dict.live / 2) {
                /* estimate: everything but the listed values */
                uint64_t minus = 0;
                for (uint32_t i = 0; i < t->u.set.n; i++)
                    if ((id = dict_find(&x->dict, t->u.set.s[i].p, t->u.set.s[i].len)) !=
                        UINT32_MAX)
                        minus += x->dict.w[id].count;
                w->n += x->set.n - minus + x->other.count;
                return;
            }
            /* fall through */
        default:
            for (id = 0; id < x->dict.nw; id++)
                if (x->dict.w[id].s &&
                    ((t->kind == FLT_TEST_MATCH_EXCEPT && !t->u.set.n) ||
                     word_passes(t, &x->dict.w[id])))
                    walk_run(w, id);
            if (t->kind == FLT_TEST_MATCH_EXCEPT)
                walk_bits(w, &x->other);
            return;
        }
    case FIDX_INTEGER:
        switch (t->kind) {
        case FLT_TEST_MATCH_VALUE: walk_run(w, enc_i64(t->u.value.i)); return;
        case FLT_TEST_MATCH_ANY:
            for (uint32_t i = 0; i < t->u.set.n; i++)
                walk_run(w, enc_i64(t->u.set.i[i]));
            return;
        case FLT_TEST_MATCH_EXCEPT:
            if (!t->u.set.ints || !t->u.set.n || w->count) {
                walk_range(w, (fx_ent){0, 0}, (fx_ent){0, 0}, true);
            } else {
                const fx_set *s = &x->set;
                fx_pos p = set_seek(s, (fx_ent){0, 0});
                while (!pos_end(s, p)) {
                    fx_ent e = pos_get(s, p);
                    if (bsearch_i64(t->u.set.i, t->u.set.n, dec_i64(e.hi))) {
                        if (e.hi == UINT64_MAX)
                            break;
                        p = set_seek(s, (fx_ent){e.hi + 1, 0});
                        continue;
                    }
                    mark(w, (uint32_t)e.lo);
                    pos_next(s, &p);
                }
            }
            walk_bits(w, &x->other);
            return;
        case FLT_TEST_RANGE: {
            fx_range r = num_range(x, t->u.range.has, t->u.range.b);
            walk_fx_range(w, &r);
            walk_bits(w, &x->other2);
            return;
        }
        default: return;
        }
    case FIDX_FLOAT: {
        fx_range r = num_range(x, t->u.range.has, t->u.range.b);
        walk_fx_range(w, &r);
        return;
    }
    case FIDX_BOOL: walk_run(w, t->u.value.type == PL_TRUE); return;
    case FIDX_DATETIME: {
        fx_range r = time_range(t);
        walk_fx_range(w, &r);
        return;
    }
    case FIDX_GEO: walk_geo(w, t); return;
    case FIDX_TEXT: walk_text(w, t); return;
    }
}

fidx_answer fidx_plan(const fidx *x, const fidx_cond *c, uint64_t *estimate)
{
    fidx_answer a = cond_answer(x, c);
    if (estimate) {
        fx_walk w = {x, true, 0, NULL, 0, false};
        for (uint32_t i = 0; a != FIDX_NO && i < c->n; i++)
            walk_test(&w, &c->tests[i]);
        /* a point counts once at most */
        uint64_t cap = x->has.count + x->other.count;
        *estimate = w.n < cap ? w.n : cap;
    }
    return a;
}

qv_status fidx_select(const fidx *x, const fidx_cond *c, uint32_t **slots, size_t *n)
{
    *slots = NULL;
    *n = 0;
    if (cond_answer(x, c) == FIDX_NO)
        return QV_UNSUPPORTED;
    /* One value's run of a posting index: already slot-sorted, copy it. */
    const fidx_test *t = &c->tests[0];
    bool run = c->n == 1 && t->kind == FLT_TEST_MATCH_VALUE &&
               (x->p.type == FIDX_KEYWORD || x->p.type == FIDX_UUID ||
                x->p.type == FIDX_INTEGER || x->p.type == FIDX_BOOL);
    if (run) {
        uint64_t hi;
        if (x->p.type == FIDX_INTEGER) {
            hi = enc_i64(t->u.value.i);
        } else if (x->p.type == FIDX_BOOL) {
            hi = t->u.value.type == PL_TRUE;
        } else {
            uint32_t id = dict_find(&x->dict, t->u.value.s.p, t->u.value.s.len);
            if (id == UINT32_MAX)
                return QV_OK;
            hi = id;
        }
        fx_ent a = {hi, 0}, z = {hi + 1, 0};
        bool zinf = hi == UINT64_MAX;
        uint64_t cnt = set_count(&x->set, a, z, zinf);
        if (!cnt)
            return QV_OK;
        uint32_t *out = malloc(cnt * sizeof *out);
        if (!out)
            return QV_NOMEM;
        size_t k = 0;
        for (fx_pos p = set_seek(&x->set, a); k < cnt; pos_next(&x->set, &p))
            out[k++] = (uint32_t)pos_get(&x->set, p).lo;
        *slots = out;
        *n = k;
        return QV_OK;
    }
    fx_walk w = {x, false, 0, NULL, x->has.nw, false};
    w.bits = calloc(w.nw ? w.nw : 1, sizeof *w.bits);
    if (!w.bits)
        return QV_NOMEM;
    for (uint32_t i = 0; i < c->n && !w.fail; i++)
        walk_test(&w, &c->tests[i]);
    if (w.fail) {
        free(w.bits);
        return QV_NOMEM;
    }
    size_t cnt = qv_bits_count(w.bits, w.nw), bit;
    uint32_t *out = malloc((cnt ? cnt : 1) * sizeof *out);
    if (!out) {
        free(w.bits);
        return QV_NOMEM;
    }
    size_t k = 0;
    qv_bits_it it;
    for (qv_bits_it_init(&it, w.bits, w.nw); qv_bits_next(&it, &bit);)
        out[k++] = (uint32_t)bit;
    free(w.bits);
    if (!cnt) {
        free(out);
        out = NULL;
    }
    *slots = out;
    *n = cnt;
    return QV_OK;
}

/* ---- facets, order_by ----------------------------------------------------------------------- */

qv_status fidx_facet(const fidx *x, bool (*fn)(void *ctx, const fidx_value *v, uint64_t count),
                     void *ctx)
{
    fidx_value v;
    memset(&v, 0, sizeof v);
    v.type = x->p.type;
    switch (x->p.type) {
    case FIDX_KEYWORD:
    case FIDX_UUID:
        for (uint32_t id = 0; id < x->dict.nw; id++) {
            const fx_word *wd = &x->dict.w[id];
            if (!wd->s || !wd->count)
                continue;
            v.s = wd->s;
            v.len = wd->len;
            if (!fn(ctx, &v, wd->count))
                break;
        }
        return QV_OK;
    case FIDX_BOOL:
        for (uint64_t b = 0; b < 2; b++) {
            uint64_t cnt = set_count(&x->set, (fx_ent){b, 0}, (fx_ent){b + 1, 0}, false);
            v.i = (int64_t)b;
            if (cnt && !fn(ctx, &v, cnt))
                break;
        }
        return QV_OK;
    case FIDX_INTEGER: {
        const fx_set *s = &x->set;
        fx_pos p = set_seek(s, (fx_ent){0, 0});
        while (!pos_end(s, p)) {
            uint64_t hi = pos_get(s, p).hi, cnt;
            if (hi == UINT64_MAX) {
                cnt = set_count(s, (fx_ent){hi, 0}, (fx_ent){0, 0}, true);
                p.b = s->nb;
            } else {
                cnt = set_count(s, (fx_ent){hi, 0}, (fx_ent){hi + 1, 0}, false);
                p = set_seek(s, (fx_ent){hi + 1, 0});
            }
            v.i = dec_i64(hi);
            if (!fn(ctx, &v, cnt))
                break;
        }
        return QV_OK;
    }
    default: return QV_UNSUPPORTED;
    }
}

qv_status fidx_order_seek(const fidx *x, bool desc, const fidx_start *start, fidx_order_it *it)
{
    const fx_set *s = &x->set;
    *it = (fidx_order_it){x, 0, 0, desc, true};
    fidx_type ty = x->p.type;
    if (!(ty == FIDX_FLOAT || ty == FIDX_DATETIME || (ty == FIDX_INTEGER && x->p.range)))
        return QV_UNSUPPORTED;
    if (x->broken)
        return QV_UNSUPPORTED;
    fx_pos p;
    if (!desc) {
        fx_ent a = {0, 0};
        if (start) {
            int64_t v;
            if (ty == FIDX_INTEGER) {
                if (!int_from(start->num, false, &v))
                    return QV_OK;
                a.hi = enc_i64(v);
            } else if (ty == FIDX_FLOAT) {
                a.hi = enc_f64(start->num);
            } else {
                a = (fx_ent){enc_i64(start->sec), (uint64_t)start->nsec << 32};
            }
        }
        p = set_seek(s, a);
        if (pos_end(s, p))
            return QV_OK;
    } else {
        /* just past the last pair <= start, then one step back */
        if (!start) {
            p = (fx_pos){s->nb, 0};
        } else {
            fx_ent z;
            bool zinf = false;
            int64_t v;
            if (ty == FIDX_INTEGER) {
                if (!int_to(start->num, false, &v))
                    return QV_OK;
                zinf = v == INT64_MAX;
                z = (fx_ent){enc_i64(v) + 1, 0};
            } else if (ty == FIDX_FLOAT) {
                uint64_t h = enc_f64(start->num);
                zinf = h == UINT64_MAX;
                z = (fx_ent){h + 1, 0};
            } else {
                z = (fx_ent){enc_i64(start->sec), ((uint64_t)start->nsec + 1) << 32};
            }
            p = zinf ? (fx_pos){s->nb, 0} : set_seek(s, z);
        }
        if (pos_end(s, p)) {
            if (!s->nb)
                return QV_OK;
            p = (fx_pos){s->nb - 1, s->b[s->nb - 1]->n - 1};
        } else if (!pos_prev(s, &p)) {
            return QV_OK;
        }
    }
    it->b = p.b;
    it->i = p.i;
    it->done = false;
    return QV_OK;
}

bool fidx_order_next(fidx_order_it *it, fidx_value *v, uint32_t *slot)
{
    if (it->done)
        return false;
    const fidx *x = it->x;
    const fx_set *s = &x->set;
    fx_pos p = {it->b, it->i};
    fx_ent e = pos_get(s, p);
    memset(v, 0, sizeof *v);
    v->type = x->p.type;
    switch (x->p.type) {
    case FIDX_INTEGER: v->i = dec_i64(e.hi); break;
    case FIDX_FLOAT: v->d = dec_f64(e.hi); break;
    default:
        v->sec = dec_i64(e.hi);
        v->nsec = (int64_t)(e.lo >> 32);
        break;
    }
    if (slot)
        *slot = (uint32_t)e.lo;
    if (it->desc) {
        it->done = !pos_prev(s, &p);
    } else {
        pos_next(s, &p);
        it->done = pos_end(s, p);
    }
    it->b = p.b;
    it->i = p.i;
    return true;
}
