/*
 * jtree.h — operations on whole jr trees.
 */
#ifndef QV_JSON_JTREE_H
#define QV_JSON_JTREE_H

#include <stdbool.h>

#include "json/jr.h"
#include "json/jw.h"

/* Write the tree v with w (numbers keep their literal form: integers exact,
 * other numbers as their shortest double; float arrays, JR_ARR_F32, as their
 * shortest floats). Cost O(size of v). */
void jw_tree(jw *w, const jr_value *v);

/* Deep equality (numbers compared by value, object members by key in
 * order; an array in float form equals one whose elements read, with
 * jr_get_f32, as the same floats). */
bool jr_equal(const jr_value *a, const jr_value *b);

#endif
