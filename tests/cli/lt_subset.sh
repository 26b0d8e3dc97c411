#!/bin/sh
# tests/cli/lt_subset.sh — lt-subset's command line, table-driven: each row runs one command and checks
# its exit status, a pattern its standard output must contain and a pattern its standard error must
# contain (extended regular expressions, per line; '-' = no check). Streams are looked at through
# lfm-show when it is built (rows needing it are skipped otherwise). Sources: a small CIFAR-10 folder
# made here byte by byte, image folders unpacked from the embedded demo data (data/cifar10-lt), and
# ../shared's CIFAR-10 JPEG tarball and Places-LT list (rows marked "shared" are skipped without it).
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
export LC_ALL=C
LT=${LFM_LT_SUBSET:-bin/lt-subset}
SHOW=${LFM_SHOW:-bin/lfm-show}
S=../shared/data
DEMO=data/cifar10-lt
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export LFM_PROGRESS=0

if [ ! -x "$LT" ]; then
	echo "not ok - built: $LT is missing (run make first)"
	exit 1
fi

# ---- fixtures ------------------------------------------------------------------------------------
# CIFAR-10 layout: two training batches of 100 records (label i % 10, pixels zero but for the first
# byte = i), a test batch of 50, the names file.
record() { printf "\\$(printf %03o "$1")\\$(printf %03o "$2")"; head -c 3071 /dev/zero; }
C10=$T/c10/cifar-10-batches-bin
mkdir -p "$C10"
for b in 1 2; do
	i=0
	while [ $i -lt 100 ]; do record $((i % 10)) $((i + b)); i=$((i + 1)); done >"$C10/data_batch_$b.bin"
done
i=0
while [ $i -lt 50 ]; do record $((i % 10)) $i; i=$((i + 1)); done >"$C10/test_batch.bin"
printf 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n' >"$C10/batches.meta.txt"
# the same with a truncated batch and with a label out of range
mkdir -p "$T/cut/b" "$T/lab/b"
cp "$C10/batches.meta.txt" "$C10/test_batch.bin" "$T/cut/b/"
cp "$C10/batches.meta.txt" "$C10/test_batch.bin" "$T/lab/b/"
head -c 300000 "$C10/data_batch_1.bin" >"$T/cut/b/data_batch_1.bin"
{ head -c 6146 "$C10/data_batch_1.bin"; printf '\014'; tail -c +6148 "$C10/data_batch_1.bin"; } >"$T/lab/b/data_batch_1.bin"
# an image folder from the demo data, with a corrupt and a truncated JPEG and a class list
mkdir -p "$T/f"
tar xzf "$DEMO/test.tar.gz" -C "$T/f"
cp -r "$T/f" "$T/fbad"
printf 'not a jpeg' >"$T/fbad/test/cat/$(ls "$T/fbad/test/cat" | head -n 1)"
f=$T/fbad/test/dog/$(ls "$T/fbad/test/dog" | head -n 1)
head -c $(($(wc -c <"$f") - 30)) "$f" >"$T/x.jpg" && mv "$T/x.jpg" "$f"
printf 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\n' >"$T/nine.txt"
# split lists over the folder
(cd "$T/f" && find test -name '*.jpg' | sort | awk -F/ '{ c[$2] = c[$2] ? c[$2] : ++n; print $0, c[$2] - 1 }') >"$T/list.txt"
cp "$T/list.txt" "$T/list-missing.txt"
echo 'test/cat/9999.jpg 3' >>"$T/list-missing.txt"
printf 'a/x.jpg 0\nb/y.jpg 7\n' >"$T/list-range.txt"
printf 'cat\ndog\n' >"$T/two.txt"
(cd "$T/f" && tar cf "$T/f.tar" test)
# the truncated CIFAR batch inside a tarball
(cd "$T/cut" && tar czf "$T/cut.tar.gz" b)
# symbolic links out of a dataset's folder: to a text file and to a folder of JPEGs, as a file, a class
# folder and a listed path; and links that stay inside (followed)
mkdir -p "$T/outside/dir"
printf 'SECRET-LINE\n' >"$T/outside/secret.txt"
cp "$T/f/test/cat/$(ls "$T/f/test/cat" | head -n 1)" "$T/outside/dir/x.jpg"
cp -r "$T/f" "$T/fl"
ln -s "$T/outside/secret.txt" "$T/fl/test/cat/leak.jpg"
ln -s "$T/outside/dir" "$T/fl/test/evil"
ln -s "../dog/$(ls "$T/fl/test/dog" | head -n 1)" "$T/fl/test/cat/inside.jpg"
printf 'test/cat/leak.jpg 0\ntest/dog/%s 1\n' "$(ls "$T/f/test/dog" | head -n 1)" >"$T/list-leak.txt"
printf 'test/evil/x.jpg 0\n' >"$T/list-leak-dir.txt"
# a JPEG whose header claims 65500 x 65500 (its SOF0 patched), in a copy of the folder
cp -r "$T/f" "$T/fhuge"
f=$T/fhuge/test/cat/$(ls "$T/fhuge/test/cat" | head -n 1)
off=$(od -An -tx1 -v "$f" | tr -s ' \n' '  ' | awk '{ for (i = 1; i < NF; i++) if ($i == "ff" && $(i + 1) == "c0") { print i - 1; exit } }')
{ head -c $((off + 5)) "$f"; printf '\377\334\377\334'; tail -c +$((off + 10)) "$f"; } >"$T/x.jpg" && mv "$T/x.jpg" "$f"
# class lists the one reader refuses (and one with CRLF and trailing blank lines it takes)
printf 'airplane\nbad\377name\n' >"$T/cls-utf8.txt"
printf 'airplane\ndo\000g\n' >"$T/cls-nul.txt"
printf 'airplane\ncat\ndog\ncat\n' >"$T/cls-dup.txt"
printf 'airplane\n\ncat\n' >"$T/cls-blank.txt"
{ printf 'airplane\n'; head -c 2000 /dev/zero | tr '\0' x; printf '\n'; } >"$T/cls-long.txt"
printf 'airplane\r\nautomobile\r\nbird\r\n  cat \r\ndeer\r\ndog\r\nfrog\r\nhorse\r\nship\r\ntruck\r\n\r\n\n' >"$T/cls-crlf.txt"

have_show=yes
[ -x "$SHOW" ] || have_show=no
hdr() { "$SHOW" --head 0 "$1"; }             # the header as JSON
recs() { "$SHOW" "$1" | tail -n +2; }         # the records as JSON lines

# ---- the table -----------------------------------------------------------------------------------
# name | needs (-, shared, show, shared+show) | exit status | stdout pattern | stderr pattern | command
. "$(dirname "$0")/lib.sh"
while IFS='|' read -r name needs want out_re err_re cmd; do
	name=$(trim "$name"); needs=$(trim "$needs"); want=$(trim "$want")
	out_re=$(trim "$out_re"); err_re=$(trim "$err_re"); cmd=$(trim "$cmd")
	case $name in '' | '#'*) continue ;; esac
	case $needs in *shared*) if [ ! -d "$S" ]; then echo "skip - $name: $S not found (a clone without ../shared)"; continue; fi ;; esac
	case $needs in *show*) if [ $have_show = no ]; then echo "skip - $name: $SHOW not built"; continue; fi ;; esac
	check_row "$name" "$want" "$out_re" "$err_re" "$cmd"
done <<'EOF'
# help, version, usage errors: exit 2
help                       | -    | 0 | ^usage: lt-subset                      | -                                   | $LT --help
version                    | -    | 0 | ^lt-subset \(lfm-tools\) [0-9]         | -                                   | $LT --version
unknown option             | -    | 2 | -                                       | Try 'lt-subset --help'              | $LT --bogus $T/c10
no source                  | -    | 2 | -                                       | no SOURCE given                     | $LT
two sources                | -    | 2 | -                                       | one SOURCE expected, not 2          | $LT $T/c10 $T/c10
imbalance below 1          | -    | 2 | -                                       | --imbalance: '0.5' is out of range  | $LT -i 0.5 $T/c10
imbalance not a number     | -    | 2 | -                                       | --imbalance: 'x' is not a finite number | $LT -i x $T/c10
unknown profile            | -    | 2 | -                                       | --profile: 'log' is not one of: exp, step | $LT --profile log $T/c10
unknown split              | -    | 2 | -                                       | --split: 'dev' is not one of: train, test, val | $LT --split dev $T/c10
negative seed              | -    | 2 | -                                       | --seed                              | $LT --seed -1 $T/c10
holdout without output     | -    | 2 | -                                       | --holdout and --holdout-out go together | $LT --holdout 2 $T/c10
holdout 1.5                | -    | 2 | -                                       | --holdout: '1.5' is neither         | $LT --holdout 1.5 --holdout-out $T/h.mp $T/c10
holdout of a test split    | -    | 2 | -                                       | --holdout carves .* not test        | $LT --split test --holdout 2 --holdout-out $T/h.mp $T/c10
thresholds crossed         | -    | 2 | -                                       | --few-max \(100\) must be below --many-above \(50\) | $LT --many-above 50 --few-max 100 $T/c10
list and operand           | -    | 2 | -                                       | with --list the list is the source  | $LT --list $T/list.txt $T/f
root without list          | -    | 2 | -                                       | --root goes with --list             | $LT --root $T/f $T/c10
imbalance of a list        | -    | 2 | -                                       | split lists are fixed subsets       | $LT -i 10 --list $T/list.txt
check a list without root  | -    | 2 | -                                       | --check needs the images: give --root | $LT --check --list $T/list.txt
pack to stdout             | -    | 2 | -                                       | --pack needs a file name            | $LT --pack - $T/c10
pack of unknown type       | -    | 2 | -                                       | must end in .tar                    | $LT --pack $T/p.rar -o $T/x.mp $T/c10
layout without pack        | -    | 2 | -                                       | --pack-layout goes with --pack      | $LT --pack-layout folder $T/c10
# I/O errors: exit 3
missing source             | -    | 3 | -                                       | nope\.tar\.gz: No such file         | $LT $T/nope.tar.gz
missing list               | -    | 3 | -                                       | nope\.txt                           | $LT --list $T/nope.txt
missing class list         | -    | 3 | -                                       | nope\.txt                           | $LT --split test --classes $T/nope.txt $T/f
missing root               | -    | 3 | -                                       | nodir                               | $LT --list $T/list.txt --root $T/nodir
unwritable output          | -    | 3 | -                                       | nodir/x\.mp                         | $LT -o $T/nodir/x.mp $T/c10
listed file not in archive | -    | 3 | -                                       | test/cat/9999\.jpg .*not in the archive | $LT --list $T/list-missing.txt --root $T/f.tar
listed file missing, check | -    | 3 | -                                       | test/cat/9999\.jpg: No such file    | $LT --check --list $T/list-missing.txt --root $T/f
# bad data: exit 1, naming the file and record
truncated batch            | -    | 1 | -                                       | data_batch_1\.bin: truncated: .* record 97 | $LT $T/cut
truncated member names tar | -    | 1 | -                                       | cut\.tar\.gz: b/data_batch_1\.bin: truncated: .* record 97 | $LT $T/cut.tar.gz
empty list                 | -    | 1 | -                                       | ^lt-subset: /dev/null: the list is empty$ | $LT --list /dev/null
list of blank lines        | -    | 1 | -                                       | blank\.txt: no samples \(only blank lines\) | printf '\n \n' > $T/blank.txt; $LT --list $T/blank.txt
list from a pipe           | show | 0 | "samples":2000                          | -                                   | cat $T/list.txt | $LT --list /dev/stdin -o $T/a.mp && hdr $T/a.mp
# class lists: one reader (data/class_names.h) for every tool
classes invalid UTF-8      | -    | 1 | -                                       | cls-utf8\.txt: line 2: invalid UTF-8 at byte 3 | $LT --split test --classes $T/cls-utf8.txt $T/f
classes NUL byte           | -    | 1 | -                                       | cls-nul\.txt: line 2: NUL byte in a class name | $LT --split test --classes $T/cls-nul.txt $T/f
classes duplicate          | -    | 1 | -                                       | cls-dup\.txt: line 4: class 'cat' repeats line 2 | $LT --split test --classes $T/cls-dup.txt $T/f
classes blank line between | -    | 1 | -                                       | cls-blank\.txt: line 2: empty class name | $LT --split test --classes $T/cls-blank.txt $T/f
classes line too long      | -    | 1 | -                                       | cls-long\.txt: line 2: class name of 2000 bytes \(at most 1024\) | $LT --split test --classes $T/cls-long.txt $T/f
classes CRLF, blank end    | show | 0 | "classes":\["airplane","automobile","bird","cat","deer" | -           | $LT --split test --classes $T/cls-crlf.txt -o $T/a.mp $T/f && hdr $T/a.mp
classes of a CIFAR dir     | -    | 1 | -                                       | cls-dup\.txt: line 4: class 'cat' repeats line 2 | $LT --classes $T/cls-dup.txt $T/c10
classes of a split list    | -    | 1 | -                                       | cls-utf8\.txt: line 2: invalid UTF-8 | $LT --classes $T/cls-utf8.txt --list $T/list.txt
# symbolic links out of the dataset's folder are not followed
links out skipped, said    | -    | 0 | -                                       | skipped 2 symbolic links leading out of the dataset's folder | $LT --split test -o $T/a.mp $T/fl
links out not samples      | show | 0 | "samples":2001,                         | -                                   | $LT --split test -o $T/a.mp $T/fl 2>/dev/null && hdr $T/a.mp
links out, no evil class   | show | 0 | ^absent$                                | -                                   | hdr $T/a.mp | grep -q '"evil"' || echo absent
link out not packed        | -    | 0 | ^2001 0 0$                              | -                                   | $LT --split test --pack $T/pl.tar -o $T/a.mp $T/fl 2>/dev/null && echo $(tar tf $T/pl.tar | grep -c '\.jpg$') $(tar tf $T/pl.tar | grep -c 'leak\|evil') $(grep -c SECRET-LINE $T/pl.tar)
listed link out refused    | -    | 1 | -                                       | test/cat/leak\.jpg: a symbolic link leads out of the dataset root | $LT --check --list $T/list-leak.txt --root $T/fl
listed link out skipped    | show | 0 | "samples":1,"skipped":1                 | skipping: .*leak\.jpg: a symbolic link leads out | $LT --check --skip-bad --list $T/list-leak.txt --root $T/fl -o $T/a.mp && hdr $T/a.mp
listed folder link refused | -    | 1 | -                                       | test/evil/x\.jpg: a symbolic link leads out of the dataset root | $LT --check --list $T/list-leak-dir.txt --root $T/fl
listed link out not packed | -    | 0 | ^absent$                                | leak\.jpg: a symbolic link leads out | $LT --pack $T/pl2.tar --list $T/list-leak.txt --root $T/fl -o $T/a.mp; test -e $T/pl2.tar || echo absent
# --check applies the decoder's limits
huge JPEG, check           | -    | 1 | -                                       | test/cat/[0-9]+\.jpg: JPEG image too large: 65500x65500 | $LT --split test --check $T/fhuge
huge JPEG skipped          | show | 0 | "samples":1999,"skipped":1              | skipped 1 bad sample .*1 failing --check | $LT --split test --check --skip-bad -o $T/a.mp $T/fhuge && hdr $T/a.mp
huge JPEG not packed       | -    | 1 | -                                       | --pack: .*JPEG image too large      | $LT --split test --pack $T/ph.tar -o $T/a.mp $T/fhuge
not a JPEG not packed      | -    | 1 | -                                       | --pack: .*not a JPEG file           | $LT --split test --pack $T/pb.tar -o $T/a.mp $T/fbad
label out of range         | -    | 1 | -                                       | data_batch_1\.bin: record 2: label 12 is out of range 0\.\.9 | $LT $T/lab
unknown class              | -    | 1 | -                                       | test/truck/[0-9]+\.jpg: unknown class 'truck' | $LT --split test --classes $T/nine.txt $T/f
label out of list's range  | -    | 1 | -                                       | list-range\.txt: line 2: label 7 is out of range 0\.\.1 | $LT --classes $T/two.txt --list $T/list-range.txt
corrupt JPEG, check        | -    | 1 | -                                       | test/cat/[0-9]+\.jpg: not a JPEG file | $LT --split test --check $T/fbad
truncated JPEG, check      | -    | 1 | -                                       | test/dog/[0-9]+\.jpg: truncated JPEG | $LT --split test --check $T/fbad
check counts failures      | -    | 1 | -                                       | --check: 2 of 2000 samples failed   | $LT --split test --check $T/fbad
not a dataset              | -    | 1 | -                                       | neither an archive .* nor a split list | for i in 1 2 3 4 5 6 7 8 9 10; do printf '\001\377\000\376\003\375\004\374\200\201'; done > $T/r.bin; $LT $T/r.bin
no partial output          | -    | 0 | ^absent$                                | -                                   | $LT -o $T/y.mp $T/cut; test -e $T/y.mp || echo absent
# --skip-bad: counted skips, exit 0
skip truncated record      | show | 0 | "samples":97,"skipped":1                 | skipped 1 bad sample .*truncated   | $LT -i 1 --skip-bad -o $T/s.mp $T/cut && hdr $T/s.mp
skip bad label             | show | 0 | "skipped":1                              | record 2: label 12                  | $LT -i 1 --skip-bad -o $T/s.mp $T/lab && hdr $T/s.mp
skip failed checks         | show | 0 | "samples":1998,"skipped":2               | skipped 2 bad samples .*2 failing --check | $LT --split test --check --skip-bad -o $T/s.mp $T/fbad && hdr $T/s.mp
skip unknown class         | show | 0 | "classes":\["airplane",.*"ship"\].*"skipped":200 | skipped 200 bad samples .*unknown class | $LT --split test --classes $T/nine.txt --skip-bad -o $T/s.mp $T/f && hdr $T/s.mp
skip missing member        | show | 0 | "samples":2000,"skipped":1               | not in the archive                  | $LT --list $T/list-missing.txt --root $T/f.tar --skip-bad -o $T/s.mp && hdr $T/s.mp
# the subsets
cifar dir, exp G=10        | show | 0 | "counts":\[20,15,11,9,7,5,4,3,2,2\]      | -                                   | $LT -i 10 -o $T/a.mp $T/c10 && hdr $T/a.mp
cifar dir, step G=10       | show | 0 | "counts":\[20,20,20,20,20,2,2,2,2,2\]    | -                                   | $LT -i 10 --profile step -o $T/a.mp $T/c10 && hdr $T/a.mp
cifar header fields        | show | 0 | "format":"lfm.samples/1","dataset":"cifar10","split":"train" | -            | $LT -i 10 -o $T/a.mp $T/c10 && hdr $T/a.mp
cifar groups               | show | 0 | "groups":\["few","few",.*"thresholds":\{"many_above":100,"few_max":20\},"profile":"exp","imbalance":10.0,"seed":0 | - | $LT -i 10 -o $T/a.mp $T/c10 && hdr $T/a.mp
cifar source identity      | show | 0 | "source":\{"path":"[^"]*/c10","size":614660,"hash":"sha256-listing:[0-9a-f]{64}"\} | - | $LT -o $T/a.mp $T/c10 && hdr $T/a.mp
cifar records              | show | 0 | ^\{"index":100,"label":0,"key":"data_batch_2/00000"\}$ | -          | $LT -i 1 -o $T/a.mp $T/c10 && recs $T/a.mp
records by label, index    | show | 0 | ^sorted$                                 | -                                   | $LT -i 10 -o $T/a.mp $T/c10 && recs $T/a.mp | sed 's/.*"index":\([0-9]*\),"label":\([0-9]*\).*/\2 \1/' > $T/o && sort -n -k1,1 -k2,2 -c $T/o && echo sorted
same arguments, same bytes | -    | 0 | ^same$                                   | -                                   | $LT -i 10 -s 7 -o $T/a.mp $T/c10 && cp $T/a.mp $T/b.mp && $LT -i 10 -s 7 -o $T/a.mp $T/c10 && cmp $T/a.mp $T/b.mp && echo same
stdout equals -o           | -    | 0 | ^same$                                   | -                                   | $LT -i 10 $T/c10 > $T/a.mp && $LT -i 10 $T/c10 | cmp - $T/a.mp && echo same
another seed, other records| show | 0 | ^differ$                                 | -                                   | $LT -i 10 -s 1 -o $T/a.mp $T/c10 && $LT -i 10 -s 2 -o $T/b.mp $T/c10 && recs $T/a.mp > $T/ra && recs $T/b.mp > $T/rb && ! cmp -s $T/ra $T/rb && echo differ
another seed, same counts  | show | 0 | ^same$                                   | -                                   | hdr $T/a.mp | grep -o '"counts":[^]]*' > $T/ca && hdr $T/b.mp | grep -o '"counts":[^]]*' > $T/cb && cmp $T/ca $T/cb && echo same
test split whole           | show | 0 | "samples":50,                            | -                                   | $LT --split test -o $T/a.mp $T/c10 && hdr $T/a.mp
test groups from train     | show | 0 | "group_counts":\[20,15,11,9,7,5,4,3,2,2\],"group_basis":"train subset" | - | $LT --split test -i 10 -o $T/a.mp $T/c10 && hdr $T/a.mp
max per class              | show | 0 | "counts":\[5,5,5,5,5,5,4,3,2,2\]         | -                                   | $LT -i 10 --max-per-class 5 -o $T/a.mp $T/c10 && hdr $T/a.mp
hold-out                   | show | 0 | "counts":\[17,12,8,6,4,2,1,1,1,1\]       | -                                   | $LT -i 10 --holdout 3 --holdout-out $T/h.mp -o $T/a.mp $T/c10 && hdr $T/a.mp
hold-out stream            | show | 0 | "counts":\[3,3,3,3,3,3,3,2,1,1\].*"holdout":\{"per_class":3,"part":"holdout"\} | - | hdr $T/h.mp
hold-out disjoint          | show | 0 | ^disjoint$                               | -                                   | recs $T/a.mp | grep -o '"index":[0-9]*' > $T/ia && recs $T/h.mp | grep -o '"index":[0-9]*' > $T/ih && [ -z "$(sort $T/ia $T/ih | uniq -d)" ] && echo disjoint
hold-out fraction          | show | 0 | "counts":\[10,8,6,5,4,3,2,2,1,1\]        | -                                   | $LT -i 10 --holdout 0.5 --holdout-out $T/h.mp -o $T/a.mp $T/c10 && hdr $T/a.mp
image folder archive       | show | 0 | "dataset":"image-folder","split":"test"  | -                                   | $LT --split test -o $T/a.mp $T/f.tar && hdr $T/a.mp
image folder keys          | show | 0 | ^\{"index":0,"label":0,"key":"test/airplane/[0-9]{4}\.jpg"\}$ | -      | recs $T/a.mp
folder = its archive       | show | 0 | ^same$                                   | -                                   | $LT --split test -o $T/b.mp $T/f && recs $T/a.mp > $T/ra && recs $T/b.mp > $T/rb && cmp $T/ra $T/rb && echo same
split list passes through  | show | 0 | "dataset":"split-list","split":"list".*"samples":2000 | -                 | $LT --list $T/list.txt --root $T/f.tar -o $T/a.mp && hdr $T/a.mp
split list names           | show | 0 | "classes":\["airplane","automobile"      | -                                   | hdr $T/a.mp
list checked, folder root  | show | 0 | "root":"[^"]*/f"                         | -                                   | $LT --check --list $T/list.txt --root $T/f -o $T/a.mp && hdr $T/a.mp
train samples give groups  | show | 0 | "group_basis":"train samples"           | -                                   | $LT -i 10 -o $T/tr.mp $T/c10 && $LT --split test --train-samples $T/tr.mp -o $T/a.mp $T/c10 && hdr $T/a.mp
verbose summary            | -    | 0 | -                                       | 97 samples of 10 classes \(10 \.\. 9 a class\)|$LT -i 1 -v -o $T/a.mp $T/cut --skip-bad
# --pack
pack cifar as .rgb         | -    | 0 | data_batch_1_00000\.rgb                 | -                                   | $LT -i 10 --pack $T/p.tar -o $T/p.mp $T/c10 && tar tf $T/p.tar
pack stream describes pack | show | 0 | "dataset":"webdataset".*"source":\{"path":"[^"]*/p\.tar".*"origin":\{"dataset":"cifar10" | - | hdr $T/p.mp
pack records               | show | 0 | ^\{"index":0,"label":0,"key":"data_batch_1_00000","origin_index":0\}$ | - | recs $T/p.mp
pack reads back            | show | 0 | "counts":\[20,15,11,9,7,5,4,3,2,2\]      | -                                   | $LT -i 1 -o $T/a.mp $T/p.tar && hdr $T/a.mp
pack is reproducible       | -    | 0 | ^same$                                   | -                                   | cp $T/p.tar $T/p0.tar && $LT -i 10 --pack $T/p.tar -o $T/p.mp $T/c10 && cmp $T/p.tar $T/p0.tar && echo same
pack folder layout         | -    | 0 | ^test/cat/                              | -                                   | $LT --split test --max-per-class 3 --pack $T/pf.tar.gz --pack-layout folder -o $T/p.mp $T/f && tar tzf $T/pf.tar.gz
pack folder reads back     | show | 0 | "samples":30,                            | -                                   | $LT --split test -o $T/a.mp $T/pf.tar.gz && hdr $T/a.mp
pack folder needs JPEG     | -    | 1 | -                                       | --pack-layout folder needs JPEG     | $LT --pack $T/q.tar --pack-layout folder -o $T/q.mp $T/c10
pack with hold-out         | show | 0 | "index":68,                              | -                                   | $LT -i 10 --holdout 1 --holdout-out $T/h.mp --pack $T/ph.tar.zst -o $T/p.mp $T/c10 && recs $T/h.mp
# the embedded demo data
demo train is CIFAR-10-LT  | show | 0 | "counts":\[5000,2997,1796,1077,645,387,232,139,83,50\] | -             | $LT -i 1 -o $T/a.mp $DEMO/train.tar.gz && hdr $T/a.mp
demo test                  | show | 0 | "counts":\[200,200,200,200,200,200,200,200,200,200\] | -               | $LT --split test -o $T/a.mp $DEMO/test.tar.gz && hdr $T/a.mp
demo data checksums        | -    | 0 | train.tar.gz: OK                        | -                                   | (cd $DEMO && sha256sum -c SHA256SUMS)
# the real data
CIFAR-10 JPEG at G=100     | shared+show | 0 | "samples":12406,                 | -                                   | $LT -o $T/a.mp $S/cifar10-jpeg.tar.gz && hdr $T/a.mp
CIFAR-10 JPEG at G=50      | shared+show | 0 | "samples":13996,                 | -                                   | $LT -i 50 -o $T/a.mp $S/cifar10-jpeg.tar.gz && hdr $T/a.mp
CIFAR-10 JPEG at G=10      | shared+show | 0 | "samples":20431,                 | -                                   | $LT -i 10 -o $T/a.mp $S/cifar10-jpeg.tar.gz && hdr $T/a.mp
CIFAR-10 JPEG identity     | shared+show | 0 | "hash":"sha256:845b9c234f577a407297a12451876d6df0ed01f249a48496593fb086bfc3bd89" | - | hdr $T/a.mp
demo data is reproducible  | shared | 0 | ^same$                                | -                                   | $LT --imbalance 100 --seed 0 --check --pack $T/train.tar.gz --pack-layout folder -o $T/x.mp $S/cifar10-jpeg.tar.gz && cmp $T/train.tar.gz $DEMO/train.tar.gz && echo same
Places-LT train list       | shared+show | 0 | "counts":\[[0-9,]*\].*"samples":62500, | -                              | $LT --list $S/splits/places_lt_train.txt -o $T/a.mp && hdr $T/a.mp
Places-LT 365 classes      | shared+show | 0 | ^365 4980 5$                     | -                                   | hdr $T/a.mp | sed 's/.*"counts":\[\([0-9,]*\)\].*/\1/' | tr , '\n' | sort -n | awk 'NR==1{mn=$1} {n++; mx=$1} END{print n, mx, mn}'
EOF
