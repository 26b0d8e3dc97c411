#!/usr/bin/python3
"""encode_text_reference.py — OpenAI CLIP's text tower in PyTorch, as a whole command that does what
clip-embed-text does, for bench/bench_embed_text.sh to time against it on the same machine and weights.

    /usr/bin/python3 bench/encode_text_reference.py --model FILE --classes FILE [--template T] [--raw]
        [--batch N] [--threads N] [--vocab BPE.gz] [--print-tokens] -o OUT.npy

Each class name (one a line, used as given) fills the template (default "a photo of a {}"); the prompts
are tokenized, encoded with encode_text in batches of --batch (default: all at once, as CLIP's README
example does with its CIFAR-100 prompts), L2-normalised unless --raw, and saved as float32 [C, D] .npy.

Model: the text half of OpenAI's clip/model.py, written out here class for class (CLIP.encode_text,
Transformer, ResidualAttentionBlock with nn.MultiheadAttention and the causal mask of
build_attention_mask, QuickGELU, the fp32 LayerNorm subclass, ln_final, text_projection, features taken at
text.argmax(dim=-1)), float32 on the CPU as clip.load(device="cpu") runs it; heads = width // 64 as
build_model derives them. Only the text tower's tensors are read from the file (the vision tower is not
built): that is the least work a PyTorch user could do, so the comparison is generous to PyTorch.

Weights: a safetensors file with OpenAI/open_clip tensor names (what bin/clip-init writes), F32, F16 or
BF16, parsed here with json + numpy.frombuffer (no safetensors package needed).

Tokenizer: a faithful copy of OpenAI's clip/simple_tokenizer.py (bytes_to_unicode, get_pairs, the BPE
loop, basic_clean, whitespace_clean, the regex-module split pattern) and clip.tokenize(truncate=True).
ftfy.fix_text is applied when ftfy is installed (it is not packaged in Debian 12; it is the identity for
the class prompts benchmarked here, see ../shared/README.md). --print-tokens prints each prompt's ids,
SOT..EOT without padding, as `clip-embed-text --tokenize` does, and exits: the benchmark checks the two
agree before timing anything.

Threads: torch's own defaults unless --threads is given. Debian's torch does its matrix products in the
system BLAS (OpenBLAS, one thread per CPU, not governed by torch.set_num_threads); on the 2-core dev
machine torch's own default is 1 thread, and raising it to 2 oversubscribes the cores (4 busy threads) and
was slower (bench/vision_reference.py).

Needs Debian's python3-torch, python3-numpy and python3-regex.
"""
import argparse
import gzip
import html
import json
import mmap
import os
import sys
from collections import OrderedDict
from functools import lru_cache

import numpy as np
import regex as re
import torch
from torch import nn

try:
    import ftfy
except ImportError:  # not in Debian 12; identity on these prompts
    ftfy = None


# ---- clip/simple_tokenizer.py ------------------------------------------------------------------------

@lru_cache()
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    cs = [chr(n) for n in cs]
    return dict(zip(bs, cs))


def get_pairs(word):
    pairs = set()
    prev_char = word[0]
    for char in word[1:]:
        pairs.add((prev_char, char))
        prev_char = char
    return pairs


def basic_clean(text):
    if ftfy is not None:
        text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = re.sub(r'\s+', ' ', text)
    text = text.strip()
    return text


class SimpleTokenizer(object):
    def __init__(self, bpe_path):
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        merges = gzip.open(bpe_path).read().decode("utf-8").split('\n')
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(merge.split()) for merge in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + '</w>' for v in vocab]
        for merge in merges:
            vocab.append(''.join(merge))
        vocab.extend(['<|startoftext|>', '<|endoftext|>'])
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.decoder = {v: k for k, v in self.encoder.items()}
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {'<|startoftext|>': '<|startoftext|>', '<|endoftext|>': '<|endoftext|>'}
        self.pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + '</w>',)
        pairs = get_pairs(word)

        if not pairs:
            return token + '</w>'

        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float('inf')))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break

                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            new_word = tuple(new_word)
            word = new_word
            if len(word) == 1:
                break
            else:
                pairs = get_pairs(word)
        word = ' '.join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        text = whitespace_clean(basic_clean(text)).lower()
        for token in re.findall(self.pat, text):
            token = ''.join(self.byte_encoder[b] for b in token.encode('utf-8'))
            bpe_tokens.extend(self.encoder[bpe_token] for bpe_token in self.bpe(token).split(' '))
        return bpe_tokens


def tokenize(tokenizer, texts, context_length=77, truncate=True):
    """clip.tokenize: [SOT] + ids + [EOT], zero padded to context_length, cut with EOT kept last."""
    sot_token = tokenizer.encoder["<|startoftext|>"]
    eot_token = tokenizer.encoder["<|endoftext|>"]
    all_tokens = [[sot_token] + tokenizer.encode(text) + [eot_token] for text in texts]
    result = torch.zeros(len(all_tokens), context_length, dtype=torch.int)
    for i, tokens in enumerate(all_tokens):
        if len(tokens) > context_length:
            if truncate:
                tokens = tokens[:context_length]
                tokens[-1] = eot_token
            else:
                raise RuntimeError(f"Input {texts[i]} is too long for context length {context_length}")
        result[i, :len(tokens)] = torch.tensor(tokens)
    return result


# ---- clip/model.py, the text tower ---------------------------------------------------------------------

class LayerNorm(nn.LayerNorm):
    """Subclass torch's LayerNorm to handle fp16."""

    def forward(self, x: torch.Tensor):
        orig_type = x.dtype
        ret = super().forward(x.type(torch.float32))
        return ret.type(orig_type)


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model: int, n_head: int, attn_mask: torch.Tensor = None):
        super().__init__()

        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(d_model * 4, d_model))
        ]))
        self.ln_2 = LayerNorm(d_model)
        self.attn_mask = attn_mask

    def attention(self, x: torch.Tensor):
        self.attn_mask = self.attn_mask.to(dtype=x.dtype, device=x.device) if self.attn_mask is not None else None
        return self.attn(x, x, x, need_weights=False, attn_mask=self.attn_mask)[0]

    def forward(self, x: torch.Tensor):
        x = x + self.attention(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, attn_mask: torch.Tensor = None):
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x: torch.Tensor):
        return self.resblocks(x)


class CLIPText(nn.Module):
    """CLIP's constructor and encode_text with the vision tower left out (its tensors are not loaded)."""

    def __init__(self, embed_dim, context_length, vocab_size, transformer_width, transformer_heads,
                 transformer_layers):
        super().__init__()
        self.context_length = context_length
        self.transformer = Transformer(
            width=transformer_width,
            layers=transformer_layers,
            heads=transformer_heads,
            attn_mask=self.build_attention_mask()
        )
        self.vocab_size = vocab_size
        self.token_embedding = nn.Embedding(vocab_size, transformer_width)
        self.positional_embedding = nn.Parameter(torch.empty(self.context_length, transformer_width))
        self.ln_final = LayerNorm(transformer_width)
        self.text_projection = nn.Parameter(torch.empty(transformer_width, embed_dim))

    def build_attention_mask(self):
        # lazily create causal attention mask, with full attention between the vision tokens
        # pytorch uses additive attention mask; fill with -inf
        mask = torch.empty(self.context_length, self.context_length)
        mask.fill_(float("-inf"))
        mask.triu_(1)  # zero out the lower diagonal
        return mask

    @property
    def dtype(self):
        return self.token_embedding.weight.dtype

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


# ---- safetensors with json + numpy ---------------------------------------------------------------------

NP_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def load_text_state(path):
    """The text tower's tensors (every name not under visual.) as float32 torch tensors."""
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    n = int.from_bytes(mm[:8], "little")
    header = json.loads(mm[8:8 + n])
    base = 8 + n
    state = {}
    for name, info in header.items():
        if name == "__metadata__" or name.startswith("visual.") or name == "logit_scale":
            continue
        if info["dtype"] not in NP_DTYPES:
            sys.exit(f"{path}: tensor '{name}': dtype {info['dtype']} not supported")
        begin, end = info["data_offsets"]
        a = np.frombuffer(mm, dtype=NP_DTYPES[info["dtype"]], count=(end - begin) // np.dtype(NP_DTYPES[info["dtype"]]).itemsize,
                          offset=base + begin).reshape(info["shape"])
        if info["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        else:
            a = a.astype(np.float32)  # a copy for F32 too: the file mapping is read-only
        state[name] = torch.from_numpy(a)
    if "token_embedding.weight" not in state:
        sys.exit(f"{path}: no 'token_embedding.weight' (OpenAI/open_clip tensor names expected)")
    return state


def build_model(state):
    """As clip/model.py build_model, for the text tower."""
    embed_dim = state["text_projection"].shape[1]
    context_length = state["positional_embedding"].shape[0]
    vocab_size = state["token_embedding.weight"].shape[0]
    transformer_width = state["ln_final.weight"].shape[0]
    transformer_heads = transformer_width // 64
    transformer_layers = len(set(k.split(".")[2] for k in state if k.startswith("transformer.resblocks")))
    model = CLIPText(embed_dim, context_length, vocab_size, transformer_width, transformer_heads,
                     transformer_layers)
    model.load_state_dict(state, strict=True)
    return model.eval()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="OpenAI CLIP encode_text in PyTorch (benchmark reference)")
    ap.add_argument("--model", help="safetensors weights, OpenAI names")
    ap.add_argument("--classes", required=True, help="class names, one a line")
    ap.add_argument("--template", default="a photo of a {}")
    ap.add_argument("--vocab", default=os.path.join(here, "..", "data", "clip", "bpe_simple_vocab_16e6.txt.gz"))
    ap.add_argument("--raw", action="store_true", help="not L2-normalised")
    ap.add_argument("--batch", type=int, default=0, help="prompts per encode_text call (0: all)")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (default: torch's own choice, 1 on the 2-core dev machine; its "
                         "matrix products run in OpenBLAS, whose own threads (one per CPU) this does not set)")
    ap.add_argument("--print-tokens", action="store_true")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with open(args.classes, encoding="utf-8") as f:
        names = [line.rstrip("\n").rstrip("\r") for line in f]
    prompts = [args.template.replace("{}", c, 1) for c in names]
    tokenizer = SimpleTokenizer(args.vocab)
    if args.print_tokens:
        for p in prompts:
            ids = tokenize(tokenizer, [p])[0]
            print(" ".join(str(int(t)) for t in ids[:int(ids.argmax()) + 1]))
        return
    if not args.model or not args.output:
        ap.error("--model and -o are required")

    model = build_model(load_text_state(args.model))
    text = tokenize(tokenizer, prompts, context_length=model.context_length)
    batch = args.batch or len(prompts)
    with torch.no_grad():
        feats = torch.cat([model.encode_text(text[i:i + batch]) for i in range(0, len(prompts), batch)])
        if not args.raw:
            feats = feats / feats.norm(dim=-1, keepdim=True)
    np.save(args.output, feats.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
