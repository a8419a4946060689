/*
 * jpid.h — point ids as JSON values (the id itself: util/pointid.h).
 */
#ifndef QV_JSON_JPID_H
#define QV_JSON_JPID_H

#include <stdbool.h>

#include "json/jr.h"
#include "json/jw.h"
#include "util/pointid.h"

/* A JSON id: a non-negative integer or a UUID string. */
bool pid_from_json(const jr_value *v, qv_point_id *out);
/* As a JSON value: a number for integers, a string for UUIDs. */
void pid_write(jw *w, const qv_point_id *id);

#endif
