#!/bin/sh
# tests/cli/dist.sh — lfm-fit on several ranks on the CPU (Open MPI's mpirun -np 2; gradients summed by
# MPI_Allreduce), on a tiny random CLIP and 20 images of the embedded demo data: 2 ranks compute the
# step of one process at the same global batch (losses and final tensors within 1e-6 relative; batches
# that do not divide by the ranks, a last batch smaller than the ranks, stage 2, validation); two 2-rank
# runs are bit-identical; a SIGTERM to the launcher stops both ranks at the same step with a resumable
# state, and resuming with 2 ranks gives the uninterrupted 2-rank run bit for bit, with 1 rank the same
# within 1e-6 (and a warning); another --batch at a resume is refused; a rank that dies, or hangs, ends
# the run with a message within bounded time (mpirun, or lfm-fit's --dist-timeout watchdog); the
# launcher's variables are checked (a table); the CUDA runner (the host emulation, with its NCCL over MPI)
# on 2 ranks = one process within 1e-6, and bit-identical twice. Skipped without mpirun or an lfm-fit built with MPI.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
B=bin
DEMO=data/cifar10-lt/train.tar.gz
T=$(mktemp -d)
# a scratch folder in memory where there is one: the saves at each epoch's end are then quick, which the
# test of a signal landing mid-epoch needs
S=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$T" "$S"' EXIT
export LFM_PROGRESS=0
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }
for t in lfm-fit clip-init lt-subset lfm-pairs lfm-mix clip-embed-text; do
	if [ ! -x "$B/$t" ]; then
		echo "not ok - dist setup: $B/$t is missing (run make first)"
		exit 1
	fi
done
if [ ! -r "$DEMO" ]; then
	echo "skip - dist: $DEMO not found (the embedded demo data)"
	exit 0
fi

# ---- the launcher's variables (no MPI needed) ------------------------------------------------------
# name | environment | expected exit | expected text in stderr
FIT0="$B/lfm-fit --model /nonexistent --text /nonexistent --data /nonexistent -o $T/never.st /nonexistent/plan"
while IFS='|' read -r name envs code text; do
	[ -n "$name" ] || continue
	# shellcheck disable=SC2086
	env $envs $FIT0 >/dev/null 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" -eq "$code" ] && grep -q -- "$text" "$T/err"; then
		ok "launcher variables: $name (exit $rc)"
	else
		nok "launcher variables: $name" "exit $rc, expected $code and '$text': $(head -c 300 "$T/err")"
	fi
done <<'TABLE'
RANK not a number|RANK=x WORLD_SIZE=2|2|RANK='x': expected a non-negative whole number
rank outside the world|RANK=2 WORLD_SIZE=2|2|rank 2 of a world of 2
RANK without WORLD_SIZE|RANK=0|2|WORLD_SIZE is not
bad MASTER_PORT|RANK=0 WORLD_SIZE=1 MASTER_PORT=70000|2|MASTER_PORT=70000
Slurm step without a task count|SLURM_STEP_ID=0 SLURM_PROCID=1|2|SLURM_PROCID=1 is set but neither
a batch script's Slurm variables are not a launch|SLURM_PROCID=1 SLURM_NTASKS=2|3|/nonexistent
torchrun-style ranks on the CPU need MPI|RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500|2|ranks on the CPU need MPI
TABLE

if ! command -v mpirun >/dev/null 2>&1; then
	echo "skip - dist: mpirun not found (Open MPI: apt-get install openmpi-bin libopenmpi-dev)"
	exit 0
fi
if ! grep -q "MPI_Allreduce" "$B/lfm-fit" 2>/dev/null; then
	echo "skip - dist: lfm-fit was built without MPI (make MPI=0, or Open MPI was missing at build time)"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "skip - dist: python3 not found (compares the checkpoints)"
	exit 0
fi
# As root (CI) Open MPI wants to be told; in containers its shared-memory single copy (CMA) may be
# forbidden, and binding two ranks to cores of a small machine is pointless.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN="mpirun --oversubscribe --bind-to none"

# ---- fixtures ----------------------------------------------------------------------------------------
$B/clip-init --arch tiny --towers vision -o "$T/tiny.st" &&
	$B/clip-init --arch tiny --towers text --seed 1 -o "$T/text-tower.st" &&
	$B/lt-subset --imbalance 1 --max-per-class 2 --pack "$T/mini.tar" --pack-layout folder -o "$T/mini.mp" "$DEMO" &&
	$B/clip-embed-text --model "$T/text-tower.st" --vocab data/clip/bpe_simple_vocab_16e6.txt.gz \
		--samples "$T/mini.mp" -o "$T/text.npy" &&
	$B/lfm-pairs --text "$T/text.npy" --epochs 2 "$T/mini.mp" | $B/lfm-mix -o "$T/plan.mp" &&
	$B/lfm-pairs --text "$T/text.npy" --epochs 60 "$T/mini.mp" | $B/lfm-mix -o "$T/long.mp" 2>/dev/null || {
	echo "not ok - dist setup: making the fixtures failed"
	exit 1
}
if ! $MPIRUN -np 2 true >"$T/mpi.err" 2>&1; then
	echo "skip - dist: mpirun -np 2 does not start here: $(head -c 300 "$T/mpi.err")"
	exit 0
fi
FIT="$B/lfm-fit --text $T/text.npy --data $T/mini.tar --threads 1 --log-format json"

# "step loss" of a JSON-lines metrics log, and "top1 loss" of its epoch records with validation
steps() { grep '"kind":"step"' "$1" | sed -E 's/.*"step":([0-9]+),"loss":([^,]+),.*/\1 \2/'; }
vals() { grep '"kind":"epoch"' "$1" | sed -E 's/.*"val_top1":([^,]+),"val_loss":([^,}]+).*/\1 \2/'; }
# every number of two such listings within rel of each other (same count of lines)
close_lists() {
	paste -d' ' "$1" "$2" | awk -v rel="$3" '
		{ n++; for (i = 1; i <= NF / 2; i++) { a = $i; b = $(i + NF / 2); d = a - b; if (d < 0) d = -d
		  s = b < 0 ? -b : b; if (d > rel * (s > 1e-30 ? s : 1e-30) && d != 0) { bad++; if (!w) w = $0 } } }
		END { if (!n || bad) { print (n ? w : "no records"); exit 1 } }'
}
data_of() { hl=$(od -An -tu8 -N8 "$1" | tr -d ' '); tail -c +$((9 + hl)) "$1"; }
same_tensors() { data_of "$1" >"$T/d1" && data_of "$2" >"$T/d2" && cmp -s "$T/d1" "$T/d2"; }

# one process vs 2 ranks: $1 name, $2 = extra options; the run files are $T/$1-{one,two}.*
compare_one_two() {
	name=$1
	shift
	if ! $FIT "$@" --log "$T/$name-one.jsonl" -o "$T/$name-one.st" 2>"$T/err"; then
		nok "$name: one process" "$(tail -n 3 "$T/err")"
		return 1
	fi
	if ! $MPIRUN -np 2 $FIT "$@" --log "$T/$name-two.jsonl" -o "$T/$name-two.st" 2>"$T/err"; then
		nok "$name: 2 ranks" "$(tail -n 5 "$T/err")"
		return 1
	fi
	steps "$T/$name-one.jsonl" >"$T/l1"
	steps "$T/$name-two.jsonl" >"$T/l2"
	if [ "$(wc -l <"$T/l1")" -ne "$(wc -l <"$T/l2")" ] || ! w=$(close_lists "$T/l1" "$T/l2" 1e-6); then
		nok "$name: 2 ranks' losses = one process's within 1e-6" "${w:-different step counts}"
	else
		ok "$name: 2 ranks' losses = one process's within 1e-6 ($(wc -l <"$T/l1") steps)"
	fi
	if w=$(python3 tests/cli/st_close.py "$T/$name-one.st" "$T/$name-two.st" 1e-6); then
		ok "$name: 2 ranks' checkpoint = one process's within 1e-6 ($w)"
	else
		nok "$name: 2 ranks' checkpoint = one process's within 1e-6" "$w"
	fi
}

# two 2-rank runs of the same command: $1 name, $2 a prefix for the run files, then the options; the losses
# and the tensors must be bit-identical (leaves the step listing in $T/s1)
twice_identical() {
	name=$1 p=$2
	shift 2
	if $MPIRUN -np 2 $FIT "$@" --log "$T/${p}1.jsonl" -o "$T/${p}1.st" 2>"$T/err" &&
		$MPIRUN -np 2 $FIT "$@" --log "$T/${p}2.jsonl" -o "$T/${p}2.st" 2>>"$T/err"; then
		steps "$T/${p}1.jsonl" >"$T/s1"
		steps "$T/${p}2.jsonl" >"$T/s2"
		if cmp -s "$T/s1" "$T/s2" && same_tensors "$T/${p}1.st" "$T/${p}2.st"; then
			ok "$name are bit-identical (losses and tensors)"
		else
			nok "$name are bit-identical" "$(diff "$T/s1" "$T/s2" | head -3)"
		fi
	else
		nok "$name" "$(tail -n 3 "$T/err")"
	fi
}
# the step at which rank 0 (rank "0") or rank 1 said it was interrupted, from a run's stderr $1
stopped_at() {
	if [ "$2" = 0 ]; then
		sed -n 's/^lfm-fit: interrupted at step \([0-9]*\) .*/\1/p' "$1"
	else
		sed -n "s/^lfm-fit\\[rank $2\\]: interrupted at step \\([0-9]*\\) .*/\\1/p" "$1"
	fi
}

# ---- one process = 2 ranks ---------------------------------------------------------------------------
compare_one_two "stage 1, batch 6 (3 + 3)" --model "$T/tiny.st" --batch 6 --lr 1e-5 "$T/plan.mp"
compare_one_two "stage 1, batch 7 (4 + 3; last batch 6)" --model "$T/tiny.st" --batch 7 --lr 1e-5 "$T/plan.mp"
# 20 records in batches of 19: the last batch is one image, so rank 1's slice of it is empty
compare_one_two "stage 1, a last batch of 1 (rank 1 empty)" --model "$T/tiny.st" --batch 19 --lr 1e-5 "$T/plan.mp"
# Stage 2 at lr 1e-4: at its default 1e-2 the block differs by about 1e-5, as Adam's normalised step
# turns the last-bit differences of small gradients into differences of a good part of lr
if [ -f "$T/stage 1, batch 6 (3 + 3)-one.st" ]; then
	compare_one_two "stage 2, batch 6" --stage 2 --model "$T/stage 1, batch 6 (3 + 3)-one.st" --batch 6 --lr 1e-4 \
		"$T/plan.mp"
fi
# validation split over the ranks (10 images, batch 4: slices 2+2, 2+2, 1+1)
$B/lt-subset --imbalance 1 --max-per-class 1 -o "$T/val.mp" "$T/mini.tar" 2>/dev/null
if [ -s "$T/val.mp" ]; then
	compare_one_two "validation" --model "$T/tiny.st" --batch 4 --lr 1e-5 --val "$T/val.mp" "$T/plan.mp"
	vals "$T/validation-one.jsonl" >"$T/v1"
	vals "$T/validation-two.jsonl" >"$T/v2"
	if [ -s "$T/v1" ] && w=$(close_lists "$T/v1" "$T/v2" 1e-6); then
		ok "validation: 2 ranks' top-1 and loss = one process's within 1e-6 ($(tr '\n' ' ' <"$T/v2"))"
	else
		nok "validation: 2 ranks' top-1 and loss = one process's" "${w:-no validation records}"
	fi
fi

# ---- the CUDA runner on 2 ranks: the host emulation (tests/cuda-host), its NCCL over MPI ------------------
E=build/emu/bin/lfm-fit
if [ -x "$E" ]; then
	FIT_CPU=$FIT
	FIT="$E --device cuda --precision fp32 --text $T/text.npy --data $T/mini.tar --threads 1 --log-format json"
	if $MPIRUN -np 2 $FIT --model "$T/tiny.st" --batch 6 --max-steps 1 -o "$T/probe.st" "$T/plan.mp" 2>"$T/err"; then
		compare_one_two "CUDA (emulated) NCCL, stage 1, batch 6 (graphs)" --model "$T/tiny.st" --batch 6 --lr 1e-5 \
			"$T/plan.mp"
		compare_one_two "CUDA (emulated) NCCL, a last batch of 1 (rank 1 empty)" --model "$T/tiny.st" --batch 19 \
			--lr 1e-5 "$T/plan.mp"
		compare_one_two "CUDA (emulated) NCCL, stage 2" --stage 2 --model "$T/stage 1, batch 6 (3 + 3)-one.st" \
			--batch 7 --lr 1e-4 "$T/plan.mp"
		twice_identical "CUDA (emulated) NCCL: two 2-rank runs" ed --model "$T/tiny.st" --batch 6 --lr 1e-5 "$T/plan.mp"
	elif grep -q "built without NCCL\|cannot train on several ranks" "$T/err"; then
		echo "skip - CUDA (emulated) on 2 ranks: $E was built without the emulated NCCL"
	else
		nok "CUDA (emulated) on 2 ranks" "$(tail -n 3 "$T/err")"
	fi
	FIT=$FIT_CPU
else
	echo "skip - CUDA (emulated) on 2 ranks: $E not built (make emu)"
fi

# ---- determinism: two 2-rank runs ----------------------------------------------------------------------
R="--model $T/tiny.st --batch 7 --lr 1e-5 $T/plan.mp"
twice_identical "two 2-rank runs" d $R
# rank 1 writes nothing: one log, with one record per step, and no temporary file left beside -o
if $MPIRUN -np 2 $FIT $R --log "$T/w.jsonl" -o "$T/w.st" 2>"$T/err"; then
	if [ "$(grep -c '"kind":"step"' "$T/w.jsonl")" -eq "$(wc -l <"$T/s1")" ] && ! ls "$T" | grep -q 'w\.st\.tmp'; then
		ok "one log and one checkpoint (rank 0 writes)"
	else
		nok "one log and one checkpoint" "$(grep -c '"kind":"step"' "$T/w.jsonl") step records"
	fi
fi

# ---- SIGTERM to the launcher, resumed with 2 ranks and with 1 -----------------------------------------
L="--model $T/tiny.st --batch 2 --lr 1e-5 $T/long.mp"
if $MPIRUN -np 2 $FIT $L --log "$T/u.jsonl" -o "$T/u.st" 2>"$T/err"; then
	stopped=
	for wait_s in 1.5 3 6; do
		rm -f "$T"/sig.*
		$MPIRUN -np 2 $FIT $L --log "$T/sig.jsonl" -o "$T/sig.st" 2>"$T/sig.err" &
		pid=$!
		sleep "$wait_s"
		kill -TERM "$pid" 2>/dev/null
		wait "$pid"
		if [ -f "$T/sig.st.resume.safetensors" ]; then
			stopped=1
			break
		fi
	done
	s0=$(stopped_at "$T/sig.err" 0)
	s1=$(stopped_at "$T/sig.err" 1)
	if [ -n "$stopped" ] && [ -n "$s0" ] && [ "$s0" = "$s1" ]; then
		ok "SIGTERM to mpirun: both ranks stop at step $s0, rank 0 saves"
		cp "$T/sig.st" "$T/sig1.st"
		cp "$T/sig.st.resume.safetensors" "$T/sig1.st.resume.safetensors"
		cp "$T/sig.jsonl" "$T/sig1.jsonl"
		RES="--resume $T/sig.st -o $T/sig.st --text $T/text.npy --data $T/mini.tar --log $T/sig.jsonl --log-format json $T/long.mp"
		if $MPIRUN -np 2 $B/lfm-fit $RES 2>"$T/err"; then
			steps "$T/u.jsonl" >"$T/s1"
			steps "$T/sig.jsonl" >"$T/s2"
			if cmp -s "$T/s1" "$T/s2" && same_tensors "$T/u.st" "$T/sig.st"; then
				ok "resumed with 2 ranks: the uninterrupted 2-rank run bit for bit"
			else
				nok "resumed with 2 ranks: bit for bit" "$(diff "$T/s1" "$T/s2" | head -3)"
			fi
		else
			nok "resumed with 2 ranks" "$(tail -n 3 "$T/err")"
		fi
		RES1="--resume $T/sig1.st -o $T/sig1.st --text $T/text.npy --data $T/mini.tar --log $T/sig1.jsonl --log-format json --threads 1 $T/long.mp"
		if $B/lfm-fit $RES1 2>"$T/err"; then
			steps "$T/sig1.jsonl" >"$T/s3"
			if grep -q "the run had 2 ranks, this one 1" "$T/err" && w=$(close_lists "$T/s1" "$T/s3" 1e-6) &&
				w=$(python3 tests/cli/st_close.py "$T/u.st" "$T/sig1.st" 1e-6); then
				ok "resumed with 1 rank: the 2-rank run within 1e-6, with a warning ($w)"
			else
				nok "resumed with 1 rank: within 1e-6, with a warning" "${w:-} $(head -c 300 "$T/err")"
			fi
		else
			nok "resumed with 1 rank" "$(tail -n 3 "$T/err")"
		fi
	else
		nok "SIGTERM to mpirun: both ranks stop at one step" "$(tail -n 5 "$T/sig.err")"
	fi
else
	nok "the uninterrupted 2-rank run" "$(tail -n 3 "$T/err")"
fi

# ---- another global batch at a resume is refused; the same one with another world size is taken -------
if $MPIRUN -np 2 $FIT $L --max-steps 3 --log "$T/m.jsonl" -o "$T/m.st" 2>"$T/err" && [ -f "$T/m.st.resume.safetensors" ]; then
	$MPIRUN -np 2 $B/lfm-fit --resume "$T/m.st" -o "$T/m.st" --text $T/text.npy --data $T/mini.tar --batch 4 \
		"$T/long.mp" >/dev/null 2>"$T/err"
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q -- "--batch" "$T/err" && [ -f "$T/m.st.resume.safetensors" ]; then
		ok "a resume with another --batch is refused (exit $rc, the state kept)"
	else
		nok "a resume with another --batch is refused" "exit $rc: $(head -c 300 "$T/err")"
	fi
else
	nok "a 2-rank run stopped by --max-steps" "$(tail -n 3 "$T/err")"
fi

# ---- a rank that dies, a rank that hangs -----------------------------------------------------------------
# the ranks of a run: the processes whose command line names its -o, other than mpirun itself
ranks_of() { pgrep -f -- "-o $1" | while read -r p; do [ "$p" != "$2" ] && echo "$p"; done; }
# wait for mpirun (pid $1, a child of this shell) at most $2 seconds: rc = its exit status, or "hung"
# (a child that has exited stays a zombie until waited for, so "still there" means "not a zombie")
alive() { s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s#Z}" = "$s" ]; }
wait_bounded() {
	n=0
	while alive "$1" && [ "$n" -lt $(($2 * 10)) ]; do sleep 0.1; n=$((n + 1)); done
	if alive "$1"; then
		kill -KILL "$1" 2>/dev/null
		pkill -KILL -f -- "-o $3" 2>/dev/null
		wait "$1" 2>/dev/null
		rc=hung
	else
		wait "$1"
		rc=$?
	fi
}
$MPIRUN -np 2 $FIT $L -o "$T/dead.st" 2>"$T/dead.err" &
pid=$!
sleep 1.5
victim=$(ranks_of "$T/dead.st" "$pid" | tail -n 1)
if [ -n "$victim" ]; then
	kill -KILL "$victim"
	wait_bounded "$pid" 60 "$T/dead.st"
	if [ "$rc" != hung ] && [ "$rc" -ne 0 ] && [ -z "$(ranks_of "$T/dead.st" "$pid")" ]; then
		ok "a rank killed mid-run: the run ends (mpirun exit $rc: $(grep -m1 -i -o 'signal 9\|killed\|exited on signal[^.]*' "$T/dead.err"))"
	else
		nok "a rank killed mid-run: the run ends" "mpirun: $rc; $(tail -n 3 "$T/dead.err")"
	fi
else
	nok "a rank killed mid-run" "no rank process found (the run ended too early?)"
fi
# SIGTERM to one rank only (a user's kill, a node's preemption): the stop is agreed, both stop at one step
# (batch 1: 20 steps an epoch, so the signal lands mid-epoch and not in an epoch's end, where a save
# takes most of the time and the epoch's own stop decision would hide a step's)
# (a signal that lands during an epoch's end is taken at the next epoch's start: tried again, up to 6 times)
for attempt in 1 2 3 4 5 6; do
	rm -f "$S"/one-sig.*
	$MPIRUN -np 2 $FIT --model $T/tiny.st --batch 1 --lr 1e-5 $T/long.mp -o "$S/one-sig.st" 2>"$T/one-sig.err" &
	pid=$!
	sleep 1.5
	victim=$(ranks_of "$S/one-sig.st" "$pid" | tail -n 1)
	[ -n "$victim" ] || break
	kill -TERM "$victim"
	wait_bounded "$pid" 60 "$S/one-sig.st"
	s0=$(stopped_at "$T/one-sig.err" 0)
	[ "$rc" != hung ] && [ -n "$s0" ] && [ $((s0 % 20)) -eq 0 ] || break
done
if [ -n "$victim" ]; then
	s1=$(stopped_at "$T/one-sig.err" 1)
	if [ "$rc" != hung ] && [ -n "$s0" ] && [ "$s0" = "$s1" ] && [ $((s0 % 20)) -ne 0 ] &&
		[ -f "$S/one-sig.st.resume.safetensors" ]; then
		ok "SIGTERM to one rank: both stop at step $s0 (mid-epoch), rank 0 saves"
	else
		nok "SIGTERM to one rank: both stop at one step" "mpirun: $rc; rank 0 at ${s0:-?}, rank 1 at ${s1:-?} (attempt $attempt): $(grep -m 3 'interrupted\|rank' "$T/one-sig.err")"
	fi
else
	nok "SIGTERM to one rank" "no rank process found (the run ended too early?)"
fi
$MPIRUN -np 2 $FIT $L --dist-timeout 3 -o "$T/hang.st" 2>"$T/hang.err" &
pid=$!
sleep 1.5
victim=$(ranks_of "$T/hang.st" "$pid" | tail -n 1)
if [ -n "$victim" ]; then
	kill -STOP "$victim"
	wait_bounded "$pid" 60 "$T/hang.st"
	kill -KILL "$victim" 2>/dev/null
	if [ "$rc" != hung ] && [ "$rc" -ne 0 ] && grep -q "waited 3 s for the other ranks" "$T/hang.err"; then
		ok "a rank that hangs: the other stops after --dist-timeout with a message ($(grep -m1 -o 'rank [0-9]\]: waited 3 s for the other ranks ([^)]*)' "$T/hang.err"))"
	else
		nok "a rank that hangs: --dist-timeout" "mpirun: $rc; $(tail -n 3 "$T/hang.err")"
	fi
else
	nok "a rank that hangs" "no rank process found (the run ended too early?)"
fi

# ---- usage -------------------------------------------------------------------------------------------
$MPIRUN -np 2 $FIT --model "$T/tiny.st" -o "$T/stdin.st" <"$T/plan.mp" >/dev/null 2>"$T/err"
if grep -q "each read it whole" "$T/err"; then
	ok "a plan from stdin with 2 ranks is refused"
else
	nok "a plan from stdin with 2 ranks is refused" "$(head -c 300 "$T/err")"
fi
