#!/bin/sh
# tests/cli/man_pages.sh — every tool has a manual page that documents each long option its --help
# lists, an EXIT STATUS section, and renders without groff warnings; every man page names a real tool
# or format. Keeps man/ in step with the code.
for t in bin/*; do
	[ -x "$t" ] || continue
	tool=${t#bin/}
	page=man/$tool.1
	if [ ! -f "$page" ]; then
		echo "not ok - $tool has a manual page: $page missing"
		continue
	fi
	echo "ok - $tool has a manual page"
	# Long options named in --help, as the man page spells them (troff escapes each '-' as '\-').
	missing=""
	for opt in $("$t" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
		esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -qE -- "$esc|$opt" "$page" || missing="$missing $opt"
	done
	if [ -z "$missing" ]; then echo "ok - $page documents every option of $tool --help"
	else echo "not ok - $page documents every option of $tool --help: missing$missing"; fi
	if grep -q '^\.SH "\{0,1\}EXIT STATUS' "$page"; then echo "ok - $page has EXIT STATUS"
	else echo "not ok - $page has EXIT STATUS: section missing"; fi
done
if command -v groff >/dev/null 2>&1; then
	for page in man/*.[1-9]; do
		warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1 | head -3)
		if [ -z "$warn" ]; then echo "ok - $page renders without warnings"
		else echo "not ok - $page renders without warnings: $warn"; fi
	done
else
	echo "skip - man pages render: groff not installed"
fi
