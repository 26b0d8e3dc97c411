#!/bin/sh
# tests/cli/install.sh — make install into a staging folder puts the tools, man pages and data files
# where they belong, the installed tools find their data relative to the install prefix, and make
# uninstall removes them again.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/lfm-test
dest=$tmp/stage
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1: $2"; }

if ! make -s --no-print-directory install PREFIX=$prefix DESTDIR="$dest" >"$tmp/log" 2>&1; then
	bad "make install" "$(tail -n 3 "$tmp/log" | tr '\n' ' ')"
	exit 1
fi
ok "make install"
for t in bin/*; do
	name=${t#bin/}
	if [ -x "$dest$prefix/bin/$name" ]; then ok "installed bin/$name"; else bad "installed bin/$name" "missing"; fi
	if [ -f "man/$name.1" ]; then
		if [ -f "$dest$prefix/share/man/man1/$name.1" ]; then ok "installed man1/$name.1"
		else bad "installed man1/$name.1" "missing"; fi
	fi
done
for p in man7/lfm.7 man5/lfm-samples.5; do
	if [ -f "$dest$prefix/share/man/$p" ]; then ok "installed $p"; else bad "installed $p" "missing"; fi
done
if [ -f "$dest$prefix/share/lfm/clip/bpe_simple_vocab_16e6.txt.gz" ]; then ok "installed BPE vocabulary"
else bad "installed BPE vocabulary" "missing"; fi
if [ -f "$dest$prefix/share/lfm/classes/cifar100.txt" ]; then ok "installed class lists"
else bad "installed class lists" "missing"; fi

# The installed pipelines find their shared rules and scripts in share/lfm/pipelines, and the tools on PATH.
pl="$dest$prefix/share/lfm/pipelines"
if [ -f "$pl/cifar10-lt.mk" ] && [ -f "$pl/lfm.mk" ] && [ -f "$pl/collect.sh" ] &&
	(cd "$tmp" && PATH="$dest$prefix/bin:$PATH" make -n -f "$pl/cifar10-lt.mk" CIFAR10=c.tar.gz WEIGHTS=w.st) >"$tmp/dry" 2>&1 &&
	grep -q "sh $pl/collect.sh" "$tmp/dry" && grep -q '^lfm-fit ' "$tmp/dry"; then
	ok "installed pipelines run from the install tree (tools from PATH)"
else
	bad "installed pipelines run from the install tree (tools from PATH)" "$(head -c 400 "$tmp/dry")"
fi

# The staged tree is what a relocated install looks like: the tokenizer finds its vocabulary next to
# the executable (../share/lfm/clip), not in the source tree.
got=$(cd "$tmp" && echo "a photo of a cat" | LFM_DATADIR= "$dest$prefix/bin/clip-embed-text" --tokenize 2>&1)
if [ "$got" = "49406 320 1125 539 320 2368 49407" ]; then ok "installed clip-embed-text finds its vocabulary"
else bad "installed clip-embed-text finds its vocabulary" "$got"; fi

make -s --no-print-directory uninstall PREFIX=$prefix DESTDIR="$dest" >"$tmp/log" 2>&1
left=$(find "$dest" -type f | head -3)
if [ -z "$left" ]; then ok "make uninstall removes every file"; else bad "make uninstall removes every file" "$left"; fi
