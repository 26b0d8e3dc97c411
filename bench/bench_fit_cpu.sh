#!/bin/sh
# bench/bench_fit_cpu.sh — lfm-fit's stage-1 training on the CPU with ViT-B/32-sized random weights at 224
# pixels, batch 32, against the official training step in PyTorch (bench/fit_step_reference.py: the same
# tower from plain torch.nn modules, normalised cosine logits against 100 text features, soft CE, Adam)
# on the same machine (the reference with the same thread count and with torch's default, the faster
# kept). Prints a table (images/s, seconds per step, peak
# resident memory from /usr/bin/time -v); not a test.
#
# lfm-fit's figure is end to end: the demo JPEGs (32x32 CIFAR-10) decoded, resized to 224 (Pillow's
# bicubic), mixed and flipped on the loader threads while the previous step trains, the checkpoint write
# excluded (timed steps are taken from the metrics log, the first step left out as warm-up). The
# reference times the step alone on random tensors (no data loading at all).
#
# Needs: bin/ built (make), data/cifar10-lt/ (the embedded demo data), /usr/bin/time, and Debian's
# python3-torch for the anchor (apt-get install python3-torch; skipped with a note when absent).
# Environment: THREADS (default: all CPUs), STEPS (timed steps, default 3), BATCH (default 32),
# ARCH (default ViT-B/32), PYTHON (default /usr/bin/python3).
set -eu
THREADS=${THREADS:-$(nproc)}
STEPS=${STEPS:-3}
BATCH=${BATCH:-32}
ARCH=${ARCH:-ViT-B/32}
PY=${PYTHON:-/usr/bin/python3}
DEMO=data/cifar10-lt/train.tar.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LFM_PROGRESS=0

for t in lfm-fit clip-init lt-subset lfm-pairs lfm-mix lfm-show clip-embed-text; do
	[ -x bin/$t ] || { echo "bench_fit_cpu: bin/$t missing (run make)" >&2; exit 3; }
done
[ -r $DEMO ] || { echo "bench_fit_cpu: $DEMO missing" >&2; exit 3; }

# Fixtures: the tower, 10 class text features (the head's cost is negligible either way), a plan of one
# epoch of (STEPS + 1) batches of mixed pairs from the demo's training images.
n=$(( (STEPS + 1) * BATCH ))
per=$(( (n + 9) / 10 ))
bin/clip-init --arch "$ARCH" --towers vision -o "$tmp/w.st"
bin/clip-init --arch "$ARCH" --towers text -o "$tmp/t.st"
bin/lt-subset --imbalance 1 --max-per-class $per --pack "$tmp/data.tar" --pack-layout folder -o "$tmp/s.mp" $DEMO
bin/clip-embed-text --model "$tmp/t.st" --vocab data/clip/bpe_simple_vocab_16e6.txt.gz --samples "$tmp/s.mp" \
	-o "$tmp/text.npy"
bin/lfm-pairs --text "$tmp/text.npy" --epochs 1 "$tmp/s.mp" | bin/lfm-mix > "$tmp/plan.mp"

peak_kb() { sed -n 's/.*Maximum resident set size (kbytes): *//p' "$1"; }

/usr/bin/time -v bin/lfm-fit --model "$tmp/w.st" --text "$tmp/text.npy" --data "$tmp/data.tar" --batch "$BATCH" \
	--threads "$THREADS" --max-steps $((STEPS + 1)) --log "$tmp/log.jsonl" -o "$tmp/ck.safetensors" "$tmp/plan.mp" \
	2>"$tmp/fit.time" || { cat "$tmp/fit.time" >&2; exit 1; }
# images/s of the timed steps: their images over the sum of their times (1 / images_per_s per image)
ours=$(grep '"kind":"step"' "$tmp/log.jsonl" | tail -n "$STEPS" |
	sed -E 's/.*"images_per_s":([^,]+),.*/\1/' | awk -v b="$BATCH" '{ t += b / $1; n += b } END { printf "%.3f %.3f", n / t, t / NR }')
ours_ips=${ours% *} ours_step=${ours#* }
ours_mb=$(( $(peak_kb "$tmp/fit.time") / 1024 ))

ref_ips=- ref_step=- ref_mb=- note=""
if "$PY" -c 'import torch' 2>/dev/null; then
	# The reference at its best: torch.set_num_threads(THREADS), and torch's own default (one OpenMP
	# thread on the 2-core dev machine, OpenBLAS's threads beneath it), which can be faster because torch's
	# threads and OpenBLAS's then do not oversubscribe the cores. The faster of the two is the anchor.
	for t in "$THREADS" 0; do
		/usr/bin/time -v "$PY" bench/fit_step_reference.py --arch "$ARCH" --batch "$BATCH" --steps "$STEPS" \
			--threads "$t" >"$tmp/ref.out" 2>"$tmp/ref.time" || { cat "$tmp/ref.time" >&2; exit 1; }
		set -- $(cat "$tmp/ref.out")
		label=$t; [ "$t" = 0 ] && label="torch's default"
		echo "reference, --threads $label: $2 images/s" >&2
		if [ "$ref_ips" = - ] || awk -v a="$2" -v b="$ref_ips" 'BEGIN { exit !(a > b) }'; then
			ref_ips=$2 ref_step=$4 ref_threads=$6
			ref_mb=$(( $(peak_kb "$tmp/ref.time") / 1024 ))
		fi
	done
	torch_version=$("$PY" -c 'import torch; print(torch.__version__)')
else
	note="(PyTorch not installed: apt-get install python3-torch)"
	torch_version=-
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "lfm-fit stage 1, $ARCH random weights, 224 px, batch $BATCH, $THREADS threads, $STEPS timed steps; $cpu"
printf '%-44s %10s %10s %12s\n' "" "images/s" "s/step" "peak RSS MB"
printf '%-44s %10s %10s %12s\n' "lfm-fit (end to end: JPEG decode, mix, step)" "$ours_ips" "$ours_step" "$ours_mb"
printf '%-44s %10s %10s %12s\n' "official step, PyTorch $torch_version (step only)" "$ref_ips" "$ref_step" "$ref_mb"
[ "$ref_ips" = - ] || echo "  (the reference's faster setting: torch.get_num_threads() = $ref_threads)"
if [ "$ref_ips" != - ]; then
	awk -v a="$ours_ips" -v b="$ref_ips" 'BEGIN { printf "speed-up: %.2fx\n", a / b }'
else
	echo "$note"
fi
