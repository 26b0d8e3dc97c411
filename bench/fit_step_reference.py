#!/usr/bin/env python3
"""bench/fit_step_reference.py — the official text-guided-mixup stage-1 training step in PyTorch, the anchor
lfm-fit is compared with (bench/bench_fit_cpu.sh; ../shared/DESIGN.md §6).

CLIP's visual tower built from plain torch.nn modules exactly as OpenAI's clip/model.py defines it
(VisionTransformer: conv1 without bias, class and positional embeddings, ln_pre, ResidualAttentionBlocks of
nn.MultiheadAttention and a QuickGELU MLP, ln_post, x @ proj), random initialisation; the step of the
official code's stage 1: features = visual(x), logits = normalize(features) @ T^T against C L2-normalised
text features (no temperature), soft-target cross-entropy -(y * log_softmax(logits)).sum(1).mean(), Adam
(lr 1e-6). Random pixels and soft targets (the step's cost does not depend on the values).

usage: fit_step_reference.py [--arch ViT-B/32] [--batch 32] [--classes 100] [--steps 3] [--warmup 1]
                             [--threads N]
Prints one line: "images/s RATE step_s SECONDS threads N" (the mean over the timed steps).
"""
import argparse
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
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)
        x = self.ln_post(x[:, 0, :])
        return x @ self.proj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ViT-B/32", choices=sorted(ARCHS))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    width, layers, patch, res, dim = ARCHS[a.arch]
    visual = VisionTransformer(res, patch, width, layers, width // 64, dim)
    visual.train()
    text = F.normalize(torch.randn(a.classes, dim), dim=-1)
    x = torch.randn(a.batch, 3, res, res)
    lam = torch.rand(a.batch, 1)
    y = torch.zeros(a.batch, a.classes)
    y[torch.arange(a.batch), torch.randint(a.classes, (a.batch,))] += lam[:, 0]
    y[torch.arange(a.batch), torch.randint(a.classes, (a.batch,))] += 1 - lam[:, 0]
    opt = torch.optim.Adam(visual.parameters(), lr=1e-6)

    def step():
        opt.zero_grad()
        f = visual(x)
        f = f / f.norm(dim=-1, keepdim=True)
        logits = f @ text.t()
        loss = torch.sum(-y * F.log_softmax(logits, dim=1), dim=1).mean()
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t) / a.steps
    print(f"images/s {a.batch / dt:.3f} step_s {dt:.3f} threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
