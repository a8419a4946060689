/*
 * fuzz_jr — libFuzzer target for the JSON reader and writer.
 *
 * Any input: the parser must not crash or leak, and a rejection must carry
 * a message and a position inside the input. An accepted input is written
 * back with jw and parsed again: both trees must be equal, and writing the
 * second tree must give the same bytes (the writer is canonical). Numbers are
 * also checked against libc: jr_get_f32 must equal strtof of the literal.
 * The same input read with float arrays (jr_parse_opts) must give the same
 * verdict, error and tree, but for the qualifying arrays, whose floats must
 * be jr_get_f32 of the tree's elements.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/jr.h"
#include "json/jw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_tree(jw *w, const jr_value *v)
{
    switch (v->type) {
    case JR_NULL: jw_null(w); break;
    case JR_TRUE: jw_bool(w, true); break;
    case JR_FALSE: jw_bool(w, false); break;
    case JR_STRING: jw_strn(w, v->u.str, v->len); break;
    case JR_NUMBER:
        if (!(v->flags & JR_NUM_INT))
            jw_f64(w, v->u.num);
        else if (!(v->flags & JR_NUM_NEG))
            jw_uint(w, v->x.u64);
        else if (v->x.i64 == 0)
            jw_raw(w, "-0", 2); /* keeps the sign flag of "-0" */
        else
            jw_int(w, v->x.i64);
        break;
    case JR_ARRAY:
        jw_arr_begin(w);
        for (uint32_t i = 0; i < v->len; i++)
            write_tree(w, &v->u.items[i]);
        jw_arr_end(w);
        break;
    case JR_OBJECT:
        jw_obj_begin(w);
        for (uint32_t i = 0; i < v->len; i++) {
            jw_keyn(w, v->u.members[i].key, v->u.members[i].key_len);
            write_tree(w, &v->u.members[i].value);
        }
        jw_obj_end(w);
        break;
    default: abort();
    }
}

static bool same(const jr_value *a, const jr_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case JR_STRING:
        return a->len == b->len && memcmp(a->u.str, b->u.str, a->len) == 0 && !b->u.str[b->len];
    case JR_NUMBER:
        if (a->flags != b->flags || memcmp(&a->u.num, &b->u.num, sizeof a->u.num) != 0)
            return false;
        return !(a->flags & JR_NUM_INT) || a->x.u64 == b->x.u64;
    case JR_ARRAY:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!same(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    case JR_OBJECT:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const jr_member *x = &a->u.members[i], *y = &b->u.members[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0 ||
                !same(&x->value, &y->value))
                return false;
        }
        return true;
    default:
        return true;
    }
}

/* Number accessors against libc, on every number of the tree. */
static void check_numbers(const jr_value *v)
{
    if (v->type == JR_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++)
            check_numbers(&v->u.items[i]);
    } else if (v->type == JR_OBJECT) {
        for (uint32_t i = 0; i < v->len; i++)
            check_numbers(&v->u.members[i].value);
    } else if (v->type == JR_NUMBER && !(v->flags & JR_NUM_INT)) {
        char *lit = strndup(v->x.lit, v->len);
        if (!lit)
            abort();
        float want = strtof(lit, NULL), got;
        double dwant = strtod(lit, NULL);
        bool ok = jr_get_f32(v, &got);
        if (ok != !isinf(want) || (ok && memcmp(&got, &want, sizeof got) != 0))
            abort();
        if (memcmp(&dwant, &v->u.num, sizeof dwant) != 0)
            abort();
        free(lit);
    }
}

/* Float arrays (jr_parse_opts): below "v" or "vector", not below "p". */
static const char *const f32_keys[] = {"v", "vector"};
static const char *const plain_keys[] = {"p"};
static const jr_opts f32_opts = {f32_keys, 2, plain_keys, 1};

static int key_mode(const jr_member *m, int mode)
{
    if (mode == 2 || (m->key_len == 1 && m->key[0] == 'p'))
        return 2;
    if ((m->key_len == 1 && m->key[0] == 'v') || (m->key_len == 6 && memcmp(m->key, "vector", 6) == 0))
        return 1;
    return mode;
}

/* c, read with f32_opts, against t read without: the same tree but for the
 * arrays that qualify in float mode (1), whose floats are jr_get_f32 of t's
 * elements, bit for bit. */
static void check_f32(const jr_value *t, const jr_value *c, int mode)
{
    if (t->type != c->type || t->len != c->len)
        abort();
    if (t->type == JR_ARRAY) {
        float f;
        bool want = mode == 1 && t->len > 0;
        for (uint32_t i = 0; want && i < t->len; i++)
            want = jr_get_f32(&t->u.items[i], &f);
        if (jr_is_f32_array(c) != want)
            abort();
        for (uint32_t i = 0; i < t->len; i++) {
            if (!want) {
                check_f32(&t->u.items[i], &c->u.items[i], mode);
                continue;
            }
            jr_get_f32(&t->u.items[i], &f);
            if (memcmp(&f, &c->u.f32[i], sizeof f) != 0)
                abort();
        }
    } else if (t->type == JR_OBJECT) {
        for (uint32_t i = 0; i < t->len; i++) {
            const jr_member *x = &t->u.members[i], *y = &c->u.members[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0)
                abort();
            check_f32(&x->value, &y->value, key_mode(x, mode));
        }
    } else if (!same(t, c)) {
        abort();
    }
}

/* Both readings agree: the verdict, and the message and position of an error. */
static void check_opts(qv_arena *a, const uint8_t *data, size_t size, int rc, const jr_value *t,
                       const jr_error *e)
{
    jr_value *c;
    jr_error e2;
    if ((jr_parse_opts(a, (const char *)data, size, &f32_opts, &c, &e2) != 0) != (rc != 0))
        abort();
    if (rc) {
        if (strcmp(e->msg, e2.msg) != 0 || e->line != e2.line || e->column != e2.column)
            abort();
        return;
    }
    check_f32(t, c, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *v, *v2;
    jr_error e;
    if (jr_parse(&a, (const char *)data, size, &v, &e) != 0) {
        if (!e.msg[0] || e.line < 1 || e.column > size)
            abort();
        check_opts(&a, data, size, -1, NULL, &e);
        qv_arena_free(&a);
        return 0;
    }
    check_opts(&a, data, size, 0, v, &e);
    check_numbers(v);
    qv_buf b1 = QV_BUF_INIT, b2 = QV_BUF_INIT;
    jw w;
    jw_init(&w, &b1);
    write_tree(&w, v);
    if (!qv_buf_ok(&b1) || jr_parse(&a, b1.data, b1.len, &v2, &e) != 0) {
        fprintf(stderr, "rewritten input does not parse: %s at %u:%u\n", e.msg, e.line, e.column);
        abort();
    }
    if (!same(v, v2))
        abort();
    jw_init(&w, &b2);
    write_tree(&w, v2);
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        abort();
    qv_buf_free(&b1);
    qv_buf_free(&b2);
    qv_arena_free(&a);
    return 0;
}
