#!/bin/sh
# pipelines/demo.sh — `make demo`: the whole method on the embedded CIFAR-10-LT (data/cifar10-lt, 12,406
# training JPEGs at imbalance 100, 2,000 test JPEGs), with a small randomly initialised CLIP, on the CPU:
#   lt-subset → clip-init → clip-embed-text → lfm-pairs → lfm-mix → lfm-fit (stage 1, stage 2) → lfm-eval
# then the same with plain cross-entropy (no mixing) for comparison. A few minutes on 2 cores.
# DEMO_OUT (default demo-out/, in the current folder) holds every intermediate file; DEMO_EPOCHS the
# epochs of each stage; BIN the tools (default: the build tree's bin/ beside this pipelines/ folder).
# Runs from any folder: the data, the tools and collect.sh are found from this script's own path.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# Paths as short as they can be: run from the source root (make demo), the streams' headers name
# bin/lt-subset and data/..., the same wherever the tree is.
[ "$top" = "$(pwd)" ] && top=.
B=${BIN:-$top/bin}
D=$top/data/cifar10-lt
[ "$top" = . ] && B=${BIN:-bin} D=data/cifar10-lt
O=${DEMO_OUT:-demo-out}
E=${DEMO_EPOCHS:-2}
mkdir -p "$O"
step() { printf '\n== %s\n' "$*" >&2; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

start=$(date +%s)
step "1/8 lt-subset: the long-tailed training set and the test set as samples streams"
run "$B/lt-subset" --imbalance 1 "$D/train.tar.gz" -o "$O/train.samples"
run "$B/lt-subset" --split test --train-samples "$O/train.samples" "$D/test.tar.gz" -o "$O/test.samples"

step "2/8 clip-init: a small CLIP with random weights (real weights are your download; see README)"
run "$B/clip-init" --arch tiny --seed 0 -o "$O/clip-tiny.safetensors"

step "3/8 clip-embed-text: class prompts 'a photo of a {class}' -> text features"
run "$B/clip-embed-text" --model "$O/clip-tiny.safetensors" --samples "$O/train.samples" -o "$O/text.npy"

step "4/8 lfm-pairs --stats: partners by text similarity, and the effective imbalance"
run "$B/lfm-pairs" --text "$O/text.npy" --tau 0.05 --stats "$O/train.samples" >&2

train() { # $1 = name, $2 = lfm-pairs partner arguments, $3 = lfm-mix arguments
	name=$1
	step "5/8 [$name] lfm-pairs | lfm-mix: the mix plans of both stages ($E epochs each)"
	# shellcheck disable=SC2086
	"$B/lfm-pairs" $2 --epochs "$E" --seed 0 "$O/train.samples" | "$B/lfm-mix" $3 --seed 0 -o "$O/$name.s1.plan"
	# shellcheck disable=SC2086
	"$B/lfm-pairs" $2 --epochs "$E" --seed 1 "$O/train.samples" | "$B/lfm-mix" $3 --seed 1 -o "$O/$name.s2.plan"
	step "6/8 [$name] lfm-fit stage 1: the visual tower trains"
	run "$B/lfm-fit" --stage 1 --model "$O/clip-tiny.safetensors" --text "$O/text.npy" --data "$D/train.tar.gz" \
		--epochs "$E" --lr 1e-4 --min-lr 1e-6 --batch 32 --seed 0 --log "$O/$name.stage1.metrics" \
		-o "$O/$name.stage1.safetensors" "$O/$name.s1.plan"
	step "7/8 [$name] lfm-fit stage 2: the tower frozen, the d x d head W_I trains"
	run "$B/lfm-fit" --stage 2 --model "$O/$name.stage1.safetensors" --text "$O/text.npy" --data "$D/train.tar.gz" \
		--epochs "$E" --lr 1e-2 --min-lr 1e-5 --batch 32 --seed 0 --log "$O/$name.stage2.metrics" \
		-o "$O/$name.stage2.safetensors" "$O/$name.s2.plan"
	step "8/8 [$name] lfm-eval on the test set"
	run "$B/lfm-eval" --model "$O/$name.stage2.safetensors" --text "$O/text.npy" --data "$D/test.tar.gz" \
		--split test --groups-from "$O/train.samples" --json --per-class "$O/$name.per-class.tsv" \
		"$O/test.samples" > "$O/$name.eval.json"
	LFM_PROGRESS=0 "$B/lfm-eval" --model "$O/$name.stage2.safetensors" --text "$O/text.npy" --data "$D/test.tar.gz" \
		--split test --groups-from "$O/train.samples" "$O/test.samples" >&2
}
train lfm "--text $O/text.npy --tau 0.05" "--method lfm --alpha 1"
train ce "--uniform" "--method none"

mkdir -p "$O/g100/lfm-ce" "$O/g100/ce"
cp "$O/lfm.eval.json" "$O/g100/lfm-ce/eval.json"
cp "$O/ce.eval.json" "$O/g100/ce/eval.json"
printf '\n== Results: top-1 %% on the test set (many > 100, medium 21-100, few <= 20 training images)\n'
sh "$top/pipelines/collect.sh" "$O/g100/lfm-ce/eval.json" "$O/g100/ce/eval.json"
cat <<MSG

Done in $(( $(date +%s) - start )) s; every intermediate file is in $O/ (inspect any with $B/lfm-show).

These numbers come from a tiny CLIP with RANDOM weights trained for $E epochs on 32x32 images: they show
the mechanics of the pipeline, not CLIP's accuracy or the paper's. With real weights (e.g. OpenAI's
ViT-B/32 converted to safetensors, see README) and a CIFAR binary tarball, run the paper's experiment:
  make -f pipelines/cifar100-lt.mk CIFAR100=cifar-100-binary.tar.gz WEIGHTS=ViT-B-32.safetensors
MSG
