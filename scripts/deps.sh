#!/bin/sh
# Installs the Debian packages lfm-tools builds with, or prints the command that would.
#   scripts/deps.sh          build dependencies (what `make` needs)
#   scripts/deps.sh --all    also the test extras: clang and its sanitizer/fuzzer runtime, python3-torch
# Run by `make` when pkg-config cannot find a library, and by .ci/run.
set -u
BUILD_PKGS="build-essential pkg-config libmsgpack-dev libarchive-dev zlib1g-dev libturbojpeg0-dev libopenblas-dev libutf8proc-dev nettle-dev libjansson-dev libopenmpi-dev openmpi-bin"
# Test extras: clang for fuzzing; PyTorch, numpy and Pillow for scripts/make-golden.py (the golden check on
# another model size) and the benchmarks' anchors.
EXTRA_PKGS="clang libclang-rt-14-dev python3-torch python3-numpy python3-pil python3-regex"

want="$BUILD_PKGS"
[ "${1:-}" = "--all" ] && want="$want $EXTRA_PKGS"

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: not a Debian-like system; install the equivalents of:$missing" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps.sh: missing packages:$missing" >&2
  echo "deps.sh: run:  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || true
apt-get install -y -qq --no-install-recommends $missing >&2 || {
  echo "deps.sh: apt-get install failed" >&2; exit 1; }
