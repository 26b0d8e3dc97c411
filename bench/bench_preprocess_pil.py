#!/usr/bin/python3
"""bench_preprocess_pil.py — the reference pipeline's decode + CLIP preprocessing throughput, to compare
with build/bench/bench_preprocess on the same machine.

    python3 bench/bench_preprocess_pil.py [ARCHIVE] [-n COUNT] [-s SIZE] [-m SECONDS]

What OpenAI CLIP's code and the text-guided-mixup reference do per image: PIL.Image.open on the JPEG's
bytes, convert("RGB"), then clip's _transform(SIZE) composed from torchvision.transforms: Resize(SIZE,
BICUBIC), CenterCrop(SIZE), ToTensor, Normalize(CLIP mean, std); training adds RandomHorizontalFlip,
applied here to every other image as in the C benchmark. One process, one thread (torch.set_num_threads(1)),
so the figure is per core; it is given per wall-clock second and per CPU second of the process (robust on
a machine shared with other work). Reads the same first COUNT .jpg members of the archive into memory first.
Needs python3-pil, python3-torch and python3-torchvision (Debian bookworm: Pillow 9.4, torch 1.13,
torchvision 0.14: the versions the goldens were made with).
"""
import argparse
import io
import os
import tarfile
import time

import torch
from PIL import Image
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
import torchvision.transforms.functional as TF


def clip_transform(n):
    # clip/clip.py _transform(n_px), with its _convert_image_to_rgb step
    return Compose([
        Resize(n, interpolation=InterpolationMode.BICUBIC),
        CenterCrop(n),
        lambda image: image.convert("RGB"),
        ToTensor(),
        Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    ])


def read_corpus(path, count):
    blobs = []
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            if len(blobs) >= count:
                break
            if member.isfile() and member.name.endswith(".jpg"):
                blobs.append(tar.extractfile(member).read())
    return blobs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("archive", nargs="?", default="../shared/data/cifar10-jpeg.tar.gz")
    ap.add_argument("-n", type=int, default=2000, help="images to read (default 2000)")
    ap.add_argument("-s", type=int, default=224, help="output size (default 224)")
    ap.add_argument("-m", type=float, default=3.0, help="minimum seconds to time (default 3)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    blobs = read_corpus(args.archive, args.n)
    tread = time.perf_counter() - t0
    transform = clip_transform(args.s)
    print(f"bench_preprocess_pil: {len(blobs)} JPEGs from {args.archive} read in {tread:.2f} s; size {args.s}; "
          f"Pillow {Image.__version__}, torch {torch.__version__}; {os.cpu_count()} online CPUs")
    print(f"{'mode':34s} {'threads':>8s} {'images/s':>12s} {'images/cpu-s':>14s}")
    done = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        for i, blob in enumerate(blobs):
            image = Image.open(io.BytesIO(blob)).convert("RGB")
            if i & 1:
                image = TF.hflip(image)
            x = transform(image)
        done += len(blobs)
        t = time.perf_counter() - t0
        if t >= args.m:
            break
    cpu = time.process_time() - c0
    assert x.shape == (3, args.s, args.s)
    print(f"{'PIL + torchvision, one thread':34s} {1:8d} {done / t:12.0f} {done / cpu:14.0f}")
    print("(images/s: wall clock; images/cpu-s: per CPU second of this process, i.e. per core busy)")


if __name__ == "__main__":
    main()
