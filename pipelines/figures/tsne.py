#!/usr/bin/env python3
"""tsne.py — t-SNE of the test images' features (the paper's Fig. 3), one panel per model, points
coloured by true class and shaped by the class's group (many / medium / few-shot).

  lfm-eval ... --predictions zs.predictions --features zs.npy test.samples     (and for the trained model)
  lfm-show zs.predictions > zs.jsonl
  python3 tsne.py --train train.json --panel zero-shot zs.npy zs.jsonl --panel LFM s2.npy s2.jsonl -o tsne.png

Row i of FEATURES.npy (lfm-eval --features) is record i of the predictions stream, whose label colours
it. Every panel embeds the same images: all of them, or --max-points chosen at random with --seed.
scikit-learn's TSNE (2 components, PCA initialisation, perplexity clamped below a third of the points).
The CSV holds the points drawn: panel, row, index, label, group, x, y.
Needs numpy, matplotlib and scikit-learn (pipelines/figures/README.md).
"""
import argparse
import sys

import lfmfig  # first: it says so when numpy is missing
import numpy as np

MARKERS = {"many": "o", "medium": "s", "few": "^"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, metavar="HEADER.json",
                    help="the training samples stream's header (lfm-show --head 0 train.samples): the groups")
    ap.add_argument("--panel", nargs=3, action="append", required=True,
                    metavar=("NAME", "FEATURES.npy", "PREDICTIONS.jsonl"),
                    help="a panel: its name, lfm-eval --features, lfm-show of the same run's --predictions")
    ap.add_argument("--max-points", type=int, default=5000, help="at most this many images (default 5000)")
    ap.add_argument("--perplexity", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", required=True, help="the figure: .png, .pdf or .svg")
    ap.add_argument("--csv", help="the points drawn (default: OUTPUT with .csv)")
    a = ap.parse_args()
    lfmfig.output_format(a.output)
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        lfmfig.fail("scikit-learn is needed for t-SNE (pip install scikit-learn), with %s" % sys.executable)

    tr = lfmfig.Training(a.train)
    C = len(tr.classes)
    panels = []
    for name, fpath, ppath in a.panel:
        x = lfmfig.load_npy(fpath, 2, "features")
        header, labels, _ = lfmfig.read_predictions(ppath)
        tr.check_classes(header, ppath)
        if x.shape[0] != labels.size:
            lfmfig.fail("%s: %d rows, %s has %d records: not the same lfm-eval run?" % (fpath, x.shape[0], ppath,
                                                                                      labels.size))
        index = np.array([r["index"] for r in lfmfig.read_jsonl(ppath)[1]], dtype=np.int64)
        panels.append((name, x.astype(np.float32), labels, index))
    n = panels[0][1].shape[0]
    for name, x, labels, index in panels[1:]:
        if x.shape[0] != n or not np.array_equal(index, panels[0][3]):
            lfmfig.fail("panel %s: other images than panel %s" % (name, panels[0][0]))
    if n < 4:
        lfmfig.fail("%d images: too few for t-SNE" % n)
    rows = np.arange(n)
    if a.max_points and n > a.max_points:
        rows = np.sort(np.random.default_rng(a.seed).choice(n, a.max_points, replace=False))
    perplexity = min(a.perplexity, (rows.size - 1) / 3.0)

    plt = lfmfig.pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 1.5, 5.0), squeeze=False)
    cmap = plt.get_cmap("tab10" if C <= 10 else ("tab20" if C <= 20 else "turbo"))
    out = []
    for ax, (name, x, labels, index) in zip(axes[0], panels):
        xy = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                  random_state=a.seed).fit_transform(x[rows])
        lab = labels[rows]
        for g in lfmfig.GROUPS:
            sel = np.array([tr.groups[k] == g for k in lab], dtype=bool)
            if sel.any():
                ax.scatter(xy[sel, 0], xy[sel, 1], c=[cmap(k / max(C - 1, 1)) if C > 20 else cmap(k) for k in lab[sel]],
                           marker=MARKERS[g], s=8 if rows.size > 2000 else 16, linewidths=0, alpha=0.8)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        for i, r in enumerate(rows):
            out.append([name, int(r), int(index[r]), int(labels[r]), tr.groups[labels[r]], float(xy[i, 0]),
                        float(xy[i, 1])])
    # a legend of the groups' shapes, and of the classes' colours when there are few
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], marker=MARKERS[g], linestyle="", color="#555555", label=g + "-shot")
               for g in lfmfig.GROUPS if g in tr.groups]
    if C <= 20:
        handles += [Line2D([], [], marker="o", linestyle="", color=cmap(k), label=tr.classes[k]) for k in range(C)]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.subplots_adjust(right=0.85 if C <= 20 else 0.9)
    fig.suptitle("t-SNE of the test features (%d images, perplexity %.3g)" % (rows.size, perplexity), fontsize=10)
    lfmfig.write_csv(a.csv or a.output.rsplit(".", 1)[0] + ".csv",
                     ["panel", "row", "index", "label", "group", "x", "y"], out)
    lfmfig.save(fig, a.output)


if __name__ == "__main__":
    main()
