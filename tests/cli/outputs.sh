#!/bin/sh
# tests/cli/outputs.sh — the output rule every tool follows (lfm(7), FILES), on small inputs made here:
# an output that is the same file as an input (by name, hard link or symlink) or as another output is
# refused before any work, naming both, exit 2, the input untouched; a replaced output keeps its
# permissions; a symlinked output replaces the file it points to and stays a link; a dangling one is
# refused; -o /dev/null is written in place; no temporary file is left. (lfm-fit's files, its lock and its
# saves: tests/cli/lfm_fit.sh.)
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
B=bin
DEMO=data/cifar10-lt/train.tar.gz
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LFM_PROGRESS=0
. "$(dirname "$0")/lib.sh"
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }
[ -r "$DEMO" ] || { echo "skip - outputs: $DEMO not found (the embedded demo data)" && exit 0; }

$B/lt-subset --imbalance 1 --max-per-class 2 -o "$T/s.mp" "$DEMO" &&
	$B/clip-init --arch tiny --towers text --seed 1 -o "$T/text-tower.st" &&
	$B/clip-embed-text --model "$T/text-tower.st" --vocab data/clip/bpe_simple_vocab_16e6.txt.gz \
		--samples "$T/s.mp" -o "$T/t.npy" &&
	$B/lfm-pairs --uniform -o "$T/pairs.mp" "$T/s.mp" || {
	echo "not ok - outputs setup: making the inputs failed"
	exit 1
}
ln "$T/pairs.mp" "$T/hard.mp"
ln -s pairs.mp "$T/link.mp"
cp "$T/s.mp" "$T/s.keep"
cp "$T/pairs.mp" "$T/pairs.keep"
cp "$T/t.npy" "$T/t.keep"

# name|pattern of the message|command: each refused, exit 2, naming both files
while IFS='|' read -r name pattern args; do
	[ -n "$name" ] && check_row "refused: $name" 2 - "$pattern" "(cd $T && $args)"
done <<EOF
lfm-mix -o its input|-o pairs.mp is the same file as the pairs stream pairs.mp|$PWD/$B/lfm-mix -o pairs.mp pairs.mp
lfm-mix -o a hard link of its input|-o hard.mp is the same file as the pairs stream pairs.mp|$PWD/$B/lfm-mix -o hard.mp pairs.mp
lfm-mix -o a symlink to its input|-o link.mp is the same file as the pairs stream pairs.mp|$PWD/$B/lfm-mix -o link.mp pairs.mp
lfm-pairs --uniform -o its input|-o s.mp is the same file as the samples stream s.mp|$PWD/$B/lfm-pairs --uniform -o s.mp s.mp
lfm-pairs --stats-npy the --text|--stats-npy t.npy is the same file as --text t.npy|$PWD/$B/lfm-pairs --stats --stats-npy t.npy --text t.npy -o x.mp s.mp
lfm-pairs --stats-npy and -o one file|-o x.mp and --stats-npy x.mp are the same file|$PWD/$B/lfm-pairs --stats --stats-npy x.mp --text t.npy -o x.mp s.mp
clip-embed-text -o its samples|-o s.mp is the same file as --samples s.mp|$PWD/$B/clip-embed-text --model text-tower.st --vocab $PWD/data/clip/bpe_simple_vocab_16e6.txt.gz --samples s.mp -o s.mp
lt-subset -o and --holdout-out one file|-o h.mp and --holdout-out h.mp are the same file|$PWD/$B/lt-subset --holdout 1 --holdout-out h.mp -o h.mp s.mp
lfm-eval --predictions its samples|--predictions s.mp is the same file as the samples stream s.mp|$PWD/$B/lfm-eval --model text-tower.st --text t.npy --data x --predictions s.mp s.mp
EOF
cmp -s "$T/s.mp" "$T/s.keep" && cmp -s "$T/pairs.mp" "$T/pairs.keep" && cmp -s "$T/t.npy" "$T/t.keep" &&
	ok "the inputs of the refused commands untouched" || nok "the inputs of the refused commands untouched" "one changed"
[ ! -e "$T/x.mp" ] && [ ! -e "$T/h.mp" ] && ok "a refused command writes nothing" || nok "a refused command writes nothing" "$(ls "$T")"

# permissions kept; a symlink's target replaced, the link kept; a dangling link refused; /dev/null in place
$B/lfm-mix -o "$T/out.mp" "$T/pairs.mp" && chmod 640 "$T/out.mp" && $B/lfm-mix --seed 7 -o "$T/out.mp" "$T/pairs.mp"
[ "$(stat -c %a "$T/out.mp")" = 640 ] && ok "a replaced output keeps its permissions (0640)" ||
	nok "a replaced output keeps its permissions" "mode $(stat -c %a "$T/out.mp")"
ln -s out.mp "$T/olink.mp"
cp "$T/out.mp" "$T/out.before"
$B/lfm-mix --seed 8 -o "$T/olink.mp" "$T/pairs.mp"
[ -L "$T/olink.mp" ] && ! cmp -s "$T/out.mp" "$T/out.before" && [ "$(stat -c %a "$T/out.mp")" = 640 ] && ok "a symlinked output: its target replaced, the link kept" ||
	nok "a symlinked output: its target replaced, the link kept" "$(ls -l "$T/olink.mp")"
ln -s nowhere/x.mp "$T/dangling.mp"
$B/lfm-mix -o "$T/dangling.mp" "$T/pairs.mp" 2>"$T/err"
st=$?
[ $st -eq 3 ] && grep -q 'dangling.mp: a symbolic link to a file that cannot be reached' "$T/err" &&
	ok "a dangling symlinked output: refused, exit 3" || nok "a dangling symlinked output: refused" "exit $st: $(cat "$T/err")"
$B/lfm-mix -o /dev/null "$T/pairs.mp" && [ -c /dev/null ] && ok "-o /dev/null: written in place" ||
	nok "-o /dev/null: written in place" "exit $?"
n=$(ls "$T" | grep -c '\.tmp\.')
[ "$n" -eq 0 ] && ok "no temporary file left" || nok "no temporary file left" "$(ls "$T" | grep '\.tmp\.')"
