#!/usr/bin/env python3
"""pls_confusion.py — the local-sampling probabilities p_ls beside the zero-shot confusion matrix (the
paper's Fig. 7): the classes local sampling mixes a class with are those zero-shot CLIP confuses it with.

  lfm-pairs --text text.npy --tau 0.05 --stats --stats-npy pls.npy train.samples
  lfm-eval --model CLIP.safetensors ... --confusion zs-confusion.npy test.samples
  python3 pls_confusion.py --train train.json --pls pls.npy --confusion zs-confusion.npy -o fig7.png

Left: p_ls(j | i) in row i (lfm-pairs' matrix as it is; its diagonal is 0). Right: the zero-shot
confusion, row i the test images of class i; by default its diagonal (the correct predictions) is left
out and each row divided by its errors, so that both panels are distributions over the other classes
(--keep-diagonal: rows divided by all their images). A row without errors is all zero. The title gives
the Pearson correlation of the two matrices' off-diagonal entries.
The CSV holds the numbers drawn: matrix (p_ls, confusion_count, confusion_drawn), row, col, value.
Needs numpy and matplotlib (pipelines/figures/README.md).
"""
import argparse
import math

import lfmfig  # first: it says so when numpy is missing
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", metavar="HEADER.json",
                    help="a samples stream's header (lfm-show --head 0), for the class names")
    ap.add_argument("--pls", required=True, help="p_ls, float32 [C, C] (lfm-pairs --stats --stats-npy)")
    ap.add_argument("--confusion", required=True, help="int64 [C, C] (lfm-eval --confusion of a zero-shot run)")
    ap.add_argument("--keep-diagonal", action="store_true",
                    help="draw the confusion rows divided by all their images, diagonal included")
    ap.add_argument("-o", "--output", required=True, help="the figure: .png, .pdf or .svg")
    ap.add_argument("--csv", help="the numbers drawn (default: OUTPUT with .csv)")
    a = ap.parse_args()
    lfmfig.output_format(a.output)

    pls = lfmfig.load_npy(a.pls, 2, "p_ls")
    conf = lfmfig.load_npy(a.confusion, 2, "the confusion matrix")
    C = pls.shape[0]
    if pls.shape != (C, C) or conf.shape != (C, C):
        lfmfig.fail("%s is %s, %s is %s: both must be [C, C] of the same C" % (a.pls, pls.shape, a.confusion,
                                                                               conf.shape))
    names = None
    if a.train:
        names = lfmfig.Training(a.train).classes
        if len(names) != C:
            lfmfig.fail("%s: %d classes, the matrices have %d" % (a.train, len(names), C))
    pls = pls.astype(np.float64)
    counts = conf.astype(np.float64)
    drawn = counts.copy()
    if not a.keep_diagonal:
        np.fill_diagonal(drawn, 0.0)
    sums = drawn.sum(axis=1, keepdims=True)
    drawn = np.divide(drawn, sums, out=np.zeros_like(drawn), where=sums > 0)

    off = ~np.eye(C, dtype=bool)
    p, q = pls[off], drawn[off]
    r = float(np.corrcoef(p, q)[0, 1]) if C > 2 and p.std() > 0 and q.std() > 0 else math.nan

    rows = []
    for mname, m in (("p_ls", pls), ("confusion_count", counts), ("confusion_drawn", drawn)):
        for i in range(C):
            for j in range(C):
                rows.append([mname, i, j, float(m[i, j])])
    lfmfig.write_csv(a.csv or a.output.rsplit(".", 1)[0] + ".csv", ["matrix", "row", "col", "value"], rows)

    plt = lfmfig.pyplot()
    side = max(3.2, min(8.0, 0.25 * C + 2))
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 2.0, side + 0.6), constrained_layout=True)
    conf_title = "zero-shot confusion" + (" (rows: all images)" if a.keep_diagonal else
                                          " (rows: errors, diagonal left out)")
    for ax, m, title in ((axes[0], pls, "local sampling p_ls(j | i)"), (axes[1], drawn, conf_title)):
        im = ax.imshow(m, cmap="viridis", vmin=0.0, vmax=max(float(m.max()), 1e-12), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("class j" if ax is axes[0] else "predicted class")
        ax.set_ylabel("class i" if ax is axes[0] else "true class")
        if names and C <= 30:
            ax.set_xticks(range(C))
            ax.set_yticks(range(C))
            ax.set_xticklabels(names, rotation=90, fontsize=7)
            ax.set_yticklabels(names, fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    fig.suptitle("off-diagonal correlation r = %.3f" % r if not math.isnan(r) else "off-diagonal correlation: -",
                 fontsize=10)
    lfmfig.save(fig, a.output)
    print("p_ls vs zero-shot confusion: off-diagonal Pearson r = %s" % ("%.4f" % r if not math.isnan(r) else "-"))


if __name__ == "__main__":
    main()
