#!/usr/bin/python3
"""make_clip_weights_seeds.py — writes the seed corpus of fuzz_clip_weights into
tests/fuzz/corpus/fuzz_clip_weights/: tiny CLIP checkpoints (a few hundred bytes to a few kB) at minimal
shapes, valid ones under both namings and in F32/F16/BF16, and broken ones, each a near miss of a valid
file. Deterministic; run from the repository root with Debian's python3 + numpy.

Minimal shapes: embed 4; text: vocabulary 10, context 6, width 8, 1 layer; vision: resolution 4, patch 2
(2 x 2 grid + class token = 5 tokens), width 8, 1 layer. Widths are not multiples of 64, so these load
only with the head counts given (the fuzz target tries both)."""
import json
import os
import struct

import numpy as np

OUT = "tests/fuzz/corpus/fuzz_clip_weights"
D, V, CTX, TW, VW, P, R = 4, 10, 6, 8, 8, 2, 4
G = R // P


def block_shapes(W):
    return [("ln_1.weight", [W]), ("ln_1.bias", [W]), ("attn.in_proj_weight", [3 * W, W]),
            ("attn.in_proj_bias", [3 * W]), ("attn.out_proj.weight", [W, W]), ("attn.out_proj.bias", [W]),
            ("ln_2.weight", [W]), ("ln_2.bias", [W]), ("mlp.c_fc.weight", [4 * W, W]), ("mlp.c_fc.bias", [4 * W]),
            ("mlp.c_proj.weight", [W, 4 * W]), ("mlp.c_proj.bias", [W])]


HF_BLOCK = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
            "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}


def openai_shapes(layers=1, text=True, vision=True):
    s = {}
    if text:
        s["token_embedding.weight"] = [V, TW]
        s["positional_embedding"] = [CTX, TW]
        for l in range(layers):
            for n, sh in block_shapes(TW):
                s[f"transformer.resblocks.{l}.{n}"] = sh
        s["ln_final.weight"] = [TW]
        s["ln_final.bias"] = [TW]
        s["text_projection"] = [TW, D]
    if vision:
        s["visual.conv1.weight"] = [VW, 3, P, P]
        s["visual.class_embedding"] = [VW]
        s["visual.positional_embedding"] = [G * G + 1, VW]
        s["visual.ln_pre.weight"] = [VW]
        s["visual.ln_pre.bias"] = [VW]
        for l in range(layers):
            for n, sh in block_shapes(VW):
                s[f"visual.transformer.resblocks.{l}.{n}"] = sh
        s["visual.ln_post.weight"] = [VW]
        s["visual.ln_post.bias"] = [VW]
        s["visual.proj"] = [VW, D]
    return s


def hf_shapes():
    s = {"text_model.embeddings.token_embedding.weight": [V, TW],
         "text_model.embeddings.position_embedding.weight": [CTX, TW],
         "text_model.final_layer_norm.weight": [TW], "text_model.final_layer_norm.bias": [TW],
         "text_projection.weight": [D, TW],
         "vision_model.embeddings.patch_embedding.weight": [VW, 3, P, P],
         "vision_model.embeddings.class_embedding": [VW],
         "vision_model.embeddings.position_embedding.weight": [G * G + 1, VW],
         "vision_model.pre_layrnorm.weight": [VW], "vision_model.pre_layrnorm.bias": [VW],
         "vision_model.post_layernorm.weight": [VW], "vision_model.post_layernorm.bias": [VW],
         "visual_projection.weight": [D, VW]}
    for prefix, W in (("text_model.encoder.layers.0.", TW), ("vision_model.encoder.layers.0.", VW)):
        for n, sh in block_shapes(W):
            if n.startswith("attn.in_proj"):
                for q in "qkv":
                    s[prefix + f"self_attn.{q}_proj." + n.split("_")[-1]] = [sh[0] // 3] + sh[1:]
                continue
            base, leaf = n.rsplit(".", 1)
            s[prefix + HF_BLOCK[base] + "." + leaf] = sh
    return s


def values(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(int(np.prod(shape)) if shape else 1).astype(np.float32) * 0.5


def encode(a, dt):
    if dt == "F32":
        return a.astype("<f4").tobytes()
    if dt == "F16":
        return a.astype("<f2").tobytes()
    if dt == "BF16":
        return (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    if dt == "I64":
        return a.astype("<i8").tobytes()
    if dt == "I32":
        return a.astype("<i4").tobytes()
    raise ValueError(dt)


def safetensors(tensors, meta=None):
    """tensors: name -> (dtype, shape, bytes)."""
    header, off, blobs = {}, 0, []
    for name in sorted(tensors):
        dt, shape, data = tensors[name]
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def model(shapes, dt="F32", dtypes=None):
    t = {}
    for i, (name, sh) in enumerate(sorted(shapes.items())):
        d = (dtypes or {}).get(name, dt)
        t[name] = (d, sh, encode(values(sh, i), d))
    return t


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {}
    for dt in ("F32", "F16", "BF16"):
        seeds[f"openai_{dt.lower()}"] = safetensors(model(openai_shapes(), dt), {"format": "pt"})
    hf = model(hf_shapes(), "F16")
    hf["text_model.embeddings.position_ids"] = ("I64", [1, CTX], encode(np.arange(CTX), "I64"))
    seeds["hf_f16_position_ids"] = safetensors(hf)
    seeds["text_only"] = safetensors(model(openai_shapes(vision=False), "F32"))
    seeds["vision_only"] = safetensors(model(openai_shapes(text=False), "BF16"))
    t = model(openai_shapes(layers=2), "F16")  # resblock 1 of the text tower missing one tensor
    del t["transformer.resblocks.1.mlp.c_fc.bias"]
    seeds["two_layers_missing_tensor"] = safetensors(t)
    t = model(openai_shapes(), "F32")  # layer 0 and layer 3 only: a gap
    for k in [k for k in t if k.startswith("transformer.resblocks.0.")]:
        t[k.replace(".0.", ".3.")] = t[k]
    seeds["layer_gap"] = safetensors(t)
    sh = openai_shapes()
    sh["visual.proj"] = [VW, D + 1]  # embedding widths disagree between the towers
    seeds["embed_mismatch"] = safetensors(model(sh, "F32"))
    sh = openai_shapes()
    sh["visual.positional_embedding"] = [G * G + 2, VW]  # not a square grid + 1
    seeds["pos_not_square"] = safetensors(model(sh, "F32"))
    sh = openai_shapes()
    sh["transformer.resblocks.0.attn.in_proj_weight"] = [3 * TW, TW + 1]
    seeds["qkv_misshaped"] = safetensors(model(sh, "F32"))
    seeds["int_dtype"] = safetensors(model(openai_shapes(), "F32", {"ln_final.weight": "I32"}))
    sh = openai_shapes()
    sh["visual.conv1.weight"] = [VW, 3, P, P + 1]  # non-square patch
    seeds["conv_not_square"] = safetensors(model(sh, "F16"))
    t = model(openai_shapes(), "F32")
    t["visual.class_embedding"] = ("F32", [VW], encode(np.full(VW, np.nan), "F32"))
    t["token_embedding.weight"] = ("F32", [V, TW], encode(np.full(V * TW, np.inf), "F32"))
    seeds["nan_inf_values"] = safetensors(t)
    whole = seeds["openai_f16"]
    seeds["truncated"] = whole[:len(whole) // 2]
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(blob)
        print(f"{name}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
