#!/usr/bin/env python3
"""long_tail.py — per-class top-1 accuracy against the class's training images (the long-tail plot):
classes sorted by training count (most first) along x, the training counts as bars on a log axis, each
series' accuracy as a line, the many / medium / few boundaries as dashed lines.

  lfm-show --head 0 train.samples > train.json
  lfm-show s2.predictions > s2.jsonl; lfm-show zs.predictions > zs.jsonl
  python3 long_tail.py --train train.json --series LFM s2.jsonl --series zero-shot zs.jsonl \
      -o long-tail.png --csv long-tail.csv

Accuracy of a class = its records with pred == label over its records, as lfm-eval --per-class computes
it (NaN for a class without test samples). The CSV holds the numbers drawn, a row per class in the
plotted order: rank, class_id, name, train_count, group, then per series test_count, correct, accuracy.
Needs numpy and matplotlib (pipelines/figures/README.md).
"""
import argparse

import lfmfig  # first: it says so when numpy is missing
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, metavar="HEADER.json",
                    help="the training samples stream's header (lfm-show --head 0 train.samples)")
    ap.add_argument("--series", nargs=2, action="append", required=True, metavar=("NAME", "PREDICTIONS.jsonl"),
                    help="a line: its name and lfm-show's JSON lines of an lfm-eval --predictions stream")
    ap.add_argument("--many-above", type=int, help="many-shot classes have more training images (default: "
                    "the training stream's thresholds, else 100)")
    ap.add_argument("--few-max", type=int, help="few-shot classes have at most this many (default: the "
                    "stream's, else 20)")
    ap.add_argument("--title", default=None)
    ap.add_argument("-o", "--output", required=True, help="the figure: .png, .pdf or .svg")
    ap.add_argument("--csv", help="the numbers drawn (default: OUTPUT with .csv)")
    a = ap.parse_args()
    lfmfig.output_format(a.output)

    tr = lfmfig.Training(a.train, a.many_above, a.few_max)
    C = len(tr.classes)
    # most training images first; ties in label order (a stable sort), as the paper's x axis
    order = sorted(range(C), key=lambda k: (-int(tr.counts[k]), k))
    series = []
    for name, path in a.series:
        header, labels, preds = lfmfig.read_predictions(path)
        tr.check_classes(header, path)
        if labels.size and (labels.min() < 0 or labels.max() >= C):
            lfmfig.fail("%s: labels outside the %d classes" % (path, C))
        tests = np.bincount(labels, minlength=C)
        correct = np.bincount(labels[labels == preds], minlength=C)
        acc = [lfmfig.nan_div(float(correct[k]), float(tests[k])) for k in range(C)]
        series.append((name, tests, correct, acc))

    head = ["rank", "class_id", "name", "train_count", "group"]
    for name, _, _, _ in series:
        head += [name + "_test_count", name + "_correct", name + "_accuracy"]
    rows = []
    for rank, k in enumerate(order):
        r = [rank, k, tr.classes[k], int(tr.counts[k]), tr.groups[k]]
        for _, tests, correct, acc in series:
            r += [int(tests[k]), int(correct[k]), acc[k]]
        rows.append(r)
    lfmfig.write_csv(a.csv or a.output.rsplit(".", 1)[0] + ".csv", head, rows)

    plt = lfmfig.pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, min(14.0, 0.12 * C + 5)), 4.0))
    x = np.arange(C)
    bars = ax.twinx()
    bars.bar(x, [tr.counts[k] for k in order], width=0.8, color="#d9d9d9", zorder=0)
    bars.set_yscale("log")
    bars.set_ylabel("training images (log)")
    ax.set_zorder(bars.get_zorder() + 1)
    ax.patch.set_visible(False)
    for i, (name, _, _, acc) in enumerate(series):
        y = [100 * acc[k] for k in order]
        ax.plot(x, y, marker="o" if C <= 50 else None, markersize=3, linewidth=1.2, label=name,
                color="C%d" % i)
    ax.set_ylim(-3, 103)
    ax.set_xlim(-0.6, C - 0.4)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_xlabel("classes, by training images")
    if C <= 30:
        ax.set_xticks(x)
        ax.set_xticklabels([tr.classes[k] for k in order], rotation=60, ha="right", fontsize=8)
    # the group boundaries between neighbouring ranks of different groups
    gs = [tr.groups[k] for k in order]
    starts = [0] + [i for i in range(1, C) if gs[i] != gs[i - 1]]
    for s in starts[1:]:
        ax.axvline(s - 0.5, color="#666666", linestyle="--", linewidth=0.9)
    for j, s in enumerate(starts):
        e = starts[j + 1] if j + 1 < len(starts) else C
        ax.text((s + e - 1) / 2, 101, gs[s], ha="center", va="top", fontsize=8, color="#444444")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(a.title or "per-class top-1 (many > %d, few <= %d training images)" % (tr.many_above, tr.few_max),
                 fontsize=10)
    lfmfig.save(fig, a.output)


if __name__ == "__main__":
    main()
