/* export.h — clip-export's parts: the model as read (main.c), the output directory written aside and
 * renamed into place (out_dir.c), and open_clip's model configuration (open_clip_config.c). */
#ifndef CLIP_EXPORT_H
#define CLIP_EXPORT_H

#include "io/safetensors.h"
#include "model/clip_config.h"

/* ---- out_dir.c: a directory output, atomically ----
 * out_dir_begin makes DIR.tmp.XXXXXX beside DIR (removed with its contents if the process exits, or is
 * stopped by SIGINT, SIGTERM or SIGHUP, before out_dir_commit) and returns its path; out_dir_commit syncs it and puts it in DIR's place: renamed when
 * DIR does not exist (or is an empty folder); exchanged with it (renameat2 RENAME_EXCHANGE) and the old
 * contents removed when DIR holds only the files an export writes (names: NULL-terminated list); any
 * other DIR is refused (exit 2) by out_dir_begin, before any work, so nothing of the user's is removed. */
const char *out_dir_begin(const char *dir, const char *const *names);
void out_dir_commit(void);

/* ---- open_clip_config.c ----
 * open_clip's model configuration for c (both towers), as open_clip's model_configs/ JSON files spell it:
 * embed_dim, quick_gelu true, vision_cfg {image_size, layers, width, patch_size, head_width}, text_cfg
 * {context_length, vocab_size, width, heads, layers}. Freshly allocated. */
char *open_clip_config_json(const clip_config *c);

#endif
