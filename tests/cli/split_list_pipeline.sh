#!/bin/sh
# tests/cli/split_list_pipeline.sh — the ImageNet-LT / Places-LT path end to end on a tiny split list
# over the embedded archive: lt-subset --list --root → clip-embed-text → lfm-pairs | lfm-mix →
# lfm-fit --root (stage 1 and 2) → lfm-eval --root.
D=data/cifar10-lt/train.tar.gz
[ -f "$D" ] || { echo "skip - split-list pipeline: $D missing"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf 'airplane/0000.jpg 0\nairplane/0001.jpg 0\ntruck/0052.jpg 1\ntruck/0110.jpg 1\n' >"$T/list.txt"
printf 'airplane\ntruck\n' >"$T/classes.txt"
step() { # name, command...
	name=$1
	shift
	if "$@" >"$T/out" 2>"$T/err"; then echo "ok - $name"
	else echo "not ok - $name: exit $?: $(tail -n 2 "$T/err" | tr '\n' ' ')"; fi
}
export LFM_PROGRESS=0
step "lt-subset --list --root" bin/lt-subset --list "$T/list.txt" --root "$D" --classes "$T/classes.txt" -o "$T/s"
step "clip-init" bin/clip-init --arch tiny -o "$T/m.st"
step "clip-embed-text from the stream's classes" bin/clip-embed-text --model "$T/m.st" --samples "$T/s" -o "$T/t.npy"
step "plan" sh -c "bin/lfm-pairs --text $T/t.npy $T/s | bin/lfm-mix -o $T/p"
step "lfm-fit --root, stage 1" bin/lfm-fit --model "$T/m.st" --text "$T/t.npy" --data "$T/list.txt" --root "$D" \
	--batch 2 -o "$T/c1.st" "$T/p"
step "lfm-fit --root, stage 2" bin/lfm-fit --stage 2 --model "$T/c1.st" --text "$T/t.npy" --data "$T/list.txt" \
	--root "$D" --batch 2 -o "$T/c2.st" "$T/p"
step "lfm-eval --root" bin/lfm-eval --model "$T/c2.st" --text "$T/t.npy" --data "$T/list.txt" --root "$D" --json "$T/s"
if grep -q '"samples":4' "$T/out"; then echo "ok - lfm-eval evaluated the 4 listed samples"
else echo "not ok - lfm-eval evaluated the 4 listed samples: $(head -c 200 "$T/out")"; fi
