#!/usr/bin/env bash
# bench/bench_pairs_mix.sh — records/s of `lt-subset | lfm-pairs | lfm-mix > /dev/null` over 50 epochs of
# CIFAR-100-LT at imbalance 100 (10,847 samples, 542,350 records), against the official sampler's logic in
# Python (bench/pairs_reference.py) on the same machine. Prints a table; not a test.
#
# Wall time is what a pipe costs; on a shared machine it also counts other people's processes, so each
# stage's CPU time (user + system, from bash's `time`) is printed too, with the load average: the wall
# figure can be no better than the serial part (lt-subset, which must finish before lfm-pairs can start
# an epoch) plus the larger of lfm-pairs and lfm-mix running side by side.
# Needs: bin/ built (make), bash, bc, Debian's python3 with numpy for the anchor and for the synthetic
# data. RUNS (default 7) and EPOCHS (default 50) may be set in the environment. BASELINE=DIR (a folder
# holding other builds of lt-subset, lfm-pairs and lfm-mix, say the last commit's) adds a row for the
# whole pipe with those, timed run by run in turn with this build's, so both see the same load.
# `sh bench_pairs_mix.sh` works too: the timing below needs bash's `time`, so re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -eu
PY=${PYTHON:-/usr/bin/python3}
EPOCHS=${EPOCHS:-50}
RUNS=${RUNS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TIMEFORMAT='%3R %3U %3S'

# A CIFAR-100 binary tarball in the published layout, labels real, pixels zero (only labels matter here).
"$PY" - "$tmp" <<'PY'
import io, os, sys, tarfile
import numpy as np
d = sys.argv[1]
rec = np.zeros((50000, 3074), dtype=np.uint8)
fine = np.repeat(np.arange(100), 500)
rec[:, 0] = fine // 5
rec[:, 1] = fine
with tarfile.open(os.path.join(d, "cifar-100-binary.tar.gz"), "w:gz", compresslevel=1) as tar:
    for name, data in [("train.bin", rec.tobytes()), ("test.bin", rec[:10000].tobytes()),
                       ("fine_label_names.txt", "".join(f"class{k}\n" for k in range(100)).encode()),
                       ("coarse_label_names.txt", "".join(f"super{k}\n" for k in range(20)).encode())]:
        info = tarfile.TarInfo("cifar-100-binary/" + name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
rng = np.random.default_rng(1)
np.save(os.path.join(d, "text.npy"), rng.standard_normal((100, 512)).astype(np.float32))
counts = [int(500 * (1 / 100) ** (k / 99)) for k in range(100)]
np.save(os.path.join(d, "counts.npy"), np.array(counts))
PY

data=$tmp/cifar-100-binary.tar.gz
bin/lt-subset --imbalance 100 "$data" >"$tmp/train.samples"
bin/lfm-pairs --text "$tmp/text.npy" --epochs "$EPOCHS" "$tmp/train.samples" >"$tmp/train.pairs"
n=$(bin/lfm-show --head 0 "$tmp/train.samples" | sed -n 's/.*"samples":\([0-9]*\).*/\1/p')
records=$((n * EPOCHS))

# row NAME TIMES: prints NAME, best and median wall seconds, median CPU of the timings in file TIMES.
row() {
	local best med cpu
	best=$(sort -n "$2" | head -n 1 | cut -d' ' -f1)
	med=$(cut -d' ' -f1 "$2" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
	cpu=$(awk '{ print $2 + $3 }' "$2" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
	printf '%-46s %8.3f %8.3f %8.3f %12d %12d\n' "$1" "$best" "$med" "$cpu" \
		"$(echo "$records / $best" | bc)" "$(echo "$records / $cpu" | bc)"
}

# run NAME COMMAND [NAME2 COMMAND2]: RUNS timings of COMMAND (in turn with COMMAND2), one row each.
run() {
	local k
	: >"$tmp/times"
	: >"$tmp/times2"
	for ((k = 0; k < RUNS; k++)); do
		{ time bash -c "$2" >/dev/null 2>&1; } 2>>"$tmp/times"
		if [ $# -ge 4 ]; then { time bash -c "$4" >/dev/null 2>&1; } 2>>"$tmp/times2"; fi
	done
	row "$1" "$tmp/times"
	if [ $# -ge 4 ]; then row "$3" "$tmp/times2"; fi
}

echo "pipeline: lt-subset --imbalance 100 | lfm-pairs --epochs $EPOCHS | lfm-mix > /dev/null ($n samples, $records records)"
echo "machine: $(uname -m), $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %8s %8s %8s %12s %12s\n' "variant ($RUNS runs)" "best s" "median s" "CPU s" "records/s" "per CPU s"
pipe() { echo "$1/lt-subset --imbalance 100 '$data' | $1/lfm-pairs --text '$tmp/text.npy' --epochs $EPOCHS | $1/lfm-mix"; }
if [ -n "${BASELINE:-}" ]; then
	run "whole pipe (wall: best; CPU: all 3 processes)" "$(pipe bin)" \
		"  the same with BASELINE's binaries, in turn" "$(pipe "$BASELINE")"
else
	run "whole pipe (wall: best; CPU: all 3 processes)" "$(pipe bin)"
fi
run "lfm-pairs | lfm-mix from a samples file" \
	"bin/lfm-pairs --text '$tmp/text.npy' --epochs $EPOCHS '$tmp/train.samples' | bin/lfm-mix"
run "  lt-subset alone" "bin/lt-subset --imbalance 100 '$data'"
run "  lfm-pairs alone (samples file -> /dev/null)" \
	"bin/lfm-pairs --text '$tmp/text.npy' --epochs $EPOCHS '$tmp/train.samples'"
run "  lfm-mix alone (pairs file -> /dev/null)" "bin/lfm-mix '$tmp/train.pairs'"
run "  lfm-mix --threads 1 alone" "bin/lfm-mix --threads 1 '$tmp/train.pairs'"
set -- $("$PY" bench/pairs_reference.py "$tmp/counts.npy" "$tmp/text.npy" "$EPOCHS")
printf '%-46s %8.3f %8s %8s %12d\n' "official sampler logic, Python + numpy" "$2" - - "$3"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
