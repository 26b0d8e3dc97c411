#!/bin/sh
# tests/cli/lfm_pairs_mix.sh — lfm-pairs' and lfm-mix's command lines.
#   1. A table: each row runs one command and checks its exit status, a pattern its standard output must
#      contain and a pattern its standard error must contain (extended regular expressions, per line;
#      '-' = no check). Inputs are made here with printf, so no Python or NumPy is needed.
#   2. Properties checked with cmp and awk: the same bytes from a file and from stdin (and from -o FILE),
#      a different seed gives different bytes; a pipe lt-subset | lfm-pairs | lfm-mix on the embedded
#      CIFAR-10-LT data (data/cifar10-lt; else ../shared's CIFAR-10 JPEG tarball; skipped without
#      either) read back through lfm-show: every record's labels are the samples stream's, yi != yj,
#      lx in [0, 1], ly = clamp(lx - (n_i - n_j) / (n_i + n_j), 0, 1) recomputed from the header's
#      counts, and the mean and variance of lx those of Beta(1/2, 1/2) within 6 standard errors
#      (false-failure rate ~2e-9); --render writes the JPEG files it promises.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
export LC_ALL=C
export LFM_PROGRESS=0
PAIRS=${LFM_PAIRS:-bin/lfm-pairs}
MIX=${LFM_MIX:-bin/lfm-mix}
SHOW=${LFM_SHOW:-bin/lfm-show}
LT=${LFM_LT_SUBSET:-bin/lt-subset}
INIT=${LFM_CLIP_INIT:-bin/clip-init}
EMBED=${LFM_CLIP_EMBED_TEXT:-bin/clip-embed-text}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for b in "$PAIRS" "$MIX" "$SHOW"; do
	if [ ! -x "$b" ]; then
		echo "not ok - built: $b is missing (run make first)"
		exit 1
	fi
done

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }
skip() { echo "skip - $1: $2"; }

# ---- byte helpers --------------------------------------------------------------------------------
byte() { printf "\\$(printf '%03o' "$1")"; }
le16() { byte $(($1 & 255)); byte $(($1 >> 8 & 255)); }

# npy FILE ROWS COLS DATA: a float32 [ROWS, COLS] .npy (version 1) whose data is the printf format DATA;
# the header is padded with spaces so the data starts at a multiple of 64, as NumPy writes it.
npy() {
	h="{'descr': '<f4', 'fortran_order': False, 'shape': ($2, $3), }"
	while [ $(( (10 + ${#h} + 1) % 64 )) -ne 0 ]; do h="$h "; done
	{ printf '\223NUMPY\001\000'; le16 $((${#h} + 1)); printf '%s\n' "$h"; printf "$4"; } >"$1"
}
F0='\000\000\000\000' F1='\000\000\200\077' FM='\000\000\200\277' FH='\000\000\000\077' # 0, 1, -1, 0.5

# fixstr S: a msgpack string of fewer than 32 bytes.
fixstr() { byte $((160 + ${#1})); printf '%s' "$1"; }

# samples FILE LABEL...: a samples stream {"format", "classes": c0..c4, "counts"} with one record
# {"index": 10 + k, "label": LABEL_k} per label (the counts are those of the labels given).
samples() {
	f=$1
	shift
	n0=0 n1=0 n2=0 n3=0 n4=0
	for l in "$@"; do eval "n$l=\$((n$l + 1))"; done
	{
		printf '\203'; fixstr format; fixstr lfm.samples/1
		fixstr classes; printf '\225'; for c in c0 c1 c2 c3 c4; do fixstr "$c"; done
		fixstr counts; printf '\225'; for c in $n0 $n1 $n2 $n3 $n4; do byte "$c"; done
		k=10
		for l in "$@"; do
			printf '\202'; fixstr index; byte $k; fixstr label; byte "$l"
			k=$((k + 1))
		done
	} >"$f"
}

# ---- fixtures ------------------------------------------------------------------------------------
samples "$T/s.mp" 0 0 0 0 0 0 0 0 1 1 1 1 2 2 2 3 3 4 0 1 2
head -c $(( $(wc -c <"$T/s.mp") - 4 )) "$T/s.mp" >"$T/s-cut.mp"
# text features of the 5 classes (rows need not be normalised) and of 4 (one row short)
npy "$T/text5.npy" 5 4 "$F1$F0$F0$F0$F1$F1$F0$F0$F0$F1$F0$F0$F0$FM$F1$F0$F0$F0$F1$FH"
npy "$T/text4.npy" 4 4 "$F1$F0$F0$F0$F1$F1$F0$F0$F0$F1$F0$F0$F0$FM$F1$F0"
npy "$T/zero5.npy" 5 4 "$F1$F0$F0$F0$F0$F0$F0$F0$F0$F1$F0$F0$F0$FM$F1$F0$F0$F0$F1$FH"
"$PAIRS" --text "$T/text5.npy" --epochs 3 "$T/s.mp" >"$T/p.mp" 2>"$T/err" || cat "$T/err"
head -c $(( $(wc -c <"$T/p.mp") - 5 )) "$T/p.mp" >"$T/p-cut.mp"
"$MIX" "$T/p.mp" >"$T/plan.mp" 2>"$T/err" || cat "$T/err"
printf 'not msgpack\n' >"$T/text.txt"

# ---- the table -----------------------------------------------------------------------------------
# name | exit status | stdout pattern | stderr pattern | command
. "$(dirname "$0")/lib.sh"
while IFS='|' read -r name want out_re err_re cmd; do
	name=$(trim "$name"); want=$(trim "$want")
	out_re=$(trim "$out_re"); err_re=$(trim "$err_re"); cmd=$(trim "$cmd")
	case $name in '' | '#'*) continue ;; esac
	check_row "$name" "$want" "$out_re" "$err_re" "$cmd"
done <<'EOF'
# usage (exit 2, the option named)
pairs help                | 0 | ^usage: lfm-pairs                    | -                                      | $PAIRS --help
pairs version             | 0 | ^lfm-pairs \(lfm-tools\) [0-9]       | -                                      | $PAIRS --version
mix help                  | 0 | ^usage: lfm-mix                      | -                                      | $MIX --help
mix version               | 0 | ^lfm-mix \(lfm-tools\) [0-9]         | -                                      | $MIX --version
pairs tau 0               | 2 | -                                    | --tau                                  | $PAIRS --text $T/text5.npy --tau 0 $T/s.mp
pairs tau -1              | 2 | -                                    | --tau                                  | $PAIRS --text $T/text5.npy --tau -1 $T/s.mp
pairs tau not a number    | 2 | -                                    | --tau                                  | $PAIRS --text $T/text5.npy --tau x $T/s.mp
pairs epochs 0            | 2 | -                                    | --epochs                               | $PAIRS --text $T/text5.npy --epochs 0 $T/s.mp
pairs top-k 0             | 2 | -                                    | --top-k                                | $PAIRS --text $T/text5.npy --top-k 0 $T/s.mp
pairs no text             | 2 | -                                    | --text FEATURES\.npy is required       | $PAIRS $T/s.mp
pairs stats and uniform   | 2 | -                                    | --stats.*--uniform                     | $PAIRS --uniform --stats $T/s.mp
pairs unknown option      | 2 | -                                    | ^lfm-pairs: unknown option .--bogus.$  | $PAIRS --bogus $T/s.mp
pairs one message         | 2 | -                                    | -                                      | $PAIRS --bogus $T/s.mp 2>&1 >/dev/null | { [ "$(wc -l)" -eq 2 ] || exit 9; exit 2; }
pairs missing value       | 2 | -                                    | ^lfm-pairs: option .--tau. needs a value | $PAIRS $T/s.mp --tau
pairs two inputs          | 2 | -                                    | more than one input                    | $PAIRS --uniform $T/s.mp $T/s.mp
mix unknown method        | 2 | -                                    | --method                               | $MIX --method cutmix $T/p.mp
mix beta 0                | 2 | -                                    | --beta                                 | $MIX --beta 0 $T/p.mp
mix alpha negative        | 2 | -                                    | --alpha                                | $MIX --alpha -1 $T/p.mp
mix per-batch 0           | 2 | -                                    | --per-batch                            | $MIX --per-batch 0 $T/p.mp
mix threads 3             | 2 | -                                    | --threads                              | $MIX -j 3 $T/p.mp
mix render needs source   | 2 | -                                    | --render needs --source                | $MIX --render $T/r $T/p.mp
mix count needs render    | 2 | -                                    | go with --render                       | $MIX --count 3 $T/p.mp
mix render size 0         | 2 | -                                    | --size                                 | $MIX --render $T/r --source x --size 0 $T/p.mp
# bad data (exit 1, the file and the problem named)
pairs fed a pairs stream  | 1 | -                                    | p\.mp: stream is lfm\.pairs/1, expected lfm\.samples | $PAIRS --text $T/text5.npy $T/p.mp
mix fed a samples stream  | 1 | -                                    | s\.mp: stream is lfm\.samples/1, expected lfm\.pairs | $MIX $T/s.mp
mix fed a plan stream     | 1 | -                                    | stream is lfm\.plan/1, expected lfm\.pairs | $MIX < $T/plan.mp
pairs rows != classes     | 1 | -                                    | text4\.npy: 4 rows of text features, but the samples stream has 5 classes | $PAIRS --text $T/text4.npy $T/s.mp
pairs zero feature row    | 1 | -                                    | zero5\.npy: text feature row 1 is all zeros | $PAIRS --text $T/zero5.npy $T/s.mp
pairs truncated samples   | 1 | -                                    | s-cut\.mp: truncated                   | $PAIRS --text $T/text5.npy $T/s-cut.mp
pairs truncated on stdin  | 1 | -                                    | stdin: truncated                       | $PAIRS --uniform < $T/s-cut.mp
mix truncated pairs       | 1 | -                                    | p-cut\.mp: truncated                   | $MIX $T/p-cut.mp
mix truncated on stdin    | 1 | -                                    | stdin: truncated                       | $MIX < $T/p-cut.mp
pairs not a stream        | 1 | -                                    | text\.txt                              | $PAIRS --uniform $T/text.txt
mix empty input           | 1 | -                                    | empty input                            | $MIX < /dev/null
pairs missing file        | 3 | -                                    | nope\.mp: No such file                 | $PAIRS --uniform $T/nope.mp
pairs missing features    | 3 | -                                    | nope\.npy                              | $PAIRS --text $T/nope.npy $T/s.mp
mix missing file          | 3 | -                                    | nope\.mp: No such file                 | $MIX $T/nope.mp
# what the streams hold
pairs header              | 0 | "format":"lfm\.pairs/1","partner":"local","tau":0\.05,"gamma_effective": | - | $SHOW --head 0 $T/p.mp
pairs counts carried      | 0 | "counts":\[9,5,4,2,1\]               | -                                      | $SHOW --head 0 $T/p.mp
pairs record count        | 0 | ^64$                                 | -                                      | $SHOW $T/p.mp | wc -l
pairs record keys         | 0 | ^\{"epoch":2,"i":[0-9]+,"yi":[0-4],"j":[0-9]+,"yj":[0-4]\}$ | -         | $SHOW $T/p.mp
pairs uniform header      | 0 | "partner":"uniform"                  | -                                      | $PAIRS --uniform $T/s.mp | $SHOW --head 0
plan header               | 0 | "format":"lfm\.plan/1","method":"lfm","alpha":1\.0,"beta":0\.5 | -    | $SHOW --head 0 $T/plan.mp
plan carries gamma'       | 0 | "gamma_effective":                   | -                                      | $SHOW --head 0 $T/plan.mp
plan record keys          | 0 | ^\{"epoch":0,"i":[0-9]+,"yi":[0-4],"j":[0-9]+,"yj":[0-4],"lx":[0-9.e-]+,"ly":[0-9.e-]+\}$ | - | $SHOW $T/plan.mp
plan method none          | 0 | "lx":1\.0,"ly":1\.0\}$               | -                                      | $MIX --method none $T/p.mp | $SHOW
plan mixup ly = lx        | 0 | ^0$                                  | -                                      | $MIX --method mixup $T/p.mp | $SHOW | sed -n '2,$p' | sed 's/.*"lx":\([^,]*\),"ly":\(.*\)}/\1 \2/' | awk '$1 != $2' | wc -l
# --stats
stats gamma'              | 0 | effective gamma' = [0-9.]+          | -                                      | $PAIRS --text $T/text5.npy --stats $T/s.mp
stats rows                | 0 | ^4 +c4 +1 +0\.04762                  | -                                      | $PAIRS --text $T/text5.npy --stats $T/s.mp
stats npy                 | 0 | float32 \[5, 5\]                     | -                                      | $PAIRS --text $T/text5.npy --stats --stats-npy $T/p.npy $T/s.mp >/dev/null && $SHOW $T/p.npy
stats npy diagonal 0      | 0 | ^\[0\.0, [0-9]                       | -                                      | $SHOW --values --head 1 $T/p.npy
EOF

# ---- reproducibility ------------------------------------------------------------------------------
same() { # name file1 file2
	if cmp -s "$2" "$3"; then ok "$1"; else notok "$1" "$(cmp "$2" "$3" 2>&1 | head -n 1)"; fi
}
differ() {
	if cmp -s "$2" "$3"; then notok "$1" "identical outputs"; else ok "$1"; fi
}
"$PAIRS" --text "$T/text5.npy" --epochs 3 - <"$T/s.mp" >"$T/p-stdin.mp"
# the command line is part of the header: compare runs with the same arguments (input '-' both times)
"$PAIRS" --text "$T/text5.npy" --epochs 3 - <"$T/s.mp" >"$T/p1.mp"
cat "$T/s.mp" | "$PAIRS" --text "$T/text5.npy" --epochs 3 - >"$T/p2.mp"
same "pairs same bytes from a file and a pipe" "$T/p1.mp" "$T/p2.mp"
"$PAIRS" --text "$T/text5.npy" --epochs 3 -o "$T/po.mp" - <"$T/s.mp" && mv "$T/po.mp" "$T/p3.mp"
cat "$T/s.mp" | "$PAIRS" --text "$T/text5.npy" --epochs 3 -o "$T/po.mp" -
same "pairs same bytes with -o, file and pipe" "$T/p3.mp" "$T/po.mp"
"$PAIRS" --text "$T/text5.npy" --epochs 3 --seed 1 - <"$T/s.mp" >"$T/p5.mp"
differ "pairs another seed differs" "$T/p1.mp" "$T/p5.mp"
"$MIX" - <"$T/p.mp" >"$T/m1.mp"
cat "$T/p.mp" | "$MIX" - >"$T/m2.mp"
same "mix same bytes from a file and a pipe" "$T/m1.mp" "$T/m2.mp"
"$MIX" -j 1 - <"$T/p.mp" | "$SHOW" | sed 1d >"$T/m1.json"
"$SHOW" "$T/m1.mp" | sed 1d >"$T/m2.json"
same "mix the same records with --threads 1 and 2" "$T/m1.json" "$T/m2.json"
"$MIX" --seed 1 - <"$T/p.mp" >"$T/m3.mp"
differ "mix another seed differs" "$T/m1.mp" "$T/m3.mp"

# ---- a real pipe: lt-subset | lfm-pairs | lfm-mix, inspected with lfm-show -------------------------
name="pipe on CIFAR-10-LT"
if [ -f data/cifar10-lt/train.tar.gz ]; then
	DATA=data/cifar10-lt/train.tar.gz
	IMB=1 # already long-tailed
elif [ -f ../shared/data/cifar10-jpeg.tar.gz ]; then
	DATA=../shared/data/cifar10-jpeg.tar.gz
	IMB=100
else
	DATA=
fi
if [ -z "$DATA" ]; then
	skip "$name" "neither data/cifar10-lt/train.tar.gz nor ../shared/data/cifar10-jpeg.tar.gz exists"
elif [ ! -x "$LT" ]; then
	skip "$name" "$LT is not built"
elif ! "$LT" --imbalance $IMB "$DATA" >"$T/lt.mp" 2>"$T/err"; then
	notok "$name" "lt-subset failed: $(head -n 1 "$T/err")"
else
	# Text features: CLIP's text tower (random tiny weights) when those tools work, else 10 rows by hand.
	if [ -x "$INIT" ] && [ -x "$EMBED" ] && "$INIT" --arch tiny -o "$T/tiny.st" 2>/dev/null &&
		"$EMBED" --model "$T/tiny.st" "$T/lt.mp" -o "$T/text.npy" 2>/dev/null; then
		:
	else
		npy "$T/text.npy" 10 4 "$F1$F0$F0$F0$F1$F1$F0$F0$F0$F1$F0$F0$F0$FM$F1$F0$F0$F0$F1$FH$FH$F0$FH$F0$F0$FH$F1$F1$FM$F0$F0$F1$FH$FH$FH$FH$F0$F1$F1$F1"
	fi
	# 10 epochs of 12,406 samples: 124,060 records.
	"$LT" --imbalance $IMB "$DATA" 2>/dev/null | "$PAIRS" --text "$T/text.npy" --epochs 10 --seed 3 |
		tee "$T/pairs-lt.mp" | "$MIX" --seed 5 >"$T/plan-lt.mp" 2>"$T/err"
	"$SHOW" "$T/lt.mp" >"$T/lt.json"
	"$SHOW" "$T/plan-lt.mp" >"$T/plan.json"
	# One pass over the samples (labels by index) then the plan (its header's counts, then records).
	awk -v samples="$T/lt.json" '
	function val(s, key,    m) { # the number after "key": in s
		if (!match(s, "\"" key "\":[-0-9.eE+]+")) return "none"
		return substr(s, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0
	}
	BEGIN {
		while ((getline line < samples) > 0)
			if (line ~ /^\{"index"/) label[val(line, "index")] = val(line, "label")
	}
	NR == 1 {
		match($0, /"counts":\[[0-9,]*\]/)
		C = split(substr($0, RSTART + 10, RLENGTH - 11), n, ",")
		next
	}
	{
		e = val($0, "epoch"); i = val($0, "i"); yi = val($0, "yi"); j = val($0, "j"); yj = val($0, "yj")
		lx = val($0, "lx"); ly = val($0, "ly")
		records++
		if (!(i in label) || label[i] != yi) badlab++
		if (!(j in label) || label[j] != yj) badlab++
		if (yi == yj) same++
		if (!(lx >= 0 && lx <= 1)) badlx++
		ni = n[yi + 1]; nj = n[yj + 1]
		want = lx - (ni - nj) / (ni + nj)
		want = want < 0 ? 0 : want > 1 ? 1 : want
		d = ly - want; if (d < 0) d = -d
		if (d > 1e-6) badly++
		s1 += lx - 0.5; s2 += (lx - 0.5) * (lx - 0.5)
	}
	END {
		mean = 0.5 + s1 / records; var = s2 / records
		# Beta(1/2, 1/2): variance 1/8; E(x - 1/2)^4 = 3/128, so Var((x - 1/2)^2) = 1/128
		zm = (mean - 0.5) / sqrt(0.125 / records); zv = (var - 0.125) / sqrt((3 / 128 - 1 / 64) / records)
		printf "records %d classes %d badlabel %d same %d badlx %d badly %d mean %.6f var %.6f zmean %.2f zvar %.2f\n",
			records, C, badlab, same, badlx, badly, mean, var, zm, zv
	}' "$T/plan.json" >"$T/stats" 2>&1
	read -r _ records _ C _ badlab _ same _ badlx _ badly _ mean _ var _ zm _ zv <"$T/stats" || true
	if [ "${records:-0}" -lt 100000 ]; then
		notok "$name: records" "$(cat "$T/stats" "$T/err" | head -n 3)"
	else
		ok "$name: $records records"
		[ "$badlab" = 0 ] && ok "pipe: labels of i and j are the samples stream's" ||
			notok "pipe: labels of i and j are the samples stream's" "$badlab mismatches"
		[ "$same" = 0 ] && ok "pipe: yi != yj" || notok "pipe: yi != yj" "$same records pair a class with itself"
		[ "$badlx" = 0 ] && ok "pipe: lx in [0, 1]" || notok "pipe: lx in [0, 1]" "$badlx records outside"
		[ "$badly" = 0 ] && ok "pipe: ly is the label shift of lx" ||
			notok "pipe: ly is the label shift of lx" "$badly records differ by more than 1e-6"
		if awk -v z="$zm" 'BEGIN { exit !(z < 6 && z > -6) }'; then ok "pipe: lx mean is Beta(1/2,1/2)'s ($mean, $zm SE)"
		else notok "pipe: lx mean is Beta(1/2,1/2)'s" "mean $mean, $zm standard errors from 1/2"; fi
		if awk -v z="$zv" 'BEGIN { exit !(z < 6 && z > -6) }'; then ok "pipe: lx variance is Beta(1/2,1/2)'s ($var, $zv SE)"
		else notok "pipe: lx variance is Beta(1/2,1/2)'s" "variance $var, $zv standard errors from 1/8"; fi
	fi

	# the thread count changes nothing (the header's "command" does differ: compare the records)
	"$MIX" --seed 5 -j 1 "$T/pairs-lt.mp" | "$SHOW" | sed 1d >"$T/j1.json"
	sed 1d "$T/plan.json" >"$T/j2.json"
	same "pipe: the same records with --threads 1 and 2" "$T/j1.json" "$T/j2.json"

	# --render: N JPEG files named by record, classes and lambdas (and the plan still on stdout)
	"$LT" --imbalance $IMB "$DATA" 2>/dev/null | "$PAIRS" --text "$T/text.npy" |
		"$MIX" --render "$T/render" --source "$DATA" --count 4 --size 64 >"$T/plan-r.mp" 2>"$T/err"
	files=$(ls "$T/render" 2>/dev/null | grep -cE '^[0-9]{6}_[A-Za-z0-9._-]+-[01]\.[0-9]{2}_[A-Za-z0-9._-]+-[01]\.[0-9]{2}_ly[01]\.[0-9]{2}\.jpg$')
	jpegs=0
	for f in "$T"/render/*.jpg; do
		[ -f "$f" ] && [ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' \n')" = ffd8 ] && jpegs=$((jpegs + 1))
	done
	if [ "$files" = 4 ] && [ "$jpegs" = 4 ]; then ok "render writes 4 JPEG files"
	else notok "render writes 4 JPEG files" "$files names match, $jpegs JPEGs: $(ls "$T/render" 2>&1 | head -n 4 | tr '\n' ' ') $(head -n 2 "$T/err")"; fi
	# file 0 is plan record 0: its classes' names (from the header) in that order
	first=$(ls "$T/render" 2>/dev/null | head -n 1)
	want=$("$SHOW" --head 1 "$T/plan-r.mp" | awk '
		NR == 1 { match($0, /"classes":\[[^]]*\]/); split(substr($0, RSTART + 11, RLENGTH - 12), c, ",") }
		NR == 2 { match($0, /"yi":[0-9]+/); yi = substr($0, RSTART + 5, RLENGTH - 5)
			  match($0, /"yj":[0-9]+/); yj = substr($0, RSTART + 5, RLENGTH - 5)
			  gsub(/"/, "", c[yi + 1]); gsub(/"/, "", c[yj + 1]); print "000000_" c[yi + 1] "-[01].[0-9][0-9]_" c[yj + 1] "-" }')
	if [ -n "$want" ] && printf '%s\n' "$first" | grep -q "^$want"; then ok "render file 0 is plan record 0 ($first)"
	else notok "render file 0 is plan record 0" "first file '$first', expected a name starting /$want/"; fi
	[ "$("$SHOW" "$T/plan-r.mp" | wc -l)" -eq 12407 ] && ok "render still writes the plan" ||
		notok "render still writes the plan" "$("$SHOW" "$T/plan-r.mp" 2>&1 | wc -l) lines"
	same_jpegs() { for f in "$1"/*.jpg; do cmp -s "$f" "$2/${f##*/}" || return 1; done; }
	# --render on the plan itself (what lfm-fit trains on): the same images, bit for bit, nothing written
	"$MIX" --render "$T/render-plan" --source "$DATA" --count 4 --size 64 "$T/plan-r.mp" >"$T/out" 2>"$T/err"
	st=$?
	if [ $st -eq 0 ] && [ ! -s "$T/out" ] && [ "$(ls "$T/render-plan" | tr '\n' ' ')" = "$(ls "$T/render" | tr '\n' ' ')" ] &&
		same_jpegs "$T/render" "$T/render-plan"; then
		ok "render of the plan itself: the same files, bit for bit"
	else
		notok "render of the plan itself: the same files, bit for bit" "status $st: $(head -n 2 "$T/err")"
	fi
	"$MIX" --render "$T/render-plan2" --source "$DATA" --method mixup "$T/plan-r.mp" >/dev/null 2>"$T/err"
	[ $? -eq 2 ] && grep -q 'is a mix plan: --render shows it as it is' "$T/err" && ok "render of a plan refuses mixing options" ||
		notok "render of a plan refuses mixing options" "$(cat "$T/err")"
	# the wrong dataset for the stream: a clear error, exit 1
	"$MIX" --render "$T/render2" --source "$T/s.mp" "$T/p.mp" >/dev/null 2>"$T/err"
	st=$?
	[ "$st" != 0 ] && [ "$st" -lt 128 ] && ok "render from a non-dataset fails ($st)" ||
		notok "render from a non-dataset fails" "status $st"
fi

# ---- text features as NumPy makes them: float64 (its default) and float16 converted, integers refused ------
# The arrays are written by hand (a v1 header and little-endian values), so no NumPy is needed here.
if command -v python3 >/dev/null && [ -f "$T/text5.npy" ]; then
	python3 - "$T/text5.npy" "$T" <<'PY'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read()
hl = struct.unpack('<H', b[8:10])[0]
vals = struct.unpack('<%df' % ((len(b) - 10 - hl) // 4), b[10 + hl:])
shape = b[10:10 + hl].decode().split("'shape': ")[1].split(')')[0] + ')'
def save(name, descr, fmt, xs):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += ' ' * (63 - (10 + len(h)) % 64) + '\n'
    open(out + '/' + name, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() + struct.pack('<%d%s' % (len(xs), fmt), *xs))
save('t64.npy', '<f8', 'd', vals)
save('t16.npy', '<f2', 'e', vals)
save('ti32.npy', '<i4', 'i', [int(v * 100) for v in vals])
save('tb.npy', '|b1', '?', [v > 0 for v in vals])
PY
	"$PAIRS" --text "$T/text5.npy" --stats "$T/s.mp" >"$T/st32" 2>&1
	"$PAIRS" --text "$T/t64.npy" --stats "$T/s.mp" >"$T/st64" 2>&1
	cmp -s "$T/st32" "$T/st64" && ok "float64 text features (NumPy's default) = the float32 ones" ||
		notok "float64 text features (NumPy's default) = the float32 ones" "$(diff "$T/st32" "$T/st64" | head -3 | tr '\n' ' ')"
	"$PAIRS" --text "$T/t16.npy" --stats "$T/s.mp" >/dev/null 2>"$T/err" && ok "float16 text features accepted" ||
		notok "float16 text features accepted" "$(cat "$T/err")"
	for f in ti32:int32:integers tb:bool:booleans; do
		n=${f%%:*} rest=${f#*:} dt=${rest%%:*} what=${rest#*:}
		"$PAIRS" --text "$T/$n.npy" --stats "$T/s.mp" >/dev/null 2>"$T/err"
		st=$?
		if [ $st -eq 1 ] && grep -q "$n.npy: dtype $dt: floating-point values expected.*array of $what" "$T/err"; then
			ok "$dt text features refused, naming the dtype"
		else
			notok "$dt text features refused, naming the dtype" "status $st: $(cat "$T/err")"
		fi
	done
fi
