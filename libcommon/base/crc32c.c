/* crc32c.c — see crc32c.h. */
#include "base/crc32c.h"

#include <pthread.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* Entry b: the CRC of byte b alone, without conditioning, shifting right (the reflected form). */
static void build_table(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[b] = c;
	}
}

uint32_t crc32c(uint32_t crc, const void *data, size_t n)
{
	pthread_once(&table_once, build_table);
	const unsigned char *p = data;
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}
