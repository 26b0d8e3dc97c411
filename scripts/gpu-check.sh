#!/bin/bash
# scripts/gpu-check.sh — the whole device check of the CUDA backend, in one call of at most 8 minutes on an
# H100/H200 (DESIGN.md §7: CUDA 13, no libarchive/msgpack/turbojpeg there, nothing installable).
#
#   scripts/gpu-check.sh prepare     here (the Debian build machine): build everything with nvcc for sm_90,
#                                    bundle the libraries the GPU machine lacks into build/gpu-bundle
#   scripts/gpu-check.sh run         there: make check-cuda's tests (every kernel and the runners against
#                                    the CPU reference, on the device), compute-sanitizer memcheck and
#                                    racecheck over the kernel tests, the golden checks through the CUDA
#                                    runner in fp32 and bf16 (tests/cuda/cuda_fit), a throughput probe at
#                                    batch 32 and 128 (bench/gpu/gpu_step); a table last
#
# With the device tool: prepare here, then run with carry = ["build", "bin"], e.g.
#   run(command="bash scripts/gpu-check.sh run", carry=["build", "bin"], timeout_s=480)
# Logs go to $OUT (or build/gpu-check) when set. Exit 0 when every check passed.
set -u
mode=${1:-run}
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2

if [ "$mode" = prepare ]; then
	make -j2 all bench || exit 1
	[ -f "$BUILD/liblfm_cuda.a" ] || { echo "gpu-check: nvcc not found: no CUDA build"; exit 2; }
	rm -rf "$BUILD/gpu-bundle"
	BUNDLE='^(libarchive|libmsgpackc|libturbojpeg|libutf8proc|libjansson|libnettle|libacl|liblzma|libzstd|liblz4|libxml2|libicu[a-z]*|libb2)\.' \
		bash ../shared/scripts/bundle-libs.sh "$BUILD/gpu-bundle" bin/lfm-fit "$BUILD"/tests/cuda_* >/dev/null || exit 1
	# the goldens travel with the build (the device machine has no ../shared)
	rm -rf "$BUILD/gpu-golden" && cp -r ../shared/golden/tiny-clip "$BUILD/gpu-golden" 2>/dev/null || true
	du -sh "$BUILD" bin
	echo "gpu-check: prepared; now run 'bash scripts/gpu-check.sh run' on the device with carry [\"$BUILD\", \"bin\"]"
	exit 0
fi

log=${OUT:-$BUILD/gpu-check}
mkdir -p "$log"
export LD_LIBRARY_PATH="$here/$BUILD/gpu-bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LFM_PROGRESS=0
table=()
status=0
row() { table+=("$(printf '%-44s %-8s %s' "$1" "$2" "$3")"); [ "$2" = ok ] || [ "$2" = skip ] || status=1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$log/gpu.txt" 2>&1
card=$(head -n 1 "$log/gpu.txt")

# 1. every kernel and runner test on the device (make check-cuda without make: nothing to rebuild there)
for t in "$BUILD"/tests/cuda_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	timeout 120 "$t" >"$log/$name.txt" 2>&1
	st=$?
	p=$(grep -c '^ok - ' "$log/$name.txt"); f=$(grep -c '^not ok - ' "$log/$name.txt")
	[ $st -eq 0 ] && [ "$f" -eq 0 ] && r=ok || r=FAIL
	row "$name" "$r" "$p passed, $f failed (exit $st)"
done

# 2. compute-sanitizer over the kernel tests (not the runner tests: minutes under racecheck)
if command -v compute-sanitizer >/dev/null; then
	for tool in memcheck racecheck; do
		for t in "$BUILD"/tests/cuda_{layernorm,elementwise,attention,embed,head,loss,adam,matmul}; do
			[ -x "$t" ] || continue
			name=$(basename "$t")
			timeout 90 compute-sanitizer --tool $tool --error-exitcode 99 "$t" >"$log/$tool-$name.txt" 2>&1
			st=$?
			errs=$(grep -Ec '^========= (Invalid|Race|.*hazard|Error)' "$log/$tool-$name.txt")
			[ $st -eq 0 ] && r=ok || r=FAIL
			row "$tool $name" "$r" "exit $st, $errs reports"
		done
	done
else
	row "compute-sanitizer" skip "not found"
fi

# 3. the golden training step through the CUDA runner, fp32 and bf16
if [ -x "$BUILD/golden-check-cuda" ] && [ -d "$BUILD/gpu-golden" ]; then
	for prec in fp32 bf16; do
		LFM_DATADIR=data LFM_GOLDEN_PRECISION=$prec timeout 120 "$BUILD/golden-check-cuda" "$BUILD/gpu-golden" >"$log/golden-$prec.txt" 2>&1
		st=$?
		f=$(grep -cE '[[:space:]]FAIL$' "$log/golden-$prec.txt"); p=$(grep -cE '[[:space:]]ok$' "$log/golden-$prec.txt")
		[ $st -eq 0 ] && [ "$f" -eq 0 ] && r=ok || r=FAIL
		row "golden-check-cuda $prec" "$r" "$p ok, $f failed; $(grep 'stage1 losses' "$log/golden-$prec.txt" | awk '{print "loss err", $(NF-1)}')"
	done
else
	row "golden-check-cuda" skip "not built or no goldens"
fi

# 4. the throughput probe (ViT-B/32, random weights; PyTorch's anchors: DESIGN.md §6)
if [ -x "$BUILD/bench/gpu/gpu_step" ]; then
	timeout 150 "$BUILD/bench/gpu/gpu_step" ViT-B/32 20 >"$log/gpu_step.txt" 2>&1
	st=$?
	[ $st -eq 0 ] && r=ok || r=FAIL
	row "gpu_step ViT-B/32 (images/s below)" "$r" "exit $st"
fi

echo
echo "== gpu-check on: ${card:-unknown card} ($(date -u +%Y-%m-%dT%H:%MZ)) =="
printf '%s\n' "${table[@]}"
[ -f "$log/gpu_step.txt" ] && cat "$log/gpu_step.txt"
exit $status
