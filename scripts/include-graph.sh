#!/bin/sh
# scripts/include-graph.sh [BUILD] — the folders of libcommon/ and what each includes from the others, read
# from the compilers' dependency files (BUILD/libcommon/**/*.d, written by -MMD), and any circle between
# folders. Prints one line "FOLDER -> FOLDER FOLDER ..." per folder, then "no circle between folders" and
# exits 0, or names a circle and exits 1. A .d file lists every header a source includes, directly or
# through other headers, so an edge A -> B says some file of A depends on a header of B; a circle in these
# edges is a circle in the direct includes too.
build=${1:-build}
[ -d "$build/libcommon" ] || { echo "include-graph: no $build/libcommon: build first (make)" >&2; exit 2; }
find "$build/libcommon" -name '*.d' | sort | xargs cat | awk '
	function folder(p) { if (match(p, /libcommon\/[a-z_]+\//)) return substr(p, RSTART + 10, RLENGTH - 11); return "" }
	/^[^ ].*\.o:/ { split($0, a, ":"); src = folder(a[1]); sub(/^[^:]*:/, "") }
	src != "" { for (i = 1; i <= NF; i++) { f = folder($i); if (f != "" && f != src) edge[src, f] = 1; seen[src] = 1; if (f != "") seen[f] = 1 } }
	/[^\\]$/ { src = "" }
	END {
		n = 0; for (s in seen) names[++n] = s
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (names[j] < names[i]) { t = names[i]; names[i] = names[j]; names[j] = t }
		for (i = 1; i <= n; i++) { line = names[i] " ->"; for (j = 1; j <= n; j++) if ((names[i], names[j]) in edge) line = line " " names[j]; print line }
		# closure (Floyd-Warshall on a dozen folders)
		for (k = 1; k <= n; k++) for (i = 1; i <= n; i++) if ((names[i], names[k]) in edge) for (j = 1; j <= n; j++) if ((names[k], names[j]) in edge) edge[names[i], names[j]] = 1
		bad = 0
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if ((names[i], names[j]) in edge && (names[j], names[i]) in edge) { print "circle: " names[i] " <-> " names[j]; bad = 1 }
		if (!bad) print "no circle between folders"
		exit bad
	}'
