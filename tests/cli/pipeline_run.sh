#!/bin/sh
# tests/cli/pipeline_run.sh — pipelines/cifar10-lt.mk run for real, end to end, from a folder other than
# the source root: a tiny random CLIP (clip-init --arch tiny), a small CIFAR-10 binary tarball in the
# published layout made here (cifar-10-batches-bin/data_batch_1..5.bin, test_batch.bin,
# batches.meta.txt; records <label byte><3072 bytes R, G, B planes>, 10 a class), two imbalance factors,
# 1 epoch a stage, through to the collected results table. Also: lfm.mk refuses to run by itself, BIN=
# is honoured, and a dry run from elsewhere names the tools and scripts by the fragment's path.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
export LC_ALL=C LFM_PROGRESS=0
ROOT=$(pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# The test may run under make check: the pipeline's make is its own, not a sub-make of that one.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES MAKEOVERRIDES

for t in clip-init lt-subset clip-embed-text lfm-pairs lfm-mix lfm-fit lfm-eval; do
	if [ ! -x "bin/$t" ]; then echo "not ok - built: bin/$t is missing (run make first)"; exit 1; fi
done
if ! command -v make >/dev/null 2>&1; then echo "skip - pipeline runs: make not installed"; exit 0; fi

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; [ -f "$T/log" ] && tail -n 8 "$T/log" | sed 's/^/    /'; }

# ---- the inputs, made here ------------------------------------------------------------------------
# Pixels: a byte pattern that depends on the record (no /dev/urandom: deterministic, and never an
# archive's magic by chance); labels i % 10 so every batch has every class.
mkdir -p "$T/work/cifar-10-batches-bin"
B=$T/work/cifar-10-batches-bin
awk -v n=20 -v salt=7 'BEGIN { for (i = 0; i < n; i++) { printf "%c", i % 10; for (p = 0; p < 3072; p++) printf "%c", (p * 31 + i * 17 + salt) % 251 } }' >"$T/rec.tmp"
for b in 1 2 3 4 5; do
	awk -v n=20 -v salt="$b" 'BEGIN { for (i = 0; i < n; i++) { printf "%c", i % 10; for (p = 0; p < 3072; p++) printf "%c", (p * 31 + i * 17 + salt) % 251 } }' >"$B/data_batch_$b.bin"
done
mv "$T/rec.tmp" "$B/test_batch.bin"
printf 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n' >"$B/batches.meta.txt"
if [ "$(wc -c <"$B/data_batch_1.bin")" -ne $((20 * 3073)) ]; then
	echo "not ok - fixture: data_batch_1.bin has $(wc -c <"$B/data_batch_1.bin") bytes, not $((20 * 3073)) (awk wrote multibyte characters?)"
	exit 1
fi
(cd "$T/work" && tar czf cifar-10-binary.tar.gz cifar-10-batches-bin && rm -r cifar-10-batches-bin)
"$ROOT/bin/clip-init" --arch tiny --seed 0 -o "$T/work/tiny.safetensors" 2>"$T/log" ||
	{ nok "fixture: clip-init --arch tiny" "failed"; exit 1; }

# ---- lfm.mk alone ---------------------------------------------------------------------------------
if (cd "$T" && make -f "$ROOT/pipelines/lfm.mk") >"$T/log" 2>&1; then
	nok "lfm.mk run by itself is refused" "make succeeded"
elif grep -q 'is not run by itself; run a dataset' "$T/log"; then
	ok "lfm.mk run by itself is refused"
else
	nok "lfm.mk run by itself is refused" "no clear error"
fi

# ---- a dry run from another folder: every path comes from the fragment's own ------------------------
(cd "$T/work" && make -n -f "$ROOT/pipelines/cifar10-lt.mk" CIFAR10=cifar-10-binary.tar.gz) >"$T/dry" 2>"$T/log"
if [ $? -ne 0 ]; then
	nok "dry run from another folder" "make -n failed"
elif ! grep -q "^$ROOT/pipelines/../bin/lfm-fit \|^$ROOT/bin/lfm-fit " "$T/dry"; then
	nok "dry run from another folder: the build tree's bin/" "no $ROOT/bin/lfm-fit in: $(grep lfm-fit "$T/dry" | head -n 1)"
elif ! grep -q "sh $ROOT/pipelines/collect.sh " "$T/dry"; then
	nok "dry run from another folder: collect.sh by the fragment's path" "$(grep collect "$T/dry" | head -n 1)"
else
	ok "dry run from another folder finds bin/ and collect.sh by the fragment's path"
fi
if grep -q -- '--method remix-official' "$T/dry" && grep -q -- '--method remix ' "$T/dry"; then
	ok "the default methods include remix and remix-official"
else
	nok "the default methods include remix and remix-official" "not both in the dry run"
fi
(cd "$T/work" && make -n -f "$ROOT/pipelines/cifar10-lt.mk" BIN=/opt/lfm/bin) >"$T/dry" 2>"$T/log"
if grep -q '^/opt/lfm/bin/lt-subset ' "$T/dry"; then ok "BIN=DIR is honoured"
else nok "BIN=DIR is honoured" "$(head -n 2 "$T/dry")"; fi
(cd "$T/work" && make -n -f "$ROOT/pipelines/cifar10-lt.mk" BIN=) >"$T/dry" 2>"$T/log"
if grep -q '^lt-subset ' "$T/dry"; then ok "BIN= (empty) runs the tools from PATH"
else nok "BIN= (empty) runs the tools from PATH" "$(head -n 2 "$T/dry")"; fi
(cd "$T/work" && make -n -f "$ROOT/pipelines/imagenet-lt.mk") >"$T/dry" 2>"$T/log"
if grep -q -- "--classes $ROOT/pipelines/../data/classes/imagenet.txt\|--classes $ROOT/data/classes/imagenet.txt" "$T/dry"; then
	ok "imagenet-lt.mk finds the class list from another folder"
else
	nok "imagenet-lt.mk finds the class list from another folder" "$(grep -o -- '--classes [^ ]*' "$T/dry" | head -n 1)"
fi

# ---- the real run ---------------------------------------------------------------------------------
start=$(date +%s)
(cd "$T/work" && make -j2 -f "$ROOT/pipelines/cifar10-lt.mk" CIFAR10=cifar-10-binary.tar.gz \
	WEIGHTS=tiny.safetensors OUT=res IMBALANCES="10 2" S1_EPOCHS=1 S2_EPOCHS=1 BATCH=8 THREADS=2 \
	S1_LR=1e-4 S1_MIN_LR=1e-6 S2_LR=1e-2 S2_MIN_LR=1e-5) >"$T/log" 2>&1
st=$?
secs=$(($(date +%s) - start))
if [ $st -ne 0 ]; then nok "cifar10-lt.mk runs end to end (1 epoch a stage, tiny model)" "make exited $st"
else ok "cifar10-lt.mk runs end to end from another folder in ${secs} s"; fi

R=$T/work/res
missing=""
for g in 10 2; do
	for m in ce lfm-ce lfm-mms mixup remix remix-official; do
		for f in s1.plan s2.plan stage1.safetensors stage2.safetensors stage1.metrics eval.json per-class.tsv; do
			[ -s "$R/g$g/$m/$f" ] || missing="$missing g$g/$m/$f"
		done
	done
done
[ -s "$R/zero-shot/eval.json" ] || missing="$missing zero-shot/eval.json"
if [ -z "$missing" ]; then ok "every experiment wrote its plans, checkpoints, eval.json and per-class.tsv"
else nok "every experiment wrote its files" "missing:$missing"; fi

if grep -q '"top1"' "$R/g10/lfm-ce/eval.json" 2>/dev/null; then ok "eval.json is lfm-eval's JSON record"
else nok "eval.json is lfm-eval's JSON record" "no top1 in $R/g10/lfm-ce/eval.json"; fi

want="g10/ce g10/lfm-ce g10/lfm-mms g10/mixup g10/remix g10/remix-official g2/ce g2/lfm-ce g2/lfm-mms g2/mixup g2/remix g2/remix-official zero-shot"
if [ ! -s "$R/results.tsv" ]; then
	nok "the results table" "$R/results.tsv missing"
else
	got=$(tail -n +2 "$R/results.tsv" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$want" ]; then ok "the results table has one row per experiment and zero-shot"
	else nok "the results table has one row per experiment" "rows: $got"; fi
	bad=$(tail -n +2 "$R/results.tsv" | awk '$5 !~ /^[0-9]+\.[0-9]$/ || $5 > 100 { print $1 }')
	if [ -z "$bad" ] && head -n 1 "$R/results.tsv" | grep -q '^experiment  *many  *medium  *few  *all$'; then
		ok "the results table has a header and an overall accuracy in every row"
	else
		nok "the results table's figures" "bad rows: $bad"
	fi
fi
if grep -q 'remix-official: the official code' "$T/log"; then ok "the table says which Remix is which"
else nok "the table says which Remix is which" "no note after the table"; fi

# stage 2 uses a plan of its own, seeded SEED + 1
if cmp -s "$R/g10/lfm-ce/s1.plan" "$R/g10/lfm-ce/s2.plan"; then
	nok "stage 2 has its own plan" "s1.plan and s2.plan are the same"
else
	ok "stage 2 has its own plan (seed + 1)"
fi

# Nothing to do the second time: every target is up to date.
(cd "$T/work" && make -f "$ROOT/pipelines/cifar10-lt.mk" CIFAR10=cifar-10-binary.tar.gz \
	WEIGHTS=tiny.safetensors OUT=res IMBALANCES="10 2" -q res/g10/lfm-ce/eval.json res/g2/remix-official/eval.json res/zero-shot/eval.json) >"$T/log" 2>&1
if [ $? -eq 0 ]; then ok "a second run has nothing to remake"
else nok "a second run has nothing to remake" "make -q says out of date"; fi

# The per-class plots (gnuplot is optional).
if command -v gnuplot >/dev/null 2>&1; then
	(cd "$T/work" && make -f "$ROOT/pipelines/cifar10-lt.mk" CIFAR10=cifar-10-binary.tar.gz \
		WEIGHTS=tiny.safetensors OUT=res IMBALANCES=10 METHODS=lfm-ce plots) >"$T/log" 2>&1
	if [ $? -eq 0 ] && [ -s "$R/g10/lfm-ce/per-class.png" ]; then ok "make plots from another folder"
	else nok "make plots from another folder" "no $R/g10/lfm-ce/per-class.png"; fi
else
	echo "skip - make plots: gnuplot not installed"
fi
