/* fuzz_npy.c — libFuzzer target for the .npy reader: npy_parse on arbitrary bytes, both with and without
 * the bfloat16 reading of 16-bit arrays; accepted arrays are converted to float32 so every byte the
 * parser claims is data is read. */
#include <stdint.h>
#include <stdlib.h>

#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int u2_is_bf16 = 0; u2_is_bf16 <= 1; u2_is_bf16++) {
		npy_array a;
		char err[256];
		if (npy_parse(data, size, u2_is_bf16, &a, err, sizeof err) != 0)
			continue;
		float *f = malloc(a.count ? a.count * sizeof *f : 1);
		if (f)
			dtype_to_f32(a.dtype, a.data, f, a.count);
		free(f);
		npy_free(&a);
	}
	return 0;
}
