#!/bin/sh
# tests/cli/lfm_mix_records.sh — how lfm-mix reads pairs records. It parses the layout lfm-pairs writes
# straight from the bytes and decodes anything else in full, so:
#   1. the same pairs written in other legal ways (keys in another order, wider or signed integer
#      encodings, extra keys, a str8 key) give byte for byte the plan of the usual layout;
#   2. bad records (not a map, a field missing, negative, of the wrong type or beyond int64, a class out
#      of range, epochs out of order, malformed bytes, a stream cut inside a record) stop it with exit 1
#      and the message that names the record and the problem (a table: name | status | stderr pattern |
#      the records after the header);
#   3. indices too large for 32 bits survive, across the writer's batches, and so do the longest plan
#      records (66 bytes with 300 classes and a 2^32 epoch; a batch once overran by them).
# Streams are made here with printf and awk. Run from the repository root with bin/ built.
set -u
export LC_ALL=C
export LFM_PROGRESS=0
MIX=${LFM_MIX:-bin/lfm-mix}
SHOW=${LFM_SHOW:-bin/lfm-show}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for b in "$MIX" "$SHOW"; do
	if [ ! -x "$b" ]; then
		echo "not ok - built: $b is missing (run make first)"
		exit 1
	fi
done
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1: $2"; }

# ---- byte helpers --------------------------------------------------------------------------------
byte() { printf "\\$(printf '%03o' "$1")"; }
fixstr() { byte $((160 + ${#1})); printf '%s' "$1"; }
be16() { byte $(($1 >> 8 & 255)); byte $(($1 & 255)); }
# The pairs header: 5 classes with counts 9 5 4 2 1, 3 samples a epoch, 2 epochs.
header() {
	printf '\205'; fixstr format; fixstr lfm.pairs/1
	fixstr classes; printf '\225'; for c in c0 c1 c2 c3 c4; do fixstr "$c"; done
	fixstr counts; printf '\225\011\005\004\002\001'
	fixstr samples; byte 3; fixstr epochs; byte 2
}
# rec E I YI J YJ: a record as lfm-pairs writes it (values < 128: fixints).
rec() { printf '\205'; fixstr epoch; byte "$1"; fixstr i; byte "$2"; fixstr yi; byte "$3"; fixstr j; byte "$4"; fixstr yj; byte "$5"; }
# The six records every variant below encodes: (epoch, i, yi, j, yj).
RECS="0 0 0 5 1
0 1 2 3 0
0 2 4 100 3
1 0 0 7 2
1 1 2 127 4
1 2 4 0 0"

# variant NAME: the records of RECS written in that variant's way.
variant() {
	echo "$RECS" | while read -r e i yi j yj; do
		case $1 in
		usual) rec "$e" "$i" "$yi" "$j" "$yj" ;;
		swapped) # keys of the usual lengths, yi and yj swapped: a parser that looked at lengths only would mix them up
			printf '\205'; fixstr epoch; byte "$e"; fixstr i; byte "$i"; fixstr yj; byte "$yj"; fixstr j; byte "$j"; fixstr yi; byte "$yi" ;;
		reversed) printf '\205'; fixstr yj; byte "$yj"; fixstr j; byte "$j"; fixstr yi; byte "$yi"; fixstr i; byte "$i"; fixstr epoch; byte "$e" ;;
		wide) printf '\205'; fixstr epoch; printf '\314'; byte "$e"; fixstr i; printf '\315'; be16 "$i"
			fixstr yi; printf '\316\000\000'; be16 "$yi"; fixstr j; printf '\317\000\000\000\000\000\000'; be16 "$j"
			fixstr yj; byte "$yj" ;;
		signed) printf '\205'; fixstr epoch; printf '\320'; byte "$e"; fixstr i; printf '\321'; be16 "$i"
			fixstr yi; printf '\322\000\000'; be16 "$yi"; fixstr j; printf '\323\000\000\000\000\000\000'; be16 "$j"
			fixstr yj; printf '\320'; byte "$yj" ;;
		extra-last) printf '\206'; fixstr epoch; byte "$e"; fixstr i; byte "$i"; fixstr yi; byte "$yi"; fixstr j; byte "$j"; fixstr yj; byte "$yj"; fixstr note; fixstr x ;;
		extra-first) printf '\206'; fixstr note; printf '\222\300\303'; fixstr epoch; byte "$e"; fixstr i; byte "$i"; fixstr yi; byte "$yi"; fixstr j; byte "$j"; fixstr yj; byte "$yj" ;;
		str8-key) printf '\205'; fixstr epoch; byte "$e"; printf '\331\001i'; byte "$i"; fixstr yi; byte "$yi"; fixstr j; byte "$j"; fixstr yj; byte "$yj" ;;
		mixed) # the usual layout and the others in turn, so the fast path and the fallback alternate
			case $i in
			1) printf '\205'; fixstr yj; byte "$yj"; fixstr j; byte "$j"; fixstr yi; byte "$yi"; fixstr i; byte "$i"; fixstr epoch; byte "$e" ;;
			*) rec "$e" "$i" "$yi" "$j" "$yj" ;;
			esac ;;
		esac
	done
}

# ---- 1. other layouts, the same plan --------------------------------------------------------------
{ header; variant usual; } >"$T/usual.mp"
"$MIX" - <"$T/usual.mp" >"$T/usual.plan" 2>"$T/err" || notok "usual layout" "$(cat "$T/err")"
n=$("$SHOW" "$T/usual.plan" | sed 1d | wc -l)
[ "$n" -eq 6 ] && ok "usual layout: 6 plan records" || notok "usual layout" "$n plan records"
for v in swapped reversed wide signed extra-last extra-first str8-key mixed; do
	{ header; variant $v; } >"$T/$v.mp"
	for m in lfm remix none; do
		"$MIX" -m $m - <"$T/usual.mp" >"$T/want.plan" 2>/dev/null
		if ! "$MIX" -m $m - <"$T/$v.mp" >"$T/got.plan" 2>"$T/err"; then
			notok "layout $v, method $m" "exit status $?: $(head -n 1 "$T/err")"
		elif cmp -s "$T/want.plan" "$T/got.plan"; then
			ok "layout $v, method $m: the same plan"
		else
			notok "layout $v, method $m" "$(cmp "$T/want.plan" "$T/got.plan" 2>&1)"
		fi
	done
done

# ---- 2. bad records --------------------------------------------------------------------------------
# Each row's records follow the header on stdin; RECORD is a usual record before the bad one. The
# malformed row's offset: the header is 74 bytes, a usual record 22.
. "$(dirname "$0")/lib.sh"
RECORD='rec 0 1 1 2 3'
while IFS='|' read -r name want err_re recs; do
	name=$(trim "$name"); want=$(trim "$want"); err_re=$(trim "$err_re"); recs=$(trim "$recs")
	case $name in '' | '#'*) continue ;; esac
	eval "{ header; $recs; }" >"$T/bad.mp"
	check_row "bad: $name" "$want" - "$err_re" "\"\$MIX\" - <\"\$T/bad.mp\" >/dev/null"
done <<'EOF'
not a map          | 1 | ^lfm-mix: stdin: record 2 is not a map$                            | $RECORD; printf '\225\000\001\002\003\004'
bare integer       | 1 | ^lfm-mix: stdin: record 1 is not a map$                            | byte 7
yi missing         | 1 | ^lfm-mix: stdin: record 2 has no non-negative integer "yi"$         | $RECORD; printf '\204'; fixstr epoch; byte 0; fixstr i; byte 0; fixstr j; byte 0; fixstr yj; byte 0
yi negative        | 1 | ^lfm-mix: stdin: record 2 has no non-negative integer "yi"$         | $RECORD; rec 0 0 255 0 0
j negative, int16  | 1 | ^lfm-mix: stdin: record 2 has no non-negative integer "j"$          | $RECORD; printf '\205'; fixstr epoch; byte 0; fixstr i; byte 0; fixstr yi; byte 0; fixstr j; printf '\321\377\000'; fixstr yj; byte 0
yj a string        | 1 | ^lfm-mix: stdin: record 2 has no non-negative integer "yj"$         | $RECORD; printf '\205'; fixstr epoch; byte 0; fixstr i; byte 0; fixstr yi; byte 0; fixstr j; byte 0; fixstr yj; fixstr 1
i a float          | 1 | ^lfm-mix: stdin: record 2 has no non-negative integer "i"$          | $RECORD; printf '\205'; fixstr epoch; byte 0; fixstr i; printf '\313\000\000\000\000\000\000\000\000'; fixstr yi; byte 0; fixstr j; byte 0; fixstr yj; byte 0
i beyond int64     | 1 | ^lfm-mix: stdin: record 2 has no non-negative integer "i"$          | $RECORD; printf '\205'; fixstr epoch; byte 0; fixstr i; printf '\317\200\000\000\000\000\000\000\000'; fixstr yi; byte 0; fixstr j; byte 0; fixstr yj; byte 0
epoch nil          | 1 | ^lfm-mix: stdin: record 1 has no non-negative integer "epoch"$      | printf '\205'; fixstr epoch; printf '\300'; fixstr i; byte 0; fixstr yi; byte 0; fixstr j; byte 0; fixstr yj; byte 0
class out of range | 1 | ^lfm-mix: stdin: record 3: class 7 is outside 0 \.\. 4$            | $RECORD; $RECORD; rec 0 1 7 2 3
class yj too       | 1 | ^lfm-mix: stdin: record 2: class 5 is outside 0 \.\. 4$            | $RECORD; rec 0 1 1 2 5
epoch backwards    | 1 | ^lfm-mix: stdin: record 3: epoch 0 out of order$                   | rec 1 0 0 1 1; rec 1 1 1 2 2; rec 0 2 2 0 0
malformed byte     | 1 | ^lfm-mix: stdin: malformed msgpack at record 2 \(byte 0xc1 at offset 106\)$ | $RECORD; printf '\205'; fixstr epoch; byte 0; fixstr i; printf '\301'
cut, same layout   | 1 | ^lfm-mix: stdin: truncated inside record 3 \(21 bytes of it, then end of input\)$ | $RECORD; $RECORD; rec 0 1 1 2 3 | head -c 21
cut in a uint16    | 1 | ^lfm-mix: stdin: truncated inside record 2 \(19 bytes of it, then end of input\)$ | $RECORD; printf '\205'; fixstr epoch; byte 0; fixstr i; byte 1; fixstr yi; byte 1; fixstr j; printf '\315\001'
EOF

# ---- 3. large indices ------------------------------------------------------------------------------
# 3000 records with i and j beyond 32 bits (9-byte integers in the plan, records of up to 78 bytes, in
# sizes that vary so the writer's 64 KiB batches end at every kind of offset); lfm-show reads them back.
awk 'BEGIN {
	printf "%c", 133
	for (k = 0; k < 3000; k++) {
		printf "%c%s%c", 165, "epoch", 0
		printf "%c%s", 161, "i"
		if (k % 3) { printf "%c%c%c%c%c%c%c%c%c", 207, 0, 0, 1, 0, 0, int(k / 256) % 256, k % 256, 7 }
		else printf "%c", k % 100
		printf "%c%s%c", 162, "yi", k % 5
		printf "%c%s", 161, "j"
		if (k % 2) printf "%c%c%c%c%c%c%c%c%c", 207, 0, 0, 0, 2, 0, 0, int(k / 256) % 256, k % 256
		else printf "%c%c%c", 205, 1, k % 256
		printf "%c%s%c", 162, "yj", (k + 1) % 5
		if (k < 2999) printf "%c", 133
	}
}' >"$T/big-records"
{ header; cat "$T/big-records"; } >"$T/big.mp"
if ! "$MIX" "$T/big.mp" >"$T/big.plan" 2>"$T/err"; then
	notok "large indices" "$(head -n 1 "$T/err")"
else
	# i = 2^40 + hi 2^16 + lo 2^8 + 7 or k % 100; j = 2^33 + hi 2^8 + lo or 256 + lo (hi, lo: k's bytes)
	"$SHOW" "$T/big.plan" | sed 1d | awk -F'[:,]' '
		{ k = NR - 1; hi = int(k / 256) % 256; lo = k % 256
		  want_i = k % 3 ? 1099511627776 + hi * 65536 + lo * 256 + 7 : k % 100
		  want_j = k % 2 ? 8589934592 + hi * 256 + lo : 256 + lo
		  if ($4 != want_i || $8 != want_j) { bad++; if (bad == 1) print "record " NR ": i " $4 " j " $8 " expected " want_i " " want_j } }
		END { if (NR != 3000) print NR " records" }' >"$T/why"
	if [ -s "$T/why" ]; then notok "large indices" "$(head -n 1 "$T/why")"; else ok "large indices: 3000 records read back"; fi
fi

# ---- 4. the longest plan records --------------------------------------------------------------------
# 300 classes, epoch 2^32, i and j beyond 32 bits, classes >= 256: every plan record is 66 bytes, and
# 992 of them end 64 bytes short of the writer's 64 KiB batch (the record after them once overran a
# 64-byte margin). 1100 records, read back with lfm-show.
awk 'function u16(v) { printf "%c%c", int(v / 256), v % 256 }
	function fixstr(s) { printf "%c%s", 160 + length(s), s }
	BEGIN {
	printf "%c", 131; fixstr("format"); fixstr("lfm.pairs/1")
	fixstr("classes"); printf "%c", 220; u16(300); for (c = 0; c < 300; c++) fixstr("c" c)
	fixstr("counts"); printf "%c", 220; u16(300); for (c = 0; c < 300; c++) printf "%c", 5
	for (k = 0; k < 1100; k++) {
		printf "%c", 133
		fixstr("epoch"); printf "%c%c%c%c%c%c%c%c%c", 207, 0, 0, 0, 1, 0, 0, 0, 0
		fixstr("i"); printf "%c%c%c%c%c%c%c", 207, 0, 0, 1, 0, 0, 0; u16(k)
		fixstr("yi"); printf "%c", 205; u16(256 + k % 40)
		fixstr("j"); printf "%c%c%c%c%c%c%c", 207, 0, 0, 2, 0, 0, 0; u16(k)
		fixstr("yj"); printf "%c", 205; u16(260 + k % 40)
	}
}' >"$T/long.mp"
if ! "$MIX" "$T/long.mp" >"$T/long.plan" 2>"$T/err"; then
	notok "66-byte plan records" "$(head -n 1 "$T/err")"
else
	"$SHOW" "$T/long.plan" | sed 1d | awk -F'[:,]' '
		{ k = NR - 1
		  if ($2 != 4294967296 || $4 != 1099511627776 + k || $6 != 256 + k % 40 || $8 != 2199023255552 + k ||
		      $10 != 260 + k % 40) { bad++; if (bad == 1) print "record " NR ": " $0 } }
		END { if (NR != 1100) print NR " records" }' >"$T/why"
	if [ -s "$T/why" ]; then notok "66-byte plan records" "$(head -n 1 "$T/why")"; else ok "66-byte plan records: 1100 read back"; fi
fi
