#!/bin/sh
# tests/cli/imagenet_tars.sh — ImageNet and Places365 read as downloaded, through the split lists: a tar of
# per-class tars (ILSVRC2012_img_train.tar), a flat tar (ILSVRC2012_img_val.tar), Places365's easy-format
# tar, its train_256 tar (letter folders) and flat val_256 tar, all made here from the embedded JPEGs.
# Checked: lt-subset --list --root ARCHIVE reads them in place and gives the same images (bytes: the
# packs; pixels: lfm-eval's scores) as the same files extracted into a folder; the index file is written
# beside the archive, reused (the archive is not read again), rebuilt when the archive changes, kept in
# --cache-dir when it cannot be written beside; a listed file missing from the archive and a truncated or
# damaged inner tar are errors naming the file.
D=data/cifar10-lt/train.tar.gz
[ -f "$D" ] || { echo "skip - imagenet tars: $D missing"; exit 0; }
command -v tar >/dev/null || { echo "skip - imagenet tars: no tar"; exit 0; }
T=$(mktemp -d)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
export LFM_PROGRESS=0
unset LFM_INDEX_CACHE
# records FILE: a samples stream's records (its header names the command, -o included)
records() { bin/lfm-show "$1" 2>/dev/null | tail -n +2; }
fail() { echo "not ok - $1"; sed 's/^/    /' "$T/err" 2>/dev/null | head -n 5; }
ok() { echo "ok - $1"; }
# run NAME CMD...: the command must succeed (its stderr in $T/err)
run() {
	_n=$1
	shift
	if "$@" >"$T/out" 2>"$T/err"; then ok "$_n"; else fail "$_n: exit $?"; fi
}
# refuse NAME STATUS PATTERN CMD...: the command must fail with STATUS and a message matching PATTERN
refuse() {
	_n=$1 _want=$2 _re=$3
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	_got=$?
	if [ "$_got" = "$_want" ] && grep -Eq -- "$_re" "$T/err"; then ok "$_n"
	else fail "$_n: exit $_got (expected $_want), stderr not matching /$_re/"; fi
}

# ---- the data: ten JPEGs, laid out as the downloads and as their extracted folders --------------------
mkdir -p "$T/src"
tar xzf "$D" -C "$T/src" train/airplane train/truck 2>/dev/null
set -- $(cd "$T/src" && find train -name '*.jpg' | sort | head -n 10)
[ $# -eq 10 ] || { echo "not ok - imagenet tars: 10 JPEGs from $D (got $#)"; exit 0; }
A=0
mkdir -p "$T/inet/cls/n01440764" "$T/inet/cls/n01443537" "$T/inet/valflat" "$T/inet/outer" \
	"$T/ext/train/n01440764" "$T/ext/train/n01443537" "$T/ext/val/n01440764" "$T/ext/val/n01443537"
: >"$T/train.txt"
: >"$T/test.txt"
for f; do
	A=$((A + 1))
	cls=n01440764 y=0
	[ $A -gt 5 ] && cls=n01443537 y=1
	name=${cls}_$((10000 + A)).JPEG
	cp "$T/src/$f" "$T/inet/cls/$cls/$name"
	cp "$T/src/$f" "$T/ext/train/$cls/$name"
	echo "train/$cls/$name $y" >>"$T/train.txt"
	vname=ILSVRC2012_val_$(printf %08d $A).JPEG
	cp "$T/src/$f" "$T/inet/valflat/$vname"
	cp "$T/src/$f" "$T/ext/val/$cls/$vname"
	echo "val/$cls/$vname $y" >>"$T/test.txt"
done
for c in n01440764 n01443537; do (cd "$T/inet/cls/$c" && tar cf "$T/inet/outer/$c.tar" *.JPEG); done
mkdir -p "$T/data"
(cd "$T/inet/outer" && tar cf "$T/data/ILSVRC2012_img_train.tar" n01440764.tar n01443537.tar)
(cd "$T/inet/valflat" && tar cf "$T/data/ILSVRC2012_img_val.tar" *.JPEG)
printf 'tench\ngoldfish\n' >"$T/classes.txt"

# ---- ImageNet: in place, against the extracted folder ----------------------------------------------
TR=$T/data/ILSVRC2012_img_train.tar
IDX=$TR.lfm-index
run "lt-subset reads the ImageNet-LT train list from the tar of per-class tars" \
	bin/lt-subset --list "$T/train.txt" --root "$TR" --classes "$T/classes.txt" --check -o "$T/s-first.mp"
if grep -q 'indexing' "$T/err"; then ok "the first open indexes the archive (says so)"
else fail "the first open indexes the archive (says so): no 'indexing' message"; fi
[ -s "$IDX" ] && ok "the index is written beside the archive" || fail "the index is written beside the archive ($IDX)"
run "lt-subset --pack from the tar of tars" bin/lt-subset --list "$T/train.txt" --root "$TR" \
	--classes "$T/classes.txt" --check --pack "$T/pack-tar.tar" -o "$T/s-tar.mp"
run "lt-subset reads the same list from the extracted folder" \
	bin/lt-subset --list "$T/train.txt" --root "$T/ext" --classes "$T/classes.txt" --check \
	--pack "$T/pack-dir.tar" -o "$T/s-dir.mp"
cmp -s "$T/pack-tar.tar" "$T/pack-dir.tar" && ok "the images read in place are the extracted files, byte for byte" ||
	fail "the images read in place are the extracted files, byte for byte (the packs differ)"
bin/lfm-show "$T/s-tar.mp" 2>/dev/null | tail -n +2 >"$T/rec-tar"
bin/lfm-show "$T/s-dir.mp" 2>/dev/null | tail -n +2 >"$T/rec-dir"
[ "$(wc -l <"$T/rec-tar")" -eq 10 ] && cmp -s "$T/rec-tar" "$T/rec-dir" &&
	ok "the samples streams' records agree (10 samples)" || fail "the samples streams' records agree (10 samples)"
bin/lfm-show "$IDX" >"$T/idx.json" 2>"$T/err"
if grep -q '"format":"lfm.tar-index/1"' "$T/idx.json" &&
	grep -q '"name":"n01440764.tar//n01440764_10001.JPEG"' "$T/idx.json"; then
	ok "lfm-show reads the index; nested members are named OUTER.tar//INNER"
else fail "lfm-show reads the index; nested members are named OUTER.tar//INNER"; fi
# The index's offset of a nested member is where its bytes are: one dd of the archive gives the file.
line=$(grep '"name":"n01443537.tar//n01443537_10007.JPEG"' "$T/idx.json")
off=$(printf '%s' "$line" | sed 's/.*"offset":\([0-9]*\).*/\1/')
size=$(printf '%s' "$line" | sed 's/.*"size":\([0-9]*\).*/\1/')
dd if="$TR" bs=1 skip="$off" count="$size" of="$T/one.jpg" 2>/dev/null
cmp -s "$T/one.jpg" "$T/ext/train/n01443537/n01443537_10007.JPEG" &&
	ok "a nested member's offset and size in the index locate its bytes in the outer tar" ||
	fail "a nested member's offset and size in the index locate its bytes in the outer tar (offset $off size $size)"

# Reuse: the second open reads the index, not the archive (no message; the index file untouched).
before=$(ls -l --time-style=+%s.%N "$IDX" 2>/dev/null; stat -c %i "$IDX")
run "a second open" bin/lt-subset --list "$T/train.txt" --root "$TR" --classes "$T/classes.txt" --check -o "$T/s2.mp"
after=$(ls -l --time-style=+%s.%N "$IDX" 2>/dev/null; stat -c %i "$IDX")
if ! grep -q indexing "$T/err" && [ "$before" = "$after" ] && [ "$(records "$T/s2.mp")" = "$(records "$T/s-first.mp")" ]; then
	ok "the second open reuses the index (no pass, the index file unchanged, the same stream)"
else fail "the second open reuses the index (no pass, the index file unchanged, the same stream)"; fi
# An index whose archive cannot be read as indexed: the archive is replaced by one of the same size and
# the index kept; the pass would not happen without the identity check, and the reads would be wrong.
cp "$IDX" "$T/idx.saved"
(cd "$T/inet/outer" && tar cf "$T/data/ILSVRC2012_img_train.tar" n01443537.tar n01440764.tar)
cp "$T/idx.saved" "$IDX"
run "the archive changed (members reordered, same size)" \
	bin/lt-subset --list "$T/train.txt" --root "$TR" --classes "$T/classes.txt" --check --pack "$T/pack-tar2.tar" -o "$T/s3.mp"
if grep -q 'rebuilding' "$T/err" && grep -q indexing "$T/err" && cmp -s "$T/pack-tar2.tar" "$T/pack-dir.tar"; then
	ok "a stale index is noticed and rebuilt, and the images are still the right ones"
else fail "a stale index is noticed and rebuilt, and the images are still the right ones"; fi
# A damaged index: rebuilt with a message, never trusted.
head -c 300 "$IDX" >"$T/idx.cut" && cp "$T/idx.cut" "$IDX"
run "a damaged index" bin/lt-subset --list "$T/train.txt" --root "$TR" --classes "$T/classes.txt" -o "$T/s4.mp"
grep -q 'rebuilding' "$T/err" && [ "$(records "$T/s4.mp")" = "$(records "$T/s-first.mp")" ] && ok "a truncated index is rebuilt" ||
	fail "a truncated index is rebuilt"

# The flat validation tar through the test list.
run "lt-subset reads the ImageNet-LT test list from the flat validation tar" \
	bin/lt-subset --list "$T/test.txt" --root "$T/data/ILSVRC2012_img_val.tar" --classes "$T/classes.txt" \
	--check --pack "$T/vpack-tar.tar" -o "$T/v-tar.mp"
run "the same from the extracted folder" \
	bin/lt-subset --list "$T/test.txt" --root "$T/ext" --classes "$T/classes.txt" --check --pack "$T/vpack-dir.tar" \
	-o "$T/v-dir.mp"
cmp -s "$T/vpack-tar.tar" "$T/vpack-dir.tar" && ok "the flat tar's images equal the extracted ones" ||
	fail "the flat tar's images equal the extracted ones"
refuse "the test list against the training tar: not in the archive" 3 \
	'ILSVRC2012_img_train.tar: val/n01440764/ILSVRC2012_val_00000001.JPEG \(sample 0 of .*\) is not in the archive' \
	bin/lt-subset --list "$T/test.txt" --root "$TR" --classes "$T/classes.txt"

# ---- pixels: lfm-eval on the tar and on the folder gives the same scores ---------------------------
run "clip-init" bin/clip-init --arch tiny -o "$T/m.st"
run "clip-embed-text" bin/clip-embed-text --model "$T/m.st" "$T/classes.txt" -o "$T/t.npy"
run "lfm-eval reads the images from the nested tar" bin/lfm-eval --model "$T/m.st" --text "$T/t.npy" \
	--data "$T/train.txt" --root "$TR" -p "$T/p-tar.mp" "$T/s-first.mp"
run "lfm-eval reads them from the folder" bin/lfm-eval --model "$T/m.st" --text "$T/t.npy" \
	--data "$T/train.txt" --root "$T/ext" -p "$T/p-dir.mp" "$T/s-first.mp"
bin/lfm-show "$T/p-tar.mp" 2>/dev/null | tail -n +2 >"$T/pr-tar"
bin/lfm-show "$T/p-dir.mp" 2>/dev/null | tail -n +2 >"$T/pr-dir"
[ "$(wc -l <"$T/pr-tar")" -eq 10 ] && grep -q '"score"' "$T/pr-tar" && cmp -s "$T/pr-tar" "$T/pr-dir" &&
	ok "the predictions (scores of the decoded pixels) from the tar equal those from the folder" ||
	fail "the predictions (scores of the decoded pixels) from the tar equal those from the folder"

# ---- the index cannot be written beside the archive: --cache-dir ----------------------------------
# As root no permission stops a write, so the place of the index is made unusable another way: a folder
# where the index file would be (the rename onto it fails, as in a read-only folder).
mkdir -p "$T/ro"
cp "$T/data/ILSVRC2012_img_val.tar" "$T/ro/val.tar"
if [ "$(id -u)" = 0 ]; then mkdir "$T/ro/val.tar.lfm-index"; else chmod a-w "$T/ro"; fi
run "an unwritable data folder, no --cache-dir" \
	bin/lt-subset --list "$T/test.txt" --root "$T/ro/val.tar" --classes "$T/classes.txt" -o "$T/v5.mp"
grep -q 'cannot keep its index beside it.*--cache-dir' "$T/err" &&
	ok "a warning says the index could not be kept and names --cache-dir" ||
	fail "a warning says the index could not be kept and names --cache-dir"
mkdir -p "$T/cache"
run "with --cache-dir" bin/lt-subset --list "$T/test.txt" --root "$T/ro/val.tar" --classes "$T/classes.txt" \
	--cache-dir "$T/cache" -o "$T/v6.mp"
n=$(ls "$T/cache" | grep -c '^val\.tar\.[0-9a-f]\{16\}\.lfm-index$')
[ "$n" = 1 ] && ! grep -q 'cannot keep' "$T/err" && ok "the index goes to --cache-dir" ||
	fail "the index goes to --cache-dir (found $n)"
run "again with --cache-dir" bin/lt-subset --list "$T/test.txt" --root "$T/ro/val.tar" --classes "$T/classes.txt" \
	--cache-dir "$T/cache" -o "$T/v7.mp"
! grep -q indexing "$T/err" && [ "$(records "$T/v7.mp")" = "$(records "$T/v6.mp")" ] && ok "the index in --cache-dir is reused" ||
	fail "the index in --cache-dir is reused"
run "lfm-eval --cache-dir finds it too" bin/lfm-eval --model "$T/m.st" --text "$T/t.npy" --data "$T/test.txt" \
	--root "$T/ro/val.tar" --cache-dir "$T/cache" "$T/v7.mp"
! grep -q indexing "$T/err" && ok "lfm-eval reuses the index in --cache-dir" || fail "lfm-eval reuses the index in --cache-dir"
run "lfm-fit --cache-dir" bin/lfm-fit --model "$T/m.st" --text "$T/t.npy" --data "$T/test.txt" \
	--root "$T/ro/val.tar" --cache-dir "$T/cache" --samples "$T/v7.mp" --batch 5 -o "$T/c.st"
! grep -q indexing "$T/err" && [ -s "$T/c.st" ] && ok "lfm-fit trains on the flat tar through the index in --cache-dir" ||
	fail "lfm-fit trains on the flat tar through the index in --cache-dir"
echo x >"$T/afile"
run "a --cache-dir that cannot hold files (its parent is a file)" \
	bin/lt-subset --list "$T/test.txt" --root "$T/ro/val.tar" --classes "$T/classes.txt" --cache-dir "$T/afile/sub" \
	-o "$T/v8.mp"
grep -q "cannot keep its index.*afile/sub" "$T/err" && [ "$(records "$T/v8.mp")" = "$(records "$T/v6.mp")" ] &&
	ok "an unusable --cache-dir: a warning naming it, the stream still made" ||
	fail "an unusable --cache-dir: a warning naming it, the stream still made"
chmod u+w "$T/ro"
LFM_INDEX_CACHE=off run "LFM_INDEX_CACHE=off" \
	bin/lt-subset --list "$T/test.txt" --root "$T/data/ILSVRC2012_img_val.tar" --classes "$T/classes.txt" -o "$T/v9.mp"
! grep -q 'indexing\|cannot keep' "$T/err" && ok "LFM_INDEX_CACHE=off: no index read or written, no message" ||
	fail "LFM_INDEX_CACHE=off: no index read or written, no message"

# ---- damaged inner tars --------------------------------------------------------------------------
mkdir -p "$T/bad"
head -c 800 "$T/inet/outer/n01443537.tar" >"$T/bad/n01443537.tar"  # cut inside its first JPEG
cp "$T/inet/outer/n01440764.tar" "$T/bad/"
(cd "$T/bad" && tar cf "$T/badtrunc.tar" n01440764.tar n01443537.tar)
refuse "a truncated inner tar: an error naming it and the member cut short" 1 \
	'badtrunc.tar: n01443537.tar, the tar inside it: n01443537_10006.JPEG: cut short' \
	bin/lt-subset --list "$T/train.txt" --root "$T/badtrunc.tar" --classes "$T/classes.txt"
[ ! -e "$T/badtrunc.tar.lfm-index" ] && ok "no index is kept for a damaged archive" || fail "no index is kept for a damaged archive"
cp "$T/inet/outer/n01443537.tar" "$T/bad/n01443537.tar"
printf 'garbage!' | dd of="$T/bad/n01443537.tar" bs=1 seek=100 conv=notrunc 2>/dev/null
(cd "$T/bad" && tar cf "$T/badsum.tar" n01440764.tar n01443537.tar)
refuse "a damaged inner tar header: an error naming it" 1 \
	'badsum.tar: n01443537.tar, the tar inside it: header at byte 0: bad checksum' \
	bin/lt-subset --list "$T/train.txt" --root "$T/badsum.tar" --classes "$T/classes.txt"
head -c 3000 "$TR" >"$T/outercut.tar"
refuse "a truncated outer tar: an error naming it" 1 'outercut.tar' \
	bin/lt-subset --list "$T/train.txt" --root "$T/outercut.tar" --classes "$T/classes.txt"
# A listed image missing from the archive: an error, or with --skip-bad a skipped sample.
(cd "$T/inet/outer" && tar cf "$T/one.tar" n01440764.tar)
refuse "a listed file missing from the archive" 3 \
	'one.tar: train/n01443537/n01443537_10006.JPEG \(sample 5 of .*train.txt\) is not in the archive' \
	bin/lt-subset --list "$T/train.txt" --root "$T/one.tar" --classes "$T/classes.txt"
run "--skip-bad leaves it out" bin/lt-subset --list "$T/train.txt" --root "$T/one.tar" --classes "$T/classes.txt" \
	--skip-bad -o "$T/s-one.mp"
bin/lfm-show "$T/s-one.mp" | head -n 1 | grep -q '"samples":5,"skipped":5' && ok "the 5 missing samples are skipped" ||
	fail "the 5 missing samples are skipped: $(bin/lfm-show "$T/s-one.mp" | head -c 300)"

# An archive of one class folder is not flat: a file of another class with the same name is not taken.
mkdir -p "$T/oc/train/n01440764"
cp "$T/src/$1" "$T/oc/train/n01440764/same.JPEG"
(cd "$T/oc" && tar cf "$T/oneclass.tar" train)
echo "train/n01443537/same.JPEG 1" >"$T/oc.txt"
refuse "a one-class archive's file does not stand in for another class's of the same name" 3 'is not in the archive' \
	bin/lt-subset --list "$T/oc.txt" --root "$T/oneclass.tar" --classes "$T/classes.txt"

# ---- inner tars in each tar format, with names too long for a plain ustar header ----------------
long=$(printf 'n%.0s' $(seq 1 120))
mkdir -p "$T/fmt/outer"
: >"$T/fmt.txt"
for fmt in gnu pax ustar v7; do
	nm=${fmt}_$long.JPEG
	[ $fmt = ustar ] || [ $fmt = v7 ] && nm=${fmt}_short.JPEG
	mkdir -p "$T/fmt/in/$fmt" "$T/fmt/ext/train/$fmt"
	cp "$T/src/$1" "$T/fmt/in/$fmt/$nm"
	cp "$T/src/$1" "$T/fmt/ext/train/$fmt/$nm"
	(cd "$T/fmt/in/$fmt" && tar --format=$fmt -cf "$T/fmt/outer/$fmt.tar" "$nm")
	echo "train/$fmt/$nm 0" >>"$T/fmt.txt"
done
(cd "$T/fmt/outer" && tar --format=gnu -cf "$T/fmt.tar" gnu.tar pax.tar ustar.tar v7.tar)
printf 'one\n' >"$T/one-class.txt"
run "inner tars in GNU, pax, ustar and V7 format (long names)" bin/lt-subset --list "$T/fmt.txt" --root "$T/fmt.tar" \
	--classes "$T/one-class.txt" --check --pack "$T/fmt-a.tar" -o "$T/fmt-a.mp"
run "the same from the extracted folder" bin/lt-subset --list "$T/fmt.txt" --root "$T/fmt/ext" \
	--classes "$T/one-class.txt" --check --pack "$T/fmt-b.tar" -o "$T/fmt-b.mp"
cmp -s "$T/fmt-a.tar" "$T/fmt-b.tar" && ok "every inner tar format gives the extracted files" ||
	fail "every inner tar format gives the extracted files"

# ---- Places365 ------------------------------------------------------------------------------------
# places365standard_easyformat.tar: places365_standard/{train,val}/CATEGORY/...; train_256_places365standard.tar:
# data_256/LETTER/CATEGORY[/SUB]/NNNNNNNN.jpg; val_256.tar: val_256/Places365_val_NNNNNNNN.jpg (flat).
P=$T/places
mkdir -p "$P/easy/places365_standard/train/airfield" "$P/easy/places365_standard/train/apartment_building-outdoor" \
	"$P/easy/places365_standard/val/airfield" "$P/easy/places365_standard/val/apartment_building-outdoor" \
	"$P/t256/data_256/a/airfield" "$P/t256/data_256/a/apartment_building/outdoor" "$P/v256/val_256"
: >"$T/pl-train.txt"
: >"$T/pl-test.txt"
A=0
for f; do
	A=$((A + 1))
	cat=airfield dir=a/airfield y=0
	[ $A -gt 5 ] && cat=apartment_building-outdoor dir=a/apartment_building/outdoor y=1
	n=$(printf %08d $A).jpg v=Places365_val_$(printf %08d $A).jpg
	cp "$T/src/$f" "$P/easy/places365_standard/train/$cat/$n"
	cp "$T/src/$f" "$P/easy/places365_standard/val/$cat/$v"
	cp "$T/src/$f" "$P/t256/data_256/$dir/$n"
	cp "$T/src/$f" "$P/v256/val_256/$v"
	echo "train/$cat/$n $y" >>"$T/pl-train.txt"
	echo "val/$cat/$v $y" >>"$T/pl-test.txt"
done
(cd "$P/easy" && tar cf "$P/places365standard_easyformat.tar" places365_standard)
(cd "$P/t256" && tar cf "$P/train_256_places365standard.tar" data_256)
(cd "$P/v256" && tar cf "$P/val_256.tar" val_256)
printf 'airfield\napartment building outdoor\n' >"$T/pl-classes.txt"
pl() { # name list root pack
	run "$1" bin/lt-subset --list "$2" --root "$3" --classes "$T/pl-classes.txt" --check --pack "$4" -o "$4.mp"
}
pl "Places-LT train list from the easy-format tar" "$T/pl-train.txt" "$P/places365standard_easyformat.tar" "$T/pe.tar"
pl "Places-LT train list from the extracted easy-format folder" "$T/pl-train.txt" "$P/easy/places365_standard" "$T/pd.tar"
pl "Places-LT train list from train_256_places365standard.tar" "$T/pl-train.txt" "$P/train_256_places365standard.tar" "$T/p2.tar"
cmp -s "$T/pe.tar" "$T/pd.tar" && cmp -s "$T/p2.tar" "$T/pd.tar" &&
	ok "Places365 train images: the easy-format tar and train_256's letter folders give the extracted files" ||
	fail "Places365 train images: the easy-format tar and train_256's letter folders give the extracted files"
pl "Places-LT test list from the easy-format tar" "$T/pl-test.txt" "$P/places365standard_easyformat.tar" "$T/qe.tar"
pl "Places-LT test list from the flat val_256.tar" "$T/pl-test.txt" "$P/val_256.tar" "$T/q2.tar"
pl "Places-LT test list from the extracted folder" "$T/pl-test.txt" "$P/easy/places365_standard" "$T/qd.tar"
cmp -s "$T/qe.tar" "$T/qd.tar" && cmp -s "$T/q2.tar" "$T/qd.tar" &&
	ok "Places365 val images: the easy-format tar and val_256.tar give the extracted files" ||
	fail "Places365 val images: the easy-format tar and val_256.tar give the extracted files"
exit 0
