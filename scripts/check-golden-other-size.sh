#!/bin/sh
# scripts/check-golden-other-size.sh [SRC] — the golden checker on a CLIP of another size than tiny-clip.
#
# Makes a golden folder with scripts/make-golden.py (OpenAI's CLIP written out in PyTorch, float32 CPU,
# random weights rounded to float16) for a model unlike tiny-clip in every dimension — embed 96,
# resolution 48, patch 16 (3x3 grid), vision width 192 (3 heads) x 3 layers, text width 256 (4 heads)
# x 3 layers — into a temporary folder, and runs tests/golden-check on it (every line shown).
# SRC (default ../shared/golden/tiny-clip) gives tokens.tsv, text_prompts.txt and images/, which do not
# depend on the model's size. Run from the repository root after `make`.
#
# Prints "ok - ", "not ok - " or "skip - " as its last line (tests/run.sh's format). Exits 0 when the
# checks pass or cannot run here: no PyTorch for $PYTHON (default /usr/bin/python3; Debian's
# python3-torch python3-numpy python3-pil), or no SRC folder. Exits 1 when a check fails, 3 when the
# generator itself fails or tests/golden-check is not built.
# LFM_GOLDEN_KEEP=DIR keeps the generated folder in DIR instead of a temporary one.
set -u
name="golden-check on another model size"
src=${1:-../shared/golden/tiny-clip}
py=${PYTHON:-/usr/bin/python3}
checker=tests/golden-check

if ! [ -x "$py" ] || ! "$py" -c 'import torch, numpy, PIL' >/dev/null 2>&1; then
	echo "skip - $name: $py lacks torch/numpy/PIL (apt-get install python3-torch python3-numpy python3-pil)"
	exit 0
fi
if ! [ -f "$src/tokens.tsv" ] || ! [ -d "$src/images" ]; then
	echo "skip - $name: $src not found (tokens.tsv and images/ come from there)"
	exit 0
fi
if ! [ -x "$checker" ]; then
	echo "not ok - $name: $checker not built (run make first)"
	exit 3
fi

if [ -n "${LFM_GOLDEN_KEEP:-}" ]; then
	dir=$LFM_GOLDEN_KEEP
	mkdir -p "$dir" || exit 3
else
	dir=$(mktemp -d) || exit 3
	trap 'rm -rf "$dir"' EXIT INT TERM
fi

if ! "$py" scripts/make-golden.py -o "$dir" --from "$src" --seed 1 \
	--embed-dim 96 --image-resolution 48 --vision-patch-size 16 --vision-width 192 --vision-layers 3 \
	--context-length 77 --text-width 256 --text-layers 3; then
	echo "not ok - $name: scripts/make-golden.py failed"
	exit 3
fi
"$checker" "$dir"
rc=$?
if [ "$rc" -eq 0 ]; then
	echo "ok - $name"
	exit 0
fi
echo "not ok - $name: $checker exited with status $rc"
exit 1
