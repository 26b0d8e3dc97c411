#!/bin/sh
# tests/cli/lfm_eval.sh — lfm-eval end to end on a tiny random CLIP (clip-init) and the embedded CIFAR-10-LT
# test images (data/cifar10-lt, 20 a class; else ../shared's CIFAR-10 JPEGs): every figure it prints is
# recomputed here, independently, with awk from its --predictions stream (read through lfm-show) and the
# training counts; zero-shot and a checkpoint with fc.weight = I (or 2I) predict identically, -I does not;
# thread and batch counts change nothing. Then a table of command lines: exit status, a pattern for stdout
# and one for stderr (extended regular expressions; '-' = no check).
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
. "$(dirname "$0")/lib.sh"
export LC_ALL=C LFM_PROGRESS=0
EVAL=${LFM_EVAL:-bin/lfm-eval}
INIT=bin/clip-init EMBED=bin/clip-embed-text LT=bin/lt-subset SHOW=bin/lfm-show
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if [ ! -x "$EVAL" ]; then
	echo "not ok - built: $EVAL is missing (run make first)"
	exit 1
fi
for b in "$INIT" "$EMBED" "$LT" "$SHOW"; do
	if [ ! -x "$b" ]; then
		echo "skip - lfm-eval: $b is not built yet"
		exit 0
	fi
done

# ---- fixtures ------------------------------------------------------------------------------------
# Test images: the embedded CIFAR-10-LT test set, or the shared CIFAR-10; 20 a class keeps it fast.
# Training stream (for the groups): the embedded long-tailed train set (5000 .. 50 a class), or the same
# profile drawn from the shared set.
if [ -f data/cifar10-lt/test.tar.gz ] && [ -f data/cifar10-lt/train.tar.gz ]; then
	DATA=data/cifar10-lt/test.tar.gz
	"$LT" -i 1 data/cifar10-lt/train.tar.gz -o "$T/train.mp" 2>"$T/err" || { cat "$T/err"; exit 1; }
elif [ -f ../shared/data/cifar10-jpeg.tar.gz ]; then
	DATA=../shared/data/cifar10-jpeg.tar.gz
	"$LT" -i 100 "$DATA" -o "$T/train.mp" 2>"$T/err" || { cat "$T/err"; exit 1; }
else
	echo "skip - lfm-eval: no test images (data/cifar10-lt/ nor ../shared/data/cifar10-jpeg.tar.gz)"
	exit 0
fi
VOCAB=
if [ ! -f data/clip/bpe_simple_vocab_16e6.txt.gz ] && [ -f ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz ]; then
	VOCAB="--vocab ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"
fi
"$LT" --split test --max-per-class 20 "$DATA" -o "$T/test.mp" 2>"$T/err" || { cat "$T/err"; exit 1; }
if ! "$INIT" --arch tiny -o "$T/tiny.st" 2>"$T/err" ||
	! "$EMBED" $VOCAB -m "$T/tiny.st" --samples "$T/test.mp" -u -o "$T/text.npy" 2>>"$T/err"; then
	echo "skip - lfm-eval: clip-init or clip-embed-text failed: $(head -n 1 "$T/err")"
	exit 0
fi
"$INIT" --arch tiny --towers text -o "$T/textonly.st"

add_fc "$T/tiny.st" "$T/fc-id.st" 64 '\000\000\200\077'   # 1.0f
add_fc "$T/tiny.st" "$T/fc-two.st" 64 '\000\000\000\100'  # 2.0f
add_fc "$T/tiny.st" "$T/fc-neg.st" 64 '\000\000\200\277'  # -1.0f
add_fc "$T/tiny.st" "$T/fc-small.st" 32 '\000\000\200\077'

# Hand-made samples streams (msgpack): a header with CIFAR-10's class names, then records.
fixstr() { printf "\\$(printf '%03o' $((160 + ${#1})))"; printf '%s' "$1"; }
cifar_header() {
	printf '\202'; fixstr format; fixstr lfm.samples/1; fixstr classes; printf '\232'
	for c in airplane automobile bird cat deer dog frog horse ship truck; do fixstr "$c"; done
}
{ cifar_header; printf '\202'; fixstr index; printf '\315\165\060'; fixstr label; printf '\000'; } >"$T/beyond.mp" # 30000
{ cifar_header; printf '\202'; fixstr index; printf '\000'; fixstr label; printf '\005'; } >"$T/mislabel.mp"
{ printf '\202'; fixstr format; fixstr lfm.samples/1; fixstr classes; printf '\223'
  fixstr cat; fixstr dog; fixstr bird; printf '\202'; fixstr index; printf '\000'; fixstr label; printf '\000'; } >"$T/three.mp"
{ printf '\202'; fixstr format; fixstr lfm.pairs/1; fixstr classes; printf '\221'; fixstr cat; } >"$T/pairs.mp"
{ cifar_header; } >"$T/empty.mp"
# text features of the wrong width: a float32 [10, 32] .npy of ones
{
	h="{'descr': '<f4', 'fortran_order': False, 'shape': (10, 32), }"
	while [ $(( (10 + ${#h} + 1) % 64 )) -ne 0 ]; do h="$h "; done
	printf '\223NUMPY\001\000'
	printf "\\$(printf '%03o' $(( (${#h} + 1) & 255 )))\\$(printf '%03o' $(( (${#h} + 1) >> 8 )))"
	printf '%s\n' "$h"
	i=0
	while [ $i -lt 320 ]; do printf '\000\000\200\077'; i=$((i + 1)); done
} >"$T/narrow.npy"
# an image folder whose one image is not a JPEG
mkdir -p "$T/bad/test/airplane"
printf 'not a jpeg at all' >"$T/bad/test/airplane/0001.jpg"
"$LT" --split test "$T/bad" -o "$T/bad.mp"
"$EMBED" $VOCAB -m "$T/tiny.st" --samples "$T/bad.mp" -o "$T/text1.npy" 2>/dev/null
"$EMBED" $VOCAB -m "$T/tiny.st" -c /dev/stdin -o "$T/text3.npy" <<EOF
cat
dog
bird
EOF

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }

# ---- the figures, recomputed -----------------------------------------------------------------------
# label and prediction of each record; the training counts from the training stream's header.
pairs_of() { "$SHOW" "$1" | tail -n +2 | sed 's/.*"label":\([0-9]*\),"pred":\([0-9]*\).*/\1 \2/'; }
counts_of() { "$SHOW" --head 0 "$1" | sed 's/.*[{,]"counts":\[\([0-9,]*\)\].*/\1/'; }

# expected_table MANY_ABOVE FEW_MAX < "label pred" lines: the table rows lfm-eval must print
expected_table() {
	awk -v counts="$(counts_of "$T/train.mp")" -v many="$1" -v few="$2" '
	BEGIN { C = split(counts, n, ","); names[1] = "many"; names[2] = "medium"; names[3] = "few"
		for (k = 1; k <= C; k++) { g = n[k] > many ? 1 : (n[k] > few ? 2 : 3); grp[k - 1] = g; cls[g]++ } }
	{ s[grp[$1]]++; tot++; if ($1 == $2) { c[grp[$1]]++; ok++ } }
	END {
		for (g = 1; g <= 3; g++) {
			if (s[g] > 0) pct = sprintf("%8.2f", 100 * c[g] / s[g]); else pct = sprintf("%8s", "-")
			printf "%-8s  %8d  %10d  %10d  %s\n", names[g], cls[g], s[g], c[g], pct
		}
		printf "%-8s  %8d  %10d  %10d  %8.2f\n", "all", C, tot, ok, 100 * ok / tot
	}'
}

if ! "$EVAL" -m "$T/tiny.st" -t "$T/text.npy" -d "$DATA" -g "$T/train.mp" -p "$T/zs.mp" --per-class "$T/pc.tsv" \
	--confusion "$T/conf.npy" "$T/test.mp" >"$T/table.txt" 2>"$T/err"; then
	notok "evaluate" "$(head -n 3 "$T/err")"
	exit 1
fi
ok "evaluate: exit 0"
pairs_of "$T/zs.mp" >"$T/zs.pairs"
n=$(wc -l <"$T/zs.pairs")
[ "$n" -eq 200 ] && ok "one prediction per sample" || notok "one prediction per sample" "$n records"

check_table() { # NAME TABLE MANY FEW PAIRS
	expected_table "$3" "$4" <"$5" >"$T/want"
	missing=$(grep -vxF -f "$2" "$T/want")
	if [ -z "$missing" ]; then ok "$1"; else notok "$1" "rows missing: $missing; table: $(tr '\n' '|' <"$2")"; fi
}
check_table "table = recomputation (header groups)" "$T/table.txt" 100 20 "$T/zs.pairs"
grep -q 'many > 100, medium 21\.\.100, few <= 20 (the groups in the header of' "$T/table.txt" &&
	ok "thresholds printed" || notok "thresholds printed" "$(head -n 2 "$T/table.txt")"

"$EVAL" -m "$T/tiny.st" -t "$T/text.npy" -d "$DATA" -g "$T/train.mp" --many-above 1000 --few-max 100 \
	"$T/test.mp" >"$T/table2.txt" 2>"$T/err"
check_table "table = recomputation (other thresholds: 3 groups)" "$T/table2.txt" 1000 100 "$T/zs.pairs"
grep -q 'many > 1000, medium 101\.\.1000, few <= 100 (the class counts of' "$T/table2.txt" &&
	ok "other thresholds printed" || notok "other thresholds printed" "$(head -n 2 "$T/table2.txt")"

# the JSON record's counts and per-class figures
"$EVAL" -m "$T/tiny.st" -t "$T/text.npy" -d "$DATA" -g "$T/train.mp" --json "$T/test.mp" >"$T/out.json" 2>"$T/err"
want=$(awk '{ t++; if ($1 == $2) c++ } END { printf "\"samples\":%d,\"correct\":%d", t, c }' "$T/zs.pairs")
grep -qF "$want" "$T/out.json" && ok "json: samples and correct" || notok "json: samples and correct" "no $want"
[ "$(wc -l <"$T/out.json")" -eq 1 ] && ok "json: one line" || notok "json: one line" "$(wc -l <"$T/out.json") lines"
want=$(awk '$1 == 3 { t++; if ($2 == 3) c++ } END { printf "{\"class\":3,\"name\":\"cat\",\"group\":\"many\",\"train_count\":1077,\"samples\":%d,\"correct\":%d,", t, c }' "$T/zs.pairs")
if [ "$DATA" = data/cifar10-lt/test.tar.gz ]; then
	grep -qF "$want" "$T/out.json" && ok "json: per class" || notok "json: per class" "no $want"
fi

# per-class TSV: train count, test count, accuracy recomputed
awk -v counts="$(counts_of "$T/train.mp")" '
	BEGIN { split(counts, n, ",") }
	{ t[$1]++; if ($1 == $2) c[$1]++ }
	END { for (k = 0; k < 10; k++) printf "%d\t%d\t%d\t%.6f\n", k, n[k + 1], t[k], c[k] / t[k] }' "$T/zs.pairs" >"$T/want"
grep -v '^#' "$T/pc.tsv" | cut -f 1,3,4,5 >"$T/got"
cmp -s "$T/want" "$T/got" && ok "per-class TSV = recomputation" || notok "per-class TSV = recomputation" "$(diff "$T/want" "$T/got" | head -n 3)"
head -n 1 "$T/pc.tsv" | grep -q '^# class_id	name	train_count	test_count	accuracy$' && ok "per-class TSV header" ||
	notok "per-class TSV header" "$(head -n 1 "$T/pc.tsv")"

# the pipelines' plot of it (gnuplot is optional)
if command -v gnuplot >/dev/null 2>&1; then
	if gnuplot -e "in='$T/pc.tsv'; out='$T/pc.png'" pipelines/plot-per-class.gp 2>"$T/err" &&
		[ "$(head -c 4 "$T/pc.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ]; then
		ok "plot-per-class.gp draws a PNG"
	else
		notok "plot-per-class.gp draws a PNG" "$(head -n 3 "$T/err")"
	fi
else
	echo "skip - plot-per-class.gp: gnuplot not installed"
fi

# confusion matrix rows
awk '{ m[$1, $2]++ } END { for (i = 0; i < 10; i++) { printf "["; for (j = 0; j < 10; j++) printf "%s%d", j ? ", " : "", m[i, j]; printf "]\n" } }' \
	"$T/zs.pairs" >"$T/want"
"$SHOW" --values "$T/conf.npy" | grep '^\[' >"$T/got"
cmp -s "$T/want" "$T/got" && ok "confusion = recomputation" || notok "confusion = recomputation" "$(diff "$T/want" "$T/got" | head -n 3)"
"$SHOW" "$T/conf.npy" | grep -q "int64 \[10, 10\]" && ok "confusion is int64 [C, C]" || notok "confusion is int64 [C, C]" "$("$SHOW" "$T/conf.npy" | head -n 1)"

# predictions stream: header and records
"$SHOW" --head 0 "$T/zs.mp" >"$T/h"
grep -q '^{"format":"lfm.predictions/1",.*"zero_shot":true,.*"classes":\["airplane",.*"counts":\[.*"samples":200,.*"command":' "$T/h" &&
	ok "predictions header" || notok "predictions header" "$(cut -c 1-200 "$T/h")"
"$SHOW" --head 1 "$T/zs.mp" | tail -n 1 | grep -qE '^\{"index":[0-9]+,"label":[0-9]+,"pred":[0-9]+,"score":-?[0-9.e-]+\}$' &&
	ok "prediction record" || notok "prediction record" "$("$SHOW" --head 1 "$T/zs.mp" | tail -n 1)"
"$SHOW" "$T/test.mp" | tail -n +2 | sed 's/.*"index":\([0-9]*\),"label":\([0-9]*\).*/\1 \2/' >"$T/want"
"$SHOW" "$T/zs.mp" | tail -n +2 | sed 's/.*"index":\([0-9]*\),"label":\([0-9]*\).*/\1 \2/' >"$T/got"
cmp -s "$T/want" "$T/got" && ok "predictions follow the samples stream" || notok "predictions follow the samples stream" "differ"

# ---- W_I --------------------------------------------------------------------------------------------
records() { "$SHOW" "$1" | tail -n +2; }
same_records() { # NAME FILE1 FILE2
	records "$2" >"$T/r1"; records "$3" >"$T/r2"
	if cmp -s "$T/r1" "$T/r2"; then ok "$1"; else notok "$1" "$(diff "$T/r1" "$T/r2" | head -n 3 | tr '\n' '|')"; fi
}
# The same predictions, scores within 1e-5: another batch size changes the shapes of the products, and on
# some CPUs (OpenBLAS's AVX2 kernels) a row's rounding depends on how the rows are blocked.
close_records() { # NAME FILE1 FILE2
	records "$2" | sed 's/"[a-z]*"://g; s/[{}]//g; s/,/ /g' >"$T/r1"
	records "$3" | sed 's/"[a-z]*"://g; s/[{}]//g; s/,/ /g' >"$T/r2"
	bad=$(paste -d ' ' "$T/r1" "$T/r2" | awk '{ d = $4 - $8; if (d < 0) d = -d;
		if (NF != 8 || $1 != $5 || $2 != $6 || $3 != $7 || d > 1e-5) { print NR ": " $0; exit } }')
	if [ -z "$bad" ] && [ "$(wc -l <"$T/r1")" -eq "$(wc -l <"$T/r2")" ]; then ok "$1"; else notok "$1" "record $bad"; fi
}
"$EVAL" -m "$T/fc-id.st" -t "$T/text.npy" -d "$DATA" -p "$T/id.mp" "$T/test.mp" >"$T/out" 2>"$T/err"
same_records "fc.weight = I predicts as zero-shot" "$T/zs.mp" "$T/id.mp"
"$SHOW" --head 0 "$T/id.mp" | grep -q '"zero_shot":false' && ok "fc.weight applied (header)" || notok "fc.weight applied (header)" "zero_shot not false"
grep -q 'fc.weight applied' "$T/out" && ok "fc.weight applied (table)" || notok "fc.weight applied (table)" "$(head -n 1 "$T/out")"
"$EVAL" -m "$T/fc-two.st" -t "$T/text.npy" -d "$DATA" -p "$T/two.mp" "$T/test.mp" >/dev/null 2>"$T/err"
same_records "fc.weight = 2I predicts as zero-shot" "$T/zs.mp" "$T/two.mp"
"$EVAL" -m "$T/fc-neg.st" -t "$T/text.npy" -d "$DATA" -p "$T/neg.mp" "$T/test.mp" >/dev/null 2>"$T/err"
pairs_of "$T/neg.mp" >"$T/neg.pairs"
if cmp -s "$T/neg.pairs" "$T/zs.pairs"; then notok "fc.weight = -I changes the predictions" "same predictions"; else ok "fc.weight = -I changes the predictions"; fi
"$EVAL" -m "$T/fc-neg.st" --no-fc -t "$T/text.npy" -d "$DATA" -p "$T/nofc.mp" "$T/test.mp" >/dev/null 2>"$T/err"
same_records "--no-fc ignores fc.weight" "$T/zs.mp" "$T/nofc.mp"

# ---- threads, batch, stdin ----------------------------------------------------------------------------
"$EVAL" -m "$T/tiny.st" -t "$T/text.npy" -d "$DATA" -j 1 -b 1 -p "$T/b1.mp" "$T/test.mp" >/dev/null 2>"$T/err"
close_records "--threads 1 --batch 1 = defaults" "$T/zs.mp" "$T/b1.mp"
"$EVAL" -m "$T/tiny.st" -t "$T/text.npy" -d "$DATA" -j 2 -b 7 -p "$T/b7.mp" <"$T/test.mp" >/dev/null 2>"$T/err"
close_records "--threads 2 --batch 7, stdin = defaults" "$T/zs.mp" "$T/b7.mp"

# ---- the table of command lines -------------------------------------------------------------------------
E="$EVAL -m $T/tiny.st -t $T/text.npy -d $DATA"
while IFS='|' read -r name want out_re err_re cmd; do
	name=$(trim "$name"); want=$(trim "$want"); out_re=$(trim "$out_re"); err_re=$(trim "$err_re"); cmd=$(trim "$cmd")
	case $name in '' | '#'*) continue ;; esac
	check_row "$name" "$want" "$out_re" "$err_re" "$cmd"
done <<'EOF'
# name                      | exit | stdout pattern                     | stderr pattern                          | command
help                        | 0 | ^usage: lfm-eval                         | -                                        | $EVAL --help
version                     | 0 | ^lfm-eval \(lfm-tools\) [0-9]            | -                                        | $EVAL --version
unknown option              | 2 | -                                        | Try 'lfm-eval --help'                    | $EVAL --bogus
model required              | 2 | -                                        | --model CKPT is required                 | $EVAL -t $T/text.npy -d $DATA $T/test.mp
text required               | 2 | -                                        | --text FEATURES.npy is required          | $EVAL -m $T/tiny.st -d $DATA $T/test.mp
data required               | 2 | -                                        | --data DATASET is required               | $EVAL -m $T/tiny.st -t $T/text.npy $T/test.mp
few above many              | 2 | -                                        | --few-max 200 is above --many-above 100  | $E --few-max 200 $T/test.mp
batch out of range          | 2 | -                                        | --batch.*out of range                    | $E -b 0 $T/test.mp
bad split                   | 2 | -                                        | --split                                  | $E --split dev $T/test.mp
train stream, no --split    | 0 | all +10                                  | -                                        | $LT --max-per-class 3 data/cifar10-lt/train.tar.gz -o $T/tr3.mp 2>/dev/null && $EVAL -m $T/tiny.st -t $T/text.npy -d data/cifar10-lt/train.tar.gz $T/tr3.mp
two samples streams         | 2 | -                                        | unexpected argument                      | $E $T/test.mp $T/test.mp
two outputs on stdout       | 2 | -                                        | only one of                              | $E -p - --per-class - $T/test.mp
# I/O: exit 3
missing model               | 3 | -                                        | nope\.st                                 | $EVAL -m $T/nope.st -t $T/text.npy -d $DATA $T/test.mp
missing text features       | 3 | -                                        | nope\.npy                                | $EVAL -m $T/tiny.st -t $T/nope.npy -d $DATA $T/test.mp
missing samples             | 3 | -                                        | nope\.mp                                 | $E $T/nope.mp
missing dataset             | 3 | -                                        | nope\.tar                                | $EVAL -m $T/tiny.st -t $T/text.npy -d $T/nope.tar $T/test.mp
missing training stream     | 3 | -                                        | nope\.mp                                 | $E -g $T/nope.mp $T/test.mp
unwritable predictions      | 3 | -                                        | nodir/p\.mp                              | $E -p $T/nodir/p.mp $T/test.mp
# bad data: exit 1
model not safetensors       | 1 | -                                        | text\.npy                                | $EVAL -m $T/text.npy -t $T/text.npy -d $DATA $T/test.mp
model without vision tower  | 1 | -                                        | textonly\.st                             | $EVAL -m $T/textonly.st -t $T/text.npy -d $DATA $T/test.mp
fc.weight of another size   | 1 | -                                        | fc-small\.st: tensor 'fc\.weight'.*\[64, 64\] | $EVAL -m $T/fc-small.st -t $T/text.npy -d $DATA $T/test.mp
features rows != classes    | 1 | -                                        | text3\.npy: 3 rows of text features, the samples stream has 10 classes | $EVAL -m $T/tiny.st -t $T/text3.npy -d $DATA $T/test.mp
features of another width   | 1 | -                                        | narrow\.npy: text features of 32 dimensions.*64 | $EVAL -m $T/tiny.st -t $T/narrow.npy -d $DATA $T/test.mp
not a samples stream        | 1 | -                                        | text\.npy                                | $E $T/text.npy
stream of another kind      | 1 | -                                        | pairs\.mp.*lfm\.pairs                    | $E $T/pairs.mp
index beyond the dataset    | 1 | -                                        | beyond\.mp: record 1: index 30000 is beyond the dataset | $E $T/beyond.mp
label differs from dataset  | 1 | -                                        | mislabel\.mp: record 1: sample 0 .*has label 0 in .*, the stream says 5 | $E $T/mislabel.mp
corrupt image               | 1 | -                                        | bad\.mp: .*sample 0 \(test/airplane/0001\.jpg\): .*JPEG | $EVAL -m $T/tiny.st -t $T/text1.npy -d $T/bad $T/bad.mp
training classes differ     | 1 | -                                        | three\.mp: 3 classes                     | $E -g $T/three.mp $T/test.mp
no partial output           | 0 | ^absent$                                 | -                                        | $E -p $T/x.mp --per-class $T/x.tsv $T/beyond.mp; test -e $T/x.mp || test -e $T/x.tsv || echo absent
# groups and outputs
no training counts: warned  | 0 | ^all +10 +200                            | give --groups-from                       | $E $T/test.mp
no training counts: no rows | 1 | -                                        | -                                        | $E $T/test.mp 2>/dev/null | grep -E '^(many|medium|few) '
empty samples stream        | 0 | ^all +10 +0 +0 +-$                       | -                                        | $E -g $T/train.mp $T/empty.mp
report to a file            | 0 | ^same$                                   | -                                        | $E -g $T/train.mp -o $T/t.txt $T/test.mp && cmp $T/t.txt $T/table.txt && echo same
predictions on stdout       | 0 | ^same$                                   | ^all                                     | $E -g $T/train.mp -p - --per-class $T/pc2.tsv --confusion $T/c2.npy $T/test.mp > $T/p2.mp && $SHOW $T/p2.mp | tail -n +2 > $T/a && $SHOW $T/zs.mp | tail -n +2 > $T/b && cmp $T/a $T/b && echo same
per-class on stdout         | 0 | ^same$                                   | -                                        | $E -g $T/train.mp --per-class - $T/test.mp | cmp - $T/pc.tsv && echo same
EOF
