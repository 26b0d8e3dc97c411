#!/bin/sh
# tests/cli/device.sh — --device and --precision of lfm-fit, lfm-eval and clip-embed-text. Without a GPU:
# the tools of bin/ refuse --device cuda with exit 3 and say what is missing; bad spellings exit 2; the CPU
# refuses --precision bf16. Through the host emulation (BUILD/emu/bin: the same tools linked with the CUDA
# code compiled for tests/cuda-host/) the GPU path runs for real: a short lfm-fit run on "cuda" in fp32
# gives the CPU's losses within 1e-4 (bf16: 2e-2), is bit-identical when repeated, resumes bit for bit on the
# same device and continues on the CPU from a device run's checkpoint; no device (LFM_EMU_DEVICES=0) exits 3;
# too little device memory (LFM_EMU_MEMORY) exits 3 naming the bytes, the old checkpoint untouched;
# lfm-eval and clip-embed-text on the device agree with the CPU; CUDA graphs (replayed over two epochs) and
# --recompute give the bits of eager steps; epoch records carry the peak device memory.
set -u
B=bin
E=${LFM_EMU_BIN:-build/emu/bin}
DEMO=data/cifar10-lt/train.tar.gz
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LFM_PROGRESS=0
. tests/cli/lib.sh
for t in lfm-fit lfm-eval clip-init lt-subset lfm-pairs lfm-mix clip-embed-text; do
	[ -x "$B/$t" ] || { echo "not ok - device setup: $B/$t is missing (run make first)"; exit 1; }
done
[ -r "$DEMO" ] || { echo "skip - device: $DEMO not found"; exit 0; }
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }

$B/clip-init --arch tiny --towers vision -o "$T/tiny.st" &&
	$B/clip-init --arch tiny --towers text --seed 1 -o "$T/text-tower.st" &&
	$B/lt-subset --imbalance 1 --max-per-class 2 --pack "$T/mini.tar" --pack-layout folder -o "$T/mini.mp" "$DEMO" &&
	$B/clip-embed-text --device cpu --model "$T/text-tower.st" --vocab data/clip/bpe_simple_vocab_16e6.txt.gz \
		--samples "$T/mini.mp" -o "$T/text.npy" 2>/dev/null &&
	$B/lfm-pairs --text "$T/text.npy" --epochs 1 "$T/mini.mp" | $B/lfm-mix -o "$T/plan.mp" || {
	echo "not ok - device setup: making the fixtures failed"
	exit 1
}
VOCAB=data/clip/bpe_simple_vocab_16e6.txt.gz

# ---- the options, without a GPU (a table) ------------------------------------------------------------
FITA="--model $T/tiny.st --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp"
gpu_here=0
[ "$($B/lfm-fit --device cuda $FITA --max-steps 1 2>&1 >/dev/null | grep -c 'device: cuda')" -gt 0 ] && gpu_here=1
while IFS='|' read -r name want out err cmd; do
	name=$(trim "$name"); [ -n "$name" ] || continue
	case $name in gpu-less*) [ $gpu_here = 1 ] && { echo "skip - $name: this machine has a GPU"; continue; } ;; esac
	check_row "$name" "$(trim "$want")" "$(trim "$out")" "$(trim "$err")" "$(trim "$cmd")"
done <<ROWS
gpu-less: lfm-fit --device cuda exits 3   | 3 | - | no CUDA device                | $B/lfm-fit --device cuda $FITA
gpu-less: lfm-fit --device cuda:1 exits 3 | 3 | - | no CUDA device                | $B/lfm-fit --device cuda:1 $FITA
gpu-less: lfm-eval --device cuda exits 3  | 3 | - | no CUDA device                | $B/lfm-eval --device cuda --model $T/tiny.st --text $T/text.npy --data $T/mini.tar $T/mini.mp
gpu-less: clip-embed-text --device cuda   | 3 | - | no CUDA device                | printf 'cat\n' | $B/clip-embed-text --device cuda --vocab $VOCAB --model $T/text-tower.st -o $T/t.npy
--device bogus is a usage error           | 2 | - | --device 'gpu': expected cpu  | $B/lfm-fit --device gpu $FITA
--device cuda:x is a usage error          | 2 | - | expected cpu, cuda or cuda:N  | $B/lfm-eval --device cuda:x --model $T/tiny.st --text $T/text.npy --data $T/mini.tar $T/mini.mp
--precision bf16 on the CPU is refused    | 2 | - | the CPU computes in fp32 only | $B/lfm-fit --device cpu --precision bf16 $FITA
--preprocess device on the CPU is refused | 2 | - | --preprocess device: the images are preprocessed on the CPU | $B/lfm-fit --device cpu --preprocess device $FITA
--preprocess bogus is unknown             | 2 | - | --preprocess                  | $B/lfm-fit --preprocess gpu $FITA
--precision f64 is unknown                | 2 | - | --precision                   | $B/lfm-fit --precision f64 $FITA
the CPU is named on stderr                | 0 | - | device: cpu                   | $B/lfm-fit --device cpu --max-steps 1 $FITA
ROWS
[ -f "$T/x.st" ] && rm -f "$T/x.st" "$T/x.st.resume.safetensors"

# ---- the GPU path through the host emulation ---------------------------------------------------------
if [ ! -x "$E/lfm-fit" ]; then
	echo "skip - device: $E/lfm-fit not built (make emu)"
	exit 0
fi
steps() { grep '"kind":"step"' "$@" | sed -E 's/.*"step":([0-9]+),"loss":([^,]+),.*/\1 \2/'; }
# the largest relative difference of the losses of two logs (same steps)
loss_diff() { steps "$1" >"$T/l1"; steps "$2" >"$T/l2"; paste "$T/l1" "$T/l2" | awk '
	{ n++; d = $2 - $4; if (d < 0) d = -d; r = d / ($4 < 0 ? -$4 : $4); if (r > m) m = r }
	END { if (n == 0) print "none"; else printf "%.3g\n", m }'; }
within() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "none" && a + 0 <= b + 0) }'; }
FIT="--model $T/tiny.st --text $T/text.npy --data $T/mini.tar --threads 1 --batch 8 --lr 1e-4"

$B/lfm-fit --device cpu $FIT --log "$T/cpu.jsonl" -o "$T/cpu.st" "$T/plan.mp" 2>"$T/err" || nok "CPU run" "$(cat "$T/err")"
if $E/lfm-fit --device cuda --precision fp32 $FIT --log "$T/gpu.jsonl" -o "$T/gpu.st" "$T/plan.mp" 2>"$T/err"; then
	grep -q 'device: cuda:0 (host emulation' "$T/err" && ok "the emulated device is named" || nok "the emulated device is named" "$(cat "$T/err")"
	d=$(loss_diff "$T/gpu.jsonl" "$T/cpu.jsonl")
	within "$d" 1e-4 && ok "fp32 on the device: the CPU's losses (max rel diff $d)" || nok "fp32 on the device: the CPU's losses" "max rel diff $d"
	grep -q 'precision\\":\\"fp32' "$T/gpu.st" && ok "the checkpoint records the precision" || nok "the checkpoint records the precision" "no precision fp32 in its options"
else
	nok "fp32 run on the emulated device" "$(tail -n 3 "$T/err")"
fi
$E/lfm-fit --device cuda --precision fp32 $FIT --log "$T/gpu2.jsonl" -o "$T/gpu2.st" "$T/plan.mp" 2>"$T/err" &&
	steps "$T/gpu.jsonl" >"$T/a" && steps "$T/gpu2.jsonl" >"$T/b" && cmp -s "$T/a" "$T/b" &&
	ok "two device runs give the same losses bit for bit" || nok "two device runs give the same losses bit for bit" "$(tail -n 2 "$T/err")"
if $E/lfm-fit --device cuda $FIT --log "$T/bf.jsonl" -o "$T/bf.st" "$T/plan.mp" 2>"$T/err"; then
	grep -q 'precision: bf16 (the default on a GPU' "$T/err" && ok "bf16 is the default on a GPU, said on stderr" || nok "bf16 is the default on a GPU" "$(cat "$T/err")"
	d=$(loss_diff "$T/bf.jsonl" "$T/cpu.jsonl")
	within "$d" 2e-2 && ok "bf16 on the device: within 2e-2 of the CPU (max rel diff $d)" || nok "bf16 on the device: within 2e-2 of the CPU" "max rel diff $d"
else
	nok "bf16 run on the emulated device" "$(tail -n 3 "$T/err")"
fi
# stopped after 1 step on the device: resumed there bit for bit, and on the CPU within rounding
$E/lfm-fit --device cuda --precision fp32 $FIT --max-steps 1 --log "$T/r1.jsonl" -o "$T/r.st" "$T/plan.mp" 2>"$T/err" &&
	cp "$T/r.st" "$T/rc.st" && cp "$T/r.st.resume.safetensors" "$T/rc.st.resume.safetensors" 2>/dev/null
$E/lfm-fit --device cuda --resume "$T/r.st" --text $T/text.npy --data $T/mini.tar --log "$T/r2.jsonl" -o "$T/r.st" "$T/plan.mp" 2>"$T/err" &&
	cat "$T/r1.jsonl" "$T/r2.jsonl" >"$T/r.jsonl" && steps "$T/r.jsonl" >"$T/a" && steps "$T/gpu.jsonl" >"$T/b" && cmp -s "$T/a" "$T/b" &&
	ok "a device run resumed on the device gives the uninterrupted losses bit for bit" ||
	nok "a device run resumed on the device gives the uninterrupted losses bit for bit" "$(tail -n 2 "$T/err")"
if [ -f "$T/rc.st.resume.safetensors" ] &&
	$B/lfm-fit --device cpu --resume "$T/rc.st" --text $T/text.npy --data $T/mini.tar --log "$T/rc2.jsonl" -o "$T/rc.st" "$T/plan.mp" 2>"$T/err"; then
	cat "$T/r1.jsonl" "$T/rc2.jsonl" >"$T/rc.jsonl"
	d=$(loss_diff "$T/rc.jsonl" "$T/cpu.jsonl")
	within "$d" 1e-4 && ok "a device run resumed on the CPU continues (max rel diff $d)" || nok "a device run resumed on the CPU continues" "max rel diff $d"
else
	nok "a device run resumed on the CPU continues" "$(tail -n 2 "$T/err")"
fi
# CUDA graphs: two epochs of batches 8, 8, 4 — the first full batch runs eagerly, the second is captured,
# the later ones replay it (with new pixels, targets and Adam scalars), the short ones run eagerly; the
# same run with every step eager (LFM_CUDA_GRAPHS=0) and with --recompute must give the same bits
$B/lfm-pairs --text "$T/text.npy" --epochs 2 "$T/mini.mp" | $B/lfm-mix -o "$T/plan2.mp"
for v in graphs eager recompute; do
	mkdir -p "$T/$v"
	case $v in eager) env=LFM_CUDA_GRAPHS=0 extra= ;; recompute) env=LFM_CUDA_GRAPHS=1 extra=--recompute ;; *) env=LFM_CUDA_GRAPHS=1 extra= ;; esac
	(cd "$T/$v" && env $env "$OLDPWD/$E/lfm-fit" --device cuda --precision fp32 $FIT $extra --log l.jsonl -o x.st "$T/plan2.mp" 2>err) ||
		nok "lfm-fit on the device ($v)" "$(tail -n 2 "$T/$v/err")"
done
steps "$T/graphs/l.jsonl" >"$T/a"; steps "$T/eager/l.jsonl" >"$T/b"
[ "$(wc -l <"$T/a")" = 6 ] && cmp -s "$T/a" "$T/b" && cmp -s "$T/graphs/x.st" "$T/eager/x.st" &&
	ok "CUDA graphs replayed: the eager steps' losses and checkpoint bit for bit" ||
	nok "CUDA graphs replayed: the eager steps' losses and checkpoint bit for bit" "$(diff "$T/a" "$T/b" | head -n 4)"
# a safetensors file's tensor bytes (after its header, whose metadata holds the command line)
st_data() { n=$(od -An -t u8 -N 8 "$1" | tr -d ' '); tail -c +$((9 + n)) "$1"; }
steps "$T/recompute/l.jsonl" >"$T/b"
st_data "$T/graphs/x.st" >"$T/xa"; st_data "$T/recompute/x.st" >"$T/xb"
cmp -s "$T/a" "$T/b" && [ -s "$T/xa" ] && cmp -s "$T/xa" "$T/xb" &&
	ok "--recompute: the same losses and checkpoint bit for bit" ||
	nok "--recompute: the same losses and checkpoint bit for bit" "$(diff "$T/a" "$T/b" | head -n 4)"
# the data path on the device: the same JPEGs (32 x 32) uploaded as RGB8 and preprocessed and mixed there
# give the CPU-preprocessed run's bits, validation included (graphs replayed over two epochs as above)
for v in prep-cpu prep-device; do
	mkdir -p "$T/$v"
	(cd "$T/$v" && "$OLDPWD/$E/lfm-fit" --device cuda --precision fp32 $FIT --preprocess ${v#prep-} --val "$T/mini.mp" \
		--log l.jsonl -o x.st "$T/plan2.mp" 2>err) || nok "lfm-fit --preprocess ${v#prep-} on the device" "$(tail -n 2 "$T/$v/err")"
done
grep -q 'preprocessing: on the device (32 x 32 RGB8' "$T/prep-device/err" && grep -q 'preprocessing: on the CPU' "$T/prep-cpu/err" &&
	ok "--preprocess is said on stderr" || nok "--preprocess is said on stderr" "$(cat "$T/prep-device/err")"
sed 's/"elapsed_s":[^,}]*//; s/"images_per_s":[^,}]*//; s/"device_peak_bytes":[^,}]*//' "$T/prep-cpu/l.jsonl" >"$T/a"
sed 's/"elapsed_s":[^,}]*//; s/"images_per_s":[^,}]*//; s/"device_peak_bytes":[^,}]*//' "$T/prep-device/l.jsonl" | grep -v '"command"' >"$T/b"
grep -v '"command"' "$T/a" >"$T/a2"
st_data "$T/prep-cpu/x.st" >"$T/xa"; st_data "$T/prep-device/x.st" >"$T/xb"
grep -q val_top1 "$T/a2" && cmp -s "$T/a2" "$T/b" && [ -s "$T/xa" ] && cmp -s "$T/xa" "$T/xb" &&
	ok "--preprocess device: the CPU-preprocessed losses, validation and checkpoint bit for bit" ||
	nok "--preprocess device: the CPU-preprocessed losses, validation and checkpoint bit for bit" "$(diff "$T/a2" "$T/b" | head -n 4)"
peak() { grep '"kind":"epoch"' "$1" | tail -n 1 | sed -nE 's/.*"device_peak_bytes":([0-9]+).*/\1/p'; }
p1=$(peak "$T/graphs/l.jsonl"); p2=$(peak "$T/recompute/l.jsonl")
[ -n "$p1" ] && [ -n "$p2" ] && [ "$p2" -lt "$p1" ] &&
	ok "the epoch records carry device_peak_bytes, smaller with --recompute ($p2 < $p1)" ||
	nok "the epoch records carry device_peak_bytes, smaller with --recompute" "'$p2' vs '$p1'"
# stage 2 (the tower frozen, W trained) from the stage-1 checkpoint
FIT2="--model $T/cpu.st --stage 2 --text $T/text.npy --data $T/mini.tar --threads 1 --batch 8"
$B/lfm-fit --device cpu $FIT2 --log "$T/s2c.jsonl" -o "$T/s2c.st" "$T/plan.mp" 2>"$T/err" &&
	$E/lfm-fit --device cuda --precision fp32 $FIT2 --log "$T/s2g.jsonl" -o "$T/s2g.st" "$T/plan.mp" 2>"$T/err" &&
	d=$(loss_diff "$T/s2g.jsonl" "$T/s2c.jsonl") && within "$d" 1e-5 &&
	ok "stage 2 on the device: the CPU's losses (max rel diff $d)" || nok "stage 2 on the device: the CPU's losses" "$(tail -n 2 "$T/err") ${d:-}"
# no device, too little memory
LFM_EMU_DEVICES=0 $E/lfm-fit --device cuda $FIT -o "$T/n.st" "$T/plan.mp" 2>"$T/err"
st=$?; [ $st = 3 ] && grep -q 'no CUDA device' "$T/err" && ok "no device: exit 3 and why" || nok "no device: exit 3 and why" "exit $st: $(cat "$T/err")"
cp "$T/cpu.st" "$T/keep.st"
LFM_EMU_MEMORY=$((33554432 + 1048576)) $E/lfm-fit --device cuda $FIT --epochs 1 -o "$T/keep.st" "$T/plan.mp" 2>"$T/err"
st=$?
if [ $st = 3 ] && grep -q 'out of device memory' "$T/err" && grep -q 'bytes' "$T/err" && cmp -s "$T/cpu.st" "$T/keep.st"; then
	ok "out of device memory: exit 3, the bytes asked, the checkpoint untouched"
else
	nok "out of device memory: exit 3, the bytes asked, the checkpoint untouched" "exit $st: $(tail -n 2 "$T/err")"
fi
# lfm-eval and clip-embed-text on the device
$B/lfm-eval --device cpu --model "$T/cpu.st" --text "$T/text.npy" --data "$T/mini.tar" --json "$T/mini.mp" >"$T/ec.json" 2>"$T/err" &&
	$E/lfm-eval --device cuda --precision fp32 --model "$T/cpu.st" --text "$T/text.npy" --data "$T/mini.tar" --json "$T/mini.mp" >"$T/eg.json" 2>"$T/err" &&
	cmp -s "$T/ec.json" "$T/eg.json" && ok "lfm-eval on the device: the CPU's report" || nok "lfm-eval on the device: the CPU's report" "$(tail -n 2 "$T/err")"
printf 'cat\ndog\naquarium fish\n' >"$T/classes.txt"
$B/clip-embed-text --device cpu --vocab $VOCAB --model "$T/text-tower.st" -o "$T/tc.npy" "$T/classes.txt" 2>/dev/null &&
	$E/clip-embed-text --device cuda --precision fp32 --vocab $VOCAB --model "$T/text-tower.st" -o "$T/tg.npy" "$T/classes.txt" 2>"$T/err" &&
	od -An -v -f -j 128 "$T/tc.npy" | tr -s ' ' '\n' | grep . >"$T/fa" && od -An -v -f -j 128 "$T/tg.npy" | tr -s ' ' '\n' | grep . >"$T/fb" &&
	d=$(paste "$T/fa" "$T/fb" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g", m }') &&
	within "$d" 1e-5 && ok "clip-embed-text on the device: the CPU's features (max abs diff $d)" ||
	nok "clip-embed-text on the device: the CPU's features" "$(tail -n 2 "$T/err") diff ${d:-?}"
