#!/bin/sh
# bench/bench_embed_text.sh — clip-embed-text against OpenAI's encode_text in PyTorch
# (bench/encode_text_reference.py) as whole commands, on the same machine and the same weights: ViT-B/32-sized
# random weights from bin/clip-init (f32 and f16 files), the prompts "a photo of a {class}" for the 100
# CIFAR-100 and the 1,000 ImageNet class names of data/classes/. Each command is timed as a user runs it
# (process start, weights, tokenizer, tokenizing, encoding, normalising, writing the .npy), best of RUNS
# (default 3) by wall clock, under /usr/bin/time -v for the peak RSS. Prints a table; not a test.
#
# Before timing: the token ids of both tokenizers must be equal for every prompt, and the raw features
# (--raw) of both on the CIFAR-100 prompts must agree within a relative L2 error of 1e-5 for each weight
# file; every timed pair of outputs (normalised features) is compared the same way afterwards.
#
# Needs: bin/ built (make), Debian's python3 with python3-torch, python3-numpy, python3-regex.
# Knobs (environment): RUNS (3), LISTS ("cifar100 imagenet"), DTYPES ("f32 f16"), PYTHON (/usr/bin/python3),
# TORCH_THREADS (torch.set_num_threads for the reference; default: torch's own choice, 1 on the 2-core dev
# machine, while its matrix products use OpenBLAS's threads, one per CPU — the fastest setting there).
set -eu
PY=${PYTHON:-/usr/bin/python3}
RUNS=${RUNS:-3}
LISTS=${LISTS:-"cifar100 imagenet"}
DTYPES=${DTYPES:-"f32 f16"}
THREADS=${TORCH_THREADS:-}
REF="$PY bench/encode_text_reference.py${THREADS:+ --threads $THREADS}"
EMBED=bin/clip-embed-text
TIME=/usr/bin/time

for f in "$EMBED" bin/clip-init "$TIME"; do
	[ -x "$f" ] || { echo "bench_embed_text: $f missing (make; apt-get install time)" >&2; exit 2; }
done
"$PY" -c 'import torch, numpy, regex' 2>/dev/null ||
	{ echo "bench_embed_text: $PY lacks torch/numpy/regex (apt-get install python3-torch python3-numpy python3-regex)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# relative L2 error of two .npy files; fails (exit 1) at or above 1e-5
compare() {
	"$PY" - "$1" "$2" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
if a.shape != b.shape:
    sys.exit(f"shapes differ: {a.shape} vs {b.shape}")
err = float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64)))
print(f"{err:.2e}")
sys.exit(0 if err < 1e-5 else 1)
PY
}

echo "machine: $(uname -m), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)); $("$PY" -c 'import torch; print("torch", torch.__version__, "with", torch.get_num_threads(), "threads")')${THREADS:+ set to $THREADS}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

for dt in $DTYPES; do
	bin/clip-init --arch ViT-B/32 --seed 1 --dtype "$dt" -o "$tmp/b32-$dt.safetensors"
done
for list in $LISTS; do
	[ -f "data/classes/$list.txt" ] || { echo "bench_embed_text: data/classes/$list.txt missing" >&2; exit 2; }
	sed 's/.*/a photo of a &/' "data/classes/$list.txt" | "$EMBED" --tokenize > "$tmp/tok-ours-$list"
	$REF --classes "data/classes/$list.txt" --print-tokens > "$tmp/tok-ref-$list"
	cmp -s "$tmp/tok-ours-$list" "$tmp/tok-ref-$list" ||
		{ echo "bench_embed_text: token ids differ for $list" >&2; exit 1; }
done
echo "token ids: identical for every prompt ($(echo $LISTS))"
for dt in $DTYPES; do
	"$EMBED" --model "$tmp/b32-$dt.safetensors" --raw --classes data/classes/cifar100.txt -o "$tmp/raw-ours.npy" 2>/dev/null
	$REF --model "$tmp/b32-$dt.safetensors" --raw --classes data/classes/cifar100.txt -o "$tmp/raw-ref.npy"
	err=$(compare "$tmp/raw-ours.npy" "$tmp/raw-ref.npy") ||
		{ echo "bench_embed_text: raw features differ, $dt: $err" >&2; exit 1; }
	echo "raw features, cifar100, $dt: relative L2 error $err"
done

# time_best NAME CMD...: runs CMD RUNS times; writes "wall cpu peak_mb" to $tmp/result (wall and cpu of the
# fastest run, the highest peak RSS of all runs); exits the script if a run fails
time_best() {
	name=$1
	shift
	best= bestcpu= peak=0
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		"$TIME" -v -o "$tmp/time-$name" "$@" > /dev/null 2>"$tmp/err-$name" ||
			{ cat "$tmp/err-$name" "$tmp/time-$name" >&2; exit 1; }
		tw=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time-$name" |
			awk -F: '{ s = 0; for (k = 1; k <= NF; k++) s = s * 60 + $k; print s }')
		tu=$(sed -n 's/.*User time (seconds): //p' "$tmp/time-$name")
		ts=$(sed -n 's/.*System time (seconds): //p' "$tmp/time-$name")
		tm=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time-$name")
		tc=$(echo "$tu + $ts" | bc -l)
		if [ -z "$best" ] || [ "$(echo "$tw < $best" | bc -l)" = 1 ]; then
			best=$tw bestcpu=$tc
		fi
		[ "$tm" -gt "$peak" ] && peak=$tm
		i=$((i + 1))
	done
	echo "$best $bestcpu $((peak / 1024))" > "$tmp/result"
}

rows=
for list in $LISTS; do
	n=$(wc -l < "data/classes/$list.txt")
	for dt in $DTYPES; do
		weights="$tmp/b32-$dt.safetensors"
		time_best ours "$EMBED" --model "$weights" --classes "data/classes/$list.txt" -o "$tmp/ours.npy"
		set -- $(cat "$tmp/result")
		ow=$1 oc=$2 om=$3
		time_best ref $REF --model "$weights" --classes "data/classes/$list.txt" -o "$tmp/ref.npy"
		set -- $(cat "$tmp/result")
		rw=$1 rc=$2 rm_=$3
		err=$(compare "$tmp/ours.npy" "$tmp/ref.npy") || { echo "bench_embed_text: outputs differ ($err)" >&2; exit 1; }
		rows="$rows$list $n $dt $ow $oc $om $rw $rc $rm_ $err
"
	done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-9s %-4s %-22s %9s %9s %10s %8s %9s %9s\n' "prompts" "file" "command" "seconds" "cpu s" "prompts/s" "peak MB" "speed-up" "cpu x"
printf '%s' "$rows" | while read -r list n dt ow oc om rw rc rm_ err; do
	printf '%-9s %-4s %-22s %9.2f %9.2f %10.0f %8d %8.1fx %8.1fx\n' "$list" "$dt" "clip-embed-text" "$ow" "$oc" \
		"$(echo "$n / $ow" | bc -l)" "$om" "$(echo "$rw / $ow" | bc -l)" "$(echo "$rc / $oc" | bc -l)"
	printf '%-9s %-4s %-22s %9.2f %9.2f %10.1f %8d %9s %9s   (outputs: rel. L2 %s)\n' "" "" "PyTorch encode_text" "$rw" "$rc" \
		"$(echo "$n / $rw" | bc -l)" "$rm_" "1" "1" "$err"
done
echo "seconds: wall clock of the whole command, best of $RUNS; cpu s: user + system of that run; peak MB: the"
echo "highest maximum RSS of the runs; speed-up: PyTorch's seconds / clip-embed-text's (cpu x: the same in CPU s)"
