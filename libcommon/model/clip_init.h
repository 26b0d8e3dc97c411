/* clip_init.h — random CLIP weights exactly as constructing OpenAI's clip/model.py CLIP(...) would draw
 * them (the distributions, not PyTorch's random stream): CLIP.initialize_parameters for the text tower,
 * the VisionTransformer's own initialisation, and PyTorch's layer defaults for everything neither touches.
 *
 *   text:   token_embedding N(0, 0.02); positional_embedding N(0, 0.01); per block in_proj_weight
 *           N(0, W^-1/2), out_proj.weight and c_proj.weight N(0, W^-1/2 (2L)^-1/2), c_fc.weight
 *           N(0, (2W)^-1/2); text_projection N(0, W^-1/2)
 *   vision: class_embedding, positional_embedding, proj N(0, W^-1/2) (the VisionTransformer's scale * randn);
 *           conv1.weight U(+-1/sqrt(3 P^2)) (nn.Conv2d's default, kaiming_uniform with a = sqrt(5)); per
 *           block (left at PyTorch's defaults: initialize_parameters visits only the text blocks)
 *           in_proj_weight U(+-sqrt(6 / 4W)) (xavier_uniform), out_proj.weight and c_fc.weight
 *           U(+-1/sqrt(W)), c_proj.weight U(+-1/sqrt(4W)) (nn.Linear's default)
 *   both:   in_proj_bias and out_proj.bias 0 (nn.MultiheadAttention); c_fc.bias U(+-1/sqrt(W)) and
 *           c_proj.bias U(+-1/sqrt(4W)) (nn.Linear's default); LayerNorm weight 1, bias 0;
 *           logit_scale log(1 / 0.07)
 *
 * Each tensor draws from its own random stream, keyed by the seed and the tensor's OpenAI name, so a
 * tensor's values do not depend on the others (the text tower is the same whether or not the vision tower
 * is made). */
#ifndef LFM_CLIP_INIT_H
#define LFM_CLIP_INIT_H

#include <stdint.h>

#include "model/clip_config.h"
#include "model/clip_weights.h"

/* Allocate the towers `towers` of configuration c in m (OpenAI naming) and fill them as above. */
void clip_model_init_random(clip_model *m, const clip_config *c, int towers, uint64_t seed);

#endif
