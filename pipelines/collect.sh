#!/bin/sh
# pipelines/collect.sh EVAL.json... — one table from lfm-eval --json records: experiment, top-1 % for
# many/medium/few/all classes. The experiment is the record's folder below the results directory
# (g100/lfm-mms, zero-shot). Figures are the last epoch's; nothing is selected on the test set.
printf '%-28s %7s %7s %7s %7s\n' experiment many medium few all
for f in "$@"; do
	exp=$(dirname "$f" | awk -F/ '{ n = NF; print ($(n-1) ~ /^g/ ? $(n-1) "/" $n : $n) }')
	json=$(tr -d '\n' < "$f")
	group() { # the top1 of group $1, as a percentage, or "-" when the group has no classes
		printf '%s' "$json" | grep -o "\"$1\":{[^}]*}" | head -1 | grep -oE '"top1":-?[0-9][-0-9.eE+]*' |
			awk -F: '{ printf "%.1f", 100 * $2; found = 1 } END { if (!found) printf "-" }'
	}
	all=$(printf '%s' "$json" | grep -oE '"top1":-?[0-9][-0-9.eE+]*' | head -1 |
		awk -F: '{ printf "%.1f", 100 * $2 }')
	printf '%-28s %7s %7s %7s %7s\n' "$exp" "$(group many)" "$(group medium)" "$(group few)" "$all"
done
