#!/bin/sh
# tests/cli/tensorboard.sh — lfm-fit --tensorboard DIR, read back by the `tensorboard` package
# (tests/interop/read_tfevents.py: its EventAccumulator and record reader): on a tiny random CLIP, a
# training set whose classes fall in all three groups (5, 3 and 1 images, --many-above 4 --few-max 1) and
# validation, the event file's scalars (train/*, epoch/*, val/top1 overall and per group) equal the
# metrics log's records, steps and float32 values; a run stopped and resumed twice (once from an older
# checkpoint, so its first piece's later events are stale) writes one new event file per piece and
# TensorBoard shows the continued log's records once each; with two MPI ranks only rank 0 writes; a
# changed byte fails the CRC (and a recomputed CRC makes it valid again). Without the Python
# environment those checks are skipped; the refusals (DIR a file, DIR not creatable: exit 3 before any
# training) and the folder's creation are checked either way.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
. tests/cli/lib.sh
B=bin
DEMO=data/cifar10-lt/train.tar.gz
TEST=data/cifar10-lt/test.tar.gz
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LFM_PROGRESS=0
for t in lfm-fit clip-init lt-subset lfm-pairs lfm-mix clip-embed-text; do
	if [ ! -x "$B/$t" ]; then
		echo "not ok - tensorboard setup: $B/$t is missing (run make first)"
		exit 1
	fi
done
if [ ! -r "$DEMO" ] || [ ! -r "$TEST" ]; then
	echo "skip - tensorboard: $DEMO or $TEST not found (the embedded demo data)"
	exit 0
fi
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }

# ---- fixtures: 5 airplanes (many), 3 automobiles (medium), one image of each other class (few) ---------
mkdir -p "$T/unpack"
$B/clip-init --arch tiny --towers vision -o "$T/tiny.st" &&
	$B/clip-init --arch tiny --towers text --seed 1 -o "$T/text-tower.st" &&
	$B/lt-subset --imbalance 1 --max-per-class 5 --pack "$T/five.tar" --pack-layout folder -o "$T/five.mp" "$DEMO" &&
	tar -xf "$T/five.tar" -C "$T/unpack" &&
	for d in "$T"/unpack/train/*; do
		case ${d##*/} in airplane) keep=5 ;; automobile) keep=3 ;; *) keep=1 ;; esac
		ls "$d" | sort | tail -n +$((keep + 1)) | while read -r f; do rm "$d/$f"; done
	done &&
	tar -cf "$T/lt.tar" -C "$T/unpack" train &&
	$B/lt-subset --imbalance 1 --many-above 4 --few-max 1 -o "$T/lt.mp" "$T/lt.tar" &&
	$B/clip-embed-text --model "$T/text-tower.st" --vocab data/clip/bpe_simple_vocab_16e6.txt.gz \
		--samples "$T/lt.mp" -o "$T/text.npy" 2>/dev/null &&
	$B/lfm-pairs --text "$T/text.npy" --epochs 2 "$T/lt.mp" | $B/lfm-mix -o "$T/plan.mp" &&
	$B/lt-subset --split test --max-per-class 2 -o "$T/val.mp" "$TEST" 2>/dev/null || {
	echo "not ok - tensorboard setup: making the fixtures failed"
	exit 1
}
FIT="$B/lfm-fit --model $T/tiny.st --text $T/text.npy --data $T/lt.tar --threads 2 --batch 8 --lr 1e-4 --val $T/val.mp --val-data $TEST"
RESUME="$B/lfm-fit --text $T/text.npy --data $T/lt.tar --threads 2 --val $T/val.mp --val-data $TEST"
TAGS=train/loss,train/lr,train/images_per_s,epoch/loss,epoch/images_per_s,val/top1,val/loss,val/top1_many,val/top1_medium,val/top1_few

PY=$(interop_python tensorboard) || { NOPY=$PY; PY=""; }
# read_tfevents.py's lines; a failure of the script itself (a traceback) is a "not ok" line too
read_events() {
	"$PY" tests/interop/read_tfevents.py "$@" 2>"$T/py.err" ||
		echo "not ok - read_tfevents.py $1: exit $?: $(tail -n 3 "$T/py.err" | tr '\n' ' ')"
}

# ---- one run: the folder made (with its parents), one event file, the log's scalars ---------------------
if $FIT --log "$T/full.jsonl" --tensorboard "$T/tb/new/run" -o "$T/full.st" "$T/plan.mp" 2>"$T/err"; then
	n=$(ls "$T/tb/new/run" 2>/dev/null | grep -c '^events\.out\.tfevents\.[0-9]*\..*\.[0-9]*\.[0-9]*$')
	[ "$n" -eq 1 ] && ok "--tensorboard makes the missing folder and one events.out.tfevents.TIME.HOST.PID.N file" ||
		nok "--tensorboard makes the missing folder and one event file" "$(ls -R "$T/tb" 2>&1 | head -5)"
	grep '"kind":"epoch"' "$T/full.jsonl" | grep -q '"val_top1_many":.*"val_top1_medium":.*"val_top1_few":' &&
		ok "the log's epoch records carry val_top1_many, _medium, _few" ||
		nok "the log's epoch records carry val_top1_many, _medium, _few" "$(grep '"kind":"epoch"' "$T/full.jsonl" | head -1)"
else
	nok "lfm-fit --tensorboard" "$(cat "$T/err")"
fi
if [ -n "$PY" ]; then
	read_events check "$T/tb/new/run" "$T/full.jsonl" --files 1 --tags "$TAGS" | sed 's/^\(not \)\{0,1\}ok - /&one run: /'
	read_events corrupt "$T"/tb/new/run/events.out.tfevents.* | sed 's/^\(not \)\{0,1\}ok - /&CRC: /'
else
	echo "skip - tensorboard: reading the event files back: $NOPY"
fi

# ---- --log-every epoch thins the log only: the event file still has every step (the same losses, bit
# for bit, as the run above: compared with its log, the timings' steps only)
if $FIT --log "$T/ep.jsonl" --log-every epoch --tensorboard "$T/tbe" -o "$T/ep.st" "$T/plan.mp" 2>"$T/err"; then
	if [ -n "$PY" ]; then
		read_events check "$T/tbe" "$T/full.jsonl" --files 1 --tags "$TAGS" \
			--steps-only train/images_per_s,epoch/images_per_s | sed 's/^\(not \)\{0,1\}ok - /&--log-every epoch: /'
	fi
else
	nok "lfm-fit --log-every epoch --tensorboard" "$(cat "$T/err")"
fi

# ---- stopped and resumed, the last piece from an older checkpoint: the stale events purged -------------
# piece 1 to step 1 (a copy of its checkpoint kept), piece 2 to step 3, piece 3 from the copy (step 1) to
# the end: the log is cut after step 1 and continued; in DIR, piece 3's SessionLog START at step 2 makes
# TensorBoard drop piece 2's steps 2 and 3. The pieces a second apart: event files sort by their names'
# times (TensorFlow's rule), and within one second by process id.
$FIT --max-steps 1 --log "$T/h.jsonl" --tensorboard "$T/tbr" -o "$T/h.safetensors" "$T/plan.mp" 2>"$T/err" &&
	cp "$T/h.safetensors" "$T/h2.safetensors" && cp "$T/h.resume.safetensors" "$T/h2.resume.safetensors" && sleep 1 &&
	$RESUME --resume "$T/h.safetensors" --max-steps 3 --log "$T/h.jsonl" --tensorboard "$T/tbr" -o "$T/h.safetensors" "$T/plan.mp" 2>"$T/err" &&
	sleep 1 &&
	$RESUME --resume "$T/h2.safetensors" --log "$T/h.jsonl" --tensorboard "$T/tbr" -o "$T/h2.safetensors" "$T/plan.mp" 2>"$T/err" ||
	nok "stopped and resumed runs with --tensorboard" "$(cat "$T/err")"
grep '"kind":"step"' "$T/full.jsonl" | sed 's/,"images_per_s.*//' >"$T/s.full"
grep '"kind":"step"' "$T/h.jsonl" | sed 's/,"images_per_s.*//' >"$T/s.h"
cmp -s "$T/s.full" "$T/s.h" || nok "the resumed pieces' log" "differs from the uninterrupted run's: $(diff "$T/s.full" "$T/s.h" | head -3)"
if [ -n "$PY" ]; then
	read_events check "$T/tbr" "$T/h.jsonl" --files 3 --tags "$TAGS" | sed 's/^\(not \)\{0,1\}ok - /&resumed: /'
fi

# ---- two ranks (Open MPI): rank 0 writes the one event file ----------------------------------------------
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN="mpirun --oversubscribe --bind-to none"
if ! command -v mpirun >/dev/null 2>&1 || ! grep -q MPI_Allreduce "$B/lfm-fit" 2>/dev/null; then
	echo "skip - tensorboard: two ranks: no mpirun, or lfm-fit built without MPI"
elif ! $MPIRUN -np 2 true >"$T/mpi.err" 2>&1; then
	echo "skip - tensorboard: two ranks: mpirun -np 2 does not start here: $(head -c 200 "$T/mpi.err")"
elif $MPIRUN -np 2 $B/lfm-fit --model "$T/tiny.st" --text "$T/text.npy" --data "$T/lt.tar" --threads 1 --batch 8 \
	--lr 1e-4 --val "$T/val.mp" --val-data "$TEST" --log "$T/r2.jsonl" --tensorboard "$T/tb2" -o "$T/r2.st" \
	"$T/plan.mp" >"$T/err" 2>&1; then
	if [ -n "$PY" ]; then
		read_events check "$T/tb2" "$T/r2.jsonl" --files 1 --tags "$TAGS" | sed 's/^\(not \)\{0,1\}ok - /&two ranks: /'
	else
		n=$(ls "$T/tb2" | wc -l)
		[ "$n" -eq 1 ] && ok "two ranks: one event file" || nok "two ranks: one event file" "$n files"
	fi
else
	nok "two ranks with --tensorboard" "$(tail -n 5 "$T/err")"
fi

# ---- refusals: exit 3 naming the path, before any training (no checkpoint written) ---------------------
: >"$T/afile"
while IFS='|' read -r name want dir err_re; do
	name=$(trim "$name") want=$(trim "$want") dir=$(trim "$dir") err_re=$(trim "$err_re")
	rm -f "$T/bad.st"
	check_row "$name" "$want" - "$err_re" "$FIT --tensorboard '$dir' -o $T/bad.st $T/plan.mp"
	if [ -e "$T/bad.st" ]; then nok "$name: no training" "a checkpoint was written"; fi
done <<TABLE
--tensorboard names a file       | 3 | $T/afile   | --tensorboard: $T/afile: not a folder
--tensorboard under a file       | 3 | $T/afile/x | --tensorboard: $T/afile/x: cannot use it as the event files' folder
--tensorboard empty              | 3 |            | --tensorboard: an empty folder name
TABLE
# a folder that cannot be made even as root (sysfs refuses mkdir): "not writable", said with the path
if [ -d /sys/kernel ] && ! mkdir /sys/lfm-tb-probe 2>/dev/null; then
	rm -f "$T/bad.st"
	check_row "--tensorboard where no folder can be made" 3 - "--tensorboard: /sys/lfm-tb-test: cannot create the folder" \
		"$FIT --tensorboard /sys/lfm-tb-test -o $T/bad.st $T/plan.mp"
	if [ -e "$T/bad.st" ]; then nok "--tensorboard where no folder can be made: no training" "a checkpoint was written"; fi
else
	echo "skip - --tensorboard where no folder can be made: no sysfs that refuses mkdir here"
fi
exit 0 # the lines above report; tests/run.sh counts an exit status as a failure of its own
