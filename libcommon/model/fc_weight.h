/* fc_weight.h — W_I, the stage-2 matrix, where it is stored: the tensor "fc.weight" [D, D] of a
 * checkpoint (formats/checkpoint.md), or, for a Hugging Face export directory (clip-export --to hf), the
 * tensor "weight" of DIR/fc.safetensors beside model.safetensors (kept out of model.safetensors so that
 * transformers loads it without an unexpected key; named so that nn.Linear(D, D, bias=False)
 * .load_state_dict reads it). nn.Linear layout [out, in]: f = W_I x. */
#ifndef LFM_FC_WEIGHT_H
#define LFM_FC_WEIGHT_H

#include <stddef.h>

#include "io/safetensors.h"

/* The file name of W_I in an export directory. */
#define HF_FC_FILE "fc.safetensors"

/* W_I of an open model (a file, or a directory: st_file.dir) as float32 [D, D] in *fc (freshly
 * allocated), or *fc NULL when there is none. 0, or -1 with "PATH: tensor ...: problem" in err (a shape
 * other than [D, D], a dtype other than F32/F16/BF16, a value that is not finite, an unreadable
 * fc.safetensors). */
int fc_weight_load(const st_file *f, int D, float **fc, char *err, size_t errsz);

#endif
