#!/bin/sh
# tests/cli/lfm_fit.sh — lfm-fit end to end on a tiny random CLIP (resolution 32) and 20 images of the
# embedded demo data (data/cifar10-lt/train.tar.gz, packed here into a small tar): the loss falls on a
# tiny set; a run stopped and resumed (twice) gives the uninterrupted run's losses bit for bit and the
# same final tensors (same --threads: OpenBLAS is deterministic for a fixed thread count); SIGTERM
# mid-run leaves a valid checkpoint, its resume file and no temporary file, and the resumed run completes
# like an uninterrupted one; a kill at each step of a save, resumed, gives the uninterrupted run bit for bit
# (LFM_TEST_DIE_AT_SAVE_STEP); a killed save's temporary file is removed by the next run; a resume file of
# another run is refused; a second run on the same -o is refused; an output that is an input is refused; a NaN loss exits 1 and keeps the previous checkpoint; stage 2 writes
# fc.weight; bad input exits 1/2/3 with messages that say what is wrong (a table).
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
B=bin
DEMO=data/cifar10-lt/train.tar.gz
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LFM_PROGRESS=0
for t in lfm-fit clip-init lt-subset lfm-pairs lfm-mix lfm-show clip-embed-text; do
	if [ ! -x "$B/$t" ]; then
		echo "not ok - lfm-fit setup: $B/$t is missing (run make first)"
		exit 1
	fi
done
if [ ! -r "$DEMO" ]; then
	echo "skip - lfm-fit: $DEMO not found (the embedded demo data)"
	exit 0
fi

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }

# ---- fixtures: a tiny model (vision tower only, so checkpoints stay small), 20 images, text, plans ---
$B/clip-init --arch tiny --towers vision -o "$T/tiny.st" &&
	$B/clip-init --arch tiny --towers text --seed 1 -o "$T/text-tower.st" &&
	$B/lt-subset --imbalance 1 --max-per-class 2 --pack "$T/mini.tar" --pack-layout folder -o "$T/mini.mp" "$DEMO" &&
	$B/clip-embed-text --model "$T/text-tower.st" --vocab data/clip/bpe_simple_vocab_16e6.txt.gz \
		--samples "$T/mini.mp" -o "$T/text.npy" &&
	$B/lfm-pairs --text "$T/text.npy" --epochs 2 "$T/mini.mp" | $B/lfm-mix -o "$T/plan.mp" &&
	$B/lfm-pairs --text "$T/text.npy" --epochs 60 "$T/mini.mp" | $B/lfm-mix -o "$T/long.mp" &&
	$B/lt-subset --split test --max-per-class 2 -o "$T/test.mp" data/cifar10-lt/test.tar.gz || {
	echo "not ok - lfm-fit setup: making the fixtures failed"
	exit 1
}
FIT="$B/lfm-fit --text $T/text.npy --data $T/mini.tar --threads 2"

# The step records of metrics logs (JSON lines) without the timings: "epoch step loss lr".
steps() { cat "$@" | grep '"kind":"step"' | sed -E 's/.*"epoch":([0-9]+),"step":([0-9]+),"loss":([^,]+),"lr":([^,]+),.*/\1 \2 \3 \4/'; }
epochs() { cat "$@" | grep '"kind":"epoch"' | sed -E 's/.*"step":([0-9]+),"loss":([^,]+),.*/\1 \2/'; }
# The data section of a safetensors file (tensors only, metadata aside): the bytes after its header.
data_of() { hl=$(od -An -tu8 -N8 "$1" | tr -d ' '); tail -c +$((9 + hl)) "$1"; }
same_tensors() { data_of "$1" >"$T/d1" && data_of "$2" >"$T/d2" && cmp -s "$T/d1" "$T/d2"; }

# ---- the loss falls when overfitting 20 images (no mixing), 12 epochs of one batch -----------------
if $FIT --model "$T/tiny.st" --samples "$T/mini.mp" --epochs 12 --batch 20 --lr 1e-3 --log "$T/o.jsonl" \
	-o "$T/o.safetensors" 2>"$T/err"; then
	first=$(epochs "$T/o.jsonl" | head -1 | cut -d' ' -f2) last=$(epochs "$T/o.jsonl" | tail -1 | cut -d' ' -f2)
	if awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 0.1) }'; then
		ok "loss falls on a tiny set ($first -> $last)"
	else
		nok "loss falls on a tiny set" "$first -> $last"
	fi
else
	nok "loss falls on a tiny set" "exit $?: $(cat "$T/err")"
fi

# ---- resume exactness: 6 steps (20 records an epoch, batch 8: 8 + 8 + 4, two epochs) -----------------
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --log "$T/full.jsonl" -o "$T/full.safetensors" "$T/plan.mp" 2>"$T/err" ||
	nok "uninterrupted run" "$(cat "$T/err")"
[ -e "$T/full.resume.safetensors" ] && nok "resume file removed at the end" "still there" || ok "resume file removed at the end"
# stop after 2 (mid epoch 0), resume to 4 (mid epoch 1), resume to the end
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --max-steps 2 --log "$T/p1.jsonl" -o "$T/part.safetensors" "$T/plan.mp" 2>"$T/err"
st=$?
if [ $st -eq 0 ] && [ -f "$T/part.resume.safetensors" ] && grep -q 'stopped at step 2' "$T/err"; then
	ok "--max-steps stops with a checkpoint and a resume file"
else
	nok "--max-steps stops with a checkpoint and a resume file" "exit $st: $(cat "$T/err")"
fi
$FIT --resume "$T/part.safetensors" --max-steps 4 --log "$T/p2.jsonl" -o "$T/part.safetensors" "$T/plan.mp" 2>"$T/err" ||
	nok "first resume" "$(cat "$T/err")"
$FIT --resume "$T/part.safetensors" --log "$T/p3.jsonl" -o "$T/part.safetensors" "$T/plan.mp" 2>"$T/err" ||
	nok "second resume" "$(cat "$T/err")"
steps "$T/full.jsonl" >"$T/s.full"
steps "$T/p1.jsonl" "$T/p2.jsonl" "$T/p3.jsonl" >"$T/s.part"
if [ "$(wc -l <"$T/s.full")" -eq 6 ] && cmp -s "$T/s.full" "$T/s.part"; then
	ok "resumed runs give the uninterrupted run's 6 losses bit for bit"
else
	nok "resumed runs give the uninterrupted run's losses bit for bit" "$(diff "$T/s.full" "$T/s.part" | head -5 | tr '\n' ' ')"
fi
epochs "$T/full.jsonl" >"$T/e.full"
epochs "$T/p1.jsonl" "$T/p2.jsonl" "$T/p3.jsonl" >"$T/e.part"
cmp -s "$T/e.full" "$T/e.part" && ok "epoch summaries equal across the resumes" ||
	nok "epoch summaries equal across the resumes" "$(diff "$T/e.full" "$T/e.part" | tr '\n' ' ')"
same_tensors "$T/full.safetensors" "$T/part.safetensors" && ok "resumed final checkpoint: identical tensors" ||
	nok "resumed final checkpoint: identical tensors" "the data sections differ"

# the checkpoint keeps the run's first command and lists the resumes in order
$B/lfm-show --json "$T/part.safetensors" >"$T/meta.json" 2>&1
rw=$(grep -o '"resumed_with":"\[[^]]*\]"' "$T/meta.json")
if grep -q '"command":"[^"]*--max-steps 2 --log [^"]*p1.jsonl' "$T/meta.json" &&
	printf '%s' "$rw" | grep -q 'max-steps 4 --log [^,]*p2\.jsonl.*\\",\\"[^,]*p3\.jsonl[^,]*$'; then
	ok "resumed checkpoint: the first command kept, the two resumes listed"
else
	nok "resumed checkpoint: the first command kept, the two resumes listed" "$(grep -o '"command":"[^"]*"\|"resumed_with":"[^}]*' "$T/meta.json" | head -c 600)"
fi

# --threads 0 takes every CPU; the progress line carries the running loss; a stopped run's hint continues it
if LFM_PROGRESS=1 $B/lfm-fit --text "$T/text.npy" --data "$T/mini.tar" --threads 0 --model "$T/tiny.st" --batch 8 \
	--lr 1e-4 --max-steps 1 -o "$T/t0.safetensors" "$T/plan.mp" 2>"$T/err" &&
	grep -qE 'lfm-fit stage 1: 1/6 steps in .* loss [0-9.]+' "$T/err"; then
	ok "--threads 0, the loss in the progress line"
else
	nok "--threads 0, the loss in the progress line" "$(cat "$T/err")"
fi
hint=$(sed -n 's/^lfm-fit: continue with: //p' "$T/err")
if [ -n "$hint" ] && (cd "$T" && PATH="$OLDPWD/$B:$PATH" LFM_PROGRESS=0 eval "$hint") 2>"$T/err2" &&
	[ ! -e "$T/t0.resume.safetensors" ] &&
	$B/lfm-fit --text "$T/text.npy" --data "$T/mini.tar" --threads 0 --model "$T/tiny.st" --batch 8 --lr 1e-4 \
		-o "$T/t0ref.safetensors" "$T/plan.mp" 2>/dev/null && same_tensors "$T/t0.safetensors" "$T/t0ref.safetensors"; then
	ok "the stop message's hint continues the run to the uninterrupted result"
else
	nok "the stop message's hint continues the run to the uninterrupted result" "hint '$hint': $(cat "$T/err2")"
fi

# a log that can no longer be written mid-run (its reader gone): the steps so far are saved, resumable, exit 3
rm -f "$T/logfifo"
mkfifo "$T/logfifo"
(head -c 1500 "$T/logfifo" >/dev/null) &
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --log "$T/logfifo" --log-format json -o "$T/lf.safetensors" "$T/long.mp" \
	2>"$T/err"
st=$?
wait
if [ $st -eq 3 ] && grep -q 'logfifo: write error: .*the run stopped at step [0-9]*, saved in' "$T/err" &&
	[ -f "$T/lf.resume.safetensors" ] && $B/lfm-show "$T/lf.safetensors" >/dev/null 2>&1; then
	ok "a log write error mid-run saves the steps so far (resumable), exit 3"
else
	nok "a log write error mid-run saves the steps so far (resumable), exit 3" "exit $st: $(cat "$T/err")"
fi

# a resumed run continues its own --log: one header, every step once; records logged after the checkpoint
# it resumes from (a run resumed from an older copy) are cut and logged again
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --max-steps 2 --log "$T/h.jsonl" -o "$T/h.safetensors" "$T/plan.mp" 2>/dev/null
cp "$T/h.safetensors" "$T/h2.safetensors"
cp "$T/h.resume.safetensors" "$T/h2.resume.safetensors"
$FIT --resume "$T/h.safetensors" --log "$T/h.jsonl" -o "$T/h.safetensors" "$T/plan.mp" 2>"$T/err"
st=$?
steps "$T/h.jsonl" >"$T/s.h"
if [ $st -eq 0 ] && cmp -s "$T/s.full" "$T/s.h" && [ "$(grep -c '"format":"lfm.metrics/1"' "$T/h.jsonl")" -eq 1 ]; then
	ok "a resumed run continues its own log: one header, every step once"
else
	nok "a resumed run continues its own log: one header, every step once" "exit $st: $(cat "$T/err") $(diff "$T/s.full" "$T/s.h" | head -3)"
fi
$FIT --resume "$T/h2.safetensors" --log "$T/h.jsonl" -o "$T/h2.safetensors" "$T/plan.mp" 2>"$T/err"
st=$?
steps "$T/h.jsonl" >"$T/s.h"
if [ $st -eq 0 ] && grep -q '6 records of steps after 2 .* cut' "$T/err" && cmp -s "$T/s.full" "$T/s.h"; then
	ok "resumed from an older checkpoint: the log's later records cut, then logged again"
else
	nok "resumed from an older checkpoint: the log's later records cut, then logged again" "exit $st: $(cat "$T/err")"
fi
printf 'not a log\n' >"$T/notlog.jsonl"
cp "$T/h2.safetensors" "$T/h3.safetensors" 2>/dev/null
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --max-steps 1 -o "$T/h3.safetensors" "$T/plan.mp" 2>/dev/null
$FIT --resume "$T/h3.safetensors" --log "$T/notlog.jsonl" -o "$T/h3.safetensors" "$T/plan.mp" 2>"$T/err"
st=$?
if [ $st -eq 2 ] && grep -q -- '--log: .*notlog.jsonl: object 1 is not a' "$T/err" && [ "$(cat "$T/notlog.jsonl")" = "not a log" ]; then
	ok "a resumed run refuses a --log that is not a metrics log, and leaves it alone"
else
	nok "a resumed run refuses a --log that is not a metrics log, and leaves it alone" "exit $st: $(cat "$T/err")"
fi

# ---- SIGTERM mid-run ---------------------------------------------------------------------------------
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --log "$T/sig.jsonl" -o "$T/sig.safetensors" "$T/long.mp" 2>"$T/sigerr" &
pid=$!
n=0
while [ "$n" -lt 300 ]; do
	k=$(grep -c '"kind":"step"' "$T/sig.jsonl" 2>/dev/null)
	[ "${k:-0}" -ge 5 ] && break
	sleep 0.05
	n=$((n + 1))
done
kill -TERM $pid 2>/dev/null
wait $pid
st=$?
tmpfiles=$(ls "$T" | grep -c '\.tmp\.')
if [ $st -eq 4 ] && grep -q 'interrupted at step' "$T/sigerr" && [ "$tmpfiles" -eq 0 ] &&
	$B/lfm-show "$T/sig.safetensors" >/dev/null 2>&1 && [ -f "$T/sig.resume.safetensors" ]; then
	ok "SIGTERM: exit 4, a valid checkpoint and resume file, no temporary file"
else
	nok "SIGTERM: exit 4, a valid checkpoint and resume file, no temporary file" \
		"exit $st, $tmpfiles temporaries: $(cat "$T/sigerr")"
fi
at=$(grep -o 'interrupted at step [0-9]*' "$T/sigerr" | grep -o '[0-9]*$')
if [ -n "$at" ] && [ "$at" -lt 120 ]; then # resume it to step 9 and compare with a run stopped at 9
	mx=$((at + 4))
	$FIT --resume "$T/sig.safetensors" --max-steps $mx --log "$T/sig2.jsonl" -o "$T/sig.safetensors" "$T/long.mp" 2>/dev/null
	$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --max-steps $mx --log "$T/ref.jsonl" -o "$T/ref.safetensors" "$T/long.mp" 2>/dev/null
	steps "$T/sig.jsonl" "$T/sig2.jsonl" >"$T/s.sig"
	steps "$T/ref.jsonl" >"$T/s.ref"
	if cmp -s "$T/s.sig" "$T/s.ref" && same_tensors "$T/sig.safetensors" "$T/ref.safetensors"; then
		ok "resumed after SIGTERM: the losses and tensors of an uninterrupted run"
	else
		nok "resumed after SIGTERM: the losses and tensors of an uninterrupted run" "$(diff "$T/s.sig" "$T/s.ref" | head -4 | tr '\n' ' ')"
	fi
else
	nok "resumed after SIGTERM" "no step number in: $(cat "$T/sigerr")"
fi

# ---- a kill at every step of a save (LFM_TEST_DIE_AT_SAVE_STEP=N: _exit(99) at the N-th step, as kill -9
# leaves it): the run resumed after each kill gives the uninterrupted run's losses and tensors bit for bit.
# A save has 5 steps (next resume file synced / renamed, checkpoint synced / renamed, next renamed over the
# resume file); the resumed run stopped at step 2 saves twice (end of epoch 0 at step 3, end at step 6):
# kill points 1-10, and 11 (past the last save: no kill, the run completes).
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 --max-steps 2 --log "$T/k0.jsonl" -o "$T/k0.safetensors" "$T/plan.mp" 2>/dev/null
bad=""
for n in 1 2 3 4 5 6 7 8 9 10 11; do
	rm -f "$T"/k.*
	cp "$T/k0.safetensors" "$T/k.safetensors" && cp "$T/k0.resume.safetensors" "$T/k.resume.safetensors" &&
		cp "$T/k0.jsonl" "$T/k.jsonl"
	LFM_TEST_DIE_AT_SAVE_STEP=$n $FIT --resume "$T/k.safetensors" --log "$T/k.jsonl" -o "$T/k.safetensors" \
		"$T/plan.mp" 2>"$T/kerr"
	st=$?
	if { [ $n -le 10 ] && [ $st -ne 99 ]; } || { [ $n -gt 10 ] && [ $st -ne 0 ]; }; then
		bad="$bad [kill $n: exit $st $(head -c 200 "$T/kerr")]"
		continue
	fi
	if [ $n -le 10 ]; then
		$FIT --resume "$T/k.safetensors" --log "$T/k.jsonl" -o "$T/k.safetensors" "$T/plan.mp" 2>"$T/kerr" ||
			{ bad="$bad [kill $n, resume: $(head -c 300 "$T/kerr")]"; continue; }
	fi
	steps "$T/k.jsonl" >"$T/s.k"
	left=$(ls "$T" | grep -c '^k\..*\(tmp\|resume\|lock\)')
	cmp -s "$T/s.full" "$T/s.k" && same_tensors "$T/full.safetensors" "$T/k.safetensors" && [ "$left" -eq 0 ] ||
		bad="$bad [kill $n: differs from the uninterrupted run, or $left files left: $(head -c 200 "$T/kerr")]"
done
[ -z "$bad" ] && ok "killed at each of the 10 steps of two saves, resumed: the uninterrupted run bit for bit, nothing left" ||
	nok "killed at each step of a save, resumed" "$bad"
# a kill before the checkpoint's rename leaves its temporary file: the next run on that output removes it
# and names it
rm -f "$T"/k.*
cp "$T/k0.safetensors" "$T/k.safetensors" && cp "$T/k0.resume.safetensors" "$T/k.resume.safetensors"
LFM_TEST_DIE_AT_SAVE_STEP=3 $FIT --resume "$T/k.safetensors" -o "$T/k.safetensors" "$T/plan.mp" 2>/dev/null
tmp=$(ls "$T" | grep '^k\.safetensors\.tmp\.' | head -1)
$FIT --resume "$T/k.safetensors" --max-steps 3 -o "$T/k.safetensors" "$T/plan.mp" 2>"$T/kerr"
st=$?
if [ -n "$tmp" ] && [ $st -eq 0 ] && [ ! -e "$T/$tmp" ] && grep -q "$tmp: removed, a temporary file a stopped run left" "$T/kerr"; then
	ok "a killed save's temporary file: removed and named by the next run"
else
	nok "a killed save's temporary file: removed and named by the next run" "tmp '$tmp', exit $st: $(cat "$T/kerr")"
fi
# a checkpoint beside the resume file of another run at the same step: refused
$FIT --model "$T/tiny.st" --batch 8 --lr 2e-4 --max-steps 2 -o "$T/kb.safetensors" "$T/plan.mp" 2>/dev/null
cp "$T/k0.safetensors" "$T/mm.safetensors" && cp "$T/kb.resume.safetensors" "$T/mm.resume.safetensors"
$FIT --resume "$T/mm.safetensors" -o "$T/mm2.safetensors" "$T/plan.mp" 2>"$T/kerr"
st=$?
if [ $st -eq 1 ] && grep -q 'at step 2 but of another checkpoint' "$T/kerr" && [ ! -e "$T/mm2.safetensors" ]; then
	ok "a resume file of another run at the same step: refused (checkpoint_hash)"
else
	nok "a resume file of another run at the same step: refused" "exit $st: $(cat "$T/kerr")"
fi
# a second run on the same -o: refused, naming the holder
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 -o "$T/lk.safetensors" "$T/long.mp" 2>/dev/null &
pid=$!
n=0
while [ ! -s "$T/lk.safetensors.lock" ] && [ $n -lt 200 ]; do
	sleep 0.05
	n=$((n + 1))
done
$FIT --model "$T/tiny.st" --batch 8 --lr 1e-4 -o "$T/lk.safetensors" "$T/plan.mp" 2>"$T/kerr"
st=$?
kill -TERM $pid 2>/dev/null
wait $pid 2>/dev/null
if [ $st -eq 2 ] && grep -q "lk.safetensors is being written by process $pid" "$T/kerr"; then
	ok "a second run on the same -o: refused, naming the process that holds it"
else
	nok "a second run on the same -o: refused, naming the process that holds it" "exit $st: $(cat "$T/kerr")"
fi

# ---- a NaN loss: exit 1, the previous checkpoint kept -----------------------------------------------
cp "$T/full.safetensors" "$T/keep.safetensors"
cp "$T/full.safetensors" "$T/nan.safetensors"
$FIT --model "$T/tiny.st" --batch 8 --lr 1e30 --force -o "$T/nan.safetensors" "$T/plan.mp" 2>"$T/err"
st=$?
if [ $st -eq 1 ] && grep -qE 'loss is (NaN|infinite)' "$T/err" && cmp -s "$T/keep.safetensors" "$T/nan.safetensors" &&
	[ ! -e "$T/nan.resume.safetensors" ]; then
	ok "NaN loss: exit 1, previous checkpoint intact"
else
	nok "NaN loss: exit 1, previous checkpoint intact" "exit $st: $(cat "$T/err")"
fi

# ---- stage 2 on the stage-1 checkpoint, with validation --------------------------------------------
if $FIT --model "$T/full.safetensors" --stage 2 --batch 8 --val "$T/test.mp" --val-data data/cifar10-lt/test.tar.gz \
	--log "$T/s2.mp" -o "$T/s2.safetensors" "$T/plan.mp" 2>"$T/err" &&
	$B/lfm-show "$T/s2.safetensors" | grep -q '^fc.weight  *F32  *\[64, 64\]' &&
	$B/lfm-show "$T/s2.mp" | grep '"kind":"epoch"' | grep -q '"val_top1":'; then
	ok "stage 2: fc.weight written, validation in the epoch records"
else
	nok "stage 2: fc.weight written, validation in the epoch records" "$(cat "$T/err")"
fi

# ---- bad input: arguments, expected exit status, a pattern of the message ---------------------------
printf 'a\nb\nc\n' | $B/clip-embed-text --model "$T/text-tower.st" --vocab data/clip/bpe_simple_vocab_16e6.txt.gz -o "$T/text3.npy" 2>/dev/null
printf 'not a plan' >"$T/junk.mp"
ln -s text.npy "$T/textlink.npy"
while IFS='|' read -r name want pattern args; do
	[ -n "$name" ] || continue
	eval "set -- $args"
	"$B/lfm-fit" "$@" >/dev/null 2>"$T/err"
	st=$?
	if [ "$st" -eq "$want" ] && grep -qE -- "$pattern" "$T/err"; then
		ok "bad input: $name"
	else
		nok "bad input: $name" "exit $st (want $want): $(head -c 300 "$T/err")"
	fi
done <<EOF
wrong dataset (labels differ)|1|label 0 in the dataset but .* wrong dataset|--model $T/tiny.st --text $T/text.npy --data $DEMO -o $T/x.st $T/plan.mp
features rows != classes|1|3 rows but .* 10 classes|--model $T/tiny.st --text $T/text3.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
missing weights|3|nonexistent|--model $T/nonexistent.st --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
weights without a vision tower|1|no vision tower|--model $T/text-tower.st --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
a plan that is not one|1|junk.mp|--model $T/tiny.st --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/junk.mp
missing --text|2|--text|--model $T/tiny.st --data $T/mini.tar -o $T/x.st $T/plan.mp
missing -o|2|-o CKPT|--model $T/tiny.st --text $T/text.npy --data $T/mini.tar $T/plan.mp
--model with --resume|2|exclude|--model $T/tiny.st --resume $T/full.safetensors --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
more epochs than the plan|2|holds 2 epochs|--model $T/tiny.st --epochs 3 --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
bad --lr|2|--lr|--model $T/tiny.st --lr -1 --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
resume of a completed run|3|no resume file|--resume $T/full.safetensors --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
resume with another --lr|2|differs from the resumed run|--resume $T/sig.safetensors --lr 0.5 --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/long.mp
resume with another plan|1|header differs|--resume $T/sig.safetensors --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
resume of weights, not a checkpoint|1|not an lfm-fit checkpoint|--resume $T/tiny.st --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
--min-lr above --lr|2|--min-lr 0.1 is above --lr 0.01|--model $T/tiny.st --lr 0.01 --min-lr 0.1 --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
--lr above 1 without --force|2|--lr 1e\+06: .*--force|--model $T/tiny.st --lr 1e6 --text $T/text.npy --data $T/mini.tar -o $T/x.st $T/plan.mp
-o the --model|2|-o .*tiny.st is the same file as --model .*tiny.st|--model $T/tiny.st --text $T/text.npy --data $T/mini.tar -o $T/tiny.st $T/plan.mp
--log the --model (mapped: SIGBUS)|2|--log .*tiny.st is the same file as --model|--model $T/tiny.st --text $T/text.npy --data $T/mini.tar --log $T/tiny.st -o $T/x.st $T/plan.mp
--log the plan|2|--log .*plan.mp is the same file as the plan|--model $T/tiny.st --text $T/text.npy --data $T/mini.tar --log $T/plan.mp -o $T/x.st $T/plan.mp
--log the --resume checkpoint|2|--log .*sig.safetensors is the same file as --resume|--resume $T/sig.safetensors --text $T/text.npy --data $T/mini.tar --log $T/sig.safetensors -o $T/sig.safetensors $T/long.mp
--log the resume file|2|--log .*resume.safetensors is the same file as the resume file|--resume $T/sig.safetensors --text $T/text.npy --data $T/mini.tar --log $T/sig.resume.safetensors -o $T/x.st $T/long.mp
--log and -o one new file|2|-o .*new.st and --log .*new.st are the same file|--model $T/tiny.st --text $T/text.npy --data $T/mini.tar --log $T/new.st -o $T/new.st $T/plan.mp
-o the --text, through a symlink|2|-o .*textlink.npy is the same file as --text|--model $T/tiny.st --text $T/text.npy --data $T/mini.tar -o $T/textlink.npy $T/plan.mp
EOF
[ -e "$T/new.st" ] && nok "a refused command writes nothing" "$T/new.st exists" || ok "a refused command writes nothing"
