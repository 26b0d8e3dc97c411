#!/usr/bin/env python3
"""tests/cli/st_close.py A B REL — compares the float32 tensors of two safetensors files (the standard
library only: json, struct, array): max |a - b| over all of them <= REL * max |b| over all of them (the
parameter block's scale). Per tensor would be wrong for training runs: a parameter whose true gradient is
zero (the attention's key bias, by softmax's shift invariance) gets rounding noise as its gradient, and
Adam turns noise of either sign into a step of +-lr, so two summation orders differ there by up to 2 lr
a step whatever their precision. Prints the block's relative difference and the worst tensor; exits 1
when the block differs by more, or the files hold different tensors or shapes, 2 on unreadable files."""
import array
import json
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (hl,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hl])
    body = raw[8 + hl:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        if t["dtype"] != "F32":
            out[name] = (t["shape"], body[a:b])
            continue
        v = array.array("f")
        v.frombytes(body[a:b])
        out[name] = (t["shape"], v)
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        x, y = load(sys.argv[1]), load(sys.argv[2])
    except (OSError, ValueError, KeyError) as e:
        print(f"st_close: {e}", file=sys.stderr)
        return 2
    rel = float(sys.argv[3])
    if sorted(x) != sorted(y):
        print(f"st_close: different tensors: {sorted(set(x) ^ set(y))}")
        return 1
    worst, worst_name, bad, diff_all, scale_all = 0.0, "", [], 0.0, 0.0
    for name in sorted(x):
        (sa, a), (sb, b) = x[name], y[name]
        if sa != sb:
            bad.append(f"{name}: shape {sa} vs {sb}")
            continue
        if not isinstance(a, array.array):
            if a != b:
                bad.append(f"{name}: bytes differ")
            continue
        scale = max((abs(v) for v in b), default=0.0)
        diff = max((abs(p - q) for p, q in zip(a, b)), default=0.0)
        if diff != diff:
            bad.append(f"{name}: NaN")
        scale_all, diff_all = max(scale_all, scale), max(diff_all, diff)
        r = diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))
        if r > worst:
            worst, worst_name = r, name
    block = diff_all / scale_all if scale_all > 0 else (0.0 if diff_all == 0 else float("inf"))
    print(f"block {block:.3g} (max |a-b| {diff_all:.3g}, max |b| {scale_all:.3g}); worst tensor {worst:.3g} "
          f"({worst_name or '-'})")
    if not block <= rel:
        bad.append(f"the block differs by {block:.3g} of its scale, above {rel:g}")
    for line in bad[:5]:
        print(line)
    return 1 if bad else 0


sys.exit(main())
