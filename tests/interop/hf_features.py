"""tests/interop/hf_features.py — transformers' side of tests/cli/interop_hf.sh.

    hf_features.py DIR PIXELS.npy TOKENS.npy|- OUR_IMAGE.npy OUR_TEXT.npy|- [OUR_FC_IMAGE.npy]

Loads DIR (clip-export --to hf) with transformers.CLIPModel.from_pretrained (CLIPVisionModelWithProjection
when config.json names it: a vision tower alone, TOKENS and OUR_TEXT then '-'), capturing its logging and
warnings, and fails on any missing, unexpected or mismatched key or on a load warning. Then compares
get_image_features on PIXELS and get_text_features on TOKENS (int32 [M, 77], OpenAI's 0-padded layout)
with ours (clip_features: projected, not normalised), and, with OUR_FC_IMAGE (our W_I-applied,
normalised features), W_I from DIR/fc.safetensors applied as the README shows. Prints one line per
comparison, "NAME max_rel=X" (max |ours - theirs| / max |theirs|), and exits 1 when one exceeds 1e-5.
"""
import io
import logging
import os
import sys
import warnings

import numpy as np
import torch

TOL = 1e-5


def rel(ours, theirs):
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-30))


def pooled(out):
    # transformers >= 5 returns a BaseModelOutputWithPooling whose pooler_output is projected; 4.x a tensor
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def main():
    d, pixels, tokens, our_img, our_txt = sys.argv[1:6]
    our_fc = sys.argv[6] if len(sys.argv) > 6 else None
    import json

    import transformers
    from transformers import CLIPModel, CLIPVisionModelWithProjection

    with open(os.path.join(d, "config.json")) as f:
        arch = json.load(f)["architectures"][0]
    cls = {"CLIPModel": CLIPModel, "CLIPVisionModelWithProjection": CLIPVisionModelWithProjection}[arch]

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    transformers.logging.set_verbosity_warning()
    tlog = logging.getLogger("transformers")
    tlog.addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, info = cls.from_pretrained(d, output_loading_info=True)
    tlog.removeHandler(handler)
    failed = False
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(k):
            print(f"load: {k}: {sorted(info[k])}")
            failed = True
    text = log.getvalue() + "".join(str(w.message) for w in caught)
    for word in ("not initialized", "were not used", "missing", "unexpected", "newly initialized"):
        if word in text.lower():
            print(f"load: transformers said: {text.strip()[:600]}")
            failed = True
            break
    print(f"load: {arch}, missing {len(info.get('missing_keys', []))}, unexpected {len(info.get('unexpected_keys', []))}")
    model.eval()
    px = torch.from_numpy(np.load(pixels))
    with torch.no_grad():
        if cls is CLIPModel:
            img = pooled(model.get_image_features(pixel_values=px)).numpy()
        else:
            img = model(pixel_values=px).image_embeds.numpy()
    results = [("get_image_features" if cls is CLIPModel else "image_embeds", rel(np.load(our_img), img))]
    if tokens != "-":
        ids = torch.from_numpy(np.load(tokens).astype(np.int64))
        with torch.no_grad():
            txt = pooled(model.get_text_features(input_ids=ids)).numpy()
        results.append(("get_text_features", rel(np.load(our_txt), txt)))
    if our_fc:
        from safetensors.torch import load_file

        fc = torch.nn.Linear(img.shape[1], img.shape[1], bias=False)
        fc.load_state_dict(load_file(os.path.join(d, "fc.safetensors")))  # strict: the one tensor 'weight'
        with torch.no_grad():
            f = fc(torch.from_numpy(img))
            f = (f / f.norm(dim=-1, keepdim=True)).numpy()
        results.append(("W_I applied, normalised", rel(np.load(our_fc), f)))
    for name, r in results:
        print(f"{name} max_rel={r:.3g}")
        failed |= not r <= TOL
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
