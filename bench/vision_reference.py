#!/usr/bin/python3
"""vision_reference.py — OpenAI CLIP's VisionTransformer (clip/model.py) in PyTorch on the CPU, float32:
forward and forward+backward images/s at a batch, per thread count, to set next to
build/bench/bench_vision_cpu on the same machine.

    /usr/bin/python3 bench/vision_reference.py [--arch ViT-B/32] [--batch 8] [--threads 1,2,default]
        [--seconds 2]

Random weights (the VisionTransformer's own initialisation); random normalised pixels; the backward of
(features * a fixed random tensor).sum(), i.e. a fixed dL/dfeatures, as the C benchmark does. Each figure is
the best of repeated runs over at least --seconds after a warm-up (wall clock), with the images per CPU
second of the process in that run (the per-core rate, steadier on a shared machine). A thread count
sets both torch's threads and OpenBLAS's (Debian's torch does its matrix products in OpenBLAS, whose own
thread pool torch.set_num_threads leaves alone). Needs Debian's python3-torch.
"""
import argparse
import ctypes
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encode_text_reference import LayerNorm, Transformer  # noqa: E402  (clip/model.py's classes)

ARCHS = {  # resolution, patch, width, layers, embed
    "ViT-B/32": (224, 32, 768, 12, 512),
    "ViT-B/16": (224, 16, 768, 12, 512),
    "ViT-L/14": (224, 14, 1024, 24, 768),
}


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution: int, patch_size: int, width: int, layers: int, heads: int, output_dim: int):
        super().__init__()
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(in_channels=3, out_channels=width, kernel_size=patch_size, stride=patch_size, bias=False)

        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)

        self.transformer = Transformer(width, layers, heads)

        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x: torch.Tensor):
        x = self.conv1(x)  # shape = [*, width, grid, grid]
        x = x.reshape(x.shape[0], x.shape[1], -1)  # shape = [*, width, grid ** 2]
        x = x.permute(0, 2, 1)  # shape = [*, grid ** 2, width]
        x = torch.cat([self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device), x], dim=1)  # shape = [*, grid ** 2 + 1, width]
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)

        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)  # LND -> NLD

        x = self.ln_post(x[:, 0, :])

        if self.proj is not None:
            x = x @ self.proj

        return x


def openblas():
    """Debian's torch does its matrix products in the system BLAS (libblas.so.3 -> OpenBLAS), whose thread
    pool torch.set_num_threads does not govern: the same library, loaded again by soname, sets it."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_set_num_threads.argtypes = [ctypes.c_int]
        return lib
    except (OSError, AttributeError):
        return None


def best_of(fn, seconds):
    """(wall, cpu) seconds of the run with the best wall time; cpu: the process's, all threads."""
    fn()  # warm-up
    best, runs, start = (float("inf"), 0.0), 0, time.perf_counter()
    while runs < 2 or time.perf_counter() - start < seconds:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        w, c = time.perf_counter() - t0, time.process_time() - c0
        if w < best[0]:
            best = (w, c)
        runs += 1
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="ViT-B/32", choices=sorted(ARCHS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", default="1,2,default",
                    help="thread counts (torch and OpenBLAS alike), or 'default': torch's and OpenBLAS's own")
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    res, patch, width, layers, embed = ARCHS[args.arch]
    torch.manual_seed(0)
    model = VisionTransformer(res, patch, width, layers, width // 64, embed)
    x = torch.randn(args.batch, 3, res, res)
    dfeat = torch.randn(args.batch, embed) * 1e-3

    def forward():
        with torch.no_grad():
            model(x)

    def train_step():
        model.zero_grad(set_to_none=False)
        (model(x) * dfeat).sum().backward()

    print(f"PyTorch {torch.__version__} CLIP {args.arch} VisionTransformer, float32 CPU, batch {args.batch}, "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}; threads: torch.set_num_threads "
          f"{'and openblas_set_num_threads' if openblas() else '(OpenBLAS not found: its threads not set)'}")
    print(f"{'threads':>7} {'forward ms':>11} {'images/s':>9} {'img/cpu-s':>9} {'fwd+bwd ms':>11} {'images/s':>9} "
          f"{'img/cpu-s':>9}")
    blas = openblas()
    torch_default = torch.get_num_threads()
    for arg in args.threads.split(","):
        if arg == "default":  # torch's own thread count here, OpenBLAS's default (one per CPU)
            nt = f"torch {torch_default}, OpenBLAS {os.cpu_count()}"
            torch.set_num_threads(torch_default)
            if blas is not None:
                blas.openblas_set_num_threads(os.cpu_count())
        else:
            nt = int(arg)
            torch.set_num_threads(nt)
            if blas is not None:
                blas.openblas_set_num_threads(nt)
        f, fc = best_of(forward, args.seconds)
        t, tc = best_of(train_step, args.seconds)
        print(f"{nt!s:>7} {f * 1e3:>11.1f} {args.batch / f:>9.2f} {args.batch / fc:>9.2f} {t * 1e3:>11.1f} "
              f"{args.batch / t:>9.2f} {args.batch / tc:>9.2f}")


if __name__ == "__main__":
    main()
