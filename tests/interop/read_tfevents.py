#!/usr/bin/env python3
"""tests/interop/read_tfevents.py — lfm-fit --tensorboard's event files read by the `tensorboard` package
(its EventAccumulator, which TensorBoard's own loading is built on), for tests/cli/tensorboard.sh.

  read_tfevents.py check DIR LOG.jsonl [--files N] [--tags T1,T2,...] [--steps-only T1,T2,...]
      DIR's scalars, as TensorBoard shows them (stale events of a resumed run purged), equal the metrics
      log's records: the same tags, the same steps, and values equal to float32 precision (the event's
      simple_value is the log's double rounded to float32). Also: DIR holds N event files, each starting
      with the file_version "brain.Event:2" Event, and every record is protobuf's canonical serialisation
      of the Event it parses to (our encoder writes what protobuf would). --tags: the exact tag set.
      --steps-only: tags whose steps are compared but not their values (timings, against another run's log).
  read_tfevents.py corrupt FILE
      the CRC is what makes a record valid: a byte of a record's data changed makes tensorboard's record
      reader fail its "event crc32 check" (and EventAccumulator stop before that record); the same change
      with the record's CRC recomputed reads again; a changed length CRC fails the "header crc32 check".

Prints "ok - ..." / "not ok - ..." lines; exits 0 (the shell test counts the lines)."""
import glob
import json
import os
import shutil
import struct
import sys
import tempfile

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New, masked_crc32c

STEP_TAGS = {"train/loss": "loss", "train/lr": "lr", "train/images_per_s": "images_per_s"}
EPOCH_TAGS = {"epoch/loss": "loss", "epoch/images_per_s": "images_per_s", "val/top1": "val_top1",
              "val/loss": "val_loss", "val/top1_many": "val_top1_many", "val/top1_medium": "val_top1_medium",
              "val/top1_few": "val_top1_few"}


def ok(name, good, why=""):
    print(("ok - " if good else "not ok - ") + name + ("" if good else ": " + why))
    return good


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def records(path):
    """(offset, data) of each TFRecord of path, framing read by hand (CRCs not checked here)."""
    out = []
    with open(path, "rb") as f:
        buf = f.read()
    at = 0
    while at + 12 <= len(buf):
        (n,) = struct.unpack_from("<Q", buf, at)
        out.append((at, buf[at + 12:at + 12 + n]))
        at += 16 + n
    return out


def expected_from_log(log):
    want = {}
    with open(log) as f:
        for line in f:
            rec = json.loads(line)
            if "kind" not in rec:
                continue  # the header
            tags = STEP_TAGS if rec["kind"] == "step" else EPOCH_TAGS
            for tag, key in tags.items():
                if key in rec:
                    want.setdefault(tag, []).append((rec["step"], f32(float(rec[key]))))
    return want


def load(directory):
    acc = event_accumulator.EventAccumulator(directory, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return acc


def check(directory, log, files, tags, steps_only):
    paths = sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*")))
    if files is not None:
        ok("%s: %d event files" % (directory, files), len(paths) == files, "found %d" % len(paths))
    canonical, versions, bad = True, True, ""
    for p in paths:
        recs = records(p)
        first = event_pb2.Event.FromString(recs[0][1]) if recs else None
        if not first or first.file_version != "brain.Event:2" or first.wall_time <= 0:
            versions = False
        for at, data in recs:
            e = event_pb2.Event.FromString(data)
            if e.SerializeToString() != data:
                canonical, bad = False, "%s at byte %d: %s" % (p, at, data.hex())
    ok("every event file starts with file_version brain.Event:2", versions and paths != [], str(paths))
    ok("every record is protobuf's canonical serialisation of its Event", canonical, bad)
    acc = load(directory)
    want = expected_from_log(log)
    got = {t: [(s.step, s.value) for s in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
    ok("the tags are the log's", sorted(got) == sorted(want), "event files %s, log %s" % (sorted(got), sorted(want)))
    if tags is not None:
        ok("the tags are " + ",".join(sorted(tags)), sorted(got) == sorted(tags), "got %s" % sorted(got))
    diffs = []
    for t in sorted(want):
        g, w = got.get(t, []), want[t]
        if [s for s, _ in g] != [s for s, _ in w]:
            diffs.append("%s steps %s, log %s" % (t, [s for s, _ in g], [s for s, _ in w]))
        elif g != w and t not in steps_only:
            diffs.append("%s values %s, log %s" % (t, g[:4], w[:4]))
    n = sum(len(v) for v in want.values())
    ok("%d scalars: the log's steps and values (float32)" % n, not diffs and n > 0, "; ".join(diffs[:3]))


def read_all(path):
    """The records tensorboard's record reader (the one used without TensorFlow) returns, and its error."""
    r = PyRecordReader_New(path, 0, "", None)
    out = []
    try:
        while True:
            r.GetNext()
            out.append(r.record())
    except errors.OutOfRangeError:
        return out, None
    except errors.DataLossError as e:
        return out, str(e)


def corrupt(path):
    recs = records(path)
    good, err = read_all(path)
    ok("the event file reads whole (%d records)" % len(recs), err is None and len(good) == len(recs), str(err))
    k = len(recs) // 2
    at, data = recs[k]
    tmp = tempfile.mkdtemp()
    try:
        base = os.path.basename(path)
        blob = bytearray(open(path, "rb").read())
        # a byte of the data changed (the last one: the float value's top byte, still a valid Event)
        bad = bytearray(blob)
        bad[at + 12 + len(data) - 1] ^= 0x01
        os.makedirs(os.path.join(tmp, "bad"))
        with open(os.path.join(tmp, "bad", base), "wb") as f:
            f.write(bad)
        got, err = read_all(os.path.join(tmp, "bad", base))
        ok("a changed data byte fails the reader's CRC check at record %d" % k,
           err is not None and "crc32" in err and len(got) == k, "read %d records, error %s" % (len(got), err))
        full, cut = load(os.path.dirname(path)), load(os.path.join(tmp, "bad"))
        n_full = sum(len(full.Scalars(t)) for t in full.Tags()["scalars"])
        n_cut = sum(len(cut.Scalars(t)) for t in cut.Tags()["scalars"])
        ok("EventAccumulator stops at the bad record (%d of %d scalars)" % (n_cut, n_full), n_cut < n_full,
           "%d of %d" % (n_cut, n_full))
        # the same change with the CRC recomputed: valid again, so the CRC is what told it apart
        fixed = bytearray(bad)
        struct.pack_into("<I", fixed, at + 12 + len(data), masked_crc32c(bytes(fixed[at + 12:at + 12 + len(data)])))
        with open(os.path.join(tmp, "fixed"), "wb") as f:
            f.write(fixed)
        got, err = read_all(os.path.join(tmp, "fixed"))
        ok("the same change with its CRC recomputed reads again", err is None and len(got) == len(recs)
           and got[k] != data, str(err))
        # the length's CRC changed
        hdr = bytearray(blob)
        hdr[at + 8] ^= 0x80
        with open(os.path.join(tmp, "hdr"), "wb") as f:
            f.write(hdr)
        got, err = read_all(os.path.join(tmp, "hdr"))
        ok("a changed length CRC fails the reader's header check", err is not None and "header crc" in err
           and len(got) == k, str(err))
    finally:
        shutil.rmtree(tmp)


def main(argv):
    if len(argv) >= 3 and argv[0] == "check":
        files = tags = None
        steps_only = []
        rest = argv[3:]
        while rest:
            if rest[0] == "--files":
                files = int(rest[1])
            elif rest[0] == "--tags":
                tags = rest[1].split(",")
            elif rest[0] == "--steps-only":
                steps_only = rest[1].split(",")
            else:
                sys.exit("unknown argument " + rest[0])
            rest = rest[2:]
        check(argv[1], argv[2], files, tags, steps_only)
    elif len(argv) == 2 and argv[0] == "corrupt":
        corrupt(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
