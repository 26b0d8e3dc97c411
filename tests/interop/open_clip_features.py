"""tests/interop/open_clip_features.py — open_clip's side of tests/cli/interop_hf.sh.

    open_clip_features.py CONFIG.json CKPT.safetensors PIXELS.npy TOKENS.npy OUR_IMAGE.npy OUR_TEXT.npy

Registers CONFIG.json (clip-export --to open-clip-config) with open_clip.add_model_config, builds the
model with create_model(name), loads our OpenAI-named CKPT minus fc.weight with load_state_dict(strict=
True), and compares encode_image / encode_text with ours (clip_features). Prints "NAME max_rel=X" lines
and exits 1 when one exceeds 1e-5 or the state dict does not load strictly.
"""
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

TOL = 1e-5


def rel(ours, theirs):
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-30))


def main():
    config, ckpt, pixels, tokens, our_img, our_txt = sys.argv[1:7]
    import open_clip
    from safetensors.torch import load_file

    # open_clip names a model after its configuration file's stem
    tmp = tempfile.mkdtemp()
    name = "lfm-export-test"
    shutil.copy(config, os.path.join(tmp, name + ".json"))
    open_clip.add_model_config(os.path.join(tmp, name + ".json"))
    model = open_clip.create_model(name, pretrained=None)
    shutil.rmtree(tmp)
    sd = load_file(ckpt)
    fc = sd.pop("fc.weight", None)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        print(f"load_state_dict(strict=True): {e}")
        sys.exit(1)
    print(f"load: strict, {len(sd)} tensors{', fc.weight set aside' if fc is not None else ''}")
    model.eval()
    with torch.no_grad():
        img = model.encode_image(torch.from_numpy(np.load(pixels))).numpy()
        txt = model.encode_text(torch.from_numpy(np.load(tokens).astype(np.int64))).numpy()
    failed = False
    for n, r in (("encode_image", rel(np.load(our_img), img)), ("encode_text", rel(np.load(our_txt), txt))):
        print(f"{n} max_rel={r:.3g}")
        failed |= not r <= TOL
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
