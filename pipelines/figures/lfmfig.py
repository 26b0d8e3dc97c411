"""lfmfig — what the figure scripts of pipelines/figures/ share: reading the tools' outputs and saving.

The tools write msgpack streams; these scripts read them as the JSON lines `lfm-show` prints (the header
on the first line, one record a line), so they need no msgpack package, and .npy arrays with numpy.
They are the user's side of the project: numpy, matplotlib and (for t-SNE) scikit-learn, never needed by
the tools themselves.
"""
import csv
import json
import math
import os
import sys

try:
    import numpy as np
except ImportError:
    sys.stderr.write("%s: numpy is needed (pip install numpy matplotlib scikit-learn), with %s\n"
                     % (os.path.basename(sys.argv[0]), sys.executable))
    sys.exit(1)

GROUPS = ("many", "medium", "few")


def fail(msg):
    """A clear message naming the script, and exit status 1 (bad input), as the tools do."""
    sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), msg))
    sys.exit(1)


def read_jsonl(path):
    """A stream as `lfm-show STREAM` prints it: (header, [records])."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [l for l in f if l.strip()]
    except OSError as e:
        sys.stderr.write("%s: %s: %s\n" % (os.path.basename(sys.argv[0]), path, e.strerror))
        sys.exit(3)
    except UnicodeDecodeError:
        fail("%s: not JSON lines (lfm-show's output): not UTF-8 text; a msgpack stream goes through "
             "lfm-show first" % path)
    if not lines:
        fail("%s: empty: expected the JSON lines of lfm-show (a header, then records)" % path)
    try:
        rows = [json.loads(l) for l in lines]
    except ValueError as e:
        fail("%s: not JSON lines (lfm-show's output): %s" % (path, e))
    if not isinstance(rows[0], dict) or "format" not in rows[0]:
        fail("%s: the first line is not a stream header (no \"format\")" % path)
    return rows[0], rows[1:]


def read_predictions(path):
    """An lfm.predictions/1 stream's JSON lines: (header, labels, preds) as int arrays."""
    header, recs = read_jsonl(path)
    if not str(header["format"]).startswith("lfm.predictions/"):
        fail("%s: an %s stream, not lfm.predictions (lfm-eval --predictions)" % (path, header["format"]))
    if header.get("samples", len(recs)) != len(recs):
        fail("%s: the header says %d samples, %d records follow" % (path, header["samples"], len(recs)))
    labels = np.array([r["label"] for r in recs], dtype=np.int64)
    preds = np.array([r["pred"] for r in recs], dtype=np.int64)
    return header, labels, preds


class Training:
    """Class names, training counts and the many/medium/few thresholds, from a training samples stream's
    header (`lfm-show --head 0 train.samples`): the thresholds it records (lt-subset's --many-above and
    --few-max), else 100 and 20 as lfm-eval's defaults; many_above / few_max given here win."""

    def __init__(self, path, many_above=None, few_max=None):
        header, _ = read_jsonl(path)
        if not str(header["format"]).startswith("lfm.samples/"):
            fail("%s: an %s stream, not a samples stream (lt-subset's training subset)" % (path, header["format"]))
        self.classes = list(header["classes"])
        self.counts = np.array(header["counts"], dtype=np.int64)
        if len(self.counts) != len(self.classes):
            fail("%s: %d counts for %d classes" % (path, len(self.counts), len(self.classes)))
        th = header.get("thresholds") or {}
        self.many_above = many_above if many_above is not None else th.get("many_above", 100)
        self.few_max = few_max if few_max is not None else th.get("few_max", 20)
        self.groups = [self.group(n) for n in self.counts]

    def group(self, n):
        return "many" if n > self.many_above else ("medium" if n > self.few_max else "few")

    def check_classes(self, header, path):
        names = header.get("classes")
        if names is not None and list(names) != self.classes:
            fail("%s: its classes differ from the training stream's" % path)


def load_npy(path, ndim, what):
    try:
        a = np.load(path, allow_pickle=False)
    except OSError as e:
        sys.stderr.write("%s: %s: %s\n" % (os.path.basename(sys.argv[0]), path, e))
        sys.exit(3)
    except ValueError as e:
        fail("%s: not a .npy array: %s" % (path, e))
    if a.ndim != ndim:
        fail("%s: %s, expected %d dimensions, found shape %s" % (path, what, ndim, a.shape))
    return a


def pyplot():
    """matplotlib's pyplot on the file-only backend (no display needed)."""
    try:
        import matplotlib
    except ImportError:
        fail("matplotlib is needed (pip install matplotlib), with %s" % sys.executable)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def output_format(path):
    """The figure's format from its extension (checked before any work, so a bad name writes nothing)."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in ("png", "pdf", "svg"):
        fail("%s: the extension picks the format: .png, .pdf or .svg" % path)
    return ext


def save(fig, path):
    """PNG, PDF or SVG by the extension, written aside and renamed as the tools write their outputs."""
    ext = output_format(path)
    tmp = "%s.tmp%d.%s" % (path, os.getpid(), ext)
    try:
        fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
        os.replace(tmp, path)
    except OSError as e:
        sys.stderr.write("%s: %s: %s\n" % (os.path.basename(sys.argv[0]), path, e))
        sys.exit(3)


def write_csv(path, header, rows):
    """The numbers a figure draws, beside it (floats with repr's 17 digits, NaN as 'nan')."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for r in rows:
                w.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in r])
        os.replace(tmp, path)
    except OSError as e:
        sys.stderr.write("%s: %s: %s\n" % (os.path.basename(sys.argv[0]), path, e))
        sys.exit(3)


def nan_div(a, b):
    return a / b if b else math.nan
