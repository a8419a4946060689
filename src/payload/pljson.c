/*
 * pljson.c — see pljson.h. The blob's bytes come from plblob.h; what is
 * here is only the walk between a JSON tree (or writer) and a blob.
 */
#include "payload/pljson.h"

#include <stdlib.h>
#include <string.h>

#include "payload/plblob.h"
#include "util/err.h"
#include "util/hash.h"

/* A blob that pl_validate takes nests no deeper than a JSON document the
 * reader takes, and the other way round. */
_Static_assert(PL_MAX_DEPTH == JR_MAX_DEPTH, "payload and JSON depth limits differ");

/* ---- encode ------------------------------------------------------------------ */

static void enc_value(qv_buf *b, const jr_value *v);

static inline uint32_t key_hash(const char *k, size_t n)
{
    return (uint32_t)qv_hash_bytes(k, n);
}

#define PL_NONE UINT32_MAX

/*
 * Duplicate keys: serde_json keeps one member per key — the last value, at
 * the first key's position (IndexMap insert). last[i] gets the index of the
 * value member i stands for, PL_NONE for a later duplicate. An open-addressed
 * table of member indexes finds them in O(n); tab has >= 2n slots.
 * Returns whether there was any duplicate.
 */
static bool find_dups(const jr_member *m, uint32_t n, uint32_t *tab, uint32_t tab_size,
                      uint32_t *last)
{
    bool dups = false;
    memset(tab, 0xff, tab_size * sizeof *tab);
    for (uint32_t i = 0; i < n; i++) {
        last[i] = i;
        uint32_t h = key_hash(m[i].key, m[i].key_len) & (tab_size - 1);
        for (;; h = (h + 1) & (tab_size - 1)) {
            uint32_t j = tab[h];
            if (j == PL_NONE) {
                tab[h] = i;
                break;
            }
            if (m[j].key_len == m[i].key_len && memcmp(m[j].key, m[i].key, m[i].key_len) == 0) {
                last[j] = i;
                last[i] = PL_NONE;
                dups = true;
                break;
            }
        }
    }
    return dups;
}

static void enc_object(qv_buf *b, const jr_value *v)
{
    const jr_member *m = v->u.members;
    uint32_t n = v->len;
    /* Up to 32 members the table lives on the stack (384 bytes a level);
     * bigger objects take one malloc each. */
    uint32_t small_tab[64], small_last[32];
    uint32_t *tab = small_tab, *last = small_last, *heap = NULL;
    uint32_t tab_size = 64;
    bool dups = false;
    if (n > 1) {
        if (n > 32) {
            tab_size = 128;
            while (tab_size < 2 * (uint64_t)n)
                tab_size *= 2;
            heap = malloc(((size_t)tab_size + n) * sizeof *heap);
            if (!heap) {
                b->oom = true;
                return;
            }
            tab = heap;
            last = heap + tab_size;
        }
        dups = find_dups(m, n, tab, tab_size, last);
    }
    size_t body = w_open(b);
    uint32_t count = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t vi = dups ? last[i] : i;
        if (vi == PL_NONE)
            continue;
        w_key(b, m[i].key, m[i].key_len);
        enc_value(b, &m[vi].value);
        count++;
    }
    w_close(b, body, T_OBJ, count);
    free(heap);
}

static void enc_value(qv_buf *b, const jr_value *v)
{
    switch (v->type) {
    case JR_NULL: put_byte(b, T_NULL); break;
    case JR_FALSE: put_byte(b, T_FALSE); break;
    case JR_TRUE: put_byte(b, T_TRUE); break;
    case JR_NUMBER:
        if (!(v->flags & JR_NUM_INT))
            w_f64(b, v->u.num);
        else if (!(v->flags & JR_NUM_NEG))
            w_uint(b, v->x.u64);
        else if (v->x.i64 == 0)
            w_f64(b, -0.0); /* serde_json reads "-0" as the float -0.0 */
        else
            w_int(b, v->x.i64);
        break;
    case JR_STRING: w_str(b, v->u.str, v->len); break;
    case JR_ARRAY: {
        size_t body = w_open(b);
        for (uint32_t i = 0; i < v->len; i++)
            enc_value(b, &v->u.items[i]);
        w_close(b, body, T_ARR, v->len);
        break;
    }
    default: enc_object(b, v); break;
    }
}

int pl_encode(const jr_value *obj, qv_buf *out, qv_error *err)
{
    if (!jr_is_object(obj))
        return qv_fail(err, QV_BAD_INPUT, "payload must be a JSON object"), -1;
    enc_value(out, obj);
    finish(out);
    if (!qv_buf_ok(out))
        return qv_fail(err, QV_NOMEM, "out of memory"), -1;
    return 0;
}

/* ---- JSON output -------------------------------------------------------------- */

static const uint8_t *print_value(jw *w, const uint8_t *p)
{
    uint8_t t = *p;
    if (t >= T_ARR) {
        uint64_t c, s;
        const uint8_t *q = rd_cont(p, &c, &s);
        if (t >= T_OBJ) {
            jw_obj_begin(w);
            for (uint64_t i = 0; i < c; i++) {
                const char *k;
                size_t n;
                q = rd_key(q, &k, &n);
                jw_keyn(w, k, n);
                q = print_value(w, q);
            }
            jw_obj_end(w);
        } else {
            jw_arr_begin(w);
            for (uint64_t i = 0; i < c; i++)
                q = print_value(w, q);
            jw_arr_end(w);
        }
        return q;
    }
    pl_value v;
    p = decode(p, &v);
    switch (v.type) {
    case PL_NULL: jw_null(w); break;
    case PL_FALSE: jw_bool(w, false); break;
    case PL_TRUE: jw_bool(w, true); break;
    case PL_INT: jw_int(w, v.i); break;
    case PL_UINT: jw_uint(w, v.u); break;
    case PL_FLOAT: jw_f64(w, v.d); break;
    default: jw_strn(w, v.s, v.len); break;
    }
    return p;
}

void pl_write_json(jw *w, const uint8_t *blob, size_t len)
{
    (void)len;
    print_value(w, blob);
}

void pl_write_value(jw *w, const pl_value *v)
{
    switch (v->type) {
    case PL_NULL: jw_null(w); break;
    case PL_FALSE: jw_bool(w, false); break;
    case PL_TRUE: jw_bool(w, true); break;
    case PL_INT: jw_int(w, v->i); break;
    case PL_UINT: jw_uint(w, v->u); break;
    case PL_FLOAT: jw_f64(w, v->d); break;
    case PL_STRING: jw_strn(w, v->s, v->len); break;
    default: print_value(w, v->raw); break;
    }
}

/* ---- with_payload include / exclude ------------------------------------------------------------ */

/*
 * Qdrant's PayloadSelector::process (types.rs) runs JsonPath::value_filter:
 * a walk that names each member by its key and each array element by "[]"
 * (never "[i]"), keeps a node when filter(path) holds and then walks into it.
 *   include: keep iff some pattern Q agrees with path P on their common
 *            length (check_include_pattern: one is a prefix of the other);
 *   exclude: drop iff some pattern Q is a prefix of P (check_exclude_pattern).
 * So include "a.b" keeps {"a":{"b":..}} and turns {"a":{"c":1}} into
 * {"a":{}}, keeps a scalar a whole, and keeps no element of an array a
 * ("a[]" is not "a.b"); "a[0]" matches no element. Once no pattern can
 * change anything below a node, the node is printed whole.
 */
typedef struct sel_item {
    const char *key;  /* NULL: an array element ("[]") */
    size_t      len;
} sel_item;

typedef struct sel_ctx {
    jw            *w;
    const pl_path *pats;
    size_t         npats;
    bool           include;
    sel_item       path[PL_MAX_DEPTH + 2];
} sel_ctx;

static bool item_eq(const pl_step *q, const sel_item *p)
{
    if (q->kind == PL_KEY)
        return p->key && q->key_len == p->len && memcmp(q->key, p->key, p->len) == 0;
    return q->kind == PL_ALL && !p->key;
}

/* Pattern q against the path of length L: -1 they differ on the common
 * length; 0 q is a prefix of the path (or equal); 1 the path is a proper
 * prefix of q. */
static int pat_cmp(const pl_path *q, const sel_item *path, uint32_t L)
{
    uint32_t m = q->n < L ? q->n : L;
    for (uint32_t k = 0; k < m; k++)
        if (!item_eq(&q->steps[k], &path[k]))
            return -1;
    return q->n <= L ? 0 : 1;
}

enum { SEL_DROP, SEL_WHOLE, SEL_WALK };

static int sel_decide(const sel_ctx *c, uint32_t L)
{
    bool longer = false, prefix = false;
    for (size_t i = 0; i < c->npats; i++) {
        int r = pat_cmp(&c->pats[i], c->path, L);
        if (r == 0)
            prefix = true;
        else if (r == 1)
            longer = true;
    }
    if (c->include)
        return prefix ? SEL_WHOLE : longer ? SEL_WALK : SEL_DROP;
    return prefix ? SEL_DROP : longer ? SEL_WALK : SEL_WHOLE;
}

static void sel_value(sel_ctx *c, const uint8_t *p, uint32_t L)
{
    uint8_t t = *p;
    if (t < T_ARR || L > PL_MAX_DEPTH) {
        print_value(c->w, p);
        return;
    }
    uint64_t cnt, s;
    const uint8_t *q = rd_cont(p, &cnt, &s);
    bool obj = t >= T_OBJ;
    if (obj)
        jw_obj_begin(c->w);
    else
        jw_arr_begin(c->w);
    for (uint64_t i = 0; i < cnt; i++) {
        const char *k = NULL;
        size_t kn = 0;
        if (obj)
            q = rd_key(q, &k, &kn);
        c->path[L].key = k;
        c->path[L].len = kn;
        int d = sel_decide(c, L + 1);
        if (d != SEL_DROP) {
            if (obj)
                jw_keyn(c->w, k, kn);
            if (d == SEL_WHOLE)
                print_value(c->w, q);
            else
                sel_value(c, q, L + 1);
        }
        q = skip(q);
    }
    if (obj)
        jw_obj_end(c->w);
    else
        jw_arr_end(c->w);
}

static void write_selected(jw *w, const uint8_t *blob, const pl_path *paths, size_t n, bool include)
{
    sel_ctx *c = malloc(sizeof *c); /* ~2 KB of path: off the caller's stack */
    if (!c) {
        w->out->oom = true;
        return;
    }
    c->w = w;
    c->pats = paths;
    c->npats = n;
    c->include = include;
    sel_value(c, blob, 0);
    free(c);
}

void pl_write_json_include(jw *w, const uint8_t *blob, size_t len, const pl_path *paths, size_t n)
{
    (void)len;
    write_selected(w, blob, paths, n, true);
}

void pl_write_json_exclude(jw *w, const uint8_t *blob, size_t len, const pl_path *paths, size_t n)
{
    (void)len;
    write_selected(w, blob, paths, n, false);
}

