/*
 * h_points.c — REST handlers for points: the write endpoints (one table
 * row per endpoint: path kind -> qv_update_kind) and the reads.
 */
#include <stdio.h>
#include <string.h>

#include "server/rest.h"

static const char *coll_name(rest_req *rq) { return rq->params[0]; }

static int update(rest_req *rq, rest_resp *rs, qv_update_kind kind)
{
    qv_write_opts opts;
    if (rest_write_opts(rq, rs, &opts))
        return -1;
    qv_update_result res;
    qv_error err;
    if (qv_points_update(rq->db, coll_name(rq), kind, rq->body, rq->body_len, &opts, &res, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    if (kind != QV_UPDATE_BATCH) {
        rest_update_result(&rs->w, res.operation_id, res.status);
        return 0;
    }
    jw_arr_begin(&rs->w);
    for (uint32_t i = 0; i < res.n_operations; i++)
        rest_update_result(&rs->w, res.operation_id + i, res.status);
    jw_arr_end(&rs->w);
    return 0;
}

int h_points_upsert(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_UPSERT); }
int h_points_batch(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_BATCH); }
int h_points_delete(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_DELETE); }
int h_payload_set(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_SET_PAYLOAD); }
int h_payload_overwrite(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_OVERWRITE_PAYLOAD); }
int h_payload_delete(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_DELETE_PAYLOAD); }
int h_payload_clear(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_CLEAR_PAYLOAD); }
int h_vectors_update(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_UPDATE_VECTORS); }
int h_vectors_delete(rest_req *rq, rest_resp *rs) { return update(rq, rs, QV_UPDATE_DELETE_VECTORS); }

int h_index_create(rest_req *rq, rest_resp *rs)
{
    qv_write_opts opts;
    qv_update_result res;
    qv_error err;
    if (rest_write_opts(rq, rs, &opts))
        return -1;
    if (qv_index_create(rq->db, coll_name(rq), rq->body, rq->body_len, &opts, &res, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    rest_update_result(&rs->w, res.operation_id, res.status);
    return 0;
}

int h_index_delete(rest_req *rq, rest_resp *rs)
{
    qv_write_opts opts;
    qv_update_result res;
    qv_error err;
    if (rest_write_opts(rq, rs, &opts))
        return -1;
    if (qv_index_delete(rq->db, coll_name(rq), rq->params[1], &opts, &res, &err))
        return rest_fail_qv(rs, &err, "path parameters");
    rest_update_result(&rs->w, res.operation_id, res.status);
    return 0;
}

int h_point_get(rest_req *rq, rest_resp *rs)
{
    char *json;
    size_t len;
    qv_error err;
    if (rest_query_consistency(rq, rs))
        return -1;
    if (qv_point_get(rq->db, coll_name(rq), rq->params[1], &json, &len, &err))
        return rest_fail_qv(rs, &err, "path parameters");
    jw_raw(&rs->w, json, len);
    qv_free(json);
    return 0;
}

/* The reads that take a JSON request and give a JSON result. */
typedef qv_status (*json_read)(qv_db *, const char *, const char *, size_t, char **, size_t *,
                               qv_error *);

static int read_json(rest_req *rq, rest_resp *rs, json_read fn)
{
    char *json;
    size_t len;
    qv_error err;
    unsigned long timeout;
    if (rest_query_consistency(rq, rs) || rest_query_timeout(rq, rs, &timeout))
        return -1;
    if (fn(rq->db, coll_name(rq), rq->body, rq->body_len, &json, &len, &err))
        return rest_fail_qv(rs, &err, "JSON body");
    jw_raw(&rs->w, json, len);
    qv_free(json);
    return 0;
}

int h_points_retrieve(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_retrieve); }
int h_points_scroll(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_scroll); }
int h_points_count(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_count); }
int h_points_facet(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_facet); }
int h_points_search(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_search); }
int h_points_search_batch(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_search_batch); }
int h_points_query(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_query); }
int h_points_query_batch(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_query_batch); }
int h_points_recommend(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_recommend); }
int h_points_recommend_batch(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_recommend_batch); }
int h_points_discover(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_discover); }
int h_points_discover_batch(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_discover_batch); }
int h_points_search_groups(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_search_groups); }
int h_points_recommend_groups(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_recommend_groups); }
int h_points_query_groups(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_query_groups); }
int h_points_matrix_pairs(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_search_matrix_pairs); }
int h_points_matrix_offsets(rest_req *rq, rest_resp *rs) { return read_json(rq, rs, qv_points_search_matrix_offsets); }
