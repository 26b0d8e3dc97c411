#!/bin/sh
# tests/cli/figures.sh — the figures recipe (pipelines/figures.mk, `make ... figures`) run for real from a
# folder other than the source root, on a tiny random CLIP (clip-init --arch tiny) and the embedded
# CIFAR-10-LT (data/cifar10-lt: a training subset of at most 120 a class, so 8 many-shot classes, one
# medium and one few-shot at --few-max 50; 20 test images a class), one epoch a stage, with the interop
# venv's Python (numpy, matplotlib, scikit-learn; skipped with a message without them). Checks that the
# three figures are PNGs of some size with more than a few colours, and that the numbers the scripts drew
# (the CSVs beside them) are lfm-eval's and lfm-pairs' own: per-class accuracies and training counts =
# the experiment's per-class.tsv and zero-shot's eval.json; p_ls = lfm-pairs --stats-npy; the confusion =
# lfm-eval --confusion, its drawn rows the counts over the row's errors; the t-SNE points one per test
# image per panel, labelled as the test stream. Then the scripts' messages for bad inputs.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
export LC_ALL=C LFM_PROGRESS=0 PYTHONDONTWRITEBYTECODE=1
ROOT=$(pwd)
SHOW=$ROOT/bin/lfm-show
D=$ROOT/data/cifar10-lt
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES MAKEOVERRIDES # the recipe's make is its own, not make check's
. tests/cli/lib.sh

for t in clip-init lt-subset clip-embed-text lfm-pairs lfm-mix lfm-fit lfm-eval lfm-show; do
	[ -x "bin/$t" ] || { echo "not ok - built: bin/$t is missing (run make first)"; exit 1; }
done
command -v make >/dev/null 2>&1 || { echo "skip - figures: make not installed"; exit 0; }
[ -f "$D/train.tar.gz" ] && [ -f "$D/test.tar.gz" ] || { echo "skip - figures: $D not found"; exit 0; }
PY=$(interop_python numpy matplotlib sklearn) || { echo "skip - figures: $PY"; exit 0; }

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }

mkdir -p "$T/work"
"$ROOT/bin/clip-init" --arch tiny --seed 0 -o "$T/work/tiny.safetensors" 2>"$T/log" || { nok "fixture: clip-init" "failed"; exit 1; }
run_make() { # the recipe with the test's settings; extra arguments are goals or variables
	(cd "$T/work" && make -f "$ROOT/pipelines/cifar10-lt.mk" \
		TRAIN_SOURCE="$D/train.tar.gz" TRAIN_DATA="$D/train.tar.gz" \
		TEST_SOURCE="$D/test.tar.gz" TEST_DATA="$D/test.tar.gz --split test" \
		TRAIN_SAMPLES_ARGS='--imbalance $(1) --max-per-class 120 --few-max 50 --seed $(SEED) $(TRAIN_SOURCE)' \
		TEST_SAMPLES_ARGS='--split test --max-per-class 20 $(TEST_SOURCE)' \
		WEIGHTS=tiny.safetensors OUT=res IMBALANCES=1 METHODS=lfm-ce S1_EPOCHS=1 S2_EPOCHS=1 BATCH=32 THREADS=2 \
		S1_LR=1e-4 S1_MIN_LR=1e-6 S2_LR=1e-2 S2_MIN_LR=1e-5 PYTHON="$PY" "$@")
}

# ---- the run: the figures, and the experiment's and zero-shot's own evaluations to compare with --------
start=$(date +%s)
run_make -j2 figures g1-lfm-ce zero-shot >"$T/log" 2>&1
st=$?
if [ $st -ne 0 ]; then
	nok "make figures (tiny model, 1 epoch a stage)" "make exited $st"
	tail -n 8 "$T/log" | sed 's/^/    /'
	exit 1
fi
ok "make figures runs from another folder in $(($(date +%s) - start)) s"
R=$T/work/res
F=$R/g1/lfm-ce/figures

# ---- the pictures: PNG, some size, more than a few colours -----------------------------------------
for fig in long-tail pls-confusion tsne; do
	p=$F/$fig.png
	if [ ! -s "$p" ]; then nok "$fig.png drawn" "missing"; continue; fi
	magic=$(head -c 8 "$p" | od -An -tx1 | tr -d ' \n')
	size=$(wc -c <"$p")
	colours=$("$PY" -c 'import sys, numpy as np, matplotlib.image as m
a = m.imread(sys.argv[1]); print(a.shape[1], a.shape[0], len(np.unique(a.reshape(-1, a.shape[-1]), axis=0)))' "$p" 2>&1)
	set -- $colours
	if [ "$magic" = 89504e470d0a1a0a ] && [ "$size" -gt 20000 ] && [ "${1:-0}" -ge 600 ] && [ "${2:-0}" -ge 400 ] &&
		[ "${3:-0}" -gt 50 ]; then
		ok "$fig.png: a PNG of $size bytes, ${1}x${2}, ${3} colours"
	else
		nok "$fig.png is a non-trivial PNG" "magic $magic, $size bytes, size/colours: $colours"
	fi
	[ -s "$F/$fig.csv" ] || nok "$fig.csv beside it" "missing"
done

# ---- long-tail.csv = lfm-eval's per-class figures ---------------------------------------------------
# the experiment: its per-class.tsv (the pipeline's own evaluation, another lfm-eval run than the one the
# figure was drawn from); zero-shot: the per_class records of its eval.json
grep -v '^#' "$R/g1/lfm-ce/per-class.tsv" | awk -F'\t' '{ print $1, $3, $4, $5 }' >"$T/exp.want"
tr -d '\n' <"$R/zero-shot/eval.json" | grep -oE '\{"class":[0-9]+,"name":"[^"]*","group":"[a-z]+","train_count":[0-9]+,"samples":[0-9]+,"correct":[0-9]+' |
	sed -E 's/.*"class":([0-9]+),.*"group":"([a-z]+)","train_count":([0-9]+),"samples":([0-9]+),"correct":([0-9]+)/\1 \2 \3 \4 \5/' >"$T/zs.want"
bad=$(awk -F, -v ef="$T/exp.want" -v zf="$T/zs.want" '
	BEGIN { while ((getline l < ef) > 0) { split(l, v, " "); etr[v[1]] = v[2]; ete[v[1]] = v[3]; eacc[v[1]] = v[4]; ne++ }
		while ((getline l < zf) > 0) { split(l, v, " "); zg[v[1]] = v[2]; ztr[v[1]] = v[3]; zte[v[1]] = v[4]; zc[v[1]] = v[5]; nz++ } }
	NR == 1 { if ($0 != "rank,class_id,name,train_count,group,lfm-ce_test_count,lfm-ce_correct,lfm-ce_accuracy,zero-shot_test_count,zero-shot_correct,zero-shot_accuracy") { print "header " $0; exit } next }
	{ k = $2; n++
	  if ($1 != NR - 2) { print "row " NR ": rank " $1; exit }
	  if (NR > 2 && $4 > last) { print "row " NR ": not sorted by training count"; exit }
	  last = $4
	  if ($4 != etr[k] || $4 != ztr[k]) { print "class " k ": train_count " $4 ", per-class.tsv " etr[k] ", eval.json " ztr[k]; exit }
	  if ($5 != zg[k]) { print "class " k ": group " $5 ", eval.json " zg[k]; exit }
	  d = $8 - eacc[k]; if (d < 0) d = -d
	  if ($6 != ete[k] || d > 1e-6) { print "class " k ": lfm-ce " $6 " images, accuracy " $8 "; per-class.tsv " ete[k] ", " eacc[k]; exit }
	  d = $11 - zc[k] / zte[k]; if (d < 0) d = -d
	  if ($9 != zte[k] || $10 != zc[k] || d > 1e-12) { print "class " k ": zero-shot " $9 " " $10 " " $11 "; eval.json " zte[k] " " zc[k]; exit } }
	END { if (!bad && (n != 10 || ne != 10 || nz != 10)) print n " rows, " ne " in per-class.tsv, " nz " in eval.json" }' "$F/long-tail.csv")
[ -z "$bad" ] && ok "long-tail.csv: counts, groups and accuracies of lfm-eval's per-class.tsv and eval.json, sorted by training count" ||
	nok "long-tail.csv = lfm-eval's per-class figures" "$bad"
awk -F, 'NR > 1 { g[$5]++ } END { exit !(g["many"] == 8 && g["medium"] == 1 && g["few"] == 1) }' "$F/long-tail.csv" &&
	ok "long-tail.csv: the groups of the training stream's thresholds (8 many, 1 medium, 1 few)" ||
	nok "long-tail.csv: groups" "$(cut -d, -f5 "$F/long-tail.csv" | sort | uniq -c | tr '\n' ' ')"

# ---- pls-confusion.csv = lfm-pairs' p_ls and lfm-eval's confusion ------------------------------------
"$SHOW" --values "$R/g1/pls.npy" | grep '^\[' | tr -d '[],' >"$T/pls.rows"
"$SHOW" --values "$R/zero-shot/confusion.npy" | grep '^\[' | tr -d '[],' >"$T/conf.rows"
bad=$(awk -F, -v pf="$T/pls.rows" -v cf="$T/conf.rows" '
	BEGIN { i = 0; while ((getline l < pf) > 0) { n = split(l, v, " "); for (j = 1; j <= n; j++) P[i, j - 1] = v[j]; i++ }
		i = 0; while ((getline l < cf) > 0) { n = split(l, v, " "); e = 0
			for (j = 1; j <= n; j++) { K[i, j - 1] = v[j]; if (j - 1 != i) e += v[j] }; E[i] = e; i++ } }
	NR == 1 { next }
	{ i = $2; j = $3; seen[$1]++
	  if ($1 == "p_ls") { d = $4 - P[i, j]; if (d < 0) d = -d; if (d > 1e-7 * (P[i, j] > 1 ? P[i, j] : 1)) { print "p_ls[" i "," j "] " $4 ", lfm-pairs " P[i, j]; exit } }
	  else if ($1 == "confusion_count") { if ($4 != K[i, j]) { print "count[" i "," j "] " $4 ", lfm-eval " K[i, j]; exit } }
	  else if ($1 == "confusion_drawn") { w = (i == j || E[i] == 0) ? 0 : K[i, j] / E[i]; d = $4 - w; if (d < 0) d = -d
		if (d > 1e-12) { print "drawn[" i "," j "] " $4 ", counts over errors " w; exit } }
	  else { print "unknown matrix " $1; exit } }
	END { if (seen["p_ls"] != 100 || seen["confusion_count"] != 100 || seen["confusion_drawn"] != 100) print "not 3 x 100 entries" }' "$F/pls-confusion.csv")
[ -z "$bad" ] && ok "pls-confusion.csv: lfm-pairs --stats-npy's p_ls, lfm-eval --confusion's counts, rows over their errors" ||
	nok "pls-confusion.csv = the tools' matrices" "$bad"
# the zero-shot confusion's diagonal is the correct count of zero-shot's eval.json (another run)
diag=$(awk '{ printf "%s ", $(NR) }' "$T/conf.rows")
want=$(sort -n "$T/zs.want" | awk '{ printf "%s ", $5 }')
[ "$diag" = "$want" ] && ok "the zero-shot confusion's diagonal = eval.json's correct counts" || nok "confusion diagonal" "$diag vs $want"

# ---- tsne.csv: every test image once per panel, with the test stream's index and label ----------------
"$SHOW" "$R/test.samples" | tail -n +2 | sed 's/.*"index":\([0-9]*\),"label":\([0-9]*\).*/\1 \2/' >"$T/test.rows"
bad=$(awk -F, -v tf="$T/test.rows" '
	BEGIN { n = 0; while ((getline l < tf) > 0) { split(l, v, " "); idx[n] = v[1]; lab[n] = v[2]; n++ } }
	NR == 1 { if ($0 != "panel,row,index,label,group,x,y") { print "header " $0; exit } next }
	{ c[$1]++; r = $2
	  if ($3 != idx[r] || $4 != lab[r]) { print $1 " row " r ": index " $3 " label " $4 ", test stream " idx[r] " " lab[r]; exit }
	  if ($6 !~ /^-?[0-9]/ || $7 !~ /^-?[0-9]/) { print $1 " row " r ": x, y = " $6 ", " $7; exit } }
	END { if (c["zero-shot"] != n || c["lfm-ce"] != n || n != 200) print "points: " c["zero-shot"] " zero-shot, " c["lfm-ce"] " lfm-ce, " n " test images" }' "$F/tsne.csv")
[ -z "$bad" ] && ok "tsne.csv: 200 points a panel, indices and labels of the test stream" || nok "tsne.csv" "$bad"
"$SHOW" "$R/g1/lfm-ce/features.npy" | head -n 1 | grep -q 'float32 \[200, 64\]' && ok "the experiment's features: float32 [200, 64]" ||
	nok "the experiment's features" "$("$SHOW" "$R/g1/lfm-ce/features.npy" | head -n 1)"

# ---- a second run has nothing to do; a PDF on request -------------------------------------------------
run_make -q res/g1/lfm-ce/figures/long-tail.png res/g1/lfm-ce/figures/pls-confusion.png res/g1/lfm-ce/figures/tsne.png \
	>"$T/log" 2>&1 && ok "a second make figures has nothing to remake" || nok "make -q of the figures" "out of date"
run_make FIG_FORMAT=pdf figures >"$T/log" 2>&1
[ "$(head -c 5 "$F/long-tail.pdf" 2>/dev/null)" = "%PDF-" ] && [ -s "$F/tsne.pdf" ] && [ -s "$F/pls-confusion.pdf" ] &&
	ok "FIG_FORMAT=pdf draws PDFs" || nok "FIG_FORMAT=pdf" "$(tail -n 2 "$T/log")"

# ---- the scripts' messages ------------------------------------------------------------------------------
S=$ROOT/pipelines/figures
{ head -n 1 "$F/predictions.jsonl" | sed 's/"samples":200,/"samples":100,/'; sed -n 2,101p "$F/predictions.jsonl"; } >"$T/short.jsonl"
while IFS='|' read -r name want out err cmd; do
	name=$(trim "$name"); [ -n "$name" ] || continue
	check_row "$name" "$(trim "$want")" "$(trim "$out")" "$(trim "$err")" "$(trim "$cmd")"
done <<ROWS
predictions as training header  | 1 | - | predictions.jsonl: an lfm.predictions/1 stream, not a samples stream | "$PY" $S/long_tail.py --train $F/predictions.jsonl --series a $F/predictions.jsonl -o $T/x.png
features of other rows          | 1 | - | 200 rows, .*short.jsonl has 100 records | "$PY" $S/tsne.py --train $F/train.json --panel a $R/g1/lfm-ce/features.npy $T/short.jsonl -o $T/x.png
not JSON lines                  | 1 | - | features.npy: not JSON lines | "$PY" $S/long_tail.py --train $F/train.json --series a $R/g1/lfm-ce/features.npy -o $T/x.png
matrices of other sizes         | 1 | - | both must be \[C, C\] of the same C | "$PY" $S/pls_confusion.py --pls $R/g1/pls.npy --confusion $R/g1/lfm-ce/features.npy -o $T/x.png
missing file                    | 3 | - | nope.jsonl | "$PY" $S/long_tail.py --train $T/nope.jsonl --series a b -o $T/x.png
unknown figure format           | 1 | - | x.gif: the extension picks the format | "$PY" $S/long_tail.py --train $F/train.json --series a $F/predictions.jsonl -o $T/x.gif
nothing written on failure      | 0 | ^absent$ | - | "$PY" $S/long_tail.py --train $F/train.json --series a $F/predictions.jsonl -o $T/x.gif 2>/dev/null; ls $T | grep -q '^x\.' || echo absent
ROWS
