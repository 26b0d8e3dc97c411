#!/bin/sh
# tests/cli/clip_embed_text.sh — clip-embed-text's and clip-init's command lines, table-driven: each row runs
# one command and checks its exit status, a pattern its standard output must contain and a pattern its
# standard error must contain (extended regular expressions, matched per line; '-' = no check). The models
# are made here by clip-init; numbers are checked by equalities that must hold exactly (two spellings of
# the same input give byte-identical .npy files) — the values themselves are checked against OpenAI's
# code by tests/golden-check. Rows that read ../shared are skipped without it.
# Run from the repository root with bin/ built; prints "ok - ", "not ok - " and "skip - " lines.
set -u
export LC_ALL=C # byte-wise patterns: some inputs are invalid UTF-8 on purpose
EMBED=${LFM_CLIP_EMBED_TEXT:-bin/clip-embed-text}
INIT=${LFM_CLIP_INIT:-bin/clip-init}
G=../shared/golden/tiny-clip
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for b in "$EMBED" "$INIT"; do
	if [ ! -x "$b" ]; then
		echo "not ok - built: $b is missing (run make first)"
		exit 1
	fi
done

# The BPE merges: the project's copy (found by the tools themselves); otherwise the shared one by option.
VOCAB=
if [ ! -f data/clip/bpe_simple_vocab_16e6.txt.gz ] && [ -f ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz ]; then
	VOCAB="--vocab ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"
fi

# ---- fixtures ------------------------------------------------------------------------------------
"$INIT" --arch tiny --dtype f16 -o "$T/tiny.st" || { echo "not ok - clip-init --arch tiny"; exit 1; }
"$INIT" --arch tiny --dtype f16 --naming hf -o "$T/tiny-hf.st"
"$INIT" --arch tiny --dtype bf16 --towers text >"$T/text.st"
"$INIT" --arch tiny --towers vision -o "$T/vision.st"
printf 'cat\ndog\naquarium_fish\n' >"$T/classes.txt"
printf 'cat\ndog\naquarium fish' >"$T/spaces.txt"          # no final newline, CRLF-free
printf 'cat\r\ndog\r\naquarium fish\r\n' >"$T/crlf.txt"
printf 'cat\ndog\n' >"$T/catdog.txt"
printf 'cat\n\377bad\n' >"$T/badutf8.txt"
printf 'cat\n\ndog\n' >"$T/emptyline.txt"
printf 'cat\ndo\000g\n' >"$T/nul.txt"
printf 'cat\ndog\ncat\n' >"$T/dup.txt"
{ printf 'cat\n'; head -c 2000 /dev/zero | tr '\0' x; printf '\n'; } >"$T/long.txt"
printf 'cat\ndog\naquarium_fish\n\n\n' >"$T/trailing.txt"
: >"$T/empty.txt"
printf 'a photo of a cat\n\nhello   &amp;   world\n' >"$T/texts.txt"
printf 'fine\n\300\200 overlong\n' >"$T/texts-bad.txt"
# A samples stream whose header names the classes cat and dog (msgpack; no records needed).
printf '\202\246format\255lfm.samples/1\247classes\222\243cat\243dog' >"$T/s.mp"
printf '\201\246format\255lfm.samples/1' >"$T/noclasses.mp"
printf '\202\246format\255lfm.samples/1\247classes\222\243cat\243cat' >"$T/dupclasses.mp"
printf '\202\246format\255lfm.samples/1\247classes\222\243cat\243d\377g' >"$T/badclasses.mp"
printf '\202\246format\255lfm.pairs/1\247classes\222\243cat\243dog' >"$T/pairs.mp"
# Prompt-ensembling fixtures, made once.
"$EMBED" $VOCAB -m "$T/tiny.st" -c "$T/classes.txt" -u -o "$T/one.npy" 2>"$T/err" || cat "$T/err"
"$EMBED" $VOCAB -m "$T/tiny.st" -c "$T/catdog.txt" -o "$T/catdog.npy" 2>"$T/err" || cat "$T/err"

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
# usage: exit 2
help                      | - | 0 | ^usage: clip-embed-text                 | -                                  | $EMBED --help
version                   | - | 0 | ^clip-embed-text \(lfm-tools\) [0-9]    | -                                  | $EMBED --version
unknown option            | - | 2 | -                                        | Try 'clip-embed-text --help'       | $EMBED --bogus
model required            | - | 2 | -                                        | --model FILE is required           | $EMBED < $T/classes.txt
template without {}       | - | 2 | -                                        | --template 'a photo': needs exactly one '\{\}' | $EMBED -m $T/tiny.st -t 'a photo' -c $T/classes.txt
template with two {}      | - | 2 | -                                        | needs exactly one                  | $EMBED -m $T/tiny.st -t '{} {}' -c $T/classes.txt
template invalid UTF-8    | - | 2 | -                                        | --template .*invalid UTF-8         | $EMBED $VOCAB -m $T/tiny.st -t "$(printf 'x\377 {}')" -c $T/classes.txt -o $T/x.npy
heads out of range        | - | 2 | -                                        | --heads.*out of range              | $EMBED -m $T/tiny.st --heads 0 -c $T/classes.txt
classes and samples       | - | 2 | -                                        | give one                           | $EMBED -m $T/tiny.st -c $T/classes.txt --samples $T/s.mp
two inputs                | - | 2 | -                                        | unexpected argument 'dog'          | $EMBED -m $T/tiny.st cat dog
input given twice         | - | 2 | -                                        | class names given twice            | $EMBED -m $T/tiny.st -c $T/classes.txt cat
classes as an argument    | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -u $T/classes.txt > $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
samples as an argument    | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st $T/s.mp > $T/a.npy && cmp $T/a.npy $T/catdog.npy && echo same
tokenize takes no model   | - | 2 | -                                        | --tokenize takes only              | $EMBED --tokenize -m $T/tiny.st
context needs tokenize    | - | 2 | -                                        | --context is for --tokenize        | $EMBED -m $T/tiny.st --context 10 -c $T/classes.txt
# I/O errors: exit 3
missing model             | - | 3 | -                                        | nope\.st                           | $EMBED $VOCAB -m $T/nope.st -c $T/classes.txt -o $T/x.npy
missing classes           | - | 3 | -                                        | nope\.txt                          | $EMBED $VOCAB -m $T/tiny.st -c $T/nope.txt -o $T/x.npy
missing vocabulary        | - | 3 | -                                        | nope\.gz                           | $EMBED --vocab $T/nope.gz -m $T/tiny.st -c $T/classes.txt -o $T/x.npy
unwritable output         | - | 3 | -                                        | nodir/x\.npy                       | $EMBED $VOCAB -m $T/tiny.st -c $T/classes.txt -o $T/nodir/x.npy
# bad data: exit 1, naming the file and line
model not safetensors     | - | 1 | -                                        | classes\.txt                       | $EMBED $VOCAB -m $T/classes.txt -c $T/classes.txt -o $T/x.npy
vision-only model         | - | 1 | -                                        | vision\.st: no text tower          | $EMBED $VOCAB -m $T/vision.st -c $T/classes.txt -o $T/x.npy
heads not dividing width  | - | 1 | -                                        | width 128 is not divisible into 3 heads | $EMBED $VOCAB -m $T/tiny.st --heads 3 -c $T/classes.txt -o $T/x.npy
invalid UTF-8 class       | - | 1 | -                                        | badutf8\.txt: line 2: invalid UTF-8 | $EMBED $VOCAB -m $T/tiny.st -c $T/badutf8.txt -o $T/x.npy
empty class line          | - | 1 | -                                        | emptyline\.txt: line 2: empty class name | $EMBED $VOCAB -m $T/tiny.st -c $T/emptyline.txt -o $T/x.npy
NUL in a class name       | - | 1 | -                                        | nul\.txt: line 2: NUL byte in a class name | $EMBED $VOCAB -m $T/tiny.st -c $T/nul.txt -o $T/x.npy
duplicate class name      | - | 1 | -                                        | dup\.txt: line 3: class 'cat' repeats line 1 | $EMBED $VOCAB -m $T/tiny.st -c $T/dup.txt -o $T/x.npy
class line too long       | - | 1 | -                                        | long\.txt: line 2: class name of 2000 bytes \(at most 1024\) | $EMBED $VOCAB -m $T/tiny.st -c $T/long.txt -o $T/x.npy
duplicate in a stream     | - | 1 | -                                        | dupclasses\.mp: class 1 \('cat'\) repeats class 0 | $EMBED $VOCAB -m $T/tiny.st --samples $T/dupclasses.mp -o $T/x.npy
invalid UTF-8 in a stream | - | 1 | -                                        | badclasses\.mp: class 1: invalid UTF-8 at byte 1 | $EMBED $VOCAB -m $T/tiny.st -c $T/badclasses.mp -o $T/x.npy
no classes                | - | 1 | -                                        | empty\.txt: no class names         | $EMBED $VOCAB -m $T/tiny.st -c $T/empty.txt -o $T/x.npy
stream without classes    | - | 1 | -                                        | noclasses\.mp: .*"classes"         | $EMBED $VOCAB -m $T/tiny.st --samples $T/noclasses.mp -o $T/x.npy
stream of another kind    | - | 1 | -                                        | pairs\.mp                          | $EMBED $VOCAB -m $T/tiny.st -c $T/pairs.mp -o $T/x.npy
no partial output         | - | 0 | ^absent$                                 | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/badutf8.txt -o $T/y.npy; test -e $T/y.npy || echo absent
# features: float32 [C, 64] .npy
shape from a file         | - | 0 | 'descr': '<f4'.*'shape': \(3, 64\)       | -                                  | head -c 128 $T/one.npy
names on stdin            | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -u < $T/classes.txt > $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
classes from -            | - | 0 | ^same$                                   | -                                  | cat $T/classes.txt | $EMBED $VOCAB -m $T/tiny.st -c - -u > $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
trailing blank lines      | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -u -c $T/trailing.txt -o $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
underscores to spaces     | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/spaces.txt -o $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
underscores kept          | - | 0 | ^differ$                                 | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/classes.txt -o $T/a.npy; cmp -s $T/a.npy $T/one.npy || echo differ
CRLF line ends            | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/crlf.txt -o $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
default template          | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/classes.txt -u -t 'a photo of a {}' -o $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
template twice = once     | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/classes.txt -u -t 'a photo of a {}' -t 'a photo of a {}' -o $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
two templates differ      | - | 0 | ^differ$                                 | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/classes.txt -u -t 'a photo of a {}' -t 'a sketch of a {}.' -o $T/a.npy; cmp -s $T/a.npy $T/one.npy || echo differ
raw differs               | - | 0 | ^differ$                                 | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/classes.txt -u --raw -o $T/a.npy; cmp -s $T/a.npy $T/one.npy || echo differ
HF names, same features   | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny-hf.st -c $T/classes.txt -u -o $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
text-only bf16 model      | - | 0 | 'shape': \(3, 64\)                       | -                                  | $EMBED $VOCAB -m $T/text.st -c $T/classes.txt -o $T/a.npy && head -c 128 $T/a.npy
heads override changes    | - | 0 | ^differ$                                 | -                                  | $EMBED $VOCAB -m $T/tiny.st --heads 4 -c $T/classes.txt -u -o $T/a.npy; cmp -s $T/a.npy $T/one.npy || echo differ
heads 2 = default         | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st --heads 2 -c $T/classes.txt -u -o $T/a.npy && cmp $T/a.npy $T/one.npy && echo same
samples stream header     | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st --samples $T/s.mp -o $T/a.npy && cmp $T/a.npy $T/catdog.npy && echo same
stream detected, file     | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st -c $T/s.mp -o $T/a.npy && cmp $T/a.npy $T/catdog.npy && echo same
stream detected, stdin    | - | 0 | ^same$                                   | -                                  | $EMBED $VOCAB -m $T/tiny.st < $T/s.mp > $T/a.npy && cmp $T/a.npy $T/catdog.npy && echo same
golden model loads        | shared | 0 | 'shape': \(3, 64\)                 | -                                  | $EMBED $VOCAB -m $G/model.safetensors -c $T/classes.txt -o $T/a.npy && head -c 128 $T/a.npy
golden namings agree      | shared | 0 | ^same$                             | -                                  | $EMBED $VOCAB -m $G/model-hf.safetensors -c $T/classes.txt -o $T/b.npy && cmp $T/a.npy $T/b.npy && echo same
# --tokenize: SOT .. EOT per line
tokenize a prompt         | - | 0 | ^49406 320 1125 539 320 2368 49407$      | -                                  | $EMBED $VOCAB --tokenize < $T/texts.txt
tokenize an empty line    | - | 0 | ^49406 49407$                            | -                                  | $EMBED $VOCAB --tokenize < $T/texts.txt
tokenize html and spaces  | - | 0 | ^49406 3306 261 1002 49407$              | -                                  | $EMBED $VOCAB --tokenize < $T/texts.txt
tokenize one line a text  | - | 0 | ^3$                                      | -                                  | $EMBED $VOCAB --tokenize < $T/texts.txt | wc -l
tokenize truncation       | - | 0 | ^49406 320 1125 539 49407$               | -                                  | echo 'a photo of a cat' | $EMBED $VOCAB --tokenize --context 5
tokenize invalid UTF-8    | - | 1 | ^49406 3797 49407$                       | stdin: line 2: invalid UTF-8       | $EMBED $VOCAB --tokenize < $T/texts-bad.txt
tokenize golden prompts   | shared | 0 | ^49406 320 1125 539 320 16451 49407$ | -                               | head -n 1 $G/text_prompts.txt | sed 's/apple/airplane/' | $EMBED $VOCAB --tokenize
# clip-init
init help                 | - | 0 | ^usage: clip-init                        | -                                  | $INIT --help
init version              | - | 0 | ^clip-init \(lfm-tools\) [0-9]           | -                                  | $INIT --version
init needs --arch         | - | 2 | -                                        | --arch is required                 | $INIT -o $T/x.st
init unknown arch         | - | 2 | -                                        | 'ViT-X/1' is not one of: tiny, ViT-B/32 | $INIT --arch ViT-X/1 -o $T/x.st
init bad dtype            | - | 2 | -                                        | --dtype.*f32, f16, bf16            | $INIT --arch tiny --dtype f64 -o $T/x.st
init bad seed             | - | 2 | -                                        | --seed                             | $INIT --arch tiny --seed -1 -o $T/x.st
init unwritable           | - | 3 | -                                        | nodir/x\.st                        | $INIT --arch tiny -o $T/nodir/x.st
init deterministic        | - | 0 | ^same$                                   | -                                  | $INIT --arch tiny --dtype f16 -o $T/again.st && cmp $T/again.st $T/tiny.st && echo same
init seed matters         | - | 0 | ^differ$                                 | -                                  | $INIT --arch tiny --dtype f16 --seed 1 -o $T/s1.st; cmp -s $T/s1.st $T/tiny.st || echo differ
init metadata             | - | 0 | "arch":"tiny"                            | -                                  | head -c 2000 $T/tiny.st | tr -d '\\\\'
init metadata config      | - | 0 | "vision_patch_size": *8                  | -                                  | head -c 2000 $T/tiny.st | tr -d '\\\\'
init HF names             | - | 0 | vision_model.encoder.layers.1.self_attn.q_proj.weight | -                     | head -c 20000 $T/tiny-hf.st
EOF
