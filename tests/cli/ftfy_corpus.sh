#!/bin/sh
# tests/cli/ftfy_corpus.sh — our ftfy.fix_text (libcommon/text/clip_ftfy.c, with fix_encoding) against PyPI's
# ftfy 6.3.1 on tests/interop/ftfy_corpus.py's seeded corpus of 120,000 strings (class lists, golden prompts,
# Unicode blocks, HTML entities, control characters, mojibake); fails on any mismatch. Also ftfy's badness
# heuristic alone (is_bad) and fix_encoding alone on the same corpus, so a difference is pinned to its step.
# Skipped without the interop Python (scripts/pydeps.sh). Run from the repository root after make.
set -u
. tests/cli/lib.sh
DRIVER=${BUILD:-build}/tests/interop/ftfy_driver
PY=$(interop_python ftfy) || { echo "skip - ftfy_corpus: $INTEROP_MISSING"; exit 0; }
if [ ! -x "$DRIVER" ]; then
	echo "not ok - ftfy_corpus: $DRIVER is missing (run make check, or make $DRIVER)"
	exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
for mode in bad encoding fix; do
	if "$PY" tests/interop/ftfy_corpus.py "$DRIVER" --mode "$mode" --count 120000 --seed 15 >"$T/out" 2>&1; then
		echo "ok - ftfy_corpus $mode: $(head -n 1 "$T/out")"
	else
		echo "not ok - ftfy_corpus $mode: $(head -n 1 "$T/out")"
		sed 's/^/    /' "$T/out" | sed -n '2,31p'
		fails=1
	fi
done
exit $fails
