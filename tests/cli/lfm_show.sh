#!/bin/sh
# tests/cli/lfm_show.sh — lfm-show's command line, table-driven: each row runs one command and checks its
# exit status, a pattern its standard output must contain and a pattern its standard error must contain
# (extended regular expressions, matched per line; '-' = no check). Inputs are made here with printf
# (octal escapes), so no Python or NumPy is needed; rows that read ../shared are skipped without it.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
SHOW=${LFM_SHOW:-bin/lfm-show}
G=../shared/golden/tiny-clip
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if [ ! -x "$SHOW" ]; then
	echo "not ok - lfm-show built: $SHOW is missing (run make first)"
	exit 1
fi

# ---- byte helpers --------------------------------------------------------------------------------
byte() { printf "\\$(printf '%03o' "$1")"; }
le16() { byte $(($1 & 255)); byte $(($1 >> 8 & 255)); }
le32() { le16 $(($1 & 65535)); le16 $(($1 >> 16 & 65535)); }
le64() { le32 $(($1 & 4294967295)); le32 $(($1 >> 32 & 4294967295)); }

# npy FILE VERSION DESCR FORTRAN SHAPE DATA: a .npy file whose data section is the printf format DATA;
# the header is padded so the data starts at a multiple of 64, as NumPy writes it.
npy() {
	h="{'descr': '$3', 'fortran_order': $4, 'shape': $5, }"
	pre=$(( $2 == 1 ? 10 : 12 ))
	while [ $(( (pre + ${#h} + 1) % 64 )) -ne 0 ]; do h="$h "; done
	{
		printf '\223NUMPY'; byte "$2"; byte 0
		if [ "$2" -eq 1 ]; then le16 $((${#h} + 1)); else le32 $((${#h} + 1)); fi
		printf '%s\n' "$h"
		printf "$6"
	} >"$1"
}

# safetensors FILE HEADER DATA [LENGTH]: an 8-byte little-endian length (the header's own unless LENGTH
# is given), the JSON header, then the data (a printf format).
safetensors() {
	{ le64 "${4:-${#2}}"; printf '%s' "$2"; printf "$3"; } >"$1"
}

# Floats, little-endian, as printf octal escapes.
F1='\000\000\200\077' F2='\000\000\000\100' F3='\000\000\100\100'
F4='\000\000\200\100' F5='\000\000\240\100' F6='\000\000\300\100'
FNAN='\000\000\300\177' FINF='\000\000\200\177'

# ---- fixtures ------------------------------------------------------------------------------------
npy "$T/a23.npy" 1 '<f4' False '(2, 3)' "$F1$F2$F3$F4$F5$F6"
npy "$T/fortran.npy" 1 '<f4' True '(2, 3)' "$F1$F4$F2$F5$F3$F6"
npy "$T/v2.npy" 2 '<f4' False '(3,)' "$F1$F2$F3"
npy "$T/nan.npy" 1 '<f4' False '(3,)' "$F1$FNAN$FINF"
npy "$T/i64.npy" 1 '<i8' False '(2,)' '\001\000\000\000\000\000\040\000\375\377\377\377\377\377\377\377'
npy "$T/bf16.npy" 1 '<u2' False '(2,)' '\200\077\300\277'
npy "$T/scalar.npy" 1 '<f4' False '()' "$F5"
npy "$T/object.npy" 1 '|O' False '(1,)' '\200\003K\001.'
npy "$T/bigendian.npy" 1 '>f4' False '(1,)' '\077\200\000\000'
npy "$T/short.npy" 1 '<f4' False '(2, 3)' "$F1$F2$F3"
cp "$T/a23.npy" "$T/badmagic.npy" && printf 'NUMPZ' | dd of="$T/badmagic.npy" bs=1 seek=1 conv=notrunc 2>/dev/null
{ printf '\223NUMPY\001\000'; le16 10300; printf "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }%10240s\n" ''; printf "$F1"; } >"$T/bighdr.npy"

H='{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[2,2],"data_offsets":[8,12]},"__metadata__":{"stage":"2","note":"hi"}}'
safetensors "$T/ok.safetensors" "$H" "$F1$F2"'\001\002\003\004'
head -c $(( $(wc -c <"$T/ok.safetensors") - 1 )) "$T/ok.safetensors" >"$T/truncated.safetensors"
safetensors "$T/pastend.safetensors" "$H" "$F1$F2"'\001\002\003\004' 100000
safetensors "$T/overlap.safetensors" \
	'{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}' 'abcdef'
safetensors "$T/gap.safetensors" \
	'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}' 'abcdef'
safetensors "$T/badsize.safetensors" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}' 'abcd'
safetensors "$T/dupkey.safetensors" \
	'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}' 'x'
safetensors "$T/badjson.safetensors" '{"a":{"dtype":"U8",' 'x'
safetensors "$T/ctrl.safetensors" '{"x\ny":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}' 'z'

# A samples stream: {"format": "lfm.samples/1", "classes": ["cat", "dog"]} and 5 records
# {"index": i, "label": i % 2, "key": "k_i"}.
{
	printf '\202\246format\255lfm.samples/1\247classes\222\243cat\243dog'
	for i in 0 1 2 3 4; do
		printf '\203\245index'; byte $i; printf '\245label'; byte $((i % 2)); printf '\243key\243k_%d' $i
	done
} >"$T/s.mp"
head -c $(( $(wc -c <"$T/s.mp") - 3 )) "$T/s.mp" >"$T/truncated.mp"
printf '\201\243abc\001' >"$T/noformat.mp"
printf '\201\246format\001' >"$T/intformat.mp"
printf '\201\246format\246x.y/99\300\303' >"$T/otherkind.mp"   # any kind and version; records nil, true
printf 'hello\n' >"$T/text.txt"
# The same kind of stream as JSON lines (how lfm-fit may write its metrics log).
printf '{"format":"lfm.metrics/1","stage":1}\n{"step":1,"loss":2.5}\n{"step":2,"loss":2.25}\n' >"$T/m.jsonl"
printf '{"format":"lfm.metrics/1"}\n{"step":1,"lo' >"$T/cut.jsonl"
printf '{"stage":1}\n{"step":1}\n' >"$T/noformat.jsonl"
: >"$T/empty"

# ---- the table -----------------------------------------------------------------------------------
# name | needs (- or shared) | exit status | stdout pattern | stderr pattern | command
. "$(dirname "$0")/lib.sh"
while IFS='|' read -r name needs want out_re err_re cmd; do
	name=$(trim "$name"); needs=$(trim "$needs"); want=$(trim "$want")
	out_re=$(trim "$out_re"); err_re=$(trim "$err_re"); cmd=$(trim "$cmd")
	case $name in '' | '#'*) continue ;; esac
	if [ "$needs" = shared ] && [ ! -d "$G" ]; then
		echo "skip - $name: $G not found (a clone without ../shared)"
		continue
	fi
	check_row "$name" "$want" "$out_re" "$err_re" "$cmd"
done <<'EOF'
# usage
help                    | -      | 0 | ^usage: lfm-show                               | -                              | $SHOW --help
version                 | -      | 0 | ^lfm-show \(lfm-tools\) [0-9]                  | -                              | $SHOW --version
unknown option          | -      | 2 | -                                               | unknown option '--bogus'       | $SHOW --bogus $T/s.mp
head needs a value      | -      | 2 | -                                               | '--head' needs a value         | $SHOW --head
head not a number       | -      | 2 | -                                               | --head.*not an integer         | $SHOW --head x $T/s.mp
head negative           | -      | 2 | -                                               | --head.*out of range           | $SHOW --head -1 $T/s.mp
stdin twice             | -      | 2 | -                                               | standard input                 | $SHOW - - < $T/s.mp
# I/O errors: exit 3, the file named
missing file            | -      | 3 | -                                               | nope\.npy: cannot open         | $SHOW $T/nope.npy
directory               | -      | 3 | -                                               | is a directory                 | $SHOW $T
# streams
stream header first     | -      | 0 | ^\{"format":"lfm\.samples/1","classes":\["cat","dog"\]\}$ | -              | $SHOW $T/s.mp | head -n 1
stream all records      | -      | 0 | ^6$                                             | -                              | $SHOW $T/s.mp | wc -l
stream record as JSON   | -      | 0 | ^\{"index":4,"label":0,"key":"k_4"\}$           | -                              | $SHOW $T/s.mp
stream --head 2         | -      | 0 | ^3$                                             | -                              | $SHOW --head 2 $T/s.mp | wc -l
stream --head 2 last    | -      | 0 | ^\{"index":1,"label":1,"key":"k_1"\}$           | -                              | $SHOW --head 2 $T/s.mp | tail -n 1
stream --head 0         | -      | 0 | ^1$                                             | -                              | $SHOW -n 0 $T/s.mp | wc -l
stream from stdin       | -      | 0 | ^\{"index":2,"label":0,"key":"k_2"\}$           | -                              | $SHOW - < $T/s.mp
stream from a pipe      | -      | 0 | ^4$                                             | -                              | cat $T/s.mp | $SHOW --head 3 | wc -l
stream default stdin    | -      | 0 | "format":"lfm\.samples/1"                       | -                              | cat $T/s.mp | $SHOW
stream any kind         | -      | 0 | ^true$                                          | -                              | $SHOW $T/otherkind.mp
stream truncated        | -      | 1 | "index":3                                       | truncated\.mp: truncated inside record 5 | $SHOW $T/truncated.mp
stream truncated stdin  | -      | 1 | -                                               | stdin: truncated               | $SHOW < $T/truncated.mp
stream no format        | -      | 1 | -                                               | noformat\.mp: .*"format"       | $SHOW $T/noformat.mp
stream format not str   | -      | 1 | -                                               | intformat\.mp: .*format        | $SHOW $T/intformat.mp
not any known kind      | -      | 1 | -                                               | text\.txt: not a \.npy file.*68 65 6c | $SHOW $T/text.txt
jsonl header first      | -      | 0 | ^\{"format":"lfm\.metrics/1","stage":1\}$       | -                              | $SHOW $T/m.jsonl | head -n 1
jsonl --head 1          | -      | 0 | ^2$                                             | -                              | $SHOW --head 1 $T/m.jsonl | wc -l
jsonl from stdin        | -      | 0 | ^\{"step":2,"loss":2\.25\}$                    | -                              | cat $T/m.jsonl | $SHOW
jsonl truncated         | -      | 1 | ^\{"format"                                     | cut\.jsonl: line 2: invalid JSON | $SHOW $T/cut.jsonl
jsonl no format         | -      | 1 | -                                               | noformat\.jsonl: not an lfm stream | $SHOW $T/noformat.jsonl
empty file              | -      | 1 | -                                               | empty: empty input             | $SHOW $T/empty
an ELF binary           | -      | 1 | -                                               | not a \.npy file               | $SHOW $SHOW
# npy
npy dtype and shape     | -      | 0 | a23\.npy: npy 1\.0, float32 \[2, 3\]            | -                              | $SHOW $T/a23.npy
npy count               | -      | 0 | ^  count  6$                                    | -                              | $SHOW $T/a23.npy
npy min                 | -      | 0 | ^  min    1\.0$                                 | -                              | $SHOW $T/a23.npy
npy max                 | -      | 0 | ^  max    6\.0$                                 | -                              | $SHOW $T/a23.npy
npy mean                | -      | 0 | ^  mean   3\.5$                                 | -                              | $SHOW $T/a23.npy
npy std (population)    | -      | 0 | ^  std    1\.707825$                            | -                              | $SHOW $T/a23.npy
npy values row 2        | -      | 0 | ^\[4\.0, 5\.0, 6\.0\]$                          | -                              | $SHOW --values $T/a23.npy
npy values --head 1     | -      | 0 | ^\[1\.0, 2\.0, 3\.0\]$                          | -                              | $SHOW --values --head 1 $T/a23.npy | tail -n 1
npy fortran order       | -      | 0 | ^\[4\.0, 5\.0, 6\.0\]$                          | -                              | $SHOW -v $T/fortran.npy
npy fortran noted       | -      | 0 | Fortran order                                   | -                              | $SHOW $T/fortran.npy
npy version 2           | -      | 0 | npy 2\.0, float32 \[3\]                         | -                              | $SHOW $T/v2.npy
npy nan and inf counted | -      | 0 | ^  nan    1$                                    | -                              | $SHOW $T/nan.npy
npy inf counted         | -      | 0 | ^  inf    1$                                    | -                              | $SHOW $T/nan.npy
npy stats skip nan/inf  | -      | 0 | ^  max    1\.0$                                 | -                              | $SHOW $T/nan.npy
npy nan as JSON string  | -      | 0 | ^\[1\.0, "NaN", "Infinity"\]$                   | -                              | $SHOW --values $T/nan.npy
npy int64 exact         | -      | 0 | ^  max    9007199254740993$                     | -                              | $SHOW $T/i64.npy
npy int64 negative      | -      | 0 | ^  min    -3$                                   | -                              | $SHOW $T/i64.npy
npy bfloat16 as <u2     | -      | 0 | bfloat16 \[2\] \('<u2'\)                        | -                              | $SHOW $T/bf16.npy
npy bfloat16 values     | -      | 0 | ^\[1\.0, -1\.5\]$                               | -                              | $SHOW -v $T/bf16.npy
npy 0-d scalar          | -      | 0 | ^5\.0$                                          | -                              | $SHOW -v $T/scalar.npy
npy --json              | -      | 0 | "dtype":"float32".*"shape":\[2,3\].*"mean":3\.5 | -                              | $SHOW --json $T/a23.npy
npy --json values       | -      | 0 | "values":\[\[1\.0,2\.0,3\.0\],\[4\.0,5\.0,6\.0\]\]\}$ | -                        | $SHOW --json --values $T/a23.npy
npy from stdin          | -      | 0 | stdin: npy 1\.0, float32 \[2, 3\]               | -                              | $SHOW - < $T/a23.npy
npy object dtype        | -      | 1 | -                                               | object\.npy: object arrays     | $SHOW $T/object.npy
npy wrong magic         | -      | 1 | -                                               | badmagic\.npy: not a \.npy file \(no .x93NUMPY | $SHOW $T/badmagic.npy
npy big-endian          | -      | 1 | -                                               | bigendian\.npy: big-endian     | $SHOW $T/bigendian.npy
npy data truncated      | -      | 1 | -                                               | short\.npy: data truncated     | $SHOW $T/short.npy
npy header over 10 kB   | -      | 1 | -                                               | bighdr\.npy: header of 10300 bytes exceeds | $SHOW $T/bighdr.npy
# safetensors
st table row            | -      | 0 | ^a +F32 +\[2\] +\[0, 8\)$                        | -                              | $SHOW $T/ok.safetensors
st table 2-D            | -      | 0 | ^b +U8 +\[2, 2\] +\[8, 12\)$                     | -                              | $SHOW $T/ok.safetensors
st summary              | -      | 0 | ok\.safetensors: safetensors, 2 tensors, 6 parameters | -                        | $SHOW $T/ok.safetensors
st metadata             | -      | 0 | ^  note  hi$                                    | -                              | $SHOW $T/ok.safetensors
st --stats              | -      | 0 | ^a +F32 +\[2\] +\[0, 8\) +1\.0 +2\.0 +1\.5 +0\.5 +0 +0$ | -                      | $SHOW --stats $T/ok.safetensors
st --json               | -      | 0 | "tensors":\[\{"name":"a","dtype":"F32","shape":\[2\],"data_offsets":\[0,8\]\} | -   | $SHOW --json $T/ok.safetensors
st --json metadata      | -      | 0 | "__metadata__":\{"stage":"2","note":"hi"\}\}$   | -                              | $SHOW --json $T/ok.safetensors
st from stdin           | -      | 0 | ^b +U8                                          | -                              | cat $T/ok.safetensors | $SHOW -
st control chars quoted | -      | 0 | ^"x\\ny" +U8                                    | -                              | $SHOW $T/ctrl.safetensors
st truncated            | -      | 1 | -                                               | truncated\.safetensors: .*past the end | $SHOW $T/truncated.safetensors
st header past the end  | -      | 1 | -                                               | pastend\.safetensors: header length 100000 points past the end | $SHOW $T/pastend.safetensors
st overlapping offsets  | -      | 1 | -                                               | overlap\.safetensors: tensors 'a' and 'b' overlap | $SHOW $T/overlap.safetensors
st gap                  | -      | 1 | -                                               | gap\.safetensors: gap          | $SHOW $T/gap.safetensors
st size mismatch        | -      | 1 | -                                               | badsize\.safetensors: tensor 'a' | $SHOW $T/badsize.safetensors
st duplicate key        | -      | 1 | -                                               | dupkey\.safetensors: .*duplicate | $SHOW $T/dupkey.safetensors
st bad JSON             | -      | 1 | -                                               | badjson\.safetensors: header JSON | $SHOW $T/badjson.safetensors
st truncated on stdin   | -      | 1 | -                                               | stdin: .*past the end          | $SHOW < $T/truncated.safetensors
# several files: banners, and the highest status over all files
banners                 | -      | 0 | ^==> .*/s\.mp <==$                              | -                              | $SHOW $T/a23.npy $T/s.mp
worst status wins       | -      | 3 | a23\.npy: npy                                   | nope: cannot open              | $SHOW $T/empty $T/a23.npy $T/nope
# the shared golden files
golden safetensors      | shared | 0 | ^visual\.conv1\.weight +F16 +\[128, 3, 8, 8\]   | -                              | $SHOW $G/model.safetensors
golden every tensor     | shared | 0 | ^62$                                            | -                              | $SHOW $G/model.safetensors | grep -cE '^[a-z_.0-9]+ +(F16|F32) +\['
golden metadata         | shared | 0 | ^  naming  openai-clip$                         | -                              | $SHOW $G/model.safetensors
golden hf from stdin    | shared | 0 | ^vision_model\.pre_layrnorm\.weight +F16 +\[128\] | -                            | $SHOW - < $G/model-hf.safetensors
golden pixels.npy       | shared | 0 | pixels\.npy: npy 1\.0, float32 \[8, 3, 32, 32\] | -                              | $SHOW $G/pixels.npy
golden pixels count     | shared | 0 | ^  count  24576$                                | -                              | $SHOW $G/pixels.npy
golden pixels mean      | shared | 0 | ^  mean   0\.0200044                            | -                              | $SHOW $G/pixels.npy
golden int32 npy        | shared | 0 | train_pairs\.npy: npy 1\.0, int32 \[8, 2\]      | -                              | $SHOW $G/train_pairs.npy
EOF

# ---- a reader that stops early: quiet, status 0, even under pipefail; a full disk still fails ---------
if command -v bash >/dev/null; then
	sp="${TMPDIR:-/tmp}/lfm_show_pipe.$$"
	bin/lt-subset --imbalance 1 data/cifar10-lt/train.tar.gz -o "$sp" 2>/dev/null
	out=$(bash -c 'set -o pipefail; bin/lfm-show "$1" | head -n 2 >/dev/null; echo "status $?"' _ "$sp" 2>&1)
	if [ "$out" = "status 0" ]; then echo "ok - lfm-show | head: quiet, status 0 under pipefail"
	else echo "not ok - lfm-show | head: quiet, status 0 under pipefail: $out"; fi
	out=$(bin/lfm-show "$sp" 2>&1 >/dev/full; echo "status $?")
	case $out in *"write error: No space left on device"*"status 3") echo "ok - a full disk is still an error (status 3)" ;;
	*) echo "not ok - a full disk is still an error (status 3): $out" ;; esac
	rm -f "$sp"
fi
