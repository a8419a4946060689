/* datetime.c — see datetime.h. */
#include "util/datetime.h"

static bool dt_num(const char **pp, const char *e, int min, int max, int64_t *out)
{
    const char *s = *pp;
    int64_t v = 0;
    int k = 0;
    while (s < e && k < max && *s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        k++;
    }
    if (k < min)
        return false;
    *pp = s;
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

bool qv_datetime_parse(const char *s, size_t len, int64_t *out_sec, int64_t *out_nsec)
{
    const char *q = s, *e = s + len;
    int64_t year, mon, day, hour = 0, min = 0, sec = 0, nsec = 0, off = 0;
    bool neg = false, lower_t = false;
    if (q < e && (*q == '+' || *q == '-')) {
        neg = *q++ == '-';
        if (!dt_num(&q, e, 1, 9, &year))
            return false;
    } else if (!dt_num(&q, e, 1, 4, &year)) {
        return false;
    }
    if (neg)
        year = -year;
    if (year < -262143 || year > 262143)
        return false;
    if (q >= e || *q++ != '-' || !dt_num(&q, e, 1, 2, &mon) || q >= e || *q++ != '-' ||
        !dt_num(&q, e, 1, 2, &day))
        return false;
    static const int8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 1 || mon > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[mon - 1] + (mon == 2 && leap))
        return false;
    if (q < e) {
        if (*q == 'T' || *q == 't') {
            lower_t = *q == 't';
            q++;
        } else if (*q == ' ') {
            while (q < e && *q == ' ')
                q++;
        } else {
            return false;
        }
        if (!dt_num(&q, e, 1, 2, &hour) || q >= e || *q++ != ':' || !dt_num(&q, e, 1, 2, &min))
            return false;
        if (hour > 23 || min > 59)
            return false;
        if (q < e) {
            if (*q++ != ':' || !dt_num(&q, e, 1, 2, &sec) || sec > 60)
                return false;
            if (q < e && *q == '.') {
                q++;
                int k = 0;
                if (q >= e || *q < '0' || *q > '9')
                    return false;
                for (; q < e && *q >= '0' && *q <= '9'; q++, k++)
                    if (k < 9)
                        nsec = nsec * 10 + (*q - '0');
                for (; k < 9; k++)
                    nsec *= 10;
            }
            if (q < e) {  /* a zone */
                while (q < e && is_space(*q))
                    q++;
                if (q >= e)
                    return false;
                if (*q == 'Z' || *q == 'z') {
                    q++;
                } else if (e - q >= 3 && (q[0] | 0x20) == 'u' && (q[1] | 0x20) == 't' &&
                           (q[2] | 0x20) == 'c') {
                    q += 3;
                } else if (*q == '+' || *q == '-') {
                    bool oneg = *q++ == '-';
                    if (e - q < 2 || q[0] < '0' || q[0] > '9' || q[1] < '0' || q[1] > '9')
                        return false;
                    int64_t oh = (q[0] - '0') * 10 + (q[1] - '0'), om = 0;
                    q += 2;
                    const char *r = q;
                    while (r < e && (*r == ':' || is_space(*r)))
                        r++;
                    if (e - r >= 2 && r[0] >= '0' && r[0] <= '9' && r[1] >= '0' && r[1] <= '9') {
                        om = (r[0] - '0') * 10 + (r[1] - '0');
                        if (om > 59)
                            return false;
                        q = r + 2;
                    } else if (r < e && r[0] >= '0' && r[0] <= '9') {
                        return false;  /* one minute digit */
                    }
                    if (oh > 23)
                        return false;
                    off = (oh * 3600 + om * 60) * (oneg ? -1 : 1);
                } else {
                    return false;
                }
                while (q < e && is_space(*q))
                    q++;
                if (q < e)
                    return false;
                lower_t = false;
            }
        }
    }
    if (lower_t)
        return false;
    if (sec == 60) {
        sec = 59;
        nsec += 1000000000;
    }
    *out_sec = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - off;
    *out_nsec = nsec;
    return true;
}
