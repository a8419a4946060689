/* jpid.c — see jpid.h. */
#include "json/jpid.h"

bool pid_from_json(const jr_value *v, qv_point_id *out)
{
    if (v->type == JR_STRING)
        return pid_parse_uuid(v->u.str, v->len, out);
    uint64_t u;
    if (!jr_get_u64(v, &u))
        return false;
    out->hi = 0;
    out->lo = u;
    out->uuid = 0;
    return true;
}

void pid_write(jw *w, const qv_point_id *id)
{
    if (!id->uuid) {
        jw_uint(w, id->lo);
        return;
    }
    char buf[PID_TEXT_MAX];
    int n = pid_format(id, buf);
    jw_strn(w, buf, (size_t)n);
}
