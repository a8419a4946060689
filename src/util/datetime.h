/*
 * datetime.h — Qdrant's datetime grammar, the one the whole engine uses:
 * filter ranges, datetime payload indexes and order_by start_from read
 * datetimes through this function, so an indexed answer and a scan agree.
 *
 * DateTimePayloadType::from_str (types.rs) tries, in turn, chrono's
 * RFC 3339, chrono's relaxed DateTime::from_str, "%Y-%m-%dT%H:%M:%S%.f%#z",
 * "%Y-%m-%d %H:%M:%S%.f%#z", and without a zone (UTC) "%Y-%m-%dT%H:%M:%S%.f",
 * "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d".
 * Their union, as read here:
 *   date   YYYY-M-D (year 1-4 digits, or signed; month and day 1-2 digits)
 *   then   [T|t|spaces] H:M (1-2 digits each) [:S (0-60) [.digits]]
 *   zone   only after seconds, spaces allowed before: Z, z, UTC (any case),
 *          or +/-HH with optional minutes (HH:MM, HHMM, HH MM); spaces may
 *          follow a zone. 't' only with a zone (chrono's naive formats take
 *          'T'). Fractions past 9 digits are dropped; second 60 is a leap
 *          second (59 s + 1e9 ns).
 * Cost: one pass over the text, no allocation. Threading: none needed.
 */
#ifndef QV_UTIL_DATETIME_H
#define QV_UTIL_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s[0..len) to UTC seconds since 1970-01-01 and nanoseconds (1e9 and more
 * inside a leap second, as chrono keeps it; compare the pair); false, with
 * *sec and *nsec untouched, if it is not a datetime. */
bool qv_datetime_parse(const char *s, size_t len, int64_t *sec, int64_t *nsec);

#endif
