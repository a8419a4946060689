/*
 * fuzz_jr — libFuzzer target for the JSON reader and writer.
 *
 * Any input: the parser must not crash or leak, and a rejection must carry
 * a message and a position inside the input. An accepted input is written
 * back with jw and parsed again: both trees must be equal, and writing the
 * second tree must give the same bytes (the writer is canonical). Numbers are
 * also checked against libc: jr_get_f32 must equal strtof of the literal.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qv_arena a;
    qv_arena_init(&a, 0);
    jr_value *v, *v2;
    jr_error e;
    if (jr_parse(&a, (const char *)data, size, &v, &e) != 0) {
        if (!e.msg[0] || e.line < 1 || e.column > size)
            abort();
        qv_arena_free(&a);
        return 0;
    }
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
