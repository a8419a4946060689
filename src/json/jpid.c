/* jpid.c — see jpid.h. */
#include "json/jpid.h"

bool pid_from_json(const jr_value *v, qv_point_id *out)
{
    if (v->type == JR_STRING)
        return pid_parse_uuid(v->u.str, v->len, out);
    /* serde_json reads "-0" as the float -0.0, which is no ExtendedPointId:
     * refuse it although jr_get_u64 takes it as 0. */
    uint64_t u;
    if ((v->flags & JR_NUM_NEG) || !jr_get_u64(v, &u))
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
