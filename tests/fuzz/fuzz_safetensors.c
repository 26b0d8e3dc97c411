/* fuzz_safetensors.c — libFuzzer target for the safetensors reader (and through it the JSON parser):
 * st_parse on arbitrary bytes; for an accepted file every tensor is looked up by name and converted to
 * float32, so every byte the header claims is data is read, and every metadata key is looked up. */
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	st_file f;
	char err[512];
	if (st_parse(data, size, &f, err, sizeof err) != 0)
		return 0;
	for (size_t i = 0; i < f.n_tensors; i++) {
		const st_tensor *t = st_find(&f, f.tensors[i].name);
		if (!t)
			abort(); /* a parsed tensor must be found by its own name */
		float *v = malloc(t->count ? t->count * sizeof *v : 1);
		if (v)
			st_to_f32(t, v);
		free(v);
	}
	for (size_t i = 0; i < f.n_meta; i++)
		if (!st_meta(&f, f.meta_keys[i]))
			abort();
	st_close(&f);
	return 0;
}
