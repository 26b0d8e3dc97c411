#!/bin/sh
# tests/cli/layout.sh — libcommon's folders depend on each other in one direction: the include graph read
# from the compilers' dependency files (scripts/include-graph.sh over build/) has no circle between
# folders, base/ includes no other folder, and the graph checker itself reports a circle when one is
# planted (so a pass means something).
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
B=${LFM_BUILD:-build}
if sh scripts/include-graph.sh "$B" >"$T/graph" 2>&1; then
	echo "ok - no circle between libcommon's folders"
else
	echo "not ok - no circle between libcommon's folders: $(grep circle "$T/graph" | head -n 3 | tr '\n' ' ')"
fi
if grep -qx 'base ->' "$T/graph"; then echo "ok - base/ includes no other folder"
else echo "not ok - base/ includes no other folder: $(grep '^base ' "$T/graph")"; fi
for f in base io data text model cpu train; do
	if [ -d "libcommon/$f" ] && grep -q "^$f ->" "$T/graph"; then echo "ok - folder $f/ in the graph"
	else echo "not ok - folder $f/ in the graph"; fi
done
# a planted circle: base/ depending on train/
mkdir -p "$T/b/libcommon/base"
cp -r "$B/libcommon" "$T/b/"
printf 'x/libcommon/base/planted.o: libcommon/base/planted.c \\\n libcommon/train/fit_step.h\n' >"$T/b/libcommon/base/planted.d"
if sh scripts/include-graph.sh "$T/b" >"$T/graph2" 2>&1; then
	echo "not ok - a planted circle is reported: the checker passed"
elif grep -q 'circle: base <-> train' "$T/graph2"; then echo "ok - a planted circle is reported"
else echo "not ok - a planted circle is reported: $(tail -n 2 "$T/graph2" | tr '\n' ' ')"; fi
# every library header names its folder in its includes (no bare "x.h" that only the flat path found)
bare=$(grep -rn '#include "[a-z_]*\.h"' libcommon | head -n 3)
if [ -z "$bare" ]; then echo "ok - libcommon's includes name their folder"
else echo "not ok - libcommon's includes name their folder: $bare"; fi
