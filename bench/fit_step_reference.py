#!/usr/bin/env python3
"""bench/fit_step_reference.py — the official text-guided-mixup training step in PyTorch, the anchor lfm-fit
is compared with (bench/bench_fit_cpu.sh on the CPU, scripts/gpu-bench.sh on a GPU; ../shared/DESIGN.md §6).

CLIP's visual tower built from plain torch.nn modules exactly as OpenAI's clip/model.py defines it
(VisionTransformer: conv1 without bias, class and positional embeddings, ln_pre, ResidualAttentionBlocks of
nn.MultiheadAttention and a QuickGELU MLP, ln_post, x @ proj), random initialisation. Random pixels and
soft targets (the step's cost does not depend on the values). The phases (--stage):

  1     the official stage-1 step: features = visual(x), logits = normalize(features) @ T^T against C
        L2-normalised text features (no temperature), soft-target cross-entropy
        -(y * log_softmax(logits)).sum(1).mean(), backward, Adam (lr 1e-6) on the tower
  2     stage 2: the tower frozen (forward under no_grad), f = fc(visual(x)) with fc an nn.Linear(d, d,
        bias=False) initialised to the identity, the same logits and loss, Adam (lr 1e-2) on fc
  eval  the validation pass: no_grad forward, W applied, cosine logits, argmax copied to the host

Precisions (--dtype): float32 (torch's defaults: the official configuration; TF32 off for matrix products,
cuDNN's default for the patch convolution), tf32 (torch.backends.cuda.matmul.allow_tf32 = True and
cudnn.allow_tf32 = True), bf16 (torch.autocast(dtype=torch.bfloat16) around forward and loss; backward
and Adam outside it, parameters and moments float32; no grad scaler is needed for bf16).

usage: fit_step_reference.py [--arch ViT-B/32] [--batch 32[,128...]] [--classes 100] [--steps 3]
                             [--warmup 1] [--threads N] [--device cpu|cuda] [--dtype float32[,bf16...]]
                             [--stage 1[,2,eval]] [--compile]

--batch, --dtype and --stage take comma-separated lists: every combination is measured in this one
process (one model build, one CUDA start-up), in the order stage, dtype, batch. Each one prints one line:

  images/s RATE step_s SECONDS threads N images_per_s=RATE ms_per_step=MS ms_median=MS stage=S
  dtype=D batch=B steps=K warmup=W device=DEV arch=A torch=VERSION tf32_matmul=0|1 tf32_cudnn=0|1

The first six words are the format bench/bench_fit_cpu.sh reads (set -- $(cat out); $2, $4, $6); the
key=value pairs after them are for scripts/gpu-bench.sh. RATE is batch * steps / (time of the timed
steps); ms_median the median of the timed steps. Every step ends in a host read of its loss (the official
loop's loss.item()), so each is synchronous; on CUDA the clock is also read after torch.cuda.synchronize()
only. A configuration that fails (out of memory, torch.compile missing) prints "error=..." in place of
the figures and the others still run; the exit status is then 1.
"""
import argparse
import statistics
import sys
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

ARCHS = {  # width, layers, patch, resolution, embed_dim (OpenAI's configurations)
    "tiny": (128, 2, 8, 32, 64),
    "ViT-B/32": (768, 12, 32, 224, 512),
    "ViT-B/16": (768, 12, 16, 224, 512),
    "ViT-L/14": (1024, 24, 14, 224, 768),
}


class LayerNorm(nn.LayerNorm):
    """OpenAI's: computes in float32 whatever the input dtype."""

    def forward(self, x):
        orig = x.dtype
        return super().forward(x.type(torch.float32)).type(orig)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(d_model * 4, d_model)),
        ]))
        self.ln_2 = LayerNorm(d_model)

    def attention(self, x):
        return self.attn(x, x, x, need_weights=False)[0]

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution, patch_size, width, layers, heads, output_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype,
                                                              device=x.device)
        x = torch.cat([cls, x], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)
        x = self.ln_post(x[:, 0, :])
        return x @ self.proj


DTYPES = {"float32": "float32", "fp32": "float32", "tf32": "tf32", "bf16": "bf16", "bfloat16": "bf16"}
STAGES = ("1", "2", "eval")


def csv(kind, allowed=None):
    """An argparse type: a comma-separated list (of ints when kind is int, else of names in allowed)."""
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError("empty list")
        if kind is int:
            try:
                out = [int(t) for t in items]
            except ValueError:
                raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}")
            if min(out) < 1:
                raise argparse.ArgumentTypeError("values must be >= 1")
            return out
        bad = [t for t in items if t not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"{bad[0]!r}: choose from {', '.join(sorted(allowed))}")
        return [allowed[t] if isinstance(allowed, dict) else t for t in items]
    return parse


TF32_DEFAULTS = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)


def set_tf32(on):
    """tf32: TF32 for matrix products and cuDNN; otherwise torch's defaults (products off, cuDNN on)."""
    try:
        torch.backends.cuda.matmul.allow_tf32 = True if on else TF32_DEFAULTS[0]
        torch.backends.cudnn.allow_tf32 = True if on else TF32_DEFAULTS[1]
    except RuntimeError:  # a torch that refuses the older switches: its fp32_precision settings (2.9+)
        torch.backends.cuda.matmul.fp32_precision = "tf32" if on else ("tf32" if TF32_DEFAULTS[0] else "ieee")
        torch.backends.cudnn.conv.fp32_precision = "tf32" if on else ("tf32" if TF32_DEFAULTS[1] else "ieee")


def tf32_state():
    try:
        return int(torch.backends.cuda.matmul.allow_tf32), int(torch.backends.cudnn.allow_tf32)
    except RuntimeError:
        return (int(torch.backends.cuda.matmul.fp32_precision == "tf32"),
                int(torch.backends.cudnn.conv.fp32_precision == "tf32"))


def make_step(stage, visual, fc, x, y, text, dtype, dev):
    """The step of one phase as a function returning a host float (loss, or the predictions' sum)."""
    amp = dtype == "bf16"

    def autocast():
        return torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp)

    if stage == "1":
        opt = torch.optim.Adam(visual.parameters(), lr=1e-6)

        def step():
            opt.zero_grad()
            with autocast():
                f = visual(x)
                f = f / f.norm(dim=-1, keepdim=True)
                logits = f @ text.t()
                loss = torch.sum(-y * F.log_softmax(logits.float(), dim=1), dim=1).mean()
            loss.backward()
            opt.step()
            return loss.item()
    elif stage == "2":
        opt = torch.optim.Adam(fc.parameters(), lr=1e-2)

        def step():
            opt.zero_grad()
            with autocast():
                with torch.no_grad():
                    f0 = visual(x)
                f = fc(f0)
                f = f / f.norm(dim=-1, keepdim=True)
                logits = f @ text.t()
                loss = torch.sum(-y * F.log_softmax(logits.float(), dim=1), dim=1).mean()
            loss.backward()
            opt.step()
            return loss.item()
    else:
        def step():
            with torch.no_grad(), autocast():
                f = fc(visual(x))
                f = f / f.norm(dim=-1, keepdim=True)
                pred = (f @ text.t()).argmax(dim=1)
            return float(pred.cpu().sum())
    return step


def measure(a, dev, stage, dtype, batch, width, layers, patch, res, dim):
    torch.manual_seed(0)
    set_tf32(dtype == "tf32")
    visual = VisionTransformer(res, patch, width, layers, width // 64, dim).to(dev)
    visual.train(stage == "1")
    if stage != "1":
        visual.requires_grad_(False)
    fc = nn.Linear(dim, dim, bias=False).to(dev)
    with torch.no_grad():
        fc.weight.copy_(torch.eye(dim))
    text = F.normalize(torch.randn(a.classes, dim), dim=-1).to(dev)
    x = torch.randn(batch, 3, res, res).to(dev)
    lam = torch.rand(batch, 1)
    y = torch.zeros(batch, a.classes)
    y[torch.arange(batch), torch.randint(a.classes, (batch,))] += lam[:, 0]
    y[torch.arange(batch), torch.randint(a.classes, (batch,))] += 1 - lam[:, 0]
    y = y.to(dev)
    if a.compile:
        if not hasattr(torch, "compile"):
            raise RuntimeError(f"torch {torch.__version__} has no torch.compile")
        visual = torch.compile(visual)
    step = make_step(stage, visual, fc, x, y, text, dtype, dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for _ in range(a.warmup):
        step()
    sync()
    times = []
    t0 = time.perf_counter()
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - t0
    return batch * a.steps / total, total / a.steps, statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description="the official training step in PyTorch (benchmark anchor)")
    ap.add_argument("--arch", default="ViT-B/32", choices=sorted(ARCHS))
    ap.add_argument("--batch", type=csv(int), default=[32], help="images per step; a list: 32,128")
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--steps", type=int, default=3, help="timed steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--dtype", type=csv(str, DTYPES), default=["float32"], help="float32, tf32, bf16; a list")
    ap.add_argument("--stage", type=csv(str, {s: s for s in STAGES}), default=["1"], help="1, 2, eval; a list")
    ap.add_argument("--compile", action="store_true", help="torch.compile the tower (torch >= 2)")
    a = ap.parse_args()
    if a.steps < 1 or a.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"fit_step_reference.py: --device {a.device}: torch {torch.__version__} sees no CUDA device")
    if dev.type == "cpu" and "tf32" in a.dtype:
        ap.error("--dtype tf32 needs a CUDA device")
    width, layers, patch, res, dim = ARCHS[a.arch]
    failed = False
    for stage in a.stage:
        for dtype in a.dtype:
            for batch in a.batch:
                common = (f"stage={stage} dtype={dtype} batch={batch} steps={a.steps} warmup={a.warmup} "
                          f"device={a.device} arch={a.arch} torch={torch.__version__}")
                try:
                    ips, dt, med = measure(a, dev, stage, dtype, batch, width, layers, patch, res, dim)
                except Exception as e:  # keep going: the other configurations still measure
                    failed = True
                    msg = " ".join(str(e).split())[:200].replace(" ", "_")
                    print(f"images/s - step_s - threads {torch.get_num_threads()} error={type(e).__name__}:{msg} "
                          f"{common}", flush=True)
                    if dev.type == "cuda":
                        torch.cuda.empty_cache()
                    continue
                tf32m, tf32c = tf32_state()
                print(f"images/s {ips:.3f} step_s {dt:.3f} threads {torch.get_num_threads()} "
                      f"images_per_s={ips:.3f} ms_per_step={1e3 * dt:.3f} ms_median={1e3 * med:.3f} {common} "
                      f"tf32_matmul={tf32m} tf32_cudnn={tf32c}", flush=True)
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
