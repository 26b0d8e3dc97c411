#!/bin/sh
# tests/cli/doc_examples.sh — the documentation's runnable examples, run (as jq tests its manual's).
# An example is marked runnable on the embedded demo data (data/cifar10-lt/) by the line before it:
#   README.md      <!-- example: demo -->   then a ```sh fenced block
#   man/*.[1-9]    .\" example: demo        then an .EX ... .EE (or .nf ... .fi) block
# Examples that need the user's data (real CLIP weights, CIFAR tarballs, ImageNet) are not marked.
# The marked blocks of one document run in order, each with sh -e, in one scratch folder that looks like
# the source root (data/ and pipelines/ linked there), with bin/ first on PATH; a block fails the test
# when any of its commands (the last of a pipe) fails. troff escapes (\- \e \(aq \&) are undone first.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
export LC_ALL=C LFM_PROGRESS=0
ROOT=$(pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEFILES MAKEOVERRIDES
PATH=$ROOT/bin:$PATH
export PATH

if [ ! -x bin/lfm-show ] || [ ! -x bin/clip-init ]; then
	echo "not ok - built: bin/ is missing tools (run make first)"
	exit 1
fi
to=""
command -v timeout >/dev/null 2>&1 && to="timeout 300"

# extract DOC KIND OUTDIR: write each marked block to OUTDIR/NNN.sh (first line: "# LINE"), print the count.
extract() {
	awk -v kind="$2" -v out="$3" '
	function flush() { close(f) }
	kind == "md" && /^<!-- example: demo -->[[:space:]]*$/ { want = NR; next }
	kind == "md" && want && !inb && /^```/ { if (NR == want + 1) { inb = 1; n++; f = sprintf("%s/%03d.sh", out, n); print "# line " NR > f } want = 0; next }
	kind == "md" && inb && /^```/ { inb = 0; flush(); next }
	kind == "man" && /^\.\\" example: demo[[:space:]]*$/ { want = NR; next }
	kind == "man" && want && !inb && /^\.(EX|nf)([[:space:]]|$)/ { inb = 1; n++; f = sprintf("%s/%03d.sh", out, n); print "# line " NR > f; want = 0; next }
	kind == "man" && want && !inb && /^\.(RS|PP)([[:space:]]|$)/ { next }
	kind == "man" && want && !inb { want = 0 }
	kind == "man" && inb && /^\.(EE|fi)([[:space:]]|$)/ { inb = 0; flush(); next }
	kind == "man" && inb && /^\.(RS|RE|PP|ft)([[:space:]]|$)/ { next }
	inb {
		line = $0
		if (kind == "man") {
			gsub(/\\-/, "-", line); gsub(/\\\(aq/, "\047", line); gsub(/\\&/, "", line)
			gsub(/\\e/, "\\", line)
		}
		print line > f
	}
	END { print n + 0 }' "$1"
}

total=0
for doc in README.md man/*.[1-9]; do
	case $doc in *.md) kind=md ;; *) kind=man ;; esac
	name=$(basename "$doc")
	blocks=$T/blocks/$name
	mkdir -p "$blocks"
	n=$(extract "$doc" "$kind" "$blocks")
	case $kind in
	md) marks=$(grep -c '^<!-- example: demo -->' "$doc") ;;
	*) marks=$(grep -c '^\.\\" example: demo' "$doc") ;;
	esac
	if [ "$marks" -ne "$n" ]; then
		echo "not ok - $doc: $marks example marks but $n blocks after them (a mark must come just before a \`\`\`sh or .EX/.nf block)"
	fi
	[ "$n" -gt 0 ] || continue
	total=$((total + n))
	work=$T/run/$name
	mkdir -p "$work"
	ln -s "$ROOT/data" "$work/data"
	ln -s "$ROOT/pipelines" "$work/pipelines"
	for b in "$blocks"/*.sh; do
		where=$(head -n 1 "$b" | sed 's/^# //')
		first=$(sed -n '2p' "$b" | cut -c 1-60)
		start=$(date +%s)
		(cd "$work" && $to sh -e "$b") >"$T/out" 2>"$T/err" </dev/null
		st=$?
		secs=$(($(date +%s) - start))
		if [ $st -eq 0 ]; then
			echo "ok - $doc example at $where runs on the demo data (${secs} s): $first"
		else
			echo "not ok - $doc example at $where runs on the demo data: exit status $st; $first"
			sed 's/^/    stdout: /' "$T/out" | tail -n 5
			sed 's/^/    stderr: /' "$T/err" | tail -n 8
		fi
	done
done

# The marks themselves: the documents that promise runnable examples still have them.
for doc in README.md man/lfm.7 man/lt-subset.1 man/clip-init.1 man/clip-embed-text.1 man/lfm-pairs.1 man/lfm-mix.1; do
	if [ "$(ls "$T/blocks/$(basename "$doc")" 2>/dev/null | wc -l)" -gt 0 ]; then
		echo "ok - $doc has runnable examples"
	else
		echo "not ok - $doc has runnable examples: no block marked 'example: demo'"
	fi
done
[ "$total" -gt 0 ] || echo "not ok - runnable examples found: none"
