#!/bin/sh
# make demo: the whole pipeline on the embedded data (data/cifar10-lt). Until every stage exists, it
# runs the stages that do and says plainly which are still missing.
set -eu
need="lt-subset clip-init clip-embed-text lfm-pairs lfm-mix lfm-fit lfm-eval"
missing=""
for t in $need; do [ -x "bin/$t" ] || missing="$missing $t"; done
if [ -n "$missing" ]; then
	echo "demo: the full pipeline is not available yet; missing tools:$missing"
	echo "demo: see README.md (Status) for what is implemented so far."
	exit 0
fi
exec sh pipelines/demo.sh
