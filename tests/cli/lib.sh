# tests/cli/lib.sh — the shared half of the table-driven CLI tests (sourced by tests/cli/*.sh).
# A table row is "name | exit status | stdout pattern | stderr pattern | command" (some tables add a
# "needs" column, which the script handles itself); each row prints one "ok - " or "not ok - " line.

# Strip leading and trailing white space of a table cell.
trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

# check_row NAME WANT OUT_RE ERR_RE CMD: run CMD (through eval, stdin from /dev/null, output in $T/out
# and $T/err) and compare its exit status with WANT and its output with the extended regular
# expressions OUT_RE and ERR_RE ("-" = not checked). A status of 128 or more (a signal) always fails.
check_row() {
	_name=$1 _want=$2 _out_re=$3 _err_re=$4 _cmd=$5
	eval "$_cmd" >"$T/out" 2>"$T/err" </dev/null
	_got=$?
	_why=""
	[ "$_got" = "$_want" ] || _why="exit status $_got, expected $_want"
	if [ -z "$_why" ] && [ "$_out_re" != - ] && ! grep -aEq -- "$_out_re" "$T/out"; then
		_why="stdout has no line matching /$_out_re/"
	fi
	if [ -z "$_why" ] && [ "$_err_re" != - ] && ! grep -aEq -- "$_err_re" "$T/err"; then
		_why="stderr has no line matching /$_err_re/"
	fi
	if [ -z "$_why" ] && [ "$_got" -ge 128 ]; then _why="killed by a signal (status $_got)"; fi
	if [ -z "$_why" ]; then
		echo "ok - $_name"
	else
		echo "not ok - $_name: $_why; command: $_cmd"
		sed 's/^/    stdout: /' "$T/out" | head -n 5
		sed 's/^/    stderr: /' "$T/err" | head -n 5
	fi
}

# interop_python [MODULE...]: prints the python of the interop test environment (scripts/pydeps.sh: PyPI's
# torch, transformers, open_clip, ftfy, tensorboard, safetensors; matplotlib and scikit-learn for the
# figures recipe) — $LFM_PYTHON when set, else the venv scripts/pydeps.sh makes — after checking that it
# imports each MODULE. Where there is none, or a module is missing, it prints the reason instead and
# returns 1 (a message set in a variable would stay in the $(...) subshell), so a test says
#   PY=$(interop_python transformers) || { echo "skip - NAME: $PY"; exit 0; }
interop_python() {
	_py=${LFM_PYTHON:-}
	[ -n "$_py" ] || _py=$(sh scripts/pydeps.sh --path 2>/dev/null)
	if [ -z "$_py" ] || ! command -v "$_py" >/dev/null 2>&1; then
		echo "no Python interop environment (run scripts/pydeps.sh, or set LFM_PYTHON)"
		return 1
	fi
	for _m in "$@"; do
		"$_py" -c "import $_m" >/dev/null 2>&1 || {
			echo "$_py cannot import $_m (run scripts/pydeps.sh)"; return 1; }
	done
	printf '%s\n' "$_py"
}

# add_fc SRC DST DIM BYTES: a copy of the safetensors file SRC with fc.weight = v * I [DIM, DIM] (float32;
# BYTES: v's four bytes as printf octal escapes, little-endian: '\000\000\200\077' is 1.0f), the way
# lfm-fit adds it: one more header entry whose data follows the existing data.
add_fc() {
	n=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
	total=$(wc -c <"$1")
	data=$((total - 8 - n))
	hdr=$(tail -c +9 "$1" | head -c "$n" | sed 's/ *$//')
	entry="\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[$3,$3],\"data_offsets\":[$data,$((data + $3 * $3 * 4))]}"
	new="{$entry,${hdr#\{}"
	while [ $(( ${#new} % 8 )) -ne 0 ]; do new="$new "; done
	len=${#new}
	{
		i=0
		while [ $i -lt 8 ]; do printf "\\$(printf '%03o' $(( (len >> (8 * i)) & 255 )))"; i=$((i + 1)); done
		printf '%s' "$new"
		tail -c +$((9 + n)) "$1"
		i=0
		while [ $i -lt "$3" ]; do
			head -c $((4 * i)) /dev/zero
			printf "$4"
			head -c $((4 * ($3 - 1 - i))) /dev/zero
			i=$((i + 1))
		done
	} >"$2"
}
