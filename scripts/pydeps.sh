#!/bin/sh
# Creates (or reuses) the Python environment the interop tests run in: PyPI's torch, torchvision,
# transformers, open_clip_torch, ftfy 6.3, tensorboard and safetensors in one venv of their own, outside
# the repository. Never needed by the tools; the tests that use it skip with a message when it is absent.
#   scripts/pydeps.sh            create or update it, then print its python's path on stdout
#   scripts/pydeps.sh --path     print where it is (or would be), create nothing
# Where: $LFM_PYENV, else $HOME/.cache/lfm/pyenv. The tests find its python through $LFM_PYTHON or there.
# Why a venv of its own: Debian's python3-torchvision (0.14) beside PyPI's torch makes `import open_clip`
# abort, so nothing here may come from Debian's python3-* packages.
set -u
env_dir="${LFM_PYENV:-${HOME:-/root}/.cache/lfm/pyenv}"
[ "${1:-}" = "--path" ] && { echo "$env_dir/bin/python"; exit 0; }

# Pinned to what the comparisons were written against; ftfy's version matters most (the tokenizer's
# text cleaning is compared with it string by string).
PKGS="torch torchvision transformers open_clip_torch ftfy==6.3.1 tensorboard safetensors numpy pillow matplotlib scikit-learn"
stamp="$env_dir/.lfm-pydeps"
if [ -x "$env_dir/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PKGS" ]; then
  echo "$env_dir/bin/python"; exit 0
fi

py=""
for c in python3 /usr/bin/python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import venv, ensurepip' 2>/dev/null; then py="$c"; break; fi
done
if [ -z "$py" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "pydeps.sh: installing python3-venv" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >&2 || true
    py=/usr/bin/python3
  else
    echo "pydeps.sh: no python3 with venv and ensurepip; install python3-venv" >&2; exit 1
  fi
fi
mkdir -p "$(dirname "$env_dir")"
"$py" -m venv "$env_dir" >&2 || { echo "pydeps.sh: cannot create a venv in $env_dir" >&2; exit 1; }
# From PyPI alone (the project's machines reach PyPI, not download.pytorch.org): about 6 GB, 2 minutes.
"$env_dir/bin/python" -m pip install -q --upgrade pip >&2 || true
"$env_dir/bin/python" -m pip install -q $PKGS >&2 || {
  echo "pydeps.sh: pip install failed (is PyPI reachable?)" >&2; exit 1; }
echo "$PKGS" > "$stamp"
echo "$env_dir/bin/python"
