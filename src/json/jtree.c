/* jtree.c — see jtree.h. */
#include "json/jtree.h"

#include <math.h>
#include <string.h>

void jw_tree(jw *w, const jr_value *v)
{
    switch ((jr_type)v->type) {
    case JR_NULL: jw_null(w); return;
    case JR_FALSE: jw_bool(w, false); return;
    case JR_TRUE: jw_bool(w, true); return;
    case JR_NUMBER:
        if (v->flags & JR_NUM_INT) {
            if (v->flags & JR_NUM_NEG)
                jw_int(w, v->x.i64);
            else
                jw_uint(w, v->x.u64);
        } else {
            jw_f64(w, v->u.num);
        }
        return;
    case JR_STRING: jw_strn(w, v->u.str, v->len); return;
    case JR_ARRAY:
        jw_arr_begin(w);
        for (uint32_t i = 0; i < v->len; i++)
            if (v->flags & JR_ARR_F32)
                jw_f32(w, v->u.f32[i]);
            else
                jw_tree(w, &v->u.items[i]);
        jw_arr_end(w);
        return;
    case JR_OBJECT:
        jw_obj_begin(w);
        for (uint32_t i = 0; i < v->len; i++) {
            jw_keyn(w, v->u.members[i].key, v->u.members[i].key_len);
            jw_tree(w, &v->u.members[i].value);
        }
        jw_obj_end(w);
        return;
    }
}

/* Element i of an array as a float, in either form (NAN when it is not a
 * number or not a finite float: never equal). */
static float item_f32(const jr_value *arr, uint32_t i)
{
    float f;
    if (arr->flags & JR_ARR_F32)
        return arr->u.f32[i];
    return jr_get_f32(&arr->u.items[i], &f) ? f : NAN;
}

bool jr_equal(const jr_value *a, const jr_value *b)
{
    if (a->type != b->type)
        return false;
    switch ((jr_type)a->type) {
    case JR_NULL: case JR_FALSE: case JR_TRUE:
        return true;
    case JR_NUMBER:
        if ((a->flags & JR_NUM_INT) && (b->flags & JR_NUM_INT))
            return a->flags == b->flags ? a->x.u64 == b->x.u64 : (a->x.u64 == 0 && b->x.u64 == 0);
        return a->u.num == b->u.num;
    case JR_STRING:
        return a->len == b->len && memcmp(a->u.str, b->u.str, a->len) == 0;
    case JR_ARRAY:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!(a->flags & JR_ARR_F32) && !(b->flags & JR_ARR_F32)
                    ? !jr_equal(&a->u.items[i], &b->u.items[i])
                    : item_f32(a, i) != item_f32(b, i))
                return false;
        return true;
    case JR_OBJECT:
        if (a->len != b->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const jr_member *x = &a->u.members[i], *y = &b->u.members[i];
            if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0 ||
                !jr_equal(&x->value, &y->value))
                return false;
        }
        return true;
    }
    return false;
}
