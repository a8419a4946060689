/*
 * crc32c.h — CRC-32C (Castagnoli), as used by ext4, iSCSI and LevelDB.
 * SSE4.2's crc32 instruction when the CPU has it (chosen once, at first
 * call), a table-driven software version otherwise; both give the same
 * values. Threading: safe.
 */
#ifndef QV_UTIL_CRC32C_H
#define QV_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) over len bytes of data. */
uint32_t qv_crc32c(uint32_t crc, const void *data, size_t len);
/* The software version, for tests. */
uint32_t qv_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
