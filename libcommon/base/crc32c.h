/* crc32c.h — CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final XOR
 * 0xFFFFFFFF; the check value of "123456789" is 0xE3069283), the checksum of TFRecord files
 * (TensorBoard's event files, io/tfevents.h).
 *
 * A byte-wise table routine of our own rather than a library: the event files checksum a few dozen bytes a
 * step, where a table lookup per byte costs nothing measurable, and Debian's libcrc32c (Google's, with
 * its SSE4.2/ARM paths) would be one more build dependency for those few bytes. The table is built on
 * first use from the polynomial (thread-safe: pthread_once). */
#ifndef LFM_CRC32C_H
#define LFM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of n bytes continued from crc (0 to start: the pre- and post-conditioning XORs are done
 * here, so crc32c(crc32c(0, a, na), b, nb) is the CRC of a followed by b). */
uint32_t crc32c(uint32_t crc, const void *data, size_t n);

#endif
