#!/bin/sh
# tests/cli/ftfy_corpus.sh — our ftfy.fix_text (libcommon/text/clip_ftfy.c, with fix_encoding) against PyPI's
# ftfy 6.3.1 on tests/interop/ftfy_corpus.py's seeded corpus of 120,000 strings (class lists, golden prompts,
# Unicode blocks, HTML entities, control characters, mojibake); fails on any mismatch. ftfy's badness
# heuristic alone (is_bad) and fix_encoding alone are compared on the same corpus too, so a difference is
# pinned to its step. Skipped without the interop Python (scripts/pydeps.sh). Run from the repository root
# after make (make check builds the driver).
set -u
. tests/cli/lib.sh
DRIVER=${BUILD:-build}/tests/interop/ftfy_driver
PY=$(interop_python ftfy) || { echo "skip - ftfy_corpus: $PY"; exit 0; }
if [ ! -x "$DRIVER" ]; then
	echo "not ok - ftfy_corpus: $DRIVER is missing (run make check, or make $DRIVER)"
	exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$PY" tests/interop/ftfy_corpus.py "$DRIVER" --mode bad,encoding,fix --count 120000 --seed 15 >"$T/out" 2>&1
rc=$?
fails=0
for mode in bad encoding fix; do
	line=$(grep "^$mode: " "$T/out")
	case $line in
	*" 0 mismatches "*) echo "ok - ftfy_corpus $line" ;;
	*) echo "not ok - ftfy_corpus $mode: ${line:-no result}"; fails=1 ;;
	esac
done
if [ $rc -ne 0 ] && [ $fails -eq 0 ]; then
	echo "not ok - ftfy_corpus: tests/interop/ftfy_corpus.py exit status $rc"
	fails=1
fi
[ $fails -eq 0 ] || sed 's/^/    /' "$T/out" | head -n 40
exit $fails
