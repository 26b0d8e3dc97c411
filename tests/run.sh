#!/bin/sh
# tests/run.sh BUILD [cuda] — runs every test and ends with one line "N passed, N failed[, N skipped]".
#   unit tests     BUILD/tests/test_*         lines "ok - ", "not ok - ", "skip - "
#   CUDA emulated  BUILD/emu/tests/*          tests/cuda/ and tests/cuda-host/ on the host emulation
#   fuzz replays   BUILD/fuzz-replay/fuzz_*   each seed corpus file fed once, must not crash
#   CLI tests      tests/cli/*.sh             same line format as unit tests
#   golden checks  tests/golden-check DIR     lines "NAME  ERROR  ok|FAIL"; skipped without ../shared
# A test program that crashes or exits non-zero without reporting a failure counts as one failure.
# LFM_TEST_UNIT_ONLY=1 runs only unit tests and fuzz replays (used by make check-asan).
build=${1:-build}
mode=${2:-}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0 skip=0

count() { # $1 = program label, $2 = exit status; reads the output in $log
	p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^not ok - ' "$log"); s=$(grep -c '^skip - ' "$log")
	grep -E '^(not ok|skip) - ' "$log" | sed "s|^|  $1: |"
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  $1: exited with status $2 without reporting a failure:"; tail -n 5 "$log" | sed 's/^/    /'
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-40s %4d passed %4d failed %4d skipped\n' "$1" "$p" "$f" "$s"
}

if [ "$mode" = cuda ]; then
	for t in "$build"/tests/cuda_*; do
		[ -x "$t" ] || continue
		"$t" >"$log" 2>&1; count "$(basename "$t")" $?
	done
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]; exit
fi

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	"$t" >"$log" 2>&1; count "$(basename "$t")" $?
done

# The CUDA code through the host emulation (tests/cuda-host/): kernels and runners against the CPU.
for t in "$build"/emu/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	"$t" >"$log" 2>&1; count "emu/$(basename "$t")" $?
done

for t in "$build"/fuzz-replay/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	corpus=tests/fuzz/corpus/$name
	if "$t" "$corpus" >"$log" 2>&1; then :; fi
	count "$name (corpus replay)" $?
done

if [ -z "${LFM_TEST_UNIT_ONLY:-}" ]; then
	for t in tests/cli/*.sh; do
		[ -f "$t" ] && [ "$t" != tests/cli/lib.sh ] || continue
		sh "$t" >"$log" 2>&1; count "cli/$(basename "$t" .sh)" $?
	done
	if [ -f scripts/check-golden-other-size.sh ]; then
		sh scripts/check-golden-other-size.sh >"$log" 2>&1; count "golden-check, another model size" $?
	fi
	golden=${LFM_GOLDEN_DIR:-../shared/golden/tiny-clip}
	# golden_run LABEL COMMAND...: the checker's "NAME  ERROR  ok|FAIL" lines counted
	golden_run() {
		label=$1; shift
		"$@" >"$log" 2>&1; st=$?
		p=$(grep -cE '[[:space:]]ok$' "$log"); f=$(grep -cE '[[:space:]]FAIL$' "$log")
		grep -E '[[:space:]]FAIL$' "$log" | sed "s|^|  $label: |"
		if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then tail -n 5 "$log" | sed "s|^|  $label: |"; f=1; fi
		pass=$((pass + p)); fail=$((fail + f))
		printf '%-40s %4d passed %4d failed %4d skipped\n' "$label" "$p" "$f" 0
	}
	if [ -x tests/golden-check ]; then
		if [ -d "$golden" ]; then
			golden_run "golden-check $golden" tests/golden-check "$golden"
			# the training step through the CUDA runner on the emulated device, fp32 and bf16
			if [ -x "$build/emu/golden-check" ]; then
				for prec in fp32 bf16; do
					LFM_DATADIR=data LFM_GOLDEN_PRECISION=$prec golden_run "golden-check, emulated CUDA $prec" "$build/emu/golden-check" "$golden"
				done
			fi
		else
			echo "golden-check: $golden not found (a clone without ../shared): golden tests skipped"
			skip=$((skip + 1))
		fi
	fi
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
