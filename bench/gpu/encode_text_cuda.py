#!/usr/bin/env python3
"""bench/gpu/encode_text_cuda.py — OpenAI CLIP's encode_text in PyTorch on a GPU, as a whole command doing what
`clip-embed-text --device cuda` does: the anchor of scripts/gpu-bench.sh's text-feature row.

    python3 bench/gpu/encode_text_cuda.py --model FILE --classes FILE [--template T] [--device cuda]
        [--dtype float32|bf16] [--batch N] -o OUT.npy

The model, tokenizer and weight reader are bench/encode_text_reference.py's (the text half of OpenAI's
clip/model.py written out, a faithful simple_tokenizer.py, safetensors parsed with json + numpy): this file
only moves the model and the token ids to the device, runs encode_text there (all prompts in one call by
default, as CLIP's README does; bf16: under torch.autocast(dtype=torch.bfloat16)), normalises, copies the
features back and saves them as float32 [C, D] .npy. The whole command is timed by the caller (process
start and `import torch` included, as a user would see it); this prints one line of its own phases:

    load_s=S tokenize_s=S encode_s=S save_s=S prompts=N device=DEV dtype=D torch=VERSION

encode_s runs from the model's move to the device to the features on the host (torch.cuda.synchronize()
before the clock is read), so it includes CUDA's start-up and the kernels' first-use costs.
Needs torch, numpy and regex (all in the GPU machine's image).
"""
import argparse
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import numpy as np  # noqa: E402
import torch  # noqa: E402

import encode_text_reference as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="OpenAI CLIP encode_text in PyTorch on a GPU (benchmark anchor)")
    ap.add_argument("--model", required=True, help="safetensors weights, OpenAI names")
    ap.add_argument("--classes", required=True, help="class names, one a line")
    ap.add_argument("--template", default="a photo of a {}")
    ap.add_argument("--vocab", default=os.path.join(here, "..", "..", "data", "clip", "bpe_simple_vocab_16e6.txt.gz"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bf16"])
    ap.add_argument("--batch", type=int, default=0, help="prompts per encode_text call (0: all)")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    t0 = time.perf_counter()
    with open(a.classes, encoding="utf-8") as f:
        names = [line.rstrip("\n").rstrip("\r") for line in f]
    prompts = [a.template.replace("{}", c, 1) for c in names]
    model = ref.build_model(ref.load_text_state(a.model))
    t1 = time.perf_counter()
    tokenizer = ref.SimpleTokenizer(a.vocab)
    text = ref.tokenize(tokenizer, prompts, context_length=model.context_length)
    t2 = time.perf_counter()
    dev = torch.device(a.device)
    model = model.to(dev)
    text = text.to(dev)
    batch = a.batch or len(prompts)
    with torch.no_grad(), torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.dtype == "bf16"):
        feats = torch.cat([model.encode_text(text[i:i + batch]).float() for i in range(0, len(prompts), batch)])
        feats = feats / feats.norm(dim=-1, keepdim=True)
    out = feats.cpu().numpy().astype(np.float32)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t3 = time.perf_counter()
    np.save(a.output, out)
    t4 = time.perf_counter()
    print(f"load_s={t1 - t0:.3f} tokenize_s={t2 - t1:.3f} encode_s={t3 - t2:.3f} save_s={t4 - t3:.3f} "
          f"prompts={len(prompts)} device={a.device} dtype={a.dtype} torch={torch.__version__}", flush=True)


if __name__ == "__main__":
    main()
