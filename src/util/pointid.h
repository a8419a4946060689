/*
 * pointid.h — point ids: an unsigned 64-bit integer or a UUID (no JSON here:
 * core/pointid.h reads and writes them as JSON values).
 *
 * Text forms accepted for UUIDs (as Qdrant, via the uuid crate): 32 hex
 * digits, hyphenated 8-4-4-4-12, braced {…}, and urn:uuid:…, any case.
 * Printed canonical: lower-case hyphenated. A numeric string ("5") is not an
 * id, as in Qdrant.
 * Order (for scrolling): integers ascending, then UUIDs by their bytes.
 */
#ifndef QV_UTIL_POINTID_H
#define QV_UTIL_POINTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qv_point_id {
    uint64_t hi;    /* UUID bytes 0..7 (big-endian value); 0 for integers */
    uint64_t lo;    /* UUID bytes 8..15, or the integer */
    uint8_t  uuid;  /* 1 for a UUID */
} qv_point_id;

#define PID_TEXT_MAX 40  /* canonical UUID is 36 chars; u64 is at most 20 */

/* Parse a UUID text form; false if it is not one. */
bool pid_parse_uuid(const char *s, size_t len, qv_point_id *out);
/* Text of a path parameter: digits (u64) or a UUID. */
bool pid_from_text(const char *s, qv_point_id *out);
/* Canonical text into dst (PID_TEXT_MAX bytes); returns the length. */
int  pid_format(const qv_point_id *id, char *dst);

static inline bool pid_equal(const qv_point_id *a, const qv_point_id *b)
{
    return a->lo == b->lo && a->hi == b->hi && a->uuid == b->uuid;
}
/* Whether id is one the API can name (uuid 0 or 1, integers with hi 0):
 * ids decoded from files must be, or two ids would print the same. */
static inline bool pid_valid(const qv_point_id *id)
{
    return id->uuid == 1 || (id->uuid == 0 && id->hi == 0);
}
/* <0, 0, >0 in scroll order. */
int pid_cmp(const qv_point_id *a, const qv_point_id *b);
uint64_t pid_hash(const qv_point_id *id);

/* A point id with the slot it lives in, to put points in id order: a
 * qsort comparator over pid_slot. */
typedef struct pid_slot {
    qv_point_id id;
    uint32_t    slot;
} pid_slot;
int pid_slot_cmp(const void *a, const void *b);

#endif
