/*
 * endian.h — explicit little-endian loads and stores for every on-disk
 * number. Formats in docs/FORMAT.md promise little-endian whatever the
 * host is; these compile to a plain load/store on x86-64 and to a byte swap
 * on a big-endian host. Unaligned pointers are fine.
 */
#ifndef QV_UTIL_ENDIAN_H
#define QV_UTIL_ENDIAN_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define QV_LE16(x) __builtin_bswap16(x)
#define QV_LE32(x) __builtin_bswap32(x)
#define QV_LE64(x) __builtin_bswap64(x)
#else
#define QV_LE16(x) (x)
#define QV_LE32(x) (x)
#define QV_LE64(x) (x)
#endif

static inline void qv_put_le16(void *p, uint16_t v) { v = QV_LE16(v); memcpy(p, &v, 2); }
static inline void qv_put_le32(void *p, uint32_t v) { v = QV_LE32(v); memcpy(p, &v, 4); }
static inline void qv_put_le64(void *p, uint64_t v) { v = QV_LE64(v); memcpy(p, &v, 8); }
static inline uint16_t qv_get_le16(const void *p) { uint16_t v; memcpy(&v, p, 2); return QV_LE16(v); }
static inline uint32_t qv_get_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return QV_LE32(v); }
static inline uint64_t qv_get_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return QV_LE64(v); }
/* A float by its bits. */
static inline void qv_put_lef32(void *p, float f) { uint32_t v; memcpy(&v, &f, 4); qv_put_le32(p, v); }
static inline float qv_get_lef32(const void *p) { uint32_t v = qv_get_le32(p); float f; memcpy(&f, &v, 4); return f; }

#endif
