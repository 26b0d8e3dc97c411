/* checkpoint.h — lfm-fit's checkpoints (formats/checkpoint.md) and resume files (lfm-fit(1), FILES).
 *
 * A checkpoint is a safetensors file that loads back wherever the weights came from:
 *   - the vision tower, float32, under the names the weights were loaded with (OpenAI/open_clip or
 *     Hugging Face CLIPModel; clip_weights.h);
 *   - every other tensor of the file the run started from — the text tower, logit_scale, HF's
 *     position_ids buffers, anything else — copied unchanged (same name, dtype and bytes), except an old
 *     fc.weight;
 *   - fc.weight [D, D] (W_I, nn.Linear layout [out, in]) when given (stage 2);
 *   - __metadata__: "format" "pt", "naming", "config" (the architecture of the towers the file holds),
 *     the source file's other metadata keys, then the caller's key/value pairs (which win).
 * Written through st_writer_save: a temporary file renamed into place, so a reader never sees a partial
 * checkpoint and a failure keeps the previous one.
 *
 * A resume file holds what the checkpoint does not and an exact continuation needs: Adam's two moments
 * under the trained tensors' names prefixed "adam.m." and "adam.v." (float32, in the file's layout, so
 * "adam.m.visual.proj" has visual.proj's shape), and in __metadata__ "lfm.format" "lfm.resume/1" plus the
 * caller's counters (step, records, ...). Its path is the checkpoint's with ".safetensors" replaced by
 * ".resume.safetensors" (or that suffix appended); the next one, written before the checkpoint it goes
 * with and renamed over the resume file after it, ".resume.next.safetensors" (lfm-checkpoint(5), Saving).
 * A resume file names its checkpoint by step and by checkpoint_hash: the hash of the checkpoint's tensors
 * (names, dtypes and bytes), so a resume file never continues another run's checkpoint.
 */
#ifndef LFM_CHECKPOINT_H
#define LFM_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "model/clip_weights.h"

/* The checkpoint format's kind/version (metadata "lfm.format"). */
#define CHECKPOINT_FORMAT "lfm.checkpoint/1"
#define RESUME_FORMAT "lfm.resume/1"

/* Write a checkpoint of m's vision tower (m->cfg, m->naming) to path, with the other tensors of source
 * (the open file the run started from), fc when not NULL, and meta: a NULL-terminated list key, value,
 * key, value, ... (NULL for none). Dies on I/O errors (LFM_EXIT_IO). */
void checkpoint_save(const char *path, const st_file *source, const clip_model *m, const float *fc,
		     const char *const *meta);

/* The same in two halves, for a caller that must know the checkpoint's hash before it is written (the
 * resume file that names it goes first): checkpoint_prepare collects the tensors and metadata (nothing
 * written; source, m, fc and meta must stay valid until checkpoint_write) and stores the tensors' hash in
 * *hash (checkpoint_hash of the file it will write); checkpoint_write writes it to path and frees it. */
typedef struct checkpoint_writer checkpoint_writer;
checkpoint_writer *checkpoint_prepare(const st_file *source, const clip_model *m, const float *fc,
				      const char *const *meta, uint64_t *hash);
void checkpoint_write(checkpoint_writer *cw, const char *path);
/* The hash of an open checkpoint's tensors: a commutative sum over its tensors of a 64-bit hash of the
 * name, dtype and bytes (the order of the header does not matter). */
uint64_t checkpoint_hash(const st_file *f);

/* The resume file's path for a checkpoint path, and the next resume file's (freshly allocated). */
char *checkpoint_resume_path(const char *ckpt_path);
char *checkpoint_resume_next_path(const char *ckpt_path);

/* Write a resume file: stage 1 — m and v are vision-tower parameter blocks (c, naming give the names);
 * stage 2 — m and v are [D, D] arrays named after fc.weight. meta as above. Atomic. */
void resume_save(const char *path, const clip_config *c, clip_naming naming, int stage, const float *m,
		 const float *v, const char *const *meta);
/* Read the moments of an open resume file into m and v (laid out as resume_save takes them). 0, or -1 with
 * a message naming the file and the tensor in err. */
int resume_load(const st_file *f, const clip_config *c, clip_naming naming, int stage, float *m, float *v,
		char *err, size_t errsz);

#endif
