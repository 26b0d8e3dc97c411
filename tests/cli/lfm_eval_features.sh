#!/bin/sh
# tests/cli/lfm_eval_features.sh — lfm-eval --features on a tiny random CLIP (clip-init) and the embedded
# CIFAR-10-LT test images (20 a class): the file is a float32 [N, d] .npy whose rows have unit norm; the
# argmax of each row against the L2-normalised text features (recomputed here with awk, in double) is the
# record's "pred" of the predictions stream and the maximum its "score"; W_I is applied (fc.weight = -I
# gives the negated rows); other thread counts and batch sizes, stdout and a run without --predictions give
# the same rows; the device path (the CUDA runner through the host emulation, build/emu/bin) agrees with
# the CPU. Then a table of command lines: exit status and a pattern for stderr.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
. "$(dirname "$0")/lib.sh"
export LC_ALL=C LFM_PROGRESS=0
EVAL=${LFM_EVAL:-bin/lfm-eval}
EMU=${LFM_EMU_BIN:-build/emu/bin}
INIT=bin/clip-init EMBED=bin/clip-embed-text LT=bin/lt-subset SHOW=bin/lfm-show
DATA=data/cifar10-lt/test.tar.gz
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for b in "$EVAL" "$INIT" "$EMBED" "$LT" "$SHOW"; do
	[ -x "$b" ] || { echo "not ok - built: $b is missing (run make first)"; exit 1; }
done
[ -f "$DATA" ] || { echo "skip - lfm-eval --features: $DATA not found"; exit 0; }
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }

# ---- fixtures ------------------------------------------------------------------------------------
"$LT" --split test --max-per-class 20 "$DATA" -o "$T/test.mp" 2>"$T/err" || { cat "$T/err"; exit 1; }
"$INIT" --arch tiny -o "$T/tiny.st" 2>"$T/err" &&
	"$EMBED" -m "$T/tiny.st" --samples "$T/test.mp" -u -o "$T/text.npy" 2>>"$T/err" ||
	{ notok "fixtures" "$(head -n 2 "$T/err")"; exit 1; }
N=200 D=64

add_fc "$T/tiny.st" "$T/fc-neg.st" 64 '\000\000\200\277' # -1.0f

E="$EVAL -m $T/tiny.st -t $T/text.npy -d $DATA"

# rows FILE.npy: the array's rows, one a line, numbers separated by spaces
rows() { "$SHOW" --values "$1" | grep '^\[' | tr -d '[],'; }
# preds FILE.mp: "pred score" a record
preds() { "$SHOW" "$1" | tail -n +2 | sed 's/.*"pred":\([0-9]*\),"score":\([^}]*\)}.*/\1 \2/'; }
# maxdiff A.npy B.npy [SIGN]: the largest |a - SIGN·b| over the elements (rows of equal count required)
maxdiff() {
	rows "$1" >"$T/ra"; rows "$2" >"$T/rb"
	paste -d '|' "$T/ra" "$T/rb" | awk -F'|' -v s="${3:-1}" '
		{ n = split($1, a, " "); m = split($2, b, " "); if (n != m) { bad = 1; exit }
		  for (k = 1; k <= n; k++) { d = a[k] - s * b[k]; if (d < 0) d = -d; if (d > mx) mx = d } }
		END { if (bad || NR == 0) print "rows differ"; else printf "%.3g\n", mx }'
}
within() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a ~ /^[0-9.e+-]+$/ && a + 0 <= b + 0) }'; }

# check_argmax NAME FEATURES.npy PREDICTIONS.mp: each feature row against the normalised text features
# gives the record's pred (a different argmax only where the two logits are within 1e-6, float32's
# rounding) and its score within 1e-5.
check_argmax() {
	rows "$T/text.npy" >"$T/text.rows"
	rows "$2" >"$T/feat.rows"
	preds "$3" >"$T/preds"
	bad=$(awk -v tf="$T/text.rows" -v pf="$T/preds" '
		BEGIN { while ((getline l < tf) > 0) { C++; n = split(l, v, " "); s = 0
				for (k = 1; k <= n; k++) s += v[k] * v[k]
				for (k = 1; k <= n; k++) t[C - 1, k] = v[k] / sqrt(s); D = n }
			i = 0; while ((getline l < pf) > 0) { split(l, v, " "); pred[i] = v[1]; score[i] = v[2]; i++ } }
		{ best = -1; for (c = 0; c < C; c++) { z = 0; for (k = 1; k <= D; k++) z += $k * t[c, k]; lg[c] = z
			if (best < 0 || z > lg[best]) best = c }
		  r = NR - 1; p = pred[r]
		  if (best != p && lg[best] - lg[p] > 1e-6) { printf "record %d: argmax %d, pred %d\n", NR, best, p; exit }
		  d = lg[p] - score[r]; if (d < 0) d = -d
		  if (d > 1e-5) { printf "record %d: logit %.8g, score %.8g\n", NR, lg[p], score[r]; exit } }
		END { if (NR != i) printf "%d rows, %d records\n", NR, i }' "$T/feat.rows")
	if [ -z "$bad" ]; then ok "$1"; else notok "$1" "$bad"; fi
}

# ---- the file ---------------------------------------------------------------------------------------
if ! $E -p "$T/p.mp" --features "$T/f.npy" "$T/test.mp" >"$T/table" 2>"$T/err"; then
	notok "evaluate with --features" "$(head -n 3 "$T/err")"
	exit 1
fi
ok "evaluate with --features: exit 0"
"$SHOW" "$T/f.npy" | head -n 1 | grep -q "npy 1.0, float32 \[$N, $D\] ('<f4')" && ok "float32 [N, d]" ||
	notok "float32 [N, d]" "$("$SHOW" "$T/f.npy" | head -n 1)"
size=$(wc -c <"$T/f.npy")
hdr=$((size - N * D * 4))
[ "$hdr" -gt 0 ] && [ $((hdr % 64)) -eq 0 ] && [ "$(head -c 6 "$T/f.npy" | tail -c 5)" = NUMPY ] &&
	ok "a .npy of exactly N x d floats after a 64-byte-aligned header" || notok "file size" "$size bytes"
[ "$(rows "$T/f.npy" | wc -l)" -eq $N ] && ok "one row per record" || notok "one row per record" "$(rows "$T/f.npy" | wc -l) rows"
bad=$(rows "$T/f.npy" | awk '{ s = 0; for (k = 1; k <= NF; k++) s += $k * $k; d = sqrt(s) - 1; if (d < 0) d = -d
	if (d > 1e-5 || NF != '$D') { printf "row %d: norm %.8g, %d values\n", NR, sqrt(s), NF; exit } }')
[ -z "$bad" ] && ok "rows have unit norm" || notok "rows have unit norm" "$bad"
check_argmax "argmax of features x text features = the predictions, max = the scores" "$T/f.npy" "$T/p.mp"

# W_I: fc.weight = -I negates every feature, and the predictions follow from the negated rows
$EVAL -m "$T/fc-neg.st" -t "$T/text.npy" -d "$DATA" -p "$T/pn.mp" --features "$T/fn.npy" "$T/test.mp" >/dev/null 2>"$T/err"
d=$(maxdiff "$T/f.npy" "$T/fn.npy" -1)
[ "$d" = 0 ] && ok "fc.weight = -I: the negated features" || notok "fc.weight = -I: the negated features" "max |f + f_neg| = $d"
check_argmax "fc.weight = -I: argmax of its features = its predictions" "$T/fn.npy" "$T/pn.mp"
$EVAL -m "$T/fc-neg.st" --no-fc -t "$T/text.npy" -d "$DATA" --features "$T/fnofc.npy" "$T/test.mp" >/dev/null 2>"$T/err"
cmp -s "$T/f.npy" "$T/fnofc.npy" && ok "--no-fc: the zero-shot features" || notok "--no-fc: the zero-shot features" "differ"

# ---- the same rows however it runs ------------------------------------------------------------------
$E --features "$T/f2.npy" "$T/test.mp" >/dev/null 2>"$T/err"
cmp -s "$T/f.npy" "$T/f2.npy" && ok "without --predictions: the same bytes" || notok "without --predictions" "differ"
$E --features - "$T/test.mp" >"$T/f3.npy" 2>"$T/err"
cmp -s "$T/f.npy" "$T/f3.npy" && grep -q '^all ' "$T/err" && ok "--features -: stdout, the table on stderr" ||
	notok "--features -" "$(head -n 2 "$T/err")"
# Another thread count or batch size blocks the matrix products differently (OpenBLAS's kernels round
# a row by how the rows are blocked), so the rows agree within float32 rounding, not bit for bit.
for run in "-j 1 -b 64" "-j 2 -b 7" "-j 1 -b 1"; do
	$E $run --features "$T/fr.npy" "$T/test.mp" >/dev/null 2>"$T/err"
	d=$(maxdiff "$T/f.npy" "$T/fr.npy")
	within "$d" 1e-6 && ok "$run: the same rows (max diff $d)" || notok "$run: the same rows" "max diff $d"
done
# the batch loader reads the stream from stdin as from a file
$E -j 2 -b 7 --features "$T/fs.npy" <"$T/test.mp" >/dev/null 2>"$T/err"
d=$(maxdiff "$T/f.npy" "$T/fs.npy")
within "$d" 1e-6 && ok "samples on stdin: the same rows (max diff $d)" || notok "samples on stdin" "max diff $d"

# ---- the device path (the CUDA runner compiled against the host emulation) ---------------------------
if [ -x "$EMU/lfm-eval" ]; then
	# 40 images keep the emulated device quick
	"$LT" --split test --max-per-class 4 "$DATA" -o "$T/t40.mp" 2>/dev/null
	$E -p "$T/pc.mp" --features "$T/fc.npy" "$T/t40.mp" >/dev/null 2>"$T/err"
	if "$EMU/lfm-eval" -m "$T/fc-neg.st" -t "$T/text.npy" -d "$DATA" --device cuda --precision fp32 -b 16 \
		-p "$T/pg.mp" --features "$T/fg.npy" "$T/t40.mp" >/dev/null 2>"$T/err"; then
		d=$(maxdiff "$T/fc.npy" "$T/fg.npy" -1)
		within "$d" 1e-5 && ok "device (emulated), fc.weight = -I: the CPU's rows negated (max diff $d)" ||
			notok "device (emulated): the CPU's rows" "max diff $d"
		check_argmax "device (emulated): argmax of its features = its predictions" "$T/fg.npy" "$T/pg.mp"
	else
		notok "device (emulated) run" "$(tail -n 2 "$T/err")"
	fi
else
	echo "skip - lfm-eval --features on the device: $EMU/lfm-eval not built (make emu)"
fi

# ---- the table of command lines -------------------------------------------------------------------------
{ printf '\202\246format\255lfm.samples/1\247classes\232'
  for c in airplane automobile bird cat deer dog frog horse ship truck; do printf "\\$(printf '%03o' $((160 + ${#c})))%s" "$c"; done
} >"$T/empty.mp"
{ cat "$T/empty.mp"; printf '\202\245index\315\165\060\245label\000'; } >"$T/beyond.mp" # index 30000
while IFS='|' read -r name want out_re err_re cmd; do
	name=$(trim "$name"); want=$(trim "$want"); out_re=$(trim "$out_re"); err_re=$(trim "$err_re"); cmd=$(trim "$cmd")
	case $name in '' | '#'*) continue ;; esac
	check_row "$name" "$want" "$out_re" "$err_re" "$cmd"
done <<EOF
# name                        | exit | stdout pattern | stderr pattern                      | command
in --help                     | 0 | --features FILE | -                                      | $EVAL --help
unwritable path               | 3 | -          | nodir/f\.npy                                | $E --features $T/nodir/f.npy $T/test.mp
unwritable: no other output  | 0 | ^absent$   | nodir/f\.npy                               | $E -p $T/p9.mp --features $T/nodir/f.npy $T/test.mp; test -e $T/p9.mp || echo absent
features and predictions on stdout | 2 | -     | only one of --predictions, --per-class, --confusion and --features | $E -p - --features - $T/test.mp
features over an input        | 2 | -          | text\.npy                                   | $E --features $T/text.npy $T/test.mp
bad data: exit 1, no file     | 0 | ^absent 1$ | beyond\.mp: record 1: index 30000           | $E --features $T/x.npy $T/beyond.mp; s=\$?; test -e $T/x.npy || echo absent \$s
empty stream: [0, d]          | 0 | float32 \[0, 64\] | -                                    | $E --features $T/e.npy $T/empty.mp 2>/dev/null >/dev/null && $SHOW $T/e.npy
EOF
