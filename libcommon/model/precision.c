/* precision.c — see precision.h. */
#include "model/precision.h"

#include <string.h>

const char *const lfm_precision_names[] = {"fp32", "tf32", "bf16", NULL};

const char *lfm_precision_name(lfm_precision p)
{
	return p >= 0 && p < LFM_PRECISION_COUNT ? lfm_precision_names[p] : "?";
}

int lfm_precision_parse(const char *name, lfm_precision *out)
{
	for (int i = 0; i < LFM_PRECISION_COUNT; i++)
		if (!strcmp(name, lfm_precision_names[i])) {
			*out = (lfm_precision)i;
			return 0;
		}
	return -1;
}
