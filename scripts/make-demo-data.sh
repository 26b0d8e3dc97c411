#!/bin/sh
# scripts/make-demo-data.sh [CIFAR10_JPEG_TARBALL] — remake the embedded demo data, data/cifar10-lt/,
# from the re-encoded CIFAR-10 JPEG set (default ../shared/data/cifar10-jpeg.tar.gz; data/README.md says
# where it comes from). Run from the repository root after `make`. The output is byte-for-byte the same
# on every run (fixed seed, fixed tar metadata, no gzip timestamp); SHA256SUMS records it.
#
#   train.tar.gz  the CIFAR-10-LT training subset at imbalance 100 (exp profile, seed 0): 12,406 JPEGs
#                 train/<class>/<NNNN>.jpg, 5,000 airplanes down to 50 trucks
#   test.tar.gz   200 test images per class (seed 0), test/<class>/<NNNN>.jpg: 2,000 JPEGs
set -eu
src=${1:-../shared/data/cifar10-jpeg.tar.gz}
expected=845b9c234f577a407297a12451876d6df0ed01f249a48496593fb086bfc3bd89
out=data/cifar10-lt
lt=bin/lt-subset

[ -f "$src" ] || { echo "make-demo-data: $src not found (give the CIFAR-10 JPEG tarball's path)" >&2; exit 3; }
[ -x "$lt" ] || { echo "make-demo-data: $lt not built (run make first)" >&2; exit 3; }
if command -v sha256sum >/dev/null; then
	got=$(sha256sum "$src" | cut -d' ' -f1)
	[ "$got" = "$expected" ] || { echo "make-demo-data: $src has sha256 $got, expected $expected" >&2; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
LFM_PROGRESS=0 "$lt" --imbalance 100 --seed 0 --check --pack "$out/train.tar.gz" --pack-layout folder \
	-o "$tmp/train.mp" "$src"
LFM_PROGRESS=0 "$lt" --split test --max-per-class 200 --seed 0 --check --pack "$out/test.tar.gz" \
	--pack-layout folder -o "$tmp/test.mp" "$src"
(cd "$out" && sha256sum train.tar.gz test.tar.gz >SHA256SUMS)
ls -l "$out"
