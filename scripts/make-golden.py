#!/usr/bin/python3
"""make-golden.py — write a golden folder like ../shared/golden/tiny-clip for any CLIP size.

    /usr/bin/python3 scripts/make-golden.py -o DIR [--from SRC] [config options] [--seed N]
                                            [--weights FILE] [--pairs-from DIR] [--compare-with DIR]

The model is OpenAI's clip/model.py written out again here (ViT image tower, causal text tower,
nn.MultiheadAttention, QuickGELU, pre-LayerNorm blocks with the float32 LayerNorm, `x @ proj`
projections, features at the argmax token), initialised as OpenAI's initialize_parameters does (PyTorch's
defaults for what it leaves alone), then every LayerNorm weight and every bias nudged by N(0, 0.02) so that
a checker cannot pass with LayerNorm = identity or biases ignored (the shared tiny-clip did the same, except
that it left attn.in_proj_bias at zero; here it is nudged too, so the query/value biases are exercised).
With the tiny config and seed 0 the tensors left un-nudged equal tiny-clip's model.safetensors bit for bit
(the same construction order draws the same random numbers as OpenAI's CLIP(...)).
The weights are rounded to float16 and saved (OpenAI names in model.safetensors, Hugging Face CLIPModel
names in model-hf.safetensors); everything is then computed in float32 on exactly those rounded values,
on the CPU, by PyTorch — the tiny-clip recipe of ../shared/README.md:

  tokens.tsv, images/         copied from SRC (neither depends on the model size)
  text_prompts.txt            copied from SRC (100 CIFAR-100 prompts)
  text_tokens.npy             int32 [100, context]: the ids of SRC/tokens.tsv (OpenAI's clip.tokenize);
                              --tokenizer cli asks bin/clip-embed-text --tokenize instead
  text_features.npy           encode_text(text_tokens), float32 [100, embed]
  pixels.npy                  CLIP's _transform (PIL bicubic resize of the short side, centre crop with
                              int(round(...)), /255, normalise) of images/[0-9]*.jpg at the model's resolution
  pixels_224.npy, pixels_rect_224.npy   the same at 224 (independent of the model; recomputed)
  image_features.npy          encode_image(pixels)
  train_text_features.npy     L2-normalised encode_text of "a photo of a {cifar10 class}"
  train_counts.npy            CIFAR-10-LT counts at imbalance 100: int(5000 * 0.01 ** (k / 9))
  train_pairs.npy, train_lambda.npy   a random permutation pairing of the 8 images, lambda_x ~ Beta(1, 1),
                              lambda_y = clamp(lambda_x - 1.0 * (n_i - n_j) / (n_i + n_j), 0, 1)
                              (--pairs-from DIR takes both from DIR instead)
  train_x.npy, train_y.npy    lambda_x x_i + (1 - lambda_x) x_j; lambda_y e_yi + (1 - lambda_y) e_yj
  stage1_logits.npy, stage1_grads_step1.safetensors, stage1_params_step3.safetensors
                              logits = normalize(visual(x)) @ T^T (no temperature), mean soft-target CE,
                              Adam (lr 1e-4, betas 0.9/0.999, eps 1e-8) on visual.*, 3 steps, same batch
  stage2_grads_step1.safetensors, stage2_params_step3.safetensors
                              visual frozen at stage 1's result, fc.weight = I applied as W f, lr 1e-2
  mms_logits.npy, mms_dlogits.npy   logits of the model after both stages, and d(MMS)/d(logits)
  reference.json              config, seed, Adam settings, the losses

Validation: `--weights ../shared/golden/tiny-clip/model.safetensors --pairs-from ../shared/golden/tiny-clip
--compare-with ../shared/golden/tiny-clip` with the tiny config reproduces the shared folder (worst
differences printed per file). Needs Debian's python3-torch, python3-numpy and python3-pil; run with
/usr/bin/python3. No other package: safetensors is read and written with json + numpy.
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CONFIG_KEYS = ["embed_dim", "image_resolution", "vision_layers", "vision_width", "vision_patch_size",
               "context_length", "vocab_size", "transformer_width", "transformer_heads", "transformer_layers"]
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
STAGE1_LR, STAGE2_LR, STEPS = 1e-4, 1e-2, 3
MMS_L, MMS_TEMP = 0.3, 0.01
PERTURB_STD = 0.02


# ---- OpenAI's clip/model.py (the ViT variant), names and arithmetic as there --------------------------

class LayerNorm(nn.LayerNorm):
    """Subclass torch's LayerNorm to handle fp16 (OpenAI's)."""

    def forward(self, x):
        orig_type = x.dtype
        ret = super().forward(x.type(torch.float32))
        return ret.type(orig_type)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(d_model * 4, d_model)),
        ]))
        self.ln_2 = LayerNorm(d_model)
        self.attn_mask = attn_mask

    def attention(self, x):
        self.attn_mask = self.attn_mask.to(dtype=x.dtype, device=x.device) if self.attn_mask is not None else None
        return self.attn(x, x, x, need_weights=False, attn_mask=self.attn_mask)[0]

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask=None):
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution, patch_size, width, layers, heads, output_dim):
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

    def forward(self, x):
        x = self.conv1(x)  # shape = [*, width, grid, grid]
        x = x.reshape(x.shape[0], x.shape[1], -1)  # shape = [*, width, grid ** 2]
        x = x.permute(0, 2, 1)  # shape = [*, grid ** 2, width]
        x = torch.cat([self.class_embedding.to(x.dtype)
                       + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device), x], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)  # LND -> NLD
        x = self.ln_post(x[:, 0, :])
        if self.proj is not None:
            x = x @ self.proj
        return x


class CLIP(nn.Module):
    def __init__(self, embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size,
                 context_length, vocab_size, transformer_width, transformer_heads, transformer_layers):
        super().__init__()
        self.context_length = context_length
        vision_heads = vision_width // 64
        self.visual = VisionTransformer(input_resolution=image_resolution, patch_size=vision_patch_size,
                                        width=vision_width, layers=vision_layers, heads=vision_heads,
                                        output_dim=embed_dim)
        self.transformer = Transformer(width=transformer_width, layers=transformer_layers, heads=transformer_heads,
                                       attn_mask=self.build_attention_mask())
        self.vocab_size = vocab_size
        self.token_embedding = nn.Embedding(vocab_size, transformer_width)
        self.positional_embedding = nn.Parameter(torch.empty(self.context_length, transformer_width))
        self.ln_final = LayerNorm(transformer_width)
        self.text_projection = nn.Parameter(torch.empty(transformer_width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        self.initialize_parameters()

    def initialize_parameters(self):
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std = (self.transformer.width ** -0.5) * ((2 * self.transformer.layers) ** -0.5)
        attn_std = self.transformer.width ** -0.5
        fc_std = (2 * self.transformer.width) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        if self.text_projection is not None:
            nn.init.normal_(self.text_projection, std=self.transformer.width ** -0.5)

    def build_attention_mask(self):
        # lazily create causal attention mask, with full attention between the vision tokens
        # pytorch uses additive attention mask; fill with -inf
        mask = torch.empty(self.context_length, self.context_length)
        mask.fill_(float("-inf"))
        mask.triu_(1)  # zero out the lower diagonal
        return mask

    @property
    def dtype(self):
        return self.visual.conv1.weight.dtype

    def encode_image(self, image):
        return self.visual(image.type(self.dtype))

    def encode_text(self, text):
        x = self.token_embedding(text).type(self.dtype)  # [batch_size, n_ctx, d_model]
        x = x + self.positional_embedding.type(self.dtype)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)  # LND -> NLD
        x = self.ln_final(x).type(self.dtype)
        # x.shape = [batch_size, n_ctx, transformer.width]
        # take features from the eot embedding (eot_token is the highest number in each sequence)
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection
        return x


def perturb(model, std, seed):
    """Nudge every LayerNorm weight and every bias (in_proj_bias included) by N(0, std)."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_ln = any(s in name for s in ("ln_1.", "ln_2.", "ln_pre.", "ln_post.", "ln_final."))
            if is_ln or name.endswith("bias"):
                p.add_(std * torch.randn(p.shape, generator=g))


# ---- safetensors with json + numpy -------------------------------------------------------------------

ST_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32,
             "BF16": None}


def st_write(path, tensors, metadata=None):
    """tensors: name -> numpy array. Header: tensors in name order (data laid out in that order), then
    __metadata__; compact JSON, padded with spaces to a multiple of 8 (as the shared files)."""
    names = sorted(tensors)
    rev = {v: k for k, v in ST_DTYPES.items() if v is not None}
    header, offset, blobs = OrderedDict(), 0, []
    for n in names:
        a = np.asarray(tensors[n])  # (np.ascontiguousarray would make a 0-d logit_scale 1-d)
        a = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)
        b = a.tobytes()
        header[n] = OrderedDict([("dtype", rev[a.dtype.type]), ("shape", list(a.shape)),
                                 ("data_offsets", [offset, offset + len(b)])])
        offset += len(b)
        blobs.append(b)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def st_read(path):
    """name -> numpy array (BF16 widened to float32), and the metadata (or {})."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        if info["dtype"] == "BF16":
            raw = np.frombuffer(body[a:b], dtype="<u2").astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            arr = np.frombuffer(body[a:b], dtype=np.dtype(ST_DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"]).copy()
    return out, meta


def config_from_openai(sd):
    """OpenAI's build_model(): the config from the shapes."""
    vw = sd["visual.conv1.weight"].shape[0]
    vl = len({k.split(".")[3] for k in sd if k.startswith("visual.transformer.resblocks.")})
    patch = sd["visual.conv1.weight"].shape[-1]
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    tw = sd["ln_final.weight"].shape[0]
    return OrderedDict([
        ("embed_dim", int(sd["text_projection"].shape[1])), ("image_resolution", int(patch * grid)),
        ("vision_layers", vl), ("vision_width", int(vw)), ("vision_patch_size", int(patch)),
        ("context_length", int(sd["positional_embedding"].shape[0])),
        ("vocab_size", int(sd["token_embedding.weight"].shape[0])), ("transformer_width", int(tw)),
        ("transformer_heads", int(tw // 64)),
        ("transformer_layers", len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks")})),
    ])


def hf_state_dict(sd, cfg):
    """OpenAI names -> Hugging Face CLIPModel names (q/k/v split, projections transposed, position_ids)."""
    out = OrderedDict()
    out["logit_scale"] = sd["logit_scale"]

    def blocks(src, dst, layers):
        for i in range(layers):
            s, d = f"{src}.{i}.", f"{dst}.{i}."
            w, b = sd[s + "attn.in_proj_weight"], sd[s + "attn.in_proj_bias"]
            W = w.shape[1]
            for j, qkv in enumerate("qkv"):
                out[d + f"self_attn.{qkv}_proj.weight"] = w[j * W:(j + 1) * W]
                out[d + f"self_attn.{qkv}_proj.bias"] = b[j * W:(j + 1) * W]
            for x in ("weight", "bias"):
                out[d + f"self_attn.out_proj.{x}"] = sd[s + f"attn.out_proj.{x}"]
                out[d + f"layer_norm1.{x}"] = sd[s + f"ln_1.{x}"]
                out[d + f"layer_norm2.{x}"] = sd[s + f"ln_2.{x}"]
                out[d + f"mlp.fc1.{x}"] = sd[s + f"mlp.c_fc.{x}"]
                out[d + f"mlp.fc2.{x}"] = sd[s + f"mlp.c_proj.{x}"]

    out["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    out["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
    out["text_model.embeddings.position_ids"] = np.arange(cfg["context_length"], dtype=np.int64)[None]
    blocks("transformer.resblocks", "text_model.encoder.layers", cfg["transformer_layers"])
    for x in ("weight", "bias"):
        out[f"text_model.final_layer_norm.{x}"] = sd[f"ln_final.{x}"]
        out[f"vision_model.pre_layrnorm.{x}"] = sd[f"visual.ln_pre.{x}"]
        out[f"vision_model.post_layernorm.{x}"] = sd[f"visual.ln_post.{x}"]
    out["text_projection.weight"] = np.ascontiguousarray(sd["text_projection"].T)
    out["vision_model.embeddings.class_embedding"] = sd["visual.class_embedding"]
    out["vision_model.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
    out["vision_model.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
    n_pos = sd["visual.positional_embedding"].shape[0]
    out["vision_model.embeddings.position_ids"] = np.arange(n_pos, dtype=np.int64)[None]
    blocks("visual.transformer.resblocks", "vision_model.encoder.layers", cfg["vision_layers"])
    out["visual_projection.weight"] = np.ascontiguousarray(sd["visual.proj"].T)
    return out


# ---- CLIP's _transform with PIL ----------------------------------------------------------------------

def clip_pixels(path, n):
    """Resize(n, BICUBIC), CenterCrop(n), convert('RGB'), ToTensor(), Normalize(mean, std) as torchvision
    0.14 does them on a PIL image: float32 [3, n, n]."""
    img = Image.open(path)
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    if short != n:  # torchvision returns the image unchanged when the short side already fits
        new_short, new_long = n, int(n * long / short)
        size = (new_short, new_long) if w <= h else (new_long, new_short)
        img = img.resize(size, Image.BICUBIC)
    w, h = img.size
    if w < n or h < n:
        raise SystemExit(f"make-golden: {path}: smaller than {n} after resizing")
    top, left = int(round((h - n) / 2.0)), int(round((w - n) / 2.0))
    img = img.crop((left, top, left + n, top + n)).convert("RGB")
    t = torch.from_numpy(np.array(img, np.uint8, copy=True)).view(n, n, 3).permute(2, 0, 1).contiguous()
    t = t.to(dtype=torch.float32).div(255)
    mean = torch.as_tensor(CLIP_MEAN, dtype=torch.float32)[:, None, None]
    std = torch.as_tensor(CLIP_STD, dtype=torch.float32)[:, None, None]
    return t.sub_(mean).div_(std)


# ---- tokens ------------------------------------------------------------------------------------------

def load_tokens_tsv(path):
    table = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            prompt, ids = line.rstrip("\n").split("\t")
            table[json.loads(prompt)] = [int(i) for i in ids.split()]
    return table


def tokenize(prompts, how, table, context, repo):
    if how == "cli":
        exe = os.path.join(repo, "bin", "clip-embed-text")
        res = subprocess.run([exe, "--tokenize"], input="".join(p + "\n" for p in prompts).encode(),
                             stdout=subprocess.PIPE, check=True)
        rows = [[int(i) for i in line.split()] for line in res.stdout.decode().splitlines()]
    else:
        missing = [p for p in prompts if p not in table]
        if missing:
            raise SystemExit(f"make-golden: tokens.tsv has no entry for {missing[0]!r} (try --tokenizer cli)")
        rows = [table[p] for p in prompts]
    out = np.zeros((len(prompts), context), dtype=np.int32)
    for i, r in enumerate(rows):
        if len(r) > context:  # clip.tokenize(truncate=True): keep EOT last
            r = r[:context]
            r[-1] = 49407
        out[i, :len(r)] = r
    return out


# ---- the official training step ----------------------------------------------------------------------

def soft_ce(logits, y):
    return torch.sum(-y * F.log_softmax(logits, dim=-1), dim=-1).mean()


def stage1_logits(visual, x, text):
    f = visual(x)
    return (f / f.norm(dim=-1, keepdim=True)) @ text.t()


def mms_loss(logits, y, text, l=MMS_L, temp=MMS_TEMP):
    """The official MarginMetricSoftmax with soft labels split over their top-2 classes (libcommon/train/losses.h)."""
    t = text / text.norm(dim=-1, keepdim=True)
    offsets = l * (1 - t @ t.t())
    w, lab = torch.topk(y, 2, dim=1)
    loss = 0
    for i in range(2):
        z = (logits + offsets[lab[:, i]]) / temp
        loss = loss + (w[:, i] * F.cross_entropy(z, lab[:, i], reduction="none")).mean()
    return loss


def warn_fragile(grads, params, lr=STAGE1_LR, eps=ADAM_EPS, noise=3e-6, limit=2e-5):
    """Warn about tensors whose step-3 values a float32 re-computation cannot be expected to match well.

    Adam's first step moves a parameter by lr·g/(|g| + eps), whose derivative in g is lr·eps/(|g| + eps)²:
    where |g| is near eps (1e-8) a float32 rounding difference δ in g (about `noise` times the tensor's RMS
    gradient) moves the result by up to ~1e3·lr·δ. In a small tensor (a bias) one such element can
    exceed the checker's 1e-4 relative tolerance on its own: with tiny-clip's weights two PyTorch runs
    differ by 2.3e-4 on visual.transformer.resblocks.1.attn.in_proj_bias for that reason. The key biases
    (true gradient 0) are left out; the checker treats them apart."""
    for name, g in grads.items():
        g, p = g.astype(np.float64).ravel(), params[name].astype(np.float64).ravel()
        if name.endswith("attn.in_proj_bias"):
            W = g.size // 3
            g, p = np.r_[g[:W], g[2 * W:]], np.r_[p[:W], p[2 * W:]]
        delta = noise * math.sqrt(float(np.mean(g * g)))
        err = lr * eps * delta / (np.abs(g) + eps) ** 2
        pred = float(np.linalg.norm(err) / max(np.linalg.norm(p), 1e-30))
        if pred > limit:
            print(f"make-golden: warning: {name}: step-1 gradient has elements near Adam's eps (smallest "
                  f"|g| {np.abs(g).min():.3g}); float32 noise may move stage1_params_step3 by ~{pred:.2g} "
                  f"relative (try another --seed)", file=sys.stderr)


# ---- the folder --------------------------------------------------------------------------------------

def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    p = argparse.ArgumentParser(description="Write a CLIP golden folder (tiny-clip layout) for any model size.")
    p.add_argument("-o", "--out", required=True, help="output folder (created)")
    p.add_argument("--from", dest="src", default=os.path.join(repo, "..", "shared", "golden", "tiny-clip"),
                   help="golden folder to take tokens.tsv, text_prompts.txt and images/ from")
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--image-resolution", type=int, default=32)
    p.add_argument("--vision-patch-size", type=int, default=8)
    p.add_argument("--vision-width", type=int, default=128)
    p.add_argument("--vision-layers", type=int, default=2)
    p.add_argument("--context-length", type=int, default=77)
    p.add_argument("--vocab-size", type=int, default=49408)
    p.add_argument("--text-width", type=int, default=128)
    p.add_argument("--text-layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-perturb", action="store_true", help="plain OpenAI/PyTorch init (LayerNorm = 1/0)")
    p.add_argument("--weights", help="OpenAI-named safetensors to use instead of random init (config from shapes)")
    p.add_argument("--pairs-from", help="take train_pairs.npy and train_lambda.npy from this folder")
    p.add_argument("--tokenizer", choices=["tsv", "cli"], default="tsv",
                   help="token ids from FROM/tokens.tsv (OpenAI's tokenizer; default) or bin/clip-embed-text")
    p.add_argument("--compare-with", help="afterwards, print the worst difference of every file against this folder")
    a = p.parse_args()
    a.repo = repo
    return a


def make_model(a):
    if a.weights:
        sd, _ = st_read(a.weights)
        cfg = config_from_openai(sd)
        torch.manual_seed(a.seed)
        model = CLIP(**cfg)
        model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in sd.items()})
        return model, cfg
    cfg = OrderedDict([
        ("embed_dim", a.embed_dim), ("image_resolution", a.image_resolution), ("vision_layers", a.vision_layers),
        ("vision_width", a.vision_width), ("vision_patch_size", a.vision_patch_size),
        ("context_length", a.context_length), ("vocab_size", a.vocab_size), ("transformer_width", a.text_width),
        ("transformer_heads", a.text_width // 64), ("transformer_layers", a.text_layers),
    ])
    for k in ("vision_width", "transformer_width"):
        if cfg[k] % 64:
            raise SystemExit(f"make-golden: {k} {cfg[k]} is not a multiple of 64 (heads = width / 64)")
    if cfg["image_resolution"] % cfg["vision_patch_size"]:
        raise SystemExit("make-golden: the patch size must divide the resolution")
    if cfg["vocab_size"] < 49408:
        raise SystemExit("make-golden: CLIP's tokenizer needs a vocabulary of 49408")
    torch.manual_seed(a.seed)
    model = CLIP(**cfg)
    if not a.no_perturb:
        perturb(model, PERTURB_STD, a.seed)
    # Round to float16 (logit_scale stays float32) and compute on exactly those values in float32.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name != "logit_scale":
                p.copy_(p.half().float())
    return model, cfg


def openai_f16(model):
    out = OrderedDict()
    for k, v in model.state_dict().items():
        arr = v.detach().numpy()
        out[k] = arr.astype(np.float32) if k == "logit_scale" else arr.astype(np.float16)
    return out


def generate(a):
    t0 = time.time()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    src, out = a.src, a.out
    os.makedirs(out, exist_ok=True)
    model, cfg = make_model(a)
    model.eval()
    R, ctx = cfg["image_resolution"], cfg["context_length"]

    # weights
    sd16 = openai_f16(model)
    if a.weights:  # check that nothing was lost: the file's values are exactly representable
        sd_in, _ = st_read(a.weights)
        for k, v in sd_in.items():
            assert np.array_equal(v.astype(np.float32), sd16[k].astype(np.float32)), k
    st_write(os.path.join(out, "model.safetensors"), sd16,
             OrderedDict([("format", "pt"), ("naming", "openai-clip"), ("config", json.dumps(cfg))]))
    st_write(os.path.join(out, "model-hf.safetensors"), hf_state_dict(sd16, cfg),
             OrderedDict([("format", "pt"), ("naming", "hf-clipmodel")]))

    # size-independent inputs
    shutil.copyfile(os.path.join(src, "tokens.tsv"), os.path.join(out, "tokens.tsv"))
    shutil.copyfile(os.path.join(src, "text_prompts.txt"), os.path.join(out, "text_prompts.txt"))
    if os.path.exists(os.path.join(out, "images")):
        shutil.rmtree(os.path.join(out, "images"))
    shutil.copytree(os.path.join(src, "images"), os.path.join(out, "images"))
    images = sorted(f for f in os.listdir(os.path.join(out, "images")) if f[0].isdigit() and f.endswith(".jpg"))
    labels = [CIFAR10.index(f.split("_", 2)[1]) for f in images]

    # text
    table = load_tokens_tsv(os.path.join(out, "tokens.tsv"))
    with open(os.path.join(out, "text_prompts.txt"), encoding="utf-8") as f:
        prompts = f.read().splitlines()
    tokens = tokenize(prompts, a.tokenizer, table, ctx, a.repo)
    np.save(os.path.join(out, "text_tokens.npy"), tokens)
    with torch.no_grad():
        tf = model.encode_text(torch.from_numpy(tokens.astype(np.int64)))
        np.save(os.path.join(out, "text_features.npy"), tf.numpy().astype(np.float32))
        train_tokens = tokenize([f"a photo of a {c}" for c in CIFAR10], a.tokenizer, table, ctx, a.repo)
        T = model.encode_text(torch.from_numpy(train_tokens.astype(np.int64)))
        T = T / T.norm(dim=-1, keepdim=True)
    np.save(os.path.join(out, "train_text_features.npy"), T.numpy())

    # pixels and image features
    img_dir = os.path.join(out, "images")
    pixels = torch.stack([clip_pixels(os.path.join(img_dir, f), R) for f in images])
    np.save(os.path.join(out, "pixels.npy"), pixels.numpy())
    np.save(os.path.join(out, "pixels_224.npy"),
            torch.stack([clip_pixels(os.path.join(img_dir, f), 224) for f in images[:2]]).numpy())
    np.save(os.path.join(out, "pixels_rect_224.npy"),
            clip_pixels(os.path.join(img_dir, "rect_40x24.jpg"), 224)[None].numpy())
    with torch.no_grad():
        np.save(os.path.join(out, "image_features.npy"), model.encode_image(pixels).numpy())

    # the training batch
    counts = np.array([int(5000 * (1 / 100) ** (k / 9)) for k in range(10)], dtype=np.float32)
    np.save(os.path.join(out, "train_counts.npy"), counts)
    B = len(images)
    if a.pairs_from:
        pairs = np.load(os.path.join(a.pairs_from, "train_pairs.npy")).astype(np.int32)
        lam = np.load(os.path.join(a.pairs_from, "train_lambda.npy")).astype(np.float32)
    else:
        rng = np.random.default_rng(a.seed)
        pairs = np.stack([np.arange(B), rng.permutation(B)], axis=1).astype(np.int32)
        lx = rng.beta(1.0, 1.0, size=B).astype(np.float32)
        lam = np.zeros((B, 2), dtype=np.float32)
        for b, (i, j) in enumerate(pairs):
            ni, nj = counts[labels[i]], counts[labels[j]]
            lam[b, 0] = lx[b]
            lam[b, 1] = np.float32(min(1.0, max(0.0, float(lx[b]) - 1.0 * (ni - nj) / (ni + nj))))
    np.save(os.path.join(out, "train_pairs.npy"), pairs)
    np.save(os.path.join(out, "train_lambda.npy"), lam)
    lam_t = torch.from_numpy(lam)
    xi, xj = pixels[torch.from_numpy(pairs[:, 0]).long()], pixels[torch.from_numpy(pairs[:, 1]).long()]
    lx_t = lam_t[:, 0].view(-1, 1, 1, 1)
    x = lx_t * xi + (1 - lx_t) * xj
    y = torch.zeros(B, 10)
    for b, (i, j) in enumerate(pairs):
        y[b, labels[i]] += lam_t[b, 1]
        y[b, labels[j]] += 1 - lam_t[b, 1]
    np.save(os.path.join(out, "train_x.npy"), x.numpy())
    np.save(os.path.join(out, "train_y.npy"), y.numpy())

    # stage 1: the visual tower, Adam, three steps on the same batch
    visual = model.visual
    opt = torch.optim.Adam(visual.parameters(), lr=STAGE1_LR, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0)
    losses1 = []
    for step in range(STEPS):
        opt.zero_grad()
        logits = stage1_logits(visual, x, T)
        loss = soft_ce(logits, y)
        loss.backward()
        losses1.append(loss.item())
        if step == 0:
            np.save(os.path.join(out, "stage1_logits.npy"), logits.detach().numpy())
            grads1 = {"visual." + n: p.grad.detach().numpy().copy() for n, p in visual.named_parameters()}
            st_write(os.path.join(out, "stage1_grads_step1.safetensors"), grads1)
        opt.step()
    params3 = {"visual." + n: p.detach().numpy().copy() for n, p in visual.named_parameters()}
    st_write(os.path.join(out, "stage1_params_step3.safetensors"), params3)
    warn_fragile(grads1, params3)

    # stage 2: the tower frozen, fc.weight = I applied as W f
    D = cfg["embed_dim"]
    with torch.no_grad():
        feat = visual(x)
    fc = nn.Linear(D, D, bias=False)
    with torch.no_grad():
        fc.weight.copy_(torch.eye(D))
    opt2 = torch.optim.Adam(fc.parameters(), lr=STAGE2_LR, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0)
    losses2 = []
    for step in range(STEPS):
        opt2.zero_grad()
        h = fc(feat)
        logits = (h / h.norm(dim=-1, keepdim=True)) @ T.t()
        loss = soft_ce(logits, y)
        loss.backward()
        losses2.append(loss.item())
        if step == 0:
            st_write(os.path.join(out, "stage2_grads_step1.safetensors"), {"fc.weight": fc.weight.grad.numpy().copy()})
        opt2.step()
    st_write(os.path.join(out, "stage2_params_step3.safetensors"), {"fc.weight": fc.weight.detach().numpy().copy()})

    # MMS on the logits of the model after both stages
    with torch.no_grad():
        h = fc(feat)
        z = (h / h.norm(dim=-1, keepdim=True)) @ T.t()
    z = z.clone().requires_grad_(True)
    mloss = mms_loss(z, y, T)
    mloss.backward()
    np.save(os.path.join(out, "mms_logits.npy"), z.detach().numpy())
    np.save(os.path.join(out, "mms_dlogits.npy"), z.grad.numpy())

    ref = OrderedDict([
        ("config", cfg), ("seed", a.seed),
        ("adam", OrderedDict([("betas", list(ADAM_BETAS)), ("eps", ADAM_EPS), ("weight_decay", 0)])),
        ("stage1", OrderedDict([("lr", STAGE1_LR), ("losses", losses1)])),
        ("stage2", OrderedDict([("lr", STAGE2_LR), ("losses", losses2)])),
        ("mms", OrderedDict([("l", MMS_L), ("temp", MMS_TEMP), ("loss", mloss.item())])),
    ])
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print(f"make-golden: wrote {out} ({json.dumps(cfg)}) in {time.time() - t0:.1f} s", file=sys.stderr)


# ---- comparison with another folder (validation) ------------------------------------------------------

def rel_l2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    den = np.linalg.norm(b)
    num = np.linalg.norm(a - b)
    return 0.0 if num == 0 else (num / den if den else math.inf)


def max_abs(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def compare(mine, ref):
    """One line per file: worst relative L2 error and max abs difference (over tensors for safetensors)."""
    rows = []
    for name in sorted(os.listdir(ref)):
        p, q = os.path.join(mine, name), os.path.join(ref, name)
        if os.path.isdir(q):
            same = all(open(os.path.join(q, f), "rb").read() == open(os.path.join(p, f), "rb").read()
                       for f in os.listdir(q))
            rows.append((name + "/", "identical" if same else "DIFFER", ""))
            continue
        if not os.path.exists(p):
            rows.append((name, "MISSING", ""))
            continue
        if name.endswith(".npy"):
            a, b = np.load(p), np.load(q)
            if a.shape != b.shape or a.dtype != b.dtype:
                rows.append((name, f"shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}", ""))
                continue
            r, m = rel_l2(a, b), max_abs(a, b)
            rows.append((name, f"{r:.3g}", f"{m:.3g}"))
        elif name.endswith(".safetensors"):
            A, ma = st_read(p)
            Bt, mb = st_read(q)
            if set(A) != set(Bt):
                rows.append((name, f"names differ: {sorted(set(A) ^ set(Bt))[:4]}", ""))
                continue
            bad = [k for k in A if A[k].shape != Bt[k].shape or A[k].dtype != Bt[k].dtype]
            if bad:
                rows.append((name, f"shape/dtype differs: {bad[:3]}", ""))
                continue
            worst, wname, mx = 0.0, "-", 0.0
            for k in A:
                if "attn.in_proj_bias" in k and "params_step3" in name:
                    # key biases: gradient 0 in truth, Adam moves rounding noise; compare q and v only
                    W = A[k].shape[0] // 3
                    sel = np.r_[0:W, 2 * W:3 * W]
                    r = rel_l2(A[k][sel], Bt[k][sel])
                    mx = max(mx, max_abs(A[k], Bt[k]))
                else:
                    r = rel_l2(A[k], Bt[k])
                    mx = max(mx, max_abs(A[k], Bt[k]))
                if r > worst:
                    worst, wname = r, k
            meta = "" if ma == mb else " (metadata differs)"
            rows.append((name, f"{worst:.3g}", f"{mx:.3g}  worst: {wname}{meta}"))
        elif name == "reference.json":
            ja, jb = json.load(open(p)), json.load(open(q))
            keys_same = json.dumps(ja, sort_keys=False).count(":") == json.dumps(jb).count(":") and \
                list(ja) == list(jb)
            errs = []
            for s in ("stage1", "stage2"):
                errs += [abs(x - w) / abs(w) for x, w in zip(ja[s]["losses"], jb[s]["losses"])]
            errs.append(abs(ja["mms"]["loss"] - jb["mms"]["loss"]) / abs(jb["mms"]["loss"]))
            other = {k: v for k, v in ja.items() if k not in ("stage1", "stage2", "mms")} == \
                {k: v for k, v in jb.items() if k not in ("stage1", "stage2", "mms")}
            rows.append((name, f"{max(errs):.3g}", f"losses (relative); keys/structure "
                         f"{'same' if keys_same else 'DIFFER'}; config/adam/seed {'same' if other else 'DIFFER'}"))
        else:
            same = open(p, "rb").read() == open(q, "rb").read()
            rows.append((name, "identical" if same else "DIFFER", ""))
    print(f"{'file':40s} {'worst rel L2':>14s}  max abs / notes")
    for n, r, m in rows:
        print(f"{n:40s} {r:>14s}  {m}")
    return rows


def main():
    a = parse_args()
    generate(a)
    if a.compare_with:
        compare(a.out, a.compare_with)


if __name__ == "__main__":
    main()
