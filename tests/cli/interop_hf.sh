#!/bin/sh
# tests/cli/interop_hf.sh — our checkpoints in Hugging Face transformers and open_clip (issue 15, 1-2):
# lfm-fit trains the tiny golden model (or clip-init's tiny one) a few steps in stage 1 and stage 2;
# clip-export writes it as a transformers directory, which CLIPModel.from_pretrained loads with no
# missing or unexpected key and no load warning, and whose get_image_features / get_text_features on
# the same pixels and token ids equal ours within 1e-5 relative (W_I from fc.safetensors too); the
# directory read back (clip_features, clip-embed-text, lfm-fit and lfm-eval --model DIR, clip-export
# --to openai / --to hf) gives the same features; open_clip's create_model on clip-export's model
# configuration loads our OpenAI-named checkpoint (minus fc.weight) strictly and encode_image /
# encode_text agree within 1e-5; a vision tower alone loads as CLIPVisionModelWithProjection; GELU
# configurations, inconsistent config.json files and folders that are not exports are refused with a
# message. Skipped without the Python interop environment (scripts/pydeps.sh). Run from the repository
# root after make; prints "ok - ", "not ok - " and "skip - " lines.
set -u
B=bin
FEAT=build/tests/interop/clip_features
DEMO=data/cifar10-lt/train.tar.gz
VOCAB=data/clip/bpe_simple_vocab_16e6.txt.gz
G=../shared/golden/tiny-clip
. tests/cli/lib.sh
export LFM_PROGRESS=0
for t in $B/clip-export $B/lfm-fit $B/clip-init $B/lt-subset $B/lfm-pairs $B/lfm-mix $B/clip-embed-text $B/lfm-eval $FEAT; do
	[ -x "$t" ] || { echo "not ok - interop_hf setup: $t is missing (run make first)"; exit 1; }
done
PY=$(interop_python transformers open_clip safetensors torch numpy) || { echo "skip - interop_hf: $PY"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

ok() { echo "ok - $1"; }
nok() { echo "not ok - $1: $2"; }
# run_py NAME SCRIPT ARGS...: one ok/not ok line with the script's measurements
run_py() {
	_n=$1
	shift
	if "$PY" "$@" >"$T/py.out" 2>"$T/py.err"; then
		ok "$_n ($(grep -E 'max_rel|load:' "$T/py.out" | tr '\n' ';' | sed 's/;$//; s/;/; /g'))"
	else
		nok "$_n" "$(cat "$T/py.out"; tail -n 5 "$T/py.err")"
	fi
}
# same_npy NAME A B: two .npy files of equal features (within 1e-6 relative: the same computation)
same_npy() {
	if "$PY" -c 'import sys, numpy as np; a, b = np.load(sys.argv[1]), np.load(sys.argv[2]); r = np.abs(a - b).max() / np.abs(b).max(); print(r); sys.exit(not (a.shape == b.shape and r <= 1e-6))' \
		"$2" "$3" >"$T/same.out" 2>&1; then
		ok "$1 (max_rel=$(cat "$T/same.out"))"
	else
		nok "$1" "$(cat "$T/same.out")"
	fi
}

# ---- fixtures: the model, pixels, prompts and their token ids, a plan of 20 demo images -------------
if [ -r "$G/model.safetensors" ] && [ -r "$G/pixels.npy" ]; then
	MODEL=$G/model.safetensors PIX=$G/pixels.npy
else
	echo "# $G not found: clip-init's tiny model and random pixels instead"
	MODEL=$T/tiny.st PIX=$T/pixels.npy
	$B/clip-init --arch tiny --seed 3 -o "$MODEL" &&
		"$PY" -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).standard_normal((8, 3, 32, 32)).astype(np.float32))' "$PIX" ||
		{ echo "not ok - interop_hf setup: making the model and pixels failed"; exit 1; }
fi
printf 'cat\nsea otter\ncafé au lait\naquarium fish\n' >"$T/classes.txt"
sed 's/^/a photo of a /' "$T/classes.txt" | $B/clip-embed-text --tokenize --vocab "$VOCAB" >"$T/tokens.txt" &&
	"$PY" -c '
import sys, numpy as np
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
a = np.zeros((len(rows), 77), np.int32)
for i, r in enumerate(rows): a[i, :len(r)] = r
np.save(sys.argv[2], a)' "$T/tokens.txt" "$T/tokens.npy" &&
	$B/lt-subset --imbalance 1 --max-per-class 2 --pack "$T/mini.tar" --pack-layout folder -o "$T/mini.mp" "$DEMO" &&
	$B/lt-subset --split test --max-per-class 1 -o "$T/test.mp" data/cifar10-lt/test.tar.gz &&
	$B/clip-embed-text --model "$MODEL" --vocab "$VOCAB" --samples "$T/mini.mp" -o "$T/text.npy" 2>"$T/err" &&
	$B/lfm-pairs --text "$T/text.npy" --epochs 1 "$T/mini.mp" | $B/lfm-mix -o "$T/plan.mp" ||
	{ echo "not ok - interop_hf setup: making the fixtures failed: $(cat "$T/err" 2>/dev/null)"; exit 1; }

# ---- a few lfm-fit steps: stage 1 (3 steps), then stage 2 (3 steps: W_I away from the identity) ------
FIT="$B/lfm-fit --text $T/text.npy --data $T/mini.tar --threads 2 --batch 8"
if $FIT --model "$MODEL" --lr 1e-3 -o "$T/s1.st" "$T/plan.mp" 2>"$T/err" &&
	$FIT --model "$T/s1.st" --stage 2 --lr 1e-2 -o "$T/s2.st" "$T/plan.mp" 2>"$T/err"; then
	ok "lfm-fit stage 1 and stage 2 on $(basename "$MODEL")"
else
	nok "lfm-fit stage 1 and stage 2" "$(cat "$T/err")"
	exit 1
fi
CK=$T/s2.st
# ours: encode_image, normalise(W_I f), encode_text of the token ids; clip-embed-text's raw features
$FEAT "$CK" "$PIX" "$T/img.npy" "$T/fcimg.npy" "$T/tokens.npy" "$T/txt.npy" 2>"$T/err" &&
	$B/clip-embed-text --model "$CK" --vocab "$VOCAB" --raw "$T/classes.txt" -o "$T/cet.npy" 2>>"$T/err" ||
	{ nok "our features" "$(cat "$T/err")"; exit 1; }
same_npy "clip-embed-text --raw equals encode_text of its token ids" "$T/cet.npy" "$T/txt.npy"

# ---- transformers ----------------------------------------------------------------------------------
if $B/clip-export --to hf -o "$T/hf" --open-clip-config "$T/oc.json" "$CK" 2>"$T/err" &&
	[ -f "$T/hf/config.json" ] && [ -f "$T/hf/model.safetensors" ] && [ -f "$T/hf/fc.safetensors" ] &&
	! ls "$T" | grep -q '\.tmp\.'; then
	ok "clip-export --to hf: config.json, model.safetensors, fc.safetensors; no temporary left"
else
	nok "clip-export --to hf" "$(cat "$T/err"; ls "$T" "$T/hf")"
fi
run_py "transformers CLIPModel.from_pretrained of the export, features within 1e-5" \
	tests/interop/hf_features.py "$T/hf" "$PIX" "$T/tokens.npy" "$T/img.npy" "$T/cet.npy" "$T/fcimg.npy"

# ---- the directory read back by our tools ----------------------------------------------------------
$FEAT "$T/hf" "$PIX" "$T/img2.npy" "$T/fcimg2.npy" "$T/tokens.npy" "$T/txt2.npy" 2>"$T/err" || nok "clip_features on the HF directory" "$(cat "$T/err")"
same_npy "HF directory read back: image features" "$T/img2.npy" "$T/img.npy"
same_npy "HF directory read back: W_I from fc.safetensors" "$T/fcimg2.npy" "$T/fcimg.npy"
$B/clip-embed-text --model "$T/hf" --vocab "$VOCAB" --raw "$T/classes.txt" -o "$T/cet2.npy" 2>"$T/err" || nok "clip-embed-text --model DIR" "$(cat "$T/err")"
same_npy "clip-embed-text --model DIR: text features" "$T/cet2.npy" "$T/cet.npy"
if $FIT --model "$T/hf" --lr 1e-3 --max-steps 1 -o "$T/fromhf.st" "$T/plan.mp" 2>"$T/err" &&
	$B/lfm-eval --model "$T/hf" --text "$T/text.npy" --data data/cifar10-lt/test.tar.gz --threads 2 "$T/test.mp" >"$T/eval.out" 2>"$T/err"; then
	ok "lfm-fit and lfm-eval take --model DIR"
else
	nok "lfm-fit and lfm-eval take --model DIR" "$(cat "$T/err")"
fi
# lfm-eval on the export directory applies W_I from fc.safetensors: its features and predictions are the
# checkpoint's own (and --no-fc, zero-shot, differs from them)
if $B/lfm-eval --model "$CK" --text "$T/text.npy" --data data/cifar10-lt/test.tar.gz --features "$T/ev_ck.npy" "$T/test.mp" >/dev/null 2>"$T/err" &&
	$B/lfm-eval --model "$T/hf" --text "$T/text.npy" --data data/cifar10-lt/test.tar.gz --features "$T/ev_hf.npy" "$T/test.mp" >/dev/null 2>>"$T/err" &&
	$B/lfm-eval --model "$T/hf" --no-fc --text "$T/text.npy" --data data/cifar10-lt/test.tar.gz --features "$T/ev_zs.npy" "$T/test.mp" >/dev/null 2>>"$T/err" &&
	cmp -s "$T/ev_ck.npy" "$T/ev_hf.npy" && ! cmp -s "$T/ev_zs.npy" "$T/ev_hf.npy"; then
	ok "lfm-eval --model DIR applies W_I from fc.safetensors (features equal the checkpoint's)"
else
	nok "lfm-eval --model DIR applies W_I from fc.safetensors" "features differ from the checkpoint's; $(cat "$T/err")"
fi
$B/clip-export --to openai -o "$T/back.st" "$T/hf" 2>"$T/err" && $B/clip-export --to hf -o "$T/hf2" "$T/back.st" 2>>"$T/err" &&
	$B/clip-export --to hf -o "$T/hf3" "$T/hf" 2>>"$T/err" || nok "clip-export from the HF directory" "$(cat "$T/err")"
$FEAT "$T/back.st" "$PIX" "$T/img3.npy" "$T/fcimg3.npy" "$T/tokens.npy" "$T/txt3.npy" 2>"$T/err" || nok "clip_features on the re-exported file" "$(cat "$T/err")"
same_npy "HF directory -> --to openai: image features" "$T/img3.npy" "$T/img.npy"
same_npy "HF directory -> --to openai: W_I kept as fc.weight" "$T/fcimg3.npy" "$T/fcimg.npy"
same_npy "HF directory -> --to openai: text features" "$T/txt3.npy" "$T/txt.npy"
run_py "transformers on openai file -> --to hf, features within 1e-5" \
	tests/interop/hf_features.py "$T/hf2" "$PIX" "$T/tokens.npy" "$T/img.npy" "$T/cet.npy" "$T/fcimg.npy"
if cmp -s "$T/hf/config.json" "$T/hf3/config.json"; then
	ok "HF directory -> --to hf: the same config.json"
else
	nok "HF directory -> --to hf" "config.json differs"
fi

# ---- open_clip -------------------------------------------------------------------------------------
$B/clip-export --to openai -o "$T/oa.st" "$CK" 2>"$T/err" || nok "clip-export --to openai" "$(cat "$T/err")"
run_py "open_clip create_model + load_state_dict(strict) of our checkpoint, features within 1e-5" \
	tests/interop/open_clip_features.py "$T/oc.json" "$CK" "$PIX" "$T/tokens.npy" "$T/img.npy" "$T/txt.npy"
run_py "open_clip on the HF directory -> --to openai file, features within 1e-5" \
	tests/interop/open_clip_features.py "$T/oc.json" "$T/back.st" "$PIX" "$T/tokens.npy" "$T/img.npy" "$T/txt.npy"

# ---- a vision tower alone: CLIPVisionModelWithProjection -------------------------------------------
$B/clip-init --arch tiny --towers vision --seed 5 -o "$T/vis.st" && $FEAT "$T/vis.st" "$PIX" "$T/vimg.npy" 2>"$T/err" &&
	$B/clip-export --to hf -o "$T/vhf" "$T/vis.st" 2>>"$T/err" || nok "vision-only export" "$(cat "$T/err")"
run_py "a vision tower alone: CLIPVisionModelWithProjection, image_embeds within 1e-5" \
	tests/interop/hf_features.py "$T/vhf" "$PIX" - "$T/vimg.npy" -

# ---- refusals -----------------------------------------------------------------------------------------
mkdir "$T/gelu" "$T/heads" "$T/size" "$T/noconf" "$T/notours" &&
	for d in gelu heads size noconf; do ln -s "$T/hf/model.safetensors" "$T/$d/model.safetensors"; done &&
	sed 's/"quick_gelu"/"gelu"/' "$T/hf/config.json" >"$T/gelu/config.json" &&
	sed 's/"num_attention_heads": 2/"num_attention_heads": 4/' "$T/hf/config.json" >"$T/heads/config.json" &&
	sed 's/"image_size": 32/"image_size": 64/' "$T/hf/config.json" >"$T/size/config.json" &&
	echo keep >"$T/notours/notes.txt"
check_row "GELU config.json refused by clip-export" 1 - "gelu/config.json: .*hidden_act is 'gelu'.*QuickGELU only" \
	"$B/clip-export --to openai -o $T/x.st $T/gelu"
check_row "GELU config.json refused by clip-embed-text --model DIR" 1 - "text_config.hidden_act is 'gelu'" \
	"$B/clip-embed-text --model $T/gelu --vocab $VOCAB $T/classes.txt -o $T/x.npy"
check_row "GELU config.json refused by lfm-eval --model DIR" 1 - "vision_config.hidden_act is 'gelu'" \
	"$B/lfm-eval --model $T/gelu --text $T/text.npy --data data/cifar10-lt/test.tar.gz $T/test.mp"
# the head count is config.json's: 4 heads of width 32 instead of 2 of 64 give other features
if $FEAT "$T/heads" "$PIX" "$T/h4.npy" 2>"$T/err" &&
	! "$PY" -c 'import sys, numpy as np; sys.exit(not np.allclose(np.load(sys.argv[1]), np.load(sys.argv[2]), rtol=1e-3, atol=1e-4))' "$T/h4.npy" "$T/img.npy"; then
	ok "the head count comes from config.json"
else
	nok "the head count comes from config.json" "features unchanged with num_attention_heads 4; $(cat "$T/err")"
fi
# ... and a single file made from that directory keeps them (its "config" metadata records 4 heads, which
# the loader takes where no config.json is: the same features, not width / 64's)
if $B/clip-export --to openai -o "$T/h4.st" "$T/heads" 2>"$T/err" && $FEAT "$T/h4.st" "$PIX" "$T/h4b.npy" 2>>"$T/err" &&
	cmp -s "$T/h4.npy" "$T/h4b.npy"; then
	ok "a file exported from a 4-head directory keeps its head count"
else
	nok "a file exported from a 4-head directory keeps its head count" "features differ; $(cat "$T/err")"
fi
check_row "config.json heads against --vision-heads" 1 - "2 vision attention heads, but 3 were asked for" \
	"$B/clip-export --to openai --vision-heads 3 -o $T/x.st $T/hf"
check_row "config.json that describes another model" 1 - "size/config.json: image_size is 64, but the tensors .* give 32" \
	"$B/clip-export --to openai -o $T/x.st $T/size"
check_row "a directory without config.json" 1 - "noconf/config.json: cannot open" \
	"$B/clip-export --to openai -o $T/x.st $T/noconf"
check_row "a directory without model.safetensors" 3 - "notours: is a directory, and not a Hugging Face model directory" \
	"$B/clip-export --to openai -o $T/x.st $T/notours"
check_row "-o a folder holding other files: refused, kept" 2 - "holds 'notes.txt'.*refusing to replace" \
	"($B/clip-export --to hf -o $T/notours $CK && exit 9; test -f $T/notours/notes.txt || exit 9; exit 2)"
check_row "--to hf needs -o" 2 - "--to hf needs -o DIR" "$B/clip-export --to hf $CK"
check_row "--to is required" 2 - "--to is required" "$B/clip-export $CK"
check_row "open_clip config of a vision tower alone" 1 - "only the vision tower: open_clip" \
	"$B/clip-export --to open-clip-config $T/vis.st"
# SIGTERM while an export is assembled (after its first file is synced; after one is committed in the
# temporary folder and the next synced): the signal ends it (143), the earlier export stays whole, and
# neither a temporary folder nor a temporary file is left
cp -r "$T/hf" "$T/keep" && ls "$T/keep" >"$T/keep.ls"
for n in 1 3; do
	LFM_TEST_SIGNAL_AT_SAVE_STEP=$n $B/clip-export --to hf -o "$T/keep" "$CK" 2>"$T/err"
	rc=$?
	if [ "$rc" = 143 ] && ! ls "$T" | grep -q '^keep\.tmp\.' && ls "$T/keep" | cmp -s - "$T/keep.ls" &&
		cmp -s "$T/keep/model.safetensors" "$T/hf/model.safetensors"; then
		ok "SIGTERM at save step $n: no temporary left, the earlier export kept"
	else
		nok "SIGTERM at save step $n" "status $rc; left: $(ls "$T" | grep keep | tr "\n" " ")"
	fi
done
# an export over an earlier export: exchanged in one step, the old files gone, no temporary left
if $B/clip-export --to hf -o "$T/hf" "$T/vis.st" 2>"$T/err" && [ ! -e "$T/hf/fc.safetensors" ] &&
	grep -q CLIPVisionModelWithProjection "$T/hf/config.json" && ! ls "$T" | grep -q '\.tmp\.'; then
	ok "an export replaces an earlier export whole"
else
	nok "an export replaces an earlier export whole" "$(cat "$T/err"; ls "$T" "$T/hf")"
fi
